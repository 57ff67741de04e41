"""Manual steps in a run: one human-in-the-loop task per ``ManualStep`` resource (adapters.manual_step).

The task asks a person to perform the step: its instructions (Markdown, links) are the body of the
Required Action in the UI and go out in the ``manual_step_required`` notification, with how to
answer over REST. It waits in ``awaiting_input``, holding no worker slot, until someone answers:

* **Done**: performed and checked; the run goes on. Marking the task success counts as confirmed
  (the report says it was marked so, without a name: Airflow keeps none for it).
* **Failed**: it could not be done. The task fails without retrying, so the rest of its wave waits and
  the next wave does not start, as after an UNHEALTHY validation. Once the cause is dealt with, clear
  the task: it asks again.

A drill passes at once when the step says ``inDrill: skip`` (recorded as skipped in drill) and asks
otherwise; dry runs pass at once; readiness checks, waves and phases not selected skip it, as they
skip the phase tasks; in an unplanned run a CLEANUP or REPLICATE step waits for ``reprotect``. On
the way back (failback, or a drill of it) the step shows its ``failbackInstructions`` when it has
them. A step left unanswered raises ``manual_step_overdue`` after its ``timeoutMinutes`` (default:
the gates' DR_APPROVAL_ALERT_MINUTES), again after each further interval, and never answers itself.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk.exceptions import AirflowFailException, TaskAwaitingInput

from dr_adapters.adapters.manual_step import ManualStepConfig, manual_step_config, placement
from dr_adapters.orchestration.aws_access import DEFAULT_CONN_ID, orchestrator_region, sessions_for
from dr_adapters.orchestration.gates import alert_interval
from dr_adapters.orchestration.notify import dark_region, notify
from dr_adapters.orchestration.operators import now, request_from_context, skip
from dr_adapters.orchestration.preemption import stand_down_reason, stand_down_request
from dr_adapters.plan.model import Plan, WorkUnit, plan_from_dict
from dr_adapters.plan.run_request import RunRequest, RunRequestError
from dr_adapters.plan.types import Operation, Phase
from dr_adapters.report.records import ManualStepRecord

DONE, FAILED = "Done", "Failed"
DECISIONS = {DONE: "confirmed", FAILED: "failed"}
TASK_PREFIX = "manual_"
HOW_TO_ANSWER = (
    "Answer in the Airflow UI (Required Actions, or this task's page): Done once it is performed and checked, "
    "Failed if it cannot be done (its wave fails and the next wave does not start); or mark this task success "
    "(counts as confirmed); or call the REST API: PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
    "{task_id}/-1/hitlDetails with {{\"chosen_options\": [\"Done\"], \"params_input\": {{}}}} (or \"Failed\")."
)


def manual_task_id(resource_id: str) -> str:
    """``manual_<resource id>``: a dot in the id would read as a task group in Airflow."""
    return TASK_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", resource_id)


def is_manual_step_task(task_id: str) -> bool:
    """Is this task (``wave_2.manual_x`` or ``manual_x``) a manual step's?"""
    return task_id.rsplit(".", 1)[-1].startswith(TASK_PREFIX)


