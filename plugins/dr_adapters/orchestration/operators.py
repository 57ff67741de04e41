"""Thin operators: read the run's params, build a RunContext, call the adapter, record what happened.

Every task pushes a ``record`` XCom (start, end, outcome, AWS changes, error) that the report reads;
the records are typed in ``report.records`` and cross XCom as their ``to_dict()``.
Work not selected by the run's params (a wave, a phase, readiness-only) is *skipped*, so the Grid
shows exactly what ran; tasks downstream use ``none_failed`` so a skip never blocks them.
"""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

from airflow.sdk.bases.skipmixin import XCOM_SKIPMIXIN_KEY, XCOM_SKIPMIXIN_SKIPPED
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.sdk import BaseOperator

from dr_adapters.adapters.base import AdapterError, RunContext
from dr_adapters.adapters.manual_step import manual_step_config
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.aws.sessions import DEAD_ENDPOINT_ERRORS
from dr_adapters.health import settled, unhealthy, unit_health
from dr_adapters.orchestration.aws_access import DEFAULT_CONN_ID, orchestrator_region, sessions_for
from dr_adapters.orchestration import preemption, tries
from dr_adapters.orchestration.audit import review_run, run_type, triggered_by
from dr_adapters.orchestration.notify import dark_region, notify
from dr_adapters.orchestration.rollback import undo_of
from dr_adapters.orchestration.triggers import AwsWaitTrigger, HealthWaitTrigger, health_poll_seconds
from dr_adapters.preflight import probe_region
from dr_adapters.plan.model import Plan, WorkUnit, plan_from_dict
from dr_adapters.plan.run_request import ALIASES, RunRequest, RunRequestError, parse_run_request
from dr_adapters.plan.types import FailoverMode, Operation, Phase, Regions
from dr_adapters.report.records import GateRecord, ManualStepRecord, PreflightRecord, TaskRecord

log = logging.getLogger(__name__)
MAX_ROUNDS = 10
REPORT_TASK_ID = "report"  # the last task (the factory names it so): it runs whatever happened


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def request_from_context(plan: Plan, context: Any) -> RunRequest:
    """The trigger conf wins; DAG param defaults fill in what it leaves out (under either key name).
    A planned run a person switched to unplanned at a gate is unplanned from then on."""
    conf = dict(getattr(context["dag_run"], "conf", None) or {})
    raw = dict(conf)
    given = {ALIASES.get(k, k) for k in conf}
    for key, value in dict(context["params"]).items():
        if ALIASES.get(key, key) not in given:
            raw[key] = value
    request = parse_run_request(plan, raw)
    if request.operation in (Operation.FAILOVER, Operation.FAILBACK) and not request.unplanned \
            and switched_to_unplanned(plan, context):
        request = replace(request, failover_mode=FailoverMode.UNPLANNED)
    if request.operation is Operation.ROLLBACK and (undo := undo_of(context)) is not None:
        request = replace(request, direction=undo.direction)  # back the way the undone run came
    return request


SKIPPED_KEY = "skipped"


def skip(context: Any, reason: str) -> NoReturn:
    """Skip this task because the run's parameters do not select it, leaving a mark in XCom: a task
    found skipped without it never ran, because a person cancelled the run (Airflow skips every task
    not yet started when a run is marked failed), and the report says so."""
    ti = context["ti"]
    ti.xcom_push(key=SKIPPED_KEY, value={"task": ti.task_id, "map_index": ti.map_index, "reason": reason})
    raise AirflowSkipException(reason)


ACTIVATE_GATE_ID = "approve_activate"  # in a wave's TaskGroup: wave_<n>.approve_activate


def gate_task_ids(plan: Plan) -> list[str]:
    """The approval gates of a plan's DAG (the factory names them so), those before a wave's ACTIVATE too."""
    return ([f"approve_wave_{n}" for n in plan.wave_numbers[1:]] + ["approve_cleanup"]
            + [f"wave_{n}.{ACTIVATE_GATE_ID}" for n in plan.activate_gate_waves])


