"""Amazon Aurora global databases: switch over (or fail over) the writer to the target region.

The global cluster knows which member is the writer (``DescribeGlobalClusters``), so every
phase reads it and acts only when the target member is not yet where it must be. Member
clusters are found in the global cluster by region and identifier (from their ARNs), so a
failover never needs to reach the region it moves away from.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from dr_adapters.adapters.base import (
    ActionConfig,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    ServiceSide,
    Wait,
)
from dr_adapters.adapters.capacity import RDS_INSTANCES, Need
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged, arn_region
from dr_adapters.adapters.replicated import GroupMember, ReplicatedGroupAdapter
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

LAG_METRIC = "AuroraGlobalDBReplicationLag"  # ms, published by each secondary cluster
SCOPE_FIX = "tag the cluster with this estate's Customer/Environment, or remove it from the manifest"


class AuroraConfig(ActionConfig):
    global_cluster_identifier: str = Field(
        alias="globalClusterIdentifier", description="The Aurora global database."
    )
    primary_cluster_identifier: str = Field(
        alias="primaryClusterIdentifier", description="Member DB cluster identifier in the primary region."
    )
    dr_cluster_identifier: str = Field(
        alias="drClusterIdentifier", description="Member DB cluster identifier in the DR region."
    )
    mode: Literal["switchover", "failover"] = Field(
        "switchover",
        description="switchover: planned, no data loss (SwitchoverGlobalCluster); "
        "failover: the old writer region is impaired, data loss allowed (FailoverGlobalCluster).",
    )
    min_dr_instances: int = Field(
        1, alias="minDrInstances", ge=0, description="INSTANTIATE: readers the target cluster must have."
    )
    dr_instance_class: str = Field(
        "db.r6g.large", alias="drInstanceClass", description="Instance class of readers INSTANTIATE adds."
    )


def _tags(cluster: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cluster.get("TagList") or []}


def _is_not_found(err: ClientError) -> bool:
    return err.response["Error"]["Code"] in ("DBClusterNotFoundFault", "GlobalClusterNotFoundFault")


class _Resource(GroupMember):
    """One manifest resource resolved for this run: which cluster is the target, what AWS says now."""

    def __init__(self, adapter: AuroraAdapter, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec):
        cfg: AuroraConfig = adapter.config(resource)
        self.rid = resource.resource_id
        self.cfg = cfg
        self.group_id = cfg.global_cluster_identifier
        # An unplanned failover cannot wait for the old writer to agree: fail over, data loss allowed.
        self.mode = "failover" if ctx.unplanned else cfg.mode
        self.ctx = ctx
        self.account_id = unit.account_id
        primary, dr = cfg.primary_cluster_identifier, cfg.dr_cluster_identifier
        self.source_id, self.target_id = ctx.source_and_target(primary, dr)
        self.rds = ctx.client("rds", ctx.target_region, unit.account_id)
        self.global_cluster = self._read(
            lambda: self.rds.describe_global_clusters(GlobalClusterIdentifier=cfg.global_cluster_identifier)[
                "GlobalClusters"
            ][0]
        )
        self.target = self.cluster(self.rds, self.target_id)

    @staticmethod
    def _read(call: Any) -> dict[str, Any] | None:
        try:
            return call()
        except ClientError as err:
            if _is_not_found(err):
                return None
            raise

    def cluster(self, rds: Any, cluster_id: str) -> dict[str, Any] | None:
        return self._read(lambda: rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0])

    def member(self, region: str, cluster_id: str) -> dict[str, Any] | None:
        """The global-cluster member for a cluster, matched on the region and id in its ARN."""
        for m in (self.global_cluster or {}).get("GlobalClusterMembers", []):
            arn = m["DBClusterArn"].split(":")
            if arn[3] == region and arn[-1].lower() == cluster_id.lower():
                return m
        return None

    @property
    def group_status(self) -> str:
        return self.global_cluster["Status"]

    @property
    def target_writes(self) -> bool:
        return bool(self.target_member["IsWriter"])

    @property
    def source_writes(self) -> bool:
        return bool((self.source_member or {}).get("IsWriter"))

    def require(self) -> None:
        """Raise unless the global cluster and the target cluster (a member of it) exist and are in scope."""
        if self.global_cluster is None:
            raise AdapterError(self.rid, f"global cluster {self.cfg.global_cluster_identifier} not found",
                               "check globalClusterIdentifier and the resource's accountId")
        if self.target is None:
            raise AdapterError(self.rid, f"DB cluster {self.target_id} not found in {self.ctx.target_region}",
                               "check the cluster identifiers in the manifest")
        reason = self.ctx.scope.mismatch(_tags(self.target))
        if reason:
            raise AdapterError(self.rid, f"DB cluster {self.target_id} is outside this run's scope: {reason}",
                               SCOPE_FIX)
        if self.target_member is None:
            raise AdapterError(
                self.rid,
                f"DB cluster {self.target_id} is not a member of global cluster {self.cfg.global_cluster_identifier}",
                "add it as a secondary cluster of the global database",
            )

    # A call whose reply was lost (timeout, dropped connection, 5xx after AWS acted) is retried by
    # botocore, and AWS refuses the retry because the first attempt did the work. Neither call has
    # an idempotency token, so read AWS to tell that apart from a real refusal.
    def created_already(self, name: str, err: ClientError) -> None:
        """CreateDBInstance said DBInstanceAlreadyExists: fine if it is a reader of the target cluster."""
        if err.response.get("Error", {}).get("Code") != "DBInstanceAlreadyExists":
            raise err
        found = self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
        if not found or found[0].get("DBClusterIdentifier") != self.target_id:
            raise err

    def promoting_already(self, err: ClientError) -> None:
        """Switchover/failover refused as InvalidGlobalClusterStateFault: fine if the global cluster is
        now moving (or has moved) the writer to the target, so the caller's wait covers it."""
        if err.response.get("Error", {}).get("Code") != "InvalidGlobalClusterStateFault":
            raise err
        now = self.rds.describe_global_clusters(GlobalClusterIdentifier=self.cfg.global_cluster_identifier)
        status = now["GlobalClusters"][0]
        target = [m for m in status["GlobalClusterMembers"] if m["DBClusterArn"] == self.target["DBClusterArn"]]
        if status["Status"] == "available" and not (target and target[0]["IsWriter"]):
            raise err

    def instances(self) -> list[dict[str, Any]]:
        return self.rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [self.target_id]}])[
            "DBInstances"
        ]

    def replication_lag_ms(self) -> float | None:
        """Latest AuroraGlobalDBReplicationLag of the target (secondary) cluster; None without data."""
        cw = self.ctx.client("cloudwatch", self.ctx.target_region, self.account_id)
        now = datetime.now(timezone.utc)
        points = cw.get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName=LAG_METRIC,
            Dimensions=[{"Name": "DBClusterIdentifier", "Value": self.target_id}],
            StartTime=now - timedelta(minutes=15),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        if not points:
            return None
        return max(points, key=lambda p: p["Timestamp"])["Maximum"]

    def promotion_wait(self, description: str) -> Wait:
        return Wait(
            service="rds",
            region=self.ctx.target_region,
            account_id=self.account_id,
            waiter="GlobalClusterAvailable",  # ours: dr_adapters/waiters/rds.json
            args={"GlobalClusterIdentifier": self.cfg.global_cluster_identifier},
            description=description,
            delay=30,
            max_attempts=120,
        )


