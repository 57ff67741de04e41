"""Amazon ElastiCache (Valkey / Redis OSS) global datastores: move the writer to the target region.

A global datastore (a *global replication group*) holds one PRIMARY replication group, which takes
writes, and SECONDARY groups in other regions replicating from it. Every phase reads the datastore
(``DescribeGlobalReplicationGroups`` with ``ShowMemberInfo``: it answers in any region, its ARN names
none) and the target replication group from the region being moved to, and acts only when the target
is not yet where it must be. Its id is what AWS shows: the suffix it was created with behind the
prefix ElastiCache gives the region it was created in (``ldgnf-orders`` for one made in us-east-1).

Where AWS's mechanics differ from the seeds' wording ("cache layer failover with cluster promotion",
all four phases):

* INSTANTIATE gives the target group at least ``minDrReplicas`` read replicas per shard
  (``IncreaseReplicaCount``: each member of a datastore has its own replica count). It creates no group:
  AWS makes a secondary only as a member (``CreateReplicationGroup(GlobalReplicationGroupId)``), which
  needs the DR network set-up, so the secondary exists before any failover.
* ACTIVATE, planned: ``FailoverGlobalReplicationGroup(PrimaryRegion, PrimaryReplicationGroupId)`` called in
  the target region; the datastore is ``modifying`` until the target is PRIMARY and the old primary a
  SECONDARY replicating from it (the way back stays open).
* ACTIVATE, unplanned (the source region dark), or ``mode: disassociate`` (the primary region impaired
  but answering): ``DisassociateGlobalReplicationGroup`` of the target, called in the target region with
  ``ReplicationGroupRegion`` = the target's region. The target leaves the datastore and takes writes on
  its own at once. A promotion is a coordinated role change of both members, which we do not count on
  while the old primary is unreachable; detaching needs the target's region only. Writes the old
  primary took and had not replicated are lost (replication is asynchronous, typically under a second).
* CLEANUP: nothing. A failover keeps the old primary as a secondary: it is the way back.
* REPLICATE verifies the old primary is a SECONDARY again. After a detach nothing can re-join: AWS adds a
  secondary only by creating it (a group holding data cannot join), the old primary still holds writes
  that never reached DR, and a rebuilt datastore gets a new id (the prefix of the region it is created
  in). So REPLICATE raises, naming the rebuild step by step: keeping or dropping those writes, and the
  new id in the manifest, are an operator's decisions.
* A drill only reads: the datastore available, the target an associated (in sync) secondary, its
  replica count.

Family: ``ReplicatedGroupAdapter`` for the promotion (planned ACTIVATE, REPLICATE, drill). The detach path
is this module's own: the family waits for the group to be available with the target writing, while
after a detach the group is ``primary-only`` and the target is outside it.
"""

from __future__ import annotations

from dataclasses import replace
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
    Wait,
)
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.replicated import GroupMember, ReplicatedGroupAdapter
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

SCOPE_FIX = "tag the replication group with this estate's Customer/Environment, or remove it from the manifest"
NOT_FOUND = ("ReplicationGroupNotFoundFault", "GlobalReplicationGroupNotFoundFault")
# What AWS answers a retried call whose first attempt did the work (its reply lost): the change is
# running (the group busy), or done (no longer a valid request). Neither call has an idempotency token.
ALREADY = ("InvalidGlobalReplicationGroupState", "InvalidReplicationGroupState", "InvalidParameterValue")


class ElastiCacheConfig(ActionConfig):
    global_replication_group_id: str = Field(
        alias="globalReplicationGroupId",
        description="The global datastore's id as AWS shows it: the region prefix ElastiCache gave it, a dash "
        "and the suffix it was created with (e.g. ldgnf-orders-cache, created in us-east-1).",
    )
    primary_replication_group_id: str = Field(
        alias="primaryReplicationGroupId", description="Member replication group in the primary region."
    )
    dr_replication_group_id: str = Field(
        alias="drReplicationGroupId", description="Member replication group in the DR region."
    )
    mode: Literal["failover", "disassociate"] = Field(
        "failover",
        description="failover: planned, the old primary becomes a secondary (FailoverGlobalReplicationGroup); "
        "disassociate: the primary region is impaired, the target leaves the datastore and takes writes on "
        "its own, data loss allowed, the datastore to be rebuilt (DisassociateGlobalReplicationGroup; always "
        "so in an unplanned failover).",
    )
    min_dr_replicas: int = Field(
        1, alias="minDrReplicas", ge=0, le=5,
        description="INSTANTIATE: read replicas per shard the target replication group must have at least "
        "(IncreaseReplicaCount adds the missing ones, never removes any).",
    )


