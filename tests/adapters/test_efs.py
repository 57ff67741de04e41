"""EFS replication adapter: what only an EFS pair has (the replica made writable by deleting the replication
configuration from its own region, the way back into the existing old primary with its overwrite protection
handled, the last sync against the RPO, the orphaned configuration an unplanned failover leaves behind).

The contract every adapter keeps (end state, round trip, idempotency, drill, dry run, spoke, scope, faults,
least privilege, discovery of the mini-estate) is proven in test_contract.py on the EFS kit's mini-estate.
"""

from __future__ import annotations

import dataclasses

import pytest
from awssim import efs_replication, outage
from awssim.kits.efs import seed_efs_pair

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.discovery import DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.efs import EfsAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase

PRIMARY, DR, ACCOUNT = "us-east-1", "us-west-2", "123456789012"
A, B = "fs-0a0a0a0a00000001", "fs-0b0b0b0b00000002"
TAGS = {"Customer": "acme", "Environment": "production"}
adapter = EfsAdapter()


def unit_for(**config):
    spec = ResourceSpec("shared-files", "EFS", {"fileSystemId": A, "drFileSystemId": B, **config})
    return WorkUnit("efs-files", "EFS", None, (spec,))


@pytest.fixture
def estate(aws):
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS)
    return aws


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)
    return ctx


def protections(session):
    return {region: session.client("efs", region_name=region).describe_file_systems(FileSystemId=fs)["FileSystems"][0][
        "FileSystemProtection"]["ReplicationOverwriteProtection"] for region, fs in ((PRIMARY, A), (DR, B))}


def replication(session, region, fs_id):
    """(source, destination, status) of the configuration ``fs_id`` is part of, as its region holds it."""
    efs = session.client("efs", region_name=region)
    try:
        rep = efs.describe_replication_configurations(FileSystemId=fs_id)["Replications"][0]
    except efs.exceptions.ReplicationNotFound:
        return None
    return rep["SourceFileSystemId"], rep["Destinations"][0]["FileSystemId"], rep["Destinations"][0]["Status"]


def unplanned(ctx):
    return dataclasses.replace(ctx, unplanned=True)


def test_failover_makes_the_replica_writable_then_replicates_back_into_the_old_primary(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for()
    target, source = adapter.preflight(ctx, unit)
    assert target.ok and target.tags == TAGS and "last sync" in target.message and source.ok

    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert protections(estate) == {PRIMARY: "ENABLED", DR: "ENABLED"}  # both writable until REPLICATE
    assert replication(estate, PRIMARY, A) is None and replication(estate, DR, B) is None  # both sides deleted
    assert [h.status for h in adapter.validate(ctx, unit)] == [Health.HEALTHY]

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert [(c["operation"], c["region"], c["args"]) for c in ctx.changes] == [
        ("delete_replication_configuration", DR, {"SourceFileSystemId": A, "DeletionMode": "ALL_CONFIGURATIONS"}),
        ("update_file_system_protection", PRIMARY, {"FileSystemId": A, "ReplicationOverwriteProtection": "DISABLED"}),
        ("create_replication_configuration", DR, {"SourceFileSystemId": B,
                                                  "Destinations": [{"Region": PRIMARY, "FileSystemId": A}]})]
    assert protections(estate) == {PRIMARY: "REPLICATING", DR: "ENABLED"}
    assert replication(estate, PRIMARY, A) == replication(estate, DR, B) == (B, A, "ENABLED")
    assert set(calls) <= set(adapter.iam_actions)

    back = run(make_ctx("failback"), unit)  # the same, the other way round: the starting roles and ids
    assert [c["operation"] for c in back.changes] == ["delete_replication_configuration",
                                                      "update_file_system_protection", "create_replication_configuration"]
    assert protections(estate) == {PRIMARY: "ENABLED", DR: "REPLICATING"}
    assert replication(estate, DR, B) == (A, B, "ENABLED")


def test_a_planned_failover_refuses_a_replica_older_than_the_rpo_and_rpo_minutes_overrides_it(estate, make_ctx):
    efs_replication.stall(ACCOUNT, DR, B, 45 * 60)  # last sync 45 minutes ago; the manifest's RPO is 30
    ctx, calls = recorded(make_ctx("failover"))
    target, _ = adapter.preflight(ctx, unit_for())
    assert not target.ok and "exceeds RPO of 30 min" in target.message
    with pytest.raises(AdapterError, match="exceeds RPO") as refused:
        run(ctx, unit_for(), [Phase.ACTIVATE])
    assert "failover_mode=unplanned" in refused.value.remediation
    assert calls.mutating == [] and protections(estate)[DR] == "REPLICATING"

    relaxed = unit_for(rpoMinutes=60)  # this file system's own target
    assert all(f.ok for f in adapter.preflight(ctx, relaxed))
    run(ctx, relaxed, [Phase.ACTIVATE])
    assert protections(estate)[DR] == "ENABLED"


def test_unplanned_failover_deletes_the_dr_side_only_and_reprotect_clears_the_orphan(estate, make_ctx):
    ctx, calls = recorded(unplanned(make_ctx("failover")))
    unit = unit_for()
    with outage.outage(PRIMARY):
        target, source = adapter.preflight(ctx, unit)
        assert target.ok and target.exposure and "last sync" in target.exposure
        assert source.ok and "not read" in source.message
        run(ctx, unit)  # CLEANUP and REPLICATE deferred to reprotect
    assert [c.region for c in calls] == [DR] * len(calls)
    assert [(c["operation"], c["args"]["DeletionMode"]) for c in ctx.changes] == [
        ("delete_replication_configuration", "LOCAL_CONFIGURATION_ONLY")]
    assert protections(estate)[DR] == "ENABLED"
    assert replication(estate, PRIMARY, A) == (A, B, "ERROR")  # what the dark region kept: orphaned

    reprotect = run(make_ctx("failover"), unit, [Phase.CLEANUP, Phase.REPLICATE])  # the region is back
    assert [(c["operation"], c["region"]) for c in reprotect.changes] == [
        ("delete_replication_configuration", PRIMARY), ("update_file_system_protection", PRIMARY),
        ("create_replication_configuration", DR)]
    assert reprotect.changes[0]["args"] == {"SourceFileSystemId": A, "DeletionMode": "LOCAL_CONFIGURATION_ONLY"}
    assert replication(estate, PRIMARY, A) == (B, A, "ENABLED")
    assert protections(estate) == {PRIMARY: "REPLICATING", DR: "ENABLED"}


def test_a_drill_refuses_a_paused_replication_and_changes_nothing(estate, make_ctx):
    efs_replication.set_status(ACCOUNT, DR, B, "PAUSED", "The destination Region was opted out")
    ctx, calls = recorded(make_ctx("drill"))
    target, _ = adapter.preflight(ctx, unit_for())
    assert not target.ok and "PAUSED" in target.message and "opted out" in target.message
    with pytest.raises(AdapterError, match="not ENABLED"):
        run(ctx, unit_for(), [Phase.ACTIVATE])
    assert [h.status for h in adapter.validate(ctx, unit_for())] == [Health.UNHEALTHY]
    assert calls.mutating == [] and protections(estate) == {PRIMARY: "ENABLED", DR: "REPLICATING"}


def test_a_read_only_target_that_replicates_nothing_is_served_only_in_an_unplanned_run(aws, make_ctx):
    # an earlier REPLICATE into B stopped half-way: protection DISABLED, no replication configuration
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS, replicate=False)
    aws.client("efs", region_name=DR).update_file_system_protection(FileSystemId=B,
                                                                    ReplicationOverwriteProtection="DISABLED")
    planned = make_ctx("failover")
    assert not adapter.preflight(planned, unit_for())[0].ok
    with pytest.raises(AdapterError, match="holds no replica") as refused:
        run(planned, unit_for(), [Phase.ACTIVATE])
    assert "reprotect" in refused.value.remediation
    ctx = run(unplanned(make_ctx("failover")), unit_for(), [Phase.ACTIVATE])
    assert [c["operation"] for c in ctx.changes] == ["update_file_system_protection"]
    assert protections(aws)[DR] == "ENABLED"


