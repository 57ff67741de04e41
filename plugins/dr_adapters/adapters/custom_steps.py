"""Runbook steps of one's own inside a wave: the family of ``SsmAutomation`` and ``LambdaInvoke``.

A real DR runbook has steps no adapter can know ("run the cache-warming automation", "invoke our own
post-failover Lambda"): drs-plan-automation runs SSM Automation documents around each wave, AWS Region switch
has a custom Lambda block. Here they are ordinary adapters, so waves, work units, approval gates, dry runs,
the scope guard, the report and the conformance suite apply to them as to any technology.

What the family shares:

* **Where and when.** A step runs in the phases its config names (default ``[ACTIVATE]``), in the region the
  run moves to (``region: target``, the default) or the one it leaves (``source``). An unplanned run makes no
  call to the region it leaves: a ``source`` step is refused there (preflight fails it, and its phase if
  preflight was overridden) unless it only runs in CLEANUP or REPLICATE, which wait for ``reprotect`` anyway.
* **The way back.** A failback (and a drill of one) sends ``failbackParameters`` / ``failbackPayload`` when
  given: the rollback of what the failover's step did; else the same input.
* **Drills.** ``inDrill: skip`` (the default) runs nothing in a drill and only checks the step is ready;
  ``run`` runs it with ``{operation}`` = ``drill`` -- the document or function must then be drill-safe
  (change nothing that serves), as the product's own drill is.
* **The run's context**, filled into every string of the input: the placeholders of ``PLACEHOLDERS``
  (``{target_region}``, ``{run_id}`` ...). An unknown one is refused when the manifest is validated, naming the
  field; ``{{`` and ``}}`` write literal braces.
* **The scope guard.** The document or function must carry the run's Customer/Environment tags: preflight
  checks it, and so does every phase method, also of a phase the step does not run in (one read); the DAG
  gives a step's unit a task only in the phases its config names (``acts_in``).
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from dr_adapters.adapters.base import (ActionConfig, Adapter, AdapterError, Finding, HealthCheck, PhaseOutcome,
                                       RunContext)
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase

PLACEHOLDERS: dict[str, str] = {
    "operation": "`failover`, `failback` or `drill`: what the run does (a reprotect acts out the failover or "
                 "failback it completes)",
    "direction": "`failover` or `failback`: which way the run moves (a drill rehearses a failover; a drill of the "
                 "way back, a failback)",
    "failover_mode": "`planned` or `unplanned`",
    "phase": "the phase running the step: `INSTANTIATE`, `ACTIVATE`, `CLEANUP` or `REPLICATE`",
    "source_region": "the region the run moves away from",
    "target_region": "the region the run moves to",
    "primary_region": "the manifest's primary region",
    "dr_region": "the manifest's DR region",
    "run_id": "the run's id (the Airflow DAG run)",
    "customer": "the manifest's customer",
    "environment": "the manifest's environment",
    "drill": "`true` in a drill, else `false`",
    "resource_id": "the step's resourceId",
    "account_id": "the account the step runs in",
}
"""The run context a step's input may name, ``{name}``: the documented set, nothing else."""

PhaseName = Literal["INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"]
WAVE_PHASES = (Phase.INSTANTIATE, Phase.ACTIVATE)  # the phases an unplanned run does not defer
_TAG_CHARS = re.compile(r"[^\w\s.:/=+\-@]")  # what AWS takes in tag values (letters, digits, spaces, _.:/=+-@)


