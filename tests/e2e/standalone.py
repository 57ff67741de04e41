"""Harness for the end-to-end tests: a real ``airflow standalone`` and the simulator server.

Everything runs as subprocesses of the test session, each in its own process group (so stopping
one stops everything it started), on free loopback ports, with an environment built from scratch
(the test session's own ``AIRFLOW_HOME`` and friends never leak into them). Airflow is driven
through its REST API v2 only, like a user's script would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import psutil
import requests
from drlocal.airflow_env import airflow_env

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DAG_ID = "dr_acme_production"
KEPT_LOGS = ROOT / "build" / "e2e-logs"  # logs of a failing session
# The hub connection's credentials (the simulator takes any): distinctive, so a leak can be found.
HUB_ACCESS_KEY, HUB_SECRET_KEY = "AKIAE2EHUBKEY7Q2M4X9", "e2e-hub-secret-5d1c9b0a7e"
SCREENSHOTS = ROOT / "build" / "screenshots"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without anything Airflow, AWS, DR or Python-path related."""
    drop = ("AIRFLOW", "_AIRFLOW", "AWS_", "AWSSIM_", "DR_", "PYTHONPATH", "PYTEST", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 2.0,
             describe: Callable[[], str] | None = None) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = probe()
            if result:
                return result
        except (requests.RequestException, OSError, ValueError) as exc:  # not up yet / half-written file
            last_error = exc
        if time.monotonic() > deadline:
            detail = describe() if describe else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}. {detail}"
                               + (f" last error: {last_error!r}" if last_error else ""))
        time.sleep(interval)


class Process:
    """A subprocess in its own session (process group), its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path = ROOT):
        self.name, self.argv, self.env, self.log_path, self.cwd = name, argv, env, log_path, cwd
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        try:
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        finally:
            log.close()
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.popen and self.popen.returncode}; see {self.log_path}")

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the whole group (and any descendant that left it); SIGKILL whatever is left after
        ``grace`` seconds, including processes orphaned inside the group (e.g. the executor's workers
        of a scheduler that was killed)."""
        if self.popen is None:
            return
        pid, t0 = self.popen.pid, time.monotonic()
        try:
            family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
            for p in family:
                try:
                    p.send_signal(sig)
                except psutil.NoSuchProcess:
                    pass
            deadline = time.monotonic() + wait
            while (left := _still_running(pid, family)) or self.popen.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            else:
                break
            log_note(self.log_path.parent, f"{self.name}: {len(left)} process(es) still running {wait:.0f}s "
                                           f"after {sig.name}: {_describe(left)}")
        log_note(self.log_path.parent, f"{self.name} stopped in {time.monotonic() - t0:.1f}s")
        self.popen = None


def _describe(processes: list[psutil.Process]) -> list[str]:
    out = []
    for p in processes:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline())[:80]}")
        except psutil.Error:
            out.append(str(p.pid))
    return out


def _still_running(pgid: int, family: list[psutil.Process]) -> list[psutil.Process]:
    """Live (non-zombie) members of process group ``pgid`` and of ``family``."""
    left: dict[int, psutil.Process] = {}
    candidates = [*family, *psutil.process_iter()]
    for p in candidates:
        try:
            if p.pid in left or p.status() == psutil.STATUS_ZOMBIE:
                continue
            if p in family or os.getpgid(p.pid) == pgid:
                left[p.pid] = p
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return list(left.values())


class Simulator:
    """``python -m awssim serve``: moto + our extension, the demo estate seeded in its own process."""

    def __init__(self, log_dir: Path, delay_seconds: float = 0.5, seed: str = "demo"):
        self.port = free_port()
        self.seed = seed  # demo, or a folder of manifests whose estates to seed
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.env = clean_env(PYTHONPATH=f"{ROOT / 'plugins'}{os.pathsep}{ROOT / 'simulator'}",
                             AWSSIM_DELAY_SECONDS=str(delay_seconds),
                             AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_DEFAULT_REGION="us-east-1")
        self.starts = 0
        self.process: Process | None = None

    def start(self) -> Simulator:
        """Start (again, on the same port: the Airflow connection points there) with a freshly seeded estate."""
        self.starts += 1
        self.process = Process(f"simulator#{self.starts}",
                               [sys.executable, "-m", "awssim", "serve", "--port", str(self.port), "--seed", self.seed],
                               self.env, self.log_dir / f"simulator-{self.starts}.log").start()
        # The server prints its banner only after seeding.
        wait_for(f"the simulator to seed ({self.seed})",
                 lambda: self.process.check_alive() or "listening on" in self.process.log_path.read_text(),
                 timeout=90, interval=0.5)
        return self

    def reseed(self) -> None:
        """Forget everything and seed the demo estate again.

        Seeding has to happen in the server's process (DRS source servers have no create API), so
        the simulator restarts on the same port, from an empty state, and seeds itself."""
        t0 = time.monotonic()
        self.stop()
        t1 = time.monotonic()
        self.start()
        log_note(self.log_dir, f"simulator re-seeded: stop {t1 - t0:.1f}s, start+seed {time.monotonic() - t1:.1f}s")

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None