def _replicas(group: dict[str, Any]) -> int:
    """Read replicas per shard of a replication group (the fewest, when shards differ)."""
    return min((len(ng.get("NodeGroupMembers") or []) - 1 for ng in group.get("NodeGroups") or []), default=0)


def _replica_count(group: dict[str, Any], count: int, *, more: bool) -> dict[str, Any]:
    """Increase/DecreaseReplicaCount's arguments to bring every shard to ``count`` replicas. Cluster mode
    enabled: only the shards on the wrong side of it (the new count must be past every named shard's)."""
    if not group.get("ClusterEnabled"):
        return {"NewReplicaCount": count}
    off = [ng["NodeGroupId"] for ng in group["NodeGroups"]
           if (len(ng["NodeGroupMembers"]) - 1 < count if more else len(ng["NodeGroupMembers"]) - 1 > count)]
    return {"ReplicaConfiguration": [{"NodeGroupId": ng, "NewReplicaCount": count} for ng in off]}


def _datastore_of(group: dict[str, Any] | None) -> str | None:
    return ((group or {}).get("GlobalReplicationGroupInfo") or {}).get("GlobalReplicationGroupId") or None


class _Resource(GroupMember):
    """One manifest resource resolved for this run: the datastore and the target group, as AWS has them now."""

    def __init__(self, adapter: ElastiCacheAdapter, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec):
        cfg: ElastiCacheConfig = adapter.config(resource)
        self.rid, self.cfg, self.ctx, self.account_id = resource.resource_id, cfg, ctx, unit.account_id
        self.group_id = cfg.global_replication_group_id
        # An unplanned failover cannot count on the old primary to hand over: the target leaves instead.
        self.mode = "disassociate" if ctx.unplanned else cfg.mode
        self.source_id, self.target_id = ctx.source_and_target(cfg.primary_replication_group_id,
                                                               cfg.dr_replication_group_id)
        self.ec = ctx.client("elasticache", ctx.target_region, unit.account_id)
        self.datastore = self.read_datastore()
        self.target = self.group(self.ec, self.target_id)
        self._target_tags: dict[str, str] | None = None

    @staticmethod
    def _read(call: Any) -> Any:
        try:
            return call()
        except ClientError as err:
            if err.response["Error"]["Code"] in NOT_FOUND:
                return None
            raise

    def read_datastore(self) -> dict[str, Any] | None:
        return self._read(lambda: self.ec.describe_global_replication_groups(
            GlobalReplicationGroupId=self.group_id, ShowMemberInfo=True)["GlobalReplicationGroups"][0])

    def group(self, ec: Any, group_id: str) -> dict[str, Any] | None:
        return self._read(lambda: ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0])

    @staticmethod
    def tags(ec: Any, group: dict[str, Any]) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in ec.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]}

    @property
    def target_tags(self) -> dict[str, str]:
        if self._target_tags is None:
            self._target_tags = self.tags(self.ec, self.target)
        return self._target_tags

    def member(self, region: str, group_id: str) -> dict[str, Any] | None:
        return next((m for m in (self.datastore or {}).get("Members") or []
                     if m["ReplicationGroupRegion"] == region and m["ReplicationGroupId"] == group_id), None)

    @property
    def group_status(self) -> str:
        return self.datastore["Status"]

    @property
    def target_writes(self) -> bool:
        return (self.target_member or {}).get("Role") == "PRIMARY"

    @property
    def source_writes(self) -> bool:
        return (self.source_member or {}).get("Role") == "PRIMARY"

    @property
    def detached(self) -> bool:
        """The target is in no global datastore: a standalone group taking writes (after a detach)."""
        return self.target is not None and _datastore_of(self.target) is None

    def require(self) -> None:
        """Raise unless the datastore and the target group exist, are in scope, and belong together (or the
        target was detached, in a run that detaches)."""
        if self.target is None:
            raise AdapterError(self.rid, f"replication group {self.target_id} not found in {self.ctx.target_region}",
                               "check the replication group ids and the resource's accountId in the manifest")
        reason = self.ctx.scope.mismatch(self.target_tags)
        if reason:
            raise AdapterError(self.rid, f"replication group {self.target_id} is outside this run's scope: {reason}",
                               SCOPE_FIX)
        if self.datastore is None:
            raise AdapterError(self.rid, f"global datastore {self.group_id} not found",
                               "check globalReplicationGroupId: AWS shows it with its region prefix (e.g. ldgnf-...)")
        if self.target_member is not None or (self.detached and self.mode == "disassociate"):
            return
        if self.detached:
            raise self.detached_error()
        raise AdapterError(self.rid, f"replication group {self.target_id} belongs to global datastore "
                           f"{_datastore_of(self.target)}, not {self.group_id}",
                           f"set globalReplicationGroupId to {_datastore_of(self.target)} in the manifest")

    def detached_error(self) -> AdapterError:
        return AdapterError(self.rid, f"replication group {self.target_id} takes writes on its own, detached from "
                            f"global datastore {self.group_id} (whose primary stays {self.source_id} in "
                            f"{self.ctx.source_region} until it is rebuilt)", self.rebuild_fix())

    def rebuild_fix(self) -> str:
        """The rebuild after a detach, step by step (AWS cannot re-join either group as it is)."""
        src, tgt, old, new = self.ctx.source_region, self.ctx.target_region, self.source_id, self.target_id
        suffix = self.group_id.split("-", 1)[-1]
        return (f"rebuild the global datastore around {new} ({tgt}): "
                f"1) keep what {old} took that never reached {tgt}, if wanted: aws elasticache create-snapshot "
                f"--replication-group-id {old} --snapshot-name {old}-before-rebuild --region {src}; "
                f"2) aws elasticache delete-global-replication-group --global-replication-group-id {self.group_id} "
                f"--retain-primary-replication-group --region {src}; "
                f"3) aws elasticache delete-replication-group --replication-group-id {old} --region {src}; "
                f"4) aws elasticache create-global-replication-group --global-replication-group-id-suffix {suffix} "
                f"--primary-replication-group-id {new} --region {tgt} (AWS names it with {tgt}'s prefix); "
                f"5) aws elasticache create-replication-group --replication-group-id {old} "
                f"--global-replication-group-id <the new id> --region {src} (with its subnet and security groups); "
                "6) set globalReplicationGroupId to the new id in the manifest (a tag-driven estate finds it "
                "itself) and run REPLICATE again")

    def promoting_already(self, err: ClientError) -> None:
        """FailoverGlobalReplicationGroup refused after a lost reply: fine if the datastore is now moving
        (or has moved) the primary to the target, so the caller's wait covers it."""
        if err.response.get("Error", {}).get("Code") not in ALREADY:
            raise err
        self.datastore = self.read_datastore()
        if self.datastore is None or (self.group_status == "available" and not self.target_writes):
            raise err

    def detaching_already(self, err: ClientError) -> None:
        """DisassociateGlobalReplicationGroup refused after a lost reply: fine if the target is leaving (or left)."""
        if err.response.get("Error", {}).get("Code") not in ALREADY:
            raise err
        self.datastore, self.target = self.read_datastore(), self.group(self.ec, self.target_id)
        leaving = (self.target_member or {}).get("Status") == "disassociating"
        if not (leaving or self.detached):
            raise err

    def growing_already(self, err: ClientError, wanted: int) -> None:
        """IncreaseReplicaCount refused after a lost reply: fine if the target is growing (or grew)."""
        if err.response.get("Error", {}).get("Code") not in ALREADY:
            raise err
        self.target = self.group(self.ec, self.target_id)
        if not self.target or (self.target["Status"] == "available" and _replicas(self.target) < wanted):
            raise err

    def promotion_wait(self, description: str) -> Wait:
        return Wait(service="elasticache", region=self.ctx.target_region, account_id=self.account_id,
                    waiter="GlobalReplicationGroupAvailable",  # ours: dr_adapters/waiters/elasticache.json
                    args={"GlobalReplicationGroupId": self.group_id}, description=description, delay=30,
                    max_attempts=120)

    def detach_wait(self, description: str) -> Wait:
        return Wait(service="elasticache", region=self.ctx.target_region, account_id=self.account_id,
                    waiter="ReplicationGroupDetached",  # ours: dr_adapters/waiters/elasticache.json
                    args={"ReplicationGroupId": self.target_id}, description=description, delay=30,
                    max_attempts=120)

    def group_wait(self, description: str) -> Wait:
        return Wait(service="elasticache", region=self.ctx.target_region, account_id=self.account_id,
                    waiter="replication_group_available", args={"ReplicationGroupId": self.target_id},
                    description=description, delay=30, max_attempts=120)


