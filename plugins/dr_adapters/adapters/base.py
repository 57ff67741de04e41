"""The adapter contract (SRS Appendix F): every technology implements the same phases.

Adapters know AWS and nothing about Airflow. Each phase method *converges*: it looks at the
current AWS state, makes only the calls still needed (so a second run of a finished phase
makes no mutating call) and returns. When AWS must finish something first (a DRS job, a
global-cluster switchover) the method returns ``Wait``s; the caller waits (deferrable in
Airflow, synchronous in the CLI and tests) and then calls the same method again.

Every mutating AWS call goes through ``RunContext.mutate`` so that dry runs, logs and the
report see the same list of changes.

Families: most technologies share one of two shapes, each a base class holding its loop, scope
guard and messages, so an adapter writes only how its service is read and changed:

* ``regional.RegionalCopyAdapter`` -- a copy deployed in each region, scaled or parked where it does
  not serve (ECS services, Lambda functions, Auto Scaling groups);
* ``replicated.ReplicatedGroupAdapter`` -- a group replicated across the regions with one writable
  member: promote the DR member, then verify the old one re-joined (Aurora global databases; next
  ElastiCache global datastores, RDS cross-region replicas, EFS replication).

* ``custom_steps.CustomStepAdapter`` -- a runbook step of one's own, run in the phases its config names
  (SSM Automation documents, Lambda functions invoked with a payload built from the run).

Technologies of their own shape (DRS recovery, Route 53 records) derive from ``Adapter`` directly.
"""

from __future__ import annotations

import json
import logging
from abc import ABC
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.plan.types import Health, Operation, Phase, Regions, Scope

if TYPE_CHECKING:
    from dr_adapters.adapters.capacity import Need
    from dr_adapters.aws.sessions import AccountSessions
    from dr_adapters.plan.model import ResourceSpec, WorkUnit

log = logging.getLogger(__name__)


