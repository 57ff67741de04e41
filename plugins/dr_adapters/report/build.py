"""The run report: per wave / phase / resource timings, approvals, failures and measured RTO.

Built from the ``record`` each task leaves behind (typed in ``report.records``); plain Python so it
can be tested and rendered anywhere. The report itself stays a JSON-safe dict, as it is written as
JSON. Measured RTO runs from the run's first start to the end of the last wave's validation, whatever
happened between (failed tries, automatic retries, a person clearing a failed task after a fix); it is
also given without the time spent waiting at approval gates (every try of every gate counted) and for
manual steps (a person's answer). Airflow
resets a cleared run's start_date to the clear, so the first start is the earliest start of any try of
any task (each record carries its task's earlier tries); those earlier tries are listed too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dr_adapters.aws.sessions import role_session_name
from dr_adapters.plan.model import Plan
from dr_adapters.report.records import GateRecord, ManualStepRecord, PreflightRecord, TaskRecord, TriedRecord

PHASE_ORDER = ("INSTANTIATE", "ACTIVATE", "VALIDATE", "CLEANUP", "REPLICATE", "ROLLBACK")


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _seconds(start: str | None, end: str | None) -> float | None:
    a, b = _t(start), _t(end)
    return round((b - a).total_seconds(), 3) if a and b else None


def first_start(run_started_at: str | None, tried: list[TriedRecord]) -> str | None:
    """When the run first started: the earliest of the run's start_date as the report task sees it
    (after a clear, when the run resumed), as each try of each task saw it (the first try of preflight
    saw the one before any clear), and the start of every try."""
    starts = [run_started_at]
    for record in tried:
        for t in (record.to_dict(), *(record.earlier_tries or [])):
            starts.append(t.get("requested_at") if isinstance(record, GateRecord) else t.get("started_at"))
            starts.append(t.get("run_start_date"))
    known = [s for s in starts if s]
    return min(known, key=_t) if known else None


def _earlier_attempts(tried: list[TriedRecord]) -> list[dict[str, Any]]:
    """Every try that is not a task's latest one: when it ran, how it ended, and what came next (a
    retry by Airflow, or a clear: the run's clear count went up between the two tries)."""
    attempts = []
    for record in tried:
        gate = isinstance(record, GateRecord)
        tries = [*(record.earlier_tries or []), record.to_dict()]
        for t, after in zip(tries, tries[1:]):
            started = t.get("requested_at") if gate else t.get("started_at")
            ended = t.get("responded_at") if gate else t.get("ended_at")
            outcome = t.get("decision") if gate else t.get("outcome")
            if not ended and outcome in (None, "waiting", "running"):
                outcome = "no end recorded (its worker was lost, or it was cleared while it ran)"
            error = t.get("error")
            if isinstance(record, PreflightRecord) and t.get("problems") and not error:
                error = "; ".join(f"{p['resource_id']}: {p['message']}" for p in t["problems"])
            cleared = (after.get("clear_number") or 0) > (t.get("clear_number") or 0)
            attempts.append({
                "task": record.task,
                "unit_id": getattr(record, "unit_id", None),
                "try": t.get("try_number"),
                "started_at": started,
                "ended_at": ended,
                "outcome": outcome,
                "error": error,
                **({"by": t.get("responded_by"), "waited_seconds": _seconds(started, ended) or 0.0} if gate else {}),
                "then": "cleared" if cleared else "retried by Airflow",
                "next_try_started_at": after.get("requested_at") if gate else after.get("started_at"),
                # when the run went on after that clear (Airflow's start_date of the run, reset by the clear)
                "run_resumed_at": after.get("run_start_date") if cleared else None,
            })
    return sorted(attempts, key=lambda a: (a["started_at"] or "", a["task"]))


