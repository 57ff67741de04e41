"""Who did what, on whole runs through Airflow (dag.test against the simulator), people answering as the
HITL REST endpoint lets them, and the report reading Airflow's audit log over its REST API (an API
server of the test database, served on a loopback port, the ``airflow_api`` connection pointing at it):

* with ``approvers`` (and ``separationOfDuties``) the gates' allowed respondents are the approvers less
  whoever triggered the run: the HITL REST endpoint refuses anyone else (403) and the gate stays open;
  the report names who triggered the run and who answered every gate, including one a person marked
  success (a name only Airflow's audit log has);
* with ``separationOfDuties`` alone, an answer from the person who triggered the run reaches the gate,
  which refuses it, asks again and waits for someone else;
* a run a person cancels (marks failed) while a gate waits still writes its report (what ran, what was
  stopped, what never started, who cancelled it) and sends ``run_cancelled``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from awssim.snapshot import serving_roles as roles

from dag_run_helpers import CONFIRM, demo_resource, demo_subset_dag, report_folder, report_of, rest_api, run
from notifications import events, subscribe_queue

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]
TRIGGERER = "dag_test"  # the user dag.test records as the run's triggering user
AUDITOR, AUDITOR_PASSWORD = "dr-auditor", "audit-7c1e94"


def build_dag(folder: Path, monkeypatch, **people):
    """Three small waves of the demo estate, with ``people`` (approvers, separationOfDuties) added."""
    return demo_subset_dag(folder, monkeypatch, {"events": [demo_resource("order-events")],
                                                 "app": [demo_resource("orders-api", dependencies=[])],
                                                 "edge": [demo_resource("www-dns")]}, **people)


@pytest.fixture(scope="module")
def api_server(sim, tmp_path_factory):
    """Airflow's API server (the core app, on the test database) on a loopback port, with a user who
    may read the audit log; the ``airflow_api`` connection the report uses points at it."""
    import uvicorn

    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({"admin": "admin-unused", AUDITOR: AUDITOR_PASSWORD}))
    settings = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"admin:admin,{AUDITOR}:viewer",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    from airflow.api_fastapi.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app("core"), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="airflow-api")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.1)
    yield f"http://{AUDITOR}:{AUDITOR_PASSWORD}@127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def audited(api_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_server)


_clients: dict[str, object] = {}


def api(user: str = "oncall"):
    """Airflow's REST API signed in as ``user`` (one client per user: each builds the whole app)."""
    if user not in _clients:
        _clients[user] = rest_api(user)
    return _clients[user]


def running_run_id(dag_id: str) -> str:
    (only,) = [r["dag_run_id"] for r in api().get(f"/api/v2/dags/{dag_id}/dagRuns",
                                                  params={"state": ["running"]}).json()["dag_runs"]]
    return only


def hitl(user: str, dag_id: str, run_id: str, task_id: str, option: str):
    """The HITL REST endpoint, called as ``user``."""
    return api(user).patch(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails",
                                json={"chosen_options": [option], "params_input": {}})


