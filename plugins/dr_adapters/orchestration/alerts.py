"""Alerts while the run goes on (FR-6.2), not only when it ends.

* ``unit_failed``: a work unit's task failed for good (after Airflow's retries, or at once when no
  retry can help): which resources, the error, what to do, and how to clear just that unit with what
  it blocked. Sent from the task's ``on_failure_callback``, which Airflow runs in the worker right
  after the last try fails (never for a try it will retry), so it goes out while the unit's siblings
  may still be working. It goes through ``notify`` like every notification: the first topic that
  answers, never one in a region an unplanned run left.
* ``wave_completed``: sent by the gate that follows a wave when it opens (every run that got there,
  drills too), with the wave's health as its validation read it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from dr_adapters.orchestration.aws_access import orchestrator_region, sessions_for
from dr_adapters.orchestration.notify import dark_region, notify
from dr_adapters.orchestration.operators import ValidateOperator, request_from_context, retry_actions
from dr_adapters.plan.model import Plan, plan_from_dict
from dr_adapters.plan.run_request import RunRequestError
from dr_adapters.plan.types import Health

log = logging.getLogger(__name__)

HEALTH_ORDER = (Health.HEALTHY.value, Health.DEGRADED.value, Health.UNHEALTHY.value)
MAX_LISTED = 100  # resources named in one wave_completed message (an SNS message holds 256 KB)


def clear_one_unit(dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
    """How to re-run just this unit once its cause is fixed, with the tasks it blocked (and nothing that
    still runs or succeeded: ``only_failed``); ready to paste."""
    selected: Any = [task_id, map_index] if map_index >= 0 else task_id
    body = {"dag_run_id": run_id, "dry_run": False, "task_ids": [selected], "include_downstream": True,
            "only_failed": True, "reset_dag_runs": True}
    path = f"/api/v2/dags/{dag_id}/clearTaskInstances"
    where = f"map index {map_index} of {task_id}" if map_index >= 0 else task_id
    return {
        "how": (f"Fix the cause, then clear this unit with what it blocked (finished work is not repeated): in the "
                f"Grid view, {where} -> Clear with Downstream ticked; or REST: POST {path} with {json.dumps(body)}. "
                "To clear every failed unit of the run at once: " + retry_actions(dag_id, run_id)["cli"]),
        "rest": {"method": "POST", "path": path, "body": body},
    }


def _remediation(error: str, validating: bool) -> str:
    """What to do: the adapter's own fix when it gave one (an AdapterError's ``-- fix:``), else the phase's."""
    if " -- fix: " in error:
        return error.split(" -- fix: ", 1)[1]
    if validating:
        return ("the resource did not come up healthy after activation: find out why (its own health checks, the "
                "task log), then clear this unit to validate again -- or mark it success to accept it as it is")
    return ("read this unit's task log for the AWS call that failed, deal with the cause in AWS, then clear this "
            "unit: its phase converges from where AWS is")


def announce_unit_failure(context: Any) -> None:
    """``on_failure_callback`` of the phase and validate tasks: publish ``unit_failed``. Never raises
    (a lost alert is logged; the report names the failure anyway)."""
    try:
        _announce_unit_failure(context)
    except Exception:  # noqa: BLE001 - an alert must never change how the task ended
        log.warning("could not announce the unit's failure", exc_info=True)


def _announce_unit_failure(context: Any) -> None:
    task, ti = context["task"], context["ti"]
    plan = plan_from_dict(task.plan)
    try:
        request = request_from_context(plan, context)
    except RunRequestError:
        request = None
    saved = ti.xcom_pull(task_ids=task.task_id, key="record", map_indexes=ti.map_index) or {}
    exception = context.get("exception")
    error = saved.get("error") or (f"{type(exception).__name__}: {exception}" if exception else "failed")
    unit = task.unit
    validating = isinstance(task, ValidateOperator)
    wave = task.wave if task.wave is not None else unit.get("wave")
    phase = "VALIDATE" if validating else task.phase
    details: dict[str, Any] = {
        "run_id": context["run_id"], "task": task.task_id, "map_index": ti.map_index, "unit_id": unit["unit_id"],
        "wave": wave, "phase": phase, "action": unit["action"], "account_id": unit.get("account_id"),
        "resources": [r["resource_id"] for r in unit["resources"]], "error": error,
        "tries": getattr(ti, "try_number", None),
        "remediation": _remediation(error, validating),
        "clear": clear_one_unit(plan.dag_id, context["run_id"], task.task_id, ti.map_index),
    }
    if validating and saved.get("health"):
        details["health"] = [h for h in saved["health"] if h.get("status") != Health.HEALTHY.value]
    sessions = sessions_for(plan, context["run_id"], task.aws_conn_id,
                            home_region=orchestrator_region(plan, request.acting_as if request else None))
    where = f"wave {wave} {phase}" if wave is not None else phase
    notify(plan, sessions, "unit_failed", f"DR {plan.dag_id}: {unit['unit_id']} FAILED in {where}", details,
           avoid=dark_region(plan, request))


def wave_health(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A wave's health from its tasks' records: the worst status its validation saw (``NOT VALIDATED``
    when nothing was: a dry run, or ACTIVATE not selected), each resource's, and its manual steps' answers."""
    checks = [h for r in records if r.get("phase") == "VALIDATE" and "title" not in r for h in (r.get("health") or [])]
    statuses = Counter(h.get("status") for h in checks)
    worst = max((s for s in statuses if s in HEALTH_ORDER), key=HEALTH_ORDER.index, default="NOT VALIDATED")
    # the worst first, and no more than an SNS message holds comfortably (the report has them all)
    shown = sorted(checks, key=lambda h: -HEALTH_ORDER.index(h["status"]) if h.get("status") in HEALTH_ORDER else 0)
    return {
        "health": worst,
        "counts": dict(statuses),
        "resources": [{"resource_id": h.get("resource_id"), "status": h.get("status"), "reason": h.get("reason")}
                      for h in shown[:MAX_LISTED]],
        **({"resources_not_listed": len(shown) - MAX_LISTED} if len(shown) > MAX_LISTED else {}),
        "units": len({r.get("unit_id") for r in records}),
        "failed_units": sorted({r.get("unit_id") for r in records if r.get("outcome") == "failed"}),
        "manual_steps": [{"title": r.get("title"), "answer": r.get("decision"), "by": r.get("responded_by")}
                         for r in records if "title" in r],
    }


def announce_wave_completed(plan: Plan, sessions: Any, context: Any, wave: dict[str, Any], next_step: str, *,
                            avoid: str | None) -> dict[str, Any] | None:
    """Publish ``wave_completed`` for the wave a gate follows, with its health; None (nothing sent) when
    the wave did not run in this run (not selected, a readiness check)."""
    records = [r for r in (context["ti"].xcom_pull(task_ids=wave["tasks"], key="record") or []) if r]
    if not records:
        return None
    summary = wave_health(records)
    details = {"run_id": context["run_id"], "wave": wave["number"], "layer_id": wave["layer_id"], **summary,
               "next": next_step}
    notify(plan, sessions, "wave_completed",
           f"DR {plan.dag_id}: wave {wave['number']} ({wave['layer_id']}) completed, {summary['health']}",
           details, avoid=avoid)
    return summary
