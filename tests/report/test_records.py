"""Typed task / gate / preflight records: the XCom contract between the tasks and the report.

Records cross XCom as dicts; these tests hold the types to the dicts the operators wrote before the
records were typed (so a record left by an older version still loads), and the report built from
them to the report the string-keyed code built (``golden_reports.json``, captured from that code).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dr_adapters.plan.model import plan_from_dict
from dr_adapters.report.build import build_report
from dr_adapters.report.records import GateRecord, PreflightRecord, TaskRecord

GOLDEN = Path(__file__).with_name("golden_reports.json")
T0 = "2026-03-01T08:00:00+00:00"


def at(minutes: float) -> str:
    return (datetime.fromisoformat(T0) + timedelta(minutes=minutes)).isoformat()


PLAN = {
    "dag_id": "dr_acme_production",
    "manifest_id": "acme-production",
    "scope": {"customer": "acme", "environment": "production"},
    "regions": {"primary": "us-east-1", "dr": "us-west-2"},
    "accounts": [{"account_id": "222222222222", "role_arn": "arn:aws:iam::222222222222:role/dr", "external_id": "x"}],
    "phases": ["INSTANTIATE", "ACTIVATE", "CLEANUP", "REPLICATE"],
    "approval_required": True,
    "waves": [{"number": 1, "layer_id": "database-tier", "steps": []},
              {"number": 2, "layer_id": "app-tier", "steps": []},
              {"number": 3, "layer_id": "dns-tier", "steps": []}],
    "rto_minutes": 30,
}


# Records exactly as the operators pushed them before they were typed.

def phase(task: str, phase: str, wave: int | None, unit: str, start: float, end: float | None,
          outcome: str = "succeeded", changes: int = 1, account_id: str | None = None, **more: Any) -> dict[str, Any]:
    record = {"task": task, "phase": phase, "wave": wave, "unit_id": unit, "action": "AuroraMySQL",
              "account_id": account_id, "resource_ids": [unit, f"{unit}-2"], "started_at": at(start),
              "changes": [{"call": "rds.failover_global_cluster", "region": "us-west-2", "dry_run": False}] * changes,
              "notes": [f"{unit}: done"], "rounds": 2}
    if end is not None:
        record.update(ended_at=at(end))
    record.update(outcome=outcome, **more)
    return record


def validate(task: str, wave: int, unit: str, start: float, end: float, statuses: list[str], **more: Any) -> dict[str, Any]:
    health = [{"resource_id": f"{unit}-{i}", "status": s, "reason": f"{s.lower()} reason"} for i, s in enumerate(statuses)]
    record = {"task": task, "phase": "VALIDATE", "wave": wave, "unit_id": unit, "action": "AuroraMySQL",
              "account_id": None, "resource_ids": [unit], "started_at": at(start), "ended_at": at(end),
              "health": health, "outcome": "failed" if "UNHEALTHY" in statuses else "succeeded"}
    record.update(more)
    return record


def preflight(problems: int) -> dict[str, Any]:
    findings = [{"resource_id": f"r{i}", "ok": i >= problems, "message": f"message {i}"} for i in range(3)]
    return {"task": "preflight", "started_at": at(0), "operation": "failover", "dry_run": False, "waves": [1, 2, 3],
            "ended_at": at(0.5), "findings": findings, "problems": [f for f in findings if not f["ok"]],
            "outcome": "failed" if problems else "succeeded"}


def succeeded_run() -> dict[str, Any]:
    records = [
        phase("wave_1.instantiate", "INSTANTIATE", 1, "orders-db", 1, 4, changes=2),
        phase("wave_1.activate", "ACTIVATE", 1, "orders-db", 4, 9),
        validate("wave_1.validate", 1, "orders-db", 9, 10, ["HEALTHY", "HEALTHY"]),
        phase("wave_2.instantiate", "INSTANTIATE", 2, "orders-api", 15, 18, account_id="222222222222"),
        phase("wave_2.activate", "ACTIVATE", 2, "orders-api", 18, 21.25, account_id="222222222222"),
        validate("wave_2.validate", 2, "orders-api", 21.25, 22, ["HEALTHY", "DEGRADED"]),
        phase("wave_3.activate", "ACTIVATE", 3, "www-dns", 31, 32),
        {"task": "wave_3.validate", "phase": "VALIDATE", "wave": 3, "unit_id": "www-dns", "action": "Route53",
         "account_id": None, "resource_ids": ["www-dns"], "started_at": at(32), "ended_at": at(32.1),
         "outcome": "succeeded", "health": [], "notes": ["dry run: nothing was activated to validate"]},
        phase("cleanup", "CLEANUP", None, "orders-db", 40, 44, changes=3),
        phase("replicate", "REPLICATE", None, "orders-db", 44, 50),
    ]
    gates = [
        {"task": "approve_wave_2", "next_step": "wave 2", "requested_at": at(10.5), "decision": "approved",
         "responded_at": at(14), "responded_by": "alice", "overdue_alerts": [at(12.5)]},
        # Marked success while it waited: no answer recorded, the next task's start stands in for it.
        {"task": "approve_wave_3", "next_step": "wave 3", "requested_at": at(23), "decision": "waiting"},
        {"task": "approve_cleanup", "next_step": "cleanup", "requested_at": at(33), "decision": "automatic",
         "responded_at": at(33), "note": "approval not needed (operation=failover, approval automatic)"},
        # Marked success before it ran: the report task adds this one itself.
        {"task": "approve_replicate", "decision": "marked success (manual override)", "requested_at": None},
    ]
    return {"preflight": preflight(0), "records": records, "gates": gates, "failed_tasks": []}


def failed_run() -> dict[str, Any]:
    records = [
        phase("wave_1.activate", "ACTIVATE", 1, "orders-db", 1, 3, outcome="failed", error="failover timed out"),
        validate("wave_1.validate", 1, "billing-db", 3, 4, ["HEALTHY", "UNHEALTHY"], error="billing-db-1 UNHEALTHY: x"),
        phase("wave_2.instantiate", "INSTANTIATE", 2, "orders-api", 5, None, outcome="waiting", changes=0),
    ]
    gates = [
        {"task": "approve_wave_3", "next_step": "wave 3", "requested_at": at(20), "decision": "waiting"},
        {"task": "approve_wave_2", "next_step": "wave 2", "requested_at": at(4.5), "decision": "rejected",
         "responded_at": at(6), "responded_by": "carol"},
        {"task": "approve_cleanup", "next_step": "cleanup", "requested_at": at(21), "decision": "timed out",
         "responded_at": at(22), "responded_by": None, "error": "no answer in time"},
    ]
    return {"preflight": preflight(2), "records": records, "gates": gates,
            "failed_tasks": ["approve_wave_2", "wave_1.activate"]}


SCENARIOS = {"succeeded": succeeded_run, "failed": failed_run}


def typed_report(inputs: dict[str, Any]) -> dict[str, Any]:
    return build_report(
        plan_from_dict(PLAN), run_id="manual__2026-03-01", operation="failover", dry_run=False, run_started_at=T0,
        preflight=PreflightRecord.from_dict(inputs["preflight"]) if inputs["preflight"] else None,
        records=[TaskRecord.from_dict(r) for r in inputs["records"]],
        gates=[GateRecord.from_dict(g) for g in inputs["gates"]],
        failed_tasks=inputs["failed_tasks"], ended_at=at(60),
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_report_is_unchanged_by_typed_records(name):
    expected = json.loads(GOLDEN.read_text())[name]
    report = typed_report(SCENARIOS[name]())
    # Added since the golden files were made (the regional-outage issue): every resource and its state.
    # Also added since, and written into the golden files with the rest checked unchanged: rto.from/to
    # and earlier_attempts (RTO from the run's first start across retries and clears, issue 9).
    resources = report.pop("resources")
    assert {r["resource_id"] for r in resources} == set(plan_from_dict(PLAN).resources)
    assert all(r["state"] for r in resources)  # (this plan header names no resources; see test_report.py)
    assert report == expected
    # Written as JSON to S3 or disk: byte for byte the same, key order included.
    assert json.dumps(report, indent=2, default=str) == json.dumps(expected, indent=2)


def test_report_without_preflight_record():
    inputs = {**succeeded_run(), "preflight": None}
    assert typed_report(inputs)["preflight"] == {"outcome": "not run", "checks": 0}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_dicts_as_pushed_before_round_trip_unchanged(name):
    inputs = SCENARIOS[name]()
    assert PreflightRecord.from_dict(inputs["preflight"]).to_dict() == inputs["preflight"]
    for r in inputs["records"]:
        assert TaskRecord.from_dict(r).to_dict() == r
    for g in inputs["gates"]:
        # An unset optional field is left out rather than written as null.
        assert GateRecord.from_dict(g).to_dict() == {k: v for k, v in g.items() if v is not None or k == "task"}


def test_task_record_round_trip():
    record = TaskRecord(task="wave_1.activate", phase="ACTIVATE", wave=1, unit_id="u", action="DRS",
                        account_id="222222222222", resource_ids=["a", "b"], started_at=at(0), changes=[{"call": "x"}],
                        notes=["n"], rounds=3, ended_at=at(1), outcome="failed", error="boom",
                        health=[{"resource_id": "a", "status": "HEALTHY", "reason": "ok"}])
    data = record.to_dict()
    assert json.loads(json.dumps(data)) == data  # JSON-safe
    assert TaskRecord.from_dict(data) == record


def test_preflight_record_round_trip():
    problem = {"resource_id": "orders-db", "ok": False, "message": "not replicating"}
    record = PreflightRecord(task="preflight", started_at=at(0), operation="drill", dry_run=True, waves=[1, 3],
                             ended_at=at(1), findings=[problem, {"resource_id": "x", "ok": True, "message": "ok"}],
                             problems=[problem], outcome="failed")
    data = record.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert PreflightRecord.from_dict(data) == record


def test_gate_record_round_trip():
    record = GateRecord(task="approve_wave_2", next_step="wave 2", requested_at=at(0), decision="approved",
                        responded_at=at(5), responded_by="alice", note="n", overdue_alerts=[at(1), at(3)], error="e")
    data = record.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert GateRecord.from_dict(data) == record


def test_minimal_old_style_dicts_load():
    task = TaskRecord.from_dict({"task": "wave_1.validate", "unit_id": "u", "phase": "VALIDATE"})
    assert (task.wave, task.resource_ids, task.changes, task.health, task.outcome) == (None, [], None, None, None)
    assert task.to_dict() == {"task": "wave_1.validate", "phase": "VALIDATE", "wave": None, "unit_id": "u",
                              "action": None, "account_id": None, "resource_ids": [], "started_at": None}
    gate = GateRecord.from_dict({"task": "approve_wave_2"})
    assert (gate.decision, gate.requested_at, gate.overdue_alerts) == (None, None, None)
    assert gate.to_dict() == {"task": "approve_wave_2"}
    pre = PreflightRecord.from_dict({"task": "preflight", "outcome": "succeeded"})
    assert (pre.findings, pre.problems, pre.operation) == ([], [], None)


def test_unknown_keys_are_ignored_and_lists_are_copied():
    data = {"task": "t", "unit_id": "u", "changes": [], "added_by_a_newer_version": 1}
    record = TaskRecord.from_dict(data)
    record.changes += [{"call": "x"}]
    assert data["changes"] == []  # the dict a record was read from is left alone
    pushed = record.to_dict()
    record.changes.append({"call": "y"})
    assert pushed["changes"] == [{"call": "x"}]  # and so is the dict it wrote
