"""Approval gates between waves: Airflow's human-in-the-loop ``HITLOperator`` with three answers.

While waiting, the task sits in ``awaiting_input`` and holds no worker slot. It completes by
Approve / Reject / Continue unplanned in the UI (Required Actions), the HITL REST endpoint, or by
marking the task success (the operator's override). Reject fails the gate, so nothing after it runs
and the run does not succeed. Drills, readiness checks, dry runs and ``approval_mode=automatic`` pass at once.

A gate left waiting raises an ``approval_overdue`` alert after ``DR_APPROVAL_ALERT_MINUTES``
(default 30; read when the gate runs; 0 turns it off), and again after each further interval. It
uses the HITL response timeout: Airflow's scheduler sweeps ``awaiting_input`` tasks whose timeout
has passed and resumes them with a timeout event (no worker slot and no triggerer while waiting);
the gate then publishes the alert and parks again, still waiting for its answer. It never approves
or rejects on its own (the gate has no default option).

Who may answer (orchestration.audit): the manifest's ``approvers`` are the gate's allowed respondents,
less whoever triggered the run under ``separationOfDuties``; an answer from anyone else is refused
(by Airflow's HITL endpoint, and again here) and the gate stays open. When it opens, a gate first
announces the wave before it as completed (``wave_completed``, with that wave's health).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.exceptions import HITLRejectException
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk.exceptions import AirflowFailException, TaskAwaitingInput

from dr_adapters.orchestration import tries
from dr_adapters.orchestration.alerts import announce_wave_completed
from dr_adapters.orchestration.audit import allowed_respondents, refusal, triggered_by
from dr_adapters.orchestration.aws_access import DEFAULT_CONN_ID, orchestrator_region, sessions_for
from dr_adapters.orchestration.evidence import (elapsed_against_rto, fit_message, planned_changes, prewarm_readiness,
                                                render_body)
from dr_adapters.orchestration.notify import dark_region, notify
from dr_adapters.orchestration.operators import now, request_from_context, skip
from dr_adapters.orchestration.preemption import stand_down_reason, stand_down_request
from dr_adapters.orchestration.rollback import undo_of
from dr_adapters.plan.model import plan_from_dict
from dr_adapters.preflight import probe_region
from dr_adapters.plan.types import Operation, Phase
from dr_adapters.report.records import GateRecord

HOW_TO_APPROVE = (
    "Approve or reject in the Airflow UI (Required Actions, or this task's page), or mark this task "
    "success, or call the REST API: PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
    "{task_id}/-1/hitlDetails with {{\"chosen_options\": [\"Approve\"], \"params_input\": {{}}}} (or {others})."
)


def alert_interval() -> timedelta | None:
    """How long a gate waits before the ``approval_overdue`` alert (DR_APPROVAL_ALERT_MINUTES, default 30)."""
    minutes = float(os.environ.get("DR_APPROVAL_ALERT_MINUTES") or 30)
    return timedelta(minutes=minutes) if minutes > 0 else None


APPROVE, REJECT, CONTINUE_UNPLANNED = "Approve", "Reject", "Continue unplanned"
CHOICES = ("Approve to start {next_step}; Reject to stop the run here (nothing after this gate runs); Continue "
           "unplanned if the region being left is dark or impaired: from here on no call goes to it, data loss up to "
           "its last replicated point is accepted, and its cleanup waits for operation=reprotect.")
ROLLBACK_CHOICES = ("Approve to start {next_step}; Reject to stop the rollback here (nothing after this gate runs; "
                    "trigger the rollback again to go on).")
DECISIONS = {APPROVE: "approved", REJECT: "rejected", CONTINUE_UNPLANNED: "continued unplanned"}


def _choices(next_step: str, rollback_wave: int | None) -> str:
    """What each answer does: a rollback's gate has no Continue unplanned."""
    return (CHOICES if rollback_wave is None else ROLLBACK_CHOICES).format(next_step=next_step)


