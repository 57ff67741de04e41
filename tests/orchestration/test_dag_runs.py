"""Whole runs of the demo DAG through Airflow (dag.test) against the simulator in server mode.

Assertions are on AWS end state, read back with describe calls (``awssim.snapshot``), and on the
run's task states and report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.airflow

CONFIRM = "acme/production"


@pytest.fixture(scope="module")
def sim(airflow_db):
    from awssim.server import SimulatorServer

    server = SimulatorServer().start()
    saved = dict(os.environ)
    os.environ.update({
        "AWS_ENDPOINT_URL": server.url,
        "AWSSIM_DELAY_SECONDS": "0.2",
        "DR_WAIT_POLL_SECONDS": "0.2",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({
            "conn_type": "aws", "login": "testing", "password": "testing",
            "extra": {"region_name": "us-east-1", "endpoint_url": server.url},
        }),
    })
    yield server
    server.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def estate(sim, monkeypatch):
    """A freshly seeded demo estate; yields (plan, sessions per account)."""
    from awssim.demo import _sessions, demo_plan, seed_estate

    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)  # the autouse credentials fixture clears it
    sim.reset()
    plan = demo_plan()
    seed_estate(plan)
    return plan, _sessions(plan)


@pytest.fixture
def dag(sim):
    """A freshly built DAG per test: dag.test in one process lets a run's conf leak into params."""
    from dr_adapters.orchestration.factory import build_dags

    return build_dags()["dr_acme_production"]


def run(dag, conf, **kwargs):
    from dr_adapters.orchestration.local_run import run_dag

    dag_run = run_dag(dag, conf, **kwargs)
    states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}
    return dag_run, states


def roles(plan, sessions):
    from awssim.snapshot import serving_roles

    return serving_roles(plan, sessions)


def report_of(dag_run) -> dict:
    from dr_adapters.report.render import report_dir

    folder = report_dir() / dag_run.dag_id / dag_run.run_id.replace(":", "_").replace("+", "_")
    return json.loads((folder / "report.json").read_text())


def recovery_instances(session: boto3.Session, region: str) -> list[dict]:
    return session.client("drs", region_name=region).describe_recovery_instances(filters={})["items"]


def subscribe_queue(session: boto3.Session, topic_arn: str) -> tuple[object, str]:
    region = topic_arn.split(":")[3]
    sqs = session.client("sqs", region_name=region)
    url = sqs.create_queue(QueueName="dr-events-test")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("sns", region_name=region).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return sqs, url


def events(sqs, url) -> list[dict]:
    out = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            out.append(json.loads(json.loads(m["Body"])["Message"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


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
    assert [e["event"] for e in sent] == ["run_started"] + ["approval_required"] * 3 + ["run_succeeded"]
    assert "hitlDetails" in sent[1]["how_to_approve"] and sent[-1]["report"]

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
    assert report["approvals"][0]["decision"] == "rejected" and report["approvals"][0]["by"] == "alice"


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
