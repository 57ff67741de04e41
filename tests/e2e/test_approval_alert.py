"""The overdue-approval alert under a real scheduler.

A gate left waiting raises ``approval_overdue`` (SNS) after ``DR_APPROVAL_ALERT_MINUTES``: here
30 seconds, and the scheduler sweeps timed-out approvals every 2 s instead of 15. The alert is
the scheduler resuming the gate with a timeout, the gate publishing the alert and parking again:
this proves it keeps waiting afterwards (nothing after it starts) and still takes its answer.
Then the next gate is rejected, which ends the run.

Then the other alerts, as they happen, under the same real scheduler: a unit that fails for good
(the DR copy of a service found tagged for another customer once preflight has passed) reaches an
SQS subscriber of the topic while other units of its wave are still working (timestamps compared);
the notification's own REST call clears just that unit after the fix and the run goes on; a person
then cancels the run (marks it failed) at the next gate, and the report still runs, says what was
stopped and what never started, and sends ``run_cancelled``.
"""

from __future__ import annotations

import pytest
from awssim.snapshot import serving_roles as roles
from datetime import datetime

from notifications import events, received_events, subscribe_queue
from runs import report_of, summary, wait_for_gate, wait_until_finished
from standalone import DAG_ID, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ALERT_SECONDS = 30
STANDALONE_ENV = {
    "DR_APPROVAL_ALERT_MINUTES": str(ALERT_SECONDS / 60),
    "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "2",
}
CONF = {"operation": "failover", "confirm": "acme/production"}


