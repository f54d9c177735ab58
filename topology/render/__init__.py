"""Files rendered from `stack.toml`: each module here maps paths to the text it generates."""

MODULES = ("dependencies",)
