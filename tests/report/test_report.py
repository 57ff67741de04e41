"""The report from task records: timings per wave and phase, approvals, RTO; written to S3 or a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan
from dr_adapters.report.build import build_report
from dr_adapters.report.records import GateRecord, TaskRecord
from dr_adapters.report.render import render_text, write_report

ROOT = Path(__file__).resolve().parents[2]
T0 = "2026-01-01T00:00:00+00:00"


def at(minutes: float) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(T0) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def plan():
    return build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))


def record(task, phase, wave, start, end, outcome="succeeded", **extra):
    return {"task": task, "phase": phase, "wave": wave, "unit_id": task, "resource_ids": [task],
            "started_at": at(start), "ended_at": at(end), "outcome": outcome, "changes": [{}], **extra}


def records():
    out = []
    for wave, start in ((1, 1), (2, 20), (3, 40)):
        out += [record(f"w{wave}-a", "ACTIVATE", wave, start, start + 5), record(f"w{wave}-v", "VALIDATE", wave, start + 5, start + 6)]
    return out + [record("c", "CLEANUP", None, 50, 55)]


def report(plan, recs, gates, **kw):
    """Records and gates given as the dicts tasks push to XCom, read back as the report task does."""
    return build_report(plan, run_id="r1", operation="failover", dry_run=False, run_started_at=T0,
                        preflight=kw.get("preflight"), records=[TaskRecord.from_dict(r) for r in recs],
                        gates=[GateRecord.from_dict(g) for g in gates], failed_tasks=kw.get("failed_tasks", []),
                        ended_at=at(60), unplanned_from=kw.get("unplanned_from"))


def test_rto_with_and_without_approval_waits(plan):
    gates = [{"task": "approve_wave_2", "requested_at": at(7), "responded_at": at(19), "decision": "approved", "responded_by": "alice"},
             {"task": "approve_wave_3", "requested_at": at(27), "responded_at": at(39), "decision": "approved", "responded_by": "bob"}]
    rep = report(plan, records(), gates)
    assert rep["outcome"] == "succeeded"
    assert rep["rto"]["measured_minutes"] == 46.0  # run start -> last wave validated
    assert rep["rto"]["measured_minutes_excluding_approvals"] == 22.0
    assert rep["rto"]["met"] is True  # target 240
    assert [(a["by"], a["waited_seconds"]) for a in rep["approvals"]] == [("alice", 720.0), ("bob", 720.0)]
    assert rep["waves"][0]["phases"]["ACTIVATE"]["seconds"] == 300.0
    text = render_text(rep)
    assert "approve_wave_2           approved by alice, waited 720.0s" in text
    assert "measured RTO: 46.00 min (22.00 min without approval waits) vs target 240 min  MET" in text


def test_failure_is_named_and_rto_not_reached(plan):
    recs = records()
    recs[2] = record("app-01", "ACTIVATE", 2, 20, 25, outcome="failed", error="drs job failed")
    rep = report(plan, recs, [], failed_tasks=["wave_2.activate_1"])
    assert rep["outcome"] == "failed" and rep["rto"]["measured_minutes"] is None
    assert rep["failures"] == [{"task": "app-01", "unit_id": "app-01", "resources": ["app-01"], "error": "drs job failed"}]
    assert "FAILED app-01: drs job failed" in render_text(rep)


def test_rejection_is_the_outcome(plan):
    gates = [{"task": "approve_wave_2", "requested_at": at(7), "responded_at": at(8), "decision": "rejected", "responded_by": "carol"}]
    rep = report(plan, records()[:2], gates, failed_tasks=["approve_wave_2"])
    assert rep["outcome"] == "rejected"
    assert "approve_wave_2           rejected by carol" in render_text(rep)


def test_written_to_s3_when_the_manifest_names_a_bucket(aws, plan):
    s3 = aws.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="acme-dr-reports")
    rep = report(plan, records(), [])
    where = write_report(rep, render_text(rep), buckets=[("acme-dr-reports", s3)], prefix="dr")
    assert where == "s3://acme-dr-reports/dr/dr_acme_production/r1"
    body = json.loads(s3.get_object(Bucket="acme-dr-reports", Key="dr/dr_acme_production/r1.json")["Body"].read())
    assert body["outcome"] == "succeeded"
    assert b"measured RTO" in s3.get_object(Bucket="acme-dr-reports", Key="dr/dr_acme_production/r1.txt")["Body"].read()


def test_written_to_a_local_folder_otherwise(plan, tmp_path, monkeypatch):
    monkeypatch.setenv("DR_REPORT_DIR", str(tmp_path))
    rep = report(plan, records(), [])
    where = Path(write_report(rep, render_text(rep), buckets=[], prefix="dr"))
    assert where == tmp_path / "dr_acme_production" / "r1"
    assert json.loads((where / "report.json").read_text())["rto"]["met"] is True


def test_a_dark_bucket_region_falls_back_and_a_local_copy_is_always_kept(aws, plan, tmp_path, monkeypatch):
    from awssim import outage

    monkeypatch.setenv("DR_REPORT_DIR", str(tmp_path))
    primary, dr = aws.client("s3", region_name="us-east-1"), aws.client("s3", region_name="us-west-2")
    primary.create_bucket(Bucket="acme-dr-reports")
    dr.create_bucket(Bucket="acme-dr-reports-usw2", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    rep = report(plan, records(), [])
    with outage.outage("us-east-1"):
        where = write_report(rep, render_text(rep), prefix="dr",
                             buckets=[("acme-dr-reports", primary), ("acme-dr-reports-usw2", dr)])
    assert where == "s3://acme-dr-reports-usw2/dr/dr_acme_production/r1"
    assert (tmp_path / "dr_acme_production" / "r1" / "report.json").exists()
    with outage.outage("us-east-1", "us-west-2"):  # no bucket answers: the local copy is where it is
        where = write_report(rep, render_text(rep), prefix="dr",
                             buckets=[("acme-dr-reports", primary), ("acme-dr-reports-usw2", dr)])
    assert where == str(tmp_path / "dr_acme_production" / "r1")


def test_an_unplanned_report_names_what_was_deferred_and_the_exposure(plan):
    from dr_adapters.report.records import PreflightRecord

    preflight = PreflightRecord.from_dict({"task": "preflight", "outcome": "succeeded", "findings": [
        {"resource_id": "orders-db", "ok": True, "message": "m", "exposure": "orders-db-usw2: last replication lag 250 ms"}],
        "problems": []})
    rep = report(plan, records(), [], preflight=preflight, unplanned_from="us-east-1")
    assert rep["failover_mode"] == "unplanned"
    assert [(d["phase"], d["region"]) for d in rep["deferred"]] == [("CLEANUP", "us-east-1"), ("REPLICATE", "us-east-1")]
    assert rep["data_loss_exposure"] == [{"resource_id": "orders-db", "exposure": "orders-db-usw2: last replication lag 250 ms"}]
    text = render_text(rep)
    assert "UNPLANNED" in text and "deferred: CLEANUP in us-east-1" in text and "last replication lag 250 ms" in text
