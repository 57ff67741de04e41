"""Typed records: what the preflight, phase and validate tasks and the approval gates leave in XCom.

Every task pushes a ``record`` XCom and the report task reads them all back. That contract crosses
task (and process) boundaries as JSON, so it used to be plain dicts, built by hand in the operators
and read by string key in the report. It is typed here, in one place, so both sides agree on it.

``to_dict`` gives the JSON-safe dict XCom carries, with the same keys as the hand-built dicts had:
the fields every record carries are always written, the others only once they are set (a VALIDATE
record has no ``rounds``, a gate answered automatically has no ``responded_by``). ``from_dict``
tolerates missing optional keys, so records written by an older version still load, and ignores
keys it does not know, so a newer version's records do too.

Each record also says which try of its task instance wrote it, and carries the task instance's earlier
tries (``orchestration.tries``): Airflow deletes a task instance's XCom when it runs again (an automatic
retry, or a person clearing it after a fix), and the report still has to show the failed attempt and
measure RTO from the run's first start.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping, TypeVar

R = TypeVar("R", bound="_Record")


class _Record:
    """The dict round trip shared by the record types (dataclasses naming their always-written fields)."""

    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.name not in self.ALWAYS_WRITTEN:
                continue
            # Copies: the dict goes to XCom while the task may still extend the record's lists.
            out[f.name] = list(value) if isinstance(value, (list, tuple)) else value
        return out

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        # Copies: the record's lists are extended in place, which must not alter the caller's dict.
        return cls(**{k: list(v) if isinstance(v, list) else v for k, v in data.items() if k in known})


@dataclass(kw_only=True)
class TriedRecord(_Record):
    """Which try of its task instance wrote a record, and the earlier tries it carries on."""

    try_number: int | None = None  # Airflow's try number
    clear_number: int | None = None  # how many times the run had been cleared when this try started
    # The run's start_date when this try started. Airflow resets it when the run is cleared, so after a
    # clear it is when the run resumed, not when it first started.
    run_start_date: str | None = None
    # This task instance's earlier tries, oldest first: each a record of the same type as a dict,
    # without its bulk (changes, notes, health, findings) and without earlier tries of its own.
    earlier_tries: list[dict[str, Any]] | None = None


@dataclass(kw_only=True)
class PreflightRecord(TriedRecord):
    """The preflight task: read-only checks before anything changes (all of ``operation=readiness``).

    ``operation``, ``dry_run`` and ``waves`` are missing when the run's parameters could not be read.
    """

    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset(
        {"task", "started_at", "ended_at", "outcome", "findings", "problems"})

    task: str
    started_at: str | None = None
    operation: str | None = None
    dry_run: bool | None = None
    waves: list[int] | None = None
    ended_at: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)  # {"resource_id", "ok", "message"}
    problems: list[dict[str, Any]] = field(default_factory=list)  # the findings that are not ok
    outcome: str | None = None  # "succeeded" | "failed" | "stood down" (a drill that gave way)
    # The guard against overlapping runs (orchestration.preemption): the drills a change run asked to
    # stand down and how long it waited, or why a drill did not start.
    guard: dict[str, Any] | None = None


@dataclass(kw_only=True)
class TaskRecord(TriedRecord):
    """One phase (or VALIDATE) task for one work unit.

    ``changes``, ``notes`` and ``rounds`` belong to the phase tasks that converge through an adapter;
    a VALIDATE record has ``health`` instead (and ``notes`` in a dry run).
    """

    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset(
        {"task", "phase", "wave", "unit_id", "action", "account_id", "resource_ids", "started_at"})

    task: str
    phase: str | None = None  # a Phase value, or "VALIDATE"
    wave: int | None = None  # None: a phase after the waves (CLEANUP, REPLICATE)
    unit_id: str
    action: str | None = None
    account_id: str | None = None  # None: the hub account
    resource_ids: list[str] = field(default_factory=list)
    started_at: str | None = None
    changes: list[dict[str, Any]] | None = None  # AWS calls that changed (or would change) something
    notes: list[str] | None = None
    rounds: int | None = None  # adapter calls so far: one, plus one after each deferred wait
    ended_at: str | None = None
    outcome: str | None = None  # "succeeded" | "failed" | "waiting" (deferred, not finished)
    error: str | None = None
    health: list[dict[str, Any]] | None = None  # VALIDATE: {"resource_id", "status", "reason", ...}


@dataclass(kw_only=True)
class GateRecord(TriedRecord):
    """An approval gate between waves: who decided what, when, and how long it waited."""

    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset({"task"})

    task: str
    next_step: str | None = None
    requested_at: str | None = None
    # "automatic" | "waiting" | "approved" | "rejected" | "continued unplanned" | "timed out"
    # | "marked success (manual override)"
    decision: str | None = None
    responded_at: str | None = None
    responded_by: str | None = None
    note: str | None = None  # why an automatic decision needed no one
    overdue_alerts: list[str] | None = None  # when each approval_overdue alert went out
    error: str | None = None
    source_dark: str | None = None  # the region being left, found not answering when the gate opened
    allowed_respondents: list[str] | None = None  # who may answer (the manifest's approvers, less the triggerer)
    refused: list[dict[str, Any]] | None = None  # answers refused: {"by", "answer", "at", "why"}
    # what the approver was shown, in short: time against the RTO, the wave's health (or its prewarm), how
    # many resources the next step changes (orchestration.evidence; the message and the request have the lists)
    evidence: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ManualStepRecord(TaskRecord):
    """A manual step's task: a TaskRecord (so its wave, phase and outcome count like any unit's), plus
    what the person was asked and who answered, when (``phase`` is where it sits: VALIDATE after the
    wave's validation). ``started_at`` is when it was asked, ``ended_at`` when it was answered."""

    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = TaskRecord.ALWAYS_WRITTEN | {"title", "decision"}

    title: str = ""
    # "waiting" | "confirmed" | "failed" | "marked success (manual override)" | "marked failed (manual override)"
    # | "skipped in drill" | "dry run"
    decision: str | None = None
    responded_by: str | None = None
    responded_at: str | None = None
    failback: bool | None = None  # asked with the way-back instructions
    overdue_alerts: list[str] | None = None  # when each manual_step_overdue alert went out
