"""Manual steps in the report: who confirmed what and when, how long they waited, and the RTO without it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dr_adapters.report.build import build_report
from dr_adapters.report.records import GateRecord, ManualStepRecord, TaskRecord
from dr_adapters.report.render import render_text
from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]
T0 = "2026-01-01T00:00:00+00:00"


def at(minutes: float) -> str:
    return (datetime.fromisoformat(T0) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def plan(tmp_path):
    """The demo plan with manual steps in wave 2 (each its own unit, named after the resource)."""
    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    data["layers"][1]["resources"] += [
        {"resourceId": rid, "action": "ManualStep", "config": {"title": rid, "instructions": "x", "phase": phase}}
        for rid, phase in (("call-provider", "ACTIVATE"), ("smoke-test", "VALIDATE"), ("tell-support", "VALIDATE"),
                           ("close-old-vpn", "CLEANUP"))]
    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(data))
    return build_plan(load_manifest(tmp_path / "acme.yaml"))


def phase(task, name, wave, start, end, outcome="succeeded"):
    return TaskRecord(task=task, phase=name, wave=wave, unit_id=task, resource_ids=[task], started_at=at(start),
                      ended_at=at(end), outcome=outcome, changes=[{}])


def waves():
    out = []
    for wave, start in ((1, 1), (2, 20), (3, 40)):
        out += [phase(f"w{wave}-a", "ACTIVATE", wave, start, start + 5), phase(f"w{wave}-v", "VALIDATE", wave, start + 5, start + 6)]
    return out


def manual(task, name, wave, asked, answered, decision="confirmed", by="carol", outcome="succeeded", **more):
    return ManualStepRecord(task=task, phase=name, wave=wave, unit_id=task.split("manual_")[-1],
                            action="ManualStep", resource_ids=[task.split("manual_")[-1]], title=f"Do {task}",
                            started_at=at(asked), ended_at=at(answered) if answered is not None else None,
                            responded_at=at(answered) if answered is not None else None, responded_by=by,
                            decision=decision, outcome=outcome, **more)


def report(plan, records, gates=(), failed_tasks=()):
    return build_report(plan, run_id="r1", operation="failover", dry_run=False, run_started_at=T0, preflight=None,
                        records=records, gates=list(gates), failed_tasks=list(failed_tasks), ended_at=at(60))


def test_who_confirmed_when_and_the_rto_without_the_wait(plan):
    gate = GateRecord(task="approve_wave_2", requested_at=at(7), responded_at=at(19), decision="approved",
                      responded_by="alice")
    steps = [manual("wave_2.manual_call-provider", "ACTIVATE", 2, 25, 33, overdue_alerts=[at(31)]),
             manual("wave_2.manual_smoke-test", "VALIDATE", 2, 34, 35, by="dave"),
             manual("wave_2.manual_tell-support", "VALIDATE", 2, 34, 36, by="erin")]  # side by side: counted once
    rep = report(plan, waves() + steps, [gate])
    assert rep["outcome"] == "succeeded"
    first, second, third = rep["manual_steps"]
    assert first == {"task": "wave_2.manual_call-provider", "resource_id": "call-provider",
                     "title": "Do wave_2.manual_call-provider", "wave": 2, "phase": "ACTIVATE", "direction": "failover",
                     "outcome": "confirmed", "by": "carol", "requested_at": at(25), "responded_at": at(33),
                     "waited_seconds": 480.0, "overdue_alerts": 1, "error": None}
    assert (second["by"], second["waited_seconds"], third["by"], third["waited_seconds"]) == ("dave", 60.0, "erin", 120.0)
    # the steps are the wave's work: its ACTIVATE ends when carol answered
    assert rep["waves"][1]["phases"]["ACTIVATE"]["ended_at"] == at(33)
    assert rep["rto"]["measured_minutes"] == 46.0
    assert rep["rto"]["measured_minutes_excluding_approvals"] == 46.0 - 12 - 8 - 2
    text = render_text(rep)
    assert f"  wave 2 after ACTIVATE    Do wave_2.manual_call-provider: confirmed by carol at {at(33)}, waited 480.0s " \
           "(1 overdue alert(s))" in text
    assert "(24.00 min without approval and manual-step waits)" in text
    states = {r["resource_id"]: r["state"] for r in rep["resources"]}
    assert states["call-provider"] == "ACTIVATE confirmed by carol" and states["smoke-test"] == "VALIDATE confirmed by dave"


def test_a_step_answered_failed_fails_the_run_naming_it(plan):
    failed = manual("wave_2.manual_call-provider", "ACTIVATE", 2, 25, 30, decision="failed", by="erin", outcome="failed",
                    error="manual step 'Call' answered Failed by erin")
    rep = report(plan, waves()[:3] + [failed], failed_tasks=["wave_2.manual_call-provider"])
    assert rep["outcome"] == "failed" and rep["rto"]["measured_minutes"] is None
    assert rep["waves"][1]["outcome"] == "failed"
    assert rep["failures"] == [{"task": "wave_2.manual_call-provider", "unit_id": "call-provider",
                                "resources": ["call-provider"], "error": "manual step 'Call' answered Failed by erin"}]
    assert rep["manual_steps"][0]["outcome"] == "failed" and rep["manual_steps"][0]["by"] == "erin"


def test_marked_success_and_skipped_in_drill(plan):
    marked = manual("wave_2.manual_call-provider", "ACTIVATE", 2, 25, None, decision="marked success (manual override)",
                    by=None)
    skipped = manual("manual_close-old-vpn", "CLEANUP", 3, 50, 50, decision="skipped in drill", by=None)
    rep = report(plan, waves() + [marked, skipped, phase("cleanup", "CLEANUP", None, 50, 55)])
    by_task = {m["task"]: m for m in rep["manual_steps"]}
    # marked success while waiting: no name; answered by the time the run went on (w3 started at 40)
    assert by_task["wave_2.manual_call-provider"]["responded_at"] == at(40)
    assert by_task["wave_2.manual_call-provider"]["waited_seconds"] == 900.0
    assert by_task["manual_close-old-vpn"]["waited_seconds"] == 0.0
    assert rep["after_waves"]["CLEANUP"]["units"][0]["unit_id"] == "close-old-vpn"


def test_no_manual_step_no_section(plan):
    rep = report(plan, waves())
    assert "manual_steps" not in rep and "manual steps:" not in render_text(rep)
    assert "without approval waits" in render_text(rep)


def test_record_round_trip_and_a_plain_task_record_reads_it():
    record = manual("wave_2.manual_x", "VALIDATE", 2, 1, 2, failback=True, overdue_alerts=[at(1.5)])
    data = record.to_dict()
    assert ManualStepRecord.from_dict(data) == record
    assert TaskRecord.from_dict(data).phase == "VALIDATE"  # unknown keys ignored: a TaskRecord all the same
    waiting = ManualStepRecord(task="t", unit_id="u", title="T", decision="waiting").to_dict()
    assert waiting["decision"] == "waiting" and "responded_by" not in waiting
