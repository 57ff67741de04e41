"""Evidence at the gate on whole runs through Airflow (dag.test against the simulator): what the approver
reads in the HITL request (the Required Actions page) and in the ``approval_required`` message an SQS
subscriber of the run's topic gets, and the optional gate before each wave's ACTIVATE
(``approvalBeforeActivate``): the run waits there with nothing of the wave switched (read back from the
simulator), goes on when approved, and a Reject there leaves the wave unswitched.

Two small waves of the demo estate (seeded whole by the ``estate`` fixture): the orders database and its
event function, then the www DNS record.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from awssim.snapshot import serving_roles as roles

from dag_run_helpers import CONFIRM, demo_resource, demo_subset_dag, report_folder, report_of, run
from notifications import events, subscribe_queue

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]
PRIMARY_DNS, DR_DNS = ["web-use1.acme.example."], ["web-usw2.acme.example."]


def build_dag(folder: Path, monkeypatch, **header):
    """Two waves of the demo estate, with ``header`` (approvalBeforeActivate, approvers, ...) added."""
    return demo_subset_dag(folder, monkeypatch, {"data": [demo_resource("orders-db"), demo_resource("order-events")],
                                                 "edge": [demo_resource("www-dns")]}, **header)


def hitl_request(dag_id: str, task_id: str) -> tuple[str, str]:
    """The subject and body of the HITL request a waiting gate opened (what the UI shows under Required Actions)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id,
                                                       TaskInstance.state == TaskInstanceState.AWAITING_INPUT))
        detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
        return detail.subject, detail.body


def test_each_gate_shows_the_waves_health_what_comes_next_and_time_against_the_rto(estate, tmp_path, monkeypatch):
    plan, sessions = estate
    dag = build_dag(tmp_path / "m", monkeypatch, approvalBeforeActivate=True)
    sqs, queue = subscribe_queue(sessions[None], plan.sns_topic_arn, name="dr-events-evidence")
    seen: dict[str, dict] = {}

    def decide(task_id):  # read what the approver is shown, and the estate at that moment, then approve
        if task_id not in seen:
            subject, body = hitl_request(dag.dag_id, task_id)
            seen[task_id] = {"subject": subject, "body": body, "roles": roles(plan, sessions)}
        return "Approve"

    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM}, decide=decide)

    assert str(dag_run.state) == "success", states
    assert list(seen) == ["wave_1.approve_activate", "approve_wave_2", "wave_2.approve_activate", "approve_cleanup"]
    # waiting before wave 1's ACTIVATE: prewarmed, nothing switched -- the database writer and DNS on the primary
    before_1 = seen["wave_1.approve_activate"]["roles"]
    assert before_1["orders-db"]["writer"] == "primary" and before_1["www-dns"] == PRIMARY_DNS
    assert before_1["order-events"]["dr"]["parked"]  # its DR function prewarmed (a version published), still parked
    before_2 = seen["wave_2.approve_activate"]["roles"]
    assert before_2["orders-db"]["writer"] == "dr" and before_2["www-dns"] == PRIMARY_DNS  # wave 1 only
    after = roles(plan, sessions)
    assert after["orders-db"]["writer"] == "dr" and after["www-dns"] == DR_DNS

    sent = {e["gate"]: e for e in events(sqs, queue) if e["event"] == "approval_required"}
    assert list(sent) == list(seen)
    # after wave 1's validation: each resource of it with its health, wave 2's resources and calls, time vs RTO
    gate = sent["approve_wave_2"]
    assert gate["validated"]["wave"] == 1 and gate["validated"]["health"] == "HEALTHY"
    assert {(r["resource_id"], r["status"]) for r in gate["validated"]["resources"]} == {
        ("orders-db", "HEALTHY"), ("order-events", "HEALTHY")}
    hub = f"hub ({plan.hub_account_id})" if plan.hub_account_id else "hub"
    assert gate["next"]["resources"] == [{"resource_id": "www-dns", "action": "R53Record", "account": hub,
                                          "region": plan.regions.dr, "phases": ["ACTIVATE"]}]
    (activate,) = gate["next"]["phases"]
    assert activate["phase"] == "ACTIVATE" and activate["by_action"][0]["calls"].startswith("UPSERT the record")
    time = gate["time"]
    assert time["rto_target_minutes"] == 240 and 0 < time["elapsed_minutes"] < 30
    assert time["text"].endswith(f"of a 240 min RTO target ({time['percent_of_rto']} %)")
    # before wave 1's ACTIVATE: its prewarmed resources, and what ACTIVATE will change (no INSTANTIATE any more)
    first = sent["wave_1.approve_activate"]
    assert "validated" not in first and first["prewarmed"]["wave"] == 1
    assert {r["resource_id"] for r in first["prewarmed"]["resources"]} >= {"order-events"}
    assert {r["status"] for r in first["prewarmed"]["resources"]} == {"PREWARMED"}
    assert {r["resource_id"] for r in first["next"]["resources"]} == {"orders-db", "order-events"}
    assert [p["phase"] for p in first["next"]["phases"]] == ["ACTIVATE"]
    calls = {a["action"]: a["calls"] for a in first["next"]["phases"][0]["by_action"]}
    assert "SwitchoverGlobalCluster" in calls["AuroraMySQL"] and "alias" in calls["LambdaFunction"]
    # the cleanup's gate: wave 2's health, and what the cleanup and replicate will do in the region left
    last = sent["approve_cleanup"]
    assert [(r["resource_id"], r["status"]) for r in last["validated"]["resources"]] == [("www-dns", "HEALTHY")]
    assert {p["phase"]: p["region"] for p in last["next"]["phases"]}["CLEANUP"] == plan.regions.primary
    assert {r["resource_id"] for r in last["next"]["resources"]} >= {"order-events"}  # parked in the old region

    # the HITL request says the same, in Markdown
    subject, body = seen["approve_wave_2"]["subject"], seen["approve_wave_2"]["body"]
    assert subject == "DR dr_acme_production: approve wave 2 (edge)?"
    assert body.startswith("**Time:** ") and "min RTO target" in body.splitlines()[0]
    assert "### Wave 1 (data) validated: HEALTHY" in body
    assert "| orders-db | HEALTHY |" in body and "| order-events | HEALTHY |" in body
    assert "### What wave 2 (edge) will change: 1 resources" in body
    assert f"| www-dns | R53Record | {hub} | {plan.regions.dr} | ACTIVATE |" in body
    assert "UPSERT the record" in body and "Reject to stop the run here" in body
    body = seen["wave_1.approve_activate"]["body"]
    assert "### Wave 1 (data) prewarmed:" in body and "| order-events | PREWARMED |" in body
    assert "### What ACTIVATE of wave 1 (data) will change: 2 resources" in body and "SwitchoverGlobalCluster" in body

    # the report lists the new gates like the others, with what each showed
    report = report_of(dag_run)
    assert [(a["gate"], a["decision"], a["by"]) for a in report["approvals"]] == [
        (g, "approved", "demo-approver") for g in seen]
    shown = {a["gate"]: a["shown"] for a in report["approvals"]}
    assert shown["approve_wave_2"]["validated"] == {"wave": 1, "health": "HEALTHY", "counts": {"HEALTHY": 2}}
    assert shown["wave_1.approve_activate"]["next_resources"] == 2
    text = (report_folder(dag_run) / "report.txt").read_text()
    assert "wave_1.approve_activate  approved by demo-approver" in text and "shown: " in text


