"""The benchmarks still run (tiny sizes, figures not checked here: BENCHMARKS.md holds those)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench(script: str, *args: str, out: Path) -> dict:
    env = {**os.environ, "DR_BENCH_OUT": str(out)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads((out / script.replace(".py", ".json")).read_text())


def test_parse_cost_runs(tmp_path):
    result = bench("parse_cost.py", "--customers", "3", "--resources", "10", "--waves", "2", "--repeat", "1",
                   out=tmp_path)
    assert result["whole_folder"]["dags"] == 3 and result["worker_one_dag"]["dags"] == 1
    assert result["one_dag"]["tasks_per_dag"] > 0


def test_api_efficiency_runs(tmp_path):
    result = bench("api_efficiency.py", "--resources", "20", "--waves", "2", "--repeat", "1", out=tmp_path)
    assert result["resources_serving_from_dr"] == result["resources"] == 20
    assert result["start_recovery"]["made"] == result["start_recovery"]["expected"]
    assert set(result["targets"].values()) == {"met"}


def test_outage_runs(tmp_path):
    result = bench("outage.py", "--resources", "6", "--waves", "2", "--repeat", "1", out=tmp_path)
    assert result["resources"] == 6 and result["regions"]["primary"] == "eu-west-1"
    assert set(result["targets"].values()) == {"met"}  # the dark region declared within 60 s
    assert result["median"]["planned_rto_min"] > 0 and result["median"]["unplanned_rto_min"] > 0


def test_discovery_runs(tmp_path):
    result = bench("discovery.py", "--resources", "20", "--spokes", "2", "--repeat", "1", out=tmp_path)
    assert result["accounts"] == 3 and result["tagged_resources"] > 0
    assert set(result["median"]) == {"resource-explorer", "tagging-api"}
    assert all(m["calls"] > 0 for m in result["median"].values())
    assert set(result["targets"].values()) == {"met"}
