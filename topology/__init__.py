"""Mercato's processes as `stack.toml` describes them: the one list every runtime uses."""

from topology.description import Gateway, Service, Stack, Worker, load

__all__ = ["Gateway", "Service", "Stack", "Worker", "load"]