def switched_to_unplanned(plan: Plan, context: Any) -> bool:
    """Did a person answer a gate of this run with Continue unplanned?"""
    try:
        records = context["ti"].xcom_pull(task_ids=gate_task_ids(plan), key="record") or []
    except Exception:  # noqa: BLE001 - no gate has run yet (or no XCom backend): planned as triggered
        return False
    return any(r and r.get("decision") == "continued unplanned" for r in records)


class DrOperator(BaseOperator):
    """Common ground: the plan (JSON-safe), the run request and AWS sessions."""

    ui_color = "#e8f1fb"

    def __init__(self, *, plan: dict[str, Any], aws_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any):
        super().__init__(**kwargs)
        self.plan = plan
        self.aws_conn_id = aws_conn_id

    def load(self, context: Any) -> tuple[Plan, RunRequest]:
        plan = plan_from_dict(self.plan)
        try:
            return plan, request_from_context(plan, context)
        except RunRequestError as exc:
            raise AirflowFailException(f"bad run parameters: {exc}") from None

    def run_context(self, plan: Plan, request: RunRequest, context: Any) -> RunContext:
        return RunContext(
            operation=request.acting_as,
            regions=plan.regions,
            scope=plan.scope,
            aws=sessions_for(plan, context["run_id"], self.aws_conn_id,
                             home_region=orchestrator_region(plan, request.acting_as)),
            dry_run=request.dry_run,
            rpo_minutes=plan.rpo_minutes,
            run_id=context["run_id"],
            log=self.log,
            unplanned=request.unplanned,
            reverse_drill=request.reverse_drill,
        )


