"""Amazon RDS DB instances (MySQL, MariaDB, PostgreSQL, Oracle, SQL Server) with a cross-region read replica.

The pair: a writable primary in one region, a read replica of it in the other, created with
``CreateDBInstanceReadReplica`` from the primary's ARN. Where AWS's mechanics differ from the seeds'
wording (PRD Appendix B) we follow AWS:

* ACTIVATE promotes the replica (``PromoteReadReplica``): a promoted replica is a standalone instance
  that never replicates again, and its old primary cannot become its replica (AWS has no "demote").
  A planned run promotes only while the replica's ``ReplicaLag`` (CloudWatch, seconds) is within the
  RPO: there is no switchover that waits for the last write, except on RDS for Oracle, where
  ``SwitchoverReadReplica`` (Data Guard, cross-region supported) swaps the roles with no data loss and
  the old primary *becomes* the replica. AWS offers it for Oracle only (MySQL, MariaDB and PostgreSQL
  switch over with blue/green deployments, which stay inside one region), so other engines promote.
* CLEANUP does what the config says with the old primary: nothing, ``StopDBInstance``, or
  ``StopDBInstance`` with ``DBSnapshotIdentifier``. A stopped instance restarts by itself after 7 days.
* REPLICATE re-protects by creating a *new* replica of the new primary in the old region. It needs an
  identifier of its own while the old primary exists: each region has two (its configured identifier
  and an alternate, default ``<identifier>-alt``) and the replica takes the free one; with
  ``oldPrimary: delete`` the old primary is deleted (final snapshot) and its identifier reused.
  A failover and a failback therefore move the pair between the two identifiers of each region; the
  serving roles (which region writes, and that the other replicates from it) round-trip exactly.

Which instance writes is read from AWS, never remembered: the source of a cross-region replica of the
pair writes; with no replica (after a promotion, before REPLICATE) the standalone instance promoted
last does, named by the ``dr:promoted-at`` tag ACTIVATE puts on the replica before promoting it. Two
standalone instances with no such difference are refused as ambiguous rather than guessed. An
unplanned run reads only the region it moves to: a standalone instance there is taken as the writer.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field, model_validator

from dr_adapters.adapters.base import (
    ActionConfig, AdapterError, Finding, HealthCheck, PhaseOutcome, RunContext, ServiceSide,
)
from dr_adapters.adapters.capacity import RDS_INSTANCES, Need
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged, arn_region
from dr_adapters.adapters.prerequisites import kms_key_problem
from dr_adapters.adapters.rds_pair import (
    LAG_METRIC, MARK, ReplicaPair, copied_tags, id_of, mark_of, read_side, resolve_writer, source_of, stamp, status_of,
    tags_of,
)
from dr_adapters.adapters.replicated import ReplicatedGroupAdapter
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

ALTERNATE_SUFFIX = "-alt"
ENGINES = ("mysql", "mariadb", "postgres", "oracle-", "sqlserver-")  # engine prefixes with DB-instance replicas
MAX_IDENTIFIER = 63
IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]*$")  # what RDS takes (lowercased), length aside


class RdsConfig(ActionConfig):
    db_instance_identifier: str = Field(
        alias="dbInstanceIdentifier",
        description="DB instance in the primary region: the writable primary when the estate is set up.")
    dr_db_instance_identifier: str = Field(
        alias="drDbInstanceIdentifier",
        description="DB instance in the DR region: the cross-region read replica of the primary.")
    alternate_identifier: str | None = Field(
        None, alias="alternateIdentifier",
        description="The primary region's second identifier: REPLICATE after a failover creates the replica "
        "there under it while the old primary keeps dbInstanceIdentifier (default: dbInstanceIdentifier-alt).")
    dr_alternate_identifier: str | None = Field(
        None, alias="drAlternateIdentifier",
        description="The DR region's second identifier, likewise for the replica a failback's REPLICATE creates "
        "(default: drDbInstanceIdentifier-alt).")
    create_replica: bool = Field(
        False, alias="createReplica",
        description="INSTANTIATE creates the replica in the region moved to (CreateDBInstanceReadReplica from "
        "the primary's ARN) when it does not exist; false: a missing replica is an error.")
    replica_instance_class: str | None = Field(
        None, alias="replicaInstanceClass",
        description="Instance class of the replicas INSTANTIATE and REPLICATE create (default: the primary's).")
    kms_key_id: str | None = Field(
        None, alias="kmsKeyId",
        description="KMS key in the primary region for a replica created there of an encrypted primary "
        "(AWS needs a key of the replica's region).")
    dr_kms_key_id: str | None = Field(
        None, alias="drKmsKeyId", description="KMS key in the DR region, likewise.")
    cleanup: Literal["none", "stop", "snapshot-and-stop"] = Field(
        "none",
        description="CLEANUP of the old primary: none (left running, standalone and writable), stop "
        "(StopDBInstance; AWS restarts it after 7 days), snapshot-and-stop (StopDBInstance with "
        "DBSnapshotIdentifier).")
    old_primary: Literal["keep", "delete"] = Field(
        "keep", alias="oldPrimary",
        description="REPLICATE: keep the old primary (the new replica takes the region's free identifier; "
        "when both are taken REPLICATE stops and names the one to delete), or delete it with a final "
        "snapshot and re-create the replica under its identifier.")
    backup_retention_period: int | None = Field(
        None, alias="backupRetentionPeriod", ge=1, le=35,
        description="Days of automated backups of the promoted instance (PromoteReadReplica; unset: AWS's "
        "default of 1). REPLICATE needs them on: AWS replicates only from an instance with backups.")
    switchover: bool = Field(
        True,
        description="RDS for Oracle EE only: a planned run uses SwitchoverReadReplica (roles swap, no data "
        "loss; the replica needs automated backups). false: PromoteReadReplica as for the other engines.")

    @model_validator(mode="after")
    def _identifiers_fit(self) -> RdsConfig:
        # Only names: an imported manifest's placeholders (``<fill: ...>``, ``!Import ...``) are the loader's to refuse.
        ids = [i for i in (*self.ids(primary=True), *self.ids(primary=False)) if IDENTIFIER.match(i)]
        long = [i for i in ids if len(i) > MAX_IDENTIFIER]
        if long:
            raise ValueError(f"DB instance identifiers have at most {MAX_IDENTIFIER} characters: {long} -- set "
                             "alternateIdentifier / drAlternateIdentifier")
        if len(set(ids)) != len(ids):
            raise ValueError(f"the four DB instance identifiers must differ: {ids}")
        return self

    def ids(self, *, primary: bool) -> tuple[str, str]:
        """A region's two identifiers (lowercase, as RDS stores them): configured, alternate."""
        main = self.db_instance_identifier if primary else self.dr_db_instance_identifier
        alternate = self.alternate_identifier if primary else self.dr_alternate_identifier
        return main.lower(), (alternate or main + ALTERNATE_SUFFIX).lower()


