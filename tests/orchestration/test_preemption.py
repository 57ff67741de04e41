"""The guard against overlapping runs (orchestration.preemption): who is guarded, the rule, the keys, the
trigger's serialization, and what the reports say. Whole runs: test_preemption_runs.py, and under a real
``airflow standalone``: tests/e2e/test_standalone.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr_adapters.orchestration import preemption
from dr_adapters.orchestration.preemption import CHANGE, DRILL, decide, run_kind
from dr_adapters.plan.run_request import parse_run_request
from dr_adapters.report.build import build_report
from dr_adapters.report.records import PreflightRecord, TaskRecord
from dr_adapters.report.render import render_text
from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]
CONFIRM = "acme/production"


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))


@pytest.mark.parametrize("conf, kind", [
    ({}, DRILL),  # a scheduled run
    ({"operation": "drill", "direction": "failback"}, DRILL),
    ({"operation": "failover", "confirm": CONFIRM}, CHANGE),
    ({"operation": "failback", "confirm": CONFIRM}, CHANGE),
    ({"operation": "reprotect", "confirm": CONFIRM}, CHANGE),
    ({"operation": "rollback", "confirm": CONFIRM}, CHANGE),  # undoes a change: a drill gives way to it too
    ({"operation": "readiness"}, None),  # reads only: never guarded, never preempted
    ({"operation": "failover", "confirm": CONFIRM, "dry_run": True}, None),
    ({"operation": "drill", "dry_run": True}, None),
])
def test_which_runs_are_guarded(plan, conf, kind):
    assert run_kind(parse_run_request(plan, conf)) == kind


def entry(kind, run_id, operation=None):
    return {"kind": kind, "run_id": run_id, "operation": operation or ("drill" if kind == DRILL else "failover"),
            "registered_at": "2026-11-30T06:00:00+00:00"}


def test_a_change_run_preempts_drills_and_never_overlaps_another_change():
    drill = entry(DRILL, "scheduled__2026-11-30T06:00:00+00:00")
    assert decide(CHANGE, []) == preemption.Admission(CHANGE)
    admitted = decide(CHANGE, [drill])
    assert admitted.refused is None and admitted.preempting == [drill]

    other = entry(CHANGE, "manual__failback", "failback")
    refused = decide(CHANGE, [drill, other])
    assert refused.blocked_by == other and refused.preempting == []
    assert refused.refused.startswith("failback run manual__failback is already changing this estate")
    assert "nothing was changed" in refused.refused


def test_a_drill_gives_way_to_a_change_run_and_to_another_drill():
    failover = entry(CHANGE, "manual__failover")
    gave_way = decide(DRILL, [failover])
    assert gave_way.refused.startswith("preempted by failover run manual__failover") and gave_way.blocked_by == failover
    other = entry(DRILL, "manual__drill")
    assert "one drill at a time" in decide(DRILL, [other]).refused
    assert decide(DRILL, []).refused is None
    assert decide(None, [failover, other]) == preemption.Admission(None)  # readiness, dry runs


def test_keys_fit_a_variable_and_name_the_dag_and_run():
    run_id = "scheduled__2026-11-30T06:00:00+00:00"
    key = preemption.registration_key("dr_acme_production", DRILL, run_id)
    assert key.startswith("dr_run.dr_acme_production.drill.") and key != preemption.registration_key(
        "dr_acme_production", DRILL, run_id + "x")
    assert preemption.preemption_key("dr_acme_production", run_id).startswith("dr_preempt.dr_acme_production.")
    long_dag = "dr_" + "x" * 240
    assert len(preemption.registration_key(long_dag, CHANGE, "r" * 250)) <= 250
    assert len(preemption.preemption_key(long_dag, "r" * 250)) <= 250


def test_the_stand_down_trigger_round_trips():
    trigger = preemption.DrillStandDownTrigger("dr_acme_production", ["a", "b"], "2026-11-30T06:30:00+00:00", 10)
    path, kwargs = trigger.serialize()
    assert path == "dr_adapters.orchestration.preemption.DrillStandDownTrigger"
    assert preemption.DrillStandDownTrigger(**kwargs).serialize() == (path, kwargs)


def report(plan, preflight, records=(), stood_down=None, operation="drill"):
    return build_report(plan, run_id="r1", operation=operation, dry_run=False,
                        run_started_at="2026-11-30T06:00:00+00:00", preflight=preflight, records=list(records),
                        gates=[], failed_tasks=[], ended_at="2026-11-30T06:10:00+00:00", stood_down=stood_down)


def test_a_preempted_drill_reports_for_whom_what_it_stopped_and_what_it_cleaned_up(plan):
    preflight = PreflightRecord(task="preflight", started_at="2026-11-30T06:00:00+00:00", outcome="succeeded",
                                ended_at="2026-11-30T06:00:05+00:00")
    cleanup = TaskRecord(task="cleanup", phase="CLEANUP", unit_id="drs-hub-batch1", action="DRS",
                         resource_ids=["app-01", "app-02"], outcome="succeeded",
                         started_at="2026-11-30T06:05:00+00:00", ended_at="2026-11-30T06:05:09+00:00",
                         changes=[{"call": "drs.terminate_recovery_instances", "region": "us-west-2", "dry_run": False}])
    asked = {"by_run_id": "manual__failover", "by_operation": "failover", "requested_at": "2026-11-30T06:04:00+00:00",
             "stopped": ["wave_2.activate_1", "wave_3.activate"]}
    out = report(plan, preflight, [cleanup], stood_down=asked)
    assert out["outcome"] == "preempted" and out["failures"] == []
    p = out["preempted"]
    assert p["by_run_id"] == "manual__failover" and p["stopped"] == ["wave_2.activate_1", "wave_3.activate"]
    assert p["cleaned_up"] == [{"unit_id": "drs-hub-batch1", "resources": ["app-01", "app-02"], "outcome": "succeeded",
                                "changes": ["drs.terminate_recovery_instances"]}]
    assert p["message"].startswith("preempted by failover run manual__failover: stopped 2 task(s)")
    text = render_text(out)
    assert "PREEMPTED: preempted by failover run manual__failover" in text
    assert "cleaned up drs-hub-batch1 (app-01, app-02): succeeded, drs.terminate_recovery_instances" in text


def test_a_drill_that_did_not_start_says_why(plan):
    failover = entry(CHANGE, "manual__failover")
    preflight = PreflightRecord(task="preflight", outcome="stood down", started_at="2026-11-30T06:00:00+00:00",
                                guard={"stood_down": decide(DRILL, [failover]).refused, "for": failover})
    out = report(plan, preflight)
    assert out["outcome"] == "preempted" and out["preempted"]["before_start"] is True
    assert out["preempted"]["by_run_id"] == "manual__failover" and out["preempted"]["cleaned_up"] == []
    other = entry(DRILL, "manual__drill")
    preflight.guard = {"stood_down": decide(DRILL, [other]).refused, "for": other}
    out = report(plan, preflight)
    assert out["outcome"] == "skipped" and "one drill at a time" in out["stood_down"]
    assert "DID NOT START: drill run manual__drill is already drilling" in render_text(out)


def test_a_failover_reports_the_drill_it_preempted_and_how_long_it_waited(plan):
    drill_run = "scheduled__2026-11-30T06:00:00+00:00"
    preflight = PreflightRecord(
        task="preflight", outcome="succeeded", started_at="2026-11-30T06:04:00+00:00",
        ended_at="2026-11-30T06:06:00+00:00",
        guard={"preempted": [{"run_id": drill_run, "operation": "drill"}], "requested_at": "2026-11-30T06:04:01+00:00",
               "ended_at": "2026-11-30T06:05:31+00:00", "waited_seconds": 90.2, "drill_states": {drill_run: "success"}})
    out = report(plan, preflight, operation="failover")
    (drill,) = out["preempted_drills"]
    assert drill == {"run_id": drill_run, "operation": "drill", "requested_at": "2026-11-30T06:04:01+00:00",
                     "stood_down_at": "2026-11-30T06:05:31+00:00", "waited_seconds": 90.2, "drill_state": "success",
                     "message": f"preempted drill run {drill_run}: waited 90s for it to clean up and finish "
                                "before anything else ran"}
    assert "preempted" not in out
    assert f"preempted drill run {drill_run}: waited 90s" in render_text(out)
