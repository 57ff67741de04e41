"""A failover never waits behind a drill: two runs of a DAG at a time, never two that change the estate.

The DAG admits two active runs (``max_active_runs=2``) so that a failover triggered while a scheduled
drill runs starts at once instead of queueing behind it. This guard keeps what ``max_active_runs=1``
guaranteed -- never two disruptive runs on one estate -- and makes the drill give way:

* A **change** run (failover, failback, reprotect; not a dry run) and a **drill** (not a dry run)
  register when their preflight starts: an Airflow Variable ``dr_run.<dag_id>.<kind>.<run digest>``,
  deleted by the run's report (a change run that did not succeed keeps it: cleared, it goes on, and
  counts again; only a queued or running run ever counts). Variables because a worker cannot read the metadata database in
  Airflow 3, while tasks and the triggerer can read and write Variables through the Task SDK (at run
  time only, never at parse time). Readiness checks and dry runs change nothing and are not guarded.
* A change run that finds another live change run stops before any change, naming it.
* A change run that finds a live drill asks it to stand down (Variable ``dr_preempt.<dag_id>.<drill
  run digest>``) and waits, deferred (``DrillStandDownTrigger``: no worker slot held), until the drill
  run has finished -- it cleans up first -- or ``DR_PREEMPT_TIMEOUT_MINUTES`` (default 30) runs out,
  which fails the preflight naming the drill run, with nothing changed.
* A drill that finds a live change run does not start (it skips everything but its report, which
  says it gave way); one that finds another live drill does the same.
* A drill's tasks check for the request before each step (phase tasks, validation, gates, manual
  steps; a task waiting on AWS in the triggerer when it resumes, so that what it launched exists and
  is cleaned up; a health wait at each check). Once asked, only its CLEANUP (run even when the drill
  did not select it: drill resources must not be left behind) and its report run.

Each side registers *before* it looks, so when two runs start together at least one sees the other.
Two change runs started together may both see each other and both stop: safe; trigger one again.
A registration whose run is no longer queued or running (a report that never ran) is ignored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from dr_adapters.plan.run_request import RunRequest
from dr_adapters.plan.types import Operation

log = logging.getLogger(__name__)

CHANGE, DRILL = "change", "drill"
RUN_PREFIX, PREEMPT_PREFIX = "dr_run.", "dr_preempt."
LIVE_STATES = ("queued", "running")
TIMEOUT_ENV, DEFAULT_TIMEOUT_MINUTES = "DR_PREEMPT_TIMEOUT_MINUTES", 30.0


def run_kind(request: RunRequest) -> str | None:
    """CHANGE (changes the estate), DRILL (launches drill resources), or None (changes nothing)."""
    if request.dry_run:
        return None
    if request.operation is Operation.DRILL:
        return DRILL
    return CHANGE if request.operation.is_disruptive else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _scope(dag_id: str) -> str:
    """The DAG's part of a key (a Variable key holds 250 characters; a DAG id as many)."""
    return dag_id if len(dag_id) <= 180 else _digest(dag_id)


def registration_key(dag_id: str, kind: str, run_id: str) -> str:
    return f"{RUN_PREFIX}{_scope(dag_id)}.{kind}.{_digest(run_id)}"


def preemption_key(dag_id: str, run_id: str) -> str:
    return f"{PREEMPT_PREFIX}{_scope(dag_id)}.{_digest(run_id)}"


def timeout_minutes() -> float:
    return float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_MINUTES)


def poll_seconds() -> float:
    """How often a waiting change run looks at the drill (DR_PREEMPT_POLL_SECONDS, default 10)."""
    return float(os.environ.get("DR_PREEMPT_POLL_SECONDS") or 10)


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def describe(run: dict[str, Any]) -> str:
    return f"{run.get('operation', run.get('kind'))} run {run['run_id']}"


@dataclass
class Admission:
    """What the guard decided for a run: go on, stop (``refused``, because of ``blocked_by``), and which
    drills it asked to stand down (``preempting``)."""

    kind: str | None
    refused: str | None = None
    blocked_by: dict[str, Any] | None = None
    preempting: list[dict[str, Any]] = field(default_factory=list)


def decide(kind: str | None, others: list[dict[str, Any]]) -> Admission:
    """The rule, given the other live registered runs of the DAG."""
    changes = [o for o in others if o.get("kind") == CHANGE]
    drills = [o for o in others if o.get("kind") == DRILL]
    if kind == CHANGE and changes:
        return Admission(kind, blocked_by=changes[0], refused=(
            f"{describe(changes[0])} is already changing this estate (since {changes[0].get('registered_at')}): two "
            "runs that change an estate never overlap -- wait for it to finish (or cancel it: mark it failed), then "
            "trigger this one again; nothing was changed"))
    if kind == CHANGE:
        return Admission(kind, preempting=drills)
    if kind == DRILL and changes:
        return Admission(kind, blocked_by=changes[0], refused=(
            f"preempted by {describe(changes[0])}: a drill gives way to a run that changes the estate and does not "
            "start while one runs"))
    if kind == DRILL and drills:
        return Admission(kind, blocked_by=drills[0], refused=(
            f"{describe(drills[0])} is already drilling this estate: one drill at a time; this one did not start"))
    return Admission(kind)


# -- Variables, through the Task SDK (tasks and the triggerer) ---------------------------------------

def _variables() -> Any:
    from airflow.sdk import Variable

    return Variable


def register(dag_id: str, run_id: str, kind: str, operation: str) -> dict[str, Any]:
    entry = {"dag_id": dag_id, "run_id": run_id, "kind": kind, "operation": operation, "registered_at": now()}
    _variables().set(registration_key(dag_id, kind, run_id), entry, serialize_json=True,
                     description=f"DR guard: {operation} run {run_id} of {dag_id} is active (deleted by its report)")
    return entry


