"""An RDS replica pair as a run sees it: the DB instances of both regions, read from AWS, and who writes.

The pair of ``RdsAdapter`` (``adapters.rds``): a writable primary in one region and its cross-region read
replica in the other, under two identifiers per region. ``ReplicaPair`` reads the region moved to at
once and the region moved from only when needed (never in an unplanned run); which instance writes is
read from AWS, never remembered (``resolve_writer``: the source of the pair's cross-region replica,
else the standalone instance promoted last, by its ``dr:promoted-at`` tag).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dr_adapters.adapters.base import AdapterError, RunContext, Wait
from dr_adapters.adapters.replicated import GroupMember
from dr_adapters.plan.model import ResourceSpec, WorkUnit

if TYPE_CHECKING:
    from dr_adapters.adapters.rds import RdsAdapter, RdsConfig

LAG_METRIC = "ReplicaLag"  # seconds, published by each read replica; -1: replication is not running
MARK = "dr:promoted-at"  # ISO-8601 UTC time ACTIVATE promoted the instance: the newest writes
SWITCHOVER_ENGINES = ("oracle-ee", "oracle-ee-cdb")  # SwitchoverReadReplica: RDS for Oracle (EE) only
SCOPE_FIX = "tag the DB instance with this estate's Customer/Environment, or remove it from the manifest"


# -- reading instances ---------------------------------------------------------------------------
def tags_of(instance: dict[str, Any] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (instance or {}).get("TagList") or []}


def mark_of(instance: dict[str, Any]) -> str:
    return tags_of(instance).get(MARK, "")


def source_of(instance: dict[str, Any]) -> str:
    return instance.get("ReadReplicaSourceDBInstanceIdentifier") or ""


def id_of(instance: dict[str, Any] | None) -> str:
    return (instance or {}).get("DBInstanceIdentifier", "")


def status_of(instance: dict[str, Any]) -> str:
    return instance["DBInstanceStatus"]


def copied_tags(instance: dict[str, Any]) -> list[dict[str, str]]:
    """Tags for a replica of ``instance``: its own, less AWS's and the promotion mark."""
    return [t for t in instance.get("TagList") or [] if not t["Key"].startswith("aws:") and t["Key"] != MARK]


def stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")


def read_side(rds: Any, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The pair's instances in one region, by identifier (one call for both identifiers)."""
    found = rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": list(ids)}])["DBInstances"]
    return {i["DBInstanceIdentifier"]: i for i in found}


def resolve_writer(instances: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The writer among the pair's instances of both regions, and why none when there is none."""
    live = [i for i in instances if status_of(i) != "deleting"]
    by_arn = {i["DBInstanceArn"]: i for i in live}
    for replica in live:
        source = by_arn.get(source_of(replica))
        if source is not None and not source_of(source):
            return source, ""
    standalone = sorted((i for i in live if not source_of(i)), key=mark_of, reverse=True)
    if len(standalone) > 1 and mark_of(standalone[0]) == mark_of(standalone[1]):
        names = " and ".join(id_of(i) for i in standalone[:2])
        return None, (f"{names} are both standalone: neither replicates from the other and neither was "
                      f"promoted later ({MARK} tag)")
    return (standalone[0], "") if standalone else (None, "no standalone DB instance")


class ReplicaPair(GroupMember):
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
        self.target_id = id_of(self.target) or self.target_ids[0]

    def from_source_region(self, instance: dict[str, Any]) -> bool:
        parts = source_of(instance).split(":")
        return len(parts) > 6 and parts[3] == self.ctx.source_region and parts[-1] in self.source_ids

    def _pick_target(self) -> dict[str, Any] | None:
        """The instance of the region moved to that is (or becomes) the writer: its replica of the other
        region, else its standalone instance promoted last (an older one is a retired primary)."""
        live = [i for i in self.target_side.values() if status_of(i) != "deleting"]
        replicas = [i for i in live if self.from_source_region(i)]
        standalone = sorted((i for i in live if not source_of(i)), key=mark_of, reverse=True)
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
        standalone = [i for i in self.source_side.values() if not source_of(i) and status_of(i) != "deleting"]
        return max(standalone, key=mark_of, default=None)

    @property
    def source_member(self) -> dict[str, Any] | None:
        """The replica of the target in the region moved from (None: not re-protected yet)."""
        arn = (self.target or {}).get("DBInstanceArn")
        return next((i for i in self.source_side.values() if arn and source_of(i) == arn), None)

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
        return status_of(self.target)

    @property
    def target_writes(self) -> bool:
        return self.target is not None and not source_of(self.target)

    def require(self) -> None:
        if self.target is None:
            raise AdapterError(self.rid, f"no DB instance {' or '.join(self.target_ids)} in "
                               f"{self.ctx.target_region}", "check the identifiers and accountId, or set "
                               "createReplica: true so INSTANTIATE creates the replica")
        self.require_scope(self.target)
        if self.ctx.unplanned and self.target_writes and not mark_of(self.target):
            # Standalone, yet never promoted by a DR run: the primary an earlier failover left behind (its data
            # stops where that failover began). Unplanned, the other region cannot be read to tell.
            raise AdapterError(self.rid, f"{self.target_id} is standalone but no DR run promoted it ({MARK} "
                               "tag): it is the primary an earlier failover left, not a copy of the writer",
                               "run operation=reprotect of that failover first (a replica to promote), or tag "
                               f"{self.target_id} {MARK}=<UTC time> if it was promoted by hand and writes")
        if self.target_writes and status_of(self.target) == "stopped":
            raise AdapterError(self.rid, f"{self.target_id} is stopped: a primary retired by an earlier failover, "
                               "not a replica to promote", "run REPLICATE (or reprotect) of the last failover first")
        if source_of(self.target) and not self.from_source_region(self.target):
            raise AdapterError(self.rid, f"{self.target_id} replicates from {source_of(self.target)}, not from "
                               f"{' or '.join(self.source_ids)} in {self.ctx.source_region}",
                               "fix the identifiers in the manifest, or re-create the replica from the primary")

    def require_scope(self, instance: dict[str, Any]) -> None:
        reason = self.ctx.scope.mismatch(tags_of(instance))
        if reason:
            raise AdapterError(self.rid, f"DB instance {id_of(instance)} is outside this run's scope: {reason}",
                               SCOPE_FIX)

    def require_writer(self, phase: str) -> dict[str, Any]:
        """The target, once it writes (read from both regions); in a dry run, as it would after ACTIVATE."""
        writer, why = self.writer()
        if writer is not None and writer is self.target:
            return writer
        if self.ctx.dry_run and self.target is not None and self.from_source_region(self.target):
            return self.target
        raise AdapterError(self.rid, f"{phase}: {self.target_id} is not the writer "
                           f"({why or f'{id_of(writer)} in its place'})",
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
        if now is None or (status_of(now) == "available" and source_of(now)):
            raise err