def test_replicate_finishes_a_way_back_that_stopped_half_way(estate, make_ctx):
    run(make_ctx("failover"), unit_for(), [Phase.ACTIVATE])
    aws_a = estate.client("efs", region_name=PRIMARY)
    aws_a.update_file_system_protection(FileSystemId=A, ReplicationOverwriteProtection="DISABLED")  # then it stopped
    ctx = run(make_ctx("failover"), unit_for(), [Phase.REPLICATE])
    assert [c["operation"] for c in ctx.changes] == ["create_replication_configuration"]
    assert replication(estate, DR, B) == (B, A, "ENABLED")


def test_replicate_names_the_fix_when_the_old_primary_is_gone(estate, make_ctx):
    run(make_ctx("failover"), unit_for(), [Phase.ACTIVATE])
    estate.client("efs", region_name=PRIMARY).delete_file_system(FileSystemId=A)
    with pytest.raises(AdapterError, match="no longer exists") as refused:
        run(make_ctx("failover"), unit_for(), [Phase.REPLICATE])
    assert "new file system" in refused.value.remediation


def test_discovery_names_one_pair_whichever_side_is_tagged_and_whichever_way_it_replicates(estate, make_ctx):
    arn = "arn:aws:elasticfilesystem:{}:" + ACCOUNT + ":file-system/{}"
    lone = estate.client("efs", region_name=PRIMARY).create_file_system(CreationToken="lone")["FileSystemId"]
    found = [Tagged(arn.format(PRIMARY, A), ACCOUNT, PRIMARY, "elasticfilesystem:file-system", TAGS),
             Tagged(arn.format(DR, B), ACCOUNT, DR, "elasticfilesystem:file-system", TAGS),
             Tagged(arn.format(PRIMARY, lone), ACCOUNT, PRIMARY, "elasticfilesystem:file-system", TAGS)]
    read = DiscoveryRead(lambda service, region: estate.client(service, region_name=region), ACCOUNT, PRIMARY, DR)
    config = {"fileSystemId": A, "drFileSystemId": B}

    first, second, third = adapter.derive(found, read)
    assert (first.config, first.secondary, second.config, second.secondary) == (config, False, config, True)
    assert first.identity == second.identity == adapter.identity(config, ACCOUNT)
    assert isinstance(third, NotDerived) and "not replicated" in third.message

    run(make_ctx("failover"), unit_for())  # DR now replicates into the primary: the same pair
    with outage.outage(DR):  # and with a region dark, the other's listing names it
        assert [d.config for d in adapter.derive(found[:1], read)] == [config]
