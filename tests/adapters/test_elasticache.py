"""ElastiCache global datastore adapter: what only it has (failover vs detach, replicas per shard, the rebuild
after a detach, discovery of a datastore from any of its parts).

The contract every adapter keeps (end state, round trip, idempotency, drill, dry run, spoke, scope, faults,
least privilege, unplanned path, tag discovery) is proven in test_contract.py on the kit's mini-estate.
"""

from __future__ import annotations

import pytest
from awssim import outage
from awssim.kits.elasticache import seed_global_datastore

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.discovery import DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.elasticache import ElastiCacheAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase

PRIMARY, DR, HUB = "us-east-1", "us-west-2", "123456789012"
GID = "ldgnf-orders-cache"
TAGS = {"Customer": "acme", "Environment": "production"}
adapter = ElastiCacheAdapter()


def unit_for(**config):
    config = {"globalReplicationGroupId": GID, "primaryReplicationGroupId": "orders-use1",
              "drReplicationGroupId": "orders-usw2", **config}
    return WorkUnit("cache-orders", "ElastiCache", None, (ResourceSpec("orders-cache", "ElastiCache", config),))


def seed(session, **kwargs):
    return seed_global_datastore(session, HUB, GID, PRIMARY, "orders-use1", DR, "orders-usw2", TAGS, **kwargs)


@pytest.fixture
def estate(aws):
    seed(aws)
    return aws


def datastore(session, gid=GID):
    return session.client("elasticache", region_name=DR).describe_global_replication_groups(
        GlobalReplicationGroupId=gid, ShowMemberInfo=True)["GlobalReplicationGroups"][0]


def roles(session, gid=GID):
    """Each member's role, from AWS's own view of the global datastore."""
    return {m["ReplicationGroupId"]: m["Role"] for m in datastore(session, gid)["Members"]}


def group(session, region, group_id):
    return session.client("elasticache", region_name=region).describe_replication_groups(
        ReplicationGroupId=group_id)["ReplicationGroups"][0]


def replicas(session, region, group_id):
    return [len(ng["NodeGroupMembers"]) - 1 for ng in group(session, region, group_id)["NodeGroups"]]


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)


def test_failover_adds_replicas_then_makes_dr_the_primary(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for(minDrReplicas=2)
    (finding,) = adapter.preflight(ctx, unit)
    assert finding.ok and finding.tags == TAGS and "INSTANTIATE adds 2" in finding.message
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.UNHEALTHY]

    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert replicas(estate, DR, "orders-usw2") == [2]
    assert roles(estate) == {"orders-use1": "SECONDARY", "orders-usw2": "PRIMARY"}  # the way back stays open
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]
    grow, failover = ctx.changes
    assert (grow["operation"], grow["region"], grow["args"]) == (
        "increase_replica_count", DR, {"ReplicationGroupId": "orders-usw2", "ApplyImmediately": True, "NewReplicaCount": 2})
    assert (failover["operation"], failover["region"], failover["args"]) == (
        "failover_global_replication_group", DR,
        {"GlobalReplicationGroupId": GID, "PrimaryRegion": DR, "PrimaryReplicationGroupId": "orders-usw2"})

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])  # REPLICATE verifies: the old primary is a secondary
    assert len(ctx.changes) == 2
    assert set(calls) <= set(adapter.iam_actions)
    (finding,) = adapter.preflight(make_ctx("failover"), unit)
    assert finding.ok and "already failed over" in finding.message


