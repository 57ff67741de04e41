"""Which run a rollback undoes, and what that run did, read from Airflow's metadata database.

A worker cannot query the database (Airflow 3's Task SDK talks only to the execution API), but it can
list the task states of every run of its DAG (``get_task_states``) and read any run's XComs
(``xcom_pull(dag_id=..., run_id=...)``). Each run leaves its report (XCom ``report`` of the report task)
and each phase task its ``record``: that is all a rollback needs, and it lives in the metadata database,
so it is there whichever region is dark (unlike the S3 copies of the reports).

Candidates are the runs whose preflight passed and whose ``approve_cleanup`` gate did not skip: failovers,
failbacks and drills (a readiness check, the frequent kind, skips it, and so does a rollback; a run that
stopped in preflight changed nothing). Their reports tell the operation, outcome and start;
``plan.rollback.choose_run`` picks the run to undo.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from dr_adapters.adapters.base import Adapter, RunContext
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.plan.model import Plan, WorkUnit
from dr_adapters.plan.rollback import NothingToRollBack, RunSummary, UndoPlan, choose_run, undo_plan
from dr_adapters.plan.run_request import RunRequest

log = logging.getLogger(__name__)

UNDO_KEY = "rollback"  # preflight's XCom: the UndoPlan of this run (UndoPlan.to_dict)
BEFORE_KEY = "restore_points"  # a failover's (failback's) preflight XCom: unit id -> Adapter.restore_point
GATE_BEFORE_CLEANUP = "approve_cleanup"
GROUP_PREFIX = "rollback_wave_"
GATE_PREFIX = "approve_rollback_wave_"


def is_rollback_task(task_id: str) -> bool:
    """Tasks only a rollback runs (the factory names them so)."""
    return task_id.startswith((GROUP_PREFIX, GATE_PREFIX))


def find_undo(plan: Plan, request: RunRequest, context: Any, record_tasks: list[str]) -> UndoPlan:
    """The run this rollback undoes and, per wave (highest first), the units it started. Raises
    ``NothingToRollBack`` with what to do instead."""
    ti, dag_id = context["ti"], plan.dag_id
    states = ti.get_task_states(dag_id=dag_id, task_ids=["preflight", GATE_BEFORE_CLEANUP])
    runs: list[RunSummary] = []
    for run_id, tasks in states.items():
        if run_id == context["run_id"] or str(tasks.get(GATE_BEFORE_CLEANUP)) in ("skipped", "None"):
            continue  # a readiness check or rollback (skipped), or a run that never got that far (None)
        if str(tasks.get("preflight")) != "success":
            continue  # stopped before any change: not the run that left the estate half-way
        if request.rollback_of and run_id != request.rollback_of:
            continue
        report = ti.xcom_pull(dag_id=dag_id, run_id=run_id, task_ids="report", key="report")
        if isinstance(report, dict) and report.get("run_id"):
            runs.append(RunSummary.from_report(report))
    run = choose_run(runs, request.rollback_of, dag_id)
    records = ti.xcom_pull(dag_id=dag_id, run_id=run.run_id, task_ids=record_tasks, key="record") or []
    before = ti.xcom_pull(dag_id=dag_id, run_id=run.run_id, task_ids="preflight", key=BEFORE_KEY)
    log.info("rolling back %s (%s, %s): %d task records", run.run_id, run.operation, run.outcome, len(records))
    return undo_plan(plan, run, [r for r in records if isinstance(r, dict)], not_undone,
                     before if isinstance(before, dict) else None)


def only_units(plan: Plan, unit_ids: set[str]) -> Plan:
    """The plan with only ``unit_ids`` in its waves: what a rollback checks in preflight."""
    waves = tuple(replace(w, steps=tuple(tuple(u for u in step if u.unit_id in unit_ids) for step in w.steps))
                  for w in plan.waves)
    return replace(plan, waves=tuple(w for w in waves if w.units))


def restore_points(plan: Plan, request: RunRequest, ctx: RunContext) -> dict[str, Any]:
    """Before a failover (or failback) changes anything: each unit's ``Adapter.restore_point`` in the waves it
    runs, for a rollback of it (only adapters that have one are asked; a read that fails leaves the unit
    without, and the rollback falls back to the standby state its phases know)."""
    points: dict[str, Any] = {}
    for unit in (u for w in plan.waves if request.wave_selected(w.number) for u in w.units):
        adapter = adapter_for(unit.action)
        if type(adapter).restore_point is Adapter.restore_point:
            continue
        try:
            point = adapter.restore_point(ctx, unit)
        except Exception:  # noqa: BLE001 - preflight's checks passed; this is only for a rollback's precision
            log.warning("cannot read the restore point of %s", unit.unit_id, exc_info=True)
            continue
        if point is not None:
            points[unit.unit_id] = point
    return points


def not_undone(unit: WorkUnit) -> str | None:
    adapter = adapter_for(unit.action)
    return None if adapter.rollback_phases else adapter.rollback_left_because


def undo_of(context: Any) -> UndoPlan | None:
    """This run's UndoPlan, as preflight found it (None before preflight, or when it found none)."""
    try:
        found = context["ti"].xcom_pull(task_ids="preflight", key=UNDO_KEY)
    except Exception:  # noqa: BLE001 - no XCom backend (a bare unit test): not known yet
        return None
    return UndoPlan.from_dict(found) if isinstance(found, dict) else None


__all__ = ["NothingToRollBack", "UNDO_KEY", "find_undo", "is_rollback_task", "undo_of"]