class Standalone:
    """``airflow standalone`` in its own AIRFLOW_HOME, on free loopback ports, hub connection -> simulator."""

    def __init__(self, work_dir: Path, simulator_url: str, log_dir: Path, env: dict[str, str] | None = None):
        self.home = work_dir / "airflow-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.report_dir = self.home / "dr_reports"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "standalone.log"
        # the settings the README gives (drlocal.airflow_env), on a free port: not only 8080 works
        self.env = clean_env(**airflow_env(self.port, simulator_url, home=self.home,
                                           access_key=HUB_ACCESS_KEY, secret_key=HUB_SECRET_KEY))
        self.env.update(
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(free_port()),
            AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
            DR_REPORT_DIR=str(self.report_dir),
            DR_RETRY_DELAY_SECONDS="2",
        )
        self.env.update(env or {})
        self.process = Process("airflow standalone", [str(VENV_BIN / "airflow"), "standalone"], self.env,
                               self.log_path, cwd=self.home)
        self.password: str | None = None

    def start(self, timeout: float = 180) -> AirflowAPI:
        self.process.start()

        def healthy() -> bool:
            self.process.check_alive()
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            return all(health.get(c, {}).get("status") == "healthy"
                       for c in ("metadatabase", "scheduler", "triggerer", "dag_processor"))

        wait_for("airflow standalone to be healthy", healthy, timeout=timeout, interval=1)
        password_file = self.home / "simple_auth_manager_passwords.json.generated"
        self.password = wait_for("the generated admin password",
                                 lambda: json.loads(password_file.read_text()).get("admin"), timeout=30, interval=0.5)
        return AirflowAPI(self.url, "admin", self.password)

    def wait_until_pause_recorded(self, run_id: str, task_id: str, try_number: int = 1, timeout: float = 60,
                                  pauses: int = 1, dag_id: str = DAG_ID) -> bool:
        """Wait until the scheduler has handled the executor's report that the attempt which paused
        ``task_id`` (deferred / awaiting input) has exited; False if it did not say so in time.

        Airflow 3.3.1 fails a task whose HITL answer re-queued it before the scheduler handled that
        report ("state mismatch", apache/airflow#67287), and the report comes 1-7 s after the pause
        here. A person seldom answers that fast; a script must wait. This reads the scheduler's log
        (standalone prints it): it observes, it does not drive Airflow. ``pauses``: the how-manieth
        pause of that attempt (a gate parks again after each overdue alert).
        """
        key = (f"Received executor event with state success for task instance TaskInstanceKey("
               f"dag_id='{dag_id}', task_id='{task_id}', run_id='{run_id}', try_number={try_number}, ")
        try:
            wait_for(f"the scheduler to handle the end of {task_id}'s paused attempt",
                     lambda: self.process.check_alive() or self.log_path.read_text(errors="replace").count(key) >= pauses,
                     timeout=timeout, interval=0.5)
            return True
        except TimeoutError:
            return False

    def stop(self) -> None:
        self.process.stop(grace=30)


class AirflowAPI:
    """A thin REST API v2 client with a JWT from ``POST /auth/token``."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url
        self.http = requests.Session()
        response = self.http.post(f"{url}/auth/token", json={"username": username, "password": password}, timeout=30)
        response.raise_for_status()
        self.token = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.url}/api/v2{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    # -- DAG and runs ---------------------------------------------------------------------------
    def dag(self, dag_id: str = DAG_ID) -> dict[str, Any]:
        return self.call("GET", f"/dags/{dag_id}")

    def unpause(self, dag_id: str = DAG_ID) -> None:
        assert self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})["is_paused"] is False

    def trigger(self, run_id: str, conf: dict[str, Any], dag_id: str = DAG_ID) -> dict[str, Any]:
        return self.call("POST", f"/dags/{dag_id}/dagRuns",
                         json={"dag_run_id": run_id, "logical_date": None, "conf": conf})

    def run(self, run_id: str, dag_id: str = DAG_ID) -> dict[str, Any]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")

    def task_states(self, run_id: str, dag_id: str = DAG_ID) -> dict[tuple[str, int], str | None]:
        body = self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances",
                         params={"limit": 500})
        return {(ti["task_id"], ti["map_index"]): ti["state"] for ti in body["task_instances"]}

    def open_approvals(self) -> list[dict[str, Any]]:
        return self.call("GET", "/dags/~/dagRuns/~/hitlDetails")["hitl_details"]

    def answer_gate(self, run_id: str, task_id: str, option: str, dag_id: str = DAG_ID) -> dict[str, Any]:
        return self.call("PATCH", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/-1/hitlDetails",
                         json={"chosen_options": [option], "params_input": {}})

    def mark_success(self, run_id: str, task_id: str, note: str, dag_id: str = DAG_ID) -> Any:
        return self.call("PATCH", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}",
                         json={"new_state": "success", "note": note})

    def xcom(self, run_id: str, task_id: str, key: str, dag_id: str = DAG_ID) -> Any:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
                                f"/xcomEntries/{key}", params={"deserialize": True})["value"]


def log_note(log_dir: Path, message: str) -> None:
    """One timestamped line in the harness's own log (kept with the others on failure)."""
    with open(log_dir / "harness.log", "a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {message}\n")


def keep_logs(dest: Path, sources: dict[str, Path]) -> Path:
    """Copy log files and folders to ``dest`` (replacing what an earlier copy left)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, src in sources.items():
        if not src.exists():
            continue
        target = dest / name
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)
    return dest
