"""Amazon EFS replication (``EFS``): the DR replica becomes writable, then replicates back into the original.

The pair: a file system in each region, the serving one the source of an EFS replication configuration
whose destination is the other (read-only: its ``ReplicationOverwriteProtection`` is ``REPLICATING``).
The seeds call EFS "REPLICATE-centred"; AWS's mechanics decide what each phase does:

* ACTIVATE deletes the replication configuration (``DeleteReplicationConfiguration``) -- AWS's failover:
  "after you delete a replication configuration, the destination file system becomes writeable and its
  replication overwrite protection is re-enabled". EFS has no switchover that waits for the last write
  (replication is asynchronous, synced as of ``LastReplicatedTimestamp``), so a planned run deletes only
  while the last sync is within the RPO (``rpoMinutes``, else the manifest's ``slaTargets.rpo``) and the
  replication is ``ENABLED``. The call is made in the region moved *to*, naming the source file system,
  which AWS accepts from either region: a planned run with ``ALL_CONFIGURATIONS`` (both sides go), an
  unplanned one with ``LOCAL_CONFIGURATION_ONLY`` (AWS's mode for when the other side cannot be reached:
  only the target's side goes, the dark source keeps an orphaned copy). It then waits until the target's
  protection is ``ENABLED``, i.e. writable. A planned run whose source region goes dark mid-run gets AWS's
  refusal to delete both sides: re-trigger it with ``failover_mode=unplanned``.
* CLEANUP does nothing: the old primary is the way back, and EFS bills storage, not capacity -- there is
  nothing to scale down or stop. REPLICATE makes it read-only.
* REPLICATE replicates the new primary back into the *existing* old one (AWS's failback that keeps the
  changes made after the failover): it deletes the orphaned configuration the old primary's region still
  holds after an unplanned failover (``LOCAL_CONFIGURATION_ONLY``, in that region), sets the old primary's
  overwrite protection to ``DISABLED`` (AWS refuses an existing destination with protection ``ENABLED``;
  this makes it read-only), then ``CreateReplicationConfiguration`` from the new primary with
  ``Destinations=[{FileSystemId: old, Region: old region}]`` and waits for ``ENABLED``. EFS then overwrites
  the old primary with the new one's data: after an unplanned failover, what the old primary received after
  its last sync is discarded (that is the data loss the unplanned run accepted; copy it out first if it
  matters). A failback is the same run the other way round, so the roles and file system ids round-trip.
* A drill only reads: the replica is ``ENABLED`` and its last sync within the RPO (or it already writes).

It derives from ``Adapter``, not the ``ReplicatedGroupAdapter`` family: there, REPLICATE only verifies that the old
member re-joined the group, while EFS's must create the replication back, and the "group" (the configuration)
is gone between ACTIVATE and REPLICATE.

Everything but REPLICATE reads only the region moved to: a replica's region answers for the configuration
(DescribeReplicationConfigurations of a file system of that region). An unplanned failover therefore needs
nothing from the dark region; its REPLICATE waits for ``operation=reprotect``. Each phase converges from
AWS's state: a configuration already DELETING is waited for, a target already writable is left alone, a
reverse replication already there is only waited for, and a lost reply's retry that AWS refuses is checked
against what AWS now shows.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from dr_adapters.adapters.base import (
    ActionConfig,
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
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

FS_ID = r"^fs-[0-9a-f]{8,40}$"
SCOPE_FIX = "tag the file system with this estate's Customer/Environment, or remove it from the manifest"
WRITABLE = "ENABLED"  # ReplicationOverwriteProtection of a writable file system (no configuration into it)
GONE = ("FileSystemNotFound", "ReplicationNotFound")


class EfsConfig(ActionConfig):
    file_system_id: str = Field(
        alias="fileSystemId", pattern=FS_ID,
        description="File system in the primary region: the source of the replication configuration when the "
                    "estate is set up (fs-...).")
    dr_file_system_id: str = Field(
        alias="drFileSystemId", pattern=FS_ID,
        description="File system in the DR region: the destination of that replication configuration, read-only "
                    "(overwrite protection REPLICATING) until a failover makes it writable.")
    rpo_minutes: int | None = Field(
        None, alias="rpoMinutes", ge=1,
        description="How old the replica's last sync (LastReplicatedTimestamp) may be for a planned failover and a "
                    "drill, in minutes (default: the manifest's slaTargets.rpo; neither: not checked).")


class _Side(NamedTuple):
    """One file system of the pair."""

    region: str
    fs_id: str

    def __str__(self) -> str:
        return f"EFS file system {self.fs_id} in {self.region}"


def _tags(fs: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in fs.get("Tags") or []}


def _protection(fs: dict[str, Any]) -> str:
    return (fs.get("FileSystemProtection") or {}).get("ReplicationOverwriteProtection", WRITABLE)


def _destination(rep: dict[str, Any]) -> dict[str, Any]:
    return rep["Destinations"][0]


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def _minutes_since(when: datetime) -> float:
    return (datetime.now(timezone.utc) - when).total_seconds() / 60


class _Pair:
    """One manifest resource for this run: the file system moved from (source) and to (target), read from AWS."""

    def __init__(self, adapter: EfsAdapter, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec):
        self.cfg: EfsConfig = adapter.config(resource)
        self.ctx, self.rid, self.account_id = ctx, resource.resource_id, unit.account_id
        primary = _Side(ctx.regions.primary, self.cfg.file_system_id)
        dr = _Side(ctx.regions.dr, self.cfg.dr_file_system_id)
        self.source, self.target = ctx.source_and_target(primary, dr)
        self.rpo = self.cfg.rpo_minutes or ctx.rpo_minutes
        self.efs = ctx.client("efs", self.target.region, unit.account_id)
        self.fs = self.file_system(self.efs, self.target)
        self.rep = self.replication(self.efs, self.target) if self.fs else None

    # -- reading ------------------------------------------------------------------------------------
    @staticmethod
    def file_system(efs: Any, side: _Side) -> dict[str, Any] | None:
        try:
            return efs.describe_file_systems(FileSystemId=side.fs_id)["FileSystems"][0]
        except ClientError as err:
            if _code(err) == "FileSystemNotFound":
                return None
            raise

    @staticmethod
    def replication(efs: Any, side: _Side) -> dict[str, Any] | None:
        """The configuration ``side`` is part of, as its own region holds it (None: none)."""
        try:
            return efs.describe_replication_configurations(FileSystemId=side.fs_id)["Replications"][0]
        except ClientError as err:
            if _code(err) in GONE:
                return None
            raise

    def source_efs(self) -> Any:
        return self.ctx.client("efs", self.source.region, self.account_id)

    def reread(self) -> None:
        self.rep = self.replication(self.efs, self.target)

    # -- what the target is now ----------------------------------------------------------------------
    def links(self, rep: dict[str, Any] | None, src: _Side, dst: _Side) -> bool:
        """Whether ``rep`` replicates ``src`` into ``dst``."""
        if rep is None:
            return False
        d = _destination(rep)
        return (rep["SourceFileSystemRegion"], rep["SourceFileSystemId"]) == src and (d["Region"], d["FileSystemId"]) == dst

    @property
    def is_replica(self) -> bool:
        """The target is the destination of the source's replication (what ACTIVATE promotes)."""
        return self.links(self.rep, self.source, self.target)

    @property
    def replicates_back(self) -> bool:
        """The target writes and replicates into the source (failed over and reprotected)."""
        return self.links(self.rep, self.target, self.source)

    @property
    def status(self) -> str:
        return _destination(self.rep)["Status"] if self.rep else ""

    @property
    def writable(self) -> bool:
        return self.fs is not None and _protection(self.fs) == WRITABLE and not self.is_replica

    def require(self) -> None:
        """Raise unless the target exists, is in scope and belongs to this pair's replication (or none)."""
        if self.fs is None:
            raise AdapterError(self.rid, f"{self.target} not found", "check the file system ids and the accountId")
        problem = self.ctx.scope.mismatch(_tags(self.fs))
        if problem:
            raise AdapterError(self.rid, f"{self.target} is out of scope: {problem}", SCOPE_FIX)
        if self.rep is not None and not (self.is_replica or self.replicates_back):
            raise AdapterError(self.rid, f"{self.target} is part of another replication ({self.describe_rep()})",
                               "replicate it with its pair only, or fix the manifest's file system ids")

    def describe_rep(self, rep: dict[str, Any] | None = None) -> str:
        rep = rep or self.rep
        d = _destination(rep)
        return (f"{rep['SourceFileSystemId']} ({rep['SourceFileSystemRegion']}) -> {d['FileSystemId']} ({d['Region']}) "
                f"{d['Status']}" + (f": {d['StatusMessage']}" if d.get("StatusMessage") else ""))

    def last_sync(self) -> tuple[datetime | None, str]:
        """The replica's last completed sync, and a phrase saying it."""
        when = _destination(self.rep).get("LastReplicatedTimestamp")
        if when is None:
            return None, "initial sync not complete"
        return when, f"last sync {when.isoformat(timespec='seconds')} ({_minutes_since(when):.1f} min ago)"

    def replica_problem(self) -> tuple[str | None, str]:
        """(why the replica cannot take over without losing more than the RPO, or None; what was read)."""
        when, said = self.last_sync()
        if self.status != "ENABLED":
            return f"replication {self.describe_rep()} is not ENABLED ({said})", said
        if when is None:
            return f"replica {self.target.fs_id}: {said}", said
        if self.rpo is not None and _minutes_since(when) > self.rpo:
            return f"replica {self.target.fs_id}: {said} exceeds RPO of {self.rpo} min", said
        return None, said

    # -- waits ----------------------------------------------------------------------------------------
    def wait(self, waiter: str, side: _Side, description: str) -> Wait:
        return Wait(service="efs", region=side.region, account_id=self.account_id, waiter=waiter,
                    args={"FileSystemId": side.fs_id}, description=description, delay=15, max_attempts=240)


