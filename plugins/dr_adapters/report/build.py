"""The run report: per wave / phase / resource timings, approvals, failures and measured RTO.

Built from the ``record`` each task leaves behind (typed in ``report.records``); plain Python so it
can be tested and rendered anywhere. The report itself stays a JSON-safe dict, as it is written as
JSON. Measured RTO runs from the start of the run to the end of the last wave's validation; it is
also given without the time spent waiting at approval gates and for manual steps (a person's answer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dr_adapters.plan.model import Plan
from dr_adapters.report.records import GateRecord, ManualStepRecord, PreflightRecord, TaskRecord

PHASE_ORDER = ("INSTANTIATE", "ACTIVATE", "VALIDATE", "CLEANUP", "REPLICATE")


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _seconds(start: str | None, end: str | None) -> float | None:
    a, b = _t(start), _t(end)
    return round((b - a).total_seconds(), 3) if a and b else None


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
) -> dict[str, Any]:
    """``unplanned_from``: the dark region an unplanned failover left; its CLEANUP and REPLICATE
    are reported as deferred until it returns, with each resource's data-loss exposure."""
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
            responded = min(later) if later else None
            decision = "marked success (manual override)" if responded else "no answer"
        approvals.append({
            "gate": g.task,
            "before": g.next_step,
            "decision": decision,
            "by": g.responded_by,
            "requested_at": g.requested_at,
            "responded_at": responded,
            "waited_seconds": _seconds(g.requested_at, responded) or 0.0,
            "overdue_alerts": len(g.overdue_alerts or []),
        })

    manual_steps = _manual_steps(records)
    validated_ends = [w["phases"]["VALIDATE"]["ended_at"] for w in waves if w["phases"]["VALIDATE"]["ended_at"]]
    recovered_at = max(validated_ends) if validated_ends and not any(w["outcome"] == "failed" for w in waves) else None
    rto_seconds = _seconds(run_started_at, recovered_at)
    waits_in_window = sum(
        a["waited_seconds"] for a in approvals if recovered_at and (a["responded_at"] or "") <= recovered_at
    )
    waits_in_window += _waited_together(  # a person performing a manual step is waited for like an approver
        [m for m in manual_steps if recovered_at and m["waited_seconds"] and (m["responded_at"] or "") <= recovered_at])
    rejected = [a for a in approvals if a["decision"] == "rejected"]
    failures = [
        {"task": r.task, "unit_id": r.unit_id, "resources": r.resource_ids, "error": r.error}
        for r in records if r.outcome == "failed"
    ]
    if preflight and preflight.problems:
        failures.insert(0, {"task": "preflight", "unit_id": None,
                            "resources": [p["resource_id"] for p in preflight.problems],
                            "error": "; ".join(f"{p['resource_id']}: {p['message']}" for p in preflight.problems)})
    outcome = "rejected" if rejected else ("failed" if failures or failed_tasks else "succeeded")
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
        "started_at": run_started_at,
        "ended_at": ended_at,
        "preflight": {"outcome": preflight.outcome if preflight and preflight.outcome is not None else "not run",
                      "checks": len(preflight.findings) if preflight else 0,
                      # the tagged estate against the plan: drift (tag-driven) or unprotected resources
                      **({"tagged_estate": estate} if (estate := [
                          {"ok": f["ok"], "message": f["message"]} for f in (preflight.findings if preflight else [])
                          if f.get("kind") == "discovery"]) else {})},
        "waves": waves,
        "after_waves": after,
        "approvals": approvals,
        **({"manual_steps": manual_steps} if manual_steps else {}),  # runbook steps a person performed
        "rto": {
            "target_minutes": target,
            "measured_minutes": round(rto_seconds / 60, 2) if rto_seconds is not None else None,
            "measured_minutes_excluding_approvals": round((rto_seconds - waits_in_window) / 60, 2)
            if rto_seconds is not None else None,
            "met": (rto_seconds / 60 <= target) if (rto_seconds is not None and target) else None,
        },
        "failures": failures,
        "failed_tasks": failed_tasks,
        "aws_changes": sum(len(r.changes or []) for r in records),
    }
    if unplanned_from:
        report.update(_unplanned(plan, unplanned_from, preflight))
        switch = next((a for a in approvals if a["decision"] == "continued unplanned"), None)
        if switch:  # a planned run a person switched at a gate (Region switch's "switch to ungraceful")
            report["switched_to_unplanned"] = {"gate": switch["gate"], "by": switch["by"], "at": switch["responded_at"]}
    report["resources"] = _resource_states(plan, records)
    return report


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
