"""The simulator in server mode: moto's server with our extension, on a loopback port.

    python -m awssim serve --port 5055 --seed demo

Seeding runs in the server's own process (DRS source servers are created by replication agents
in real AWS, not by an API, so the simulator seeds them directly into its backend).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

import awssim
from awssim import outage, service_quotas
from awssim.control import ControlMiddleware
from awssim.drs import control as drs_control


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _OutageAwareMotoServer(ThreadedMotoServer):
    """moto's threaded server with the regional-outage switch in front of its app (``awssim.outage``)
    and the handles on DRS replication (``awssim.drs.control``) and applied quota values
    (``awssim.service_quotas``): what tests set in-process, over HTTP."""

    def _server_entry(self) -> None:
        app: Any = DomainDispatcherApplication(create_backend_app)
        for handle in (service_quotas, drs_control):
            app = ControlMiddleware(app, path=handle.CONTROL_PATH, apply=handle.apply, usage=handle.USAGE)
        app = outage.OutageMiddleware(app)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class SimulatorServer:
    """A moto server (with our extension) running in a thread of this process."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1"):
        awssim.install()
        self.host = host
        self.port = port or free_port(host)
        self._server = _OutageAwareMotoServer(ip_address=host, port=self.port, verbose=False)

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
        # Generous: a reset clears every backend of every account and region (on a busy machine, seconds).
        requests.post(f"{self.url}/moto-api/reset", timeout=60).raise_for_status()

    def outage(self, *regions: str) -> dict:
        """Take exactly ``regions`` dark (none: restore), over the control endpoint like any client."""
        reply = requests.post(f"{self.url}{outage.CONTROL_PATH}", json={"regions": list(regions)}, timeout=10)
        reply.raise_for_status()
        return reply.json()

    def set_quota(self, account_id: str, region: str, service_code: str, quota_code: str, value: float | None) -> dict:
        """Apply a quota value to one account and region (None: back to the simulator's standing value)."""
        body = {"account_id": account_id, "region": region, "service_code": service_code, "quota_code": quota_code,
                "value": value}
        reply = requests.post(f"{self.url}{service_quotas.CONTROL_PATH}", json=body, timeout=10)
        reply.raise_for_status()
        return reply.json()

    def outage_state(self) -> dict:
        return requests.get(f"{self.url}{outage.CONTROL_PATH}", timeout=10).json()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