class ActionConfig(BaseModel):
    """Base for each action's ``config`` schema: strict, camelCase keys as written in manifests."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class SourceRegionAvoided(RuntimeError):
    """An unplanned run asked for a client of the region it is leaving: a bug in the adapter's
    unplanned path (the conformance suite proves none reaches this)."""

    def __init__(self, region: str):
        self.region = region
        super().__init__(f"unplanned failover makes no call to {region}, the region being left")


class AdapterError(Exception):
    """A resource cannot be brought to the wanted state; the message says what to do about it."""

    def __init__(self, resource_id: str, message: str, remediation: str = ""):
        self.resource_id = resource_id
        self.remediation = remediation
        text = f"{resource_id}: {message}"
        if remediation:
            text += f" -- fix: {remediation}"
        super().__init__(text)


@dataclass(frozen=True)
class Wait:
    """Something AWS must finish before the phase can continue, expressed as a botocore waiter.

    ``waiter`` is a botocore waiter name of the service (``services_stable``) or one of ours
    from ``dr_adapters/waiters/<service>.json`` (``JobCompleted``).
    """

    service: str
    region: str
    account_id: str | None
    waiter: str
    args: dict[str, Any]
    description: str
    delay: float = 15.0
    max_attempts: int = 240

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "region": self.region,
            "account_id": self.account_id,
            "waiter": self.waiter,
            "args": self.args,
            "description": self.description,
            "delay": self.delay,
            "max_attempts": self.max_attempts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Wait:
        return cls(**data)


@dataclass
class PhaseOutcome:
    """What one call of a phase method did. ``waits`` empty means the phase has converged."""

    waits: list[Wait] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return not self.waits


@dataclass(frozen=True)
class ServiceSide:
    """IAM actions an adapter's calls need but the adapter never calls itself (``dr_adapters.iam``).

    AWS authorises them on our behalf: tagging on create (a ``Create*`` call with tags is also
    authorised as the service's ``TagResource``), or a service such as DRS acting with the
    caller's permissions (StartRecovery launches EC2 instances). Kept apart from ``iam_actions`` so
    the tests can prove that every action in ``iam_actions`` is really called; the shipped policy
    grants both.
    """

    sid: str  # the policy statement's Sid (alphanumeric)
    actions: tuple[str, ...]
    reason: str  # one line: which of our calls needs them, and why
    condition: dict[str, Any] | None = None  # e.g. iam:PassedToService for iam:PassRole


@dataclass(frozen=True)
class Finding:
    """A preflight observation about one resource."""

    resource_id: str
    ok: bool
    message: str
    tags: dict[str, str] | None = None  # the resource's tags when read (for the scope guard)
    exposure: str | None = None  # what an unplanned failover may lose (last replication lag / recovery point)

    def to_dict(self) -> dict[str, Any]:
        out = {"resource_id": self.resource_id, "ok": self.ok, "message": self.message}
        if self.exposure:
            out["exposure"] = self.exposure
        return out


@dataclass(frozen=True)
class HealthCheck:
    resource_id: str
    status: Health
    reason: str
    final: bool = False
    """Waiting will not change it (e.g. DEGRADED because a control plane is dark): validation, which keeps
    checking until every resource is HEALTHY, does not wait for this one."""

    def to_dict(self) -> dict[str, Any]:
        out = {"resource_id": self.resource_id, "status": self.status.value, "reason": self.reason}
        if self.final:
            out["final"] = True
        return out


@dataclass
class RunContext:
    """Everything an adapter needs to act for one run: direction, scope, AWS access, dry-run."""

    operation: Operation
    regions: Regions
    scope: Scope
    aws: AccountSessions
    dry_run: bool = False
    rpo_minutes: int | None = None
    run_id: str = "manual"
    log: logging.Logger = log
    changes: list[dict[str, Any]] = field(default_factory=list)
    unplanned: bool = False
    """Unplanned failover: the region being left is dark. No call may go to it (``client`` refuses),
    and its CLEANUP and REPLICATE are deferred to ``operation=reprotect`` (``Adapter.run_phase``)."""
    reverse_drill: bool = False
    """A drill of the way back (DR -> primary): after a failover and its reprotect, it proves a failback
    would work, as a drill proves a failover before one."""
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    """Reads one task's checks share, so that each is made once (preflight reads a DRS server's launch template
    for what it names and for the instance type it launches; instance types' vCPUs per account and region)."""

    @property
    def direction(self) -> Operation:
        """Which way the run moves: FAILBACK (DR -> primary) for a failback and a reverse drill, else FAILOVER."""
        back = self.operation is Operation.FAILBACK or (self.is_drill and self.reverse_drill)
        return Operation.FAILBACK if back else Operation.FAILOVER

    @property
    def source_region(self) -> str:
        return self.regions.source(self.direction)

    @property
    def target_region(self) -> str:
        return self.regions.target(self.direction)

    @property
    def is_drill(self) -> bool:
        return self.operation is Operation.DRILL

    @property
    def is_failback(self) -> bool:
        """Moving DR -> primary (a failback, or a drill of one): the sides swap."""
        return self.direction is Operation.FAILBACK

    def source_and_target(self, primary: Any, dr: Any) -> tuple[Any, Any]:
        """Order anything that has a primary and a DR side as (moved from, moved to)."""
        return (dr, primary) if self.is_failback else (primary, dr)

    def client(self, service: str, region: str, account_id: str | None = None, *,
               read_timeout: int | None = None) -> Any:
        """A client for ``region``; ``read_timeout`` (seconds) for a call that holds its reply that long (a
        synchronous Lambda Invoke waits for the function to return)."""
        if self.unplanned and region == self.source_region:
            raise SourceRegionAvoided(region)
        # The region being left may go dark mid-run: its calls fail in seconds, not minutes of retries.
        fast = region == self.source_region and not self.is_drill
        longer = {"read_timeout": read_timeout} if read_timeout is not None else {}
        return self.aws.client(service, region, account_id, fail_fast=fast, **longer)

    @property
    def deferred_note(self) -> str:
        return (f"deferred until {self.source_region} returns: unplanned failover, no call to the region "
                "being left; run operation=reprotect once it answers")

    def mutate(self, client: Any, operation_name: str, **kwargs: Any) -> dict[str, Any] | None:
        """Make a mutating AWS call, or in a dry run only log and record it (returns None then)."""
        region = client.meta.region_name
        service = client.meta.service_model.service_name
        entry = {"service": service, "operation": operation_name, "region": region, "args": kwargs}
        self.changes.append({**entry, "dry_run": self.dry_run})
        if self.dry_run:
            self.log.info("DRY RUN: would call %s.%s in %s with %s", service, operation_name, region, kwargs)
            return None
        self.log.info("calling %s.%s in %s with %s", service, operation_name, region, kwargs)
        return getattr(client, operation_name)(**kwargs)


def source_finding(
    ctx: RunContext, resource_id: str, label: str, read_tags: Callable[[], dict[str, str] | None], *, target_ok: bool
) -> Finding:
    """Preflight of the region being left. In a real outage it may be down: that must not block a
    failover to a healthy target, so an unreadable or missing source is a warning when the target is ok.
    ``read_tags`` returns the resource's tags, or None when it does not exist."""
    if ctx.unplanned:
        return Finding(resource_id, target_ok, f"{label}: not read (unplanned failover: no call to {ctx.source_region})")
    try:
        tags = read_tags()
    except (ClientError, BotoCoreError) as exc:
        return Finding(resource_id, target_ok, f"warning: cannot read {label}: {exc}")
    if tags is None:
        return Finding(resource_id, target_ok, f"warning: {label} does not exist")
    problem = ctx.scope.mismatch(tags)
    return Finding(resource_id, not problem, f"{label} is out of scope: {problem}" if problem else f"{label} exists", tags)


class Adapter(ABC):
    """One AWS technology. Subclasses set ``actions`` and ``config_model`` and override phases.

    A phase an adapter does not use stays the explicit no-op below (e.g. Route 53 is ACTIVATE
    only); ``phases`` lists the phases it really acts in, for the plan printout and docs.
    """

    actions: ClassVar[tuple[str, ...]]
    config_model: ClassVar[type[ActionConfig]]
    phases: ClassVar[tuple[Phase, ...]] = ()
    max_batch: ClassVar[int] = 1
    """How many resources one work unit may hold (one API call's worth, e.g. 200 for DRS)."""

    drill_behaviour: ClassVar[str] = ""
    """One line for the plan printout and docs: what this adapter does in a drill."""

    unplanned_behaviour: ClassVar[str] = ""
    """One line for the docs: what it does in an unplanned failover (the source region dark: no call to
    it; CLEANUP and REPLICATE deferred to reprotect). Required: registration refuses an adapter without."""

    phase_summaries: ClassVar[dict[Phase, str]] = {}
    """One line per phase for the plan printout and docs: what the phase does on a failover."""

    iam_actions: ClassVar[tuple[str, ...]] = ()
    """IAM actions of the calls this adapter makes itself, waiters included (``service:Operation``).
    Tests record every call across failover, failback and drill: each is in here, and each of these
    is made at least once (``tests/adapters/test_contract.py``)."""

    service_side_actions: ClassVar[tuple[ServiceSide, ...]] = ()
    """IAM actions AWS needs on our behalf for those calls, never called by us (see ``ServiceSide``).
    The shipped policy (``include/iam/adapters/<module>.json``) grants ``iam_actions`` and these."""

    # -- tag discovery (``adapters.discovery``) -------------------------------------------------
    discovery_types: ClassVar[tuple[str, ...]] = ()
    """Resource types (``service:type``, as Resource Explorer and the Tagging API name them) whose
    DR-tagged resources ``derive`` turns into manifest entries, the most telling first (its tags win
    when several parts of one resource are tagged). None: hand-listed only (Route 53 records)."""

    recovery_strategies: ClassVar[dict[str, dict[str, Any]]] = {}
    """``dr:recovery-strategy`` values and the config each sets (Aurora: switchover or failover)."""

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        """Names the DR resource a config protects, as ``derive`` names what it finds: how a manifest's
        entries are matched with the tagged estate. Unique per account and technology."""
        return f"{self.actions[0].lower()}/{account_id}/{json.dumps(config, sort_keys=True)}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        """The manifest entries of DR-tagged resources of ``discovery_types`` in one account, read from
        AWS with ``read.client`` (batch the reads: discovery runs over thousands of resources)."""
        return [NotDerived(f.arn, f"{type(self).__name__} does not discover resources -- list it under layers")
                for f in found]

    def acts_in(self, unit: WorkUnit, phase: Phase) -> bool:
        """Whether ``unit`` has work in ``phase`` (the DAG gives it a task there only then): by default every
        phase the adapter acts in; a runbook step, only the phases its config names."""
        return phase in self.phases

    def iam_resources(self, resource: ResourceSpec, account_id: str, regions: Regions) -> dict[str, list[str]]:
        """IAM action -> the ARNs one manifest resource needs it on, for the per-manifest policies
        (``dr_adapters.iam.manifest_policies``); an action left out is granted on ``*`` (include/iam always is)."""
        return {}

    def config(self, resource: ResourceSpec) -> Any:
        """The resource's config parsed with this adapter's schema."""
        return self.config_model.model_validate(resource.config)

    # -- read-only ---------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        """Check each resource exists, is in scope (tags), is replicating within RPO, fits quotas."""
        raise NotImplementedError

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        """After activation: is each resource serving from the target region?"""
        raise NotImplementedError

    def capacity_needs(self, ctx: RunContext, unit: WorkUnit) -> list[Need]:
        """Read-only: what this unit's phases will take of the account's quotas in this run (EC2 vCPUs of the
        instances it launches, DB instances it creates, concurrency it reserves ...), one ``Need`` per quota and
        region, leaving out what is already in place. Preflight sums every unit's needs per account, region and
        quota and checks them against the quota and its usage (``adapters.capacity``). By default: nothing."""
        return []

    # -- phases: converge, return waits while AWS is still busy ------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return PhaseOutcome(notes=[f"{type(self).__name__}: nothing to do in INSTANTIATE"])

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return PhaseOutcome(notes=[f"{type(self).__name__}: nothing to do in ACTIVATE"])

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return PhaseOutcome(notes=[f"{type(self).__name__}: nothing to do in CLEANUP"])

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return PhaseOutcome(notes=[f"{type(self).__name__}: nothing to do in REPLICATE"])

    def run_phase(self, phase: Phase, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.unplanned and phase in (Phase.CLEANUP, Phase.REPLICATE):
            # Both act on the region being left (retire the old copy, replicate back into it).
            return PhaseOutcome(notes=[f"{phase.value} {ctx.deferred_note}"])
        return getattr(self, phase.method)(ctx, unit)

    # -- rollback: undo what a failed or rejected failover/failback started ----------------------
    rollback_phases: ClassVar[tuple[Phase, ...]] = (Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    """What ``operation=rollback`` runs, in this order, for a unit the run it undoes started, moving back the
    other way (``ctx`` acts as a failback when it undoes a failover): ACTIVATE puts the serving role back (DNS
    answers, the database writer), CLEANUP retires what that run brought up where it moved to (desired counts
    back to standby, functions parked, domains and clusters scaled down), REPLICATE restores replication into it
    where ACTIVATE broke it (EFS, OpenSearch). Each converges, so a rollback run twice changes nothing the second
    time. Empty: the adapter has no undo and the rollback leaves the unit as it is (``rollback_left_because``)."""

    rollback_left_because: ClassVar[str] = "no undo for this action"
    """Why a rollback leaves a unit of this adapter as it is, when ``rollback_phases`` is empty."""

    def rollback_summary(self) -> str:
        """One line for the docs: what a rollback does to a resource of this adapter."""
        if not self.rollback_phases:
            return f"left as it is: {self.rollback_left_because}"
        return ("moving back (as a failback moves after a failover), for what the run started: "
                + ", then ".join(p.value for p in self.rollback_phases) + ", each converged")

    def restore_point(self, ctx: RunContext, unit: WorkUnit) -> dict[str, Any] | None:
        """Read-only, in a failover's (or failback's) preflight, before anything changes: what a rollback needs
        to put back exactly as it was and cannot derive from the config (e.g. the desired count the target
        service ran at). JSON-safe; None (the default): the phases' own standby state is what was there."""
        return None

    def rollback(self, ctx: RunContext, unit: WorkUnit, before: dict[str, Any] | None = None) -> PhaseOutcome:
        """Undo, for one unit, what a failover (or failback) that did not finish started: ``rollback_phases``
        moving back, each converged before the next (its waits first). ``ctx.operation`` is the way back;
        ``before``: this unit's ``restore_point`` from the preflight of the run undone (None if none)."""
        out = PhaseOutcome()
        for phase in self.rollback_phases:
            step = getattr(self, phase.method)(ctx, unit)
            out.notes += [f"{phase.value} back: {n}" for n in step.notes]
            if step.waits:
                out.waits = step.waits  # called again once they are done: the phases before converge at once
                return out
        return out

    def explain_failure(self, ctx: RunContext, unit: WorkUnit) -> str | None:
        """After a wait of this unit failed (e.g. a DRS job): which resources failed and why, read
        from AWS with calls the adapter makes anyway, for the error, the report and the alert."""
        return None
