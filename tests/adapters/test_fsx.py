"""FSx (backup restore): what is specific to it beyond the contract (tests/adapters/test_contract.py).

Every assertion reads AWS (the simulator) back: the file systems and backups that exist, their lifecycles and
tags; never the adapter's own account of what it did.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from awssim.fsx_backups import backend_of
from awssim.kits import PRIMARY as PRIMARY_SIDE

from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.discovery import DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.types import Health, Phase
from dr_adapters.report.build import build_report
from dr_adapters.report.records import TaskRecord
from mini_estate import DR, HUB, PRIMARY, mini_estate, units_of

DRILL_TAG, RESTORE_TEST_TAG, RETIRED_TAG = "dr:drill-of", "dr:restore-test", "dr:retired"
LINEAGE_TAG, RESTORED_FROM_TAG = "dr:protected-file-system", "dr:restored-from"


def now():
    return datetime.now(timezone.utc).isoformat()


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def file_systems(mini, account, region):
    return mini.estate.session(account).client("fsx", region_name=region).describe_file_systems()["FileSystems"]


def backups(mini, account, region):
    return mini.estate.session(account).client("fsx", region_name=region).describe_backups()["Backups"]


def every_file_system(mini):
    return [(account, region, fs) for account in mini.estate.accounts() for region in (PRIMARY, DR)
            for fs in file_systems(mini, account, region)]


def test_a_drill_restores_a_throwaway_file_system_records_its_restore_time_and_leaves_none(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.4")  # a restore that takes time, so its time is measurable
    mini = mini_estate("FSx")
    before = {(a, r, fs["FileSystemId"]): (fs["Lifecycle"], tags_of(fs)) for a, r, fs in every_file_system(mini)}
    ctx = mini.ctx("drill")
    mini.drive(ctx, steps=("preflight", Phase.INSTANTIATE, Phase.ACTIVATE))

    for unit in mini.units:  # restored, in the DR subnets, beside the untouched original
        config = unit.resources[0].config
        (drill,) = [fs for fs in file_systems(mini, unit.account_id, DR) if DRILL_TAG in tags_of(fs)]
        assert drill["Lifecycle"] == "AVAILABLE" and drill["SubnetIds"] == config["drSubnetIds"]
        assert tags_of(drill)[DRILL_TAG] == config["fileSystemId"] and "dr:enabled" not in tags_of(drill)
        assert drill[{2: "WindowsConfiguration", 1: "OpenZFSConfiguration"}[len(config["drSubnetIds"])]][
            "AutomaticBackupRetentionDays"] == 0  # a throw-away file system takes no backups
    health = [h for u in mini.units for h in mini.adapter.validate(ctx, u)]
    assert {h.status for h in health} == {Health.HEALTHY}
    assert all("took" in h.reason and "creation to AVAILABLE" in h.reason for h in health), health
    # VALIDATE's health is what the run report lists per unit: the restore time reaches the drill's report
    records = [TaskRecord(task=f"validate-{u.unit_id}", phase="VALIDATE", wave=1, unit_id=u.unit_id, action="FSx",
                          account_id=u.account_id, resource_ids=u.resource_ids, started_at=now(), ended_at=now(),
                          outcome="succeeded", health=[h.to_dict() for h in mini.adapter.validate(ctx, u)])
               for u in mini.units]
    report = build_report(mini.plan, run_id="drill", operation="drill", dry_run=False, run_started_at=now(),
                          preflight=None, records=records, gates=[], failed_tasks=[], ended_at=now())
    reported = [c["reason"] for u in report["waves"][0]["phases"]["VALIDATE"]["units"] for c in u["health"]]
    assert len(reported) == 2 and all(re.search(r"took \d+\.\d s \(creation to AVAILABLE\)", r) for r in reported)
    mini.drive(ctx, steps=(Phase.CLEANUP, Phase.REPLICATE))

    assert mini.kit.leftovers(mini.estate) == []
    after = {(a, r, fs["FileSystemId"]): (fs["Lifecycle"], tags_of(fs)) for a, r, fs in every_file_system(mini)}
    assert after == before  # no drill file system left, nothing serving touched
    for unit in mini.units:  # the restore time stays on the backup it proved restorable
        restored = [b for b in backups(mini, unit.account_id, DR) if RESTORE_TEST_TAG in tags_of(b)]
        assert len(restored) == 1
        seconds, _, rest = tags_of(restored[0])[RESTORE_TEST_TAG].partition("s to AVAILABLE at ")
        assert 0.4 <= float(seconds) < 30 and rest.endswith("run contract-drill")
        assert not [b for b in backups(mini, unit.account_id, DR) if DRILL_TAG in tags_of(b)]  # no final backup


def test_a_backup_older_than_the_rpo_is_refused_by_name_and_nothing_is_restored(aws):
    mini = mini_estate("FSx")
    unit = mini.units[0]
    (copy,) = backups(mini, unit.account_id, DR)
    backend_of(HUB, DR).age_backup(copy["BackupId"], 2 * 3600)  # two hours old, the RPO is 30 minutes
    ctx = mini.ctx("failover", unplanned=True)
    for phase in (Phase.INSTANTIATE, Phase.ACTIVATE):
        with pytest.raises(AdapterError, match=rf"{copy['BackupId']} .* is 2 h 0 min old, beyond the RPO of 30 min"):
            mini.adapter.run_phase(phase, ctx, unit)
    assert [f for f in mini.adapter.preflight(ctx, unit) if not f.ok and "beyond the RPO" in f.message]
    assert file_systems(mini, unit.account_id, DR) == []
    # the resource's own RPO, where the loss is accepted
    accepting = units_of("FSx", [{"resourceId": "fs-0", "action": "FSx",
                                  "config": {**unit.resources[0].config, "rpoMinutes": 180}}])
    mini.run(ctx, [Phase.INSTANTIATE, Phase.ACTIVATE], accepting)
    (restored,) = file_systems(mini, unit.account_id, DR)
    assert tags_of(restored)[RESTORED_FROM_TAG] == copy["BackupId"] and restored["Lifecycle"] == "AVAILABLE"


def test_a_planned_failover_restores_a_final_backup_copied_across_and_copies_one_back(aws):
    mini = mini_estate("FSx")
    unit = mini.units[0]
    original = unit.resources[0].config["fileSystemId"]
    seeded = {b["BackupId"] for b in backups(mini, None, DR)}
    mini.drive(mini.ctx("failover"), [unit])

    (restored,) = [fs for fs in file_systems(mini, None, DR) if fs["Lifecycle"] == "AVAILABLE"]
    tags = tags_of(restored)
    assert tags[LINEAGE_TAG] == original and tags["Customer"] == "globex" and tags["dr:enabled"] == "true"
    (copy,) = [b for b in backups(mini, None, DR) if b["BackupId"] == tags[RESTORED_FROM_TAG]]
    assert copy["BackupId"] not in seeded and copy["SourceBackupRegion"] == PRIMARY  # this run's final backup
    (final,) = [b for b in backups(mini, None, PRIMARY) if b["BackupId"] == copy["SourceBackupId"]]
    assert final["FileSystem"]["FileSystemId"] == original and tags_of(final)["dr:run-id"] == "contract-failover"
    # CLEANUP retired the original (left running); REPLICATE copied a backup of the restored one back
    (left,) = file_systems(mini, None, PRIMARY)
    assert left["Lifecycle"] == "AVAILABLE" and tags_of(left)[RETIRED_TAG] == "contract-failover"
    back = [b for b in backups(mini, None, PRIMARY) if b.get("SourceBackupRegion") == DR]
    assert [b["FileSystem"]["FileSystemId"] for b in back] == [restored["FileSystemId"]]
    assert back[0]["Lifecycle"] == "AVAILABLE" and tags_of(back[0])[LINEAGE_TAG] == original


def test_cleanup_deletes_the_file_system_left_with_a_final_backup_only_when_configured(aws):
    mini = mini_estate("FSx")
    resource = mini.units[0].resources[0]
    (unit,) = units_of("FSx", [{"resourceId": "fs-0", "action": "FSx",
                                "config": {**resource.config, "sourceFileSystemAction": "delete"}}])
    ctx = mini.ctx("failover")
    with pytest.raises(AdapterError, match="nothing restored is AVAILABLE"):  # never before a restore serves
        mini.adapter.run_phase(Phase.CLEANUP, ctx, unit)
    for phase in (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP):
        converge(mini.adapter, phase, ctx, unit, delay=0)
    assert file_systems(mini, None, PRIMARY) == []
    finals = [b for b in backups(mini, None, PRIMARY) if tags_of(b).get("dr:run-id") == "contract-failover"
              and b["FileSystem"]["FileSystemId"] == resource.config["fileSystemId"]]
    assert len(finals) == 2  # ACTIVATE's final backup, and the one DeleteFileSystem took
    assert all(tags_of(b)[LINEAGE_TAG] == resource.config["fileSystemId"] for b in finals)
    assert mini.kit.serves_in(mini.estate, resource, "dr")


def test_a_restore_that_fails_is_named_and_a_drill_still_cleans_it_up(aws):
    mini = mini_estate("FSx")
    unit = mini.units[0]
    ctx = mini.ctx("drill")
    converge(mini.adapter, Phase.INSTANTIATE, ctx, unit, delay=0)
    first = mini.adapter.run_phase(Phase.ACTIVATE, ctx, unit)  # the restore starts
    (drill,) = [fs for fs in file_systems(mini, None, DR) if DRILL_TAG in tags_of(fs)]
    backend_of(HUB, DR).fail_file_system(drill["FileSystemId"], "the Active Directory could not be reached")
    assert first.waits
    with pytest.raises(AdapterError, match=rf"drill: backup {tags_of(drill)[RESTORED_FROM_TAG]} restored into "
                                           rf"{drill['FileSystemId']} .* FAILED: the Active Directory"):
        mini.adapter.run_phase(Phase.ACTIVATE, ctx, unit)
    assert "Active Directory" in mini.adapter.explain_failure(ctx, unit)
    assert [h.status for h in mini.adapter.validate(ctx, unit)] == [Health.UNHEALTHY]
    converge(mini.adapter, Phase.CLEANUP, ctx, unit, delay=0)
    assert mini.kit.leftovers(mini.estate) == []


def test_preflight_names_subnets_that_do_not_fit_the_backup_s_deployment(aws):
    mini = mini_estate("FSx")
    resource = mini.units[0].resources[0]  # Windows Multi-AZ: two subnets
    (unit,) = units_of("FSx", [{"resourceId": "fs-0", "action": "FSx",
                                "config": {**resource.config, "drSubnetIds": resource.config["drSubnetIds"][:1]}}])
    bad = [f for f in mini.adapter.preflight(mini.ctx("failover"), unit) if not f.ok]
    assert [f.message for f in bad] == [
        "drSubnetIds lists 1 subnet(s); a MULTI_AZ_1 file system takes 2 -- fix the subnets in the manifest"]


def test_failover_and_failback_each_restore_and_retire_and_the_primary_serves_again(aws):
    mini = mini_estate("FSx")
    mini.drive(mini.ctx("failover"))
    mini.drive(mini.ctx("failback"))
    assert set(mini.sides().values()) == {PRIMARY_SIDE}
    for unit in mini.units:
        primary = file_systems(mini, unit.account_id, PRIMARY)
        dr = file_systems(mini, unit.account_id, DR)
        # the original and the failover's restore are retired, left running; the failback's restore serves
        assert sorted(tags_of(fs).get(RETIRED_TAG, "serving") for fs in primary) == ["contract-failover", "serving"]
        assert [tags_of(fs)[RETIRED_TAG] for fs in dr] == ["contract-failback"]


def test_discovery_says_what_a_tagged_file_system_lacks(aws):
    mini = mini_estate("FSx")
    resource = mini.units[0].resources[0]
    (fs,) = file_systems(mini, None, PRIMARY)
    tags = {k: v for k, v in tags_of(fs).items() if k != "dr:dr-subnet-ids"}
    read = DiscoveryRead(lambda service, region: mini.estate.session(None).client(service, region_name=region),
                         HUB, PRIMARY, DR)
    (derived,) = mini.adapter.derive([Tagged(fs["ResourceARN"], HUB, PRIMARY, "fsx:file-system", tags)], read)
    assert isinstance(derived, NotDerived) and "dr:dr-subnet-ids" in derived.message
    (derived,) = mini.adapter.derive([Tagged(fs["ResourceARN"], HUB, PRIMARY, "fsx:file-system", tags_of(fs))], read)
    assert derived.config == {"fileSystemId": resource.config["fileSystemId"],
                              "subnetIds": resource.config["subnetIds"]}


def test_a_drill_cleanup_waits_for_a_restore_still_being_created_then_deletes_it(aws, monkeypatch):
    mini = mini_estate("FSx")
    unit, ctx = mini.units[0], mini.ctx("drill")
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "60")  # the restore outlasts the test: FSx refuses to delete it
    mini.adapter.run_phase(Phase.ACTIVATE, ctx, unit)
    ctx.changes.clear()
    waiting = mini.adapter.run_phase(Phase.CLEANUP, ctx, unit)
    assert [w.waiter for w in waiting.waits] == ["FileSystemAvailable"] and ctx.changes == []
    (drill,) = [fs for fs in file_systems(mini, unit.account_id, DR) if DRILL_TAG in tags_of(fs)]
    assert drill["Lifecycle"] == "CREATING"
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")
    backend_of(HUB, DR).file_systems[drill["FileSystemId"]].due = 0  # created at last
    converge(mini.adapter, Phase.CLEANUP, ctx, unit, delay=0)
    assert mini.kit.leftovers(mini.estate) == []
