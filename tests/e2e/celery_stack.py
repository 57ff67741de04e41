"""Harness for the CeleryExecutor end-to-end test: Airflow as MWAA runs it, on one machine.

``airflow standalone`` always runs the LocalExecutor, so each component is started on its own
(api-server, scheduler, dag-processor, triggerer) with ``AIRFLOW__CORE__EXECUTOR=CeleryExecutor``,
plus a Redis broker (Debian's ``redis-server``, which also holds Celery's results: SQLite is the
metadata database here and is no place for several writers) and two ``airflow celery worker``
processes with distinct Celery hostnames, low concurrency, and a ``hostname_callable``
(``worker_host/e2e_worker_name.py``) that tells their task instances apart. Each worker gets its own
report folder, as separate machines would have: nothing may rely on a disk another task wrote.

Same interface as ``Standalone`` (``start`` returns the REST client; ``wait_until_pause_recorded``
reads the scheduler's own log), so the fixtures and helpers of conftest.py and runs.py work as they are.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from pathlib import Path

import requests
from apt_packages import ensure_packages
from standalone import ROOT, VENV_BIN, AirflowAPI, Process, Standalone, free_port, log_note, wait_for

REDIS_SERVER = Path("/usr/bin/redis-server")
WORKERS = ("celery-worker-a", "celery-worker-b")
WORKER_CONCURRENCY = 2  # low: tasks of one wave must spread over both workers
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def ensure_redis(log_path: Path) -> str | None:
    """Debian's redis-server, installed with apt-get when missing; None when ready, else why not."""
    return ensure_packages(["redis-server"], [REDIS_SERVER], log_path)


def redis_answers(port: int) -> bool:
    """PING on the RESP protocol: the broker is up and taking commands."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"PING\r\n")
        return s.recv(64).startswith(b"+PONG")


class CeleryAirflow(Standalone):
    """Airflow's components and two Celery workers, one process each, plus the Redis broker."""

    def __init__(self, work_dir: Path, simulator_url: str, log_dir: Path, env: dict[str, str] | None = None):
        super().__init__(work_dir, simulator_url, log_dir, env)
        self.log_dir = log_dir
        self.redis_port = free_port()
        self.redis = Process("redis-server", [str(REDIS_SERVER), "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                              "--save", "", "--appendonly", "no", "--dir", str(work_dir)],
                             self.env, log_dir / "redis.log", cwd=work_dir)
        self.env.update(
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            AIRFLOW__CELERY__RESULT_BACKEND=f"redis://127.0.0.1:{self.redis_port}/1",
            AIRFLOW__CELERY__WORKER_CONCURRENCY=str(WORKER_CONCURRENCY),
            AIRFLOW__CORE__AUTH_MANAGER=SIMPLE_AUTH_MANAGER,  # what standalone forces; said here
            # One secret for every component (each would otherwise make its own, and a worker's task
            # could not talk to the API server): as on MWAA, where every container shares the config.
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            AIRFLOW__API__SECRET_KEY=secrets.token_urlsafe(32),
        )
        self.components = {name: Process(name, [str(VENV_BIN / "airflow"), name], self.env,
                                         log_dir / f"{name}.log", cwd=self.home) for name in COMPONENTS}
        self.workers = {name: Process(name, self._worker_argv(name), self._worker_env(name),
                                      log_dir / f"{name}.log", cwd=self.home) for name in WORKERS}
        # What Standalone's helpers look at: the scheduler's process and log.
        self.process = self.components["scheduler"]
        self.log_path = self.process.log_path

    def _worker_argv(self, name: str) -> list[str]:
        return [str(VENV_BIN / "airflow"), "celery", "worker", "--celery-hostname", name,
                "--concurrency", str(WORKER_CONCURRENCY), "--without-mingle", "--without-gossip"]

    def _worker_env(self, name: str) -> dict[str, str]:
        return {
            **self.env,
            "DR_E2E_WORKER_NAME": name,
            "PYTHONPATH": str(ROOT / "tests" / "e2e" / "worker_host"),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "e2e_worker_name.worker_name",
            # Two log servers on one machine need two ports.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "DR_REPORT_DIR": str(self.report_dir / name),  # a disk of its own, as another machine's
        }

    def start(self, timeout: float = 300) -> AirflowAPI:
        t0 = time.monotonic()
        self.redis.start()
        wait_for("redis-server to answer PING", lambda: self.redis.check_alive() or redis_answers(self.redis_port),
                 timeout=30, interval=0.3)
        with open(self.log_dir / "db-migrate.log", "wb") as log:
            migrate = subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=self.env, cwd=self.home,
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed ({migrate.returncode}); see {self.log_dir / 'db-migrate.log'}")
        log_note(self.log_dir, f"redis up on {self.redis_port}, database migrated ({time.monotonic() - t0:.1f}s)")
        for process in [*self.components.values(), *self.workers.values()]:
            process.start()

        def healthy() -> bool:
            for process in [*self.components.values(), *self.workers.values()]:
                process.check_alive()
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            return all(health.get(c, {}).get("status") == "healthy"
                       for c in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

        wait_for("the Airflow components to be healthy", healthy, timeout=timeout, interval=1)
        for name, worker in self.workers.items():
            wait_for(f"Celery worker {name} to be ready",
                     lambda w=worker, n=name: w.check_alive() or f"celery@{n} ready" in w.log_path.read_text(errors="replace"),
                     timeout=timeout, interval=1)
        password_file = self.home / "simple_auth_manager_passwords.json.generated"
        self.password = wait_for("the generated admin password",
                                 lambda: json.loads(password_file.read_text()).get("admin"), timeout=30, interval=0.5)
        return AirflowAPI(self.url, "admin", self.password)

    def stop(self) -> None:
        # Workers first (nothing new starts), then the scheduler and the rest, the broker last.
        for process in [*self.workers.values(), *self.components.values(), self.redis]:
            process.stop(grace=30)
