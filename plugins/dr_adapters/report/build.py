"""The run report: per wave / phase / resource timings, approvals, failures and measured RTO.

Built from the ``record`` each task leaves behind; plain Python so it can be tested and rendered
anywhere. Measured RTO runs from the start of the run to the end of the last wave's validation;
it is also given without the time spent waiting at approval gates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dr_adapters.plan.model import Plan

PHASE_ORDER = ("INSTANTIATE", "ACTIVATE", "VALIDATE", "CLEANUP", "REPLICATE")


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _seconds(start: str | None, end: str | None) -> float | None:
    a, b = _t(start), _t(end)
    return round((b - a).total_seconds(), 3) if a and b else None


def _span(records: list[dict[str, Any]]) -> dict[str, Any]:
    starts = [r["started_at"] for r in records if r.get("started_at")]
    ends = [r["ended_at"] for r in records if r.get("ended_at")]
    start, end = (min(starts) if starts else None), (max(ends) if ends else None)
    outcomes = {r.get("outcome") for r in records}
    return {
        "started_at": start,
        "ended_at": end,
        "seconds": _seconds(start, end),
        "outcome": "failed" if "failed" in outcomes else ("succeeded" if outcomes else "skipped"),
        "units": [
            {
                "unit_id": r["unit_id"],
                "action": r.get("action"),
                "account_id": r.get("account_id"),
                "resources": r.get("resource_ids", []),
                "outcome": r.get("outcome"),
                "seconds": _seconds(r.get("started_at"), r.get("ended_at")),
                "changes": len(r.get("changes", [])),
                "health": r.get("health"),
                "error": r.get("error"),
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
    preflight: dict[str, Any] | None,
    records: list[dict[str, Any]],
    gates: list[dict[str, Any]],
    failed_tasks: list[str],
    ended_at: str,
) -> dict[str, Any]:
    waves = []
    for wave in plan.waves:
        mine = [r for r in records if r.get("wave") == wave.number and r.get("phase") in ("INSTANTIATE", "ACTIVATE", "VALIDATE")]
        phases = {p: _span([r for r in mine if r["phase"] == p]) for p in ("INSTANTIATE", "ACTIVATE", "VALIDATE")}
        waves.append({"number": wave.number, "layer_id": wave.layer_id, "phases": phases, **_span(mine)})
    after = {p: _span([r for r in records if r.get("phase") == p]) for p in ("CLEANUP", "REPLICATE")}

    approvals = []
    for g in sorted(gates, key=lambda g: g.get("requested_at") or ""):
        responded = g.get("responded_at")
        decision = g.get("decision")
        if decision == "waiting":  # completed without a recorded answer: marked success by an operator
            later = [r["started_at"] for r in records if r.get("started_at", "") > (g.get("requested_at") or "")]
            responded = min(later) if later else None
            decision = "marked success (manual override)" if responded else "no answer"
        approvals.append({
            "gate": g["task"],
            "before": g.get("next_step"),
            "decision": decision,
            "by": g.get("responded_by"),
            "requested_at": g.get("requested_at"),
            "responded_at": responded,
            "waited_seconds": _seconds(g.get("requested_at"), responded) or 0.0,
            "overdue_alerts": len(g.get("overdue_alerts") or []),
        })

    validated_ends = [w["phases"]["VALIDATE"]["ended_at"] for w in waves if w["phases"]["VALIDATE"]["ended_at"]]
    recovered_at = max(validated_ends) if validated_ends and not any(w["outcome"] == "failed" for w in waves) else None
    rto_seconds = _seconds(run_started_at, recovered_at)
    waits_in_window = sum(
        a["waited_seconds"] for a in approvals if recovered_at and (a["responded_at"] or "") <= recovered_at
    )
    rejected = [a for a in approvals if a["decision"] == "rejected"]
    failures = [
        {"task": r["task"], "unit_id": r.get("unit_id"), "resources": r.get("resource_ids"), "error": r.get("error")}
        for r in records if r.get("outcome") == "failed"
    ]
    if preflight and preflight.get("problems"):
        failures.insert(0, {"task": "preflight", "unit_id": None,
                            "resources": [p["resource_id"] for p in preflight["problems"]],
                            "error": "; ".join(f"{p['resource_id']}: {p['message']}" for p in preflight["problems"])})
    outcome = "rejected" if rejected else ("failed" if failures or failed_tasks else "succeeded")
    target = plan.rto_minutes
    return {
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
        "preflight": {"outcome": (preflight or {}).get("outcome", "not run"),
                      "checks": len((preflight or {}).get("findings", []))},
        "waves": waves,
        "after_waves": after,
        "approvals": approvals,
        "rto": {
            "target_minutes": target,
            "measured_minutes": round(rto_seconds / 60, 2) if rto_seconds is not None else None,
            "measured_minutes_excluding_approvals": round((rto_seconds - waits_in_window) / 60, 2)
            if rto_seconds is not None else None,
            "met": (rto_seconds / 60 <= target) if (rto_seconds is not None and target) else None,
        },
        "failures": failures,
        "failed_tasks": failed_tasks,
        "aws_changes": sum(len(r.get("changes", [])) for r in records),
    }
