"""RDS DB instance adapter: what only a cross-region read replica pair has (promotion by lag, Oracle switchover,
the old primary's cleanup, re-protection under the region's free identifier, the writer read from AWS).

The contract every adapter keeps (end state, round trip, idempotency, drill, dry run, spoke, scope, faults,
least privilege, discovery of the mini-estate) is proven in test_contract.py on the RDS kit's mini-estate.
"""

from __future__ import annotations

import pytest
from awssim.kits.rds import put_replica_lag, seed_rds_pair

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.discovery import DiscoveryRead, Tagged
from dr_adapters.adapters.rds import MARK, RdsAdapter, RdsConfig
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase

PRIMARY, DR, ACCOUNT = "us-east-1", "us-west-2", "123456789012"
TAGS = {"Customer": "acme", "Environment": "production"}
adapter = RdsAdapter()


def unit_for(**config):
    config = {"dbInstanceIdentifier": "orders-a", "drDbInstanceIdentifier": "orders-b", **config}
    spec = ResourceSpec("orders-db", "RDS", config)
    return WorkUnit("rds-orders", "RDS", None, (spec,))


def seed(session, **kwargs):
    return seed_rds_pair(session, PRIMARY, "orders-a", DR, "orders-b", kwargs.pop("tags", TAGS), **kwargs)


@pytest.fixture
def estate(aws):
    seed(aws)
    return aws


def instances(session, region):
    """Each instance of the region: (status, the identifier of the instance it replicates from or '')."""
    found = session.client("rds", region_name=region).describe_db_instances()["DBInstances"]
    return {i["DBInstanceIdentifier"]: (i["DBInstanceStatus"],
                                        (i.get("ReadReplicaSourceDBInstanceIdentifier") or "").split(":")[-1])
            for i in found}


def tags_of(session, region, identifier):
    found = session.client("rds", region_name=region).describe_db_instances(DBInstanceIdentifier=identifier)
    return {t["Key"]: t["Value"] for t in found["DBInstances"][0]["TagList"]}


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)
    return ctx


