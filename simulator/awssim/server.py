"""The simulator in server mode: moto's server with our extension, on a loopback port.

    python -m awssim serve --port 5055 --seed demo

Seeding runs in the server's own process (DRS source servers are created by replication agents
in real AWS, not by an API, so the simulator seeds them directly into its backend).
"""

from __future__ import annotations

import logging
import socket

import requests
from moto.server import ThreadedMotoServer

import awssim


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SimulatorServer:
    """A moto server (with our extension) running in a thread of this process."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1"):
        awssim.install()
        self.host = host
        self.port = port or free_port(host)
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimulatorServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request drowns the run
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget all state (moto's reset API also resets our registered backends)."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
