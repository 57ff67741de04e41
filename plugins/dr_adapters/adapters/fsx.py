"""Amazon FSx, backup-based ("backup restore", PRD Appendix B): restore the newest backup copy in the region moved to.

FSx (Windows File Server, Lustre, OpenZFS) has no cross-region replica to promote: its DR mechanism is a
backup copied to the other region (``CopyBackup``, or an AWS Backup copy rule) and restored there as a *new*
file system (``CreateFileSystemFromBackup``). So a failover, and a failback, each create a file system; the
manifest names the protected one (``fileSystemId``, in the primary region) and every file system this
adapter restores carries ``dr:protected-file-system=<that id>``: together they are its *lineage*. The lineage's
*serving* file system in a region is one not tagged ``dr:retired`` and not being deleted. A backup belongs to
the lineage when it is of the named file system or carries the tag (our backups, and copies made with
``CopyTags``, carry it). The config and the lineage as read from AWS are in ``adapters/fsx_lineage.py``.
Per phase, on a failover (a failback is the same with the regions swapped):

* INSTANTIATE finds the newest AVAILABLE backup of the lineage in the target region and checks that its
  age (``CreationTime``; a copy's is when it was copied, so copy right after backing up, as an AWS Backup
  copy rule and REPLICATE do) is within the RPO (``rpoMinutes``, else the plan's): an error naming the
  backup and its age otherwise. It changes nothing (FSx has nothing to prewarm).
* ACTIVATE restores it into the target region (``CreateFileSystemFromBackup`` into the configured subnets
  and security groups, the backup's type, capacity and settings, ``storageType`` if set) and waits until
  the file system is AVAILABLE. On a *planned* run with ``finalBackup`` (the default) it first backs up the
  serving file system (``CreateBackup``) and copies that backup across (``CopyBackup``, called in the target
  region as AWS has it), then restores that copy: nothing written before ACTIVATE is lost (stop the writers
  before this wave, e.g. with a ManualStep). Idempotent: the restored file system is found again by its
  lineage tag, and every create call carries a ``ClientRequestToken`` derived from the run, the resource and
  its input, so a retry whose reply was lost creates nothing more.
* CLEANUP never deletes the file system left unless configured (``sourceFileSystemAction: delete``, with
  the final backup the type takes); by default it tags it ``dr:retired`` (nothing later restores it, backs
  it up or counts it as serving) and leaves it running for the owner to decide. It refuses while nothing
  restored is AVAILABLE in the target region.
* REPLICATE backs up the restored file system and copies the backup into the region left, so a failback
  (or the next drill of the way back) has a fresh copy to restore.

Where this follows AWS rather than the seeds (SRS SI-2.12 lists ``RestoreVolumeFromSnapshot`` and
``UpdateFileSystem``): those roll a volume back in place, in one region; a regional failover needs a file
system in the other region, and FSx makes one only from a backup there. PRD Appendix B calls FSx
"REPLICATE only"; the SRS gives it all four phases, as here. ONTAP is not covered: its backups are volume
backups and its cross-region DR is SnapMirror (preflight says so).

Drill: a real restore test, which no backup schedule alone proves. INSTANTIATE checks the newest copy against
the RPO; ACTIVATE restores it into a throw-away file system (tagged ``dr:drill-of``, no ``dr:enabled``, no
automatic backups), waits until AVAILABLE and checks it (type, capacity, subnets, DNS name, network
interfaces); the restore time (creation to AVAILABLE, as first observed: at most one poll late) goes into
the notes, VALIDATE's health (so the report), and a ``dr:restore-test`` tag on the backup it restored (the
durable record in AWS of when that backup was last proven restorable); CLEANUP deletes every drill file
system of the resource, without a final backup, and waits until it is gone. Nothing serving is touched.

Unplanned (the source region dark): the newest copy already in the target region is restored, nothing is
read in the source region; the copy's age is the data-loss exposure. CLEANUP and REPLICATE wait for
``operation=reprotect``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dr_adapters.adapters.base import (
    Adapter,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    ServiceSide,
    Wait,
    source_finding,
)
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.fsx_lineage import (
    BROKEN, BUSY, DRILL_TAG, LINEAGE_TAG, RESTORE_TEST_TAG, RESTORED_FROM_TAG, RETIRED_TAG, RUN_TAG, SETTINGS_KEY,
    FsxConfig, Lineage, ago, age_of, carried, failure_of, is_serving, listed, newest, of_lineage, read_lineages,
    resolve_lineages, restorable, tag_list, tag_value, tags_of, token)
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.types import Health, Phase


class FsxAdapter(Adapter):
    # ACTIVATE the other way would restore yet another file system in the old region, which still serves:
    # a rollback only retires the one the run restored (CLEANUP the other way).
    rollback_phases = (Phase.CLEANUP,)
    actions = ("FSx",)
    config_model = FsxConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    drill_behaviour = (
        "Restores the newest backup copy in the DR region into a throw-away file system (dr:drill-of), checks it "
        "AVAILABLE and reachable, records the restore time (notes, health, a dr:restore-test tag on the backup), "
        "and deletes it in CLEANUP without a final backup; nothing serving is touched."
    )
    unplanned_behaviour = (
        "restores the newest backup copy already in the target region (no final backup, nothing read in the source "
        "region; the copy's age is the data-loss exposure); CLEANUP (retire the file system left) and REPLICATE "
        "(copy a backup back) wait for reprotect"
    )
    phase_summaries = {
        Phase.INSTANTIATE: "Find the newest AVAILABLE backup copy in the target region; error if older than the RPO.",
        Phase.ACTIVATE: "Planned: back up the serving file system and CopyBackup it across; CreateFileSystemFromBackup "
                        "in the target region; wait until AVAILABLE.",
        Phase.CLEANUP: "Tag the file system left dr:retired (or delete it with a final backup: "
                       "sourceFileSystemAction).",
        Phase.REPLICATE: "CreateBackup of the restored file system, CopyBackup into the region left, wait until "
                         "AVAILABLE.",
    }
    iam_actions = (
        "fsx:DescribeFileSystems",  # waiters FileSystemAvailable and FileSystemDeleted too
        "fsx:DescribeBackups",  # waiter BackupAvailable too
        "fsx:CreateBackup",
        "fsx:CopyBackup",
        "fsx:CreateFileSystemFromBackup",
        "fsx:DeleteFileSystem",
        "fsx:TagResource",  # also what tags given to CreateBackup, CopyBackup and the restore are authorised as
    )
    service_side_actions = (
        ServiceSide(
            "RestoreCreatesNetworkInterfaces",
            ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
             "ec2:DescribeSubnets", "ec2:DescribeVpcs"),
            "CreateFileSystemFromBackup: FSx creates the file system's network interfaces in the given subnets and "
            "security groups with the caller's permissions (dependent actions of fsx:CreateFileSystemFromBackup)."),
        ServiceSide(
            "RestoreJoinsDirectory",
            ("ds:AuthorizeApplication", "ds:GetAuthorizedApplicationDetails", "ds:UnauthorizeApplication"),
            "CreateFileSystemFromBackup of a Windows backup: the file system joins the backup's AWS Managed "
            "Microsoft AD (dependent actions of fsx:CreateFileSystemFromBackup)."),
        ServiceSide(
            "ServiceLinkedRole", ("iam:CreateServiceLinkedRole",),
            "CreateFileSystemFromBackup: the first FSx file system of an account creates FSx's service-linked role.",
            {"StringLike": {"iam:AWSServiceName": "fsx.amazonaws.com"}}),
        ServiceSide(
            "BackupsWithCustomerManagedKeys", ("kms:CreateGrant", "kms:DescribeKey"),
            "CopyBackup and CreateFileSystemFromBackup of backups encrypted with a customer managed key: FSx makes a "
            "grant on the key in the region it writes to, through FSx only.",
            {"StringLike": {"kms:ViaService": "fsx.*.amazonaws.com"}}),
    )

    @staticmethod
    def _fsx(ctx: RunContext, unit: WorkUnit, region: str) -> Any:
        return ctx.client("fsx", region, unit.account_id)

    def _backups(self, ctx: RunContext, unit: WorkUnit, region: str) -> list[dict[str, Any]]:
        return listed(self._fsx(ctx, unit, region), "describe_backups", "Backups")

    # -- checks ------------------------------------------------------------------------------------
    def _rpo(self, ctx: RunContext, cfg: FsxConfig) -> int | None:
        return cfg.rpo_minutes or ctx.rpo_minutes

    @staticmethod
    def _final_backup(ctx: RunContext, cfg: FsxConfig) -> bool:
        return cfg.final_backup and not ctx.unplanned and not ctx.is_drill

    def _check_copy(self, ctx: RunContext, t: Lineage) -> tuple[str, str | None, str, bool]:
        """What the newest AVAILABLE backup in the target region is, why it cannot be restored now (None: it
        can: there is one, it fits the configured subnets, it is within the RPO), the fix, and whether only its
        age is the problem."""
        region = t.target.region
        if not t.copies:
            return "", f"no AVAILABLE backup of {t.fs_id} in {region}: nothing to restore", (
                f"copy one to {region} (CopyBackup, or an AWS Backup copy rule)"), False
        newest, rpo = t.copies[0], self._rpo(ctx, t.cfg)
        age = age_of(newest["CreationTime"])
        said = f"newest backup {newest['BackupId']} of {t.fs_id} in {region} is {ago(age)} old"
        if problem := restorable(t, newest):
            return said, problem, "fix the subnets in the manifest", False
        if rpo and age > rpo * 60:
            return said, f"{said}, beyond the RPO of {rpo} min", (
                f"copy a fresh backup to {region}, or raise rpoMinutes if that loss is accepted"), True
        return said, None, "", False

    def _newest_copy(self, ctx: RunContext, t: Lineage) -> dict[str, Any]:
        """The newest AVAILABLE backup in the target region, within the RPO and restorable (else an error)."""
        _, problem, fix, _ = self._check_copy(ctx, t)
        if problem:
            raise AdapterError(t.rid, problem, fix)
        return t.copies[0]

    # -- read-only -----------------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for t in read_lineages(ctx, unit):
            if t.tags is not None and (why := ctx.scope.mismatch(t.tags)):
                findings.append(Finding(t.rid, False, f"FSx file system {t.fs_id} is out of scope: {why}", t.tags))
                continue
            findings.append(self._target_finding(ctx, t))
            if not ctx.is_drill:
                findings.append(self._source_finding(ctx, unit, t, target_ok=findings[-1].ok))
        return findings

    def _target_finding(self, ctx: RunContext, t: Lineage) -> Finding:
        if t.serving is not None and not ctx.is_drill:
            return Finding(t.rid, t.serving["Lifecycle"] not in BROKEN, f"{t.serving['FileSystemId']} of {t.fs_id} "
                           f"already restored in {t.target.region} ({t.serving['Lifecycle']})", t.tags)
        said, problem, fix, stale = self._check_copy(ctx, t)
        exposure = f"{said}: writes since then are lost" if said else None
        if stale and self._final_backup(ctx, t.cfg):
            return Finding(t.rid, True, f"warning: {problem} (this planned run takes a final backup)", t.tags, exposure)
        if problem:
            return Finding(t.rid, False, f"{problem} -- {fix}", t.tags, exposure)
        return Finding(t.rid, True, f"{said} (RPO {self._rpo(ctx, t.cfg) or 'not set'} min)", t.tags, exposure)

    def _source_finding(self, ctx: RunContext, unit: WorkUnit, t: Lineage, target_ok: bool) -> Finding:
        def read_tags() -> dict[str, str] | None:
            fsx = self._fsx(ctx, unit, t.source.region)
            left = [fs for fs in listed(fsx, "describe_file_systems", "FileSystems")
                    if of_lineage(t.fs_id, fs, fs["FileSystemId"]) and is_serving(fs)]
            return tags_of(newest(left)) if left else None

        return source_finding(ctx, t.rid, f"FSx file system of {t.fs_id} serving in {t.source.region}", read_tags,
                              target_ok=target_ok)

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for t in read_lineages(ctx, unit):
            fs = self._drill_of_run(ctx, t) if ctx.is_drill else t.serving
            what = "drill restore" if ctx.is_drill else "restored file system"
            if fs is None:
                checks.append(HealthCheck(t.rid, Health.UNHEALTHY, f"no {what} of {t.fs_id} in {t.target.region}"))
                continue
            text = f"{what} {fs['FileSystemId']} in {t.target.region} is {fs['Lifecycle']} ({fs.get('DNSName')})"
            test = t.restore_test(tags_of(fs).get(RESTORED_FROM_TAG, ""))
            if ctx.is_drill and test:
                text += (f"; restore of {tags_of(fs)[RESTORED_FROM_TAG]} took {test['seconds']} s (creation to "
                         "AVAILABLE)")
            status = {"AVAILABLE": Health.HEALTHY, "CREATING": Health.DEGRADED, "UPDATING": Health.DEGRADED}
            checks.append(HealthCheck(t.rid, status.get(fs["Lifecycle"], Health.UNHEALTHY), text))
        return checks

    def explain_failure(self, ctx: RunContext, unit: WorkUnit) -> str | None:
        broken = [f"{t.rid}: file system {fs['FileSystemId']} in {t.target.region} is {fs['Lifecycle']}: "
                  f"{failure_of(fs)}"
                  for t in read_lineages(ctx, unit) for fs in (t.serving, *t.drills)
                  if fs and fs["Lifecycle"] in BROKEN]
        return "; ".join(broken) or None

    # -- phases --------------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for t in resolve_lineages(ctx, unit):
            if t.serving is not None and not ctx.is_drill:
                out.notes.append(f"{t.rid}: {t.serving['FileSystemId']} already restored in {t.target.region}")
            elif self._final_backup(ctx, t.cfg):
                out.notes.append(f"{t.rid}: ACTIVATE backs up the serving file system and copies it to "
                                 f"{t.target.region} (finalBackup); {len(t.copies)} AVAILABLE copies there now")
            else:
                newest = self._newest_copy(ctx, t)
                age = age_of(newest["CreationTime"])
                out.notes.append(f"{t.rid}: newest backup {newest['BackupId']} in {t.target.region} is {ago(age)} "
                                 "old, within the RPO: ready to restore")
                out.data.setdefault("backups", {})[t.rid] = {"backup_id": newest["BackupId"], "age_seconds": age}
        return out

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for t in resolve_lineages(ctx, unit, source=not ctx.is_drill):
            if ctx.is_drill:
                self._drill_restore(ctx, unit, t, out)
            elif t.serving is not None:
                self._await_restored(unit, t, out, ctx.dry_run)
            elif self._final_backup(ctx, t.cfg):
                left = t.left_serving
                if left is None or left["Lifecycle"] not in ("AVAILABLE", "UPDATING"):
                    raise AdapterError(t.rid, f"no AVAILABLE file system of {t.fs_id} serving in {t.source.region} to "
                                              "take a final backup of",
                                       "set finalBackup: false to restore the newest copy, or fail over unplanned")
                if str((left.get("LustreConfiguration") or {}).get("DeploymentType", "")).startswith("SCRATCH"):
                    raise AdapterError(t.rid, f"{left['FileSystemId']} is a scratch Lustre file system: FSx cannot back "
                                              "it up", "set finalBackup: false (and protect its data elsewhere)")
                copy = self._ship(ctx, unit, t, left, t.source.region, t.target.region, out)
                if copy is not None:
                    if problem := restorable(t, copy):
                        raise AdapterError(t.rid, problem, "fix the subnets in the manifest")
                    self._restore(ctx, unit, t, copy, out, drill=False)
            else:
                self._restore(ctx, unit, t, self._newest_copy(ctx, t), out, drill=False)
        return out

    def _await_restored(self, unit: WorkUnit, t: Lineage, out: PhaseOutcome, dry_run: bool) -> None:
        fs, region = t.serving, t.target.region
        assert fs is not None
        if fs["Lifecycle"] in BROKEN:
            raise AdapterError(t.rid, f"restored file system {fs['FileSystemId']} in {region} is {fs['Lifecycle']}: "
                                      f"{failure_of(fs)}",
                               "fix the cause (subnets, security groups, Active Directory), delete it, and clear this "
                               "task to restore again")
        if fs["Lifecycle"] in BUSY and not dry_run:
            out.waits.append(self._wait(unit, region, fs["FileSystemId"], "FileSystemAvailable"))
        out.notes.append(f"{t.rid}: {fs['FileSystemId']} in {region} is {fs['Lifecycle']} (restored from "
                         f"{tags_of(fs).get(RESTORED_FROM_TAG, 'a backup')})")

    def _restore(self, ctx: RunContext, unit: WorkUnit, t: Lineage, backup: dict[str, Any], out: PhaseOutcome,
                 *, drill: bool) -> None:
        fs_type, side = backup["FileSystem"]["FileSystemType"], t.target
        old = backup["FileSystem"].get(SETTINGS_KEY[fs_type]) or {}
        # A restore keeps tagging its automatic backups (so they stay in the lineage); a drill's takes none.
        settings: dict[str, Any] = ({"AutomaticBackupRetentionDays": 0, "CopyTagsToBackups": False} if drill
                                    else {"CopyTagsToBackups": True})
        if fs_type in ("WINDOWS", "OPENZFS"):  # required in their configuration when one is given
            settings.update(DeploymentType=old.get("DeploymentType"), ThroughputCapacity=old.get("ThroughputCapacity"))
            if str(old.get("DeploymentType", "")).startswith("MULTI_AZ"):
                settings["PreferredSubnetId"] = side.subnets[0]
        if drill:
            tags = {**{k: v for k, v in (t.tags or {}).items() if k in ("Customer", "Environment")},
                    "Name": tag_value(f"dr-drill-{t.rid}"), DRILL_TAG: t.fs_id}
        else:
            tags = {**carried(tags_of(backup)), LINEAGE_TAG: t.fs_id}
        tags.update({RESTORED_FROM_TAG: backup["BackupId"], RUN_TAG: tag_value(ctx.run_id)})
        args: dict[str, Any] = {
            "BackupId": backup["BackupId"], "SubnetIds": list(side.subnets), "Tags": tag_list(tags),
            "ClientRequestToken": token(ctx.run_id, t.rid, "drill" if drill else "restore", backup["BackupId"]),
            SETTINGS_KEY[fs_type]: {k: v for k, v in settings.items() if v is not None},
        }
        if side.security_groups:
            args["SecurityGroupIds"] = list(side.security_groups)
        if t.cfg.storage_type:
            args["StorageType"] = t.cfg.storage_type
        reply = ctx.mutate(self._fsx(ctx, unit, side.region), "create_file_system_from_backup", **args)
        kind = "a drill file system" if drill else "a file system"
        if reply is None:
            out.notes.append(f"{t.rid}: would restore backup {backup['BackupId']} into {kind} in {side.region}")
            return
        fs_id = reply["FileSystem"]["FileSystemId"]
        out.notes.append(f"{t.rid}: restoring backup {backup['BackupId']} into {kind} {fs_id} in {side.region}")
        out.waits.append(self._wait(unit, side.region, fs_id, "FileSystemAvailable"))

    def _ship(self, ctx: RunContext, unit: WorkUnit, t: Lineage, fs: dict[str, Any], from_region: str,
              to_region: str, out: PhaseOutcome) -> dict[str, Any] | None:
        """Back ``fs`` up in ``from_region`` and copy the backup to ``to_region``, once per run: the copy when
        AVAILABLE, else None (with the wait or the note of what a dry run would do)."""
        run, fs_id = tag_value(ctx.run_id), fs["FileSystemId"]
        made = [b for b in self._backups(ctx, unit, from_region)
                if b["FileSystem"]["FileSystemId"] == fs_id and tags_of(b).get(RUN_TAG) == run]
        failed = [b for b in made if b["Lifecycle"] == "FAILED"]  # each retry gets a token of its own
        backup = newest([b for b in made if b["Lifecycle"] not in ("FAILED", "DELETED")])
        if backup is None:
            tags = {**carried(tags_of(fs)), LINEAGE_TAG: t.fs_id, RUN_TAG: run}
            reply = ctx.mutate(self._fsx(ctx, unit, from_region), "create_backup", FileSystemId=fs_id,
                               ClientRequestToken=token(ctx.run_id, t.rid, "backup", fs_id, str(len(failed))),
                               Tags=tag_list(tags))
            if reply is None:
                out.notes.append(f"{t.rid}: would back up {fs_id} in {from_region} and copy it to {to_region}")
                return None
            backup = reply["Backup"]
            out.notes.append(f"{t.rid}: backing up {fs_id} in {from_region} ({backup['BackupId']})")
        if backup["Lifecycle"] != "AVAILABLE":
            out.waits.append(self._wait(unit, from_region, backup["BackupId"], "BackupAvailable"))
            return None
        copies = [b for b in self._backups(ctx, unit, to_region) if b.get("SourceBackupId") == backup["BackupId"]]
        copy = newest([b for b in copies if b["Lifecycle"] not in ("FAILED", "DELETED")])
        if copy is None:
            tries = str(sum(b["Lifecycle"] == "FAILED" for b in copies))
            reply = ctx.mutate(self._fsx(ctx, unit, to_region), "copy_backup", SourceBackupId=backup["BackupId"],
                               SourceRegion=from_region, CopyTags=True,
                               ClientRequestToken=token(ctx.run_id, t.rid, "copy", backup["BackupId"], tries))
            if reply is None:
                out.notes.append(f"{t.rid}: would copy backup {backup['BackupId']} to {to_region}")
                return None
            copy = reply["Backup"]
            out.notes.append(f"{t.rid}: copying backup {backup['BackupId']} to {to_region} ({copy['BackupId']})")
        if copy["Lifecycle"] != "AVAILABLE":
            out.waits.append(self._wait(unit, to_region, copy["BackupId"], "BackupAvailable"))
            return None
        return copy

    def _drill_of_run(self, ctx: RunContext, t: Lineage) -> dict[str, Any] | None:
        run = tag_value(ctx.run_id)
        return newest([fs for fs in t.drills if tags_of(fs).get(RUN_TAG) == run and fs["Lifecycle"] != "DELETING"])

    def _drill_restore(self, ctx: RunContext, unit: WorkUnit, t: Lineage, out: PhaseOutcome) -> None:
        fs = self._drill_of_run(ctx, t)
        if fs is None:
            self._restore(ctx, unit, t, self._newest_copy(ctx, t), out, drill=True)
            return
        fs_id, backup_id, region = fs["FileSystemId"], tags_of(fs).get(RESTORED_FROM_TAG, "?"), t.target.region
        if fs["Lifecycle"] in BUSY:
            out.waits.append(self._wait(unit, region, fs_id, "FileSystemAvailable"))
            return
        if fs["Lifecycle"] != "AVAILABLE":
            raise AdapterError(t.rid, f"drill: backup {backup_id} restored into {fs_id} in {region}, which is "
                                      f"{fs['Lifecycle']}: {failure_of(fs)}",
                               "the backup does not restore as configured (subnets, security groups, Active "
                               "Directory): fix that; CLEANUP deletes the drill file system")
        problems = self._unusable(t, fs, backup_id)
        if problems:
            raise AdapterError(t.rid, f"drill: restored {fs_id} is not usable: {'; '.join(problems)}",
                               "check the backup and the subnets; CLEANUP deletes the drill file system")
        test = t.restore_test(backup_id)
        if test is None or test["run"] != tag_value(ctx.run_id):
            seconds = age_of(fs["CreationTime"])  # creation to AVAILABLE, as first seen: at most one poll late
            at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            test = {"seconds": f"{seconds:.1f}", "at": at, "run": tag_value(ctx.run_id)}
            backup = next((b for b in t.copies if b["BackupId"] == backup_id), None)
            if backup is not None:  # the durable record: this backup was proven restorable, in that time
                value = tag_value(f"{test['seconds']}s to AVAILABLE at {at} run {ctx.run_id}")
                ctx.mutate(self._fsx(ctx, unit, region), "tag_resource", ResourceARN=backup["ResourceARN"],
                           Tags=tag_list({RESTORE_TEST_TAG: value}))
        out.notes.append(f"{t.rid}: drill: backup {backup_id} restored into {fs_id} in {region} in {test['seconds']} s "
                         f"(creation to AVAILABLE); {fs.get('DNSName')} reachable in {', '.join(fs['SubnetIds'])}")
        out.data.setdefault("restore_seconds", {})[t.rid] = float(test["seconds"])

    @staticmethod
    def _unusable(t: Lineage, fs: dict[str, Any], backup_id: str) -> list[str]:
        """What a drill's restored file system lacks to serve as the protected one would."""
        source = next((b["FileSystem"] for b in t.copies if b["BackupId"] == backup_id), {})
        problems = []
        if not fs.get("DNSName"):
            problems.append("no DNS name")
        if not fs.get("NetworkInterfaceIds"):
            problems.append("no network interface")
        if tuple(fs.get("SubnetIds", ())) != t.target.subnets:
            problems.append(f"in subnets {fs.get('SubnetIds')}, not {list(t.target.subnets)}")
        if source and fs["FileSystemType"] != source.get("FileSystemType"):
            problems.append(f"a {fs['FileSystemType']} file system, the backup's is {source.get('FileSystemType')}")
        if source and fs.get("StorageCapacity", 0) < source.get("StorageCapacity", 0):
            problems.append(f"{fs.get('StorageCapacity')} GiB, less than the backup's {source.get('StorageCapacity')}")
        return problems

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for t in resolve_lineages(ctx, unit, source=not ctx.is_drill):
            if ctx.is_drill:
                for fs in t.drills:  # earlier drills' leftovers too
                    self._delete(ctx, unit, t, fs, t.target.region, out, final_backup=False)
                continue
            restored = t.serving is not None and t.serving["Lifecycle"] == "AVAILABLE"
            if not restored and not ctx.dry_run:  # never retire the only copy serving
                raise AdapterError(t.rid, f"refusing to retire {t.fs_id}'s file system in {t.source.region}: nothing "
                                          f"restored is AVAILABLE in {t.target.region}", "run ACTIVATE first")
            for fs in t.left:
                if t.cfg.source_file_system_action == "delete" and (is_serving(fs) or fs["Lifecycle"] == "DELETING"):
                    self._delete(ctx, unit, t, fs, t.source.region, out, final_backup=True)
                elif is_serving(fs):
                    retired = tag_list({RETIRED_TAG: tag_value(ctx.run_id)})
                    reply = ctx.mutate(self._fsx(ctx, unit, t.source.region), "tag_resource",
                                       ResourceARN=fs["ResourceARN"], Tags=retired)
                    verb = "would retire" if reply is None else "retired"
                    out.notes.append(f"{t.rid}: {verb} {fs['FileSystemId']} in {t.source.region} (tag {RETIRED_TAG}; "
                                     "left running)")
        return out

    def _delete(self, ctx: RunContext, unit: WorkUnit, t: Lineage, fs: dict[str, Any], region: str,
                out: PhaseOutcome, *, final_backup: bool) -> None:
        fs_id = fs["FileSystemId"]
        if fs["Lifecycle"] in BUSY:  # FSx deletes no file system while it is created or changed: once it is done
            if not ctx.dry_run:
                out.waits.append(self._wait(unit, region, fs_id, "FileSystemAvailable"))
            return
        if fs["Lifecycle"] != "DELETING":
            fs_type = fs["FileSystemType"]
            scratch = str((fs.get(SETTINGS_KEY.get(fs_type, "")) or {}).get("DeploymentType", "")).startswith("SCRATCH")
            options: dict[str, Any] = {"SkipFinalBackup": True}
            if final_backup and not scratch:
                tags = {**carried(tags_of(fs)), LINEAGE_TAG: t.fs_id, RUN_TAG: tag_value(ctx.run_id)}
                options = {"SkipFinalBackup": False, "FinalBackupTags": tag_list(tags)}
            args = {SETTINGS_KEY[fs_type]: options} if fs_type in SETTINGS_KEY else {}
            reply = ctx.mutate(self._fsx(ctx, unit, region), "delete_file_system", FileSystemId=fs_id,
                               ClientRequestToken=token(ctx.run_id, t.rid, "delete", fs_id), **args)
            what = "drill file system" if DRILL_TAG in tags_of(fs) else "file system"
            backed = " with a final backup" if final_backup and not scratch else ""
            out.notes.append(f"{t.rid}: {'would delete' if reply is None else 'deleting'} {what} {fs_id} in "
                             f"{region}{backed}")
            if reply is None:
                return
        out.waits.append(self._wait(unit, region, fs_id, "FileSystemDeleted"))

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for t in resolve_lineages(ctx, unit):
            if ctx.is_drill:
                out.notes.append(f"{t.rid}: drill: no backup is copied back")
                continue
            fs = t.serving
            if fs is None or fs["Lifecycle"] != "AVAILABLE":
                if ctx.dry_run:
                    out.notes.append(f"{t.rid}: would back up the restored file system, copy it to {t.source.region}")
                    continue
                raise AdapterError(t.rid, f"no restored file system of {t.fs_id} AVAILABLE in {t.target.region} to "
                                          "back up", "run ACTIVATE first")
            copy = self._ship(ctx, unit, t, fs, t.target.region, t.source.region, out)
            if copy is not None:
                out.notes.append(f"{t.rid}: backup {copy['SourceBackupId']} of {fs['FileSystemId']} is in "
                                 f"{t.source.region} as {copy['BackupId']}: the way back can restore it")
        return out

    @staticmethod
    def _wait(unit: WorkUnit, region: str, ident: str, waiter: str) -> Wait:
        """``waiter`` (ours: waiters/fsx.json) on one backup or file system. Restores and copies take minutes to
        hours (size, type, distance between regions): poll every 30 s, up to 4 h."""
        args = {"BackupIds": [ident]} if waiter == "BackupAvailable" else {"FileSystemIds": [ident]}
        return Wait("fsx", region, unit.account_id, waiter, args, f"FSx {ident} in {region}: {waiter}", delay=30,
                    max_attempts=480)

    # -- tag discovery -------------------------------------------------------------------------------
    # The protected file system (primary), the file systems restored from it and its backups all name one
    # lineage: the file system's own id, or their dr:protected-file-system tag. Where to restore in the DR
    # region is nowhere in AWS before a failover: the dr:dr-subnet-ids tag says it.
    discovery_types = ("fsx:file-system", "fsx:backup")

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"fsx/{account_id}/{config['fileSystemId']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        # One listing per region and kind (not per resource; an id deleted since the search is simply absent).
        parts: dict[str, dict[str, Any]] = {}
        for region in sorted({read.primary} | {f.region for f in found if f.resource_type == "fsx:file-system"}):
            fsx = read.client("fsx", region)
            parts.update((fs["ResourceARN"], fs) for fs in listed(fsx, "describe_file_systems", "FileSystems"))
        systems = dict(parts)
        for region in sorted({f.region for f in found if f.resource_type == "fsx:backup"}):
            fsx = read.client("fsx", region)
            parts.update((b["ResourceARN"], b) for b in listed(fsx, "describe_backups", "Backups"))
        originals = {fs["FileSystemId"]: fs for arn, fs in systems.items() if arn.split(":")[3] == read.primary}
        out: list[Derived | NotDerived] = []
        for f in found:
            part = parts.get(f.arn)
            if part is None:
                out.append(NotDerived(f.arn, "no longer exists -- run discover again"))
                continue
            described = part if f.resource_type == "fsx:file-system" else part["FileSystem"]
            lineage = f.tags.get(LINEAGE_TAG) or described["FileSystemId"]
            config: dict[str, Any] = {"fileSystemId": lineage}
            original = originals.get(lineage)
            if original is not None:
                config["subnetIds"] = original["SubnetIds"]
            why = None
            if DRILL_TAG in f.tags:
                why = "a drill's throw-away restore, deleted by the drill's CLEANUP -- remove dr:enabled from it"
            elif described["FileSystemType"] not in SETTINGS_KEY:
                why = (f"{described['FileSystemType']} file systems are restored volume by volume (ONTAP: SnapMirror), "
                       "not from a file system backup -- protect it another way, or remove dr:enabled")
            elif "dr:dr-subnet-ids" not in f.tags:
                why = (f"nothing says where to restore it in {read.dr} -- tag it dr:dr-subnet-ids='subnet-...' (one "
                       "subnet; two for Multi-AZ)")
            elif "subnetIds" not in config and "dr:subnet-ids" not in f.tags:
                why = (f"its file system in {read.primary} is gone: nothing says where a failback restores it -- tag "
                       "it dr:subnet-ids='subnet-...'")
            if why:
                out.append(NotDerived(f.arn, why))
                continue
            secondary = f.resource_type == "fsx:backup" or f.region != read.primary or LINEAGE_TAG in f.tags
            out.append(Derived(self.identity(config, read.account_id), self.actions[0], f.tags.get("Name") or lineage,
                               config, f.arn, f.tags, secondary=secondary))
        return out
