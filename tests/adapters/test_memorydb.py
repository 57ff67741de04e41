"""MemoryDB adapter: what only MemoryDB Multi-Region has (active-active regional clusters: capacity moves,
nothing is promoted; the old regional cluster is the way back; single-region clusters cannot be protected).

The contract every adapter keeps is proven in test_contract.py on the MemoryDB kit's mini-estate.
"""

from __future__ import annotations

import time

import pytest
from awssim.kits.memorydb import put_replication_lag, seed_multi_region

from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.memorydb import MemoryDBAdapter, MemoryDBConfig
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase
from aws_calls import recorded

PRIMARY, DR, HUB = "us-east-1", "us-west-2", "123456789012"
PROD, STANDBY = 3, 1
SCOPE_TAGS = {"Customer": "acme", "Environment": "production"}
adapter = MemoryDBAdapter()


def unit_for(**config):
    config = {"clusterName": "sessions", "drClusterName": "sessions-dr", "replicasPerShard": PROD,
              "standbyReplicasPerShard": STANDBY, **config}
    return WorkUnit("memorydb-sessions", "MemoryDB", None, (ResourceSpec("sessions-kv", "MemoryDB", config),))


@pytest.fixture
def estate(aws):
    name = seed_multi_region(aws, PRIMARY, DR, "sessions", "sessions-dr", PROD, STANDBY, SCOPE_TAGS)
    return aws, name


def shape(session, region, cluster):
    """(status, replicas per shard) of a regional cluster, read back from MemoryDB."""
    found = session.client("memorydb", region_name=region).describe_clusters(
        ClusterName=cluster, ShowShardDetails=True)["Clusters"][0]
    return found["Status"], {s["NumberOfNodes"] - 1 for s in found["Shards"]}


def members(session, name):
    mr = session.client("memorydb", region_name=DR).describe_multi_region_clusters(
        MultiRegionClusterName=name, ShowClusterDetails=True)["MultiRegionClusters"][0]
    return sorted((c["Region"], c["ClusterName"]) for c in mr["Clusters"])


def run(ctx, unit, phases=ALL_PHASES):
    return [o for phase in phases for o in converge(adapter, phase, ctx, unit, delay=0)]


def test_failover_moves_capacity_and_keeps_the_old_regional_cluster(estate, make_ctx):
    session, name = estate
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for()
    assert all(f.ok for f in adapter.preflight(ctx, unit))

    run(ctx, unit, [Phase.INSTANTIATE])
    assert shape(session, DR, "sessions-dr") == ("available", {PROD})
    activated = run(ctx, unit, [Phase.ACTIVATE])
    assert calls.mutating == ["memorydb:UpdateCluster"]  # ACTIVATE promotes nothing: both regions take writes
    assert any("nothing to promote" in n for o in activated for n in o.notes)
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert shape(session, PRIMARY, "sessions") == ("available", {STANDBY})  # scaled down, never deleted
    assert members(session, name) == [(PRIMARY, "sessions"), (DR, "sessions-dr")]
    assert calls.where("memorydb:UpdateCluster") == [(None, DR), (None, PRIMARY)]


def test_an_emergency_activate_scales_the_target_itself(estate, make_ctx):
    session, _ = estate
    run(make_ctx("failover"), unit_for(), [Phase.ACTIVATE])  # INSTANTIATE skipped
    assert shape(session, DR, "sessions-dr") == ("available", {PROD})


def test_activate_waits_while_the_target_is_still_changing(estate, make_ctx, monkeypatch):
    session, _ = estate
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    ctx = make_ctx("failover")
    first = adapter.instantiate(ctx, unit_for())
    assert [w.waiter for w in first.waits] == ["ClusterAvailable"]
    assert shape(session, DR, "sessions-dr")[0] == "updating"
    again, calls = recorded(make_ctx("failover"))
    waiting = adapter.activate(again, unit_for())  # the scale-up still running: wait for it, change nothing
    assert calls.mutating == [] and [w.args for w in waiting.waits] == [{"ClusterName": "sessions-dr"}]
    time.sleep(0.35)
    run(ctx, unit_for(), [Phase.ACTIVATE])
    assert shape(session, DR, "sessions-dr") == ("available", {PROD})


