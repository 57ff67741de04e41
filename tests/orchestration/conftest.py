"""Fixtures for whole runs of the demo DAG through Airflow (dag.test) against the simulator in server mode."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture(scope="module")
def sim(airflow_db):
    from awssim.server import SimulatorServer

    server = SimulatorServer().start()
    saved = dict(os.environ)
    os.environ.update({
        "AWS_ENDPOINT_URL": server.url,
        "AWSSIM_DELAY_SECONDS": "0.2",
        "DR_WAIT_POLL_SECONDS": "0.2",
        "DR_HEALTH_POLL_SECONDS": "1",  # what is not healthy at once is re-checked in a second, not 15
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({
            "conn_type": "aws", "login": "testing", "password": "testing",
            "extra": {"region_name": "us-east-1", "endpoint_url": server.url},
        }),
    })
    yield server
    server.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def estate(sim, monkeypatch):
    """A freshly seeded demo estate; yields (plan, sessions per account)."""
    from awssim.seed import plan_sessions, demo_plan, seed_estate

    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)  # the autouse credentials fixture clears it
    sim.reset()
    plan = demo_plan()
    seed_estate(plan)
    return plan, plan_sessions(plan)


@pytest.fixture
def dag(sim):
    """A freshly built DAG per test: dag.test in one process lets a run's conf leak into params."""
    from dr_adapters.orchestration.factory import build_dags

    return build_dags()["dr_acme_production"]
