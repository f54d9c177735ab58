"""Each service's declared dependencies, rendered into the service as `<name>/stack.py`.

The app factory passes the constant to `mercato_shared.app.create_app`, which opens exactly
the resources it declares; tests/static/test_dependencies.py holds the service's source to it.
`DEFAULT_URLS` gives each service it calls at its `stack.toml` port on this host: the default
of its `<NAME>_URL` setting, so a port is written once. The workers' package gets the URLs of
every service a `[workers.*]` entry calls.
"""

from __future__ import annotations

from collections.abc import Iterable

from topology.description import Service, Stack
from topology.render import notice

HEADER = notice()


def path(service: Service) -> str:
    return f"services/{service.name}/src/{service.name}/stack.py"


def urls(stack: Stack, calls: Iterable[str]) -> str:
    """The `DEFAULT_URLS` constant: each called service on this host at its port."""
    lines = "".join(
        f'    "{name}": "http://127.0.0.1:{stack.service(name).port}",\n' for name in sorted(calls)
    )
    return (
        "\n#: Each service it calls, on this host at its stack.toml port (NAME_URL's default).\n"
        f"DEFAULT_URLS: dict[str, str] = {{\n{lines}}}\n"
        if lines
        else "\nDEFAULT_URLS: dict[str, str] = {}\n"
    )


def workers_module(stack: Stack) -> str:
    calls = {name for worker in stack.workers for name in worker.calls}
    return f'{HEADER}"""Where the services the workers call listen on this host."""\n' + urls(
        stack, calls
    )


def module(service: Service, stack: Stack) -> str:
    names = [f'"{name}"' for name in service.calls]
    calls = f"{names[0]}," if len(names) == 1 else ", ".join(names)  # a tuple of one has a comma
    return (
        f"{HEADER}"
        f'"""What stack.toml declares {service.name} uses; its app factory opens exactly that."""\n'
        "\n"
        "from mercato_shared.dependencies import ServiceDependencies\n"
        "\n"
        "DEPENDENCIES = ServiceDependencies(\n"
        f"    database={service.database},\n"
        f"    redis={service.redis},\n"
        f"    calls=({calls}),\n"
        ")\n" + urls(stack, service.calls)
    )


def files(stack: Stack) -> dict[str, str]:
    rendered = {path(service): module(service, stack) for service in stack.services}
    if stack.workers:
        rendered["workers/src/workers/stack.py"] = workers_module(stack)
    return rendered
