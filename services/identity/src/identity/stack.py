# Generated from stack.toml by `make render` (python -m topology.render); do not edit.
"""What stack.toml declares identity uses; its app factory opens exactly that."""

from mercato_shared.dependencies import ServiceDependencies

DEPENDENCIES = ServiceDependencies(
    database=True,
    redis=True,
    calls=(),
)

DEFAULT_URLS: dict[str, str] = {}
