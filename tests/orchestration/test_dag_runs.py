"""Whole runs of the demo DAG through Airflow (dag.test) against the simulator in server mode.

Assertions are on AWS end state, read back with describe calls (``awssim.snapshot``), and on the
run's task states and report.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from awssim.snapshot import serving_roles as roles

from dag_run_helpers import CONFIRM, recovery_instances, report_in_xcom, report_of, run
from notifications import events, subscribe_queue

pytestmark = pytest.mark.airflow


def test_failover_then_failback_returns_the_estate(dag, estate):
    plan, sessions = estate
    before = roles(plan, sessions)
    assert before["www-dns"] == ["web-use1.acme.example."]
    sqs, queue = subscribe_queue(sessions[None], plan.sns_topic_arn)

    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM})
    assert str(dag_run.state) == "success", states
    after = roles(plan, sessions)
    # Route 53 answers point at the DR endpoints
    assert after["www-dns"] == ["web-usw2.acme.example."] and after["payments-dns"] == ["10.20.0.10"]
    # the DR Aurora cluster is the writer
    assert after["orders-db"]["writer"] == "dr" and after["billing-db"]["writer"] == "dr"
    # DR ECS services at production count, the old region's at zero after cleanup
    assert after["orders-api"] == {"primary": 0, "dr": 4} and after["payments-api"] == {"primary": 0, "dr": 3}
    # Lambda aliases serve from DR, the primary is parked
    assert after["order-events"]["dr"]["reserved"] == 50 and after["order-events"]["primary"]["parked"]
    # a DRS recovery instance for every server, in its account
    hub, spoke = sessions[None], sessions["222222222222"]
    assert len({i["sourceServerID"] for i in recovery_instances(hub, plan.regions.dr)}) == 8
    assert len({i["sourceServerID"] for i in recovery_instances(spoke, plan.regions.dr)}) == 4
    report = report_of(dag_run)
    assert report["outcome"] == "succeeded" and report["rto"]["met"] is True
    assert [a["decision"] for a in report["approvals"]] == ["approved"] * 3
    assert all(a["by"] == "demo-approver" for a in report["approvals"])
    sent = events(sqs, queue)
    assert [e["event"] for e in sent] == ["run_started"] + ["wave_completed", "approval_required"] * 3 + ["run_succeeded"]
    assert sent[0]["triggered_by"] == "dag_test"  # dag.test's triggering user
    assert "hitlDetails" in sent[2]["how_to_approve"] and sent[-1]["report"]
    # each wave is announced as it completes, with the health its validation read, before the next gate asks
    completed = [e for e in sent if e["event"] == "wave_completed"]
    assert [(e["wave"], e["health"], e["next"]) for e in completed] == [
        (1, "HEALTHY", "wave 2 (app-tier)"), (2, "HEALTHY", "wave 3 (edge-tier)"), (3, "HEALTHY", "cleanup of the old region")]
    assert {r["resource_id"] for r in completed[0]["resources"]} == {"orders-db", "billing-db"}
    assert {r["status"] for e in completed for r in e["resources"]} == {"HEALTHY"}
    # the whole report is in the metadata database too, whichever worker's disk has the local copy
    assert sent[-1]["report_api"].endswith(f"/dagRuns/{dag_run.run_id}/taskInstances/report/xcomEntries/report")
    stored = report_in_xcom(dag_run)
    assert stored.pop("location") == sent[-1]["report"] and stored == report

    dag_run, states = run(dag, {"Operation": "failback", "Confirm": CONFIRM, "Customer": "acme"})
    assert str(dag_run.state) == "success", states
    assert roles(plan, sessions) == before


def test_drill_changes_no_serving_role_and_cleans_up(dag, estate):
    plan, sessions = estate
    before = roles(plan, sessions)
    dag_run, states = run(dag, {"operation": "drill"})
    assert str(dag_run.state) == "success", states
    assert roles(plan, sessions) == before
    for session in (sessions[None], sessions["222222222222"]):
        assert recovery_instances(session, plan.regions.dr) == []  # drill instances terminated
        jobs = session.client("drs", region_name=plan.regions.dr).describe_jobs(filters={})["items"]
        assert {j["initiatedBy"] for j in jobs if j["type"] == "LAUNCH"} == {"START_DRILL"}
    report = report_of(dag_run)
    assert report["operation"] == "drill" and all(a["decision"] == "automatic" for a in report["approvals"])


def test_reject_stops_the_run_after_the_gate(dag, estate):
    plan, sessions = estate
    decide = lambda task_id: "Reject" if task_id == "approve_wave_2" else "Approve"  # noqa: E731
    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM}, decide=decide, user="alice")
    assert str(dag_run.state) == "failed"
    assert states[("approve_wave_2", -1)] == "failed"
    assert all(state != "success" for (task, _), state in states.items() if task.startswith(("wave_2", "wave_3", "cleanup")))
    after = roles(plan, sessions)
    assert after["orders-db"]["writer"] == "dr"  # wave 1 ran
    assert after["www-dns"] == ["web-use1.acme.example."]  # wave 3 did not
    assert after["orders-api"] == {"primary": 4, "dr": 0}
    report = report_of(dag_run)
    assert report["outcome"] == "rejected"
    assert {k: v for k, v in report_in_xcom(dag_run).items() if k != "location"} == report  # the task failed: still kept
    assert report["approvals"][0]["decision"] == "rejected" and report["approvals"][0]["by"] == "alice"
    when = [datetime.fromisoformat(report["approvals"][0][k]) for k in ("requested_at", "responded_at")]
    assert when[0] <= when[1]  # and when (ISO 8601)


def test_marking_gates_success_lets_the_run_continue(dag, estate):
    plan, sessions = estate
    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "waves": [1]},
                          decide=lambda task_id: None, mark_success_pattern=r"approve_.*")
    assert str(dag_run.state) == "success", states
    assert roles(plan, sessions)["orders-db"]["writer"] == "dr"
    assert states[("wave_2.activate_1", 0)] == "skipped"  # wave 2 not selected
    report = report_of(dag_run)
    assert {a["decision"] for a in report["approvals"]} == {"marked success (manual override)"}


def test_failover_without_confirm_changes_nothing(dag, estate):
    plan, sessions = estate
    before = roles(plan, sessions)
    dag_run, states = run(dag, {"operation": "failover"})
    assert str(dag_run.state) == "failed", states
    assert states[("preflight", -1)] == "failed", states
    assert roles(plan, sessions) == before
