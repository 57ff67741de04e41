"""The optional healthCheckUrl: 2xx is HEALTHY, errors and unreachable are UNHEALTHY."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from dr_adapters.health import check_url
from dr_adapters.plan.types import Health


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_2xx_is_healthy(server):
    assert check_url("web", f"{server}/ok").status is Health.HEALTHY


def test_5xx_is_unhealthy(server):
    check = check_url("web", f"{server}/down")
    assert check.status is Health.UNHEALTHY and "503" in check.reason


def test_unreachable_is_unhealthy():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    assert check_url("web", f"http://127.0.0.1:{port}/").status is Health.UNHEALTHY


def test_settled_means_every_resource_healthy_or_a_state_waiting_cannot_change():
    from dr_adapters.adapters.base import HealthCheck
    from dr_adapters.health import settled, unhealthy

    healthy = HealthCheck("db", Health.HEALTHY, "writer in DR").to_dict()
    coming_up = HealthCheck("api", Health.DEGRADED, "2 running of 4").to_dict()
    dark = HealthCheck("dns", Health.DEGRADED, "Route 53's control plane is not reachable", final=True).to_dict()
    down = HealthCheck("web", Health.UNHEALTHY, "HTTP 503").to_dict()
    assert "final" not in healthy and dark["final"] is True
    assert settled([healthy, dark]) and not settled([healthy, coming_up]) and not settled([down])
    assert unhealthy([healthy, coming_up, down]) == [down]