class EfsAdapter(Adapter):
    """Makes the DR replica writable by deleting its EFS replication configuration (AWS's failover), then
    replicates it back into the existing original file system, whose overwrite protection it disables first
    (AWS's failback that keeps the changes made after the failover)."""

    actions = ("EFS",)
    config_model = EfsConfig
    phases = (Phase.ACTIVATE, Phase.REPLICATE)
    drill_behaviour = ("read-only: checks the DR replica is ENABLED and its last sync within the RPO; never deletes "
                       "or creates a replication configuration")
    unplanned_behaviour = (
        "DeleteReplicationConfiguration with DeletionMode LOCAL_CONFIGURATION_ONLY in the DR region only (AWS's "
        "mode for an unreachable other side); the replica's LastReplicatedTimestamp is the data-loss exposure; "
        "REPLICATE (delete the old region's orphaned configuration, replicate back into the old primary) waits "
        "for reprotect")
    phase_summaries = {
        Phase.ACTIVATE: "make the DR replica writable: DeleteReplicationConfiguration in the DR region (planned: "
                        "only within the RPO, ALL_CONFIGURATIONS), then wait until its overwrite protection is ENABLED",
        Phase.CLEANUP: "no-op: the old primary is the way back (REPLICATE makes it the read-only replica)",
        Phase.REPLICATE: "replicate back into the old primary: UpdateFileSystemProtection DISABLED on it, then "
                         "CreateReplicationConfiguration from the new primary to it (existing destination)",
    }
    iam_actions = (
        "elasticfilesystem:DescribeFileSystems",
        "elasticfilesystem:DescribeReplicationConfigurations",
        "elasticfilesystem:DeleteReplicationConfiguration",
        "elasticfilesystem:UpdateFileSystemProtection",
        "elasticfilesystem:CreateReplicationConfiguration",
    )
    service_side_actions = (
        ServiceSide(
            "ServiceLinkedRole", ("iam:CreateServiceLinkedRole",),
            "CreateReplicationConfiguration creates EFS's service-linked role (AWSServiceRoleForAmazonElasticFileSystem, "
            "which replicates on the account's behalf) when the account does not have it yet",
            condition={"StringEquals": {"iam:AWSServiceName": "elasticfilesystem.amazonaws.com"}}),
    )

    def _pairs(self, ctx: RunContext, unit: WorkUnit) -> list[_Pair]:
        return [_Pair(self, ctx, unit, r) for r in unit.resources]

    # -- read-only ----------------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for p in self._pairs(ctx, unit):
            target = self._target_finding(ctx, p)
            findings.append(target)

            def read_tags(p: _Pair = p) -> dict[str, str] | None:
                fs = p.file_system(p.source_efs(), p.source)
                return _tags(fs) if fs else None

            findings.append(source_finding(ctx, p.rid, str(p.source), read_tags, target_ok=target.ok))
        return findings

    def _target_finding(self, ctx: RunContext, p: _Pair) -> Finding:
        if p.fs is None:
            return Finding(p.rid, False, f"{p.target} not found")
        tags = _tags(p.fs)
        problem = ctx.scope.mismatch(tags)
        if problem:
            return Finding(p.rid, False, f"{p.target} is out of scope: {problem}", tags)
        if p.replicates_back:
            return Finding(p.rid, True, f"already failed over: {p.target.fs_id} writes and replicates to "
                                        f"{p.source.fs_id} ({p.status})", tags)
        if p.rep is not None and not p.is_replica:
            return Finding(p.rid, False, f"{p.target} is part of another replication ({p.describe_rep()})", tags)
        if p.rep is None:
            if _protection(p.fs) == WRITABLE:
                return Finding(p.rid, True, f"{p.target} is writable and not replicating (already failed over)", tags)
            if ctx.unplanned:  # the only copy left; what it holds is unknown
                return Finding(p.rid, True, f"warning: {p.target} is read-only and not replicating", tags,
                               exposure=f"{p.target.fs_id}: not replicating, data as of an unknown time")
            return Finding(p.rid, False, f"{p.target} is read-only (overwrite protection {_protection(p.fs)}) and "
                                         f"not replicating from {p.source.fs_id}", tags)
        problem, said = p.replica_problem()
        if ctx.unplanned:  # the source is dark: whatever the replica has is what there is
            if p.last_sync()[0] is None:
                return Finding(p.rid, False, f"replica {p.target.fs_id}: initial sync never completed, it is not a "
                                             "usable copy", tags)
            exposure = f"{p.target.fs_id}: {said}; later writes to {p.source.fs_id} may be lost"
            return Finding(p.rid, True, f"unplanned: replica becomes writable with data loss allowed; {exposure}",
                           tags, exposure=exposure)
        if problem:
            return Finding(p.rid, False, problem, tags)
        return Finding(p.rid, True, f"{p.target.fs_id} replicates {p.source.fs_id} ({p.status}), {said}", tags)

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for p in self._pairs(ctx, unit):
            if p.fs is None:
                checks.append(HealthCheck(p.rid, Health.UNHEALTHY, f"{p.target} not found"))
            elif ctx.is_drill and p.is_replica:
                problem, said = p.replica_problem()
                checks.append(HealthCheck(p.rid, Health.UNHEALTHY if problem else Health.HEALTHY,
                                          f"drill: {problem or f'{p.target.fs_id} is an ENABLED replica, {said}'}"))
            elif p.writable and p.fs["LifeCycleState"] == "available":
                back = f", replicating to {p.source.fs_id} ({p.status})" if p.replicates_back else ""
                checks.append(HealthCheck(p.rid, Health.HEALTHY, f"{p.target} is writable{back}"))
            else:
                state = p.describe_rep() if p.rep else f"overwrite protection {_protection(p.fs)}"
                checks.append(HealthCheck(p.rid, Health.UNHEALTHY, f"{p.target} is not writable yet: {state}, "
                                                                   f"lifecycle {p.fs['LifeCycleState']}"))
        return checks

    # -- phases -------------------------------------------------------------------------------------
    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for p in self._pairs(ctx, unit):
            p.require()
            if ctx.is_drill:  # never delete a replication in a drill: check the replica could take over
                out.notes.append(f"{p.rid}: {self._drill(p)}")
            elif p.replicates_back or (p.rep is None and _protection(p.fs) == WRITABLE):
                out.notes.append(f"{p.rid}: {p.target} is writable")
            elif p.rep is None:
                self._unprotect_standalone(ctx, p, out)
            elif p.status == "DELETING":  # ours from an earlier round (or anyone's): wait for it to finish
                out.waits.append(p.wait("FileSystemWritable", p.target, f"{p.target} writable"))
            else:
                self._promote(ctx, p, out)
        return out

    def _drill(self, p: _Pair) -> str:
        if p.replicates_back or p.writable:
            return f"drill, read-only; {p.target.fs_id} already writes"
        if not p.is_replica:
            raise AdapterError(p.rid, f"drill: {p.target} is read-only and not replicating from {p.source.fs_id}",
                               "re-create the replication configuration before relying on it")
        problem, said = p.replica_problem()
        if problem:
            raise AdapterError(p.rid, f"drill: {problem}", "investigate replication before relying on it")
        return f"drill, read-only; replica {p.target.fs_id} is ENABLED, {said}: a failover would make it writable"

    def _promote(self, ctx: RunContext, p: _Pair, out: PhaseOutcome) -> None:
        """Delete the replication into the target, from the target's region."""
        if not ctx.unplanned:  # planned: no more data loss than the RPO allows
            problem, _ = p.replica_problem()
            if problem:
                raise AdapterError(p.rid, problem, "wait for replication to catch up, or re-trigger with "
                                   "failover_mode=unplanned to accept the loss")
        mode = "LOCAL_CONFIGURATION_ONLY" if ctx.unplanned else "ALL_CONFIGURATIONS"
        try:
            ctx.mutate(p.efs, "delete_replication_configuration", SourceFileSystemId=p.source.fs_id, DeletionMode=mode)
        except ClientError as err:  # a retry of a delete whose reply was lost: fine if it is going or gone
            p.reread()
            if _code(err) not in (*GONE, "BadRequest") or (p.is_replica and p.status != "DELETING"):
                raise
        out.notes.append(f"{p.rid}: deleting the replication {p.source.fs_id} -> {p.target.fs_id} ({mode}) to make "
                         f"{p.target.fs_id} writable")
        if not ctx.dry_run:
            out.waits.append(p.wait("FileSystemWritable", p.target, f"{p.target} writable"))

    def _unprotect_standalone(self, ctx: RunContext, p: _Pair, out: PhaseOutcome) -> None:
        """The target replicates from nothing and is read-only (protection DISABLED: an earlier REPLICATE into it
        stopped half-way). Only an unplanned run takes it as it is: a planned one would serve stale data."""
        if not ctx.unplanned:
            raise AdapterError(p.rid, f"{p.target} is read-only (overwrite protection {_protection(p.fs)}) and holds "
                               f"no replica of {p.source.fs_id}'s latest writes",
                               "complete the REPLICATE of the previous run (operation=reprotect) first, or re-trigger "
                               "with failover_mode=unplanned to serve it as it is")
        ctx.mutate(p.efs, "update_file_system_protection", FileSystemId=p.target.fs_id,
                   ReplicationOverwriteProtection=WRITABLE)
        out.notes.append(f"{p.rid}: {p.target} made writable (overwrite protection ENABLED); it was not replicating")

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=["EfsAdapter: drill, REPLICATE is a no-op"])
        out = PhaseOutcome()
        for p in self._pairs(ctx, unit):
            p.require()
            if p.replicates_back:
                self._check_back(p, out)
            elif p.is_replica or not p.writable:
                if ctx.dry_run:  # a dry-run ACTIVATE moved nothing: there is nothing to replicate back yet
                    out.notes.append(f"{p.rid}: dry run; would replicate {p.target.fs_id} back into {p.source.fs_id}")
                    continue
                raise AdapterError(p.rid, f"{p.target} is not writable yet", "complete ACTIVATE before REPLICATE")
            else:
                self._replicate_back(ctx, p, out)
        return out

    def _check_back(self, p: _Pair, out: PhaseOutcome) -> None:
        if p.status == "ENABLED":
            out.notes.append(f"{p.rid}: {p.target.fs_id} replicates into {p.source.fs_id}")
        elif p.status == "ENABLING":
            out.waits.append(p.wait("ReplicationEnabled", p.target, f"replication {p.target.fs_id} -> "
                                                                    f"{p.source.fs_id} ENABLED"))
        else:
            raise AdapterError(p.rid, f"replication {p.describe_rep()}",
                               "see the status message; delete the replication configuration and re-run REPLICATE")

    def _replicate_back(self, ctx: RunContext, p: _Pair, out: PhaseOutcome) -> None:
        """The target writes and replicates nowhere: make the source its replica."""
        source_efs = p.source_efs()
        old = p.file_system(source_efs, p.source)
        if old is None:
            raise AdapterError(p.rid, f"{p.source} no longer exists",
                               f"replicate {p.target.fs_id} to a new file system (CreateReplicationConfiguration "
                               "without FileSystemId) and put its id in the manifest")
        problem = ctx.scope.mismatch(_tags(old))
        if problem:
            raise AdapterError(p.rid, f"{p.source} is out of scope: {problem}", SCOPE_FIX)
        stale = p.replication(source_efs, p.source)
        if stale is not None:  # what its region still holds after an unplanned failover: delete it there only
            if not (p.links(stale, p.source, p.target) or p.links(stale, p.target, p.source)):
                raise AdapterError(p.rid, f"{p.source} is part of another replication ({p.describe_rep(stale)})",
                                   "delete that replication configuration, then re-run REPLICATE")
            if _destination(stale)["Status"] != "DELETING":
                self._delete_stale(ctx, p, source_efs, stale)
                out.notes.append(f"{p.rid}: deleting the orphaned replication {p.describe_rep(stale)} in "
                                 f"{p.source.region}")
            if not ctx.dry_run:
                out.waits.append(p.wait("ReplicationDeleted", p.source, f"{p.source} out of its old replication"))
                return
        if _protection(old) == WRITABLE:  # AWS replicates only into a file system whose protection is DISABLED
            ctx.mutate(source_efs, "update_file_system_protection", FileSystemId=p.source.fs_id,
                       ReplicationOverwriteProtection="DISABLED")
            out.notes.append(f"{p.rid}: {p.source} overwrite protection DISABLED (read-only, a replication destination)")
        try:
            ctx.mutate(p.efs, "create_replication_configuration", SourceFileSystemId=p.target.fs_id,
                       Destinations=[{"Region": p.source.region, "FileSystemId": p.source.fs_id}])
        except ClientError:  # a retry of a create whose reply was lost: fine if it is that replication
            p.reread()
            if not p.replicates_back:
                raise
        out.notes.append(f"{p.rid}: replicating {p.target.fs_id} back into {p.source.fs_id}")
        if not ctx.dry_run:
            out.waits.append(p.wait("ReplicationEnabled", p.target, f"replication {p.target.fs_id} -> "
                                                                    f"{p.source.fs_id} ENABLED"))

    @staticmethod
    def _delete_stale(ctx: RunContext, p: _Pair, source_efs: Any, stale: dict[str, Any]) -> None:
        try:
            ctx.mutate(source_efs, "delete_replication_configuration", SourceFileSystemId=stale["SourceFileSystemId"],
                       DeletionMode="LOCAL_CONFIGURATION_ONLY")
        except ClientError as err:  # a retry whose reply was lost: fine if it is going or gone
            now = p.replication(source_efs, p.source)
            if _code(err) not in (*GONE, "BadRequest") or (now is not None and _destination(now)["Status"] != "DELETING"):
                raise

    # -- tag discovery ---------------------------------------------------------------------------------
    # Either file system of a pair may be tagged; its replication configuration names the other. Both regions'
    # configurations are listed once (DescribeReplicationConfigurations per region), so a dark region leaves the
    # pair to the other region's listing.
    discovery_types = ("elasticfilesystem:file-system",)

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"efs/{account_id}/{config['fileSystemId']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        by_member: dict[tuple[str, str], dict[str, Any]] = {}
        for region in (read.primary, read.dr):
            try:
                pages = read.client("efs", region).get_paginator("describe_replication_configurations").paginate()
                for rep in (r for page in pages for r in page["Replications"]):
                    d = _destination(rep)
                    by_member[(rep["SourceFileSystemRegion"], rep["SourceFileSystemId"])] = rep
                    by_member.setdefault((d["Region"], d["FileSystemId"]), rep)
            except (BotoCoreError, ClientError):  # a dark region: pair what the other one shows
                continue
        return [self._derived(f, by_member.get((f.region, f.name)), read) for f in found]

    def _derived(self, f: Tagged, rep: dict[str, Any] | None, read: DiscoveryRead) -> Derived | NotDerived:
        if rep is None:
            return NotDerived(f.arn, f"not replicated -- create a replication configuration to a file system in "
                                     f"{read.other(f.region)} (CreateReplicationConfiguration), or remove dr:enabled")
        d = _destination(rep)
        members = {rep["SourceFileSystemRegion"]: rep["SourceFileSystemId"], d["Region"]: d["FileSystemId"]}
        if set(members) != {read.primary, read.dr}:
            return NotDerived(f.arn, f"replicates between {' and '.join(sorted(members))}, not {read.primary} and "
                                     f"{read.dr} -- replicate it to the scope's other region, or remove dr:enabled")
        config = {"fileSystemId": members[read.primary], "drFileSystemId": members[read.dr]}
        return Derived(self.identity(config, read.account_id), "EFS", config["fileSystemId"], config, f.arn, f.tags,
                       secondary=f.region == read.dr)
