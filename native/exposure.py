"""Whether the native stack is open to the network with the repository's public secrets.

Each service's settings name the fields whose default is public (`development_defaults`: the
signing key, the admin password, the machine clients' secrets); `ENVIRONMENT=production`
refuses them. In development they are what anyone who reaches the gateway could use to mint
an admin token or read every order, so `up` warns loudly when the gateway listens beyond
the loopback while any of them is left at its default.
"""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Iterable, Mapping

from mercato_shared.settings import BaseServiceSettings
from native.stack import Stack

#: Packages with a `config` module of settings besides the services: the report workers'.
WORKER_PACKAGES = ("workers",)


def settings_classes(packages: Iterable[str]) -> list[type[BaseServiceSettings]]:
    """The settings classes defined in each package's `config` module."""
    found: list[type[BaseServiceSettings]] = []
    for package in packages:
        module = importlib.import_module(f"{package}.config")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseServiceSettings)
            and value.__module__ == module.__name__
        ]
    return found


def development_secrets_in_use(
    env: Mapping[str, str], classes: Iterable[type[BaseServiceSettings]]
) -> list[str]:
    """The variables left at their public development value (unset, or set to it)."""
    names: set[str] = set()
    for settings in classes:
        for field in settings.development_defaults:
            default = settings.model_fields[field].default
            if env.get(field.upper(), default) in {default, ""}:
                names.add(field.upper())
    return sorted(names)


def is_loopback(listen: str) -> bool:
    """Whether a listen address reaches this machine only (`localhost` counts as one)."""
    host = listen.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def exposure_warning(stack: Stack) -> str | None:
    """The warning to print, or None when the gateway is on the loopback or no
    development secret is in use."""
    if is_loopback(stack.gateway_listen):
        return None
    packages = [service.name for service in stack.description.services]
    in_use = development_secrets_in_use(stack.env, settings_classes([*packages, *WORKER_PACKAGES]))
    if not in_use:
        return None
    bar = "!" * 78
    return "\n".join(
        [
            bar,
            f"WARNING: the gateway listens on {stack.gateway_listen}:{stack.gateway_port},",
            "beyond this machine, while these are the repository's public development values:",
            *(f"    {name}" for name in in_use),
            "Anyone who reaches it can mint admin tokens, read every order with a service",
            "token and log in to the seeded accounts. Set real values (.env) or unset",
            "GATEWAY_LISTEN to listen on 127.0.0.1 only.",
            bar,
        ]
    )