class WaveApprovalOperator(HITLOperator):
    """Approve / Reject, plus AWS Region switch's "switch to ungraceful": Continue unplanned, for when
    the region being left goes dark (or is too impaired to trust) mid-run. The rest of the run then
    makes no call to it and defers its cleanup, without being triggered again. When the gate opens it
    probes that region once, and says so if it does not answer."""

    ui_color = "#fff3cd"

    def __init__(self, *, plan: dict[str, Any], next_step: str, next_wave: int | None = None,
                 completed_wave: dict[str, Any] | None = None, next_units: list[dict[str, Any]] | None = None,
                 prewarmed_wave: dict[str, Any] | None = None, before_activate: bool = False,
                 rollback_wave: int | None = None, aws_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any):
        if rollback_wave is not None:  # a rollback moves back into a region that answers: it is never unplanned
            before, options = "The previous wave is rolled back.", [APPROVE, REJECT]
        elif before_activate:
            before = (f"The resources of {next_step.removeprefix('ACTIVATE of ')} are prewarmed (INSTANTIATE done); "
                      "nothing of it is switched yet.")
            options = [APPROVE, REJECT, CONTINUE_UNPLANNED]
        else:
            before, options = "The previous wave is activated and validated.", [APPROVE, REJECT, CONTINUE_UNPLANNED]
        super().__init__(
            subject=f"DR {plan['dag_id']}: approve {next_step}?",
            body=f"{before} {_choices(next_step, rollback_wave)}",
            options=options,
            multiple=False,
            **kwargs,
        )
        self.plan = plan
        self.next_step = next_step
        self.next_wave = next_wave
        self.rollback_wave = rollback_wave  # a rollback's gate: the wave it is about to undo
        # The wave this gate follows: {"number", "layer_id", "tasks": its tasks that leave records}.
        self.completed_wave = completed_wave
        # What follows the gate (evidence.next_units): the units of the next wave, or of the cleanup.
        self.next_units = next_units or []
        # A gate before a wave's ACTIVATE: the wave and its prewarm tasks ({"number", "layer_id", "tasks"}).
        self.prewarmed_wave = prewarmed_wave
        self.before_activate = before_activate
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> Any:
        plan = plan_from_dict(self.plan)
        request = request_from_context(plan, context)
        if found := stand_down_request(plan.dag_id, context["run_id"], request):
            skip(context, stand_down_reason(found))  # a drill giving way to a failover: nothing more to open
        record = GateRecord(task=self.task_id, next_step=self.next_step, requested_at=now())
        tries.begin(context, record)  # a wait of an earlier try still counts in the report
        sessions = sessions_for(plan, context["run_id"], self.aws_conn_id,
                                home_region=orchestrator_region(plan, request.acting_as))
        reason = None
        if not request.gates_wait:
            reason = f"approval not needed (operation={request.operation.value}, approval "
            reason += "required" if request.approval_required else "automatic"
            reason += ", dry run)" if request.dry_run else ")"
        elif self.next_wave is not None and not request.wave_selected(self.next_wave):
            reason = f"wave {self.next_wave} is not selected"
        elif self.next_wave is None and request.unplanned:
            # Nothing to approve: the cleanup it would open is deferred (the old region is dark).
            reason = (f"unplanned {request.operation.value}: cleanup and replicate of "
                      f"{plan.regions.source(request.acting_as)} are deferred to operation=reprotect")
        elif self.next_wave is not None and request.operation is Operation.REPROTECT:
            reason = "reprotect: the waves do not run (only the deferred cleanup and replicate)"
        elif (self.rollback_wave is None) == (request.operation is Operation.ROLLBACK):
            reason = ("rollback: the waves do not run, its own gates ask before each wave it undoes"
                      if self.rollback_wave is None else "only a rollback undoes waves")
        elif self.rollback_wave is not None:
            reason = _rollback_gate_passes(undo_of(context), self.rollback_wave)
        elif self.before_activate and not request.phase_selected(Phase.ACTIVATE):
            reason = "ACTIVATE is not selected"
        elif self.before_activate and not request.phase_selected(Phase.INSTANTIATE):
            reason = "nothing prewarmed in this run (INSTANTIATE not selected): the wave activates at once"
        if reason:
            record.decision, record.responded_at, record.note = "automatic", record.requested_at, reason
            tries.keep(context, record)
            context["ti"].xcom_push(key="record", value=record.to_dict())
            self._wave_completed(plan, sessions, context, avoid=dark_region(plan, request))
            self.log.info("gate passes: %s", reason)
            return record.to_dict()
        record.decision = "waiting"
        how = self._how_to_approve(plan.dag_id, context["run_id"])
        allowed = allowed_respondents(plan, triggered_by(context))
        if allowed is not None:
            if not allowed:  # preflight stops such a run first; never open a gate anyone could answer
                raise AirflowFailException(
                    f"nobody may approve this gate: {', '.join(plan.approvers)} triggered the run and is the only "
                    "approver (separationOfDuties) -- have another approver trigger it, or add approvers")
            self.assigned_users = [{"id": user, "name": user} for user in allowed]
            record.allowed_respondents = allowed
            how = f"Only {', '.join(allowed)} may answer. " + how
        if not request.unplanned:  # is the region being left still there? one quick probe
            source = plan.regions.source(request.acting_as)
            if probe_region(sessions, source, None) is not None:
                record.source_dark = source
                if self.rollback_wave is None:
                    self.subject = f"DR {plan.dag_id}: {source} DOES NOT ANSWER -- continue unplanned, or reject?"
                    how = (f"{source}, the region being left, did not answer when this gate opened: choose "
                           f"'{CONTINUE_UNPLANNED}' to go on without it, or Reject to stop. " + how)
                else:  # a rollback has no unplanned way on
                    self.subject = f"DR {plan.dag_id}: {source} DOES NOT ANSWER -- approve {self.next_step}?"
                    how = f"{source} did not answer when this gate opened. " + how
        avoid = dark_region(plan, request) or record.source_dark
        # before anything is asked: what the approver weighs -- the wave's health (announced as wave_completed),
        # what comes next will change, and the time so far against the RTO target
        evidence = self._evidence(plan, request, context, self._wave_completed(plan, sessions, context, avoid=avoid))
        record.evidence = _evidence_summary(evidence)
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        self.body = render_body(evidence, self.next_step, f"{how} {_choices(self.next_step, self.rollback_wave)}")
        if record.source_dark:  # first thing on the page
            self.body = (f"**{record.source_dark}, the region being left, DOES NOT ANSWER:** choose "
                         f"*{CONTINUE_UNPLANNED}* to go on without it, or Reject.\n\n{self.body}"
                         if self.rollback_wave is None else
                         f"**{record.source_dark} DOES NOT ANSWER.**\n\n{self.body}")
        context["ti"].xcom_push(key="request", value={"subject": self.subject, "body": self.body})
        self.log.info("what the approver is shown:\n%s", self.body)
        notify(plan, sessions, "approval_required",
               f"DR {plan.dag_id}: approval required before {self.next_step}",
               fit_message({"run_id": context["run_id"], "gate": self.task_id, "before": self.next_step,
                            "how_to_approve": how,
                            **({"source_dark": record.source_dark} if record.source_dark else {}),
                            **({"approvers": record.allowed_respondents} if record.allowed_respondents else {}),
                            **evidence}),
               avoid=avoid)
        self.log.info("waiting for approval. %s", how)
        self.response_timeout = alert_interval()  # when the scheduler resumes us to raise the alert
        return super().execute(context)

    def _how_to_approve(self, dag_id: str, run_id: str) -> str:
        others = ", or ".join(f'"{o}"' for o in self.options if o != APPROVE)  # a rollback's gate: Reject only
        return HOW_TO_APPROVE.format(dag_id=dag_id, run_id=run_id, task_id=self.task_id, others=others)

    def _wave_completed(self, plan: Any, sessions: Any, context: Any, *, avoid: str | None) -> dict[str, Any] | None:
        """``wave_completed`` for the wave this gate follows (none when it did not run in this run): the
        wave's health, as published."""
        if not self.completed_wave:
            return None
        summary = announce_wave_completed(plan, sessions, context, self.completed_wave, self.next_step, avoid=avoid)
        if summary is None:
            return None
        return {"wave": self.completed_wave["number"], "layer_id": self.completed_wave["layer_id"], **summary}

    def _evidence(self, plan: Any, request: Any, context: Any, validated: dict[str, Any] | None) -> dict[str, Any]:
        evidence: dict[str, Any] = {"time": elapsed_against_rto(plan, context)}
        if self.rollback_wave is not None:
            # A rollback's gate: the time, and how the undo of the wave before it went (its records' outcomes). What
            # the next undo will change is left out: evidence.planned_changes lists the forward phases' calls
            # (adapters' phase_summaries, the phases a unit acts in), which do not describe an undo; the units
            # it undoes are in preflight's rollback XCom and the report.
            if self.completed_wave:
                records = [r for r in (context["ti"].xcom_pull(task_ids=self.completed_wave["tasks"], key="record")
                                       or []) if r]
                counts: dict[str, int] = {}
                for r in records:
                    outcome = str(r.get("outcome") or "?")
                    counts[outcome] = counts.get(outcome, 0) + 1
                evidence["rolled_back"] = {"wave": self.completed_wave["number"],
                                           "layer_id": self.completed_wave["layer_id"], "counts": counts}
            return evidence
        if validated:
            evidence["validated"] = validated
        if self.prewarmed_wave:
            records = [r for r in (context["ti"].xcom_pull(task_ids=self.prewarmed_wave["tasks"], key="record")
                                   or []) if r] if self.prewarmed_wave["tasks"] else []
            evidence["prewarmed"] = prewarm_readiness(self.prewarmed_wave, records)
        evidence["next"] = planned_changes(plan, request.acting_as, [p.value for p in request.phases], self.next_units)
        return evidence

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        saved = context["ti"].xcom_pull(task_ids=self.task_id, key="record")
        record = GateRecord.from_dict(saved) if saved else GateRecord(task=self.task_id)
        if event.get("error_type") == "timeout":  # the alert interval passed, not a decision
            return self._overdue(context, record)
        user = event.get("responded_by_user") or {}
        chosen = (event.get("chosen_options") or ["?"])[0]
        if "error" not in event and (why := refusal(plan_from_dict(self.plan), triggered_by(context), user)):
            return self._refuse(context, record, user, chosen, why)
        record.decision = DECISIONS.get(chosen, chosen)
        record.responded_at = _iso(event.get("responded_at")) or now()
        record.responded_by = user.get("name") or user.get("id") if isinstance(user, dict) else str(user)
        if "error" in event:
            record.decision, record.error = "timed out", str(event.get("error"))
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        answer = super().execute_complete(context, event)  # validates the answer against the options
        if chosen == REJECT:  # stop the run cleanly: nothing after the gate runs
            raise HITLRejectException('Receive "Reject"')
        if chosen == CONTINUE_UNPLANNED:
            self.log.warning("%s chose to continue unplanned: no further call to the region being left",
                             record.responded_by)
        return answer

    def _refuse(self, context: Any, record: GateRecord, user: Any, chosen: str, why: str) -> Any:
        """An answer from someone who may not give it: recorded, the request opened again (Airflow
        clears a HITL response when the request is written again), and the gate waits on."""
        from airflow.sdk.execution_time.hitl import upsert_hitl_detail

        who = (user.get("name") or user.get("id")) if isinstance(user, dict) else str(user)
        record.refused = [*(record.refused or []), {"by": who, "answer": chosen, "at": now(), "why": why}]
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        self.log.warning("refused %r from %s: %s; the gate waits for an allowed approver", chosen, who, why)
        shown = context["ti"].xcom_pull(task_ids=self.task_id, key="request") or {}  # with the evidence it opened with
        upsert_hitl_detail(ti_id=context["ti"].id, options=self.options, subject=shown.get("subject", self.subject),
                           body=shown.get("body", self.body),
                           defaults=self.defaults, multiple=self.multiple, params=self.serialized_params,
                           assigned_users=self.assigned_users)
        raise TaskAwaitingInput(method_name="execute_complete", timeout=alert_interval())

    def _overdue(self, context: Any, record: GateRecord) -> Any:
        """Still no answer after the alert interval: alert, then wait again (the request stays open)."""
        plan = plan_from_dict(self.plan)
        record.overdue_alerts = alerts = [*(record.overdue_alerts or []), now()]
        context["ti"].xcom_push(key="record", value=record.to_dict())
        how = self._how_to_approve(plan.dag_id, context["run_id"])
        since = record.requested_at
        waited = str(datetime.fromisoformat(alerts[-1]) - datetime.fromisoformat(since)).split(".")[0] if since else "?"
        request = request_from_context(plan, context)
        sessions = sessions_for(plan, context["run_id"], self.aws_conn_id,
                                home_region=orchestrator_region(plan, request.acting_as))
        notify(plan, sessions, "approval_overdue",
               f"DR {plan.dag_id}: approval before {self.next_step} still waiting after {waited}",
               {"run_id": context["run_id"], "gate": self.task_id, "requested_at": since, "waiting_for": waited,
                "alert": len(alerts), "how_to_approve": how}, avoid=dark_region(plan, request))
        self.log.warning("approval overdue: still waiting after %s. %s", waited, how)
        raise TaskAwaitingInput(method_name="execute_complete", timeout=alert_interval())