# -- placeholders --------------------------------------------------------------------------------------
def placeholders_in(text: str) -> list[str]:
    """The ``{name}`` fields of ``text``; ValueError for a stray brace, a format spec or an attribute."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conversion or not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} is not a "
                             "placeholder: write {name} with a name of the documented set")
        names.append(name)
    return names


def check_placeholders(value: Any, where: str = "") -> None:
    """Refuse a placeholder that is not in ``PLACEHOLDERS`` anywhere in ``value`` (strings, lists, mappings,
    keys included), naming where it is (``where``: the path so far, e.g. ``Operation[0]``)."""
    said = f"{where}: " if where else ""
    if isinstance(value, str):
        try:
            unknown = [n for n in placeholders_in(value) if n not in PLACEHOLDERS]
        except ValueError as exc:
            raise ValueError(f"{said}{exc} ({{{{ and }}}} write literal braces)") from None
        if unknown:
            raise ValueError(f"{said}unknown placeholder {{{unknown[0]}}} -- use one of "
                             + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + " ({{ and }} write literal braces)")
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            check_placeholders(key, f"key {path}")
            check_placeholders(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_placeholders(item, f"{where}[{i}]")


def fill(value: Any, values: dict[str, str]) -> Any:
    """``value`` with every placeholder replaced by the run's ``values`` (the same structure)."""
    if isinstance(value, str):
        return value.format_map(values)
    if isinstance(value, dict):
        return {fill(k, values): fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def tag_value(text: str) -> str:
    """``text`` as an AWS tag value (256 characters of the allowed set)."""
    return _TAG_CHARS.sub("-", text)[:256]


# -- the config every step shares ------------------------------------------------------------------------
class StepConfig(ActionConfig):
    phases: list[PhaseName] = Field(
        default=["ACTIVATE"], min_length=1,
        description="The phases the step runs in (each at most once); in the other phases it only checks its scope.")
    region: Literal["target", "source"] = Field(
        "target", description="Where it runs: the region the run moves to, or the one it leaves (refused in an "
                              "unplanned run, which makes no call there, unless it runs in CLEANUP/REPLICATE only: "
                              "those wait for reprotect).")
    in_drill: Literal["skip", "run"] = Field(
        "skip", alias="inDrill", description="In a drill: `skip` (check it is ready, run nothing) or `run` it with "
                                             "{operation} = drill (the step must then be drill-safe).")

    @field_validator("phases")
    @classmethod
    def _each_phase_once(cls, phases: list[str]) -> list[str]:
        twice = sorted({p for p in phases if phases.count(p) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} listed more than once -- list each phase once")
        return phases


@dataclass(frozen=True)
class Step:
    """One step of a work unit, resolved for this run."""

    rid: str
    account_id: str | None
    config: Any
    region: str | None  # None: refused (an unplanned run's source region)

    @property
    def phases(self) -> tuple[Phase, ...]:
        return tuple(Phase(p) for p in self.config.phases)

    def runs_in(self, phase: Phase) -> bool:
        return phase in self.phases


def run_key(ctx: RunContext, rid: str, phase: Phase) -> str:
    """What names one step's work in one run and phase (its execution's tag, its invocation's record): the same
    for a retry or a cleared task of this run, another for any other run, resource, phase or direction."""
    text = "|".join((ctx.run_id, rid, phase.value, ctx.operation.value, ctx.direction.value))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class CustomStepAdapter(Adapter):
    """The family: every phase resolves the unit's step, guards its scope, and runs it when its config names
    the phase (and the run is not a drill that skips it). Subclasses say how a step is checked and run."""
    rollback_phases = ()
    rollback_left_because = "a runbook step of one's own: undoing what it did is the runbook's, not the orchestrator's"

    phases = ALL_PHASES
    max_batch = 1  # one document or function per work unit: each is its own auditable task
    skip_note: ClassVar[str] = "inDrill: skip -- ready, not run"

    # -- what a technology defines -------------------------------------------------------------------
    def check(self, ctx: RunContext, step: Step) -> Any:
        """Read the document/function in ``step.region``; AdapterError when missing or out of scope."""
        raise NotImplementedError

    def run_step(self, ctx: RunContext, step: Step, phase: Phase, target: Any, out: PhaseOutcome) -> None:
        """Run the step (or find it already done by this run), adding waits and notes to ``out``."""
        raise NotImplementedError

    verb: ClassVar[str] = "run"  # what the step does, in findings and health: run (a document), invoked (a function)

    def target_name(self, config: Any) -> str:
        """The document or function the step names, as findings and health checks say it."""
        raise NotImplementedError

    def _read(self, ctx: RunContext, step: Step) -> Any:
        """The document/function in ``step.region`` (with its ``tags``), or None when missing."""
        raise NotImplementedError

    def _problems(self, ctx: RunContext, step: Step, target: Any) -> tuple[str | None, str]:
        """(what stops the step, or None; a note on what was found) for preflight."""
        raise NotImplementedError

    def activated_health(self, ctx: RunContext, step: Step, name: str) -> HealthCheck:
        """The step's health after this run's ACTIVATE ran it (in ``step.region``)."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for resource in unit.resources:
            step = self.step(ctx, unit, resource)
            refused = self.refusal(ctx, step)
            if refused:
                findings.append(Finding(step.rid, False, f"{refused} -- {self.REFUSAL_FIX}"))
                continue
            if step.region is None:
                findings.append(Finding(step.rid, True, f"{self.target_name(step.config)}: runs in CLEANUP/REPLICATE "
                                                          f"in {ctx.source_region}, deferred to reprotect"))
                continue
            target = self._read(ctx, step)
            problem, note = self._problems(ctx, step, target)
            findings.append(Finding(step.rid, problem is None, problem or note, target.tags if target else None))
        return findings

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for resource in unit.resources:
            step = self.step(ctx, unit, resource)
            name = self.target_name(step.config)
            if not step.runs_in(Phase.ACTIVATE) or step.region is None:
                checks.append(HealthCheck(step.rid, Health.HEALTHY, f"{name}: not {self.verb} in ACTIVATE"))
            elif ctx.is_drill and step.config.in_drill == "skip":
                checks.append(HealthCheck(step.rid, Health.HEALTHY, f"drill: {name} not {self.verb} (inDrill: skip)"))
            else:
                checks.append(self.activated_health(ctx, step, name))
        return checks

    def acts_in(self, unit: WorkUnit, phase: Phase) -> bool:
        """A step's unit gets a task in the phases its config names only (its scope is checked by preflight)."""
        return any(phase.value in self.config(r).phases for r in unit.resources)

    def step(self, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec) -> Step:
        cfg = self.config(resource)
        region = ctx.target_region if cfg.region == "target" else ctx.source_region
        refused = ctx.unplanned and cfg.region == "source"
        return Step(resource.resource_id, unit.account_id, cfg, None if refused else region)

    def refusal(self, ctx: RunContext, step: Step) -> str | None:
        """Why an unplanned run cannot run the step (it runs in the dark region in a wave phase), else None."""
        if step.region is None and any(p in WAVE_PHASES for p in step.phases):
            return (f"region: source runs in {ctx.source_region}, the region being left: an unplanned run makes no "
                    "call to it")
        return None

    REFUSAL_FIX = ("run it in CLEANUP or REPLICATE only (deferred to operation=reprotect, once the region answers), "
                   "or mark this task success to go on without it")

    @staticmethod
    def values(ctx: RunContext, step: Step, phase: Phase, account_id: Callable[[], str]) -> dict[str, str]:
        """The placeholders' values for this run, phase and step."""
        values = {
            "operation": ctx.operation.value, "direction": ctx.direction.value,
            "failover_mode": "unplanned" if ctx.unplanned else "planned", "phase": phase.value,
            "source_region": ctx.source_region, "target_region": ctx.target_region,
            "primary_region": ctx.regions.primary, "dr_region": ctx.regions.dr, "run_id": ctx.run_id,
            "customer": ctx.scope.customer, "environment": ctx.scope.environment,
            "drill": "true" if ctx.is_drill else "false", "resource_id": step.rid}
        return _LazyAccount(values, account_id)

    def _phase(self, ctx: RunContext, unit: WorkUnit, phase: Phase) -> PhaseOutcome:
        out = PhaseOutcome()
        for resource in unit.resources:
            step = self.step(ctx, unit, resource)
            if not step.runs_in(phase):
                if step.region is not None:
                    self.check(ctx, step)  # the scope guard holds in every phase
                names = ", ".join(p.value for p in step.phases)
                out.notes.append(f"{step.rid}: runs in {names}, not in {phase.value}")
                continue
            refused = self.refusal(ctx, step)
            if refused:
                raise AdapterError(step.rid, refused, self.REFUSAL_FIX)
            target = self.check(ctx, step)
            if ctx.is_drill and step.config.in_drill == "skip":
                out.notes.append(f"{step.rid}: drill, {self.skip_note}")
                continue
            self.run_step(ctx, step, phase, target, out)
        return out

    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return self._phase(ctx, unit, Phase.INSTANTIATE)

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return self._phase(ctx, unit, Phase.ACTIVATE)

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return self._phase(ctx, unit, Phase.CLEANUP)

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return self._phase(ctx, unit, Phase.REPLICATE)


class _LazyAccount(dict):
    """The placeholder values, with ``{account_id}`` read (STS, for the hub) only when an input names it."""

    def __init__(self, values: dict[str, str], account_id: Callable[[], str]):
        super().__init__(values)
        self._account_id = account_id

    def __missing__(self, key: str) -> str:
        if key != "account_id":
            raise KeyError(key)
        self[key] = self._account_id()
        return self[key]