class PhaseOperator(DrOperator):
    """One lifecycle phase for one work unit (mapped over the units of a wave, or of the whole run).

    Mapped over unit ids, with the units themselves given once to the whole task (``units``):
    Airflow walks every mapped value at parse time, and a unit's resources make that walk costly.
    """

    def __init__(self, *, phase: str, unit_id: str, units: dict[str, dict[str, Any]], wave: int | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.phase = phase
        self.unit_id = unit_id
        self.units = units
        self.wave = wave

    @property
    def unit(self) -> dict[str, Any]:
        return self.units[self.unit_id]

    def skip_reason(self, request: RunRequest, stand_down: dict[str, Any] | None = None) -> str | None:
        """Why this task does not run, or None. ``stand_down``: the request to this drill to give way to a
        failover: every step stops but CLEANUP, which runs even when not selected (drill resources go)."""
        wave = self.wave if self.wave is not None else self.unit.get("wave")
        if request.operation is Operation.READINESS:
            return "operation=readiness runs the preflight checks only"
        if request.operation is Operation.ROLLBACK:
            return "operation=rollback undoes the waves of an earlier run: its own tasks do"
        if stand_down and Phase(self.phase) is not Phase.CLEANUP:
            return preemption.stand_down_reason(stand_down)
        if wave is not None and not request.wave_selected(wave):
            return f"wave {wave} is not selected (waves={list(request.waves)})"
        if not request.phase_selected(Phase(self.phase)) and not stand_down:
            return f"phase {self.phase} is not selected (phases={[p.value for p in request.phases]})"
        if request.unplanned and Phase(self.phase) in (Phase.CLEANUP, Phase.REPLICATE):
            source = Regions(**self.plan["regions"]).source(request.acting_as)
            return (f"{self.phase} deferred until {source} returns: an unplanned {request.operation.value} makes "
                    "no call to the region it leaves; trigger operation=reprotect once it answers")
        return None

    def stand_down(self, plan: Plan, request: RunRequest, context: Any) -> dict[str, Any] | None:
        """The request to this drill run to give way to a failover (None for any other run)."""
        return preemption.stand_down_request(plan.dag_id, context["run_id"], request)

    def execute(self, context: Any) -> dict[str, Any]:
        plan, request = self.load(context)
        if reason := self.skip_reason(request, self.stand_down(plan, request, context)):
            skip(context, reason)
        unit = WorkUnit.from_dict(self.unit)
        record = TaskRecord(task=self.task_id, phase=self.phase,
                            wave=self.wave if self.wave is not None else self.unit.get("wave"),
                            unit_id=unit.unit_id, action=unit.action, account_id=unit.account_id,
                            resource_ids=unit.resource_ids, started_at=now(), changes=[], notes=[], rounds=0)
        tries.begin(context, record)
        return self._converge(context, plan, request, record)

    def resume(self, context: Any, event: dict[str, Any], record: dict[str, Any] | None = None) -> dict[str, Any]:
        plan, request = self.load(context)
        # The record also sits in XCom: not every runner hands defer kwargs back (dag.test drops them).
        saved = TaskRecord.from_dict(record or context["ti"].xcom_pull(task_ids=self.task_id, key="record",
                                                                       map_indexes=context["ti"].map_index))
        if (found := self.stand_down(plan, request, context)) and Phase(self.phase) is not Phase.CLEANUP:
            return self._stand_down(context, saved, event, found)
        if event.get("status") != "success":
            error = f"while waiting for {event.get('wait')}: {event.get('message')}"
            detail = self._explain(context, plan, request)
            return self._fail(context, saved, f"{detail} ({error})" if detail else error)
        return self._converge(context, plan, request, saved)

    def _stand_down(self, context: Any, record: TaskRecord, event: dict[str, Any], found: dict[str, Any]
                    ) -> dict[str, Any]:
        """A drill asked to give way while this task waited on AWS: what it launched exists now (the wait is
        over) and CLEANUP removes it; no further round. A wait that failed is recorded, not raised: a
        failure here would keep CLEANUP from running."""
        reason = preemption.stand_down_reason(found)
        record.ended_at, record.notes = now(), [*(record.notes or []), reason]
        if event.get("status") == "success":
            record.outcome = "succeeded"
        else:
            record.outcome, record.error = "stood down", f"while waiting for {event.get('wait')}: {event.get('message')}"
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        self.log.warning("%s", reason)
        if record.outcome != "succeeded":
            skip(context, reason)
        return record.to_dict()

    def act(self, ctx: RunContext, unit: WorkUnit) -> Any:
        """One call of the adapter for this task: its phase (a rollback task: the adapter's undo)."""
        return adapter_for(unit.action).run_phase(Phase(self.phase), ctx, unit)

    def _explain(self, context: Any, plan: Plan, request: RunRequest) -> str | None:
        """After a failed wait, the adapter's account of which resources failed and why."""
        unit = WorkUnit.from_dict(self.unit)
        try:
            return adapter_for(unit.action).explain_failure(self.run_context(plan, request, context), unit)
        except Exception:  # noqa: BLE001 - the waiter's own error is still reported
            self.log.warning("could not tell which resource failed", exc_info=True)
            return None

    def _converge(self, context: Any, plan: Plan, request: RunRequest, record: TaskRecord) -> dict[str, Any]:
        unit = WorkUnit.from_dict(self.unit)
        ctx = self.run_context(plan, request, context)
        # Optional on TaskRecord (VALIDATE has none); a phase record starts them at 0 and [] in execute.
        record.rounds = (record.rounds or 0) + 1
        record.changes, record.notes = record.changes or [], record.notes or []
        try:
            outcome = self.act(ctx, unit)
        except DEAD_ENDPOINT_ERRORS as exc:
            record.changes += _changes(ctx)
            return self._fail(context, record, self._dark_source(ctx, request, unit, exc))
        except Exception as exc:  # noqa: BLE001 - recorded for the report, then re-raised for Airflow
            record.changes += _changes(ctx)
            return self._fail(context, record, exc)
        record.changes += _changes(ctx)
        record.notes += outcome.notes
        if outcome.waits and not request.dry_run:
            if record.rounds >= MAX_ROUNDS:
                return self._fail(context, record, f"still waiting after {MAX_ROUNDS} rounds: {outcome.waits[0].description}")
            for wait in outcome.waits:
                self.log.info("waiting (deferred, no worker slot held): %s", wait.description)
            context["ti"].xcom_push(key="record", value=replace(record, outcome="waiting").to_dict())
            self.defer(
                trigger=AwsWaitTrigger([w.to_dict() for w in outcome.waits], self.plan, context["run_id"], self.aws_conn_id),
                method_name="resume",
                kwargs={"record": record.to_dict()},  # defer kwargs are serialized: the dict, not the type
            )
        record.ended_at, record.outcome = now(), "succeeded"
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        return record.to_dict()

    @staticmethod
    def _dark_source(ctx: RunContext, request: RunRequest, unit: WorkUnit, exc: Exception) -> Exception:
        """A call's endpoint went away: if the region being left no longer answers, say so, and how to
        go on (no retry would help: it fails the task at once)."""
        source = ctx.source_region
        if request.unplanned or probe_region(ctx.aws, source, None) is None:
            return exc
        return AdapterError(
            ", ".join(unit.resource_ids), f"{source}, the region being left, does not answer ({type(exc).__name__}: {exc})",
            "at the next approval gate choose 'Continue unplanned' (no further call goes to it), or re-trigger with "
            "failover_mode=unplanned; finished work is not repeated")

    def _fail(self, context: Any, record: TaskRecord, error: Exception | str) -> dict[str, Any]:
        record.ended_at, record.outcome, record.error = now(), "failed", str(error)
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        if isinstance(error, AdapterError):
            raise AirflowFailException(str(error))  # needs a person to fix its cause: retrying won't help
        if isinstance(error, Exception):
            raise error
        raise RuntimeError(error)


class ValidateOperator(PhaseOperator):
    """After a wave's activation: HEALTHY / DEGRADED / UNHEALTHY per resource (FR-3.3), from the adapter's
    checks and each resource's ``healthCheckUrl``.

    What is not HEALTHY yet is given time: the task defers to the triggerer, which re-checks every
    DR_HEALTH_POLL_SECONDS (no worker slot held) until every resource is HEALTHY or the wave's timeout
    runs out -- the run's ``validation_timeout_minutes``, else the layer's ``validationTimeoutMinutes``,
    else 5 minutes (0: check once). Then an UNHEALTHY resource fails the task, which blocks the next wave
    (marking the task success is the override); DEGRADED passes, recorded as such.
    """

    def __init__(self, *, timeout_minutes: float | None = None, **kwargs: Any):
        super().__init__(phase=Phase.ACTIVATE.value, **kwargs)
        self.timeout_minutes = timeout_minutes  # the layer's validationTimeoutMinutes (None: the default)

    def execute(self, context: Any) -> dict[str, Any]:
        plan, request = self.load(context)
        if reason := self.skip_reason(request, self.stand_down(plan, request, context)):
            skip(context, reason.replace("phase ACTIVATE is not selected", "ACTIVATE did not run"))
        unit = WorkUnit.from_dict(self.unit)
        record = TaskRecord(task=self.task_id, phase="VALIDATE", wave=self.wave, unit_id=unit.unit_id,
                            action=unit.action, account_id=unit.account_id, resource_ids=unit.resource_ids,
                            started_at=now())
        tries.begin(context, record)
        if request.dry_run:
            record.ended_at, record.outcome = now(), "succeeded"
            record.health, record.notes = [], ["dry run: nothing was activated to validate"]
            tries.keep(context, record)
            context["ti"].xcom_push(key="record", value=record.to_dict())
            return record.to_dict()
        checks = unit_health(self.run_context(plan, request, context), unit)
        timeout = request.validation_timeout(self.timeout_minutes)
        if settled(checks) or timeout <= 0:
            return self._judge(context, record, checks, rounds=1)
        deadline = datetime.fromisoformat(record.started_at) + timedelta(minutes=timeout)
        self._log_checks(checks)
        self.log.info("not healthy yet: checking again every %.0fs until %s (%g min; deferred, no worker slot held)",
                      health_poll_seconds(), deadline.isoformat(timespec="seconds"), timeout)
        record.outcome, record.health = "waiting", checks
        context["ti"].xcom_push(key="record", value=record.to_dict())
        self.defer(
            trigger=HealthWaitTrigger(self.plan, self.unit, {"operation": request.acting_as.value,
                                                             "unplanned": request.unplanned,
                                                             "reverse_drill": request.reverse_drill},
                                      context["run_id"], self.aws_conn_id, deadline.isoformat(), health_poll_seconds(),
                                      # a drill's health wait ends as soon as it is asked to give way
                                      stand_down_key=preemption.preemption_key(plan.dag_id, context["run_id"])
                                      if preemption.run_kind(request) == preemption.DRILL else None),
            method_name="resume_validation",
            kwargs={"record": record.to_dict()},
        )

    def resume_validation(self, context: Any, event: dict[str, Any], record: dict[str, Any] | None = None
                          ) -> dict[str, Any]:
        plan, request = self.load(context)
        # The record also sits in XCom: not every runner hands defer kwargs back (dag.test drops them).
        saved = TaskRecord.from_dict(record or context["ti"].xcom_pull(task_ids=self.task_id, key="record",
                                                                       map_indexes=context["ti"].map_index))
        found = self.stand_down(plan, request, context)
        if found or event.get("status") == "stand_down":  # a drill giving way: its validation is moot
            reason = preemption.stand_down_reason(found or event.get("request") or {})
            saved.ended_at, saved.outcome, saved.notes = now(), "stood down", [*(saved.notes or []), reason]
            tries.keep(context, saved)
            context["ti"].xcom_push(key="record", value=saved.to_dict())
            skip(context, reason)
        rounds = 1 + int(event.get("rounds") or 0)  # the first check, here, then the trigger's
        waited = f"{request.validation_timeout(self.timeout_minutes):g} min"
        note = (f"not every resource HEALTHY after {waited}" if event.get("status") == "timeout"
                else f"settled after {seconds_since(saved.started_at):.0f}s") + f" ({rounds} checks)"
        self.log.info("health: %s", note)
        saved.notes = [*(saved.notes or []), note]
        return self._judge(context, saved, event.get("checks") or [], rounds)

    def _log_checks(self, checks: list[dict[str, Any]]) -> None:
        for c in checks:
            self.log.info("%-9s %s: %s", c["status"], c["resource_id"], c["reason"])

    def _judge(self, context: Any, record: TaskRecord, checks: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
        """The last checks decide: an UNHEALTHY resource fails the task (and blocks the next wave)."""
        self._log_checks(checks)
        bad = unhealthy(checks)
        record.ended_at, record.health, record.outcome = now(), checks, "failed" if bad else "succeeded"
        if rounds > 1:  # it waited: how many checks it took
            record.rounds = rounds
        if bad:
            record.error = "; ".join(f"{c['resource_id']} UNHEALTHY: {c['reason']}" for c in bad)
        tries.keep(context, record)
        context["ti"].xcom_push(key="record", value=record.to_dict())
        if bad:  # the wave's timeout was the time to get healthy: a retry would only wait that long again
            raise AirflowFailException(f"unhealthy after activation (fix it and clear this task to check again, "
                                       f"or mark it success to override): {record.error}")
        return record.to_dict()


def seconds_since(iso: str | None) -> float:
    """Seconds from an ISO 8601 time to now (0 when unknown)."""
    return (datetime.now(timezone.utc) - datetime.fromisoformat(iso)).total_seconds() if iso else 0.0


def _changes(ctx: RunContext) -> list[dict[str, Any]]:
    """What the adapter changed (or would change, in a dry run), without call arguments' bulk."""
    changes = [
        {"call": f"{c['service']}.{c['operation']}", "region": c["region"], "dry_run": c["dry_run"]} for c in ctx.changes
    ]
    ctx.changes.clear()
    return changes


def retry_actions(dag_id: str, run_id: str) -> dict[str, Any]:
    """How to go on after fixing what failed, ready to paste: clear the run's failed task instances
    *and the ones they blocked*. Clearing only the failed task (REST ``clearTaskInstances`` without
    ``include_downstream``, ``airflow tasks clear`` without ``-d``) re-runs it, but everything after it
    stays ``upstream_failed``, and so does the run: Airflow never re-evaluates a finished task."""
    body = {"dag_run_id": run_id, "dry_run": False, "only_failed": True, "reset_dag_runs": True}
    cli = f"airflow dags clear {dag_id} --run-id {shlex.quote(run_id)} --only-failed --yes"
    path = f"/api/v2/dags/{dag_id}/clearTaskInstances"
    return {
        "how": (
            "Fix the cause, then clear the failed task instances together with the tasks they blocked "
            "(finished work is not repeated; clearing only the failed task re-runs it but leaves everything "
            "after it upstream_failed, and the run failed): in the Grid view, Clear on the failed task "
            f"instance with Downstream ticked (the default); or the CLI: {cli}; or REST: POST {path} with "
            f"{json.dumps(body)} (every failed and blocked task of the run; to retry one unit only, add "
            '"task_ids": [["<task_id>", <map_index>]] and "include_downstream": true).'
        ),
        "cli": cli,
        "rest": {"method": "POST", "path": path, "body": body},
    }


class ReportOperator(DrOperator):
    """Last task, runs whatever happened: writes the report, sends the final notification, and fails
    when the run did not succeed so the run's state tells the truth."""

    def __init__(self, *, record_tasks: list[str], gate_tasks: list[str],
                 manual_tasks: dict[str, dict[str, Any]] | None = None, **kwargs: Any):
        super().__init__(trigger_rule="all_done", **kwargs)
        self.record_tasks = record_tasks
        self.gate_tasks = gate_tasks
        self.manual_tasks = manual_tasks or {}  # task id -> its ManualStep unit (with its wave)

    def execute(self, context: Any) -> dict[str, Any]:
        from dr_adapters.report.build import build_report
        from dr_adapters.report.render import render_text, write_report

        plan = plan_from_dict(self.plan)
        ti = context["ti"]
        try:
            request: RunRequest | None = request_from_context(plan, context)
        except RunRequestError:
            request = None
        pull = lambda ids: [r for r in (ti.xcom_pull(task_ids=ids, key="record") or []) if r]  # noqa: E731
        by_instance = self._instance_states(context)
        states = worst_states(by_instance)
        gates = [GateRecord.from_dict(g) for g in pull(self.gate_tasks)]
        recorded = {g.task for g in gates}
        # A gate marked success before it ran left no record: that is the operator's override.
        gates += [GateRecord(task=g, decision="marked success (manual override)")
                  for g in self.gate_tasks if g not in recorded and states.get(g) == "success"]
        preflight = ti.xcom_pull(task_ids="preflight", key="record")
        records = [TaskRecord.from_dict(r) for r in pull(self.record_tasks)]
        manual = self._manual_steps(pull, states)
        # Who did what: the trigger, each gate's answer, and from Airflow's audit log what leaves no
        # name of its own (a gate or step marked success, a run cancelled by marking it failed).
        who = review_run(plan.dag_id, context["run_id"], by_instance, states, records, gates, manual,
                         phase_tasks=self.record_tasks, never_started=self._never_started(ti, by_instance),
                         since=context["dag_run"].start_date.isoformat(),
                         preflight_overridden=bool(preflight and preflight.get("outcome") == "failed"
                                                   and states.get("preflight") == "success"))
        # A drill that gave way to a failover: who asked, and what it stopped (its cleanup is in the records).
        stand_down = preemption.stand_down_request(plan.dag_id, context["run_id"], request)
        if stand_down:
            stand_down = {**stand_down, "stopped": self._stood_down(ti, by_instance)}
        report = build_report(
            plan,
            run_id=context["run_id"],
            operation=request.operation.value if request else "invalid request",
            dry_run=bool(request and request.dry_run),
            run_started_at=context["dag_run"].start_date.isoformat(),
            preflight=PreflightRecord.from_dict(preflight) if preflight else None,
            records=records + manual,
            gates=gates,
            failed_tasks=sorted(t for t, state in states.items()
                                if state in ("failed", "upstream_failed") and t != self.task_id),
            ended_at=now(),
            unplanned_from=dark_region(plan, request),
            triggered_by={"user": triggered_by(context), "run_type": run_type(context)},
            cancelled=who.cancelled,
            audit_log=who.audit_problem,
            preflight_override=who.preflight_override,
            stood_down=stand_down,
            rollback=undo.to_dict() if request and request.operation is Operation.ROLLBACK and (
                undo := undo_of(context)) else None,
        )
        # The guard no longer counts this run (a change run that did not succeed stays registered: cleared,
        # it goes on without its preflight, and must count again).
        preemption.release(plan.dag_id, context["run_id"], keep_registration=bool(
            request and preemption.run_kind(request) == preemption.CHANGE and report["outcome"] != "succeeded"))
        text = render_text(report)
        sessions = sessions_for(plan, context["run_id"], self.aws_conn_id,
                                home_region=orchestrator_region(plan, request.acting_as if request else None))
        dark = dark_region(plan, request)
        buckets = [(bucket, sessions.client("s3", region, fail_fast=True))
                   for bucket, region in plan.report_buckets if region != dark]
        report["location"] = write_report(report, text, buckets=buckets, prefix=plan.report_prefix)
        # Also in the metadata database: the local copy sits on whichever worker ran this task (with
        # Celery workers, as on MWAA, one of many, and its disk may not outlive the task); the UI's
        # XCom tab and REST read it from anywhere.
        ti.xcom_push(key="report", value=json.loads(json.dumps(report, default=str)))
        self.log.info("DR report (%s):\n%s", report["location"], text)
        event = {"succeeded": "run_succeeded", "rejected": "run_rejected", "cancelled": "run_cancelled",
                 "preempted": "run_preempted", "skipped": "run_skipped"}.get(report["outcome"], "run_failed")
        details: dict[str, Any] = {"run_id": context["run_id"], "report": report["location"], "rto": report["rto"]}
        details["report_api"] = (f"GET /api/v2/dags/{self.dag_id}/dagRuns/{context['run_id']}/taskInstances/"
                                 f"{self.task_id}/xcomEntries/report")  # wherever the local copy landed
        if report.get("failover_mode") == "unplanned":  # what waits for the old region, and what may be lost
            details.update(failover_mode="unplanned", deferred=report["deferred"],
                           data_loss_exposure=report["data_loss_exposure"])
        if report.get("cancelled"):  # what ran and what did not, and who stopped it
            details.update(cancelled=report["cancelled"], waves={w["number"]: w["outcome"] for w in report["waves"]})
        if report.get("preempted"):  # a drill that gave way: for whom, and what it cleaned up
            details["preempted"] = report["preempted"]
        if report.get("preempted_drills"):  # a failover that made a drill give way, and how long it waited
            details["preempted_drills"] = report["preempted_drills"]
        if report["failures"]:
            first = report["failures"][0]
            retry = retry_actions(plan.dag_id, context["run_id"])
            details.update(failing_task=first["task"], error=first["error"], remediation=retry["how"], retry=retry)
        notify(plan, sessions, event, f"DR {report['operation']} {report['outcome']}: {plan.dag_id}", details, avoid=dark)
        if report["outcome"] not in ("succeeded", "preempted", "skipped"):  # a drill giving way did its part
            how = f"\n{retry_actions(plan.dag_id, context['run_id'])['how']}" if report["failures"] else ""
            raise AirflowFailException(f"the run {report['outcome']}; report: {report['location']}{how}")
        return {"outcome": report["outcome"], "location": report["location"], "rto": report["rto"]}

    def _manual_steps(self, pull: Any, states: dict[str, str]) -> list[ManualStepRecord]:
        """The manual steps' records. A step marked success (before it asked, or while it waited) was
        confirmed by the operator's override, one marked failed while it waited was failed by it:
        Airflow keeps no name for either."""
        if not self.manual_tasks:
            return []
        records = {r.task: r for r in map(ManualStepRecord.from_dict, pull(list(self.manual_tasks)))}
        for task, unit in self.manual_tasks.items():
            state, record = states.get(task), records.get(task)
            if record is not None and record.decision == "waiting" and state == "failed":
                # marked failed while it waited: by a person on the task, or by a cancel of the run
                # (review_run tells which, from Airflow's audit log when it can be read)
                record.decision, record.outcome, record.ended_at = "marked failed (manual override)", "failed", now()
                record.error = f"manual step '{record.title}' marked failed"
            if state != "success" or (record is not None and record.decision != "waiting"):
                continue
            if record is None:
                spec = WorkUnit.from_dict(unit)
                cfg = manual_step_config(spec.resources[0])
                record = records[task] = ManualStepRecord(
                    task=task, phase=cfg.phase, wave=unit.get("wave"), unit_id=spec.unit_id, action=spec.action,
                    account_id=spec.account_id, resource_ids=spec.resource_ids, title=cfg.title)
            record.decision, record.outcome = "marked success (manual override)", "succeeded"
        return list(records.values())

    def _instance_states(self, context: Any) -> dict[tuple[str, int], str]:
        """(task_id, map_index) -> state of every task instance of this run."""
        try:
            by_run = context["ti"].get_task_states(dag_id=self.dag_id, run_ids=[context["run_id"]])
        except Exception:  # noqa: BLE001 - the report still renders from the records alone
            self.log.warning("cannot read task states; the report relies on task records", exc_info=True)
            return {}
        states: dict[tuple[str, int], str] = {}
        for key, state in (by_run.get(context["run_id"]) or {}).items():
            task, _, index = key.rpartition("_")  # a mapped instance is "<task_id>_<map_index>"
            if index.isdigit() and key not in self._task_ids():
                states[(task, int(index))] = str(state)
            else:
                states[(key, -1)] = str(state)
        return states

    def _never_started(self, ti: Any, by_instance: dict[tuple[str, int], str]) -> list[str]:
        """Tasks with an instance skipped that did not skip itself (no mark, see ``skip``): Airflow skipped
        it because a person marked the run failed (or the task skipped) before it started."""
        skipped = {(t, m) for (t, m), state in by_instance.items() if state == "skipped" and t != self.task_id}
        if not skipped:
            return []
        # A readiness check's preflight skips everything else in one step, leaving one mark for them all.
        mark = ti.xcom_pull(task_ids="preflight", key=XCOM_SKIPMIXIN_KEY) or {}
        by_preflight = set(mark.get(XCOM_SKIPMIXIN_SKIPPED) or [])
        skipped = {(t, m) for t, m in skipped if t not in by_preflight}
        if not skipped:
            return []
        marks = ti.xcom_pull(task_ids=sorted({t for t, _ in skipped}), key=SKIPPED_KEY) or []
        marked = {(m.get("task"), m.get("map_index")) for m in marks if isinstance(m, dict)}
        return sorted({t for t, m in skipped - marked})

    @staticmethod
    def _stood_down(ti: Any, by_instance: dict[tuple[str, int], str]) -> list[str]:
        """The tasks a drill skipped because it was asked to give way (their skip marks say so)."""
        skipped = sorted({t for (t, _), state in by_instance.items() if state == "skipped"})
        if not skipped:
            return []
        marks = ti.xcom_pull(task_ids=skipped, key=SKIPPED_KEY) or []
        return sorted({m["task"] for m in marks
                       if isinstance(m, dict) and str(m.get("reason", "")).startswith("preempted by")})

    def _task_ids(self) -> set[str]:
        return set(self.dag.task_ids) if self.has_dag() else set()


def worst_states(by_instance: dict[tuple[str, int], str]) -> dict[str, str]:
    """task_id -> state (a mapped task's worst state wins)."""
    states: dict[str, str] = {}
    rank = {"failed": 3, "upstream_failed": 2}
    for (task, _), state in sorted(by_instance.items()):
        if rank.get(state, 0) >= rank.get(states.get(task, ""), 0):
            states[task] = state
    return states
