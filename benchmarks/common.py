"""Shared by the benchmarks: where they write, how they summarise, how they run a fresh interpreter."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(os.environ.get("DR_BENCH_OUT") or ROOT / "build" / "bench")  # tests point it elsewhere
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT / "simulator")]


def env(**extra: str) -> dict[str, str]:
    """The environment of ``make``: the project on PYTHONPATH, its own AIRFLOW_HOME."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "simulator")]),
            "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", str(ROOT / ".airflow")), **extra}


def python(code: str, **extra_env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object last, which is returned."""
    done = subprocess.run([sys.executable, "-c", code], env=env(**extra_env), capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"benchmark step failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(samples: list[float]) -> dict[str, float]:
    """Median, p95, min and max of samples (seconds in, milliseconds out, 3 decimals)."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {k: round(v * 1000, 3) for k, v in
            {"median_ms": statistics.median(ordered), "p95_ms": p95, "min_ms": ordered[0], "max_ms": ordered[-1]}.items()}


def save(name: str, result: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def verdict(measured: float, target: float) -> str:
    return "met" if measured <= target else "NOT met"


def print_targets(result: dict[str, Any], path: Path) -> None:
    """The closing lines of every benchmark: each target's verdict, then where the figures are."""
    for target, outcome in result["targets"].items():
        print(f"  {target}: {outcome}")
    print(f"  -> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


@contextmanager
def standalone_on_simulator(sim: Any, airflow: Any, work: Path, kept_as: str) -> Iterator[Any]:
    """Start the simulator, then ``airflow standalone`` on it, and yield its REST client; afterwards stop both
    whatever happened, keep the logs under ``build/bench/<kept_as>`` when the benchmark failed (the work
    folder is removed either way) -- a benchmark leaves no process or temporary folder behind."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from standalone import keep_logs

    failed = True
    try:
        sim.start()
        yield airflow.start()
        failed = False
    finally:
        airflow.stop()
        sim.stop()
        if failed:
            kept = keep_logs(OUT / kept_as, {"processes": work / "logs", "airflow-task-logs": airflow.home / "logs"})
            print(f"benchmark failed; logs kept in {kept}")
        shutil.rmtree(work, ignore_errors=True)
