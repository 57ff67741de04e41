"""The local walk-through as the README prints it: bare ``python -m ...`` commands from the checkout,
and an Airflow on any port (the end-to-end tests start theirs with these settings on a free port)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from drlocal.airflow_env import airflow_env

ROOT = Path(__file__).resolve().parents[2]


def bare(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m ...`` as typed after ``. .venv/bin/activate``: no PYTHONPATH, any folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "AIRFLOW", "DR_"))}
    return subprocess.run([sys.executable, "-m", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_make_venv_puts_the_checkout_on_the_venv_path(tmp_path):
    pth = Path(sysconfig.get_paths()["purelib"]) / "dr-orchestrator-checkout.pth"
    assert pth.exists(), f"{pth} is missing: `make venv` writes it (the bare python -m commands need it)"
    assert pth.read_text().split() == [str(ROOT / d) for d in ("plugins", "simulator", "local")]
    done = bare("dr_adapters", "validate", str(ROOT / "include" / "manifests" / "acme-production.yaml"),
                cwd=tmp_path)
    assert done.returncode == 0 and ": OK (dr_acme_production" in done.stdout, done.stderr


def test_the_printed_exports_follow_the_port(tmp_path):
    done = bare("drlocal.airflow_env", "--port", "8090", "--simulator", "http://127.0.0.1:5099", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    assert exports["AIRFLOW__API__PORT"] == "8090"
    assert exports["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8090/execution/"
    assert "http://127.0.0.1:5099" in exports["AIRFLOW_CONN_AWS_DEFAULT"]
    # what the shell reads back is what airflow_env() gives the end-to-end tests' Airflow
    shell = subprocess.run(["bash", "-c", f"{done.stdout}\nenv"], capture_output=True, text=True, check=True)
    env = dict(line.split("=", 1) for line in shell.stdout.splitlines() if "=" in line)
    expected = airflow_env(8090, "http://127.0.0.1:5099")
    assert {k: env[k] for k in expected} == expected


def test_a_bad_port_or_url_is_named(tmp_path):
    done = bare("drlocal.airflow_env", "--port", "70000", cwd=tmp_path)
    assert done.returncode == 2 and "--port 70000: a TCP port is 1-65535" in done.stderr
    done = bare("drlocal.airflow_env", "--simulator", "127.0.0.1:5055", cwd=tmp_path)
    assert done.returncode == 2 and "a URL such as http://127.0.0.1:5055" in done.stderr
