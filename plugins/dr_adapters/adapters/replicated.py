"""Replicated groups: one writable member, its copy in the other region replicating from it.

The shape "promote the DR member of a replicated group, then re-join the old one": Aurora global
databases now; ElastiCache global datastores, RDS cross-region read replicas and EFS replication
next. The group knows which member writes, so every phase reads the group from the region being
moved to and acts only when the target member is not yet where it must be:

* ACTIVATE promotes the target member (a planned switchover or an unplanned failover, as the
  technology calls them), unless it already writes; while the group is busy it waits;
* CLEANUP keeps the old member: it is the way back (the base class's explicit no-op);
* REPLICATE verifies the old member replicates from the new writer again, and names the fix when it
  was detached (AWS cannot re-add a member that holds data: it must be re-created as a secondary);
* a drill only reads: the target could take over, nothing is promoted or demoted.

What differs per technology is how the group is read and promoted; the loop is here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from botocore.exceptions import ClientError

from dr_adapters.adapters.base import Adapter, AdapterError, PhaseOutcome, RunContext, Wait
from dr_adapters.plan.model import ResourceSpec, WorkUnit


class GroupMember(ABC):
    """One manifest resource of a replicated group, resolved for this run (what each technology reads)."""

    rid: str
    group_id: str  # the group, as the manifest names it (global cluster, global datastore ...)
    source_id: str  # the member moved away from
    target_id: str  # the member moved to
    mode: str  # the promotion: "switchover" (planned, no data loss) or "failover"

    @abstractmethod
    def require(self) -> None:
        """Raise ``AdapterError`` unless the group and the target member exist, are in scope and belong."""

    @property
    @abstractmethod
    def group_status(self) -> str:
        """The group's status; ``available`` when no promotion is running."""

    @property
    @abstractmethod
    def target_writes(self) -> bool:
        """Whether the target member is the group's writer now."""

    ctx: RunContext

    def member(self, region: str, member_id: str) -> dict[str, Any] | None:
        """The group's member in ``region`` with this id, as the group lists it (None: not a member).
        A technology whose group has no member list (an RDS replica pair) defines ``source_member``
        itself instead."""
        raise NotImplementedError(f"{type(self).__name__} lists no group members: define source_member")

    @property
    def target_member(self) -> dict[str, Any] | None:
        return self.member(self.ctx.target_region, self.target_id)

    @property
    def source_member(self) -> dict[str, Any] | None:
        """The old member as the group lists it (None: no longer a member)."""
        return self.member(self.ctx.source_region, self.source_id)

    @property
    @abstractmethod
    def source_writes(self) -> bool:
        """Whether the old member is (still) the group's writer."""

    @abstractmethod
    def promotion_wait(self, description: str) -> Wait:
        """Wait until the group is available again."""

    @abstractmethod
    def promoting_already(self, err: ClientError) -> None:
        """A promotion refused after a lost reply: return if the group is now promoting (or promoted)
        the target, so the caller's wait covers it; re-raise ``err`` otherwise."""


Member = TypeVar("Member", bound=GroupMember)


class ReplicatedGroupAdapter(Adapter, Generic[Member]):
    group_noun: ClassVar[str]
    """What the group is called in messages: 'global cluster', 'global datastore' ..."""

    # -- what each technology provides -----------------------------------------------------------
    @abstractmethod
    def _member(self, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec) -> Member:
        """Read the resource's group and target member (from the target region only)."""

    @abstractmethod
    def _promote(self, ctx: RunContext, m: Member) -> None:
        """Make the promotion call (through ``ctx.mutate``)."""

    @abstractmethod
    def _drill(self, ctx: RunContext, m: Member) -> str:
        """A drill's read-only check that the target could take over; returns the note (or raises)."""

    @abstractmethod
    def _rejoin_fix(self, ctx: RunContext, m: Member) -> str:
        """What to do when the old member was detached from the group."""

    # -- shared ------------------------------------------------------------------------------------
    def _members(self, ctx: RunContext, unit: WorkUnit) -> list[Member]:
        return [self._member(ctx, unit, r) for r in unit.resources]

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        outcome = PhaseOutcome()
        for m in self._members(ctx, unit):
            m.require()
            if ctx.is_drill:  # never promote or demote in a drill: check the target could take over
                outcome.notes.append(f"{m.rid}: {self._drill(ctx, m)}")
                continue
            status = m.group_status
            if m.target_writes and status == "available":
                outcome.notes.append(f"{m.rid}: {m.target_id} is the writer of {m.group_id}")
                continue
            if status != "available":  # a promotion is running (ours from a previous round, or anyone's)
                outcome.waits.append(m.promotion_wait(f"{m.group_id} is {status}"))
                continue
            try:
                self._promote(ctx, m)
            except ClientError as err:
                m.promoting_already(err)
            outcome.notes.append(f"{m.rid}: {m.mode} of {m.group_id} to {m.target_id} started")
            if not ctx.dry_run:
                outcome.waits.append(m.promotion_wait(f"{m.mode} of {m.group_id} to {m.target_id}"))
        return outcome

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=[f"{type(self).__name__}: drill, REPLICATE is a no-op"])
        outcome = PhaseOutcome()
        for m in self._members(ctx, unit):
            m.require()
            if m.source_member is None:
                raise AdapterError(
                    m.rid, f"old writer {m.source_id} ({ctx.source_region}) is no longer a member of {m.group_id}",
                    self._rejoin_fix(ctx, m))
            if m.source_writes or not m.target_writes:
                if ctx.dry_run:  # a dry-run ACTIVATE moved nothing; there is nothing to verify yet
                    outcome.notes.append(f"{m.rid}: dry run; would verify {m.source_id} is a secondary")
                    continue
                raise AdapterError(m.rid, f"{m.target_id} is not the writer of {m.group_id} yet",
                                   "complete ACTIVATE before REPLICATE")
            outcome.notes.append(f"{m.rid}: {m.source_id} replicates from {m.target_id} as a secondary")
        return outcome
