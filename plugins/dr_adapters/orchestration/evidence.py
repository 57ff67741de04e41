"""What an approver weighs at a gate (FR-2.3, PRD story 3.2), in the HITL request and ``approval_required``.

* **The wave just validated**: its health, every resource's status, the worst first
  (``alerts.wave_health``, the same computation ``wave_completed`` publishes). At a gate before a wave's
  ACTIVATE: its prewarmed resources instead, as their INSTANTIATE left them.
* **What comes next will change**: the resources of the next wave (or of the cleanup) with their action,
  account and region, and per phase to run the calls each technology makes there: the adapters' own
  ``phase_summaries`` (the README's actions table, ``python -m dr_adapters actions``), read from the
  plan: no AWS call.
* **Time so far against the RTO target**: from the run's first start as the report measures it
  (preflight's record with its earlier tries, ``report.build.first_start``) to now, against
  ``slaTargets.rto``.

An SNS message holds 256 KB: the lists are capped (``MAX_LISTED`` each, saying how many were left out)
and the whole message is trimmed further should it still not fit. The HITL body is Markdown (the UI
renders it) and lists fewer rows, pointing at the task log and the SNS message for the rest.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from dr_adapters.adapters.manual_step import is_manual_step, manual_step_config
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.plan.model import Plan, WorkUnit
from dr_adapters.plan.types import Operation, Phase
from dr_adapters.report.build import first_start
from dr_adapters.report.records import PreflightRecord

MAX_LISTED = 100  # resources per list in one approval_required message (as wave_completed)
MAX_IN_BODY = 40  # rows per table in the HITL body: a page a person reads at 3 a.m.
SNS_LIMIT = 256 * 1024
MESSAGE_BUDGET = 240 * 1024  # room left for the rest of the message and its JSON indentation


def next_units(plan: Plan, units: list[tuple[WorkUnit, int | None]], phases: list[Phase]) -> list[dict[str, Any]]:
    """What the factory hands a gate about what follows it: each unit that acts in one of ``phases``
    (DAG shape: the plan's phases only), compact -- its id, action, account, resources, wave and phases.
    The gate narrows it to the phases its run selected."""
    out = []
    for unit, wave in units:
        if is_manual_step(unit.action):
            placed = manual_step_config(unit.resources[0]).phase
            acts = [p.value for p in phases if p.value == placed]
        else:
            acts = [p.value for p in phases if p in plan.phases and adapter_for(unit.action).acts_in(unit, p)]
        if acts:
            out.append({"unit_id": unit.unit_id, "action": unit.action, "account_id": unit.account_id,
                        "resource_ids": unit.resource_ids, "phases": acts,
                        **({"wave": wave} if wave is not None else {})})
    return out


def _phase_region(plan: Plan, operation: Operation, phase: str) -> str:
    """Where a phase acts: the prewarm and the switch in the region moved to; cleanup in the one left;
    replicate from the new region back into the old one."""
    target, source = plan.regions.target(operation), plan.regions.source(operation)
    return {"CLEANUP": source, "REPLICATE": f"{target} -> {source}"}.get(phase, target)


def _calls(action: str, phase: str) -> str:
    if is_manual_step(action):
        return "a person performs the runbook step and confirms it (no AWS call from the run)"
    return adapter_for(action).phase_summaries.get(Phase(phase), "") or "-"


def planned_changes(plan: Plan, operation: Operation, selected: list[str], units: list[dict[str, Any]]) -> dict[str, Any]:
    """What the next step will change, from the plan: its resources (id, action, account, region) and, per
    phase of ``selected`` it runs, the calls each technology makes (one line per action)."""
    hub = f"hub ({plan.hub_account_id})" if plan.hub_account_id else "hub"
    phases = [p for p in ("INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE") if p in selected]
    resources, by_phase = [], {p: {} for p in phases}
    for unit in units:
        acting = [p for p in unit["phases"] if p in phases]
        if not acting:
            continue
        for rid in unit["resource_ids"]:
            resources.append({"resource_id": rid, "action": unit["action"], "account": unit["account_id"] or hub,
                              "region": _phase_region(plan, operation, acting[0]), "phases": acting})
        for p in acting:
            entry = by_phase[p].setdefault(unit["action"], {"action": unit["action"], "resources": 0,
                                                            "calls": _calls(unit["action"], p)})
            entry["resources"] += len(unit["resource_ids"])
    return {
        "resources": resources[:MAX_LISTED],
        **({"resources_not_listed": len(resources) - MAX_LISTED} if len(resources) > MAX_LISTED else {}),
        "resource_count": len(resources),
        "phases": [{"phase": p, "region": _phase_region(plan, operation, p), "by_action": list(by_phase[p].values())}
                   for p in phases if by_phase[p]],
    }


def prewarm_readiness(wave: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """A wave's resources as its prewarm (INSTANTIATE and the runbook steps placed there) left them, for
    the gate before its ACTIVATE: each resource's unit outcome, the calls it made and its last note."""
    resources = []
    for r in records:
        if "title" in r:  # a manual step: the person's answer
            resources.append({"resource_id": r.get("unit_id"), "status": str(r.get("decision") or "?").upper(),
                              "note": f"{r.get('title')} (by {r.get('responded_by') or '?'})"})
            continue
        status = {"succeeded": "PREWARMED", "failed": "FAILED"}.get(r.get("outcome") or "", str(r.get("outcome")).upper())
        notes = r.get("notes") or []
        for rid in r.get("resource_ids") or []:
            resources.append({"resource_id": rid, "status": status, "calls_made": len(r.get("changes") or []),
                              "note": notes[-1] if notes else ""})
    order = {"FAILED": 0}
    resources.sort(key=lambda x: order.get(x["status"], 1))
    statuses: dict[str, int] = {}
    for x in resources:
        statuses[x["status"]] = statuses.get(x["status"], 0) + 1
    return {
        "wave": wave["number"], "layer_id": wave["layer_id"], "counts": statuses,
        "resources": resources[:MAX_LISTED],
        **({"resources_not_listed": len(resources) - MAX_LISTED} if len(resources) > MAX_LISTED else {}),
    }


def elapsed_against_rto(plan: Plan, context: Any, at: datetime | None = None) -> dict[str, Any]:
    """Time since the run first started (as the report measures RTO: preflight's record and its earlier
    tries, the run's start_date) against ``slaTargets.rto``."""
    saved = context["ti"].xcom_pull(task_ids="preflight", key="record")
    started_date = getattr(context["dag_run"], "start_date", None)
    tried = [PreflightRecord.from_dict(saved)] if saved else []
    started = first_start(started_date.isoformat() if started_date else None, tried)
    if not started:
        return {"text": "run start unknown"}
    at = at or datetime.now(timezone.utc)
    minutes = max(0.0, (at - datetime.fromisoformat(started)).total_seconds() / 60)
    out: dict[str, Any] = {"started_at": started, "elapsed_minutes": round(minutes, 1),
                           "rto_target_minutes": plan.rto_minutes}
    if plan.rto_minutes:
        out["percent_of_rto"] = round(100 * minutes / plan.rto_minutes)
        out["text"] = (f"{minutes:.1f} min elapsed of a {plan.rto_minutes} min RTO target "
                       f"({out['percent_of_rto']} %)")
        if minutes > plan.rto_minutes:
            out["text"] += " -- the RTO target is already exceeded"
    else:
        out["text"] = f"{minutes:.1f} min elapsed (no RTO target: slaTargets.rto is not set)"
    return out


def fit_message(details: dict[str, Any], budget: int = MESSAGE_BUDGET) -> dict[str, Any]:
    """Halve the longest resource lists until the message fits an SNS message, counting what was left out."""
    def size() -> int:
        return len(json.dumps(details, indent=2, default=str).encode())

    while size() > budget:
        sections = [s for s in details.values() if isinstance(s, dict) and len(s.get("resources") or []) > 1]
        if not sections:
            break
        section = max(sections, key=lambda s: len(json.dumps(s["resources"], default=str)))
        keep = len(section["resources"]) // 2
        section["resources_not_listed"] = section.get("resources_not_listed", 0) + len(section["resources"]) - keep
        section["resources"] = section["resources"][:keep]
    return details


def _cell(value: Any) -> str:
    return str(value if value not in (None, "") else "-").replace("|", "/").replace("\n", " ")[:160]


def _table(headers: list[str], rows: list[list[Any]], left_out: int) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:MAX_IN_BODY]]
    more = left_out + max(0, len(rows) - MAX_IN_BODY)
    if more:
        lines.append(f"\n*... and {more} more (the task log and the approval_required notification list up to "
                     f"{MAX_LISTED}; the report lists every one).*")
    return lines