class RdsAdapter(ReplicatedGroupAdapter[ReplicaPair]):
    rollback_phases = ()
    rollback_left_because = ("a promoted read replica cannot be made a replica again; the old primary still serves "
                             "(CLEANUP never ran) -- recreate the DR replica (REPLICATE of a failback) once decided")
    actions = ("RDS",)
    group_noun = "replica pair"
    config_model = RdsConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    drill_behaviour = (
        "read-only: checks the target is an available replica of the primary within RPO (ReplicaLag); "
        "never promotes, stops or creates an instance")
    unplanned_behaviour = (
        "PromoteReadReplica whatever the lag (never a switchover), reading only the target region; the "
        "replica's last ReplicaLag is the data-loss exposure; CLEANUP (the old primary) and REPLICATE (a "
        "new replica in the old region) wait for reprotect")
    phase_summaries = {
        Phase.INSTANTIATE: "ensure the target replica exists and is available (CreateDBInstanceReadReplica from "
        "the primary's ARN when createReplica is set)",
        Phase.ACTIVATE: f"promote the target replica (tag {MARK}, then PromoteReadReplica; planned only within "
        "RPO by ReplicaLag; RDS for Oracle: SwitchoverReadReplica) and wait until it is available and standalone",
        Phase.CLEANUP: "the old primary as cleanup says: none, StopDBInstance, or StopDBInstance with "
        "DBSnapshotIdentifier",
        Phase.REPLICATE: "create a replica of the new primary in the old region under its free identifier "
        "(or, with oldPrimary: delete, delete the old primary with a final snapshot and reuse its identifier)",
    }
    iam_actions = ("rds:DescribeDBInstances", "rds:CreateDBInstanceReadReplica", "rds:AddTagsToResource",
                   "rds:PromoteReadReplica", "rds:SwitchoverReadReplica", "rds:StopDBInstance", "rds:DeleteDBInstance",
                   "cloudwatch:GetMetricStatistics", "kms:DescribeKey")  # DescribeKey: preflight (_key_problems)
    service_side_actions = (
        ServiceSide("SnapshotOnStopOrDelete", ("rds:CreateDBSnapshot",),
                    "StopDBInstance with DBSnapshotIdentifier (cleanup: snapshot-and-stop) and DeleteDBInstance "
                    "with FinalDBSnapshotIdentifier (oldPrimary: delete) take a DB snapshot."),
        ServiceSide("EncryptedReplicaKeys", ("kms:CreateGrant", "kms:DescribeKey"),
                    "CreateDBInstanceReadReplica of an encrypted primary with KmsKeyId: RDS uses the key of the "
                    "replica's region with the caller's permissions."),
    )

    def _member(self, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec) -> ReplicaPair:
        return ReplicaPair(self, ctx, unit, resource)

    def capacity_needs(self, ctx: RunContext, unit: WorkUnit) -> list[Need]:
        """DB instances the run creates: the target replica INSTANTIATE creates when it is missing
        (``createReplica``), and the replica REPLICATE creates in the region left (a planned run; with
        ``oldPrimary: delete`` the old primary makes room for it first). A drill creates none."""
        if ctx.is_drill:
            return []
        needs = []
        for m in self._members(ctx, unit):
            if m.target is None and m.cfg.create_replica and not ctx.unplanned:
                needs.append(Need(RDS_INSTANCES, 1, ctx.target_region, (Phase.INSTANTIATE,), (m.rid,),
                                  f"read replica {m.target_id} created"))
            if not ctx.unplanned and m.source_member is None and m.cfg.old_primary == "keep":
                needs.append(Need(RDS_INSTANCES, 1, ctx.source_region, (Phase.REPLICATE,), (m.rid,),
                                  f"a replica of {m.target_id} created in {ctx.source_region}"))
        return needs

    # -- read-only ---------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        return [self._preflight(ctx, m) for m in self._members(ctx, unit)]

    def _preflight(self, ctx: RunContext, m: ReplicaPair) -> Finding:
        problems: list[str] = []
        notes: list[str] = []
        tags = tags_of(m.target) if m.target else None
        exposure = None
        checked = [m.target] if m.target else []
        if not ctx.unplanned:
            try:
                checked += list(m.source_side.values())
            except BotoCoreError as err:  # the region left may be down: that is what unplanned is for
                problems.append(f"{ctx.source_region} unreachable: {err} -- re-trigger with failover_mode=unplanned")
        for instance in checked:
            mismatch = ctx.scope.mismatch(tags_of(instance))
            if mismatch:
                problems.append(f"DB instance {id_of(instance)} is outside this run's scope: {mismatch}")
                tags = tags_of(instance)
        if problems:
            return Finding(m.rid, False, "; ".join(problems), tags=tags)
        if m.target is None:
            if m.cfg.create_replica and not ctx.unplanned:
                notes.append(f"no replica in {ctx.target_region} yet: INSTANTIATE creates {m.target_ids[0]}")
            else:
                problems.append(f"no DB instance {' or '.join(m.target_ids)} in {ctx.target_region}")
        elif ctx.unplanned:
            if m.target_writes and not mark_of(m.target):
                problems.append(f"{m.target_id} is standalone but no DR run promoted it: reprotect the last "
                                "failover first")
            elif m.target_writes:
                notes.append(f"already failed over: {m.target_id} is standalone")
            else:  # the primary is dark: the replica's last reported lag is what may be lost
                lag = m.replica_lag()
                exposure = (f"{m.target_id}: last replica lag {lag:.0f} s" if lag is not None
                            else f"{m.target_id}: no {LAG_METRIC} data, data loss unknown")
                notes.append(f"unplanned: PromoteReadReplica with data loss up to the lag; {exposure}")
        else:
            writer, why = m.writer()
            if writer is None:
                problems.append(why)
            elif writer is m.target:
                notes.append(f"already failed over: {m.target_id} writes")
            elif not m.from_source_region(m.target) or source_of(m.target) != writer["DBInstanceArn"]:
                problems.append(f"{m.target_id} does not replicate from the writer {id_of(writer)}")
            else:
                problem, note = m.lag_problem()
                problems += [problem] if problem else []
                notes += [note, f"writer {id_of(writer)}, {m.mode} to {m.target_id}"] if not problem else []
                if m.mode == "switchover" and not m.target.get("BackupRetentionPeriod"):
                    problems.append(f"{m.target_id}: SwitchoverReadReplica needs automated backups on the replica "
                                    "(ModifyDBInstance BackupRetentionPeriod), or set switchover: false")
        if not ctx.unplanned:
            problems += self._key_problems(ctx, m)
        return Finding(m.rid, not problems, "; ".join(problems or notes), tags=tags, exposure=exposure)

    @staticmethod
    def _key_problems(ctx: RunContext, m: ReplicaPair) -> list[str]:
        """An encrypted pair's replicas across regions need a KMS key of their region (AWS refuses them
        otherwise): INSTANTIATE's in the region moved to (createReplica), REPLICATE's in the one left."""
        if not any(i.get("StorageEncrypted") for i in [m.target or {}, *m.source_side.values()]):
            return []
        regions = [(ctx.target_region, "INSTANTIATE")] if m.target is None and m.cfg.create_replica else []
        regions += [] if ctx.is_drill else [(ctx.source_region, "REPLICATE")]
        problems = []
        for region, phase in regions:
            field = "kmsKeyId" if region == ctx.regions.primary else "drKmsKeyId"
            key = m.cfg.kms_key_id if field == "kmsKeyId" else m.cfg.dr_kms_key_id
            why = kms_key_problem(ctx.client("kms", region, m.account_id), key) if key else "is not set"
            if why:
                problems.append(f"{field} {key + ' ' if key else ''}{why} in {region}: {phase} creates an encrypted "
                                f"replica there -- set {field} to an enabled KMS key of {region}")
        return problems

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        return [self._validate(ctx, m) for m in self._members(ctx, unit)]

    def _validate(self, ctx: RunContext, m: ReplicaPair) -> HealthCheck:
        if m.target is None:
            return HealthCheck(m.rid, Health.UNHEALTHY, f"no DB instance {m.target_id} in {ctx.target_region}")
        status = status_of(m.target)
        if ctx.is_drill:
            ok = status == "available" and (m.target_writes or m.from_source_region(m.target))
            role = "the writer" if m.target_writes else "a replica"
            return HealthCheck(m.rid, Health.HEALTHY if ok else Health.UNHEALTHY,
                               f"drill: {m.target_id} is {status}, {role}")
        if m.target_writes and status == "available":
            return HealthCheck(m.rid, Health.HEALTHY, f"{m.target_id} writes in {ctx.target_region}")
        return HealthCheck(m.rid, Health.UNHEALTHY, f"{m.target_id}: status {status}, "
                           f"{'standalone' if m.target_writes else 'still a replica of ' + source_of(m.target)}")

    # -- phases ------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        outcome = PhaseOutcome()
        for m in self._members(ctx, unit):
            if m.target is None and m.cfg.create_replica and not ctx.unplanned and not ctx.is_drill:
                writer, why = resolve_writer(list(m.source_side.values()))
                if writer is None:
                    raise AdapterError(m.rid, f"no writer in {ctx.source_region} to replicate from: {why}",
                                       "check dbInstanceIdentifier / drDbInstanceIdentifier")
                m.require_scope(writer)
                name = next(i for i in m.target_ids if i not in m.target_side)
                self._create_replica(ctx, m, m.rds, name, writer, ctx.source_region, outcome)
                continue
            m.require()
            if ctx.is_drill:
                outcome.notes.append(f"{m.rid}: drill, read-only; {m.target_id} is {status_of(m.target)}")
            elif m.target_writes or status_of(m.target) == "available":
                role = "the writer" if m.target_writes else "an available replica"
                outcome.notes.append(f"{m.rid}: {m.target_id} is {role}")
            else:
                outcome.waits.append(m.wait("db_instance_available", ctx.target_region, m.target_id, "available"))
        return outcome

    def _create_replica(self, ctx: RunContext, m: ReplicaPair, rds: Any, name: str, source: dict[str, Any],
                        source_region: str, outcome: PhaseOutcome) -> None:
        """CreateDBInstanceReadReplica ``name`` (in ``rds``'s region) of ``source``, then wait for it."""
        region = rds.meta.region_name
        call: dict[str, Any] = {
            "DBInstanceIdentifier": name, "SourceDBInstanceIdentifier": source["DBInstanceArn"],
            # boto3 pre-signs the request for the source region (PreSignedUrl): needed for an encrypted source
            "SourceRegion": source_region, "Tags": copied_tags(source)}
        if m.cfg.replica_instance_class:
            call["DBInstanceClass"] = m.cfg.replica_instance_class
        key = m.cfg.kms_key_id if region == ctx.regions.primary else m.cfg.dr_kms_key_id
        if key:
            call["KmsKeyId"] = key
        try:
            ctx.mutate(rds, "create_db_instance_read_replica", **call)
        except ClientError as err:  # a retry of a create whose reply was lost: fine if it is that replica
            if err.response["Error"]["Code"] != "DBInstanceAlreadyExists" or \
                    source_of(read_side(rds, (name,)).get(name) or {}) != source["DBInstanceArn"]:
                raise
        outcome.notes.append(f"{m.rid}: creating {name} in {region}, a replica of {id_of(source)}")
        if not ctx.dry_run:
            outcome.waits.append(m.wait("db_instance_available", region, name, "available"))

    def _drill(self, ctx: RunContext, m: ReplicaPair) -> str:
        if m.target_writes:
            return f"drill, read-only; {m.target_id} already writes"
        if status_of(m.target) != "available":
            raise AdapterError(m.rid, f"drill: replica {m.target_id} is {status_of(m.target)}",
                               "investigate the replica before relying on it")
        problem, note = m.lag_problem()
        if problem:
            raise AdapterError(m.rid, f"drill: {problem}", "investigate replication before relying on it")
        return f"drill, read-only; {note}, a {m.mode} would take over"

    def _promote(self, ctx: RunContext, m: ReplicaPair) -> None:
        if not ctx.unplanned:  # planned: no more data loss than the RPO allows
            problem, _ = m.lag_problem()
            if problem:
                raise AdapterError(m.rid, problem, "wait for the replica to catch up, or re-trigger with "
                                   "failover_mode=unplanned to accept the loss")
        if m.mode == "switchover" and not m.target.get("BackupRetentionPeriod"):
            raise AdapterError(m.rid, f"SwitchoverReadReplica needs automated backups on {m.target_id}",
                               "ModifyDBInstance BackupRetentionPeriod on the replica, or set switchover: false")
        # The mark first: once promoted, it is what says this instance writes rather than the old primary.
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
        ctx.mutate(m.rds, "add_tags_to_resource", ResourceName=m.target["DBInstanceArn"],
                   Tags=[{"Key": MARK, "Value": now}])
        m.promotion_requested = True
        if m.mode == "switchover":
            ctx.mutate(m.rds, "switchover_read_replica", DBInstanceIdentifier=m.target_id)
        else:
            days = m.cfg.backup_retention_period
            ctx.mutate(m.rds, "promote_read_replica", DBInstanceIdentifier=m.target_id,
                       **({"BackupRetentionPeriod": days} if days else {}))

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=["RdsAdapter: drill, CLEANUP is a no-op"])
        outcome = PhaseOutcome()
        for m in self._members(ctx, unit):
            m.require()
            if m.cfg.cleanup == "none":
                outcome.notes.append(f"{m.rid}: cleanup none, the old primary is left as it is")
                continue
            m.require_writer("CLEANUP")
            old = m.old_primary
            if old is None:  # a switchover made it the replica; or it is gone
                outcome.notes.append(f"{m.rid}: no standalone old primary in {ctx.source_region}")
                continue
            m.require_scope(old)
            self._stop(ctx, m, old, outcome)
        return outcome

    def _stop(self, ctx: RunContext, m: ReplicaPair, old: dict[str, Any], outcome: PhaseOutcome) -> None:
        name, status = id_of(old), status_of(old)
        if status == "stopped":
            outcome.notes.append(f"{m.rid}: old primary {name} is stopped")
            return
        if status == "stopping":
            outcome.waits.append(m.wait("DBInstanceStopped", ctx.source_region, name, "stopped"))
            return
        others = [r for r in old.get("ReadReplicaDBInstanceIdentifiers") or [] if r != m.target["DBInstanceArn"]]
        if others and not ctx.dry_run:
            raise AdapterError(m.rid, f"cannot stop {name}: it has read replicas {others} and AWS stops no "
                               "instance with replicas",
                               "delete or promote those replicas, or set cleanup: none")
        if status != "available":
            outcome.waits.append(m.wait("db_instance_available", ctx.source_region, name, "available to stop"))
            return
        call = {"DBInstanceIdentifier": name}
        if m.cfg.cleanup == "snapshot-and-stop":
            call["DBSnapshotIdentifier"] = f"{name}-dr-{stamp()}"
        try:
            ctx.mutate(m.source_rds, "stop_db_instance", **call)
        except ClientError as err:  # a retry of a stop whose reply was lost: fine if it is stopping
            now = read_side(m.source_rds, (name,)).get(name)
            if err.response["Error"]["Code"] not in ("InvalidDBInstanceState", "DBSnapshotAlreadyExists") \
                    or now is None or status_of(now) not in ("stopping", "stopped"):
                raise
        outcome.notes.append(f"{m.rid}: stopping old primary {name}"
                             + (f" after snapshot {call['DBSnapshotIdentifier']}" if len(call) > 1 else ""))
        if not ctx.dry_run:
            outcome.waits.append(m.wait("DBInstanceStopped", ctx.source_region, name, "stopped"))

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=["RdsAdapter: drill, REPLICATE is a no-op"])
        outcome = PhaseOutcome()
        for m in self._members(ctx, unit):
            m.require()
            writer = m.require_writer("REPLICATE")
            replica = m.source_member
            if replica is not None:
                if status_of(replica) == "available":
                    outcome.notes.append(f"{m.rid}: {id_of(replica)} replicates from {m.target_id}")
                else:
                    outcome.waits.append(m.wait("db_instance_available", ctx.source_region, id_of(replica), "available"))
                continue
            if status_of(writer) != "available" and not ctx.dry_run:
                outcome.waits.append(m.wait("db_instance_available", ctx.target_region, m.target_id, "available"))
                continue
            if not writer.get("BackupRetentionPeriod") and not ctx.dry_run:
                raise AdapterError(m.rid, f"{m.target_id} has no automated backups: AWS replicates only from an "
                                   "instance with backups", "ModifyDBInstance BackupRetentionPeriod on it, or set "
                                   "backupRetentionPeriod so ACTIVATE promotes with backups")
            name = self._replica_identifier(ctx, m, outcome)
            if name:
                self._create_replica(ctx, m, m.source_rds, name, writer, ctx.target_region, outcome)
        return outcome

    def _replica_identifier(self, ctx: RunContext, m: ReplicaPair, outcome: PhaseOutcome) -> str | None:
        """The identifier the new replica takes in the region moved from; None while one is being freed."""
        deleting = [id_of(i) for i in m.source_side.values() if status_of(i) == "deleting"]
        if deleting:  # ours from an earlier round (oldPrimary: delete), or anyone's: its identifier frees up
            outcome.waits.append(m.wait("db_instance_deleted", ctx.source_region, deleting[0], "deleted"))
            return None
        old = m.old_primary
        if m.cfg.old_primary == "delete" and old is not None:
            m.require_scope(old)
            name = id_of(old)
            try:
                ctx.mutate(m.source_rds, "delete_db_instance", DBInstanceIdentifier=name,
                           FinalDBSnapshotIdentifier=f"{name}-final-{stamp()}")
            except ClientError as err:  # a retry of a delete whose reply was lost: fine if it is going
                now = read_side(m.source_rds, (name,)).get(name)
                if err.response["Error"]["Code"] != "InvalidDBInstanceState" or (now and status_of(now) != "deleting"):
                    raise
            outcome.notes.append(f"{m.rid}: deleting old primary {name} (final snapshot) to reuse its identifier")
            if ctx.dry_run:
                return name
            outcome.waits.append(m.wait("db_instance_deleted", ctx.source_region, name, "deleted"))
            return None
        free = [i for i in m.source_ids if i not in m.source_side]
        if not free:
            raise AdapterError(m.rid, f"no free identifier in {ctx.source_region} for the replica of {m.target_id}: "
                               f"{' and '.join(m.source_ids)} both exist", self._rejoin_fix(ctx, m))
        return free[0]

    def _rejoin_fix(self, ctx: RunContext, m: ReplicaPair) -> str:
        stale = [i for i in m.source_ids if i != id_of(m.old_primary)]
        return (f"delete {stale[0]} (a primary retired by an earlier failover) once its data is no longer needed, "
                "or set oldPrimary: delete, then re-run REPLICATE")

    # -- tag discovery ---------------------------------------------------------------------------
    # Either instance of a pair may be tagged; each names the same pair. The primary is the member in the
    # scope's primary region; an instance retired by a failover names the pair its other identifier is in.
    discovery_types = ("rds:db",)
    recovery_strategies = {"switchover": {"switchover": True}, "promote": {"switchover": False}}

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"rds/{account_id}/{config['dbInstanceIdentifier'].lower()}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        listed: dict[str, dict[str, dict[str, Any]]] = {}  # region -> identifier -> instance
        for region in (read.primary, read.dr):
            try:
                pages = read.client("rds", region).get_paginator("describe_db_instances").paginate()
                listed[region] = {i["DBInstanceIdentifier"]: i for page in pages for i in page["DBInstances"]}
            except (BotoCoreError, ClientError):  # a dark region: pair what the other one shows
                listed[region] = {}
        by_arn = {i["DBInstanceArn"]: i for ids in listed.values() for i in ids.values()}
        return [self._derived(f, by_arn.get(f.arn), listed, by_arn, read) for f in found]

    def _derived(self, f: Tagged, instance: dict[str, Any] | None, listed: dict[str, dict[str, dict[str, Any]]],
                 by_arn: dict[str, dict[str, Any]], read: DiscoveryRead) -> Derived | NotDerived:
        if instance is None:
            return NotDerived(f.arn, f"not found in {f.region} -- run discover again, or remove its dr:enabled tag")
        if instance.get("DBClusterIdentifier"):
            return NotDerived(f.arn, f"an instance of Aurora cluster {instance['DBClusterIdentifier']}: the "
                                     "AuroraMySQL/AuroraPostgreSQL action protects it -- see its global database")
        if not instance["Engine"].startswith(ENGINES):
            return NotDerived(f.arn, f"engine {instance['Engine']!r} has no cross-region read replicas here -- "
                                     "remove its dr:enabled tag")
        pair = self._pair_of(instance, read)
        stale = False
        if pair is None:  # a primary retired by a failover: named by the pair its other identifier is in
            name = instance["DBInstanceIdentifier"]
            sibling = name[:-len(ALTERNATE_SUFFIX)] if name.endswith(ALTERNATE_SUFFIX) else name + ALTERNATE_SUFFIX
            other = listed.get(f.region, {}).get(sibling)
            pair, stale = (self._pair_of(other, read) if other else None), True
        if pair is None:
            dr_id = f.tags.get("dr:dr-db-instance-identifier")
            if f.region != read.primary or not dr_id:
                return NotDerived(f.arn, f"no cross-region read replica in {read.dr} -- create one "
                                         "(CreateDBInstanceReadReplica), or tag the primary "
                                         "dr:dr-db-instance-identifier and dr:create-replica=true")
            pair, stale = (instance["DBInstanceIdentifier"], dr_id), False
        primary_id, dr_id = (self._configured(i, listed.get(r, {})) for i, r in zip(pair, (read.primary, read.dr)))
        config = {"dbInstanceIdentifier": f.tags.get("dr:db-instance-identifier", primary_id),
                  "drDbInstanceIdentifier": f.tags.get("dr:dr-db-instance-identifier", dr_id)}
        return Derived(self.identity(config, read.account_id), "RDS", config["dbInstanceIdentifier"], config, f.arn,
                       f.tags, secondary=stale or f.region != read.primary)

    @staticmethod
    def _pair_of(instance: dict[str, Any], read: DiscoveryRead) -> tuple[str, str] | None:
        """(primary-region id, DR-region id) of the cross-region replication ``instance`` is part of."""
        region = arn_region(instance["DBInstanceArn"])
        partners = [source_of(instance)] if source_of(instance) else instance.get("ReadReplicaDBInstanceIdentifiers") or []
        for arn in partners:
            if arn.startswith("arn:") and arn_region(arn) == read.other(region) and region in (read.primary, read.dr):
                ids = {region: instance["DBInstanceIdentifier"], arn_region(arn): arn.split(":")[-1]}
                return ids[read.primary], ids[read.dr]
        return None

    @staticmethod
    def _configured(name: str, region_ids: dict[str, Any]) -> str:
        """The configured identifier of a pair member: an alternate's base when that one exists too."""
        base = name[:-len(ALTERNATE_SUFFIX)] if name.endswith(ALTERNATE_SUFFIX) else None
        return base if base and base in region_ids else name
