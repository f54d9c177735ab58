"""Each service's declared dependencies, rendered into the service as `<name>/stack.py`.

The app factory passes the constant to `mercato_shared.app.create_app`, which opens exactly
the resources it declares; tests/static/test_dependencies.py holds the service's source to it.
"""

from __future__ import annotations

from topology.description import Service, Stack

HEADER = "# Generated from stack.toml by `make render` (python -m topology.render); do not edit.\n"


def path(service: Service) -> str:
    return f"services/{service.name}/src/{service.name}/stack.py"


def module(service: Service) -> str:
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
        ")\n"
    )


def files(stack: Stack) -> dict[str, str]:
    return {path(service): module(service) for service in stack.services}
