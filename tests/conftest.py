"""Shared fixtures: the in-process AWS simulator and run contexts for adapters."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration when first imported: give the test session its own home,
# database and settings before any test module imports it.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="dr-airflow-test-")
os.environ.update({
    "AIRFLOW_HOME": _AIRFLOW_HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    # Tests build one DAG id from different manifests seconds apart; Airflow skips writing a DAG whose
    # serialized form was written less than this long ago (default 30 s), and the REST API would then act
    # on the previous test's DAG ("Task ... not found"), leaving a gate nobody can answer.
    "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
    "DR_MANIFEST_DIR": str(ROOT / "include" / "manifests"),
    "DR_REPORT_DIR": str(Path(_AIRFLOW_HOME) / "dr_reports"),
    "DR_RETRY_DELAY_SECONDS": "1",
    "DR_TASK_RETRIES": "1",
})

HUB_ACCOUNT = "123456789012"  # moto's default account
SPOKE_ACCOUNT = "222222222222"
PRIMARY = "us-east-1"
DR = "us-west-2"


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch):
    """Never let a test reach real AWS: fake credentials, no profile, no real endpoint."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws():
    """moto in-process, with our simulator extension (DRS, global-cluster switchover)."""
    import awssim
    from awssim import outage
    from moto import mock_aws

    awssim.install()
    os.environ.setdefault("AWSSIM_DELAY_SECONDS", "0")
    outage.set_dark([])  # every region up, whatever an earlier test left
    with mock_aws():
        yield boto3.Session(region_name=PRIMARY)
    outage.set_dark([])


@pytest.fixture
def make_ctx(aws):
    """Build a RunContext for adapter tests: ``make_ctx("failover", dry_run=False)``."""
    from dr_adapters.adapters.base import RunContext
    from dr_adapters.aws.sessions import AccountSessions
    from dr_adapters.plan.types import AccountAccess, Operation, Regions, Scope

    def _make(operation="failover", *, dry_run=False, rpo_minutes=30, customer="acme", environment="production"):
        sessions = AccountSessions(
            aws,
            [AccountAccess(SPOKE_ACCOUNT, f"arn:aws:iam::{SPOKE_ACCOUNT}:role/dr-orchestration", "acme-dr-test")],
            session_name="dr-test-run",
            hub_account_id=HUB_ACCOUNT,
        )
        return RunContext(
            operation=Operation(operation),
            regions=Regions(primary=PRIMARY, dr=DR),
            scope=Scope(customer, environment),
            aws=sessions,
            dry_run=dry_run,
            rpo_minutes=rpo_minutes,
            run_id="test-run",
            log=logging.getLogger("dr.test"),
        )

    return _make


@pytest.fixture(scope="session")
def airflow_db():
    """An initialised Airflow metadata database (sqlite) for dag.test runs."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                   env=os.environ.copy())
    return _AIRFLOW_HOME


def pytest_collection_modifyitems(config, items):
    """With ``-n 2 --dist loadgroup`` (make test), each test module runs whole in one process (its module
    fixtures: a simulator, an API server, a stack) and every end-to-end module in the same one, one after
    the other: two real Airflows at once on two cores would starve each other's schedulers."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("e2e" if module.startswith("tests/e2e/") else module))