def test_activate_waits_for_the_failover_with_our_waiter(estate, make_ctx, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    ctx = make_ctx("failover")
    outcomes = converge(adapter, Phase.ACTIVATE, ctx, unit_for(), delay=0.1)
    assert [w.waiter for w in outcomes[0].waits] == ["GlobalReplicationGroupAvailable"]
    assert outcomes[-1].done and roles(estate)["orders-usw2"] == "PRIMARY"
    assert len(ctx.changes) == 1  # re-entering while modifying made no second call


def test_cluster_mode_grows_only_the_short_shards(aws, make_ctx):
    seed(aws, shards=2, dr_replicas=1)
    ec = aws.client("elasticache", region_name=DR)
    ec.increase_replica_count(ReplicationGroupId="orders-usw2", ApplyImmediately=True,
                              ReplicaConfiguration=[{"NodeGroupId": "0002", "NewReplicaCount": 2}])
    assert replicas(aws, DR, "orders-usw2") == [1, 2]
    ctx = make_ctx("failover")
    run(ctx, unit_for(minDrReplicas=2), [Phase.INSTANTIATE])
    assert replicas(aws, DR, "orders-usw2") == [2, 2]
    (change,) = ctx.changes
    assert change["args"]["ReplicaConfiguration"] == [{"NodeGroupId": "0001", "NewReplicaCount": 2}]


def test_cluster_mode_rollback_shrinks_every_grown_shard_back(aws, make_ctx):
    """A rollback of a failover whose INSTANTIATE grew the DR group's shards brings each back to the replicas per
    shard its preflight recorded, naming only the shards above it."""
    from dr_adapters.adapters.runner import MAX_ROUNDS, wait_for

    seed(aws, shards=2, dr_replicas=1)
    adapter, unit = ElastiCacheAdapter(), unit_for(minDrReplicas=3)
    ctx = make_ctx("failover")
    before = adapter.restore_point(ctx, unit)
    run(ctx, unit, [Phase.INSTANTIATE])
    assert replicas(aws, DR, "orders-usw2") == [3, 3]

    back = make_ctx("failback")
    for _ in range(MAX_ROUNDS):
        outcome = adapter.rollback(back, unit, before)
        if outcome.done:
            break
        for wait in outcome.waits:
            wait_for(back, wait, 0)
    assert replicas(aws, DR, "orders-usw2") == [1, 1] and roles(aws)["orders-use1"] == "PRIMARY"
    (change,) = [c for c in back.changes if c["operation"] == "decrease_replica_count"]
    assert change["args"]["ReplicaConfiguration"] == [{"NodeGroupId": "0001", "NewReplicaCount": 1},
                                                      {"NodeGroupId": "0002", "NewReplicaCount": 1}]


def unplanned_ctx(make_ctx):
    ctx = make_ctx("failover")
    ctx.unplanned = True
    return ctx


def test_unplanned_failover_detaches_dr_from_the_dr_region_only(estate, make_ctx):
    ctx, calls = recorded(unplanned_ctx(make_ctx))
    unit = unit_for(minDrReplicas=0)
    outage.reset_counts()
    with outage.outage(PRIMARY):
        (finding,) = adapter.preflight(ctx, unit)
        assert finding.ok and "not yet replicated" in finding.exposure
        run(ctx, unit)  # CLEANUP and REPLICATE: deferred
        assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]
        assert outage.state()["refused"].get(PRIMARY, 0) == 0
    assert {c.region for c in calls} == {DR}
    (change,) = ctx.changes
    assert (change["operation"], change["region"], change["args"]) == (
        "disassociate_global_replication_group", DR,
        {"GlobalReplicationGroupId": GID, "ReplicationGroupId": "orders-usw2", "ReplicationGroupRegion": DR})
    assert "GlobalReplicationGroupInfo" not in group(estate, DR, "orders-usw2")  # takes writes on its own
    # the old primary, dark meanwhile, still heads the datastore on its own
    assert datastore(estate)["Status"] == "primary-only" and roles(estate) == {"orders-use1": "PRIMARY"}
    again = unplanned_ctx(make_ctx)
    run(again, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert again.changes == []


def test_reprotect_after_a_detach_names_the_rebuild_and_the_rebuild_works(estate, make_ctx):
    run(unplanned_ctx(make_ctx), unit_for(), [Phase.ACTIVATE])
    with pytest.raises(AdapterError, match="detached from global datastore ldgnf-orders-cache") as err:
        converge(adapter, Phase.REPLICATE, make_ctx("failover"), unit_for())  # operation=reprotect's REPLICATE
    fix = err.value.remediation
    for step in ("create-snapshot --replication-group-id orders-use1",
                 f"delete-global-replication-group --global-replication-group-id {GID} "
                 f"--retain-primary-replication-group --region {PRIMARY}",
                 f"delete-replication-group --replication-group-id orders-use1 --region {PRIMARY}",
                 "create-global-replication-group --global-replication-group-id-suffix orders-cache "
                 f"--primary-replication-group-id orders-usw2 --region {DR}",
                 "create-replication-group --replication-group-id orders-use1 --global-replication-group-id"):
        assert step in fix

    # the steps, as an operator would run them
    old, new = (estate.client("elasticache", region_name=r) for r in (PRIMARY, DR))
    old.create_snapshot(ReplicationGroupId="orders-use1", SnapshotName="orders-use1-before-rebuild")
    old.delete_global_replication_group(GlobalReplicationGroupId=GID, RetainPrimaryReplicationGroup=True)
    old.delete_replication_group(ReplicationGroupId="orders-use1")
    rebuilt = new.create_global_replication_group(GlobalReplicationGroupIdSuffix="orders-cache",
                                                  PrimaryReplicationGroupId="orders-usw2")
    rebuilt_id = rebuilt["GlobalReplicationGroup"]["GlobalReplicationGroupId"]
    assert rebuilt_id == "sgaui-orders-cache"  # AWS's prefix for us-west-2, where it was created
    old.create_replication_group(ReplicationGroupId="orders-use1", ReplicationGroupDescription="orders",
                                 GlobalReplicationGroupId=rebuilt_id, Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    ctx = make_ctx("failover")
    run(ctx, unit_for(globalReplicationGroupId=rebuilt_id), [Phase.REPLICATE])
    assert roles(estate, rebuilt_id) == {"orders-usw2": "PRIMARY", "orders-use1": "SECONDARY"} and ctx.changes == []


def test_mode_disassociate_detaches_in_a_planned_run_and_replicate_says_rebuild(estate, make_ctx):
    ctx = make_ctx("failover")
    unit = unit_for(mode="disassociate", minDrReplicas=0)
    (finding,) = adapter.preflight(ctx, unit)
    assert finding.ok and finding.exposure
    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert [c["operation"] for c in ctx.changes] == ["disassociate_global_replication_group"]
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]
    with pytest.raises(AdapterError, match="takes writes on its own"):
        converge(adapter, Phase.REPLICATE, ctx, unit)


def test_a_planned_failover_of_a_detached_target_is_refused_with_the_rebuild(estate, make_ctx):
    estate.client("elasticache", region_name=DR).disassociate_global_replication_group(
        GlobalReplicationGroupId=GID, ReplicationGroupId="orders-usw2", ReplicationGroupRegion=DR)
    (finding,) = adapter.preflight(make_ctx("failover"), unit_for())
    assert not finding.ok and "orders-usw2 (us-west-2) is not a member" in finding.message
    with pytest.raises(AdapterError, match="detached from global datastore") as err:
        converge(adapter, Phase.ACTIVATE, make_ctx("failover"), unit_for())
    assert "create-global-replication-group" in err.value.remediation


def test_replicate_names_the_fix_when_the_old_primary_was_detached(estate, make_ctx):
    ctx = make_ctx("failover")
    run(ctx, unit_for(), [Phase.ACTIVATE])
    estate.client("elasticache", region_name=PRIMARY).disassociate_global_replication_group(
        GlobalReplicationGroupId=GID, ReplicationGroupId="orders-use1", ReplicationGroupRegion=PRIMARY)
    with pytest.raises(AdapterError, match="no longer a member") as err:
        converge(adapter, Phase.REPLICATE, ctx, unit_for())
    assert f"--replication-group-id orders-use1 --global-replication-group-id {GID}" in err.value.remediation


def test_a_datastore_still_changing_fails_the_drill(aws, make_ctx, monkeypatch):
    seed(aws)
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "60")
    ec = aws.client("elasticache", region_name="eu-west-1")  # a third region joining: the datastore is modifying
    ec.create_replication_group(ReplicationGroupId="orders-euw1", ReplicationGroupDescription="eu",
                                GlobalReplicationGroupId=GID)
    drill = make_ctx("drill")
    with pytest.raises(AdapterError, match="is modifying"):
        converge(adapter, Phase.ACTIVATE, drill, unit_for())
    assert drill.changes == []