def render_body(evidence: dict[str, Any], next_step: str, choices: str) -> str:
    """The HITL request's body (Markdown): the evidence, then what each answer does."""
    lines: list[str] = []
    if time := evidence.get("time"):
        lines += [f"**Time:** {time['text']}.", ""]
    if validated := evidence.get("validated"):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(validated.get("counts", {}).items()))
        lines += [f"### Wave {validated['wave']} ({validated['layer_id']}) validated: {validated['health']}",
                  f"{counts or 'no resource validated'}" + (
                      f"; failed units: {', '.join(validated['failed_units'])}" if validated.get("failed_units") else ""),
                  ""]
        rows = [[r["resource_id"], r["status"], r.get("reason")] for r in validated.get("resources", [])]
        if rows:
            lines += _table(["resource", "health", "why"], rows, validated.get("resources_not_listed", 0)) + [""]
        for step in validated.get("manual_steps") or []:
            lines.append(f"- runbook step *{_cell(step['title'])}*: {step['answer']} by {step.get('by') or '?'}")
        if validated.get("manual_steps"):
            lines.append("")
    if prewarmed := evidence.get("prewarmed"):
        counts = ", ".join(f"{n} {s}" for s, n in sorted(prewarmed.get("counts", {}).items()))
        lines += [f"### Wave {prewarmed['wave']} ({prewarmed['layer_id']}) prewarmed: {counts or 'nothing to prewarm'}",
                  ""]
        rows = [[r["resource_id"], r["status"], r.get("calls_made", "-"), r.get("note")]
                for r in prewarmed.get("resources", [])]
        if rows:
            lines += _table(["resource", "state", "calls made", "last note"], rows,
                            prewarmed.get("resources_not_listed", 0)) + [""]
    if rolled_back := evidence.get("rolled_back"):  # a rollback's gate: how the undo before it went
        counts = ", ".join(f"{n} {s}" for s, n in sorted(rolled_back.get("counts", {}).items()))
        lines += [f"### Wave {rolled_back['wave']} ({rolled_back['layer_id']}) rolled back: "
                  f"{counts or 'no unit undone'}", ""]
    if "next" not in evidence:  # a rollback's gate: no forward change to list (gates.WaveApprovalOperator._evidence)
        lines += ["---", choices]
        return "\n".join(lines)
    change = evidence.get("next") or {}
    lines.append(f"### What {next_step} will change: {change.get('resource_count', 0)} resources")
    for phase in change.get("phases", []):
        lines.append(f"- **{phase['phase']}** in {phase['region']}:")
        lines += [f"  - {a['action']} ({a['resources']}): {a['calls']}" for a in phase["by_action"]]
    rows = [[r["resource_id"], r["action"], r["account"], r["region"], ", ".join(r["phases"])]
            for r in change.get("resources", [])]
    if rows:
        lines += [""] + _table(["resource", "action", "account", "region", "phases"], rows,
                               change.get("resources_not_listed", 0))
    elif not change.get("phases"):
        lines.append("Nothing: no phase of it is selected in this run.")
    lines += ["", "---", choices]
    return "\n".join(lines)
