# Generated from stack.toml by `make render` (python -m topology.render); do not edit.
"""What stack.toml declares orders uses; its app factory opens exactly that."""

from mercato_shared.dependencies import ServiceDependencies

DEPENDENCIES = ServiceDependencies(
    database=True,
    redis=False,
    calls=("catalog", "identity"),
)

#: Each service it calls, on this host at its stack.toml port (NAME_URL's default).
DEFAULT_URLS: dict[str, str] = {
    "catalog": "http://127.0.0.1:8002",
    "identity": "http://127.0.0.1:8001",
}
