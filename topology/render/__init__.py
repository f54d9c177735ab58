"""Files rendered from `stack.toml`: each module of `MODULES` maps paths to their text."""

MODULES = ("k8s",)