def test_replicate_names_the_fix_when_the_old_region_left_the_multi_region_cluster(estate, make_ctx):
    session, name = estate
    ctx = make_ctx("failover")
    run(ctx, unit_for(), [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP])
    session.client("memorydb", region_name=PRIMARY).delete_cluster(ClusterName="sessions")
    with pytest.raises(AdapterError, match="no longer a regional cluster") as refused:
        adapter.replicate(ctx, unit_for())
    assert f"--multi-region-cluster-name {name}" in refused.value.remediation
    assert members(session, name) == [(DR, "sessions-dr")]


def test_a_single_region_cluster_is_refused_with_the_fix(aws, make_ctx):
    tags = [{"Key": k, "Value": v} for k, v in SCOPE_TAGS.items()]
    for region, cluster in ((PRIMARY, "sessions"), (DR, "sessions-dr")):
        client = aws.client("memorydb", region_name=region)
        client.create_cluster(ClusterName=cluster, NodeType="db.r7g.xlarge", ACLName="open-access", Tags=tags)
    ctx, calls = recorded(make_ctx("failover"))
    findings = adapter.preflight(ctx, unit_for())
    assert not findings[0].ok and "not a regional cluster of a MemoryDB Multi-Region cluster" in findings[0].message
    with pytest.raises(AdapterError, match="Multi-Region") as refused:
        adapter.instantiate(ctx, unit_for())
    assert "create one" in refused.value.remediation and calls.mutating == []


def test_unplanned_preflight_reports_the_last_replication_lag_as_exposure(estate, make_ctx):
    session, _ = estate
    put_replication_lag(session, DR, "sessions-dr", 850.0)
    ctx = make_ctx("failover")
    ctx.unplanned = True
    target = adapter.preflight(ctx, unit_for())[0]
    assert target.ok and target.exposure == "sessions-dr: last replication lag 850 ms"


def test_a_drill_reads_only_and_reports_what_a_failover_would_scale(estate, make_ctx):
    session, _ = estate
    ctx, calls = recorded(make_ctx("drill"))
    outcomes = run(ctx, unit_for())
    assert calls.mutating == []
    assert any(f"a failover would scale it to {PROD}" in n for o in outcomes for n in o.notes)
    assert shape(session, DR, "sessions-dr") == ("available", {STANDBY})
    assert [c.status for c in adapter.validate(ctx, unit_for())] == [Health.HEALTHY]


def test_standby_larger_than_production_is_refused():
    with pytest.raises(ValueError, match="standbyReplicasPerShard"):
        MemoryDBConfig.model_validate({"clusterName": "a", "replicasPerShard": 1, "standbyReplicasPerShard": 2})


def _read(session):
    return DiscoveryRead(lambda service, region: session.client(service, region_name=region), HUB, PRIMARY, DR)


def test_discovery_derives_the_entry_from_either_part_and_refuses_a_single_region_cluster(estate):
    session, name = estate
    tagged = [Tagged(f"arn:aws:memorydb:{PRIMARY}:{HUB}:cluster/sessions", HUB, PRIMARY, "memorydb:cluster"),
              Tagged(f"arn:aws:memorydb:{DR}:{HUB}:cluster/sessions-dr", HUB, DR, "memorydb:cluster"),
              Tagged(f"arn:aws:memorydb::{HUB}:multiregioncluster/{name}", HUB, "global",
                     "memorydb:multiregioncluster")]
    session.client("memorydb", region_name=PRIMARY).create_cluster(
        ClusterName="solo", NodeType="db.r6g.large", ACLName="open-access")
    tagged.append(Tagged(f"arn:aws:memorydb:{PRIMARY}:{HUB}:cluster/solo", HUB, PRIMARY, "memorydb:cluster"))
    derived = adapter.derive(tagged, _read(session))
    want = {"clusterName": "sessions", "drClusterName": "sessions-dr", "replicasPerShard": PROD,
            "standbyReplicasPerShard": STANDBY}
    assert [d.config for d in derived[:3]] == [want] * 3
    assert {d.identity for d in derived[:3]} == {adapter.identity(want, HUB)}
    assert [d.secondary for d in derived[:3] if isinstance(d, Derived)] == [False, True, False]
    assert isinstance(derived[3], NotDerived) and "not part of a MemoryDB Multi-Region cluster" in derived[3].message
