"""Every adapter's rollback (``Adapter.rollback``), on its kit's hub + spoke mini-estate (moto in-process with
the simulator extension), read back by the kit, never by the adapter:

* a failover stopped after its wave phases (INSTANTIATE and ACTIVATE ran, CLEANUP and REPLICATE did not: a
  run rejected at its next gate), then a rollback: the starting snapshot, and no recovery instance left;
* a rollback run again makes zero mutating calls;
* a failover stopped after INSTANTIATE only (a later sibling failed): the rollback also returns the snapshot;
* an adapter without an undo (a promoted RDS replica, runbook steps) says why, and its rollback is never run.
"""

from __future__ import annotations

import pytest
from awssim.kits import DR

from aws_calls import recorded
from dr_adapters.adapters.registry import ADAPTER_CLASSES, supported_actions
from dr_adapters.plan.types import Phase
from mini_estate import mini_estate

NOT_AWS = {"ManualStep"}  # no AWS resource (test_contract.NOT_AWS)
UNDONE = [a for a in supported_actions() if a not in NOT_AWS
          and next(c for c in ADAPTER_CLASSES if a in c.actions).rollback_phases]
LEFT = [a for a in supported_actions() if a not in UNDONE]


def running_recovery_instances(mini) -> list[str]:
    if mini.action != "DRS":
        return []
    found = []
    for account in mini.estate.accounts():
        drs = mini.estate.sessions[account].client("drs", region_name=mini.plan.regions.dr)
        found += [ri["recoveryInstanceID"] for ri in drs.describe_recovery_instances(filters={})["items"]
                  if ri.get("ec2InstanceState") not in ("TERMINATED", "SHUTTING-DOWN")]
    return found


@pytest.mark.parametrize("action", UNDONE)
def test_a_failover_stopped_after_its_waves_rolls_back_to_the_starting_snapshot(aws, action):
    mini = mini_estate(action)
    before = mini.roles()
    mini.run(mini.ctx("failover"), (Phase.INSTANTIATE, Phase.ACTIVATE))
    mini.estate.cache.clear()  # read AWS afresh
    assert all(mini.kit.serves_in(mini.estate, r, DR) for r in mini.plan.resources.values()), mini.roles()

    mini.roll_back(mini.ctx("failback"), mini.units)
    assert mini.roles() == before
    assert running_recovery_instances(mini) == []

    ctx, calls = recorded(mini.ctx("failback"))
    mini.roll_back(ctx, mini.units)  # again: everything is back already
    assert calls.mutating == [] and ctx.changes == []
    assert mini.roles() == before


@pytest.mark.parametrize("action", UNDONE)
def test_a_failover_stopped_after_instantiate_rolls_back_too(aws, action):
    mini = mini_estate(action)
    before = mini.roles()
    mini.run(mini.ctx("failover"), (Phase.INSTANTIATE,))
    mini.roll_back(mini.ctx("failback"), mini.units)
    assert mini.roles() == before
    assert running_recovery_instances(mini) == []


@pytest.mark.parametrize("action", LEFT)
def test_an_adapter_without_an_undo_says_why(action):
    cls = next(c for c in ADAPTER_CLASSES if action in c.actions)
    assert cls.rollback_phases == () and cls().rollback_summary().startswith("left as it is: ")
    assert len(cls.rollback_left_because) > 20


def test_ecs_goes_back_to_the_desired_count_recorded_before_the_run(aws):
    """A warm standby (the DR service at 1 task) is scaled back to 1, not parked at 0: the count read in the
    failover's preflight (``restore_point``) is what the rollback restores."""
    mini = mini_estate("EcsService")
    for r in mini.plan.resources.values():
        cfg = r.config
        mini.estate.session(r.account_id).client("ecs", region_name=mini.plan.regions.dr).update_service(
            cluster=cfg.get("drCluster") or cfg["cluster"], service=cfg.get("drService") or cfg["service"],
            desiredCount=1)
    before = mini.roles()
    assert {role["dr"] for role in before.values()} == {1}
    ctx = mini.ctx("failover")
    points = mini.restore_points(ctx)
    mini.run(ctx, (Phase.INSTANTIATE, Phase.ACTIVATE))
    assert mini.roles() != before

    mini.roll_back(mini.ctx("failback"), mini.units, points)
    assert mini.roles() == before
    ctx, calls = recorded(mini.ctx("failback"))
    mini.roll_back(ctx, mini.units, points)
    assert calls.mutating == []