def _evidence_summary(evidence: dict[str, Any]) -> dict[str, Any]:
    """What the approver was shown, in a line or two for the report (the message has the lists)."""
    out: dict[str, Any] = {"time": evidence["time"].get("text")}
    if validated := evidence.get("validated"):
        out["validated"] = {"wave": validated["wave"], "health": validated["health"], "counts": validated["counts"]}
    if prewarmed := evidence.get("prewarmed"):
        out["prewarmed"] = {"wave": prewarmed["wave"], "counts": prewarmed["counts"]}
    if rolled_back := evidence.get("rolled_back"):
        out["rolled_back"] = {"wave": rolled_back["wave"], "counts": rolled_back["counts"]}
    if "next" in evidence:
        out["next_resources"] = evidence["next"]["resource_count"]
    return out


def _rollback_gate_passes(undo: Any, wave: int) -> str | None:
    """Why a rollback's gate before undoing ``wave`` passes without asking, or None: it asks only between two
    waves the rollback really undoes (the first was confirmed when the rollback was triggered)."""
    if undo is None or not undo.units_of(wave):
        return f"wave {wave}: the undone run did not start it, nothing to undo"
    if not undo.undone_before(wave):
        return f"wave {wave} is the first wave undone (confirmed when the rollback was triggered)"
    return None


def _iso(value: Any) -> str | None:
    """HITL hands back a datetime; records keep ISO 8601 like every other timestamp in the report."""
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)