def test_approvers_answer_the_gates_and_the_report_names_everyone(estate, audited, tmp_path, monkeypatch):
    plan, sessions = estate
    dag = build_dag(tmp_path / "m", monkeypatch, approvers=["alice", "bob", TRIGGERER], separationOfDuties=True)
    refused: list[tuple[str, int, str]] = []
    marked: list[int] = []

    def decide(task_id):
        run_id = running_run_id(dag.dag_id)
        if task_id == "approve_wave_2":
            if not refused:  # a stranger, then the approver who triggered the run: both refused by the endpoint
                for user in ("mallory", TRIGGERER):
                    answer = hitl(user, dag.dag_id, run_id, task_id, "Approve")
                    refused.append((user, answer.status_code, answer.json().get("detail", "")))
                detail = api().get(f"/api/v2/dags/{dag.dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
                                        "/-1/hitlDetails").json()
                assert not detail["response_received"] and [u["id"] for u in detail["assigned_users"]] == ["alice", "bob"]
                return None  # the gate stays open
            return ("Approve", "alice")
        if task_id == "approve_wave_3":  # bob approves by marking the gate success (the operator's override)
            if not marked:
                answer = api("bob").patch(f"/api/v2/dags/{dag.dag_id}/dagRuns/{run_id}/taskInstances/{task_id}",
                                               json={"new_state": "success", "note": "approved by bob"})
                marked.append(answer.status_code)
            return None
        return ("Approve", "bob")

    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM}, decide=decide)

    assert str(dag_run.state) == "success", states
    assert [(u, code) for u, code, _ in refused] == [("mallory", 403), (TRIGGERER, 403)]
    assert "is not a respondent" in refused[0][2] and marked == [200]
    assert roles(plan, sessions)["www-dns"] == ["web-usw2.acme.example."]
    report = report_of(dag_run)
    assert report["triggered_by"] == {"user": TRIGGERER, "run_type": "manual"}
    assert report["approvers"] == ["alice", "bob", TRIGGERER]
    decisions = {a["gate"]: (a["decision"], a["by"], a.get("allowed")) for a in report["approvals"]}
    assert decisions == {"approve_wave_2": ("approved", "alice", ["alice", "bob"]),
                         "approve_wave_3": ("marked success (manual override)", "bob", ["alice", "bob"]),
                         "approve_cleanup": ("approved", "bob", ["alice", "bob"])}, report["approvals"]
    marked_gate = next(a for a in report["approvals"] if a["gate"] == "approve_wave_3")
    assert marked_gate["responded_at"] > marked_gate["requested_at"]  # when, from the audit log
    assert report["separation_of_duties"] == {"triggered_by": TRIGGERER, "breaches": []}
    assert "audit_log" not in report  # it could be read
    text = (report_folder(dag_run) / "report.txt").read_text()
    assert f"triggered by: {TRIGGERER} (manual run)" in text
    assert "approve_wave_3           marked success (manual override) by bob" in text


def test_the_person_who_triggered_cannot_approve_and_the_gate_asks_again(estate, tmp_path, monkeypatch):
    plan, sessions = estate
    dag = build_dag(tmp_path / "m", monkeypatch, separationOfDuties=True)  # no approvers: anyone else may answer
    tried: list[str] = []

    def decide(task_id):
        if not tried:  # the triggerer answers first: Airflow takes it, the gate refuses it
            tried.append(TRIGGERER)
            return ("Approve", TRIGGERER)
        return ("Approve", "carol")

    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "waves": [1]}, decide=decide)

    assert str(dag_run.state) == "success", states
    (gate,) = [a for a in report_of(dag_run)["approvals"] if a["gate"] == "approve_cleanup"]
    assert (gate["decision"], gate["by"]) == ("approved", "carol")
    (refusal,) = gate["refused"]
    assert refusal["by"] == TRIGGERER and refusal["answer"] == "Approve"
    assert "triggered this run and may not approve it (separationOfDuties)" in refusal["why"]
    assert roles(plan, sessions)["order-events"]["dr"]["reserved"] == 50  # wave 1 ran; the cleanup after it too


