"""Loopback helpers shared by the emulator's process wrapper, the pytest plugin and the benchmarks."""

from __future__ import annotations

import socket

from contract.names import LOOPBACK


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on `host` right now (the OS picks it; a race with other binders is possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
