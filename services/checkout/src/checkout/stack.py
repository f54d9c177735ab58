# Generated from stack.toml by `make render` (python -m topology.render); do not edit.
"""What stack.toml declares checkout uses; its app factory opens exactly that."""

from mercato_shared.dependencies import ServiceDependencies

DEPENDENCIES = ServiceDependencies(
    database=False,
    redis=True,
    calls=("catalog", "partners"),
)

#: Each service it calls, on this host at its stack.toml port (NAME_URL's default).
DEFAULT_URLS: dict[str, str] = {
    "catalog": "http://127.0.0.1:8002",
    "partners": "http://127.0.0.1:8090",
}