def _span(records: list[TaskRecord]) -> dict[str, Any]:
    starts = [r.started_at for r in records if r.started_at]
    ends = [r.ended_at for r in records if r.ended_at]
    start, end = (min(starts) if starts else None), (max(ends) if ends else None)
    outcomes = {r.outcome for r in records}
    return {
        "started_at": start,
        "ended_at": end,
        "seconds": _seconds(start, end),
        "outcome": "failed" if "failed" in outcomes else ("succeeded" if outcomes else "skipped"),
        "units": [
            {
                "unit_id": r.unit_id,
                "action": r.action,
                "account_id": r.account_id,
                "resources": r.resource_ids,
                "outcome": r.outcome,
                "seconds": _seconds(r.started_at, r.ended_at),
                "changes": len(r.changes or []),  # a VALIDATE record has none
                "health": r.health,
                "error": r.error,
            }
            for r in records
        ],
    }


def build_report(
    plan: Plan,
    *,
    run_id: str,
    operation: str,
    dry_run: bool,
    run_started_at: str,
    preflight: PreflightRecord | None,
    records: list[TaskRecord],
    gates: list[GateRecord],
    failed_tasks: list[str],
    ended_at: str,
    unplanned_from: str | None = None,
    triggered_by: dict[str, Any] | None = None,
    cancelled: dict[str, Any] | None = None,
    audit_log: str | None = None,
    preflight_override: dict[str, Any] | None = None,
    stood_down: dict[str, Any] | None = None,
    rollback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``unplanned_from``: the dark region an unplanned failover left; its CLEANUP and REPLICATE
    are reported as deferred until it returns, with each resource's data-loss exposure.
    ``triggered_by``: {"user", "run_type"} of the run; ``cancelled``: {"by", "at", "stopped", "not_run"}
    when a person marked the run failed; ``audit_log``: why Airflow's audit log could not name someone;
    ``preflight_override``: {"by", "at"} when a person marked a failed preflight success and the run went
    on (its problems are then accepted risks, listed, not failures);
    ``stood_down``: the request that made this drill give way to a failover (``orchestration.preemption``),
    with the tasks it ``stopped``."""
    waves = []
    for wave in plan.waves:
        mine = [r for r in records if r.wave == wave.number and r.phase in ("INSTANTIATE", "ACTIVATE", "VALIDATE")]
        phases = {p: _span([r for r in mine if r.phase == p]) for p in ("INSTANTIATE", "ACTIVATE", "VALIDATE")}
        waves.append({"number": wave.number, "layer_id": wave.layer_id, "phases": phases, **_span(mine)})
    after = {p: _span([r for r in records if r.phase == p]) for p in ("CLEANUP", "REPLICATE")}

    approvals = []
    for g in sorted(gates, key=lambda g: g.requested_at or ""):
        responded = g.responded_at
        decision = g.decision
        if decision == "waiting":  # completed without a recorded answer: marked success by an operator
            later = [r.started_at for r in records if r.started_at and r.started_at > (g.requested_at or "")]
            responded = g.responded_at or (min(later) if later else None)  # the audit log's time, when known
            decision = "marked success (manual override)" if responded else "no answer"
        people = {k: v for k, v in (("allowed", g.allowed_respondents), ("refused", g.refused)) if v}
        approvals.append({
            "gate": g.task,
            "before": g.next_step,
            "decision": decision,
            "by": g.responded_by,
            "requested_at": g.requested_at,
            "responded_at": responded,
            "waited_seconds": _seconds(g.requested_at, responded) or 0.0,
            "overdue_alerts": len(g.overdue_alerts or []),
            **people,  # who could answer, and answers refused (approvers, separationOfDuties)
            **({"shown": g.evidence} if g.evidence else {}),  # the evidence the gate put before its approver
        })

    tried: list[TriedRecord] = [*([preflight] if preflight else []), *records, *gates]
    started_at = first_start(run_started_at, tried)
    earlier = _earlier_attempts(tried)
    validated_ends = [w["phases"]["VALIDATE"]["ended_at"] for w in waves if w["phases"]["VALIDATE"]["ended_at"]]
    recovered_at = max(validated_ends) if validated_ends and not any(w["outcome"] == "failed" for w in waves) else None
    rto_seconds = _seconds(started_at, recovered_at)
    waits = [(a["responded_at"], a["waited_seconds"]) for a in approvals]
    waits += [(a["ended_at"], a["waited_seconds"]) for a in earlier if "waited_seconds" in a]  # every try of a gate
    waits_in_window = sum(seconds for responded, seconds in waits
                          if recovered_at and responded and _t(responded) <= _t(recovered_at))
    manual_steps = _manual_steps(records)
    waits_in_window += _waited_together(  # a person performing a manual step is waited for like an approver
        [m for m in manual_steps if recovered_at and m["waited_seconds"] and (m["responded_at"] or "") <= recovered_at])
    rejected = [a for a in approvals if a["decision"] == "rejected"]
    failures = [
        {"task": r.task, "unit_id": r.unit_id, "resources": r.resource_ids, "error": r.error}
        for r in records if r.outcome == "failed"
    ]
    if preflight and preflight.problems and not preflight_override:
        failures.insert(0, {"task": "preflight", "unit_id": None,
                            "resources": [p["resource_id"] for p in preflight.problems],
                            "error": "; ".join(f"{p['resource_id']}: {p['message']}" for p in preflight.problems)})
    guard = _guard(preflight, stood_down, records)
    outcome = "rejected" if rejected else "cancelled" if cancelled else (
        "failed" if failures or failed_tasks else
        "preempted" if "preempted" in guard else "skipped" if "stood_down" in guard else "succeeded")
    target = plan.rto_minutes
    report = {
        "dag_id": plan.dag_id,
        "run_id": run_id,
        "manifest_id": plan.manifest_id,
        "customer": plan.scope.customer,
        "environment": plan.scope.environment,
        "operation": operation,
        "dry_run": dry_run,
        "regions": {"primary": plan.regions.primary, "dr": plan.regions.dr},
        "outcome": outcome,
        "started_at": started_at,
        "ended_at": ended_at,
        "preflight": {"outcome": "overridden" if preflight_override else
                      preflight.outcome if preflight and preflight.outcome is not None else "not run",
                      "checks": len(preflight.findings) if preflight else 0,
                      # a failed preflight a person marked success: who, when, and the problems accepted
                      **({"overridden": {**preflight_override, "accepted": [
                          {"resource_id": p["resource_id"], "message": p["message"]}
                          for p in (preflight.problems if preflight else [])]}} if preflight_override else {}),
                      # the tagged estate against the plan: drift (tag-driven) or unprotected resources
                      **({"tagged_estate": estate} if (estate := [
                          {"ok": f["ok"], "message": f["message"]} for f in (preflight.findings if preflight else [])
                          if f.get("kind") == "discovery"]) else {}),
                      # the quotas the run consumes, per account and region: OK / INFO / WARNING / CRITICAL
                      **({"capacity": quotas} if (quotas := _capacity(preflight)) else {})},
        "waves": waves,
        "after_waves": after,
        "approvals": approvals,
        **({"manual_steps": manual_steps} if manual_steps else {}),  # runbook steps a person performed
        "rto": {
            "from": started_at,  # the run's first start
            "to": recovered_at,  # the last wave validated
            "target_minutes": target,
            "measured_minutes": round(rto_seconds / 60, 2) if rto_seconds is not None else None,
            "measured_minutes_excluding_approvals": round((rto_seconds - waits_in_window) / 60, 2)
            if rto_seconds is not None else None,
            "met": (rto_seconds / 60 <= target) if (rto_seconds is not None and target) else None,
        },
        "failures": failures,
        "earlier_attempts": earlier,
        "failed_tasks": failed_tasks,
        "aws_changes": sum(len(r.changes or []) for r in records),
    }
    if unplanned_from:
        report.update(_unplanned(plan, unplanned_from, preflight))
        switch = next((a for a in approvals if a["decision"] == "continued unplanned"), None)
        if switch:  # a planned run a person switched at a gate (Region switch's "switch to ungraceful")
            report["switched_to_unplanned"] = {"gate": switch["gate"], "by": switch["by"], "at": switch["responded_at"]}
    report.update(guard)
    if rollback is not None:
        report["rollback"] = _rollback(rollback, records)
    report.update(_who(plan, run_id, approvals, triggered_by, cancelled, audit_log))
    report["resources"] = _resource_states(plan, records)
    return report


def _guard(preflight: PreflightRecord | None, stood_down: dict[str, Any] | None,
           records: list[TaskRecord]) -> dict[str, Any]:
    """What the guard against overlapping runs did: a drill that gave way to a failover (``preempted``: for
    which run, what it stopped, what its CLEANUP removed), a drill that did not start beside another
    (``stood_down``), or the drills a failover made give way and how long it waited (``preempted_drills``)."""
    guard = (preflight.guard if preflight else None) or {}
    out: dict[str, Any] = {}
    blocker = guard.get("for") or {}
    if stood_down:
        cleaned = [{"unit_id": r.unit_id, "resources": r.resource_ids, "outcome": r.outcome,
                    "changes": [c["call"] for c in r.changes or []]} for r in records if r.phase == "CLEANUP"]
        by = f"{stood_down.get('by_operation') or 'failover'} run {stood_down.get('by_run_id')}"
        out["preempted"] = {
            "by_run_id": stood_down.get("by_run_id"), "by_operation": stood_down.get("by_operation"),
            "requested_at": stood_down.get("requested_at"), "stopped": stood_down.get("stopped") or [],
            "cleaned_up": cleaned,
            "message": f"preempted by {by}: stopped {len(stood_down.get('stopped') or [])} task(s); CLEANUP "
                       f"removed the drill's resources ({sum(len(c['changes']) for c in cleaned)} call(s) in "
                       f"{len(cleaned)} unit(s))"}
    elif guard.get("stood_down") and blocker.get("kind") == "change":  # a failover ran when the drill came
        out["preempted"] = {"by_run_id": blocker.get("run_id"), "by_operation": blocker.get("operation"),
                            "requested_at": None, "before_start": True, "stopped": [], "cleaned_up": [],
                            "message": f"{guard['stood_down']}; nothing was launched"}
    elif guard.get("stood_down"):
        out["stood_down"] = guard["stood_down"]
    if guard.get("preempted"):
        states = guard.get("drill_states") or {}
        out["preempted_drills"] = [
            {"run_id": d["run_id"], "operation": d.get("operation"), "requested_at": guard.get("requested_at"),
             "stood_down_at": guard.get("ended_at"), "waited_seconds": guard.get("waited_seconds"),
             "drill_state": states.get(d["run_id"]),
             "message": f"preempted drill run {d['run_id']}: waited {guard.get('waited_seconds') or 0:.0f}s for it "
                        "to clean up and finish before anything else ran"}
            for d in guard["preempted"]]
    return out


def _rollback(undo: dict[str, Any], records: list[TaskRecord]) -> dict[str, Any]:
    """Which run a rollback undid, and per wave it undid (highest first) how each unit's undo went."""
    mine = [r for r in records if r.phase == "ROLLBACK"]
    waves = []
    for wave in undo.get("waves") or []:
        done = [r for r in mine if r.wave == wave["number"]]
        waves.append({"number": wave["number"], **_span(done),
                      "not_run": sorted(set(wave["units"]) - {r.unit_id for r in done})})
    return {"of": undo["of"], "undid": undo["operation"], "its_outcome": undo.get("outcome"), "waves": waves,
            "left_as_is": undo.get("left") or {}}


def _capacity(preflight: PreflightRecord | None) -> list[dict[str, Any]]:
    """Each quota preflight checked, the most pressing first: its level, numbers and message."""
    order = {"CRITICAL": 0, "WARNING": 1, "UNKNOWN": 2, "INFO": 3, "OK": 4}
    found = [{**(f.get("quota") or {}), "level": f.get("level"), "ok": f["ok"], "message": f["message"]}
             for f in (preflight.findings if preflight else []) if f.get("kind") == "capacity"]
    return sorted(found, key=lambda q: order.get(q["level"] or "", 5))


APPROVING = ("approved", "continued unplanned", "marked success (manual override)")


def _who(plan: Plan, run_id: str, approvals: list[dict[str, Any]], triggered_by: dict[str, Any] | None,
         cancelled: dict[str, Any] | None, audit_log: str | None) -> dict[str, Any]:
    """Who triggered the run, who may approve, a cancel, any approval by the person who triggered
    the run when the manifest forbids it (possible only by marking a gate success), and the session
    name that finds the run's AWS calls in CloudTrail."""
    out: dict[str, Any] = {"cloudtrail": {
        "session_name": role_session_name(f"{plan.dag_id}-{run_id}"),
        "hub": plan.hub_role_arn or "the Airflow connection's identity (no hubRoleArn: not named after the run)",
        "spokes": [a.role_arn for a in plan.accounts if a.account_id != plan.hub_account_id],
    }}
    if triggered_by is not None:
        out["triggered_by"] = triggered_by
    if plan.approvers:
        out["approvers"] = list(plan.approvers)
    if plan.separation_of_duties:
        user = (triggered_by or {}).get("user")
        out["separation_of_duties"] = {"triggered_by": user, "breaches": [
            {"gate": a["gate"], "decision": a["decision"], "by": a["by"]}
            for a in approvals if user and a["by"] == user and a["decision"] in APPROVING]}
    if cancelled:
        out["cancelled"] = cancelled
    if audit_log:
        out["audit_log"] = audit_log
    return out


def _manual_steps(records: list[TaskRecord]) -> list[dict[str, Any]]:
    """Each manual step: what was asked, where, who answered what and when, and how long it waited."""
    steps = []
    # in the order they were asked; one marked success before it ran was never asked: last
    for r in sorted((r for r in records if isinstance(r, ManualStepRecord)), key=lambda r: (not r.started_at,
                                                                                           r.started_at or "")):
        responded = r.responded_at
        if r.decision == "marked success (manual override)" and not responded and r.started_at:
            later = [o.started_at for o in records if o.started_at and o.started_at > r.started_at]
            responded = min(later) if later else None  # the run went on: the override came before
        steps.append({
            "task": r.task,
            "resource_id": r.resource_ids[0] if r.resource_ids else r.unit_id,
            "title": r.title,
            "wave": r.wave,
            "phase": r.phase,
            "direction": "failback" if r.failback else "failover",
            "outcome": r.decision or r.outcome,
            "by": r.responded_by,
            "requested_at": r.started_at,
            "responded_at": responded,
            "waited_seconds": (_seconds(r.started_at, responded) or 0.0) if r.decision not in (
                "skipped in drill", "dry run") else 0.0,
            "overdue_alerts": len(r.overdue_alerts or []),
            "error": r.error,
        })
    return steps


def _waited_together(steps: list[dict[str, Any]]) -> float:
    """Seconds during which at least one of these steps waited: steps asked side by side count once."""
    total, reach = 0.0, None
    for start, end in sorted((_t(m["requested_at"]), _t(m["responded_at"])) for m in steps):
        if reach is None or start > reach:
            total, reach = total + (end - start).total_seconds(), end
        elif end > reach:
            total, reach = total + (end - reach).total_seconds(), end
    return round(total, 3)


def _resource_states(plan: Plan, records: list[TaskRecord]) -> list[dict[str, Any]]:
    """Every resource of the plan and where the run left it: the last phase that acted on it."""
    order = {p: i for i, p in enumerate(PHASE_ORDER)}
    states = []
    for wave in plan.waves:
        for unit in wave.units:
            mine = sorted((r for r in records if r.unit_id == unit.unit_id and r.phase in order and r.outcome),
                          key=lambda r: (order[r.phase], r.ended_at or r.started_at or ""))
            last = mine[-1] if mine else None
            state = f"{last.phase} {last.outcome}" if last else "not started"
            if isinstance(last, ManualStepRecord) and last.decision:  # a person's answer says more
                state = f"{last.phase} {last.decision}" + (f" by {last.responded_by}" if last.responded_by else "")
            if last and last.outcome == "failed" and last.error:
                state += f": {last.error}"
            for rid in unit.resource_ids:
                states.append({"resource_id": rid, "wave": wave.number, "action": unit.action,
                               "account_id": unit.account_id, "state": state})
    return states


def _unplanned(plan: Plan, source: str, preflight: PreflightRecord | None) -> dict[str, Any]:
    findings = (preflight.findings if preflight else None) or []
    return {
        "failover_mode": "unplanned",
        "deferred": [{"phase": phase, "region": source, "until": f"{source} answers again",
                      "how": "trigger operation=reprotect"}
                     for phase in ("CLEANUP", "REPLICATE") if phase in {p.value for p in plan.phases}],
        "data_loss_exposure": [{"resource_id": f["resource_id"], "exposure": f["exposure"]}
                               for f in findings if f.get("exposure")],
    }
