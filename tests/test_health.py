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
