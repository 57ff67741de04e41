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


def test_who_triggered_who_may_approve_and_a_breach_of_separation_of_duties(plan):
    from dataclasses import replace

    strict = replace(plan, approvers=("alice", "bob", "carol"), separation_of_duties=True)
    gates = [{"task": "approve_wave_2", "requested_at": at(7), "responded_at": at(19), "decision": "approved",
              "responded_by": "bob", "allowed_respondents": ["bob", "carol"],
              "refused": [{"by": "mallory", "answer": "Approve", "at": at(8), "why": "mallory is not among the approvers"}]},
             {"task": "approve_wave_3", "requested_at": at(27), "responded_at": at(39), "decision": "waiting",
              "responded_by": "alice"}]  # marked success by alice, who triggered the run (the audit log says)
    rep = build_report(strict, run_id="r1", operation="failover", dry_run=False, run_started_at=T0, preflight=None,
                       records=[TaskRecord.from_dict(r) for r in records()],
                       gates=[GateRecord.from_dict(g) for g in gates], failed_tasks=[], ended_at=at(60),
                       triggered_by={"user": "alice", "run_type": "manual"})
    assert rep["triggered_by"] == {"user": "alice", "run_type": "manual"} and rep["approvers"] == ["alice", "bob", "carol"]
    first, second = rep["approvals"]
    assert first["allowed"] == ["bob", "carol"] and first["refused"][0]["by"] == "mallory"
    assert (second["decision"], second["by"], second["responded_at"]) == ("marked success (manual override)", "alice", at(39))
    assert rep["separation_of_duties"] == {"triggered_by": "alice", "breaches": [
        {"gate": "approve_wave_3", "decision": "marked success (manual override)", "by": "alice"}]}
    text = render_text(rep)
    assert "triggered by: alice (manual run)" in text
    assert "approvers: alice, bob, carol; whoever triggers a failover may not approve it" in text
    assert "refused 'Approve' from mallory" in text
    assert "SEPARATION OF DUTIES BREACHED: approve_wave_3 marked success (manual override) by alice" in text
    # the name every AWS call of the run carries in CloudTrail (SPEC 7); the hub only with a hub role
    assert rep["cloudtrail"]["session_name"] == f"dr-{plan.dag_id}-r1"
    assert rep["cloudtrail"]["spokes"] == [a.role_arn for a in plan.accounts if a.account_id != plan.hub_account_id]
    assert f"AWS calls in CloudTrail: session dr-{plan.dag_id}-r1; hub: the Airflow connection's identity" in text
    hub_role = replace(strict, hub_role_arn="arn:aws:iam::123456789012:role/dr-hub")
    rep = build_report(hub_role, run_id="r1", operation="failover", dry_run=False, run_started_at=T0, preflight=None,
                       records=[], gates=[], failed_tasks=[], ended_at=at(60))
    assert rep["cloudtrail"]["hub"] == "arn:aws:iam::123456789012:role/dr-hub"


def test_a_cancelled_run_says_what_was_stopped_and_what_never_started(plan):
    cancelled = {"by": "carol", "at": at(30), "stopped": ["approve_wave_3"], "not_run": ["wave_3.activate", "cleanup"]}
    gates = [{"task": "approve_wave_3", "requested_at": at(27), "responded_at": at(30), "responded_by": "carol",
              "decision": "stopped (the run was cancelled)"}]
    rep = report(plan, records()[:4], gates, failed_tasks=["approve_wave_3"])
    assert rep["outcome"] == "failed" and "cancelled" not in rep  # the same records, without the cancel
    rep = build_report(plan, run_id="r1", operation="failover", dry_run=False, run_started_at=T0, preflight=None,
                       records=[TaskRecord.from_dict(r) for r in records()[:4]],
                       gates=[GateRecord.from_dict(g) for g in gates], failed_tasks=["approve_wave_3"],
                       ended_at=at(31), cancelled=cancelled, audit_log=None)
    assert rep["outcome"] == "cancelled" and rep["cancelled"] == cancelled
    assert [w["outcome"] for w in rep["waves"]] == ["succeeded", "succeeded", "skipped"]
    text = render_text(rep)
    assert f"CANCELLED by carol at {at(30)}: the run was marked failed" in text
    assert "stopped while running or waiting: approve_wave_3" in text and "never started: wave_3.activate, cleanup" in text
    assert "approve_wave_3           stopped (the run was cancelled) by carol" in text


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