class ElastiCacheAdapter(ReplicatedGroupAdapter[_Resource]):
    actions = ("ElastiCache",)
    config_model = ElastiCacheConfig
    group_noun = "global datastore"
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.REPLICATE)
    drill_behaviour = (
        "read-only: checks the global datastore is available and the target group an associated (in sync) "
        "secondary, and its replica count; never fails over, detaches or adds replicas"
    )
    unplanned_behaviour = (
        "DisassociateGlobalReplicationGroup of the DR group whatever the configured mode, called in the DR "
        "region (ReplicationGroupRegion = DR): it takes writes on its own, writes not yet replicated are lost; "
        "REPLICATE waits for reprotect and then names the rebuild of the global datastore (the old primary "
        "cannot re-join as it is)"
    )
    phase_summaries = {
        Phase.INSTANTIATE: "ensure the target replication group has minDrReplicas read replicas per shard "
        "(IncreaseReplicaCount)",
        Phase.ACTIVATE: "make the target group the global datastore's primary (FailoverGlobalReplicationGroup), or "
        "detach it to take writes on its own (DisassociateGlobalReplicationGroup) in mode disassociate and in "
        "every unplanned failover",
        # A failover keeps the old primary in the datastore as a secondary replicating from the new one:
        # exactly what failback needs. Deleting or detaching it would throw the way back away.
        Phase.CLEANUP: "no-op: the global datastore keeps the old primary as a secondary",
        Phase.REPLICATE: "verify the old primary is a secondary of the global datastore again (after a detach: "
        "fail naming the rebuild)",
    }
    iam_actions = (
        "elasticache:DescribeGlobalReplicationGroups",
        "elasticache:DescribeReplicationGroups",
        "elasticache:ListTagsForResource",
        "elasticache:IncreaseReplicaCount",
        "elasticache:DecreaseReplicaCount",
        "elasticache:FailoverGlobalReplicationGroup",
        "elasticache:DisassociateGlobalReplicationGroup",
    )

    def _member(self, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec) -> _Resource:
        return _Resource(self, ctx, unit, resource)

    # -- read-only ---------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        return [self._preflight(ctx, r) for r in self._members(ctx, unit)]

    def _preflight(self, ctx: RunContext, r: _Resource) -> Finding:
        if r.datastore is None:
            return Finding(r.rid, False, f"global datastore {r.group_id} not found")
        problems: list[str] = []
        notes: list[str] = []
        tags: dict[str, str] | None = None
        groups = [(r.target_id, ctx.target_region, r.ec, r.target)]
        if ctx.unplanned:
            notes.append(f"{r.source_id} in {ctx.source_region} not read (unplanned failover)")
        else:
            try:
                ec = ctx.client("elasticache", ctx.source_region, r.account_id)
                groups.insert(0, (r.source_id, ctx.source_region, ec, r.group(ec, r.source_id)))
            except BotoCoreError as err:
                # The region we leave may be down: detaching (mode disassociate, or an unplanned run) needs it not.
                (notes if r.mode == "disassociate" else problems).append(
                    f"{ctx.source_region} unreachable: {err} -- re-trigger with failover_mode=unplanned")
        for group_id, region, ec, group in groups:
            if group is None:
                problems.append(f"replication group {group_id} not found in {region}")
                continue
            group_tags = r.tags(ec, group)
            mismatch = ctx.scope.mismatch(group_tags)
            if mismatch:
                problems.append(f"replication group {group_id} is outside this run's scope: {mismatch}")
            if tags is None or mismatch:  # report the offending group's tags to the scope guard
                tags = group_tags
            if r.member(region, group_id) is None and not (group is r.target and r.detached and r.mode == "disassociate"):
                problems.append(f"replication group {group_id} ({region}) is not a member of global datastore "
                                f"{r.group_id}")
        if problems:
            return Finding(r.rid, False, "; ".join(problems), tags=tags)

        exposure = None
        member = r.target_member
        if member is None:
            notes.append(f"already failed over: {r.target_id} takes writes on its own, detached from {r.group_id}")
        elif r.target_writes:
            notes.append(f"already failed over: {r.target_id} is the primary of {r.group_id}")
        elif member["Status"] != "associated":
            problems.append(f"{r.target_id} is {member['Status']}, not in sync with {r.group_id}")
        elif not ctx.unplanned and not r.source_writes:
            problems.append(f"neither {r.source_id} nor {r.target_id} is the primary of {r.group_id} "
                            f"(status {r.group_status})")
        else:
            have = _replicas(r.target)
            notes.append(f"{r.target_id} is an associated secondary of {r.group_id} ({r.group_status}) with "
                         f"{have} replica(s) per shard; INSTANTIATE adds {max(r.cfg.min_dr_replicas - have, 0)}")
            if r.mode == "disassociate":
                # Global datastore replication is asynchronous: what the old primary took and had not sent is lost.
                exposure = (f"{r.target_id}: writes to {r.source_id} not yet replicated when it was cut off "
                            "(asynchronous replication, typically under a second behind)")
                notes.append("DisassociateGlobalReplicationGroup, data loss allowed; the datastore must be rebuilt")
        return Finding(r.rid, not problems, "; ".join(problems or notes), tags=tags, exposure=exposure)

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        return [self._validate(ctx, r) for r in self._members(ctx, unit)]

    def _validate(self, ctx: RunContext, r: _Resource) -> HealthCheck:
        if r.datastore is None or r.target is None:
            return HealthCheck(r.rid, Health.UNHEALTHY, f"{r.target_id} or global datastore {r.group_id} is missing")
        status, member = r.target["Status"], r.target_member
        if ctx.is_drill:
            ok = status == "available" and member is not None and member["Status"] == "associated"
            role = (member or {}).get("Role", "detached").lower()
            return HealthCheck(r.rid, Health.HEALTHY if ok else Health.UNHEALTHY,
                               f"drill: {r.target_id} is an {status} {role} with {_replicas(r.target)} replica(s)")
        if member is None and r.detached and r.mode == "disassociate" and status == "available":
            return HealthCheck(r.rid, Health.HEALTHY, f"{r.target_id} takes writes on its own (detached from "
                                                      f"{r.group_id}, to be rebuilt)")
        if r.target_writes and status == "available" and r.group_status == "available":
            return HealthCheck(r.rid, Health.HEALTHY, f"{r.target_id} is the primary of {r.group_id}")
        return HealthCheck(r.rid, Health.UNHEALTHY, f"{r.target_id}: role={(member or {}).get('Role')} group={status} "
                                                    f"datastore={r.group_status}")

    # -- phases ------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        outcome = PhaseOutcome()
        for r in self._members(ctx, unit):
            r.require()
            wanted, have = r.cfg.min_dr_replicas, _replicas(r.target)
            if ctx.is_drill:
                outcome.notes.append(f"{r.rid}: drill, read-only; {r.target_id} has {have} replica(s) per shard, "
                                     f"a failover would add {max(wanted - have, 0)}")
                continue
            if have >= wanted and r.target["Status"] == "available":
                outcome.notes.append(f"{r.rid}: {r.target_id} has {have} replica(s) per shard")
                continue
            if have < wanted and r.target["Status"] == "available":
                grow = _replica_count(r.target, wanted, more=True)
                try:
                    ctx.mutate(r.ec, "increase_replica_count", ReplicationGroupId=r.target_id, ApplyImmediately=True,
                               **grow)
                except ClientError as err:
                    r.growing_already(err, wanted)
                outcome.notes.append(f"{r.rid}: adding replicas to {r.target_id}: {have} -> {wanted} per shard")
            if not ctx.dry_run:  # ours growing, or a change of someone else's to finish first
                outcome.waits.append(r.group_wait(f"replicas of {r.target_id} available"))
        return outcome

    # -- rollback: the primary back, then the replicas INSTANTIATE added removed ---------------------
    def restore_point(self, ctx: RunContext, unit: WorkUnit) -> dict[str, Any] | None:
        """Read replicas per shard of each target group before the run: what a rollback shrinks it back to."""
        return {r.rid: _replicas(r.target) for r in self._members(ctx, unit) if r.target is not None}

    def rollback_summary(self) -> str:
        return (super().rollback_summary() + "; then the DR group's replicas per shard go back to what they were "
                "before the run (DecreaseReplicaCount)")

    def rollback(self, ctx: RunContext, unit: WorkUnit, before: dict[str, Any] | None = None) -> PhaseOutcome:
        """The primary back (the phases the other way), then the group the run moved to shrinks back to the read
        replicas per shard recorded in that run's preflight (none recorded: left as it is, named)."""
        out = super().rollback(ctx, unit, before)
        if out.waits:
            return out
        for r in self._members(ctx, unit):  # the way back's source: the group the run moved to
            ec = ctx.client("elasticache", ctx.source_region, unit.account_id)
            group = r.group(ec, r.source_id)
            if group is None:
                continue
            have, was = _replicas(group), (before or {}).get(r.rid)
            if was is None or have <= was:
                if was is None and have:
                    out.notes.append(f"{r.rid}: no restore point from the run undone: {r.source_id} keeps {have} "
                                     "replica(s) per shard")
                continue
            if group["Status"] == "available":
                shrink = _replica_count(group, was, more=False)
                ctx.mutate(ec, "decrease_replica_count", ReplicationGroupId=r.source_id, ApplyImmediately=True,
                           **shrink)
                out.notes.append(f"{r.rid}: {r.source_id} back to {was} replica(s) per shard (had {have})")
            if not ctx.dry_run:
                out.waits.append(Wait(service="elasticache", region=ctx.source_region, account_id=unit.account_id,
                                      waiter="replication_group_available", args={"ReplicationGroupId": r.source_id},
                                      description=f"replicas of {r.source_id} removed", delay=30, max_attempts=120))
        return out

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return super().activate(ctx, unit)
        outcome = PhaseOutcome()
        for resource in unit.resources:
            part = replace(unit, resources=(resource,))
            if ctx.unplanned or self.config(resource).mode == "disassociate":
                self._detach(ctx, self._member(ctx, part, resource), outcome)
            else:
                done = super().activate(ctx, part)
                outcome.waits += done.waits
                outcome.notes += done.notes
        return outcome

    def _detach(self, ctx: RunContext, r: _Resource, outcome: PhaseOutcome) -> None:
        """Take the target out of the datastore so it takes writes on its own (needs its region only)."""
        r.require()
        member = r.target_member
        if member is None:  # detached: by us, in an earlier round or run
            outcome.notes.append(f"{r.rid}: {r.target_id} takes writes on its own, detached from {r.group_id}")
            if r.target["Status"] != "available" and not ctx.dry_run:
                outcome.waits.append(r.group_wait(f"{r.target_id} available"))
            return
        if r.target_writes and r.group_status == "available":  # already its primary: nothing to detach from
            outcome.notes.append(f"{r.rid}: {r.target_id} is the primary of {r.group_id}")
            return
        if member["Status"] == "disassociating":
            outcome.waits.append(r.detach_wait(f"{r.target_id} leaving {r.group_id}"))
            return
        if r.group_status != "available":  # someone's change first: AWS refuses a detach meanwhile
            outcome.waits.append(r.promotion_wait(f"{r.group_id} is {r.group_status}"))
            return
        try:
            ctx.mutate(r.ec, "disassociate_global_replication_group", GlobalReplicationGroupId=r.group_id,
                       ReplicationGroupId=r.target_id, ReplicationGroupRegion=ctx.target_region)
        except ClientError as err:
            r.detaching_already(err)
        outcome.notes.append(f"{r.rid}: detaching {r.target_id} from {r.group_id}: it takes writes on its own; "
                             f"{r.source_id} ({ctx.source_region}) stays the datastore's primary until it is rebuilt")
        if not ctx.dry_run:
            outcome.waits.append(r.detach_wait(f"{r.target_id} leaving {r.group_id}"))

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if not ctx.is_drill:
            for r in self._members(ctx, unit):
                r.require()
                if r.target_member is None:  # detached by ACTIVATE: nothing re-joins; the rebuild is a person's
                    raise r.detached_error()
        return super().replicate(ctx, unit)

    def _drill(self, ctx: RunContext, r: _Resource) -> str:
        if r.target_writes:
            return f"drill, read-only; {r.target_id} is already the primary of {r.group_id}"
        member, status = r.target_member, r.target["Status"]
        if member is None:
            raise r.detached_error()
        if r.group_status != "available" or member["Status"] != "associated" or status != "available":
            raise AdapterError(r.rid, f"drill: global datastore {r.group_id} is {r.group_status}, {r.target_id} is "
                               f"{member['Status']} and {status}", "investigate the DR replication group before "
                               "relying on it")
        return (f"drill, read-only; {r.target_id} is an associated secondary of {r.group_id} with "
                f"{_replicas(r.target)} replica(s) per shard")

    def _promote(self, ctx: RunContext, r: _Resource) -> None:
        ctx.mutate(r.ec, "failover_global_replication_group", GlobalReplicationGroupId=r.group_id,
                   PrimaryRegion=ctx.target_region, PrimaryReplicationGroupId=r.target_id)

    def _rejoin_fix(self, ctx: RunContext, r: _Resource) -> str:
        # The old primary was detached after the failover made it a secondary: AWS adds a secondary only
        # by creating it, so it must go and come back as a member.
        src = ctx.source_region
        return (f"back up {r.source_id} if it holds data you need, delete it (aws elasticache delete-replication-group "
                f"--replication-group-id {r.source_id} --region {src}), re-create it as a secondary (aws elasticache "
                f"create-replication-group --replication-group-id {r.source_id} --global-replication-group-id "
                f"{r.group_id} --region {src}, with its subnet and security groups), then run REPLICATE again")

    # -- tag discovery ---------------------------------------------------------------------------
    # A global datastore is tagged on itself or on its member replication groups: each part names the one
    # datastore, and its members' regions say which group is primary and which DR.
    discovery_types = ("elasticache:globalreplicationgroup", "elasticache:replicationgroup")
    recovery_strategies = {"failover": {"mode": "failover"}, "disassociate": {"mode": "disassociate"}}

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"elasticache/{account_id}/{config['globalReplicationGroupId']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        datastores = self._datastores(read)
        by_id = {d["GlobalReplicationGroupId"]: d for d in datastores}
        by_member = {(m["ReplicationGroupRegion"], m["ReplicationGroupId"]): d
                     for d in datastores for m in d.get("Members") or []}
        out: list[Derived | NotDerived] = []
        for f in found:
            ds = by_id.get(f.name) if f.resource_type == "elasticache:globalreplicationgroup" \
                else by_member.get((f.region, f.name))
            if ds is None:
                out.append(NotDerived(f.arn, "not part of an ElastiCache global datastore -- add a secondary in "
                                             f"{read.dr} (CreateGlobalReplicationGroup, then CreateReplicationGroup "
                                             "with GlobalReplicationGroupId) or remove its dr:enabled tag"))
                continue
            gid = ds["GlobalReplicationGroupId"]
            members = {m["ReplicationGroupRegion"]: m["ReplicationGroupId"] for m in ds.get("Members") or []}
            missing = [region for region in (read.primary, read.dr) if region not in members]
            if missing:
                out.append(NotDerived(f.arn, f"global datastore {gid} has no member in {', '.join(missing)} -- add "
                                             "one (CreateReplicationGroup with GlobalReplicationGroupId) or remove "
                                             "dr:enabled"))
                continue
            config = {"globalReplicationGroupId": gid, "primaryReplicationGroupId": members[read.primary],
                      "drReplicationGroupId": members[read.dr]}
            out.append(Derived(self.identity(config, read.account_id), self.actions[0], gid, config, f.arn, f.tags,
                               secondary=f.region == read.dr))
        return out

    @staticmethod
    def _datastores(read: DiscoveryRead) -> list[dict[str, Any]]:
        """Every global datastore of the account, with members (it answers in any region: the primary's,
        else DR's when the primary is dark)."""
        for region in (read.primary, read.dr):
            try:
                pages = read.client("elasticache", region).get_paginator(
                    "describe_global_replication_groups").paginate(ShowMemberInfo=True)
                return [d for page in pages for d in page["GlobalReplicationGroups"]]
            except (BotoCoreError, ClientError):
                if region == read.dr:
                    raise
        return []
