"""AWS call efficiency: a 1,000-resource, 5-wave failover in-process against the simulator.

    python benchmarks/api_efficiency.py [--resources 1000 --waves 5 --repeat 3]

The synthetic estate (awssim.synthetic: 8 % Aurora, 40 % DRS, 20 % ECS, 20 % Lambda, 12 % Route 53,
a fifth in a spoke account) is seeded in moto in-process with our simulator extension, then failed
over the way the DAG runs it, minus Airflow: preflight, then per wave and dependency step
INSTANTIATE and ACTIVATE of every unit, VALIDATE of the wave, then CLEANUP and REPLICATE (each
phase converged by ``adapters.runner.converge``: call, wait with the botocore waiter, call again).

Every API call is counted (``BaseClient._make_api_call``: waiter polls included, botocore's
retries of one call not) and timed, and attributed to the action of the unit being run. The
simulator completes jobs at once (AWSSIM_DELAY_SECONDS=0), so each wait is one poll here: on
AWS, a wait polls every ``delay`` seconds for as long as AWS takes, per wait, whatever the number
of resources behind it. Orchestration overhead = wall time - time inside AWS calls (here moto's
in-process work stands in for AWS's latency).

Writes build/bench/api_efficiency.json and prints a table.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from typing import Any

from common import ROOT, print_targets, save

sys.path[:0] = [str(ROOT / "tests")]
from aws_calls import is_mutating  # noqa: E402 - the tests' classification of a call (reads, STS, changes)


class CallMeter:
    """Counts and times every AWS API call, attributed to what the benchmark is doing at the time."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str, str, bool]] = Counter()  # (action, stage, service:Op, polling)
        self.seconds = 0.0
        self.action, self.stage, self.polling = "-", "-", False
        self._local = threading.local()
        self._lock = threading.Lock()
        self._in_flight, self._since = 0, 0.0

    @contextmanager
    def installed(self):
        """Meter every API call, and mark those the runner's waiters make as polls."""
        import botocore.client

        from dr_adapters.adapters import runner

        original, original_wait = botocore.client.BaseClient._make_api_call, runner.wait_for
        meter = self

        def timed(client, operation_name, api_params):
            if getattr(meter._local, "inside", False):  # a call made while making a call: count once
                return original(client, operation_name, api_params)
            meter._local.inside = True
            meter._enter()
            try:
                return original(client, operation_name, api_params)
            finally:
                meter._exit()
                meter._local.inside = False
                service = client.meta.service_model.signing_name
                meter.calls[(meter.action, meter.stage, f"{service}:{operation_name}", meter.polling)] += 1

        def polling(*args, **kwargs):
            meter.polling = True
            try:
                return original_wait(*args, **kwargs)
            finally:
                meter.polling = False

        botocore.client.BaseClient._make_api_call, runner.wait_for = timed, polling
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call, runner.wait_for = original, original_wait

    def _enter(self) -> None:
        """Time inside AWS calls is wall time with at least one call in flight (preflight checks
        accounts in parallel: overlapping calls count once)."""
        with self._lock:
            if not self._in_flight:
                self._since = time.perf_counter()
            self._in_flight += 1

    def _exit(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if not self._in_flight:
                self.seconds += time.perf_counter() - self._since

    @contextmanager
    def doing(self, action: str, stage: str):
        self.action, self.stage = action, stage
        try:
            yield
        finally:
            self.action, self.stage = "-", "-"


def raise_quotas(plan) -> None:
    """An estate of this size runs in accounts whose quotas were raised for it: what AWS applies by default
    (40 RDS DB instances) would stop the failover in preflight, as it should, and measure nothing."""
    from awssim.service_quotas import CATALOGUE, set_quota
    from awssim.synthetic import HUB, SPOKE

    for account in (HUB, SPOKE):
        for region in (plan.regions.primary, plan.regions.dr):
            for quota in CATALOGUE:
                if quota.service_code != "ec2":  # EC2's vCPU quotas are established ones already
                    set_quota(account, region, quota.service_code, quota.quota_code, quota.default * 100)


def fail_over(plan, meter: CallMeter) -> dict[str, int]:
    """Preflight, waves, cleanup, replicate; returns the waits per action."""
    import boto3

    from dr_adapters.adapters.base import RunContext
    from dr_adapters.adapters.registry import adapter_for
    from dr_adapters.adapters.runner import converge as run_to_completion
    from dr_adapters.aws.sessions import AccountSessions
    from dr_adapters.plan.run_request import confirm_token, parse_run_request
    from dr_adapters.plan.types import Phase
    from dr_adapters.preflight import run_preflight

    request = parse_run_request(plan, {"operation": "failover", "confirm": confirm_token(plan)})
    sessions = AccountSessions(boto3.Session(region_name=plan.regions.primary), plan.accounts,
                               session_name="bench-run", hub_account_id=plan.hub_account_id)
    ctx = RunContext(operation=request.operation, regions=plan.regions, scope=plan.scope, aws=sessions,
                     dry_run=False, rpo_minutes=plan.rpo_minutes, run_id="bench-run",
                     log=logging.getLogger("dr.bench"))
    waits: Counter[str] = Counter()

    def converge(phase, unit):
        outcomes = run_to_completion(adapter_for(unit.action), phase, ctx, unit, delay=0)
        waits[unit.action] += sum(len(o.waits) for o in outcomes)

    with meter.doing("all", "preflight"):
        problems = [f for f in run_preflight(plan, request, ctx) if not f["ok"]]
    if problems:
        raise RuntimeError(f"preflight failed: {problems[:3]}")
    for wave in plan.waves:
        for step in wave.steps:
            for phase in (Phase.INSTANTIATE, Phase.ACTIVATE):
                for unit in step:
                    if phase in adapter_for(unit.action).phases:
                        with meter.doing(unit.action, phase.value):
                            converge(phase, unit)
        for unit in wave.units:
            with meter.doing(unit.action, "VALIDATE"):
                adapter_for(unit.action).validate(ctx, unit)
    for phase in (Phase.CLEANUP, Phase.REPLICATE):
        for wave in plan.waves:
            for unit in wave.units:
                if phase in adapter_for(unit.action).phases:
                    with meter.doing(unit.action, phase.value):
                        converge(phase, unit)
    return dict(waits)


def expected_start_recovery(plan) -> int:
    """ceil(servers / 200) per wave, account and region: the DRS API's limit per StartRecovery."""
    from dr_adapters.adapters.drs import DrsAdapter

    servers: Counter[tuple[int, str | None]] = Counter()
    for wave in plan.waves:
        for unit in wave.units:
            if unit.action in DrsAdapter.actions:
                servers[(wave.number, unit.account_id)] += len(unit.resources)
    return sum(math.ceil(n / DrsAdapter.max_batch) for n in servers.values())


def one_run(resources: int, waves: int, check_end_state: bool) -> dict[str, Any]:
    import awssim
    from awssim.kits import DR
    from awssim.seed import plan_estate, seed_estate
    from awssim.snapshot import serving_sides
    from awssim.synthetic import synthetic_manifest
    from moto import mock_aws

    from dr_adapters.sources.loader import validate_data
    from dr_adapters.sources.planner import build_plan

    plan = build_plan(validate_data(synthetic_manifest("c0000", resources, waves), "synthetic"), "synthetic")
    awssim.install()
    with mock_aws():
        t0 = time.perf_counter()
        seed_estate(plan)
        seeded = time.perf_counter() - t0
        raise_quotas(plan)
        meter = CallMeter()
        with meter.installed():
            t0 = time.perf_counter()
            waits = fail_over(plan, meter)
            wall = time.perf_counter() - t0
        print(f"  run: seeded in {seeded:.1f} s, failed over in {wall:.1f} s", flush=True)
        # read back with plain describe calls (slow in moto at this size: once is enough)
        sides = serving_sides(plan, plan_estate(plan)) if check_end_state else None
    moved = sum(1 for side in sides.values() if side == DR) if sides else None
    return {"plan": plan, "seed_s": seeded, "wall_s": wall, "aws_s": meter.seconds, "calls": meter.calls,
            "waits": waits, "moved": moved}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWSSIM_DELAY_SECONDS": "0"}.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    logging.disable(logging.WARNING)

    runs = [one_run(args.resources, args.waves, check_end_state=n == 0) for n in range(args.repeat)]
    first, plan = runs[0], runs[0]["plan"]
    if any(r["calls"] != first["calls"] for r in runs):
        raise RuntimeError("the same failover made different calls from one run to the next")

    by_action: dict[str, dict[str, Any]] = defaultdict(lambda: {"resources": 0, "units": 0, "calls": 0, "mutating": 0,
                                                                 "polls": 0, "waits": 0})
    for wave in plan.waves:
        for unit in wave.units:
            by_action[unit.action]["units"] += 1
            by_action[unit.action]["resources"] += len(unit.resources)
    per_operation: Counter[str] = Counter()
    for (action, stage, call, polling), n in first["calls"].items():
        per_operation[call] += n
        row = by_action[action if action != "all" else "preflight (all)"]
        row["calls"] += n
        row["polls"] += n if polling else 0
        row["mutating"] += n if is_mutating(call) else 0
    for action, n in first["waits"].items():
        by_action[action]["waits"] = n
    for row in by_action.values():
        row["calls_per_resource"] = round(row["calls"] / row["resources"], 2) if row["resources"] else None

    wall = statistics.median(r["wall_s"] for r in runs)
    aws = statistics.median(r["aws_s"] for r in runs)
    overhead = statistics.median(r["wall_s"] - r["aws_s"] for r in runs)
    total_calls = sum(first["calls"].values())
    result = {
        "command": f"python benchmarks/api_efficiency.py --resources {args.resources} --waves {args.waves} --repeat {args.repeat}",
        "resources": len(plan.resources), "waves": len(plan.waves),
        "units": sum(len(w.units) for w in plan.waves),
        "seed_s_median": round(statistics.median(r["seed_s"] for r in runs), 2),
        "wall_s_median": round(wall, 2), "aws_s_median": round(aws, 2),
        "orchestration_overhead_s_median": round(overhead, 2),
        "orchestration_overhead_ms_per_resource": round(overhead / len(plan.resources) * 1000, 2),
        "calls": total_calls, "calls_per_resource": round(total_calls / len(plan.resources), 2),
        "start_recovery": {"made": per_operation["drs:StartRecovery"], "expected": expected_start_recovery(plan)},
        "by_action": dict(by_action),
        "per_operation": dict(per_operation.most_common()),
        "resources_serving_from_dr": first["moved"],
    }
    polls = sum(row["polls"] for row in by_action.values())
    waits_total = sum(first["waits"].values())
    result["targets"] = {
        "StartRecovery = ceil(servers / 200) per wave and account": "met" if (
            result["start_recovery"]["made"] == result["start_recovery"]["expected"]) else "NOT met",
        "polls proportional to waits, not resources": "met" if polls == waits_total else f"NOT met ({polls} polls, {waits_total} waits)",
        "every resource fails over": "met" if first["moved"] == len(plan.resources) else f"NOT met ({first['moved']})",
    }
    path = save("api_efficiency", result)
    print(f"API efficiency: {result['resources']} resources, {result['waves']} waves, {result['units']} work units "
          f"(median of {args.repeat})")
    print(f"  wall {wall:.2f} s = in AWS calls {aws:.2f} s + orchestration {overhead:.2f} s "
          f"({result['orchestration_overhead_ms_per_resource']} ms per resource); seeding {result['seed_s_median']} s")
    print(f"  {total_calls} calls, {result['calls_per_resource']} per resource; StartRecovery "
          f"{result['start_recovery']['made']} (ceil(servers/200) per wave and account: {result['start_recovery']['expected']})")
    print(f"  {'action':<16}{'resources':>10}{'units':>7}{'calls':>7}{'/res':>7}{'mutating':>10}{'waits':>7}{'polls':>7}")
    for action, row in sorted(by_action.items()):
        print(f"  {action:<16}{row['resources']:>10}{row['units']:>7}{row['calls']:>7}"
              f"{row['calls_per_resource'] if row['calls_per_resource'] is not None else '-':>7}"
              f"{row['mutating']:>10}{row['waits']:>7}{row['polls']:>7}")
    print(f"  resources serving from DR afterwards (first run, read back): {first['moved']} of {result['resources']}")
    print_targets(result, path)



if __name__ == "__main__":
    main()
