"""Waiting costs no worker slot, and the SRS NFR-1.1 response times, under a real ``airflow standalone``.

    python benchmarks/standalone_slots.py [--runs 8 --parallelism 4 --aws-seconds 120]

Nine synthetic customers (10 resources, 2 waves each: Aurora and DRS first, then services,
functions and DNS) are seeded in the simulator server, where every DRS job and Aurora switchover
takes ``--aws-seconds``. ``airflow standalone`` runs with ``AIRFLOW__CORE__PARALLELISM`` = 4 (the
executor's worker slots). Eight failovers start at once; every second the benchmark counts task
instances by state over the REST API:

* **long AWS waits**: all eight runs wait on their DRS job / switchover (``deferred``: the trigger
  polls in the triggerer) while 0 worker slots are used;
* **approval gates**: all eight wait at ``approve_wave_2`` (``awaiting_input``), 0 slots used;
* in each of those two moments a ninth customer's readiness run (preflight) is triggered and
  finishes: other work is still scheduled.

Also measured, against SRS NFR-1.1: trigger acceptance (``POST .../dagRuns``, target < 1 s),
status query (``GET .../dagRuns/{run_id}``, p95 target < 500 ms) and cross-account session
set-up (STS AssumeRole with ExternalId + first call, target < 2 s per account). These are local
figures: Airflow's on this machine, AWS's from the simulator on loopback (on AWS, add the network
round trips; an STS AssumeRole typically takes 100-300 ms).

Writes build/bench/standalone_slots.json; keeps logs in build/bench/standalone-logs/ on failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import ROOT, print_targets, save, standalone_on_simulator, summary, verdict

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from standalone import Simulator, Standalone, wait_for  # noqa: E402

CUSTOMERS = 9
WAITING = ("deferred", "awaiting_input")
ACTIVE = ("scheduled", "queued", "running", "deferred", "awaiting_input", "up_for_retry", "up_for_reschedule")


class Sampler:
    """Task-instance states of every run, once a second, plus each status query's latency."""

    def __init__(self, api, run_ids: dict[str, str]):
        self.api, self.run_ids = api, run_ids
        self.samples: list[dict[str, Any]] = []
        self.status_latency: list[float] = []
        self.t0 = time.monotonic()

    def sample(self) -> dict[str, Any]:
        # only the task instances in progress (the API returns at most 100 per page)
        tis = self.api.call("GET", "/dags/~/dagRuns/~/taskInstances",
                            params={"state": list(ACTIVE), "limit": 100})["task_instances"]
        states = Counter(ti["state"] for ti in tis if ti["dag_run_id"] in self.run_ids.values())
        waiting_runs = {ti["dag_id"] for ti in tis if ti["dag_run_id"] in self.run_ids.values() and ti["state"] in WAITING}
        gates = {ti["dag_id"] for ti in tis if ti["task_id"] == "approve_wave_2" and ti["state"] == "awaiting_input"
                 and ti["dag_run_id"] in self.run_ids.values()}
        running_all = sum(1 for ti in tis if ti["state"] == "running")  # every DAG's, the readiness run's too
        for dag_id, run_id in list(self.run_ids.items())[:2]:  # the status query an operator's script makes
            t = time.perf_counter()
            self.api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            self.status_latency.append(time.perf_counter() - t)
        deferred = sorted(f"{ti['dag_id']}:{ti['task_id']}[{ti.get('rendered_map_index') or ti['map_index']}]" for ti in tis
                          if ti["state"] == "deferred" and ti["dag_run_id"] in self.run_ids.values())
        row = {"t": round(time.monotonic() - self.t0, 1), "states": dict(states), "running_all": running_all,
               "runs_waiting": len(waiting_runs), "runs_at_gate": len(gates), "deferred": deferred}
        self.samples.append(row)
        return row


def trigger(api, dag_id: str, run_id: str, conf: dict[str, Any]) -> float:
    t = time.perf_counter()
    run = api.trigger(run_id, conf, dag_id=dag_id)
    elapsed = time.perf_counter() - t
    assert run["state"] == "queued", run
    return elapsed


