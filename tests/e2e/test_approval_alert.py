"""The overdue-approval alert under a real scheduler.

A gate left waiting raises ``approval_overdue`` (SNS) after ``DR_APPROVAL_ALERT_MINUTES``: here
30 seconds, and the scheduler sweeps timed-out approvals every 2 s instead of 15. The alert is
the scheduler resuming the gate with a timeout, the gate publishing the alert and parking again:
this proves it keeps waiting afterwards (nothing after it starts) and still takes its answer.
Then the next gate is rejected, which ends the run.
"""

from __future__ import annotations

import pytest
from awssim.snapshot import serving_roles as roles
from notifications import events, subscribe_queue
from runs import report_of, summary, wait_for_gate, wait_until_finished
from standalone import wait_for

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
