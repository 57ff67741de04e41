"""What a readiness check costs under a real ``airflow standalone``: task instances run on a worker, and wall time.

    python benchmarks/readiness_cost.py [--runs 5] [--label after]

The simulator server holds the demo estate; ``dr_acme_production`` gets ``--runs`` readiness runs, one
after the other, on an otherwise idle Airflow. Per run, over the REST API:

* task instances: all of the run's, and those that ran on a worker -- queued to the executor (a try
  number) or started by a task runner (a host, a process id); a task instance an upstream task skipped
  has none of them;
* worker time: the sum of the durations of the task instances that ran (their code), and the slot time
  (queued to the executor until finished: the worker process's start and DAG parse included, which is
  what a task instance that only skips itself costs);
* wall time: the run's start to end by Airflow, and trigger to success as a client sees it.

From the medians (slot time): the worker slots needed to check 500 customers every 30 minutes (AWS Region switch
evaluates every plan that often). Run it on the code to compare (``--label before`` in a checkout of
the old commit) to get both sides; BENCHMARKS.md holds the figures.

Writes build/bench/readiness_cost.json (``readiness_cost_<label>.json`` for another label).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from common import ROOT, save, standalone_on_simulator

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from standalone import DAG_ID, Simulator, Standalone, wait_for  # noqa: E402

CUSTOMERS, EVERY_SECONDS = 500, 30 * 60


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def ran_on_a_worker(ti: dict[str, Any]) -> bool:
    return bool(ti["try_number"] or ti["hostname"] or ti["pid"] is not None)


def readiness_run(api, run_id: str) -> dict[str, Any]:
    t0 = time.monotonic()
    api.trigger(run_id, {"operation": "readiness"})
    run = wait_for(f"{run_id} to finish", lambda: (r := api.run(run_id))["state"] in ("success", "failed") and r,
                   timeout=600, interval=0.5)
    client_seconds = time.monotonic() - t0
    assert run["state"] == "success", f"{run_id} ended {run['state']}"
    tis = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 500})["task_instances"]
    ran = [ti for ti in tis if ran_on_a_worker(ti)]
    return {
        "run_id": run_id,
        "task_instances": len(tis),
        "ran_on_a_worker": len(ran),
        "ran": sorted(f"{ti['task_id']}[{ti['map_index']}]" if ti["map_index"] >= 0 else ti["task_id"] for ti in ran),
        "worker_seconds": round(sum(ti["duration"] or 0.0 for ti in ran), 2),
        "slot_seconds": round(sum((_t(ti["end_date"]) - (_t(ti["queued_when"]) or _t(ti["start_date"]))).total_seconds()
                                  for ti in ran if ti["end_date"]), 2),
        "run_seconds": round((_t(run["end_date"]) - _t(run["start_date"])).total_seconds(), 2),
        "trigger_to_success_seconds": round(client_seconds, 2),
    }


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--label", default="after", help="what code this measures (before / after)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dr-bench-readiness-"))
    logs = work / "logs"
    logs.mkdir()
    sim = Simulator(logs, delay_seconds=0.5)
    airflow = Standalone(work, sim.url, logs)
    with standalone_on_simulator(sim, airflow, work, "readiness-logs") as api:
        wait_for(f"the DAG processor to parse {DAG_ID}",
                 lambda: api.http.get(f"{api.url}/api/v2/dags/{DAG_ID}", timeout=10).status_code == 200,
                 timeout=180, interval=1)
        api.unpause()
        time.sleep(5)  # let the scheduler settle after start-up: the runs measure an idle Airflow
        runs = [readiness_run(api, f"bench-readiness-{n}") for n in range(args.runs)]

    median = {key: statistics.median(r[key] for r in runs) for key in
              ("task_instances", "ran_on_a_worker", "worker_seconds", "slot_seconds", "run_seconds",
               "trigger_to_success_seconds")}
    slots = CUSTOMERS * median["slot_seconds"] / EVERY_SECONDS
    result = {
        "command": f"python benchmarks/readiness_cost.py --runs {args.runs}" + (
            f" --label {args.label}" if args.label != "after" else ""),
        "label": args.label,
        "commit": commit(),
        "runs": runs,
        "median": median,
        "worker_slots_for_500_customers_every_30_min": round(slots, 2),
    }
    path = save("readiness_cost" if args.label == "after" else f"readiness_cost_{args.label}", result)
    print(f"readiness runs of {DAG_ID} ({args.label}, {result['commit']}), medians of {args.runs}:")
    print(f"  task instances: {median['task_instances']:g}, of which ran on a worker: {median['ran_on_a_worker']:g}")
    print(f"  worker time {median['worker_seconds']:.1f} s (slot time {median['slot_seconds']:.1f} s); "
          f"run {median['run_seconds']:.1f} s by Airflow, "
          f"{median['trigger_to_success_seconds']:.1f} s trigger to success")
    print(f"  {CUSTOMERS} customers every 30 min: {slots:.1f} worker slots busy on average")
    print(f"  -> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