def grown_and_rolled_back(mini, config: dict, read) -> dict:
    """A failover whose INSTANTIATE grows the DR side (``config`` on every resource), stopped after its waves,
    then rolled back twice: ``read()`` (the DR side) is back as before with the serving roles, and the second
    rollback makes no call. Returns what ``read()`` gave while grown."""
    from dataclasses import replace

    had, before = read(), mini.roles()
    units = [replace(u, resources=tuple(replace(r, config={**r.config, **config}) for r in u.resources))
             for u in mini.units]
    ctx = mini.ctx("failover")
    points = mini.restore_points(ctx, units)
    mini.run(ctx, (Phase.INSTANTIATE, Phase.ACTIVATE), units)
    grown = read()
    mini.roll_back(mini.ctx("failback"), units, points)
    assert mini.roles() == before and read() == had
    ctx, calls = recorded(mini.ctx("failback"))
    mini.roll_back(ctx, units, points)
    assert calls.mutating == [] and read() == had
    return grown


@pytest.mark.parametrize("action", ["AuroraMySQL", "AuroraPostgreSQL"])
def test_aurora_readers_the_failover_added_are_deleted_and_the_ones_there_before_kept(aws, action):
    """INSTANTIATE adds readers up to minDrInstances to the DR cluster; the rollback switches the writer back,
    then deletes exactly the ones it added (not in the preflight's restore point), once."""
    mini = mini_estate(action)
    clusters = {r.resource_id: (mini.estate.session(r.account_id).client("rds", region_name=mini.plan.regions.dr),
                                r.config["drClusterIdentifier"]) for r in mini.plan.resources.values()}

    def dr_instances() -> dict[str, list[str]]:
        return {rid: sorted(i["DBInstanceIdentifier"] for i in rds.describe_db_instances(Filters=[
            {"Name": "db-cluster-id", "Values": [cluster]}])["DBInstances"] if i["DBInstanceStatus"] != "deleting")
            for rid, (rds, cluster) in clusters.items()}

    for rds, cluster in clusters.values():  # a reader kept warm before the run, named as INSTANTIATE names them
        rds.create_db_instance(DBInstanceIdentifier=f"{cluster}-dr-1", DBClusterIdentifier=cluster,
                               Engine=rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["Engine"],
                               DBInstanceClass="db.r6g.large")
    grown = grown_and_rolled_back(mini, {"minDrInstances": 3}, dr_instances)
    assert {rid: len(names) for rid, names in grown.items()} == {rid: 3 for rid in clusters}


def test_elasticache_replicas_the_failover_added_are_removed(aws):
    """INSTANTIATE grows the DR replication group to minDrReplicas per shard; the rollback moves the primary
    back, then shrinks that group to the replicas per shard its preflight recorded, once."""
    mini = mini_estate("ElastiCache")
    groups = {r.resource_id: (mini.estate.session(r.account_id).client("elasticache", region_name=mini.plan.regions.dr),
                              r.config["drReplicationGroupId"]) for r in mini.plan.resources.values()}

    def dr_replicas() -> dict[str, list[int]]:
        return {rid: [len(ng["NodeGroupMembers"]) - 1 for ng in ec.describe_replication_groups(
            ReplicationGroupId=group)["ReplicationGroups"][0]["NodeGroups"]] for rid, (ec, group) in groups.items()}

    grown = grown_and_rolled_back(mini, {"minDrReplicas": 3}, dr_replicas)
    assert all(set(counts) == {3} for counts in grown.values()), grown
