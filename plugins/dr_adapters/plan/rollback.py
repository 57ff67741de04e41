"""What a rollback undoes (FR-3.1 wave-level rollback): plain Python, no Airflow.

A rollback follows a failover or failback that failed or was rejected. It undoes exactly what that run
started: every work unit whose INSTANTIATE or ACTIVATE ran (finished, failed half-way or still waiting),
wave by wave in reverse order, moving each back the other way (``Adapter.rollback``). A unit the run never
reached is not touched. A run that got past its waves (CLEANUP or REPLICATE ran) is not rolled back: the old
region is retired by then, and a failback is the way back.

The orchestration layer reads the runs (their reports and task records, from Airflow's metadata database)
and hands them here as plain dicts: ``choose_run`` picks the run to undo, ``undo_plan`` what to undo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dr_adapters.plan.model import Plan, WorkUnit
from dr_adapters.plan.types import Operation

UNDOABLE = (Operation.FAILOVER.value, Operation.FAILBACK.value)
WAVE_PHASES = ("INSTANTIATE", "ACTIVATE")
AFTER_WAVES = ("CLEANUP", "REPLICATE")


class NothingToRollBack(ValueError):
    """No run to undo, or not one a rollback can undo: the message says which and what to do instead."""


@dataclass(frozen=True)
class RunSummary:
    """What a rollback needs of an earlier run: its report's headline."""

    run_id: str
    operation: str
    outcome: str
    started_at: str
    dry_run: bool = False
    failover_mode: str = "planned"

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> RunSummary:
        return cls(run_id=report["run_id"], operation=report.get("operation") or "", outcome=report.get("outcome") or "",
                   started_at=report.get("started_at") or "", dry_run=bool(report.get("dry_run")),
                   failover_mode=report.get("failover_mode") or "planned")


@dataclass
class UndoPlan:
    """The run a rollback undoes and, per wave (highest first), the work units it started."""

    run_id: str
    operation: str  # the undone run's: failover or failback
    outcome: str
    waves: dict[int, list[str]] = field(default_factory=dict)  # wave -> unit ids, in reverse wave order
    left: dict[str, str] = field(default_factory=dict)  # unit id -> why the rollback leaves it as it is
    before: dict[str, Any] = field(default_factory=dict)  # unit id -> its restore point from that run's preflight

    @property
    def direction(self) -> Operation:
        """The way the rollback moves: back the way the undone run came."""
        return Operation.FAILOVER if self.operation == Operation.FAILBACK.value else Operation.FAILBACK

    def units_of(self, wave: int) -> list[str]:
        return self.waves.get(wave, [])

    def undone_before(self, wave: int) -> bool:
        """Whether the rollback undoes a wave before ``wave`` (a higher-numbered one): a gate opens then."""
        return any(n > wave and units for n, units in self.waves.items())

    def to_dict(self) -> dict[str, Any]:
        return {"of": self.run_id, "operation": self.operation, "outcome": self.outcome,
                "waves": [{"number": n, "units": units} for n, units in self.waves.items()],
                "left": dict(self.left), "before": dict(self.before)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UndoPlan:
        return cls(run_id=data["of"], operation=data["operation"], outcome=data.get("outcome") or "",
                   waves={int(w["number"]): list(w["units"]) for w in data.get("waves") or []},
                   left=dict(data.get("left") or {}), before=dict(data.get("before") or {}))


def choose_run(runs: list[RunSummary], rollback_of: str | None, dag_id: str) -> RunSummary:
    """The run to undo: ``rollback_of`` if given, else the latest failover/failback of the DAG (dry runs
    aside), which must not have succeeded. Raises ``NothingToRollBack`` saying why and what to do."""
    if rollback_of:
        found = next((r for r in runs if r.run_id == rollback_of), None)
        if found is None:
            raise NothingToRollBack(f"rollback_of={rollback_of!r}: no report of such a run of {dag_id} -- pass the run "
                                    "id of a failover or failback of this DAG that failed or was rejected")
        return _undoable(found)
    moves = sorted((r for r in runs if r.operation in UNDOABLE and not r.dry_run), key=lambda r: r.started_at)
    if not moves:
        raise NothingToRollBack(f"nothing to roll back: no failover or failback of {dag_id} failed or was rejected "
                                "(a rollback undoes the waves such a run started)")
    latest = moves[-1]
    if latest.outcome == "succeeded":
        raise NothingToRollBack(
            f"nothing to roll back: the latest {latest.operation} of {dag_id} ({latest.run_id}) succeeded -- to move "
            f"back, run {'failback' if latest.operation == 'failover' else 'failover'}")
    return _undoable(latest)


def _undoable(run: RunSummary) -> RunSummary:
    if run.operation not in UNDOABLE or run.dry_run:
        what = "a dry run" if run.dry_run else f"operation={run.operation}"
        raise NothingToRollBack(f"{run.run_id} is {what}: a rollback undoes a failover or failback that changed the "
                                "estate")
    if run.outcome == "succeeded":
        raise NothingToRollBack(f"{run.run_id} ({run.operation}) succeeded: nothing to roll back -- to move back, run "
                                f"{'failback' if run.operation == 'failover' else 'failover'}")
    if run.failover_mode == "unplanned":
        raise NothingToRollBack(f"{run.run_id} was an unplanned {run.operation} (the region it left was dark): once "
                                "that region answers, finish it with operation=reprotect, then fail back")
    return run


def undo_plan(plan: Plan, run: RunSummary, records: list[dict[str, Any]],
              not_undone: Callable[[WorkUnit], str | None] = lambda unit: None,
              before: dict[str, Any] | None = None) -> UndoPlan:
    """Per wave, highest first, the units of ``plan`` whose INSTANTIATE or ACTIVATE ran in ``run``
    (``records``: that run's task records, as the report reads them). ``not_undone`` says why a unit
    has no undo (a runbook step: what it did is the runbook's), or None; ``before``: the restore points
    that run's preflight read, by unit id."""
    ran = [r for r in records if r and r.get("outcome") not in (None, "skipped")]
    late = sorted({r["phase"] for r in ran if r.get("phase") in AFTER_WAVES and (r.get("changes") or
                                                                               r.get("outcome") == "succeeded")})
    if late:
        raise NothingToRollBack(
            f"{run.run_id} got past its waves ({', '.join(late)} ran): the region it left is retired, a rollback "
            f"cannot put it back -- run {'failback' if run.operation == 'failover' else 'failover'} instead")
    touched = {r["unit_id"] for r in ran if r.get("phase") in WAVE_PHASES}
    undo = UndoPlan(run_id=run.run_id, operation=run.operation, outcome=run.outcome)
    for wave in sorted(plan.waves, key=lambda w: -w.number):
        units = []
        for unit in (u for u in wave.units if u.unit_id in touched):
            if why := not_undone(unit):
                undo.left[unit.unit_id] = why
            else:
                units.append(unit.unit_id)
                if (before or {}).get(unit.unit_id) is not None:
                    undo.before[unit.unit_id] = before[unit.unit_id]
        if units:
            undo.waves[wave.number] = units
    if not undo.waves and not undo.left:
        raise NothingToRollBack(f"{run.run_id} ({run.operation}, {run.outcome}) changed nothing: no wave of it started "
                                "INSTANTIATE or ACTIVATE, so there is nothing to roll back")
    return undo