def test_a_cancelled_run_still_reports_what_ran_and_who_cancelled_it(estate, audited, tmp_path, monkeypatch):
    plan, sessions = estate
    dag = build_dag(tmp_path / "m", monkeypatch)
    sqs, queue = subscribe_queue(sessions[None], plan.sns_topic_arn, name="dr-events-cancel")
    cancelled: list[int] = []

    def decide(task_id):  # wave 2 is approved; nobody approves the cleanup: carol cancels the run instead
        if task_id != "approve_cleanup":
            return "Approve"
        if not cancelled:
            run_id = running_run_id(dag.dag_id)
            answer = api("carol").patch(f"/api/v2/dags/{dag.dag_id}/dagRuns/{run_id}", json={"state": "failed"})
            cancelled.append(answer.status_code)
        return None

    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "waves": [1, 2]}, decide=decide)

    assert cancelled == [200] and str(dag_run.state) == "failed", states
    assert states[("approve_cleanup", -1)] == "failed"
    assert {s for (t, _), s in states.items() if t in ("cleanup", "replicate")} == {"skipped"}
    assert states[("report", -1)] == "failed"  # it ran (a teardown) and found the run cancelled
    after = roles(plan, sessions)
    assert after["order-events"]["dr"]["reserved"] == 50 and after["orders-api"]["dr"] == 4  # waves 1, 2 ran
    report = report_of(dag_run)
    assert report["outcome"] == "cancelled"
    cancel = report["cancelled"]
    assert cancel["by"] == "carol" and cancel["at"] and cancel["stopped"] == ["approve_cleanup"]
    assert cancel["not_run"] == ["cleanup", "replicate"]
    assert [w["outcome"] for w in report["waves"]] == ["succeeded", "succeeded", "skipped"]  # wave 3 not selected
    (gate,) = [a for a in report["approvals"] if a["gate"] == "approve_cleanup"]
    assert (gate["decision"], gate["by"]) == ("stopped (the run was cancelled)", "carol")
    text = (report_folder(dag_run) / "report.txt").read_text()
    assert "CANCELLED by carol at " in text and "never started: cleanup, replicate" in text
    sent = events(sqs, queue)
    assert [e["event"] for e in sent] == ["run_started", "wave_completed", "approval_required", "wave_completed",
                                          "approval_required", "run_cancelled"]
    final = sent[-1]
    assert final["cancelled"]["by"] == "carol" and final["cancelled"]["not_run"] == ["cleanup", "replicate"]
    assert final["waves"] == {"1": "succeeded", "2": "succeeded", "3": "skipped"} and final["report"]


def test_a_failed_preflight_marked_success_goes_on_and_the_report_names_who_accepted_what(estate, audited, tmp_path,
                                                                                          monkeypatch):
    """The runbook's override of a failed preflight (docs/runbook.md, C2): the manifest makes tagged resources it
    does not list an error, so the failover stops in preflight with nothing changed; dave marks preflight success
    and clears what it blocked (the REST calls the runbook gives); the same run goes on and fails over, and the
    report says preflight was overridden, by dave, with each problem he accepted (not as a failure)."""
    from dag_run_helpers import resume

    plan, sessions = estate
    dag = build_dag(tmp_path / "m", monkeypatch, unprotectedResources="error")
    before = roles(plan, sessions)
    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "approval_mode": "automatic"})
    assert states[("preflight", -1)] == "failed" and str(dag_run.state) == "failed", states
    assert roles(plan, sessions) == before  # stopped before any change
    problems = report_of(dag_run)["failures"][0]
    assert problems["task"] == "preflight" and "unprotected" in problems["resources"]

    runs = f"/api/v2/dags/{dag.dag_id}/dagRuns/{dag_run.run_id}"
    marked = api("dave").patch(f"{runs}/taskInstances/preflight",
                               json={"new_state": "success", "note": "the untagged rest is another plan's"})
    assert marked.status_code == 200, marked.text
    cleared = api("dave").post(f"/api/v2/dags/{dag.dag_id}/clearTaskInstances",
                               json={"dag_run_id": dag_run.run_id, "dry_run": False, "only_failed": True,
                                     "reset_dag_runs": True})
    assert cleared.status_code == 200, cleared.text
    assert "preflight" not in {t["task_id"] for t in cleared.json()["task_instances"]}  # not checked again
    dag_run = resume(dag, dag_run)

    assert str(dag_run.state) == "success", states
    after = roles(plan, sessions)
    assert after["order-events"]["dr"]["reserved"] == 50 and after["orders-api"]["dr"] == 4
    assert after["www-dns"] != before["www-dns"]
    report = report_of(dag_run)
    assert report["outcome"] == "succeeded" and not report["failures"]
    override = report["preflight"]["overridden"]
    assert report["preflight"]["outcome"] == "overridden" and override["by"] == "dave" and override["at"]
    assert override["accepted"] and {a["resource_id"] for a in override["accepted"]} == {"unprotected"}
    text = (report_folder(dag_run) / "report.txt").read_text()
    assert "OVERRIDDEN (marked success) by dave at " in text and "unprotected: " in text