@pytest.mark.parametrize("mode, ok", [("disassociate", True), ("failover", False)])
def test_an_unreachable_source_region_only_blocks_a_failover(estate, make_ctx, mode, ok):
    with outage.outage(PRIMARY):
        (finding,) = adapter.preflight(make_ctx("failover"), unit_for(mode=mode))
    assert finding.ok is ok and "re-trigger with failover_mode=unplanned" in finding.message


def test_discovery_finds_the_datastore_from_any_tagged_part(estate):
    other = estate.client("elasticache", region_name=PRIMARY)
    other.create_replication_group(ReplicationGroupId="lonely", ReplicationGroupDescription="no datastore")
    arn = {g: group(estate, r, g)["ARN"] for r, g in ((PRIMARY, "orders-use1"), (DR, "orders-usw2"))}
    found = [Tagged(datastore(estate)["ARN"], HUB, "global", "elasticache:globalreplicationgroup", TAGS),
             Tagged(arn["orders-use1"], HUB, PRIMARY, "elasticache:replicationgroup", TAGS),
             Tagged(arn["orders-usw2"], HUB, DR, "elasticache:replicationgroup", TAGS),
             Tagged(group(estate, PRIMARY, "lonely")["ARN"], HUB, PRIMARY, "elasticache:replicationgroup", TAGS)]
    read = DiscoveryRead(lambda service, region: estate.client(service, region_name=region), HUB, PRIMARY, DR)
    *derived, lonely = adapter.derive(found, read)
    config = {"globalReplicationGroupId": GID, "primaryReplicationGroupId": "orders-use1",
              "drReplicationGroupId": "orders-usw2"}
    assert [(d.identity, d.config, d.secondary) for d in derived] == [
        (f"elasticache/{HUB}/{GID}", config, False), (f"elasticache/{HUB}/{GID}", config, False),
        (f"elasticache/{HUB}/{GID}", config, True)]
    assert adapter.identity(config, HUB) == derived[0].identity
    assert isinstance(lonely, NotDerived) and "not part of an ElastiCache global datastore" in lonely.message
