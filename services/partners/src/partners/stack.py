# Generated from stack.toml by `make render` (python -m topology.render); do not edit.
"""What stack.toml declares partners uses; its app factory opens exactly that."""

from mercato_shared.dependencies import ServiceDependencies

DEPENDENCIES = ServiceDependencies(
    database=False,
    redis=False,
    calls=(),
)

DEFAULT_URLS: dict[str, str] = {}