def test_a_waiting_gate_alerts_then_still_takes_its_answer(stack, estate):
    plan, sessions = estate
    api = stack.api
    sqs, queue = subscribe_queue(sessions[None], plan.sns_topic_arn, name="dr-events-e2e")
    sent: list[dict] = []

    def received(event: str) -> list[dict]:
        sent.extend(events(sqs, queue))
        return [e for e in sent if e["event"] == event]

    api.unpause()
    run_id = "e2e-approval-overdue"
    api.trigger(run_id, CONF)
    wait_for_gate(stack, run_id, "approve_wave_2")

    alerts = wait_for("the approval_overdue alert of approve_wave_2", lambda: received("approval_overdue"),
                      timeout=ALERT_SECONDS + 90, interval=2)
    stack.note(f"{run_id}: alert received: {alerts[0]}")
    assert alerts[0]["gate"] == "approve_wave_2" and alerts[0]["run_id"] == run_id and alerts[0]["alert"] == 1
    hours, minutes, seconds = (int(x) for x in alerts[0]["waiting_for"].split(":"))
    assert hours * 3600 + minutes * 60 + seconds >= ALERT_SECONDS, alerts[0]
    assert f"/dagRuns/{run_id}/taskInstances/approve_wave_2/-1/hitlDetails" in alerts[0]["how_to_approve"]

    # After the alert the gate waits again for the same question; nothing after it has started.
    wait_for_gate(stack, run_id, "approve_wave_2", pauses=2)
    states = api.task_states(run_id)
    assert not [k for k, v in states.items() if k[0].startswith(("wave_2.", "approve_wave_3")) and v], summary(states)
    pending = [d for d in api.open_approvals() if d["task_instance"]["dag_run_id"] == run_id]
    assert [d["task_instance"]["task_id"] for d in pending] == ["approve_wave_2"] and not pending[0]["response_received"]

    # It still takes its answer: approved, wave 2 runs; the next gate is rejected, ending the run.
    api.answer_gate(run_id, "approve_wave_2", "Approve")
    wait_for_gate(stack, run_id, "approve_wave_3")
    api.answer_gate(run_id, "approve_wave_3", "Reject")
    run = wait_until_finished(stack, run_id, timeout=180)
    assert run["state"] == "failed", summary(api.task_states(run_id))

    after = roles(plan, sessions)
    assert after["orders-db"]["writer"] == "dr" and after["payments-api"] == {"primary": 3, "dr": 3}  # waves 1, 2 (cleanup not)
    assert after["www-dns"] == ["web-use1.acme.example."]  # wave 3 did not run

    report = report_of(stack, run_id)
    gates = {a["gate"]: a for a in report["approvals"]}
    assert report["outcome"] == "rejected", report
    assert gates["approve_wave_2"]["decision"] == "approved" and gates["approve_wave_2"]["by"] == "admin"
    assert gates["approve_wave_2"]["overdue_alerts"] >= 1 and gates["approve_wave_2"]["waited_seconds"] >= ALERT_SECONDS
    assert gates["approve_wave_3"]["decision"] == "rejected" and gates["approve_wave_3"]["by"] == "admin"
    assert [e["gate"] for e in received("approval_required")] == ["approve_wave_2", "approve_wave_3"]


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_failed_unit_is_announced_while_its_wave_works_and_a_cancelled_run_still_reports(stack, estate):
    plan, sessions = estate
    api = stack.api
    ecs = sessions["222222222222"].client("ecs", region_name=plan.regions.dr)
    (service,) = ecs.describe_services(cluster="acme-billing", services=["payments-api"])["services"]
    sqs, queue = subscribe_queue(sessions[None], plan.sns_topic_arn, name="dr-events-e2e-units")
    api.unpause()
    run_id = "e2e-unit-failed-then-cancelled"
    api.trigger(run_id, CONF)
    wait_for_gate(stack, run_id, "approve_wave_2")

    # Preflight has passed; now the DR copy of payments-api says it belongs to another customer: its
    # unit fails at once in wave 2 (no retry can help), while the DRS launches of the wave go on.
    ecs.tag_resource(resourceArn=service["serviceArn"], tags=[{"key": "Customer", "value": "globex"}])
    api.answer_gate(run_id, "approve_wave_2", "Approve")
    run = wait_until_finished(stack, run_id, timeout=300)
    assert run["state"] == "failed", summary(api.task_states(run_id))
    received = received_events(sqs, queue)
    ((alert, alerted_at),) = [(e, at) for e, at in received if e["event"] == "unit_failed"]
    assert alert["resources"] == ["payments-api"] and alert["tries"] == 1 and "out of scope" in alert["error"]
    assert alert["remediation"].startswith("fix its Customer/Environment tags")  # the adapter's own fix
    tis = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 500})["task_instances"]
    wave = [ti for ti in tis if ti["task_id"] == alert["task"]]
    siblings = [_when(ti["end_date"]) for ti in wave if ti["map_index"] != alert["map_index"]]
    assert len(siblings) >= 3 and [ti["state"] for ti in wave if ti["map_index"] == alert["map_index"]] == ["failed"]
    later = [end for end in siblings if end > alerted_at]
    stack.note(f"{run_id}: unit_failed reached SQS at {alerted_at}; sibling units ended {sorted(siblings)}")
    assert later, f"the alert ({alerted_at}) came after every other unit of the wave had finished: {siblings}"
    (report_ti,) = [ti for ti in tis if ti["task_id"] == "report"]
    assert alerted_at < _when(report_ti["start_date"])  # not held back for the end of the run
    assert [e["event"] for e, _ in received][-1] == "run_failed"

    # Fixed: the notification's own call clears just that unit with what it blocked, and the run goes on.
    ecs.tag_resource(resourceArn=service["serviceArn"], tags=[{"key": "Customer", "value": "acme"}])
    clear = alert["clear"]["rest"]
    cleared = api.http.post(f"{api.url}{clear['path']}", json=clear["body"], timeout=30)
    assert cleared.status_code == 200, cleared.text
    again = {(t["task_id"], t["map_index"]) for t in cleared.json()["task_instances"]}
    assert (alert["task"], alert["map_index"]) in again and ("report", -1) in again
    assert not {(t, m) for t, m in again if t == alert["task"] and m != alert["map_index"]}  # siblings kept
    wait_for_gate(stack, run_id, "approve_wave_3")

    # A person cancels the run at the gate (marks it failed): the report still runs and says so.
    api.call("PATCH", f"/dags/{DAG_ID}/dagRuns/{run_id}", json={"state": "failed"})
    run = wait_until_finished(stack, run_id, timeout=180)
    states = api.task_states(run_id)
    assert run["state"] == "failed" and states[("report", -1)] == "failed", summary(states)
    report = report_of(stack, run_id)
    assert report["outcome"] == "cancelled", report
    assert report["cancelled"]["stopped"] == ["approve_wave_3"]
    assert {"approve_cleanup", "cleanup", "replicate", "wave_3.activate"} <= set(report["cancelled"]["not_run"])
    assert [w["outcome"] for w in report["waves"]] == ["succeeded", "succeeded", "skipped"]
    gates = {a["gate"]: a["decision"] for a in report["approvals"]}
    assert gates["approve_wave_3"] == "stopped (the run was cancelled)"
    assert report["triggered_by"]["user"] == "admin"
    sent = [e for e, _ in received_events(sqs, queue)]
    assert [e["event"] for e in sent] == ["wave_completed", "approval_required", "run_cancelled"]
    assert sent[0]["wave"] == 2 and sent[-1]["cancelled"]["stopped"] == ["approve_wave_3"]
    assert roles(plan, sessions)["www-dns"] == ["web-use1.acme.example."]  # wave 3 never ran
