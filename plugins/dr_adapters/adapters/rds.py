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
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field, model_validator

from dr_adapters.adapters.base import (
    ActionConfig, AdapterError, Finding, HealthCheck, PhaseOutcome, RunContext, ServiceSide, Wait,
)
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged, arn_region
from dr_adapters.adapters.replicated import GroupMember, ReplicatedGroupAdapter
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

LAG_METRIC = "ReplicaLag"  # seconds, published by each read replica; -1: replication is not running
MARK = "dr:promoted-at"  # ISO-8601 UTC time ACTIVATE promoted the instance: the newest writes
ALTERNATE_SUFFIX = "-alt"
ENGINES = ("mysql", "mariadb", "postgres", "oracle-", "sqlserver-")  # engine prefixes with DB-instance replicas
SWITCHOVER_ENGINES = ("oracle-ee", "oracle-ee-cdb")  # SwitchoverReadReplica: RDS for Oracle (EE) only
SCOPE_FIX = "tag the DB instance with this estate's Customer/Environment, or remove it from the manifest"
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


# -- reading instances ---------------------------------------------------------------------------
def _tags(instance: dict[str, Any] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (instance or {}).get("TagList") or []}


def _mark(instance: dict[str, Any]) -> str:
    return _tags(instance).get(MARK, "")


def _source(instance: dict[str, Any]) -> str:
    return instance.get("ReadReplicaSourceDBInstanceIdentifier") or ""


def _id(instance: dict[str, Any] | None) -> str:
    return (instance or {}).get("DBInstanceIdentifier", "")


def _status(instance: dict[str, Any]) -> str:
    return instance["DBInstanceStatus"]


def _copied_tags(instance: dict[str, Any]) -> list[dict[str, str]]:
    """Tags for a replica of ``instance``: its own, less AWS's and the promotion mark."""
    return [t for t in instance.get("TagList") or [] if not t["Key"].startswith("aws:") and t["Key"] != MARK]


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")


