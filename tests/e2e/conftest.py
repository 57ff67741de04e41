"""Fixtures of the end-to-end tests: one real Airflow (``airflow standalone``) and one simulator
server per test module, a freshly seeded demo estate per test, and headless Chromium.

On a failure, the logs of every process (Airflow's components, the task logs, the simulator), a
timeline of the harness and the DR reports are copied to ``build/e2e-logs/<test module>/`` and
the failure report names that folder (``DR_E2E_KEEP_LOGS=1`` keeps them after a passing session too).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from standalone import DAG_ID, KEPT_LOGS, AirflowAPI, Simulator, Standalone, keep_logs, log_note, wait_for


class Stack:
    """The running Airflow + simulator, and what the tests need to know about them."""

    def __init__(self, work: Path, name: str, env: dict[str, str] | None = None, seed: str = "demo",
                 dag_id: str = DAG_ID, launcher: type[Standalone] = Standalone):
        self.work = work
        self.name = name
        self.dag_id = dag_id
        self.logs = work / "logs"
        self.logs.mkdir(parents=True)
        self.sim = Simulator(self.logs, seed=seed)
        self.airflow = launcher(work, self.sim.url, self.logs, env)
        self.api: AirflowAPI | None = None
        self.estate_used = False
        self.failed = False

    def start(self) -> None:
        t0 = time.monotonic()
        self.sim.start()
        self.note(f"simulator up with the demo estate at {self.sim.url} ({time.monotonic() - t0:.1f}s)")
        self.api = self.airflow.start()
        self.note(f"airflow ({type(self.airflow).__name__}) healthy at {self.airflow.url} ({time.monotonic() - t0:.1f}s)")

        def dag_parsed() -> bool:
            response = self.api.http.get(f"{self.api.url}/api/v2/dags/{self.dag_id}", timeout=10)
            return response.status_code == 200

        wait_for(f"the DAG processor to parse {self.dag_id}", dag_parsed, timeout=120, interval=1,
                 describe=lambda: f"import errors: {self.api.call('GET', '/importErrors')}")
        self.note(f"{self.dag_id} parsed ({time.monotonic() - t0:.1f}s)")

    def note(self, message: str) -> None:
        log_note(self.logs, message)

    def fresh_estate(self) -> None:
        """The demo estate as seeded, and no run of the DAG still going (a leftover would hold a run slot, or the guard)."""
        if not self.estate_used:
            self.estate_used = True
            return
        runs = self.api.call("GET", f"/dags/{self.dag_id}/dagRuns", params={"state": ["queued", "running"]})
        for run in runs["dag_runs"]:  # left over by a failed test
            self.api.call("PATCH", f"/dags/{self.dag_id}/dagRuns/{run['dag_run_id']}", json={"state": "failed"})
        self.sim.reseed()

    def keep_logs(self) -> Path:
        return keep_logs(KEPT_LOGS / self.name, {
            "processes": self.logs,
            "airflow-task-logs": self.airflow.home / "logs",
            "dr_reports": self.airflow.report_dir,
            "airflow.cfg": self.airflow.home / "airflow.cfg",
        })

    def stop(self) -> None:
        try:
            self.airflow.stop()
        finally:
            self.sim.stop()


_stack: Stack | None = None


@pytest.fixture(scope="session")
def _kept_logs_folder() -> Path:
    """build/e2e-logs/ holds the latest session's failures only (one folder per test module)."""
    shutil.rmtree(KEPT_LOGS, ignore_errors=True)
    return KEPT_LOGS


@pytest.fixture(scope="module")
def stack(request, _kept_logs_folder) -> Any:
    """Started once for the module and stopped right after it: an idle scheduler should not slow
    down the rest of the suite. A module's ``STANDALONE_ENV`` adds to Airflow's environment; its
    ``SIMULATOR_SEED`` (a manifest folder) and ``E2E_DAG_ID`` replace the demo estate and DAG; its
    ``AIRFLOW_LAUNCHER`` replaces ``airflow standalone`` (celery_stack.CeleryAirflow: MWAA's executor)."""
    global _stack
    work = Path(tempfile.mkdtemp(prefix="dr-e2e-"))
    module = request.module
    _stack = Stack(work, module.__name__.rsplit(".", 1)[-1], getattr(module, "STANDALONE_ENV", None),
                   seed=getattr(module, "SIMULATOR_SEED", "demo"), dag_id=getattr(module, "E2E_DAG_ID", DAG_ID),
                   launcher=getattr(module, "AIRFLOW_LAUNCHER", Standalone))
    try:
        _stack.start()
    except BaseException:
        _stack.stop()
        _stack.failed = True
        print(f"\nend-to-end stack failed to start; logs kept in {_stack.keep_logs()}")
        shutil.rmtree(work, ignore_errors=True)
        raise
    yield _stack
    _stack.stop()
    if _stack.failed or os.environ.get("DR_E2E_KEEP_LOGS"):
        print(f"\nend-to-end logs kept in {_stack.keep_logs()}")  # again: now with the shutdown
    shutil.rmtree(work, ignore_errors=True)
    _stack = None


@pytest.fixture
def estate(stack, monkeypatch):
    """A freshly seeded demo estate; yields (plan, boto3 sessions per account) talking to the simulator."""
    from awssim.seed import plan_sessions, demo_plan

    stack.fresh_estate()
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.sim.url)
    plan = demo_plan()
    return plan, plan_sessions(plan)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory) -> str | None:
    """Debian's chromium + chromium-driver, installed with apt-get when missing.

    Returns None when the browser is ready, else the reason it cannot be (the browser test skips
    with it)."""
    from browser import ensure_chromium

    return ensure_chromium(tmp_path_factory.mktemp("apt") / "apt-get.log")


@pytest.fixture(scope="session")
def redis_broker(tmp_path_factory) -> None:
    """Debian's redis-server (the CeleryExecutor test's broker), installed with apt-get when missing.

    Session-scoped, so it is ready (or the test skipped, naming why) before a module's stack starts."""
    from celery_stack import ensure_redis

    reason = ensure_redis(tmp_path_factory.mktemp("apt-redis") / "apt-get.log")
    if reason:
        pytest.skip(f"no CeleryExecutor end-to-end test: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _stack is not None:
        _stack.failed = True
        try:
            kept = _stack.keep_logs()
            report.sections.append(("end-to-end logs", f"airflow, task, simulator logs and reports kept in {kept}"))
        except OSError as exc:  # never hide the real failure
            report.sections.append(("end-to-end logs", f"could not keep the logs: {exc!r}"))
