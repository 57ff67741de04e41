"""Waves -> steps -> work units."""

from __future__ import annotations

from dr_adapters.sources.loader import validate_data
from dr_adapters.sources.planner import build_plan


def manifest(resources, **extra):
    return validate_data({
        "manifestId": "t", "customer": "acme", "environment": "production",
        "regions": {"primary": "us-east-1", "dr": "us-west-2"},
        "accounts": [{"accountId": "222222222222", "roleArn": "arn:aws:iam::222222222222:role/dr", "externalId": "x-1"}],
        "layers": [{"layerId": "l1", "priority": 1, "resources": resources}], **extra,
    }, "test")


def drs(n, account=None):
    r = {"resourceId": f"srv-{n}", "action": "DRS", "config": {"sourceServerId": f"s-{n:017x}"}}
    if account:
        r["accountId"] = account
    return r


def test_drs_servers_batch_200_per_unit_per_account():
    plan = build_plan(manifest([drs(i) for i in range(250)] + [drs(1000 + i, "222222222222") for i in range(3)]))
    units = plan.waves[0].units
    sizes = sorted((u.account_id or "hub", len(u.resources)) for u in units)
    assert sizes == [("222222222222", 3), ("hub", 50), ("hub", 200)]


def test_same_wave_dependencies_make_steps():
    ecs = lambda name, deps=(): {"resourceId": name, "action": "EcsService", "dependencies": list(deps),  # noqa: E731
                                 "config": {"cluster": "c", "service": name, "desiredCount": 1}}
    plan = build_plan(manifest([ecs("web", ["api"]), ecs("api", ["db"]), ecs("db"), ecs("cache")]))
    steps = [[u.unit_id for u in step] for step in plan.waves[0].steps]
    assert steps == [["db", "cache"], ["api"], ["web"]]


def test_failback_swaps_regions():
    from dr_adapters.plan.types import Operation

    regions = build_plan(manifest([drs(1)])).regions
    assert (regions.source(Operation.FAILOVER), regions.target(Operation.FAILOVER)) == ("us-east-1", "us-west-2")
    assert (regions.source(Operation.FAILBACK), regions.target(Operation.FAILBACK)) == ("us-west-2", "us-east-1")
    assert regions.target(Operation.DRILL) == "us-west-2"


def test_unit_ids_are_unique_across_waves_and_steps():
    """A DRS batch in several waves (and steps) must not share its task's unit id: the DAG's mapped
    tasks would otherwise run one wave's servers in another's place."""
    from awssim.synthetic import synthetic_manifest

    from dr_adapters.sources.loader import validate_data

    plan = build_plan(validate_data(synthetic_manifest("umbrella", 12, 3), "synthetic"), "synthetic")
    ids = [u.unit_id for u in plan.units]
    assert len(ids) == len(set(ids)), ids
    drs = [u.unit_id for w in plan.waves for u in w.units if u.action == "DRS"]
    assert "drs-hub-batch1" in drs and "drs-hub-w2-s1-batch1" in drs
    assert sorted(r for u in plan.units for r in u.resource_ids) == sorted(plan.resources)


def test_priority_orders_the_work_inside_a_wave():
    """FR-1.3: critical first; one priority's resources in parallel (one step); unprioritised ones
    run with the first; dependencies still come first."""
    from dr_adapters.sources.loader import validate_data

    def fn(rid, priority=None, deps=()):
        r = {"resourceId": rid, "action": "LambdaFunction", "config": {"functionName": rid}, "dependencies": list(deps)}
        return {**r, "priority": priority} if priority else r

    data = {"manifestId": "p", "customer": "p", "environment": "staging",
            "regions": {"primary": "eu-west-1", "dr": "eu-central-1"},
            "layers": [{"layerId": "only", "priority": 1, "resources": [
                fn("low-1", "low"), fn("crit-1", "critical"), fn("crit-2", "critical"), fn("plain"),
                fn("high-1", "high"), fn("after", "critical", deps=["low-1"])]}]}
    steps = build_plan(validate_data(data, "p"), "p").waves[0].steps
    assert [sorted(rid for u in step for rid in u.resource_ids) for step in steps] == [
        ["crit-1", "crit-2", "plain"], ["high-1"], ["low-1"], ["after"]]
    unordered = {**data, "layers": [{**data["layers"][0], "resources": [fn("a"), fn("b")]}]}
    assert len(build_plan(validate_data(unordered, "p"), "p").waves[0].steps) == 1  # nothing to order