def _delete(key: str) -> None:
    try:
        _variables().delete(key)
    except Exception:  # noqa: BLE001 - already gone, or the API is busy: a stale entry is ignored anyway
        log.debug("could not delete Variable %s", key, exc_info=True)


def release(dag_id: str, run_id: str, *, keep_registration: bool = False) -> None:
    """The run is over: its registration, and a request to stand down addressed to it, go.
    ``keep_registration``: a change run that did not succeed may be cleared and go on: registered, it
    counts again as soon as it runs (it is ignored while it has ended)."""
    for kind in () if keep_registration else (CHANGE, DRILL):
        _delete(registration_key(dag_id, kind, run_id))
    _delete(preemption_key(dag_id, run_id))


def registered(dag_id: str) -> list[dict[str, Any]]:
    Variable = _variables()
    entries = []
    for key in list(Variable.keys(prefix=f"{RUN_PREFIX}{_scope(dag_id)}.")):
        entry = Variable.get(key, default=None, deserialize_json=True)
        if isinstance(entry, dict) and entry.get("run_id") and entry.get("dag_id", dag_id) == dag_id:
            entries.append({**entry, "key": key})
    return entries


def run_state(dag_id: str, run_id: str) -> str | None:
    """The run's state through the Task SDK, None when Airflow no longer has it."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        state = RuntimeTaskInstance.get_dagrun_state(dag_id=dag_id, run_id=run_id)
        return str(getattr(state, "value", state))  # an enum from the Task SDK: str() would give its name
    except Exception as exc:  # noqa: BLE001 - deleted: gone; anything else: assume it runs (never overlap)
        text = str(exc).lower()
        if "not found" in text or "not_found" in text or "404" in text:
            return None
        log.warning("cannot read the state of run %s; counting it as running", run_id, exc_info=True)
        return "running"


def admit(dag_id: str, run_id: str, request: RunRequest,
          state_of: Callable[[str, str], str | None] = run_state) -> Admission:
    """Register this run, look at the others, decide; a change run asks live drills to stand down."""
    kind = run_kind(request)
    if kind is None:
        return Admission(None)
    register(dag_id, run_id, kind, request.operation.value)
    others = []
    for entry in registered(dag_id):
        if entry["run_id"] == run_id:
            continue
        state = state_of(dag_id, entry["run_id"])
        if state in LIVE_STATES:
            others.append(entry)
        elif state in (None, "success"):  # gone, or done: a failed run's stays, in case it is cleared
            log.info("forgetting the registration of %s: the run has ended (%s)", describe(entry), state or "deleted")
            _delete(entry["key"])
    admission = decide(kind, others)
    if admission.refused and kind == CHANGE:
        release(dag_id, run_id)  # it never starts: it must not hold up the run it found
    for drill in admission.preempting:
        request_stand_down(dag_id, drill["run_id"], by_run_id=run_id, by_operation=request.operation.value)
    return admission


def request_stand_down(dag_id: str, drill_run_id: str, *, by_run_id: str, by_operation: str) -> dict[str, Any]:
    request = {"drill_run_id": drill_run_id, "by_run_id": by_run_id, "by_operation": by_operation,
               "requested_at": now()}
    _variables().set(preemption_key(dag_id, drill_run_id), request, serialize_json=True,
                     description=f"DR guard: drill run {drill_run_id} of {dag_id} must stand down for "
                                 f"{by_operation} run {by_run_id}")
    log.warning("asked drill run %s to stand down for %s run %s", drill_run_id, by_operation, by_run_id)
    return request


def stand_down_request(dag_id: str, run_id: str, request: RunRequest | None) -> dict[str, Any] | None:
    """The request addressed to this drill run to stand down, or None (always None for other runs).
    Never raises: a drill that cannot read it goes on, and is asked again at its next step."""
    if request is None or run_kind(request) != DRILL:
        return None
    try:
        found = _variables().get(preemption_key(dag_id, run_id), default=None, deserialize_json=True)
    except Exception:  # noqa: BLE001
        log.warning("cannot read whether this drill must stand down", exc_info=True)
        return None
    return found if isinstance(found, dict) else None


def stand_down_reason(found: dict[str, Any]) -> str:
    return (f"preempted by {found.get('by_operation', 'failover')} run {found.get('by_run_id')} "
            f"(asked at {found.get('requested_at')}): the drill stops here; its CLEANUP removes what it launched")


class DrillStandDownTrigger(BaseTrigger):
    """Waits in the triggerer until every drill run named has finished (it cleans up and reports
    first), or the deadline passes."""

    def __init__(self, dag_id: str, run_ids: list[str], deadline: str, interval: float):
        super().__init__()
        self.dag_id = dag_id
        self.run_ids = run_ids
        self.deadline = deadline
        self.interval = interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__name__}",
                {"dag_id": self.dag_id, "run_ids": self.run_ids, "deadline": self.deadline, "interval": self.interval})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from asgiref.sync import sync_to_async

        deadline = datetime.fromisoformat(self.deadline)
        state = sync_to_async(run_state)
        while True:
            states = {r: await state(self.dag_id, r) for r in self.run_ids}
            running = [r for r, s in states.items() if s in LIVE_STATES]
            left = (deadline - datetime.now(timezone.utc)).total_seconds()
            if not running or left <= 0:
                yield TriggerEvent({"status": "timeout" if running else "stood_down", "states": states,
                                    "running": running, "at": now()})
                return
            self.log.info("waiting for drill run(s) %s to clean up and finish (%.0fs left)", ", ".join(running), left)
            await asyncio.sleep(min(self.interval, left))
