"""The ``preflight`` task: read-only checks before anything changes (and the whole of ``operation=readiness``),
the guard against overlapping runs (orchestration.preemption: check, wait deferred for a drill to give way,
resume), a rollback's choice of what it undoes (orchestration.rollback), and the skip, in one step, of every
task this run's operation does not run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk.bases.skipmixin import XCOM_SKIPMIXIN_KEY, XCOM_SKIPMIXIN_SKIPPED
from airflow.sdk.exceptions import AirflowFailException, DownstreamTasksSkipped

from dr_adapters.adapters.base import RunContext
from dr_adapters.orchestration import preemption, tries
from dr_adapters.orchestration.audit import triggered_by
from dr_adapters.orchestration.notify import dark_region, notify
from dr_adapters.orchestration.operators import REPORT_TASK_ID, DrOperator, seconds_since, now
from dr_adapters.orchestration.rollback import (BEFORE_KEY, UNDO_KEY, NothingToRollBack, find_undo, is_rollback_task,
                                                only_units, restore_points, undo_of)
from dr_adapters.plan.model import Plan
from dr_adapters.plan.run_request import RunRequest
from dr_adapters.plan.types import Operation
from dr_adapters.preflight import run_preflight
from dr_adapters.report.records import PreflightRecord


class PreflightOperator(DrOperator):
    """Read-only checks before anything changes (and the whole of ``operation=readiness``).

    A readiness run is this task and the report. Once its checks pass it marks every other task of
    the run skipped in one call (Airflow's skip-downstream, as a ShortCircuitOperator does), so none
    of them starts a worker only to skip itself: a readiness check costs two task instances, not one
    per phase, unit and gate (cheap enough to run every 30 minutes for every customer). The report
    (``all_done``) still runs. When the checks fail, the scheduler marks the rest ``upstream_failed``.
    Any other run skips the same way what its operation does not run: a rollback everything but its own
    chain (``rollback_wave_<n>``), every other operation that chain; a drill that gives way, all but the report.
    """

    inherits_from_skipmixin = True  # a skipped task cleared later stays skipped (NotPreviouslySkippedDep)

    def __init__(self, *, record_tasks: list[str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.record_tasks = record_tasks or []  # the wave, cleanup and replicate tasks: what a rollback reads

    def execute(self, context: Any) -> dict[str, Any]:
        record = PreflightRecord(task=self.task_id, started_at=now())
        tries.begin(context, record)  # its first try's start is the run's first start, whatever is cleared later
        try:
            plan, request = self.load(context)
        except AirflowFailException as exc:  # bad conf (e.g. another customer's): left for the report too
            self._stop(context, record, "run parameters", str(exc))
            raise
        record.operation, record.dry_run, record.waves = request.operation.value, request.dry_run, list(request.waves)
        # Never two runs changing the estate; a drill gives way to a failover (orchestration.preemption).
        admission = preemption.admit(plan.dag_id, context["run_id"], request)
        if admission.refused and admission.kind == preemption.CHANGE:
            self._stop(context, record, "run guard", admission.refused)
            raise AirflowFailException(f"preflight stopped, nothing was changed: {admission.refused}")
        if admission.refused:  # a drill while a failover (or another drill) runs: it gives way, reported
            record.ended_at, record.outcome = now(), "stood down"
            record.guard = {"stood_down": admission.refused, "for": admission.blocked_by}
            tries.keep(context, record)
            context["ti"].xcom_push(key="record", value=record.to_dict())
            self.log.warning("the drill does not start: %s", admission.refused)
            self._skip_all_but_the_report(context, f"drill stood down: {admission.refused}")
            return record.to_dict()  # not reached: the skip ends the task (successfully)
        undo = None
        if request.operation is Operation.ROLLBACK:
            try:
                undo = find_undo(plan, request, context, self.record_tasks)
            except NothingToRollBack as exc:
                self._stop(context, record, "rollback", str(exc))
                raise AirflowFailException(f"preflight failed, nothing was changed: {exc}") from None
            context["ti"].xcom_push(key=UNDO_KEY, value=undo.to_dict())
            request = replace(request, direction=undo.direction)
        ctx = self.run_context(plan, request, context)
        preempting = [{"run_id": d["run_id"], "operation": d.get("operation")} for d in admission.preempting]
        notify(plan, ctx.aws, "run_started", f"DR {request.operation.value} started: {plan.dag_id}",
               {"run_id": context["run_id"], "waves": list(request.waves), "dry_run": request.dry_run,
                "triggered_by": triggered_by(context),
                **({"preempting": preempting} if preempting else {}),
                **({"rollback_of": undo.run_id} if undo else {})},
               avoid=dark_region(plan, request))
        if preempting:  # wait, deferred, until the drill has cleaned up and finished
            timeout = preemption.timeout_minutes()
            record.guard = {"preempted": preempting, "requested_at": now(), "timeout_minutes": timeout}
            context["ti"].xcom_push(key="record", value=record.to_dict())
            self.log.warning("drill run(s) %s asked to stand down; waiting up to %g min for them to clean up "
                             "(deferred, no worker slot held)", ", ".join(d["run_id"] for d in preempting), timeout)
            deadline = datetime.now(timezone.utc) + timedelta(minutes=timeout)
            self.defer(trigger=preemption.DrillStandDownTrigger(plan.dag_id, [d["run_id"] for d in preempting],
                                                                deadline.isoformat(), preemption.poll_seconds()),
                       method_name="resume_after_drill", kwargs={"record": record.to_dict()})
        return self._check(context, plan, request, ctx, record, undo)

    def resume_after_drill(self, context: Any, event: dict[str, Any], record: dict[str, Any] | None = None
                           ) -> dict[str, Any]:
        plan, request = self.load(context)
        saved = PreflightRecord.from_dict(record or context["ti"].xcom_pull(task_ids=self.task_id, key="record"))
        guard = dict(saved.guard or {})
        guard.update(ended_at=event.get("at") or now(), drill_states=event.get("states") or {})
        guard["waited_seconds"] = round(seconds_since(guard.get("requested_at")), 1)
        saved.guard = guard
        if event.get("status") != "stood_down":
            running = ", ".join(event.get("running") or [])
            message = (f"drill run {running} did not finish within {guard.get('timeout_minutes'):g} min of being asked "
                       f"to stand down: look at that run (its CLEANUP and report); once its drill resources are gone "
                       f"(or to go on regardless: mark it failed), clear this preflight; nothing was changed")
            self._stop(context, saved, "run guard", message)
            raise AirflowFailException(f"preflight stopped: {message}")
        self.log.info("drill run(s) %s stood down after %.0fs", ", ".join(guard.get("drill_states") or []),
                      guard["waited_seconds"])
        undo = None
        if request.operation is Operation.ROLLBACK:  # as execute found it before waiting
            if (undo := undo_of(context)) is None:
                message = "the rollback's undo plan (preflight's XCom) is gone: clear this preflight to look again"
                self._stop(context, saved, "rollback", message)
                raise AirflowFailException(f"preflight stopped: {message}")
            request = replace(request, direction=undo.direction)
        return self._check(context, plan, request, self.run_context(plan, request, context), saved, undo)

    def _stop(self, context: Any, record: PreflightRecord, what: str, message: str) -> None:
        """Preflight stops before anything runs: its record says why, for the report."""
        problem = {"resource_id": what, "ok": False, "message": message}
        record.ended_at, record.outcome = now(), "failed"
        record.findings, record.problems = [*record.findings, problem], [*record.problems, problem]
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())

    def _check(self, context: Any, plan: Plan, request: RunRequest, ctx: RunContext, record: PreflightRecord,
               undo: Any = None) -> dict[str, Any]:
        # a rollback (``undo``: the UndoPlan it found) checks only the units it undoes
        checked = only_units(plan, {u for units in undo.waves.values() for u in units}) if undo else plan
        findings = run_preflight(checked, request, ctx)
        problems = [f for f in findings if not f["ok"]]
        record.ended_at, record.findings, record.problems = now(), findings, problems
        record.outcome = "failed" if problems else "succeeded"
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        for f in findings:
            self.log.info("%s %s: %s", "OK  " if f["ok"] else "FAIL", f["resource_id"], f["message"])
        if problems:
            raise AirflowFailException(
                f"preflight failed for {len(problems)} resource(s), nothing was changed:\n"
                + "\n".join(f"  {p['resource_id']}: {p['message']}" for p in problems)
            )
        if request.operation in (Operation.FAILOVER, Operation.FAILBACK) and not request.dry_run:
            context["ti"].xcom_push(key=BEFORE_KEY, value=restore_points(plan, request, ctx))
        result = {"resources_checked": len(findings)}
        context["ti"].xcom_push(key="return_value", value=result)  # not pushed for a task that skips on
        if request.operation is Operation.READINESS:
            self._skip_all_but_the_report(context, "readiness: the preflight is the whole check")
        # A rollback runs its own tasks only; any other run, every task but those.
        rollback = request.operation is Operation.ROLLBACK
        self._skip_all_but_the_report(context, f"operation={request.operation.value}",
                                      keep=lambda task_id: is_rollback_task(task_id) == rollback)
        return result  # not reached when there is anything to skip: the skip ends the task (successfully)

    def _skip_all_but_the_report(self, context: Any, why: str, keep: Any = lambda task_id: False) -> None:
        """Everything after preflight, the report and what ``keep`` keeps aside, skipped by the API server in one
        update (every map index of each mapped task: a mapped task over a literal list has them from the run's
        start). Returns only when there is nothing to skip."""
        rest = [t for t in self.get_flat_relatives(upstream=False) if t.task_id != REPORT_TASK_ID
                and not keep(t.task_id)]
        if not rest:
            return
        skip: list[tuple[str, int]] = []
        for task in rest:
            skip.append((task.task_id, -1))  # an unmapped task, or a mapped one not expanded yet
            skip += [(task.task_id, i) for i in range(_literal_map_length(task))]
        context["ti"].xcom_push(key=XCOM_SKIPMIXIN_KEY, value={XCOM_SKIPMIXIN_SKIPPED: [t.task_id for t in rest]})
        self.log.info("%s; skipping the %d tasks this run does not run (%s runs)", why, len(rest), REPORT_TASK_ID)
        raise DownstreamTasksSkipped(tasks=skip)


def _literal_map_length(task: Any) -> int:
    """How many task instances a task mapped over literal lists has (0 for an unmapped task)."""
    expand_input = getattr(task, "expand_input", None)
    values = getattr(expand_input, "value", None)
    if not isinstance(values, dict):
        return 0
    length = 1
    for value in values.values():
        if not isinstance(value, (list, tuple, dict)):
            return 0  # mapped over an upstream's output: expanded at run time, from map index -1
        length *= len(value)
    return length
