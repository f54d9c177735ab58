"""Loopback ports for the processes the tests, `make chaos` and `make bench` start."""

from __future__ import annotations

import socket
import time

from mercato_shared.testing.loopback import free_port

__all__ = ["free_port", "port_open", "wait_for_port"]


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def wait_for_port(port: int, timeout: float = 10) -> bool:
    """Wait until something accepts connections on 127.0.0.1:`port`; False if time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return True
        time.sleep(0.05)
    return False