class AuroraAdapter(ReplicatedGroupAdapter[_Resource]):
    actions = ("AuroraMySQL", "AuroraPostgreSQL")
    unplanned_behaviour = (
        "FailoverGlobalCluster with AllowDataLoss whatever the configured mode, reading only the target "
        "region; the secondary's last AuroraGlobalDBReplicationLag is the data-loss exposure; REPLICATE "
        "(the old writer re-joined as a secondary) waits for reprotect"
    )
    group_noun = "global cluster"
    config_model = AuroraConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.REPLICATE)
    drill_behaviour = (
        "read-only: checks the target cluster is an available secondary and within RPO; "
        "never promotes or demotes, never adds instances"
    )
    phase_summaries = {
        Phase.INSTANTIATE: "ensure the target cluster has minDrInstances available instances (CreateDBInstance)",
        Phase.ACTIVATE: "make the target cluster the global writer (SwitchoverGlobalCluster, or "
        "FailoverGlobalCluster with AllowDataLoss in mode failover and in every unplanned failover)",
        # Nothing to tear down: a switchover keeps the old writer in the global database as a secondary
        # (replicating from the new writer), exactly what failback needs; deleting or detaching it
        # would throw away the way back. So CLEANUP stays the base class's explicit no-op.
        Phase.CLEANUP: "no-op: the global database keeps the old writer as a secondary",
        Phase.REPLICATE: "verify the old writer is a secondary of the global database again",
    }
    iam_actions = (
        "rds:DescribeGlobalClusters",
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
        "rds:CreateDBInstance",
        "rds:DeleteDBInstance",
        "rds:SwitchoverGlobalCluster",
        "rds:FailoverGlobalCluster",
        "cloudwatch:GetMetricStatistics",
    )
    service_side_actions = (
        ServiceSide(
            "CreateDBInstanceTagsOnCreate", ("rds:AddTagsToResource",),
            "CreateDBInstance is called with Tags (the cluster's scope tags): tags given on create are "
            "authorised as rds:AddTagsToResource."),
    )

    def _member(self, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec) -> _Resource:
        return _Resource(self, ctx, unit, resource)

    # -- read-only ---------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        return [self._preflight(ctx, r) for r in self._members(ctx, unit)]

    def _preflight(self, ctx: RunContext, r: _Resource) -> Finding:
        gid = r.cfg.global_cluster_identifier
        if r.global_cluster is None:
            return Finding(r.rid, False, f"global cluster {gid} not found")
        problems: list[str] = []
        notes: list[str] = []
        tags: dict[str, str] | None = None
        clusters = [(r.target_id, ctx.target_region, r.target)]
        if ctx.unplanned:
            notes.append(f"{r.source_id} in {ctx.source_region} not read (unplanned failover)")
        else:
            try:
                source = r.cluster(ctx.client("rds", ctx.source_region, r.account_id), r.source_id)
                clusters.insert(0, (r.source_id, ctx.source_region, source))
            except BotoCoreError as err:
                # The region we leave may be down: that is what mode "failover" (or an unplanned run) is for.
                (notes if r.cfg.mode == "failover" else problems).append(
                    f"{ctx.source_region} unreachable: {err} -- re-trigger with failover_mode=unplanned")
        for cluster_id, region, cluster in clusters:
            if cluster is None:
                problems.append(f"DB cluster {cluster_id} not found in {region}")
                continue
            cluster_tags = _tags(cluster)
            mismatch = ctx.scope.mismatch(cluster_tags)
            if mismatch:
                problems.append(f"DB cluster {cluster_id} is outside this run's scope: {mismatch}")
            if tags is None or mismatch:  # report the offending cluster's tags to the scope guard
                tags = cluster_tags
            if r.member(region, cluster_id) is None:
                problems.append(f"DB cluster {cluster_id} is not a member of global cluster {gid}")
        if problems:
            return Finding(r.rid, False, "; ".join(problems), tags=tags)

        exposure = None
        if r.target_member["IsWriter"]:
            notes.append(f"already failed over: {r.target_id} is the writer of {gid}")
        elif ctx.unplanned:  # the writer's side is dark: the last lag the secondary reported is the exposure
            lag = r.replication_lag_ms()
            exposure = (f"{r.target_id}: last replication lag {lag:.0f} ms" if lag is not None
                        else f"{r.target_id}: no {LAG_METRIC} data, data loss unknown")
            notes.append(f"unplanned: FailoverGlobalCluster with data loss allowed; {exposure}")
        elif not (r.source_member or {}).get("IsWriter"):
            problems.append(f"neither {r.source_id} nor {r.target_id} is the writer (global status "
                            f"{r.global_cluster['Status']})")
        else:
            lag = r.replication_lag_ms()
            if lag is None:
                notes.append(f"no {LAG_METRIC} data for {r.target_id}; replication lag not checked")
            elif ctx.rpo_minutes is not None and lag > ctx.rpo_minutes * 60_000:
                problems.append(f"replication lag {lag:.0f} ms exceeds RPO of {ctx.rpo_minutes} min")
            else:
                notes.append(f"writer {r.source_id}, replication lag {lag:.0f} ms")
        return Finding(r.rid, not problems, "; ".join(problems or notes), tags=tags, exposure=exposure)

    def capacity_needs(self, ctx: RunContext, unit: WorkUnit) -> list[Need]:
        """INSTANTIATE adds the target cluster's missing instances (``minDrInstances``): DB instances of the region
        moved to (a drill adds none)."""
        if ctx.is_drill:
            return []
        needs = []
        for r in self._members(ctx, unit):
            missing = r.cfg.min_dr_instances - len((r.target or {}).get("DBClusterMembers", []))
            if r.target is not None and missing > 0:
                needs.append(Need(RDS_INSTANCES, missing, ctx.target_region, (Phase.INSTANTIATE,), (r.rid,),
                                  f"{missing} x {r.cfg.dr_instance_class} added to {r.target_id}"))
        return needs

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        return [self._validate(ctx, r) for r in self._members(ctx, unit)]

    def _validate(self, ctx: RunContext, r: _Resource) -> HealthCheck:
        member = r.target_member
        if r.global_cluster is None or r.target is None or member is None:
            return HealthCheck(r.rid, Health.UNHEALTHY, f"{r.target_id} or its global cluster is missing")
        status = r.target["Status"]
        if ctx.is_drill:
            ok = status == "available"
            role = "writer" if member["IsWriter"] else "secondary"
            return HealthCheck(r.rid, Health.HEALTHY if ok else Health.UNHEALTHY,
                               f"drill: {r.target_id} is an {status} {role}")
        serving = [i for i in r.instances() if i["DBInstanceStatus"] == "available"]
        if member["IsWriter"] and status == "available" and r.global_cluster["Status"] == "available" and serving:
            return HealthCheck(r.rid, Health.HEALTHY, f"{r.target_id} is the writer with {len(serving)} instance(s)")
        return HealthCheck(
            r.rid,
            Health.UNHEALTHY,
            f"{r.target_id}: writer={member['IsWriter']} cluster={status} "
            f"global={r.global_cluster['Status']} available instances={len(serving)}",
        )

    # -- phases ------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        outcome = PhaseOutcome()
        for r in self._members(ctx, unit):
            r.require()
            have = [m["DBInstanceIdentifier"] for m in r.target.get("DBClusterMembers", [])]
            missing = r.cfg.min_dr_instances - len(have)
            if ctx.is_drill:
                outcome.notes.append(f"{r.rid}: drill, read-only; {r.target_id} has {len(have)} instance(s), "
                                     f"a failover would add {max(missing, 0)}")
                continue
            if missing > 0:
                names = (f"{r.target_id}-dr-{n}" for n in range(1, len(have) + missing + 1))
                for name in [n for n in names if n not in have][:missing]:
                    try:
                        ctx.mutate(
                            r.rds,
                            "create_db_instance",
                            DBInstanceIdentifier=name,
                            DBClusterIdentifier=r.target_id,
                            Engine=r.target["Engine"],
                            DBInstanceClass=r.cfg.dr_instance_class,
                            Tags=r.target.get("TagList") or [],
                        )
                    except ClientError as err:
                        r.created_already(name, err)
                outcome.notes.append(f"{r.rid}: adding {missing} instance(s) to {r.target_id}")
            elif all(i["DBInstanceStatus"] == "available" for i in r.instances()):
                outcome.notes.append(f"{r.rid}: {r.target_id} has {len(have)} available instance(s)")
                continue
            if not ctx.dry_run:
                outcome.waits.append(Wait(
                    service="rds", region=ctx.target_region, account_id=unit.account_id,
                    waiter="db_instance_available",
                    args={"Filters": [{"Name": "db-cluster-id", "Values": [r.target_id]}]},
                    description=f"instances of {r.target_id} available", delay=30, max_attempts=120,
                ))
        return outcome

    # -- rollback: switch back, then remove the readers INSTANTIATE added -----------------------------
    def restore_point(self, ctx: RunContext, unit: WorkUnit) -> dict[str, Any] | None:
        """The instances each target cluster has before the run: a rollback removes only the ones the run added."""
        return {r.rid: sorted(m["DBInstanceIdentifier"] for m in (r.target or {}).get("DBClusterMembers", []))
                for r in self._members(ctx, unit)}

    def rollback_summary(self) -> str:
        return (super().rollback_summary() + "; then the readers INSTANTIATE added to the DR cluster (not there "
                "before the run, per its preflight) are deleted")

    def rollback(self, ctx: RunContext, unit: WorkUnit, before: dict[str, Any] | None = None) -> PhaseOutcome:
        """The writer back (ACTIVATE the other way, then REPLICATE), then the instances INSTANTIATE added to the
        cluster the run moved to are deleted: those not there before the run (its preflight's restore point) and
        named as INSTANTIATE names them. Without a restore point none is deleted (they are named instead)."""
        out = super().rollback(ctx, unit, before)
        if out.waits:
            return out
        for r in self._members(ctx, unit):  # the way back's source: the cluster the run moved to
            rds = ctx.client("rds", ctx.source_region, unit.account_id)
            instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [r.source_id]}])[
                "DBInstances"]
            added = [i["DBInstanceIdentifier"] for i in instances if i["DBInstanceStatus"] != "deleting"
                     and i["DBInstanceIdentifier"].startswith(f"{r.source_id}-dr-")]
            if before is None or r.rid not in before:
                if added:
                    out.notes.append(f"{r.rid}: no restore point from the run undone: left {', '.join(added)} "
                                     f"in {r.source_id}")
                continue
            for name in (a for a in added if a not in before[r.rid]):
                ctx.mutate(rds, "delete_db_instance", DBInstanceIdentifier=name, SkipFinalSnapshot=True)
                out.notes.append(f"{r.rid}: deleting {name}, added to {r.source_id} by the run undone")
        return out

    def _drill(self, ctx: RunContext, r: _Resource) -> str:
        if not r.target_writes and r.target["Status"] != "available":
            raise AdapterError(r.rid, f"drill: secondary {r.target_id} is {r.target['Status']}",
                               "investigate the DR cluster before relying on it")
        return f"drill, read-only; {r.target_id} is {'already the writer' if r.target_writes else 'a healthy secondary'}"

    def _promote(self, ctx: RunContext, r: _Resource) -> None:
        call = {"GlobalClusterIdentifier": r.group_id, "TargetDbClusterIdentifier": r.target["DBClusterArn"]}
        if r.mode == "failover":
            ctx.mutate(r.rds, "failover_global_cluster", **call, AllowDataLoss=True)
        else:
            ctx.mutate(r.rds, "switchover_global_cluster", **call)

    def _rejoin_fix(self, ctx: RunContext, r: _Resource) -> str:
        # e.g. an unplanned failover that detached the old writer: AWS cannot re-add a cluster that
        # holds data, it must be re-created as a secondary.
        return (f"rename or delete the detached cluster, re-create {r.source_id} in {ctx.source_region} "
                f"with --global-cluster-identifier {r.group_id}, then re-run REPLICATE")

    # -- tag discovery ---------------------------------------------------------------------------
    # A global database is tagged on its global cluster, its member clusters or their instances: each
    # part names the one global database. Its members' regions say which is primary and which DR.
    discovery_types = ("rds:global-cluster", "rds:cluster", "rds:db")
    recovery_strategies = {"switchover": {"mode": "switchover"}, "failover": {"mode": "failover"}}

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"aurora/{account_id}/{config['globalClusterIdentifier']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        cluster_of = self._instance_clusters([f for f in found if f.resource_type == "rds:db"], read)
        # Only standalone DB instances (the RDS action's): no global database to look up.
        needed = any(f.resource_type != "rds:db" or f.arn in cluster_of for f in found)
        globals_ = self._global_clusters(read) if needed else []
        by_member = {m["DBClusterArn"]: g for g in globals_ for m in g.get("GlobalClusterMembers", [])}
        by_id = {g["GlobalClusterIdentifier"]: g for g in globals_}
        out: list[Derived | NotDerived] = []
        for f in found:
            if f.resource_type == "rds:global-cluster":
                gc = by_id.get(f.name)
            else:
                cluster_arn = f.arn if f.resource_type == "rds:cluster" else cluster_of.get(f.arn)
                if cluster_arn is None:
                    out.append(NotDerived(f.arn, "a DB instance outside an Aurora cluster -- the RDS action "
                                                 "protects it with its cross-region read replica"))
                    continue
                gc = by_member.get(cluster_arn)
            if gc is None:
                out.append(NotDerived(f.arn, "not part of an Aurora global database -- add a secondary cluster "
                                             f"in {read.dr} (CreateGlobalCluster) or remove its dr:enabled tag"))
                continue
            out.append(self._derived(f, gc, read))
        return out

    def _derived(self, f: Tagged, gc: dict[str, Any], read: DiscoveryRead) -> Derived | NotDerived:
        gid = gc["GlobalClusterIdentifier"]
        members = {arn_region(m["DBClusterArn"]): m["DBClusterArn"].split(":")[-1]
                   for m in gc.get("GlobalClusterMembers", [])}
        missing = [r for r in (read.primary, read.dr) if r not in members]
        action = {"aurora-mysql": "AuroraMySQL", "aurora-postgresql": "AuroraPostgreSQL"}.get(gc.get("Engine", ""))
        if missing or action is None:
            why = (f"has no member cluster in {', '.join(missing)}" if missing
                   else f"engine {gc.get('Engine')!r} is not Aurora MySQL or PostgreSQL")
            return NotDerived(f.arn, f"global database {gid} {why} -- fix the global database or remove dr:enabled")
        config = {"globalClusterIdentifier": gid, "primaryClusterIdentifier": members[read.primary],
                  "drClusterIdentifier": members[read.dr]}
        secondary = f.resource_type == "rds:db" or f.region == read.dr
        return Derived(self.identity(config, read.account_id), action, gid, config, f.arn, f.tags, secondary)

    @staticmethod
    def _global_clusters(read: DiscoveryRead) -> list[dict[str, Any]]:
        """Every global database of the account (DescribeGlobalClusters answers in any region: the
        primary's, else DR's when the primary is dark)."""
        for region in (read.primary, read.dr):
            try:
                pages = read.client("rds", region).get_paginator("describe_global_clusters").paginate()
                return [g for page in pages for g in page["GlobalClusters"]]
            except (BotoCoreError, ClientError):
                if region == read.dr:
                    raise
        return []

    @staticmethod
    def _instance_clusters(instances: list[Tagged], read: DiscoveryRead) -> dict[str, str]:
        """DB instance ARN -> its cluster's ARN, one listing per region."""
        out: dict[str, str] = {}
        for region in sorted({f.region for f in instances}):
            pages = read.client("rds", region).get_paginator("describe_db_instances").paginate()
            for page in pages:
                for i in page["DBInstances"]:
                    if i.get("DBClusterIdentifier"):
                        head = i["DBInstanceArn"].rsplit(":db:", 1)[0]
                        out[i["DBInstanceArn"]] = f"{head}:cluster:{i['DBClusterIdentifier']}"
        return out
