"""Who may answer a gate, and what Airflow's audit log says about overrides (orchestration.audit), without a
run: allowed respondents from the manifest's approvers less the triggerer, why an answer is refused, and the
audit entries that name who marked a task or the run. The whole runs are in test_who_did_what.py."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dr_adapters.orchestration.audit import (
    allowed_respondents, marked, read_audit_log, refusal, review_run, run_marked_failed,
)
from dr_adapters.report.records import GateRecord, TaskRecord
from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))


def test_allowed_respondents_are_the_approvers_less_the_triggerer(plan):
    assert allowed_respondents(plan, "alice") is None  # no approvers: whoever Airflow lets answer
    named = replace(plan, approvers=("alice", "bob"))
    assert allowed_respondents(named, "alice") == ["alice", "bob"]
    assert allowed_respondents(replace(named, separation_of_duties=True), "alice") == ["bob"]
    assert allowed_respondents(replace(named, separation_of_duties=True), None) == ["alice", "bob"]  # scheduled


def test_why_an_answer_is_refused(plan):
    named = replace(plan, approvers=("alice", "bob"), separation_of_duties=True)
    assert refusal(named, "alice", {"id": "bob", "name": "bob"}) is None
    assert "alice triggered this run and may not approve it" in refusal(named, "alice", {"id": "alice", "name": "alice"})
    assert "mallory is not among the manifest's approvers (bob)" in refusal(named, "alice", {"id": "mallory", "name": "mallory"})
    # an auth manager whose ids are numbers: the approver may be named by either
    assert refusal(replace(named, approvers=("bob", "7")), "alice", {"id": "7", "name": "carol"}) is None
    only_sod = replace(plan, separation_of_duties=True)
    assert refusal(only_sod, "alice", {"id": "carol", "name": "carol"}) is None
    assert refusal(only_sod, "alice", {"id": "alice", "name": "alice"})
    assert refusal(only_sod, None, {"id": "alice", "name": "alice"}) is None  # a scheduled run has no triggerer
    assert refusal(named, "alice", {}) is None  # Airflow's own timeout answer names nobody


ENTRIES = [  # as GET /api/v2/eventLogs lists them (oldest first)
    {"event": "patch_task_instance", "owner": "bob", "task_id": "approve_wave_3", "when": "2026-11-29T10:00:00Z",
     "extra": json.dumps({"new_state": "success", "method": "PATCH"})},
    {"event": "patch_task_instance_dry_run", "owner": "eve", "task_id": "approve_wave_3",
     "when": "2026-11-29T10:00:01Z", "extra": json.dumps({"new_state": "success"})},
    {"event": "patch_dag_run", "owner": "carol", "task_id": None, "when": "2026-11-29T10:05:00Z",
     "extra": json.dumps({"state": "failed", "method": "PATCH"})},
]


def test_the_audit_log_names_who_marked_a_gate_and_who_cancelled(plan):
    assert marked(ENTRIES, "approve_wave_3", "success") == {"by": "bob", "at": "2026-11-29T10:00:00Z"}
    assert marked(ENTRIES, "approve_wave_3", "failed") is None and marked(ENTRIES, "approve_wave_2", "success") is None
    assert run_marked_failed(ENTRIES) == {"by": "carol", "at": "2026-11-29T10:05:00Z"}
    assert run_marked_failed(ENTRIES[:2]) is None


def test_without_an_api_connection_the_report_says_how_to_find_out(monkeypatch):
    monkeypatch.setenv("DR_AIRFLOW_API_CONN_ID", "no_such_connection_here")
    entries, problem = read_audit_log("dr_acme_production", "run-1")
    assert entries is None
    assert "'no_such_connection_here'" in problem
    assert "GET /api/v2/eventLogs?dag_id=dr_acme_production&run_id=run-1" in problem


def test_a_run_with_nothing_overridden_does_not_ask_the_audit_log():
    gates = [GateRecord(task="approve_wave_2", decision="approved", responded_by="alice")]
    records = [TaskRecord(task="wave_1.activate", unit_id="u", outcome="succeeded")]
    review = review_run("dr_x", "r", {("wave_1.activate", 0): "success", ("approve_wave_2", -1): "success"},
                        {"wave_1.activate": "success", "approve_wave_2": "success"}, records, gates, [],
                        phase_tasks=["wave_1.activate"], never_started=[])
    assert review.cancelled is None and review.audit_problem is None


def test_a_cancel_is_found_from_the_tasks_it_stopped_and_skipped(monkeypatch):
    monkeypatch.setenv("DR_AIRFLOW_API_CONN_ID", "no_such_connection_here")
    gate = GateRecord(task="approve_cleanup", decision="waiting", requested_at="2026-11-29T10:00:00+00:00")
    records = [TaskRecord(task="wave_2.activate", unit_id="u1", outcome="waiting"),
               TaskRecord(task="wave_2.activate", unit_id="u2", outcome="succeeded")]
    by_instance = {("wave_2.activate", 0): "failed", ("wave_2.activate", 1): "success",
                   ("approve_cleanup", -1): "failed", ("cleanup", 0): "skipped"}
    review = review_run("dr_x", "r", by_instance, {"wave_2.activate": "failed", "approve_cleanup": "failed"},
                        records, [gate], [], phase_tasks=["wave_2.activate", "cleanup"], never_started=["cleanup"])
    assert review.cancelled == {"by": None, "at": None, "stopped": ["approve_cleanup", "wave_2.activate"],
                                "not_run": ["cleanup"]}
    assert "no_such_connection_here" in review.audit_problem
    assert gate.decision == "stopped (the run was cancelled)" and gate.error


def test_a_cancel_undone_by_a_clear_is_not_this_runs_end(monkeypatch):
    """Marked failed, then cleared and resumed: the cancel is in the audit log, before the run's (re)start."""
    from dr_adapters.orchestration import audit

    monkeypatch.setattr(audit, "read_audit_log", lambda dag_id, run_id: (ENTRIES, None))  # as GET /eventLogs gave
    gate = GateRecord(task="approve_wave_2", decision="waiting")
    review_args = ("dr_x", "r", {("approve_wave_2", -1): "success"}, {"approve_wave_2": "success"}, [], [gate], [])
    later = review_run(*review_args, phase_tasks=[], never_started=[], since="2026-11-29T10:06:00+00:00")
    assert later.cancelled is None and gate.responded_by is None  # and no mark of approve_wave_2
    earlier = review_run(*review_args, phase_tasks=[], never_started=[], since="2026-11-29T09:00:00+00:00")
    assert earlier.cancelled["by"] == "carol"
