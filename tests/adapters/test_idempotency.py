"""Idempotency: for every adapter x operation x phase, a second run of a finished phase changes nothing.

The adapter modules' own tests check this for some operations; this file covers the whole grid on
the demo estate (hub and spoke account, both regions): each adapter's resources run each phase of a
failover, a failback (after a full failover) and a drill, in order; after each phase has converged,
running it again makes **zero mutating AWS calls** (recorded with botocore event hooks), records no
change, and leaves the estate exactly as the first run left it (read back with plain describe calls:
serving roles, every EC2 instance, DRS server and recovery instance, DB instance, Lambda version,
alias and concurrency, ECS desired count, DNS answer).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from awssim.demo import _sessions, demo_plan, seed_estate
from awssim.snapshot import serving_roles

from dr_adapters.adapters.registry import adapter_for
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.types import ALL_PHASES, Phase
from aws_calls import recorded

ADAPTERS = {  # name -> (manifest actions, services whose state it may change besides its DNS/roles)
    "drs": (("DRS",), {"ec2", "drs"}),
    "aurora": (("AuroraMySQL", "AuroraPostgreSQL"), {"rds"}),
    "ecs": (("EcsService",), {"ecs"}),
    "lambda": (("LambdaFunction",), {"lambda"}),
    "route53": (("R53Record",), set()),
}
# Where each adapter acts at all (the other phases are explicit no-ops, idempotent by definition but
# checked all the same): proves the grid is not vacuous.
ACTS = {
    ("drs", "failover"): {Phase.INSTANTIATE, Phase.CLEANUP, Phase.REPLICATE},
    ("drs", "failback"): {Phase.INSTANTIATE, Phase.CLEANUP, Phase.REPLICATE},
    ("drs", "drill"): {Phase.INSTANTIATE, Phase.CLEANUP},
    ("aurora", "failover"): {Phase.INSTANTIATE, Phase.ACTIVATE},
    ("aurora", "failback"): {Phase.ACTIVATE},
    ("ecs", "failover"): {Phase.ACTIVATE, Phase.CLEANUP},
    ("ecs", "failback"): {Phase.ACTIVATE, Phase.CLEANUP},
    ("lambda", "failover"): {Phase.ACTIVATE, Phase.CLEANUP},
    ("lambda", "failback"): {Phase.ACTIVATE, Phase.CLEANUP},
    ("route53", "failover"): {Phase.ACTIVATE},
    ("route53", "failback"): {Phase.ACTIVATE},
}


def _ec2(s, region):
    reservations = s.client("ec2", region_name=region).describe_instances()["Reservations"]
    return sorted((i["InstanceId"], i["State"]["Name"]) for r in reservations for i in r["Instances"])


def _drs(s, region):
    drs = s.client("drs", region_name=region)
    servers = sorted(
        (x["sourceServerID"], x["dataReplicationInfo"].get("dataReplicationState"),
         (x.get("lifeCycle", {}).get("lastLaunch") or {}).get("status"), x.get("recoveryInstanceId"),
         x.get("reversedDirectionSourceServerArn"))
        for x in drs.describe_source_servers(filters={})["items"])
    instances = sorted(
        (x["recoveryInstanceID"], x["isDrill"], x["ec2InstanceState"], (x.get("failback") or {}).get("state"))
        for x in drs.describe_recovery_instances(filters={})["items"])
    return servers, instances, len(drs.describe_jobs(filters={})["items"])


def _rds(s, region):
    rds = s.client("rds", region_name=region)
    instances = sorted((i["DBInstanceIdentifier"], i["DBClusterIdentifier"])
                       for i in rds.describe_db_instances()["DBInstances"])
    members = sorted((g["GlobalClusterIdentifier"], g["Status"], m["DBClusterArn"], m["IsWriter"])
                     for g in rds.describe_global_clusters()["GlobalClusters"] for m in g["GlobalClusterMembers"])
    return instances, members


def _lambda(s, region):
    lam = s.client("lambda", region_name=region)
    return {
        fn["FunctionName"]: (
            [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn["FunctionName"])["Versions"]],
            sorted((a["Name"], a["FunctionVersion"]) for a in lam.list_aliases(FunctionName=fn["FunctionName"])["Aliases"]),
            lam.get_function_concurrency(FunctionName=fn["FunctionName"]).get("ReservedConcurrentExecutions"),
        )
        for fn in lam.list_functions()["Functions"]
    }


def _ecs(s, region):
    ecs = s.client("ecs", region_name=region)
    state = {}
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        services = ecs.describe_services(cluster=cluster, services=arns)["services"] if arns else []
        state[cluster] = sorted((x["serviceName"], x["desiredCount"]) for x in services)
    return state


READERS = {"ec2": _ec2, "drs": _drs, "rds": _rds, "lambda": _lambda, "ecs": _ecs}


def estate_state(plan: Any, sessions: dict[str | None, Any], actions: tuple[str, ...], services: set[str]) -> dict[str, Any]:
    """What an adapter could change, read with describe calls: the serving roles of its resources
    (DNS answers among them), and every resource of ``services`` in each account and region."""
    mine = SimpleNamespace(regions=plan.regions, resources={
        rid: r for rid, r in plan.resources.items() if r.action in actions})
    state: dict[str, Any] = {"roles": serving_roles(mine, sessions)}
    for account in (None, *(a.account_id for a in plan.accounts)):
        for region in (plan.regions.primary, plan.regions.dr):
            for service in sorted(services):
                state[f"{account or 'hub'}/{region}/{service}"] = READERS[service](sessions[account], region)
    return state


def run_phase(make_ctx, operation: str, phase: Phase, units: list) -> Any:
    ctx = make_ctx(operation)
    for unit in units:
        converge(adapter_for(unit.action), phase, ctx, unit, delay=0)
    return ctx


@pytest.mark.parametrize("operation", ["failover", "failback", "drill"])
@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_a_second_run_of_each_phase_changes_nothing(aws, make_ctx, name, operation):
    actions, services = ADAPTERS[name]
    plan = demo_plan()
    seed_estate(plan)
    units = [u for w in plan.waves for u in w.units if u.action in actions]
    if operation == "failback":  # fail over first, through every phase (REPLICATE reverses DRS)
        for phase in ALL_PHASES:
            run_phase(make_ctx, "failover", phase, units)
    reader = _sessions(plan)

    acted = set()
    for phase in ALL_PHASES:
        first = run_phase(make_ctx, operation, phase, units)
        acted |= {phase} if first.changes else set()
        after_first = estate_state(plan, reader, actions, services)

        again, calls = recorded(make_ctx(operation))
        for unit in units:
            converge(adapter_for(unit.action), phase, again, unit, delay=0)
        assert calls.mutating == [], f"second {phase.value} of {operation} called {calls.mutating}"
        assert again.changes == [], f"second {phase.value} of {operation} recorded {again.changes}"
        assert estate_state(plan, reader, actions, services) == after_first, f"second {phase.value} of {operation} changed the estate"
    assert acted == ACTS.get((name, operation), set())