def test_rto_runs_from_the_first_start_across_retries_and_clears(plan):
    """A unit fails (and fails its automatic retry), is fixed and cleared; a gate is rejected, then
    cleared and approved. Airflow reset the run's start_date at the last clear (minute 36): RTO still
    runs from the first try of preflight, every try of every gate is an approval wait, and the
    failed tries are listed with what followed them."""
    from dr_adapters.report.records import PreflightRecord

    def tried(rec, try_number, clears, resumed=None, **more):
        return {**rec, "try_number": try_number, "clear_number": clears, "run_start_date": resumed or T0, **more}

    preflight = PreflightRecord.from_dict(tried({"task": "preflight", "started_at": at(0), "ended_at": at(0.5),
                                                 "outcome": "succeeded", "findings": [], "problems": []}, 1, 0))
    recs = [tried(record("w1-a", "ACTIVATE", 1, 1, 6), 1, 0), tried(record("w1-v", "VALIDATE", 1, 6, 7), 1, 0)]
    error = "app-03: DRS launch of s-1 FAILED in us-west-2"
    first = tried(record("app", "INSTANTIATE", 2, 11, 12, outcome="failed", error=error), 1, 0)
    retry = tried(record("app", "INSTANTIATE", 2, 13, 14, outcome="failed", error=error), 2, 0)
    recs.append(tried(record("app", "INSTANTIATE", 2, 30.1, 33), 3, 1, resumed=at(30), earlier_tries=[first, retry]))
    recs += [tried(record("w2-v", "VALIDATE", 2, 33, 34), 1, 1, at(30)),
             tried(record("w3-a", "ACTIVATE", 3, 38, 39), 1, 2, at(36)), tried(record("w3-v", "VALIDATE", 3, 39, 40), 1, 2, at(36))]
    gate2 = tried({"task": "approve_wave_2", "requested_at": at(7), "responded_at": at(10), "decision": "approved",
                   "responded_by": "alice"}, 1, 0)
    rejected = tried({"task": "approve_wave_3", "requested_at": at(34.5), "responded_at": at(35), "decision": "rejected",
                      "responded_by": "carol"}, 1, 1, at(30))
    gate3 = tried({"task": "approve_wave_3", "requested_at": at(36), "responded_at": at(37), "decision": "approved",
                   "responded_by": "bob"}, 2, 2, at(36), earlier_tries=[rejected])

    rep = build_report(plan, run_id="r1", operation="failover", dry_run=False, run_started_at=at(36),
                       preflight=preflight, records=[TaskRecord.from_dict(r) for r in recs],
                       gates=[GateRecord.from_dict(g) for g in (gate2, gate3)], failed_tasks=[], ended_at=at(45))

    assert rep["outcome"] == "succeeded" and rep["started_at"] == at(0)
    assert (rep["rto"]["from"], rep["rto"]["to"]) == (at(0), at(40))
    assert rep["rto"]["measured_minutes"] == 40.0  # not 4.0, from the reset start_date
    assert rep["rto"]["measured_minutes_excluding_approvals"] == 35.5  # 3 + 0.5 (rejected try) + 1 min of waits
    assert [(a["task"], a["try"], a["outcome"], a["then"]) for a in rep["earlier_attempts"]] == [
        ("app", 1, "failed", "retried by Airflow"), ("app", 2, "failed", "cleared"),
        ("approve_wave_3", 1, "rejected", "cleared")]
    failed, cleared, gate = rep["earlier_attempts"]
    assert (failed["started_at"], failed["ended_at"], failed["error"], failed["next_try_started_at"]) == (
        at(11), at(12), error, at(13))
    assert (cleared["ended_at"], cleared["run_resumed_at"], cleared["next_try_started_at"]) == (at(14), at(30), at(30.1))
    assert (gate["by"], gate["waited_seconds"], gate["run_resumed_at"]) == ("carol", 30.0, at(36))
    text = render_text(rep)
    assert f"started {at(0)} (first start)" in text
    assert "measured RTO: 40.00 min (35.50 min without approval waits)" in text
    assert f"app [app] try 2 failed at {at(14)}: {error}\n      then cleared; the run resumed at {at(30)}" in text
    assert f"approve_wave_3 try 1 rejected by carol at {at(35)} after waiting 30.0s" in text


def test_a_try_airflow_failed_after_it_finished_is_listed_as_retried(plan):
    """Airflow 3.3.1 can fail a deferred task's resumed try after it finished (apache/airflow#72716):
    the task's own record said succeeded, Airflow ran it again; the report keeps both."""
    recs = records()
    first = {**recs[0], "try_number": 1, "clear_number": 0}
    recs[0] = {**recs[0], "started_at": at(2), "try_number": 2, "clear_number": 0, "earlier_tries": [first]}
    rep = report(plan, recs, [])
    assert [(a["task"], a["try"], a["outcome"], a["then"]) for a in rep["earlier_attempts"]] == [
        ("w1-a", 1, "succeeded", "retried by Airflow")]
    assert rep["started_at"] == T0 and rep["rto"]["measured_minutes"] == 46.0
    assert f"then retried by Airflow at {at(2)} (Airflow failed this try after the task had finished" in render_text(rep)


def test_the_quotas_preflight_checked_are_listed_the_most_pressing_first(plan):
    from dr_adapters.report.records import PreflightRecord

    def quota(key, level, needed, in_use, value, account=None, code="L-1216C47A"):
        q = {"key": key, "name": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
             "service_code": "ec2", "quota_code": code, "region": "us-west-2", "account_id": account, "unit": "vCPUs",
             "needed": needed, "resources": ["app-01"], "level": level, "in_use": in_use, "value": value,
             "source": "applied to the account", "percent": round(100 * (needed + in_use) / value, 1)}
        return {"resource_id": f"quota {key}", "kind": "capacity", "ok": level != "CRITICAL", "level": level,
                "message": f"{level}: ...", "quota": q}

    findings = [quota("ec2/L-1216C47A", "OK", 8, 0, 2048, "222222222222"),
                quota("ec2/L-1216C47A", "CRITICAL", 16, 0, 8),
                {"resource_id": "app-01", "ok": True, "message": "CONTINUOUS, lag 5s"}]
    problems = [f for f in findings if not f["ok"]]
    preflight = PreflightRecord(task="preflight", started_at=at(0), ended_at=at(1), outcome="failed",
                                findings=findings, problems=problems)
    rep = report(plan, [], [], preflight=preflight, failed_tasks=["preflight"])
    assert [(q["level"], q["account_id"]) for q in rep["preflight"]["capacity"]] == [
        ("CRITICAL", None), ("OK", "222222222222")]
    assert rep["failures"][0]["resources"] == ["quota ec2/L-1216C47A"]
    text = render_text(rep)
    assert ("  CRITICAL Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (ec2 L-1216C47A), us-west-2 "
            "hub account: 16 needed + 0 in use of 8 vCPUs (200 %)") in text
    assert "us-west-2 account 222222222222: 8 needed + 0 in use of 2048 vCPUs (0 %)" in text