def readiness_run(api, sampler: Sampler, dag_id: str, run_id: str, accept: list[float]) -> dict[str, Any]:
    """A ninth customer's readiness run while the others wait: how long until it has succeeded."""
    t0 = time.monotonic()
    accept.append(trigger(api, dag_id, run_id, {"operation": "readiness"}))
    seen_running = 0

    def done() -> bool:
        nonlocal seen_running
        row = sampler.sample()
        seen_running = max(seen_running, row["running_all"])
        state = api.run(run_id, dag_id=dag_id)["state"]
        assert state != "failed", f"{run_id} failed"
        return state == "success"

    wait_for(f"{run_id} to succeed while the others wait", done, timeout=240, interval=1)
    return {"run_id": run_id, "seconds": round(time.monotonic() - t0, 1), "max_running_tasks": seen_running}


def cross_account_sessions(sim_url: str, repeat: int = 20) -> list[float]:
    """AssumeRole (ExternalId, 900 s, run's session name) and a first call in the spoke, per fresh run."""
    import os

    import boto3

    from dr_adapters.aws.sessions import AccountSessions
    from dr_adapters.plan.types import AccountAccess

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_ENDPOINT_URL": sim_url})
    spoke = AccountAccess("222222222222", "arn:aws:iam::222222222222:role/dr-orchestration", "c0000-dr-ext")
    hub = boto3.Session(region_name="us-east-1")
    hub.client("sts").get_caller_identity()  # the hub's own client set-up is not the spoke's cost
    samples = []
    for n in range(repeat):
        t = time.perf_counter()
        sessions = AccountSessions(hub, [spoke], session_name=f"bench-{n}", hub_account_id="123456789012")
        identity = sessions.client("sts", "us-east-1", spoke.account_id).get_caller_identity()
        samples.append(time.perf_counter() - t)
        assert identity["Account"] == spoke.account_id, identity
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--aws-seconds", type=float, default=120,
                        help="how long each DRS job and switchover takes: long enough for all runs to overlap")
    args = parser.parse_args()
    if args.runs >= CUSTOMERS:
        parser.error(f"--runs must be below {CUSTOMERS}: one customer is kept for the readiness runs")

    from awssim.synthetic import write_manifests

    work = Path(tempfile.mkdtemp(prefix="dr-bench-"))
    manifests = work / "manifests"
    write_manifests(manifests, CUSTOMERS, resources=10, waves=2)
    logs = work / "logs"
    logs.mkdir()
    sim = Simulator(logs, delay_seconds=args.aws_seconds, seed=str(manifests))
    airflow = Standalone(work, sim.url, logs, {
        "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
        "DR_MANIFEST_DIR": str(manifests),
        "DR_WAIT_POLL_SECONDS": "5",
    })
    with standalone_on_simulator(sim, airflow, work, "standalone-logs") as api:
        dag_ids = [f"dr_c{c:04d}_production" for c in range(CUSTOMERS)]
        wait_for("the DAG processor to parse the nine DAGs",
                 lambda: api.call("GET", "/dags", params={"dag_id_pattern": "dr_c"})["total_entries"] == CUSTOMERS,
                 timeout=180, interval=2)
        for dag_id in dag_ids:
            api.unpause(dag_id)

        accept: list[float] = []
        spare = dag_ids[-1]
        # the readiness run on an idle Airflow: what it costs when nothing else is going on
        idle = readiness_run(api, Sampler(api, {}), spare, "bench-readiness-idle", accept)
        runs = {dag_id: f"bench-failover-{dag_id}" for dag_id in dag_ids[: args.runs]}
        for dag_id, run_id in runs.items():
            customer = dag_id.split("_")[1]
            accept.append(trigger(api, dag_id, run_id, {"operation": "failover", "confirm": f"{customer}/production"}))
        sampler = Sampler(api, runs)

        # 1. every run waits on AWS (its DRS job / switchover), deferred, with nothing of any run
        #    queued, scheduled or running: no worker slot held, none wanted
        aws_wait = wait_for("every run to wait on AWS with no task running",
                            lambda: (r := sampler.sample())["runs_waiting"] == args.runs and r["running_all"] == 0
                            and set(r["states"]) == {"deferred"} and r,
                            timeout=args.aws_seconds + 240, interval=1, describe=lambda: str(sampler.samples[-1:]))
        during_aws = readiness_run(api, sampler, spare, "bench-readiness-during-aws-waits", accept)

        # 2. every run waits at its approval gate (awaiting input) and nothing else of theirs is in progress
        gate_wait = wait_for("every run to wait at approve_wave_2 with no task running",
                             lambda: (r := sampler.sample())["runs_at_gate"] == args.runs and r["running_all"] == 0
                             and set(r["states"]) == {"awaiting_input"} and r,
                             timeout=args.aws_seconds + 300, interval=1, describe=lambda: str(sampler.samples[-1:]))
        during_gates = readiness_run(api, sampler, spare, "bench-readiness-during-gates", accept)
        for _ in range(10):
            sampler.sample()
            time.sleep(0.5)
        sessions = cross_account_sessions(sim.url)

    max_running = max(r["running_all"] for r in sampler.samples)
    status = summary(sampler.status_latency)
    result = {
        "command": f"python benchmarks/standalone_slots.py --runs {args.runs} --parallelism {args.parallelism} "
                   f"--aws-seconds {args.aws_seconds:g}",
        "worker_slots": args.parallelism, "runs": args.runs,
        "max_running_task_instances": max_running,
        "readiness_run_idle": idle,
        "all_runs_waiting_on_aws": aws_wait, "readiness_run_during_aws_waits": during_aws,
        "all_runs_waiting_at_gates": gate_wait, "readiness_run_during_gates": during_gates,
        "samples": sampler.samples,
        "counts": {"trigger": len(accept), "status": len(sampler.status_latency), "session": len(sessions)},
        "nfr": {
            "trigger_acceptance": summary(accept),
            "status_query": status,
            "cross_account_session": summary(sessions),
        },
        "targets": {
            "waiting runs hold no worker slot": "met",
            "trigger acceptance < 1 s (max)": verdict(max(accept), 1.0),
            "status query p95 < 500 ms": verdict(status["p95_ms"] / 1000, 0.5),
            "cross-account session < 2 s (max)": verdict(max(sessions), 2.0),
        },
    }
    path = save("standalone_slots", result)
    print(f"worker slots: {args.parallelism}; {args.runs} failovers; AWS jobs take {args.aws_seconds:g} s")
    print(f"  a readiness run on the idle Airflow: {idle['seconds']} s")
    print(f"  all {args.runs} waiting on AWS at t={aws_wait['t']} s: {aws_wait['states']}, running tasks "
          f"{aws_wait['running_all']}; readiness run meanwhile: {during_aws['seconds']} s")
    print(f"    deferred: {len(aws_wait['deferred'])} task instances of {len({d.split(':')[0] for d in aws_wait['deferred']})} runs")
    print(f"  all {args.runs} waiting at approve_wave_2 at t={gate_wait['t']} s: {gate_wait['states']}, running "
          f"tasks {gate_wait['running_all']}; readiness run meanwhile: {during_gates['seconds']} s")
    print(f"  most task instances running at once (any sample): {max_running} (slots: {args.parallelism})")
    nfr = result["nfr"]
    print(f"  trigger acceptance: median {nfr['trigger_acceptance']['median_ms']:.0f} ms, max "
          f"{nfr['trigger_acceptance']['max_ms']:.0f} ms ({len(accept)} triggers)")
    print(f"  status query: median {status['median_ms']:.0f} ms, p95 {status['p95_ms']:.0f} ms "
          f"({len(sampler.status_latency)} queries)")
    print(f"  cross-account session: median {nfr['cross_account_session']['median_ms']:.0f} ms, max "
          f"{nfr['cross_account_session']['max_ms']:.0f} ms")
    print_targets(result, path)


if __name__ == "__main__":
    main()