def read_side(rds: Any, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The pair's instances in one region, by identifier (one call for both identifiers)."""
    found = rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": list(ids)}])["DBInstances"]
    return {i["DBInstanceIdentifier"]: i for i in found}


def resolve_writer(instances: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The writer among the pair's instances of both regions, and why none when there is none."""
    live = [i for i in instances if _status(i) != "deleting"]
    by_arn = {i["DBInstanceArn"]: i for i in live}
    for replica in live:
        source = by_arn.get(_source(replica))
        if source is not None and not _source(source):
            return source, ""
    standalone = sorted((i for i in live if not _source(i)), key=_mark, reverse=True)
    if len(standalone) > 1 and _mark(standalone[0]) == _mark(standalone[1]):
        names = " and ".join(_id(i) for i in standalone[:2])
        return None, (f"{names} are both standalone: neither replicates from the other and neither was "
                      f"promoted later ({MARK} tag)")
    return (standalone[0], "") if standalone else (None, "no standalone DB instance")


class _Pair(GroupMember):
    """One manifest resource resolved for this run: the instances of the region moved to, read now;
    those of the region moved from only when needed (never in an unplanned run)."""

    def __init__(self, adapter: RdsAdapter, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec):
        self.cfg: RdsConfig = adapter.config(resource)
        self.rid, self.ctx, self.account_id = resource.resource_id, ctx, unit.account_id
        self.group_id = self.cfg.db_instance_identifier
        self.source_ids, self.target_ids = ctx.source_and_target(self.cfg.ids(primary=True),
                                                                 self.cfg.ids(primary=False))
        self.rds = ctx.client("rds", ctx.target_region, unit.account_id)
        self.target_side = read_side(self.rds, self.target_ids)
        self._source_side: dict[str, dict[str, Any]] | None = None
        self.promotion_requested = False
        self.target = self._pick_target()
        self.target_id = _id(self.target) or self.target_ids[0]

    def _from_source_region(self, instance: dict[str, Any]) -> bool:
        parts = _source(instance).split(":")
        return len(parts) > 6 and parts[3] == self.ctx.source_region and parts[-1] in self.source_ids

    def _pick_target(self) -> dict[str, Any] | None:
        """The instance of the region moved to that is (or becomes) the writer: its replica of the other
        region, else its standalone instance promoted last (an older one is a retired primary)."""
        live = [i for i in self.target_side.values() if _status(i) != "deleting"]
        replicas = [i for i in live if self._from_source_region(i)]
        standalone = sorted((i for i in live if not _source(i)), key=_mark, reverse=True)
        return (replicas or standalone or live or [None])[0]

    # -- the region moved from (read lazily: an unplanned run never reaches it) --------------------
    @property
    def source_rds(self) -> Any:
        return self.ctx.client("rds", self.ctx.source_region, self.account_id)

    @property
    def source_side(self) -> dict[str, dict[str, Any]]:
        if self._source_side is None:
            self._source_side = read_side(self.source_rds, self.source_ids)
        return self._source_side

    def writer(self) -> tuple[dict[str, Any] | None, str]:
        return resolve_writer([*self.target_side.values(), *self.source_side.values()])

    @property
    def old_primary(self) -> dict[str, Any] | None:
        """The standalone instance of the region moved from that was promoted last: the old primary."""
        standalone = [i for i in self.source_side.values() if not _source(i) and _status(i) != "deleting"]
        return max(standalone, key=_mark, default=None)

    @property
    def source_member(self) -> dict[str, Any] | None:
        """The replica of the target in the region moved from (None: not re-protected yet)."""
        arn = (self.target or {}).get("DBInstanceArn")
        return next((i for i in self.source_side.values() if arn and _source(i) == arn), None)

    @property
    def source_writes(self) -> bool:
        writer, _ = self.writer()
        return any(i is writer for i in self.source_side.values())

    # -- the region moved to ---------------------------------------------------------------------
    @property
    def mode(self) -> str:  # type: ignore[override]
        oracle = (self.target or {}).get("Engine") in SWITCHOVER_ENGINES
        return "switchover" if oracle and self.cfg.switchover and not self.ctx.unplanned else "promotion"

    @property
    def group_status(self) -> str:
        return _status(self.target)

    @property
    def target_writes(self) -> bool:
        return self.target is not None and not _source(self.target)

    def require(self) -> None:
        if self.target is None:
            raise AdapterError(self.rid, f"no DB instance {' or '.join(self.target_ids)} in "
                               f"{self.ctx.target_region}", "check the identifiers and accountId, or set "
                               "createReplica: true so INSTANTIATE creates the replica")
        self.require_scope(self.target)
        if self.ctx.unplanned and self.target_writes and not _mark(self.target):
            # Standalone, yet never promoted by a DR run: the primary an earlier failover left behind (its data
            # stops where that failover began). Unplanned, the other region cannot be read to tell.
            raise AdapterError(self.rid, f"{self.target_id} is standalone but no DR run promoted it ({MARK} "
                               "tag): it is the primary an earlier failover left, not a copy of the writer",
                               "run operation=reprotect of that failover first (a replica to promote), or tag "
                               f"{self.target_id} {MARK}=<UTC time> if it was promoted by hand and writes")
        if self.target_writes and _status(self.target) == "stopped":
            raise AdapterError(self.rid, f"{self.target_id} is stopped: a primary retired by an earlier failover, "
                               "not a replica to promote", "run REPLICATE (or reprotect) of the last failover first")
        if _source(self.target) and not self._from_source_region(self.target):
            raise AdapterError(self.rid, f"{self.target_id} replicates from {_source(self.target)}, not from "
                               f"{' or '.join(self.source_ids)} in {self.ctx.source_region}",
                               "fix the identifiers in the manifest, or re-create the replica from the primary")

    def require_scope(self, instance: dict[str, Any]) -> None:
        reason = self.ctx.scope.mismatch(_tags(instance))
        if reason:
            raise AdapterError(self.rid, f"DB instance {_id(instance)} is outside this run's scope: {reason}",
                               SCOPE_FIX)

    def require_writer(self, phase: str) -> dict[str, Any]:
        """The target, once it writes (read from both regions); in a dry run, as it would after ACTIVATE."""
        writer, why = self.writer()
        if writer is not None and writer is self.target:
            return writer
        if self.ctx.dry_run and self.target is not None and self._from_source_region(self.target):
            return self.target
        raise AdapterError(self.rid, f"{phase}: {self.target_id} is not the writer "
                           f"({why or f'{_id(writer)} in its place'})",
                           "complete ACTIVATE first; if both are standalone, tag the one that writes with "
                           f"{MARK}=<UTC time, e.g. {datetime.now(timezone.utc).isoformat()}>")

    def replica_lag(self) -> float | None:
        """Latest ReplicaLag (seconds) of the target replica; None without data."""
        cw = self.ctx.client("cloudwatch", self.ctx.target_region, self.account_id)
        now = datetime.now(timezone.utc)
        points = cw.get_metric_statistics(
            Namespace="AWS/RDS", MetricName=LAG_METRIC,
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": self.target_id}],
            StartTime=now - timedelta(minutes=15), EndTime=now + timedelta(minutes=1), Period=60,
            Statistics=["Maximum"])["Datapoints"]
        return max(points, key=lambda p: p["Timestamp"])["Maximum"] if points else None

    def lag_problem(self) -> tuple[str | None, str]:
        """(problem, note) of the replica's lag against the RPO."""
        lag = self.replica_lag()
        if lag is None:
            return None, f"no {LAG_METRIC} data for {self.target_id}; replication lag not checked"
        if lag < 0:
            return f"{self.target_id}: replication is not running ({LAG_METRIC} {lag:.0f})", ""
        rpo = self.ctx.rpo_minutes
        if rpo is not None and lag > rpo * 60:
            return f"{self.target_id}: replica lag {lag:.0f} s exceeds RPO of {rpo} min", ""
        return None, f"{self.target_id} replica lag {lag:.0f} s"

    def wait(self, waiter: str, region: str, identifier: str, what: str) -> Wait:
        return Wait(service="rds", region=region, account_id=self.account_id, waiter=waiter,
                    args={"DBInstanceIdentifier": identifier}, description=f"{identifier} {what}", delay=30,
                    max_attempts=240)

    def promotion_wait(self, description: str) -> Wait:
        # After our call: until it is standalone. A busy instance we did not just promote: until available,
        # then ACTIVATE looks again (a replica still being created never becomes standalone by itself).
        waiter = "DBInstancePromoted" if self.promotion_requested else "db_instance_available"
        return Wait(service="rds", region=self.ctx.target_region, account_id=self.account_id, waiter=waiter,
                    args={"DBInstanceIdentifier": self.target_id}, description=description, delay=30,
                    max_attempts=240)

    # A call whose reply was lost is retried by botocore, and RDS refuses the retry because the first
    # attempt did the work; none of these calls has an idempotency token, so read AWS to tell.
    def promoting_already(self, err: ClientError) -> None:
        if err.response.get("Error", {}).get("Code") != "InvalidDBInstanceState":
            raise err
        now = read_side(self.rds, (self.target_id,)).get(self.target_id)
        if now is None or (_status(now) == "available" and _source(now)):
            raise err


class RdsAdapter(ReplicatedGroupAdapter[_Pair]):
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
                   "cloudwatch:GetMetricStatistics")
    service_side_actions = (
        ServiceSide("SnapshotOnStopOrDelete", ("rds:CreateDBSnapshot",),
                    "StopDBInstance with DBSnapshotIdentifier (cleanup: snapshot-and-stop) and DeleteDBInstance "
                    "with FinalDBSnapshotIdentifier (oldPrimary: delete) take a DB snapshot."),
        ServiceSide("EncryptedReplicaKeys", ("kms:CreateGrant", "kms:DescribeKey"),
                    "CreateDBInstanceReadReplica of an encrypted primary with KmsKeyId: RDS uses the key of the "
                    "replica's region with the caller's permissions."),
    )

    def _member(self, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec) -> _Pair:
        return _Pair(self, ctx, unit, resource)

    # -- read-only ---------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        return [self._preflight(ctx, m) for m in self._members(ctx, unit)]

    def _preflight(self, ctx: RunContext, m: _Pair) -> Finding:
        problems: list[str] = []
        notes: list[str] = []
        tags = _tags(m.target) if m.target else None
        exposure = None
        checked = [m.target] if m.target else []
        if not ctx.unplanned:
            try:
                checked += list(m.source_side.values())
            except BotoCoreError as err:  # the region left may be down: that is what unplanned is for
                problems.append(f"{ctx.source_region} unreachable: {err} -- re-trigger with failover_mode=unplanned")
        for instance in checked:
            mismatch = ctx.scope.mismatch(_tags(instance))
            if mismatch:
                problems.append(f"DB instance {_id(instance)} is outside this run's scope: {mismatch}")
                tags = _tags(instance)
        if problems:
            return Finding(m.rid, False, "; ".join(problems), tags=tags)
        if m.target is None:
            if m.cfg.create_replica and not ctx.unplanned:
                notes.append(f"no replica in {ctx.target_region} yet: INSTANTIATE creates {m.target_ids[0]}")
            else:
                problems.append(f"no DB instance {' or '.join(m.target_ids)} in {ctx.target_region}")
        elif ctx.unplanned:
            if m.target_writes and not _mark(m.target):
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
            elif not m._from_source_region(m.target) or _source(m.target) != writer["DBInstanceArn"]:
                problems.append(f"{m.target_id} does not replicate from the writer {_id(writer)}")
            else:
                problem, note = m.lag_problem()
                problems += [problem] if problem else []
                notes += [note, f"writer {_id(writer)}, {m.mode} to {m.target_id}"] if not problem else []
                if m.mode == "switchover" and not m.target.get("BackupRetentionPeriod"):
                    problems.append(f"{m.target_id}: SwitchoverReadReplica needs automated backups on the replica "
                                    "(ModifyDBInstance BackupRetentionPeriod), or set switchover: false")
        return Finding(m.rid, not problems, "; ".join(problems or notes), tags=tags, exposure=exposure)

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        return [self._validate(ctx, m) for m in self._members(ctx, unit)]

    def _validate(self, ctx: RunContext, m: _Pair) -> HealthCheck:
        if m.target is None:
            return HealthCheck(m.rid, Health.UNHEALTHY, f"no DB instance {m.target_id} in {ctx.target_region}")
        status = _status(m.target)
        if ctx.is_drill:
            ok = status == "available" and (m.target_writes or m._from_source_region(m.target))
            role = "the writer" if m.target_writes else "a replica"
            return HealthCheck(m.rid, Health.HEALTHY if ok else Health.UNHEALTHY,
                               f"drill: {m.target_id} is {status}, {role}")
        if m.target_writes and status == "available":
            return HealthCheck(m.rid, Health.HEALTHY, f"{m.target_id} writes in {ctx.target_region}")
        return HealthCheck(m.rid, Health.UNHEALTHY, f"{m.target_id}: status {status}, "
                           f"{'standalone' if m.target_writes else 'still a replica of ' + _source(m.target)}")

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
                outcome.notes.append(f"{m.rid}: drill, read-only; {m.target_id} is {_status(m.target)}")
            elif m.target_writes or _status(m.target) == "available":
                role = "the writer" if m.target_writes else "an available replica"
                outcome.notes.append(f"{m.rid}: {m.target_id} is {role}")
            else:
                outcome.waits.append(m.wait("db_instance_available", ctx.target_region, m.target_id, "available"))
        return outcome

    def _create_replica(self, ctx: RunContext, m: _Pair, rds: Any, name: str, source: dict[str, Any],
                        source_region: str, outcome: PhaseOutcome) -> None:
        """CreateDBInstanceReadReplica ``name`` (in ``rds``'s region) of ``source``, then wait for it."""
        region = rds.meta.region_name
        call: dict[str, Any] = {
            "DBInstanceIdentifier": name, "SourceDBInstanceIdentifier": source["DBInstanceArn"],
            # boto3 pre-signs the request for the source region (PreSignedUrl): needed for an encrypted source
            "SourceRegion": source_region, "Tags": _copied_tags(source)}
        if m.cfg.replica_instance_class:
            call["DBInstanceClass"] = m.cfg.replica_instance_class
        key = m.cfg.kms_key_id if region == ctx.regions.primary else m.cfg.dr_kms_key_id
        if key:
            call["KmsKeyId"] = key
        try:
            ctx.mutate(rds, "create_db_instance_read_replica", **call)
        except ClientError as err:  # a retry of a create whose reply was lost: fine if it is that replica
            if err.response["Error"]["Code"] != "DBInstanceAlreadyExists" or \
                    _source(read_side(rds, (name,)).get(name) or {}) != source["DBInstanceArn"]:
                raise
        outcome.notes.append(f"{m.rid}: creating {name} in {region}, a replica of {_id(source)}")
        if not ctx.dry_run:
            outcome.waits.append(m.wait("db_instance_available", region, name, "available"))

    def _drill(self, ctx: RunContext, m: _Pair) -> str:
        if m.target_writes:
            return f"drill, read-only; {m.target_id} already writes"
        if _status(m.target) != "available":
            raise AdapterError(m.rid, f"drill: replica {m.target_id} is {_status(m.target)}",
                               "investigate the replica before relying on it")
        problem, note = m.lag_problem()
        if problem:
            raise AdapterError(m.rid, f"drill: {problem}", "investigate replication before relying on it")
        return f"drill, read-only; {note}, a {m.mode} would take over"

    def _promote(self, ctx: RunContext, m: _Pair) -> None:
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

    def _stop(self, ctx: RunContext, m: _Pair, old: dict[str, Any], outcome: PhaseOutcome) -> None:
        name, status = _id(old), _status(old)
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
            call["DBSnapshotIdentifier"] = f"{name}-dr-{_stamp()}"
        try:
            ctx.mutate(m.source_rds, "stop_db_instance", **call)
        except ClientError as err:  # a retry of a stop whose reply was lost: fine if it is stopping
            now = read_side(m.source_rds, (name,)).get(name)
            if err.response["Error"]["Code"] not in ("InvalidDBInstanceState", "DBSnapshotAlreadyExists") \
                    or now is None or _status(now) not in ("stopping", "stopped"):
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
                if _status(replica) == "available":
                    outcome.notes.append(f"{m.rid}: {_id(replica)} replicates from {m.target_id}")
                else:
                    outcome.waits.append(m.wait("db_instance_available", ctx.source_region, _id(replica), "available"))
                continue
            if _status(writer) != "available" and not ctx.dry_run:
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

    def _replica_identifier(self, ctx: RunContext, m: _Pair, outcome: PhaseOutcome) -> str | None:
        """The identifier the new replica takes in the region moved from; None while one is being freed."""
        deleting = [_id(i) for i in m.source_side.values() if _status(i) == "deleting"]
        if deleting:  # ours from an earlier round (oldPrimary: delete), or anyone's: its identifier frees up
            outcome.waits.append(m.wait("db_instance_deleted", ctx.source_region, deleting[0], "deleted"))
            return None
        old = m.old_primary
        if m.cfg.old_primary == "delete" and old is not None:
            m.require_scope(old)
            name = _id(old)
            try:
                ctx.mutate(m.source_rds, "delete_db_instance", DBInstanceIdentifier=name,
                           FinalDBSnapshotIdentifier=f"{name}-final-{_stamp()}")
            except ClientError as err:  # a retry of a delete whose reply was lost: fine if it is going
                now = read_side(m.source_rds, (name,)).get(name)
                if err.response["Error"]["Code"] != "InvalidDBInstanceState" or (now and _status(now) != "deleting"):
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

    def _rejoin_fix(self, ctx: RunContext, m: _Pair) -> str:
        stale = [i for i in m.source_ids if i != _id(m.old_primary)]
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
        partners = [_source(instance)] if _source(instance) else instance.get("ReadReplicaDBInstanceIdentifiers") or []
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
