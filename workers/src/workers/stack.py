# Generated from stack.toml by `make render` (python -m topology.render); do not edit.
"""Where the services the workers call listen on this host."""

#: Each service it calls, on this host at its stack.toml port (NAME_URL's default).
DEFAULT_URLS: dict[str, str] = {
    "identity": "http://127.0.0.1:8001",
    "orders": "http://127.0.0.1:8003",
}