def test_a_reject_before_activate_switches_nothing_of_that_wave(estate, tmp_path, monkeypatch):
    plan, sessions = estate
    dag = build_dag(tmp_path / "m", monkeypatch, approvalBeforeActivate=True, approvers=["alice", "bob"])
    tried: list[str] = []

    def decide(task_id):
        if task_id == "wave_1.approve_activate" and not tried:  # not an approver: refused, the gate stays open
            tried.append("mallory")
            return ("Approve", "mallory")
        if task_id == "wave_2.approve_activate":
            return ("Reject", "bob")
        return ("Approve", "alice")

    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM}, decide=decide)

    assert str(dag_run.state) == "failed"
    assert states[("wave_2.approve_activate", -1)] == "failed"
    assert {s for (t, _), s in states.items() if t in ("wave_2.activate", "wave_2.validate", "approve_cleanup",
                                                       "cleanup", "replicate")} <= {"upstream_failed", "skipped"}
    after = roles(plan, sessions)
    assert after["orders-db"]["writer"] == "dr"  # wave 1, approved by an approver after mallory was refused
    assert after["www-dns"] == PRIMARY_DNS  # nothing of wave 2 switched
    report = report_of(dag_run)
    assert report["outcome"] == "rejected"
    gates = {a["gate"]: a for a in report["approvals"]}
    assert (gates["wave_1.approve_activate"]["decision"], gates["wave_1.approve_activate"]["by"]) == ("approved", "alice")
    assert gates["wave_1.approve_activate"]["allowed"] == ["alice", "bob"]  # the approvers, at this gate too
    assert (gates["wave_2.approve_activate"]["decision"], gates["wave_2.approve_activate"]["by"]) == ("rejected", "bob")


def test_a_gate_before_activate_passes_at_once_in_a_drill(estate, tmp_path, monkeypatch):
    plan, sessions = estate
    dag = build_dag(tmp_path / "m", monkeypatch, approvalBeforeActivate=True)
    before = roles(plan, sessions)
    dag_run, states = run(dag, {"operation": "drill"}, decide=lambda task_id: None)  # nobody answers
    assert str(dag_run.state) == "success", states
    assert roles(plan, sessions) == before
    notes = {a["gate"]: a["decision"] for a in report_of(dag_run)["approvals"]}
    assert notes["wave_1.approve_activate"] == notes["wave_2.approve_activate"] == "automatic"
