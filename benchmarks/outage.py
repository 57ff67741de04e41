"""A region dark: the unplanned failover's measured RTO beside the planned one, and how long preflight
takes to declare the region dark.

    python benchmarks/outage.py [--resources 24] [--waves 3] [--repeat 3]

Through Airflow (``dag.test``, every task in this process) against the simulator server, on a
synthetic estate whose primary is eu-west-1 and DR ap-southeast-2 (all five technologies, hub and
spoke), gates approved automatically so RTO is the machinery's own. Each repeat, on a freshly seeded
estate each time:

* planned failover, both regions up: the report's measured RTO (run start -> last wave validated);
* unplanned failover, eu-west-1 dark from the start: the same figure;
* planned failover, eu-west-1 dark: how long the preflight task ran before it failed naming the
  region (it probes each account's regions once, with a fail-fast client).

The simulator's DRS jobs and global-cluster transitions take ``AWSSIM_DELAY_SECONDS`` (1 s here),
polled every second: minutes on AWS, so compare the two RTOs, not their size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, print_targets, save

sys.path[:0] = [str(ROOT / "local"), str(ROOT / "tests")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=24)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="dr-bench-outage-"))
    manifests = home / "manifests"
    os.environ.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        "DR_MANIFEST_DIR": str(manifests), "DR_REPORT_DIR": str(home / "reports"),
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWSSIM_DELAY_SECONDS": "1", "DR_WAIT_POLL_SECONDS": "1", "DR_RETRY_DELAY_SECONDS": "1",
        "DR_TASK_RETRIES": "0",
    })
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT / "simulator")])})
    logging.disable(logging.WARNING)

    import yaml
    from awssim.seed import seed_estate
    from awssim.server import SimulatorServer
    from awssim.synthetic import synthetic_manifest
    from drlocal.dag_runner import run_dag

    from dr_adapters.orchestration.factory import build_dags
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    regions = {"primary": "eu-west-1", "dr": "ap-southeast-2"}
    manifests.mkdir(parents=True)
    path = manifests / "bench-production.yaml"
    path.write_text(yaml.safe_dump(synthetic_manifest("bench", args.resources, args.waves, regions), sort_keys=False))
    plan = build_plan(load_manifest(path), str(path))
    confirm = f"{plan.scope.customer}/{plan.scope.environment}"

    server = SimulatorServer().start()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps({
        "conn_type": "aws", "login": "bench", "password": "bench",
        "extra": {"region_name": "us-east-1", "endpoint_url": server.url}})

    def run(conf: dict[str, Any], dark: bool) -> dict[str, Any]:
        server.reset()
        server.outage()
        seed_estate(plan)
        if dark:
            server.outage(regions["primary"])
        dag_run = run_dag(build_dags(manifests)[plan.dag_id], {**conf, "approval_mode": "automatic"})
        server.outage()
        folder = Path(os.environ["DR_REPORT_DIR"]) / plan.dag_id / dag_run.run_id.replace(":", "_").replace("+", "_")
        report = json.loads((folder / "report.json").read_text())
        preflight = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "preflight")
        return {"state": str(dag_run.state), "report": report,
                "preflight_s": (preflight.end_date - preflight.start_date).total_seconds()}

    samples: dict[str, list[float]] = {"planned_rto_min": [], "unplanned_rto_min": [], "dark_detected_s": []}
    try:
        for n in range(args.repeat):
            t0 = time.perf_counter()
            planned = run({"operation": "failover", "confirm": confirm}, dark=False)
            unplanned = run({"operation": "failover", "confirm": confirm, "failover_mode": "unplanned"}, dark=True)
            refused = run({"operation": "failover", "confirm": confirm}, dark=True)
            assert planned["state"].endswith("success") and unplanned["state"].endswith("success"), (planned, unplanned)
            assert refused["state"].endswith("failed") and refused["report"]["failures"][0]["task"] == "preflight"
            samples["planned_rto_min"].append(planned["report"]["rto"]["measured_minutes"])
            samples["unplanned_rto_min"].append(unplanned["report"]["rto"]["measured_minutes"])
            samples["dark_detected_s"].append(refused["preflight_s"])
            print(f"  repeat {n + 1}: planned RTO {planned['report']['rto']['measured_minutes']:.2f} min, unplanned "
                  f"{unplanned['report']['rto']['measured_minutes']:.2f} min, dark region declared in "
                  f"{refused['preflight_s']:.1f} s ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        server.stop()

    med = {k: round(statistics.median(v), 3) for k, v in samples.items()}
    result = {
        "command": f"python benchmarks/outage.py --resources {args.resources} --waves {args.waves} --repeat {args.repeat}",
        "resources": len(plan.resources), "waves": len(plan.waves), "regions": regions,
        "samples": samples, "median": med,
        "unplanned_over_planned": round(med["unplanned_rto_min"] / med["planned_rto_min"], 2),
        "targets": {
            "a planned failover meeting a dark source stops in preflight within 60 s":
                "met" if max(samples["dark_detected_s"]) <= 60 else "NOT met",
        },
    }
    out = save("outage", result)
    print(f"Outage: {result['resources']} resources, {result['waves']} waves, {regions['primary']} -> {regions['dr']} "
          f"(median of {args.repeat})")
    print(f"  planned RTO {med['planned_rto_min']:.2f} min; unplanned RTO (primary dark) {med['unplanned_rto_min']:.2f} min "
          f"(x{result['unplanned_over_planned']}); dark region declared by preflight in {med['dark_detected_s']:.1f} s")
    print_targets(result, out)


if __name__ == "__main__":
    main()
