"""What an approver is shown at a gate, without a run (orchestration.evidence): what the next step will
change, derived from the plan; a wave's prewarm; time against the RTO; the message capped to fit SNS;
the HITL body. On whole runs (the SNS message and the HITL request a gate really opens), in
test_gate_evidence_runs.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from awssim.synthetic import synthetic_manifest

from dr_adapters.orchestration.alerts import wave_health
from dr_adapters.orchestration.evidence import (MAX_IN_BODY, MAX_LISTED, SNS_LIMIT, elapsed_against_rto, fit_message,
                                                next_units, planned_changes, prewarm_readiness, render_body)
from dr_adapters.plan.types import Operation, Phase
from dr_adapters.sources.manifest import Manifest
from dr_adapters.sources.planner import build_plan

ALL = ["INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"]


def synthetic_plan(resources: int = 60, waves: int = 3, **changes):
    data = synthetic_manifest("c0042", resources=resources, waves=waves)
    data.update(changes)
    return build_plan(Manifest.model_validate(data))


def test_what_a_wave_will_change_comes_from_the_plan_with_each_technologys_calls():
    plan = synthetic_plan()
    wave = plan.waves[1]
    units = next_units(plan, [(u, wave.number) for u in wave.units], [Phase.INSTANTIATE, Phase.ACTIVATE])
    change = planned_changes(plan, Operation.FAILOVER, ALL, units)
    assert {r["resource_id"] for r in change["resources"]} == set(wave.resource_ids)
    assert change["resource_count"] == len(wave.resource_ids)
    first = change["resources"][0]
    spec = plan.resources[first["resource_id"]]
    assert first["action"] == spec.action and first["region"] == plan.regions.dr
    assert first["account"] == (spec.account_id or f"hub ({plan.hub_account_id})")
    by_phase = {p["phase"]: p for p in change["phases"]}
    assert by_phase["ACTIVATE"]["region"] == plan.regions.dr
    from dr_adapters.adapters.registry import adapter_for

    for entry in by_phase["ACTIVATE"]["by_action"]:  # the adapters' own words, as the README's actions table
        assert entry["calls"] == adapter_for(entry["action"]).phase_summaries[Phase.ACTIVATE]
    assert sum(e["resources"] for e in by_phase["ACTIVATE"]["by_action"]) == sum(
        len(u["resource_ids"]) for u in units if "ACTIVATE" in u["phases"])
    # an emergency run ([ACTIVATE]) does not prewarm: the INSTANTIATE calls are not announced
    emergency = planned_changes(plan, Operation.FAILOVER, ["ACTIVATE"], units)
    assert [p["phase"] for p in emergency["phases"]] == ["ACTIVATE"]
    # a failback moves the other way; the cleanup acts in the region left
    assert planned_changes(plan, Operation.FAILBACK, ALL, units)["resources"][0]["region"] == plan.regions.primary
    everything = next_units(plan, [(u, w.number) for w in plan.waves for u in w.units], [Phase.CLEANUP, Phase.REPLICATE])
    after = {p["phase"]: p["region"] for p in planned_changes(plan, Operation.FAILOVER, ALL, everything)["phases"]}
    assert after["CLEANUP"] == plan.regions.primary
    assert after.get("REPLICATE", f"{plan.regions.dr} -> {plan.regions.primary}") == (
        f"{plan.regions.dr} -> {plan.regions.primary}")


def test_a_prewarmed_wave_shows_each_resource_as_its_instantiate_left_it():
    records = [
        {"task": "wave_2.instantiate", "phase": "INSTANTIATE", "unit_id": "drs-hub-batch1", "outcome": "succeeded",
         "resource_ids": ["web-1", "web-2"], "changes": [{"operation": "StartRecovery"}],
         "notes": ["recovery job drsjob-1 launched 2 servers"]},
        {"task": "wave_2.instantiate", "phase": "INSTANTIATE", "unit_id": "orders-api", "outcome": "failed",
         "resource_ids": ["orders-api"], "changes": [], "notes": []},
        {"task": "wave_2.manual_warm", "phase": "INSTANTIATE", "unit_id": "warm-cache", "title": "Cache warmed",
         "decision": "confirmed", "responded_by": "dana", "outcome": "succeeded"},
    ]
    ready = prewarm_readiness({"number": 2, "layer_id": "app"}, records)
    assert ready["counts"] == {"PREWARMED": 2, "FAILED": 1, "CONFIRMED": 1}
    assert ready["resources"][0] == {"resource_id": "orders-api", "status": "FAILED", "calls_made": 0, "note": ""}
    web = next(r for r in ready["resources"] if r["resource_id"] == "web-1")
    assert web["calls_made"] == 1 and "drsjob-1" in web["note"]


def context_started(minutes_ago: float, preflight_first_try_minutes_ago: float | None = None):
    at = datetime.now(timezone.utc)
    record = None
    if preflight_first_try_minutes_ago is not None:  # a cleared run: preflight's first try saw the first start
        first = (at - timedelta(minutes=preflight_first_try_minutes_ago)).isoformat()
        record = {"task": "preflight", "started_at": (at - timedelta(minutes=minutes_ago)).isoformat(),
                  "earlier_tries": [{"task": "preflight", "started_at": first, "run_start_date": first}]}
    ti = SimpleNamespace(xcom_pull=lambda task_ids, key: record if (task_ids, key) == ("preflight", "record") else None)
    return {"ti": ti, "dag_run": SimpleNamespace(start_date=at - timedelta(minutes=minutes_ago))}, at


def test_time_so_far_against_the_rto_target_from_the_runs_first_start():
    plan = synthetic_plan(slaTargets={"rto": 60})
    context, at = context_started(23.4)
    time = elapsed_against_rto(plan, context, at)
    assert time["text"] == "23.4 min elapsed of a 60 min RTO target (39 %)"
    assert (time["elapsed_minutes"], time["rto_target_minutes"], time["percent_of_rto"]) == (23.4, 60, 39)
    # cleared after a failure: measured from the first start, as the report measures RTO
    context, at = context_started(5, preflight_first_try_minutes_ago=75)
    late = elapsed_against_rto(plan, context, at)
    assert late["percent_of_rto"] == 125 and "already exceeded" in late["text"]
    context, at = context_started(12)
    assert elapsed_against_rto(synthetic_plan(slaTargets={}), context, at)["text"] == (
        "12.0 min elapsed (no RTO target: slaTargets.rto is not set)")


def large_evidence(resources: int = 1500):
    """A wave of ``resources`` validated with long reasons, then one as large to change."""
    plan = synthetic_plan(resources=resources * 2, waves=2)
    validated = [{"task": "wave_1.validate", "phase": "VALIDATE", "unit_id": f"u{i}", "outcome": "succeeded",
                  "health": [{"resource_id": f"c0042-server-{i}", "status": "UNHEALTHY" if i % 500 == 7 else "HEALTHY",
                              "reason": "x" * 900}]} for i in range(resources)]
    wave = plan.waves[1]
    units = next_units(plan, [(u, wave.number) for u in wave.units], [Phase.INSTANTIATE, Phase.ACTIVATE])
    return plan, {"validated": {"wave": 1, "layer_id": "wave-1", **wave_health(validated)},
                  "next": planned_changes(plan, Operation.FAILOVER, ALL, units),
                  "time": {"text": "1.0 min elapsed of a 240 min RTO target (0 %)"}}


def test_a_huge_estates_approval_message_fits_sns_worst_health_first_saying_what_was_left_out():
    plan, evidence = large_evidence()
    message = fit_message({"event": "approval_required", "run_id": "r", **evidence})
    size = len(json.dumps(message, indent=2, default=str).encode())
    assert size < SNS_LIMIT
    shown = message["validated"]
    assert [r["status"] for r in shown["resources"][:3]] == ["UNHEALTHY"] * 3  # the worst first
    assert len(shown["resources"]) + shown["resources_not_listed"] == 1500
    assert len(shown["resources"]) <= MAX_LISTED
    change = message["next"]
    assert len(change["resources"]) + change.get("resources_not_listed", 0) == change["resource_count"]
    assert change["resource_count"] == len(plan.waves[1].resource_ids)
    # a tighter budget halves the longest list until it fits, counting what it drops
    tight = fit_message(json.loads(json.dumps(message)), budget=20_000)
    assert len(json.dumps(tight, indent=2).encode()) <= 20_000
    assert len(tight["validated"]["resources"]) + tight["validated"]["resources_not_listed"] == 1500


def test_the_hitl_body_is_markdown_a_person_reads():
    plan, evidence = large_evidence(200)
    body = render_body(evidence, "wave 2 (wave-2)", "Approve to start wave 2 (wave-2); Reject to stop.")
    assert body.startswith("**Time:** 1.0 min elapsed of a 240 min RTO target (0 %).")
    assert "### Wave 1 (wave-1) validated: UNHEALTHY" in body and "| resource | health | why |" in body
    assert body.count("| UNHEALTHY |") == 1  # the one unhealthy resource, in the first row
    assert f"### What wave 2 (wave-2) will change: {evidence['next']['resource_count']} resources" in body
    assert "- **ACTIVATE** in " + plan.regions.dr in body
    rows = [line for line in body.splitlines() if line.startswith("| c0042-")]
    assert len(rows) <= 2 * MAX_IN_BODY and "more (the task log and the approval_required notification" in body
    assert body.rstrip().endswith("Reject to stop.")
    assert len(body) < 64 * 1024