def test_failover_promotes_the_replica_stops_the_old_primary_and_replicates_back(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for(cleanup="snapshot-and-stop")
    (finding,) = adapter.preflight(ctx, unit)
    assert finding.ok and finding.tags == TAGS and "replica lag 1 s" in finding.message

    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert instances(estate, DR) == {"orders-b": ("available", "")}
    assert MARK in tags_of(estate, DR, "orders-b")
    assert [h.status for h in adapter.validate(ctx, unit)] == [Health.HEALTHY]

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert set(calls) <= set(adapter.iam_actions)
    assert [c["operation"] for c in ctx.changes] == ["add_tags_to_resource", "promote_read_replica",
                                                     "stop_db_instance", "create_db_instance_read_replica"]
    create = ctx.changes[-1]["args"]
    assert create["SourceDBInstanceIdentifier"] == f"arn:aws:rds:{DR}:{ACCOUNT}:db:orders-b"
    # the old primary stopped after a snapshot; its identifier taken, the new replica has the alternate one
    assert instances(estate, PRIMARY) == {"orders-a": ("stopped", ""), "orders-a-alt": ("available", "orders-b")}
    snapshots = estate.client("rds", region_name=PRIMARY).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"].startswith("orders-a-dr-") for s in snapshots] == [True]
    # the replica carries the scope tags, not the promotion mark
    assert tags_of(estate, PRIMARY, "orders-a-alt") == {**TAGS}


def test_failback_moves_the_pair_to_the_alternate_identifiers_and_a_second_failover_needs_one_freed(estate, make_ctx):
    unit = unit_for(cleanup="stop")
    run(make_ctx("failover"), unit)
    run(make_ctx("failback"), unit)
    assert instances(estate, PRIMARY) == {"orders-a": ("stopped", ""), "orders-a-alt": ("available", "")}
    assert instances(estate, DR) == {"orders-b": ("stopped", ""), "orders-b-alt": ("available", "orders-a-alt")}
    (finding,) = adapter.preflight(make_ctx("failover"), unit)
    assert finding.ok and "writer orders-a-alt" in finding.message

    # failing over again: orders-b-alt takes over; both primary-region identifiers are taken
    ctx = run(make_ctx("failover"), unit, [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP])
    assert instances(estate, DR)["orders-b-alt"] == ("available", "")
    with pytest.raises(AdapterError, match="no free identifier") as refused:
        converge(adapter, Phase.REPLICATE, ctx, unit)
    assert "delete orders-a " in refused.value.remediation


def test_old_primary_delete_reuses_its_identifier(estate, make_ctx):
    unit = unit_for(oldPrimary="delete")
    ctx = run(make_ctx("failover"), unit)
    assert instances(estate, PRIMARY) == {"orders-a": ("available", "orders-b")}
    delete = next(c for c in ctx.changes if c["operation"] == "delete_db_instance")
    assert delete["args"]["FinalDBSnapshotIdentifier"].startswith("orders-a-final-")
    run(make_ctx("failback"), unit)  # and back: the very same identifiers as at the start
    assert instances(estate, PRIMARY) == {"orders-a": ("available", "")}
    assert instances(estate, DR) == {"orders-b": ("available", "orders-a")}


def test_planned_activate_refuses_a_replica_beyond_rpo_unplanned_promotes_it(estate, make_ctx):
    put_replica_lag(estate, DR, "orders-b", 3 * 3600.0)
    ctx = make_ctx("failover", rpo_minutes=30)
    (finding,) = adapter.preflight(ctx, unit_for())
    assert not finding.ok and "exceeds RPO" in finding.message
    with pytest.raises(AdapterError, match="exceeds RPO") as refused:
        converge(adapter, Phase.ACTIVATE, ctx, unit_for())
    assert "failover_mode=unplanned" in refused.value.remediation
    assert ctx.changes == [] and instances(estate, DR)["orders-b"][1] == "orders-a"

    ctx = make_ctx("failover")
    ctx.unplanned = True
    (finding,) = adapter.preflight(ctx, unit_for())
    assert finding.ok and finding.exposure == "orders-b: last replica lag 10800 s"
    run(ctx, unit_for(), [Phase.ACTIVATE])
    assert instances(estate, DR) == {"orders-b": ("available", "")}


def test_an_unplanned_failback_before_reprotect_refuses_the_stale_old_primary(estate, make_ctx):
    failover = make_ctx("failover")
    failover.unplanned = True
    run(failover, unit_for(), [Phase.ACTIVATE])  # CLEANUP and REPLICATE deferred: orders-a as it was
    failback = make_ctx("failback")
    failback.unplanned = True
    (finding,) = adapter.preflight(failback, unit_for())
    assert not finding.ok and "no DR run promoted it" in finding.message
    with pytest.raises(AdapterError, match="no DR run promoted it") as refused:
        converge(adapter, Phase.ACTIVATE, failback, unit_for())
    assert "reprotect" in refused.value.remediation
    run(make_ctx("reprotect"), unit_for(), [Phase.CLEANUP, Phase.REPLICATE])  # the region is back
    run(failback, unit_for(), [Phase.ACTIVATE])
    assert instances(estate, PRIMARY) == {"orders-a": ("available", ""), "orders-a-alt": ("available", "")}
    assert tags_of(estate, PRIMARY, "orders-a-alt")[MARK] > tags_of(estate, DR, "orders-b")[MARK]


def test_a_replica_whose_replication_stopped_fails_preflight_and_drill(aws, make_ctx, monkeypatch):
    import awssim.rds_replicas

    # only the -1 RDS reports when replication is not running (not the simulator's 0 of a new replica)
    monkeypatch.setattr(awssim.rds_replicas, "_publish_replica_lag", lambda *_: None)
    seed(aws, lag_seconds=-1)
    (finding,) = adapter.preflight(make_ctx("failover"), unit_for())
    assert not finding.ok and "replication is not running" in finding.message
    with pytest.raises(AdapterError, match="not running"):
        converge(adapter, Phase.ACTIVATE, make_ctx("drill"), unit_for())


def test_oracle_switches_over_and_the_old_primary_becomes_the_replica(aws, make_ctx):
    seed(aws, engine="oracle-ee", replica_backup_days=7)
    unit = unit_for(cleanup="stop")
    ctx = run(make_ctx("failover"), unit)
    assert [c["operation"] for c in ctx.changes] == ["add_tags_to_resource", "switchover_read_replica"]
    assert instances(aws, DR) == {"orders-b": ("available", "")}
    assert instances(aws, PRIMARY) == {"orders-a": ("available", "orders-b")}  # nothing to stop, nothing to create
    ctx = run(make_ctx("failback"), unit)
    assert instances(aws, PRIMARY) == {"orders-a": ("available", "")}
    assert instances(aws, DR) == {"orders-b": ("available", "orders-a")}


def test_oracle_switchover_needs_replica_backups_or_switchover_false(aws, make_ctx):
    seed(aws, engine="oracle-ee")
    (finding,) = adapter.preflight(make_ctx("failover"), unit_for())
    assert not finding.ok and "needs automated backups" in finding.message
    ctx = run(make_ctx("failover"), unit_for(switchover=False), [Phase.ACTIVATE])
    assert [c["operation"] for c in ctx.changes] == ["add_tags_to_resource", "promote_read_replica"]


def test_unplanned_oracle_failover_promotes(aws, make_ctx):
    seed(aws, engine="oracle-ee", replica_backup_days=7)
    ctx = make_ctx("failover")
    ctx.unplanned = True
    run(ctx, unit_for(), [Phase.ACTIVATE])
    assert [c["operation"] for c in ctx.changes] == ["add_tags_to_resource", "promote_read_replica"]


def test_instantiate_creates_the_replica_when_configured(aws, make_ctx):
    seed(aws, replica=False, tags={**TAGS, "Name": "orders-db"})
    with pytest.raises(AdapterError, match="createReplica"):
        converge(adapter, Phase.INSTANTIATE, make_ctx("failover"), unit_for())
    ctx = run(make_ctx("failover"), unit_for(createReplica=True, replicaInstanceClass="db.r6g.large"),
              [Phase.INSTANTIATE])
    assert instances(aws, DR) == {"orders-b": ("available", "orders-a")}
    assert tags_of(aws, DR, "orders-b") == {**TAGS, "Name": "orders-db"}
    (change,) = ctx.changes
    assert change["args"]["DBInstanceClass"] == "db.r6g.large" and change["args"]["SourceRegion"] == PRIMARY


def test_an_encrypted_pair_needs_a_kms_key_in_each_region_a_replica_is_created_in(aws, make_ctx):
    """INSTANTIATE (createReplica) creates the replica in the region moved to, REPLICATE one in the region left:
    of an encrypted primary, AWS refuses either without an enabled KMS key of that region."""
    keys = {r: aws.client("kms", region_name=r).create_key()["KeyMetadata"]["Arn"] for r in (PRIMARY, DR)}
    seed(aws, replica=False, kms_keys=(keys[PRIMARY], keys[DR]))
    ctx = make_ctx("failover")

    def problem(**config):
        (finding,) = adapter.preflight(ctx, unit_for(createReplica=True, **config))
        return finding.message if not finding.ok else None

    assert problem() == (f"drKmsKeyId is not set in {DR}: INSTANTIATE creates an encrypted replica there -- set "
                         f"drKmsKeyId to an enabled KMS key of {DR}; kmsKeyId is not set in {PRIMARY}: REPLICATE "
                         f"creates an encrypted replica there -- set kmsKeyId to an enabled KMS key of {PRIMARY}")
    # a key of the other region is no key of this one
    assert problem(kmsKeyId=keys[PRIMARY], drKmsKeyId=keys[PRIMARY]).startswith(
        f"drKmsKeyId {keys[PRIMARY]} does not exist in {DR}: INSTANTIATE")
    aws.client("kms", region_name=PRIMARY).disable_key(KeyId=keys[PRIMARY].split("/")[-1])  # moto takes the id only
    assert problem(kmsKeyId=keys[PRIMARY], drKmsKeyId=keys[DR]).startswith(f"kmsKeyId {keys[PRIMARY]} is Disabled in "
                                                                          f"{PRIMARY}: REPLICATE")
    with pytest.raises(Exception, match="InvalidParameterCombination"):  # what INSTANTIATE meets without preflight
        converge(adapter, Phase.INSTANTIATE, ctx, unit_for(createReplica=True))
    assert instances(aws, DR) == {}

    aws.client("kms", region_name=PRIMARY).enable_key(KeyId=keys[PRIMARY].split("/")[-1])
    assert problem(kmsKeyId=keys[PRIMARY], drKmsKeyId=keys[DR]) is None
    run(ctx, unit_for(createReplica=True, kmsKeyId=keys[PRIMARY], drKmsKeyId=keys[DR]), [Phase.INSTANTIATE])
    assert instances(aws, DR) == {"orders-b": ("available", "orders-a")}


def test_two_standalone_instances_are_ambiguous_and_nothing_is_stopped(aws, make_ctx):
    seed(aws, replica=False)
    seed_rds_pair(aws, DR, "orders-b", PRIMARY, "unused", TAGS, replica=False)  # restored by hand, say
    unit = unit_for(cleanup="stop")
    (finding,) = adapter.preflight(make_ctx("failover"), unit)
    assert not finding.ok and "both standalone" in finding.message
    with pytest.raises(AdapterError, match="not the writer") as refused:
        converge(adapter, Phase.CLEANUP, make_ctx("failover"), unit)
    assert MARK in refused.value.remediation
    assert instances(aws, PRIMARY)["orders-a"] == ("available", "")


def test_cleanup_refuses_to_stop_an_old_primary_with_other_replicas(estate, make_ctx):
    estate.client("rds", region_name=PRIMARY).create_db_instance_read_replica(
        DBInstanceIdentifier="orders-a-reporting", SourceDBInstanceIdentifier="orders-a", Tags=[])
    unit = unit_for(cleanup="stop")
    ctx = run(make_ctx("failover"), unit, [Phase.ACTIVATE])
    with pytest.raises(AdapterError, match="orders-a-reporting"):
        converge(adapter, Phase.CLEANUP, ctx, unit)


def test_replicate_before_activate_is_an_error(estate, make_ctx):
    with pytest.raises(AdapterError, match="not the writer"):
        converge(adapter, Phase.REPLICATE, make_ctx("failover"), unit_for())


def test_activate_waits_for_the_promotion_with_our_waiter(estate, make_ctx, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    ctx = make_ctx("failover")
    outcomes = converge(adapter, Phase.ACTIVATE, ctx, unit_for(), delay=0.1)
    assert [w.waiter for w in outcomes[0].waits] == ["DBInstancePromoted"]
    assert outcomes[-1].done and instances(estate, DR) == {"orders-b": ("available", "")}
    assert len(ctx.changes) == 2  # re-entering while modifying made no second promotion


def test_config_refuses_identifiers_rds_would():
    with pytest.raises(ValueError, match="at most 63"):
        RdsConfig.model_validate({"dbInstanceIdentifier": "a" * 62, "drDbInstanceIdentifier": "b"})
    with pytest.raises(ValueError, match="must differ"):
        RdsConfig.model_validate({"dbInstanceIdentifier": "x", "drDbInstanceIdentifier": "y", "alternateIdentifier": "X"})
    ok = RdsConfig.model_validate({"dbInstanceIdentifier": "a" * 62, "drDbInstanceIdentifier": "b",
                                   "alternateIdentifier": "a2"})
    assert ok.ids(primary=True) == ("a" * 62, "a2") and ok.ids(primary=False) == ("b", "b-alt")


def _found(session, region, identifier):
    found = session.client("rds", region_name=region).describe_db_instances(DBInstanceIdentifier=identifier)
    i = found["DBInstances"][0]
    return Tagged(i["DBInstanceArn"], ACCOUNT, region, "rds:db", {t["Key"]: t["Value"] for t in i["TagList"]})


def _read(session):
    return DiscoveryRead(lambda service, region: session.client(service, region_name=region), ACCOUNT, PRIMARY, DR)


def test_discovery_names_the_pair_whichever_instance_is_tagged_even_after_a_round_trip(estate, make_ctx):
    run(make_ctx("failover"), unit_for(cleanup="stop"))
    run(make_ctx("failback"), unit_for(cleanup="stop"))
    found = [_found(estate, region, i) for region, ids in ((PRIMARY, ("orders-a", "orders-a-alt")),
                                                           (DR, ("orders-b", "orders-b-alt"))) for i in ids]
    derived = adapter.derive(found, _read(estate))
    assert {d.identity for d in derived} == {f"rds/{ACCOUNT}/orders-a"}
    assert {tuple(sorted(d.config.items())) for d in derived} == {
        (("dbInstanceIdentifier", "orders-a"), ("drDbInstanceIdentifier", "orders-b"))}
    assert [d.secondary for d in derived] == [True, False, True, True]  # the serving primary's tags win


def test_discovery_leaves_out_aurora_members_and_unreplicated_instances(aws):
    rds = aws.client("rds", region_name=PRIMARY)
    rds.create_db_cluster(DBClusterIdentifier="c1", Engine="aurora-mysql", MasterUsername="admin",
                          MasterUserPassword="not-a-real-password")
    rds.create_db_instance(DBInstanceIdentifier="c1-1", DBClusterIdentifier="c1", Engine="aurora-mysql",
                           DBInstanceClass="db.r6g.large")
    seed(aws, replica=False)
    seed_rds_pair(aws, PRIMARY, "pilot-a", DR, "pilot-b", {**TAGS, "dr:dr-db-instance-identifier": "pilot-b"},
                  replica=False)
    found = [_found(aws, PRIMARY, i) for i in ("c1-1", "orders-a", "pilot-a")]
    aurora_member, lonely, pilot = adapter.derive(found, _read(aws))
    assert "Aurora cluster c1" in aurora_member.message
    assert "no cross-region read replica" in lonely.message
    assert pilot.config == {"dbInstanceIdentifier": "pilot-a", "drDbInstanceIdentifier": "pilot-b"}


def test_dof_payloads_of_an_rds_replica_become_one_entry():
    """The DR Orchestrator Framework's PromoteRDSReadReplica (failover) and CreateRDSReadReplica (failback)
    of one DR instance are one RDS entry; the primary-region instance it never names is a placeholder."""
    import json
    from pathlib import Path

    from dr_adapters.sources import dof
    from dr_adapters.sources.loader import validate_data

    folder = Path(__file__).resolve().parents[1] / "fixtures" / "dof"
    payloads = [(n, json.loads((folder / n).read_text())) for n in ("failover-planned.json", "failback.json")]
    imported = dof.import_payloads(payloads, customer="initech", environment="production", primary=PRIMARY, dr=DR)
    (entry,) = [r for layer in imported.manifest["layers"] for r in layer["resources"] if r["action"] == "RDS"]
    assert entry["config"] == {
        "drDbInstanceIdentifier": "!Import rds-mysql-instance-identifier",
        "alternateIdentifier": "!Import rds-mysql-instance-identifier-null",
        "replicaInstanceClass": "!Import rds-mysql-instance-DBInstanceClass",
        "kmsKeyId": "!Import rds-mysql-instance-KmsKeyId",
        "dbInstanceIdentifier": f"<fill: the DB instance in {PRIMARY} that the DR replica replicates from>"}
    assert not [p for p in imported.problems if "RDSReadReplica' has no equivalent" in p]
    assert any(".parameters.TargetClusterIdentifier (PromoteRDSReadReplica): no config key of RDS" in u
               for u in imported.unmapped)
    entry["config"] = {**entry["config"], "dbInstanceIdentifier": "orders-a", "drDbInstanceIdentifier": "orders-b",
                       "alternateIdentifier": "orders-a2", "replicaInstanceClass": "db.r6g.large", "kmsKeyId": "alias/x"}
    only_rds = {**imported.manifest, "layers": [{"layerId": "layer-1", "priority": 1, "resources": [entry]}]}
    config = validate_data(only_rds, "imported.yaml").layers[0].resources[0].config
    assert config.ids(primary=True) == ("orders-a", "orders-a2")