class ManualStepOperator(HITLOperator):
    """Done / Failed for one manual step; see the module docstring."""

    ui_color = "#fde2c8"

    def __init__(self, *, plan: dict[str, Any], unit: dict[str, Any], wave: int,
                 aws_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any):
        cfg = ManualStepConfig.model_validate(unit["resources"][0]["config"])
        # Subject and body are set when it runs, for the run's direction. Not from the manifest here:
        # both are Jinja-templated fields, and instructions are the user's text, never a template.
        super().__init__(subject="DR manual step", body=None, options=[DONE, FAILED], multiple=False, **kwargs)
        self.plan = plan
        self.unit = unit
        self.wave = wave
        self.step_phase = cfg.phase
        self.aws_conn_id = aws_conn_id

    def _record(self, unit: WorkUnit, cfg: ManualStepConfig) -> ManualStepRecord:
        return ManualStepRecord(task=self.task_id, phase=cfg.phase, wave=self.wave, unit_id=unit.unit_id,
                                action=unit.action, account_id=unit.account_id, resource_ids=unit.resource_ids,
                                title=cfg.title, notes=[])

    def skip_reason(self, plan: Plan, request: RunRequest, run_id: str = "") -> str | None:
        """As for the phase tasks: work the run's parameters do not select is skipped, so the Grid shows it."""
        if request.operation is Operation.READINESS:
            return "operation=readiness runs the preflight checks only"
        if self.step_phase != Phase.CLEANUP.value and (found := stand_down_request(plan.dag_id, run_id, request)):
            return stand_down_reason(found)  # a drill giving way to a failover: only its cleanup goes on
        if not request.wave_selected(self.wave):
            return f"wave {self.wave} is not selected (waves={list(request.waves)})"
        after = Phase.ACTIVATE if self.step_phase == "VALIDATE" else Phase(self.step_phase)
        if not request.phase_selected(after):
            return f"it comes after {after.value}, which this run does not run (phases={[p.value for p in request.phases]})"
        if request.unplanned and after in (Phase.CLEANUP, Phase.REPLICATE):
            source = plan.regions.source(request.acting_as)
            return (f"{after.value} deferred until {source} returns (unplanned {request.operation.value}): "
                    "asked in operation=reprotect")
        return None

    def execute(self, context: Any) -> Any:
        plan = plan_from_dict(self.plan)
        try:
            request = request_from_context(plan, context)
        except RunRequestError as exc:
            raise AirflowFailException(f"bad run parameters: {exc}") from None
        unit = WorkUnit.from_dict(self.unit)
        cfg = manual_step_config(unit.resources[0])
        if reason := self.skip_reason(plan, request, context["run_id"]):
            skip(context, reason)
        record = self._record(unit, cfg)
        record.started_at = now()
        back = request.acting_as is Operation.FAILBACK or request.reverse_drill
        record.failback = back or None
        passes = None
        if request.dry_run:
            passes = ("dry run", "dry run: nobody is asked")
        elif request.operation is Operation.DRILL and cfg.in_drill == "skip":
            passes = ("skipped in drill", "skipped in drill (inDrill: skip): nobody is asked")
        if passes:
            record.decision, note = passes
            record.ended_at, record.outcome, record.notes = record.started_at, "succeeded", [note]
            context["ti"].xcom_push(key="record", value=record.to_dict())
            self.log.info("%s: %s", cfg.title, note)
            return record.to_dict()

        record.decision = "waiting"
        context["ti"].xcom_push(key="record", value=record.to_dict())
        instructions = cfg.instructions_for(back)
        how = HOW_TO_ANSWER.format(dag_id=plan.dag_id, run_id=context["run_id"], task_id=self.task_id)
        where = f"wave {self.wave}, after {placement(cfg)}"
        self.subject = f"DR {plan.dag_id}: manual step -- {cfg.title}"
        self.body = (f"**{cfg.title}** ({where}{', the way back' if back else ''})\n\n{instructions}\n\n---\n\n"
                     f"**{DONE}** once performed and checked; **{FAILED}** if it cannot be done: its wave fails "
                     "and the next wave does not start. Marking this task success counts as confirmed.")
        details: dict[str, Any] = {
            "run_id": context["run_id"], "task": self.task_id, "resource_id": unit.resource_ids[0], "title": cfg.title,
            "wave": self.wave, "phase": cfg.phase, "direction": "failback" if back else "failover",
            "instructions": instructions, "how_to_answer": how}
        try:
            details["answer_in_ui"] = self.generate_link_to_ui(task_instance=context["ti"])
        except Exception:  # noqa: BLE001 - no api.base_url configured: the REST path is in how_to_answer
            pass
        notify(plan, self._sessions(plan, request, context), "manual_step_required",
               _ascii(f"DR {plan.dag_id}: manual step required -- {cfg.title}"), details,
               avoid=dark_region(plan, request))
        self.log.info("waiting for a person: %s (%s)\n%s\n%s", cfg.title, where, instructions, how)
        self.response_timeout = self.alert_after(cfg)  # when the scheduler resumes us to raise the alert
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        unit = WorkUnit.from_dict(self.unit)
        cfg = manual_step_config(unit.resources[0])
        saved = context["ti"].xcom_pull(task_ids=self.task_id, key="record")
        record = ManualStepRecord.from_dict(saved) if saved else self._record(unit, cfg)
        if event.get("error_type") == "timeout":  # the alert interval passed, not an answer
            return self._overdue(context, record, cfg)
        if "error" in event:
            record.ended_at, record.outcome, record.decision = now(), "failed", "failed"
            record.error = f"no answer: {event.get('error')}"
            context["ti"].xcom_push(key="record", value=record.to_dict())
            return super().execute_complete(context, event)  # raises the HITL error
        answer = super().execute_complete(context, event)  # validates the answer against the options
        chosen = event["chosen_options"][0]
        user = event.get("responded_by_user") or {}
        record.responded_by = (user.get("name") or user.get("id")) if isinstance(user, dict) else str(user)
        record.responded_at = record.ended_at = _iso(event.get("responded_at")) or now()
        record.decision = DECISIONS.get(chosen, chosen)
        record.outcome = "failed" if chosen == FAILED else "succeeded"
        if chosen == FAILED:
            record.error = f"manual step '{cfg.title}' answered {FAILED} by {record.responded_by or 'someone'}"
        context["ti"].xcom_push(key="record", value=record.to_dict())
        if chosen == FAILED:  # blocks the next wave; no retry would change a person's answer
            raise AirflowFailException(f"{record.error} -- deal with it, then clear this task to be asked again")
        self.log.info("%s confirmed by %s at %s", cfg.title, record.responded_by, record.responded_at)
        return answer

    @staticmethod
    def alert_after(cfg: ManualStepConfig) -> timedelta | None:
        return timedelta(minutes=cfg.timeout_minutes) if cfg.timeout_minutes else alert_interval()

    def _sessions(self, plan: Plan, request: RunRequest, context: Any) -> Any:
        return sessions_for(plan, context["run_id"], self.aws_conn_id,
                            home_region=orchestrator_region(plan, request.acting_as))

    def _overdue(self, context: Any, record: ManualStepRecord, cfg: ManualStepConfig) -> Any:
        """No answer after the alert interval: alert, then wait again (the request stays open)."""
        plan = plan_from_dict(self.plan)
        request = request_from_context(plan, context)
        record.overdue_alerts = alerts = [*(record.overdue_alerts or []), now()]
        context["ti"].xcom_push(key="record", value=record.to_dict())
        since = record.started_at
        waited = str(datetime.fromisoformat(alerts[-1]) - datetime.fromisoformat(since)).split(".")[0] if since else "?"
        how = HOW_TO_ANSWER.format(dag_id=plan.dag_id, run_id=context["run_id"], task_id=self.task_id)
        notify(plan, self._sessions(plan, request, context), "manual_step_overdue",
               _ascii(f"DR {plan.dag_id}: manual step still waiting after {waited} -- {cfg.title}"),
               {"run_id": context["run_id"], "task": self.task_id, "title": cfg.title, "requested_at": since,
                "waiting_for": waited, "alert": len(alerts), "how_to_answer": how},
               avoid=dark_region(plan, request))
        self.log.warning("manual step overdue: still waiting after %s. %s", waited, how)
        raise TaskAwaitingInput(method_name="execute_complete", timeout=self.alert_after(cfg))


def _ascii(subject: str) -> str:
    """SNS subjects are ASCII without line breaks; a title may not be."""
    return subject.encode("ascii", "replace").decode()


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)
