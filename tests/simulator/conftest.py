"""Fixtures of the simulator's own tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def server_url(monkeypatch):
    """The simulator in server mode (moto's server with our extension) on a free loopback port, its
    transitions instant: the same extension must answer over HTTP as it does in-process."""
    from awssim.server import SimulatorServer

    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")
    with SimulatorServer() as server:
        yield server.url
