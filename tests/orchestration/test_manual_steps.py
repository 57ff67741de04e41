"""Manual steps through Airflow: where the DAG factory puts them, and whole runs (dag.test against the
simulator) in which a named person answers them as the HITL REST endpoint does.

* the factory gives each ManualStep its own task right after its phase's task in its dependency step
  (VALIDATE: after the wave's validate; CLEANUP / REPLICATE: after those), side by side with the steps
  placed at the same point; phase and validate tasks never map a manual step;
* a failover with a step in wave 2 answered Done by carol (after its overdue alert): the report names
  her and when; the notification carries the instructions and how to answer over REST; a step marked
  success counts as confirmed; the failback asks with the step's failbackInstructions;
* a step answered Failed fails its wave, the next wave does not run; cleared, it asks again and the run
  completes;
* a drill passes an ``inDrill: skip`` step without asking anyone and asks an ``inDrill: ask`` one.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from awssim.snapshot import serving_roles as roles

from dag_run_helpers import CONFIRM, airflow_cli, demo_resource, report_folder, report_of, resume, run, write_demo_subset
from notifications import events, subscribe_queue

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTIONS = ("Ask the payment provider to allow **us-west-2** egress: [runbook](https://wiki.example.com/dr/pay). "
                "Check their status page shows it.")
BACK = "Ask the payment provider to allow **us-east-1** egress again."


def manual_step(rid: str, phase: str = "ACTIVATE", dependencies: tuple[str, ...] = (), **config) -> dict:
    return {"resourceId": rid, "action": "ManualStep", "dependencies": list(dependencies),
            "config": {"title": f"Step {rid}", "instructions": INSTRUCTIONS, "phase": phase, **config}}


def write_manifest(folder: Path, wave_2_steps: list[dict], cleanup_steps: tuple[dict, ...] = ()) -> Path:
    """Three small waves of the demo estate, the steps in wave 2."""
    return write_demo_subset(folder, {"events": [demo_resource("order-events")],
                                      "app": [demo_resource("orders-api", dependencies=[]), *wave_2_steps,
                                              *cleanup_steps],
                                      "edge": [demo_resource("www-dns")]})


@pytest.fixture
def manual_dag(estate, tmp_path, monkeypatch):
    """(plan, sessions, make_dag(steps, cleanup_steps)): a fresh DAG of the small manifest per run."""
    from dr_adapters.orchestration.factory import build_dags

    plan, sessions = estate
    monkeypatch.setenv("DR_MANIFEST_DIR", str(tmp_path))  # dag.test finds its DAG by parsing the dags folder

    def make(steps: list[dict], cleanup_steps: tuple[dict, ...] = ()):
        write_manifest(tmp_path, steps, cleanup_steps)
        return build_dags(tmp_path)["dr_acme_production"]

    return plan, sessions, make


# -- where the factory puts them ------------------------------------------------------------------
def test_the_factory_places_each_step_after_its_phase(tmp_path):
    from dr_adapters.orchestration.factory import build_dags

    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    data["layers"][1]["resources"] += [
        manual_step("tell-support"),  # no dependency: step 1, after its activation
        manual_step("call-provider", "INSTANTIATE", dependencies=["orders-api"]),  # step 2, before its activation
        manual_step("smoke-test", "VALIDATE"), manual_step("check-dashboards", "VALIDATE"),  # side by side
        manual_step("close-old-vpn", "CLEANUP"), manual_step("re-enable-backups", "REPLICATE"),
    ]
    data["layers"].append({"layerId": "people", "priority": 4, "resources": [manual_step("all-clear", "VALIDATE")]})
    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(data))
    dag = build_dags(tmp_path)["dr_acme_production"]
    assert "invalid-manifest" not in dag.tags, dag.doc_md
    down = lambda t: dag.get_task(t).downstream_task_ids  # noqa: E731
    assert down("wave_2.activate_1") == {"wave_2.manual_tell-support"}
    assert down("wave_2.manual_tell-support") == {"wave_2.instantiate_2"}
    assert down("wave_2.instantiate_2") == {"wave_2.manual_call-provider"}
    assert down("wave_2.manual_call-provider") == {"wave_2.activate_2"}
    assert down("wave_2.validate") == {"wave_2.manual_smoke-test", "wave_2.manual_check-dashboards"}
    assert down("wave_2.manual_smoke-test") == down("wave_2.manual_check-dashboards") == {"approve_wave_3"}
    assert down("cleanup") == {"manual_close-old-vpn"} and down("manual_close-old-vpn") == {"replicate"}
    assert down("replicate") == {"manual_re-enable-backups"}
    # then the report, and operation=rollback's chain, which has no task for a wave of manual steps only
    assert down("manual_re-enable-backups") == {"rollback_wave_3.undo", "report"}
    assert "rollback_wave_4.undo" not in dag.task_ids and "tell-support" not in \
        dag.get_task("rollback_wave_2.undo").expand_input.value["unit_id"]
    # a wave of manual steps only: the step is the whole wave, between its gates
    assert down("approve_wave_4") == {"wave_4.manual_all-clear"} and down("wave_4.manual_all-clear") == {"approve_cleanup"}
    assert "wave_4.validate" not in dag.task_ids
    # the phase and validate tasks never map a manual step; its own task is a HITL task, never retried
    for task in ("wave_2.instantiate_1", "wave_2.activate_1", "wave_2.activate_2", "wave_2.validate", "cleanup", "replicate"):
        assert not any(u["action"] == "ManualStep" for u in dag.get_task(task).partial_kwargs["units"].values()), task
    step = dag.get_task("wave_2.manual_call-provider")
    assert type(step).__name__ == "ManualStepOperator" and step.options == ["Done", "Failed"]
    assert step.retries == 0 and step.trigger_rule == "none_failed" and step.wave == 2
    report = dag.get_task("report")
    assert set(report.manual_tasks) == {t for t in dag.task_ids if t.rsplit(".", 1)[-1].startswith("manual_")}
    assert "wave_2.manual_tell-support" not in report.record_tasks and "wave_2.activate_2" in report.record_tasks


# -- whole runs -------------------------------------------------------------------------------------
def test_a_failover_step_answered_done_by_a_named_person_then_the_failback_asks_the_way_back(manual_dag, monkeypatch):
    plan, sessions, make = manual_dag
    before = roles(plan, sessions)
    monkeypatch.setenv("DR_APPROVAL_ALERT_MINUTES", "0.05")  # 3 seconds: the step's overdue alert
    sqs, queue = subscribe_queue(sessions[None], plan.sns_topic_arn)
    sent: list[dict] = []
    give_up = time.monotonic() + 90

    def decide(task_id):  # carol answers the step once its overdue alert has gone out
        sent.extend(events(sqs, queue))
        if not task_id.endswith("manual_call-provider"):
            return "Approve"
        overdue = any(e["event"] == "manual_step_overdue" for e in sent)
        return ("Done", "carol") if overdue or time.monotonic() > give_up else None

    steps = [manual_step("call-provider", dependencies=["orders-api"], failbackInstructions=BACK)]
    cleanup = (manual_step("close-old-vpn", "CLEANUP"),)
    dag_run, states = run(make(steps, cleanup), {"operation": "failover", "confirm": CONFIRM}, decide=decide,
                          user="alice", mark_success_pattern=r"manual_close-old-vpn")
    sent.extend(events(sqs, queue))
    assert str(dag_run.state) == "success", states
    assert states[("wave_2.manual_call-provider", -1)] == "success"
    after = roles(plan, sessions)
    assert after["www-dns"] == ["web-usw2.acme.example."] and after["orders-api"] == {"primary": 0, "dr": 4}

    report = report_of(dag_run)
    step, marked = report["manual_steps"]
    assert (step["resource_id"], step["title"], step["wave"], step["phase"]) == ("call-provider", "Step call-provider",
                                                                                   2, "ACTIVATE")
    assert (step["outcome"], step["by"], step["direction"]) == ("confirmed", "carol", "failover")
    asked, answered = (datetime.fromisoformat(step[k]) for k in ("requested_at", "responded_at"))
    assert asked < answered and step["waited_seconds"] >= 3 and step["overdue_alerts"] >= 1
    assert (marked["resource_id"], marked["outcome"], marked["by"]) == ("close-old-vpn",
                                                                        "marked success (manual override)", None)
    assert all(a["by"] == "alice" for a in report["approvals"])  # gates answered by the answerer's own user
    rto = report["rto"]
    assert rto["measured_minutes_excluding_approvals"] <= rto["measured_minutes"] - step["waited_seconds"] / 60 + 0.01
    text = (report_folder(dag_run) / "report.txt").read_text()
    assert f"Step call-provider: confirmed by carol at {step['responded_at']}" in text
    assert {r["resource_id"]: r["state"] for r in report["resources"]}["call-provider"] == "ACTIVATE confirmed by carol"
    # the notification: the instructions as written, and how to answer (UI, REST) naming this run's task
    (required,) = [e for e in sent if e["event"] == "manual_step_required"]
    assert required["instructions"] == INSTRUCTIONS and required["title"] == "Step call-provider"
    assert required["task"] == "wave_2.manual_call-provider" and required["wave"] == 2
    assert (f"/dagRuns/{dag_run.run_id}/taskInstances/wave_2.manual_call-provider/-1/hitlDetails"
            in required["how_to_answer"]) and '"chosen_options": ["Done"]' in required["how_to_answer"]
    overdue = [e for e in sent if e["event"] == "manual_step_overdue"]
    assert overdue and overdue[0]["title"] == "Step call-provider" and overdue[0]["task"] == required["task"]

    sent.clear()
    dag_run, states = run(make(steps, cleanup), {"operation": "failback", "confirm": CONFIRM},
                          decide=lambda t: ("Done", "dave") if "manual_" in t else "Approve",
                          mark_success_pattern=r"manual_close-old-vpn")
    sent.extend(events(sqs, queue))
    assert str(dag_run.state) == "success", states
    assert roles(plan, sessions) == before
    (required,) = [e for e in sent if e["event"] == "manual_step_required"]
    assert required["instructions"] == BACK and required["direction"] == "failback"
    (step, _) = report_of(dag_run)["manual_steps"]
    assert (step["by"], step["direction"]) == ("dave", "failback")


def test_a_step_answered_failed_blocks_the_next_wave_until_cleared(manual_dag):
    plan, sessions, make = manual_dag
    dag = make([manual_step("call-provider", dependencies=["orders-api"])])
    answer = {"call-provider": ("Failed", "erin")}
    decide = lambda t: answer["call-provider"] if t.endswith("manual_call-provider") else "Approve"  # noqa: E731

    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM}, decide=decide)
    assert str(dag_run.state) == "failed"
    assert states[("wave_2.manual_call-provider", -1)] == "failed"
    assert states[("wave_2.activate_1", 0)] == "success"  # orders-api, before it
    for (task, _), state in states.items():  # nothing after it ran
        if task.startswith(("wave_2.validate", "approve_wave_3", "wave_3", "approve_cleanup", "cleanup")):
            assert state == "upstream_failed", (task, state)
    after = roles(plan, sessions)
    assert after["orders-api"] == {"primary": 4, "dr": 4}  # wave 2 acted, its cleanup did not run
    assert after["www-dns"] == ["web-use1.acme.example."]  # wave 3 did not run
    report = report_of(dag_run)
    assert report["outcome"] == "failed"
    (step,) = report["manual_steps"]
    assert (step["outcome"], step["by"]) == ("failed", "erin")
    (failure,) = report["failures"]
    assert failure["task"] == "wave_2.manual_call-provider"
    assert failure["error"] == "manual step 'Step call-provider' answered Failed by erin"

    # the provider is reached after all: clear the step with what it blocked (the runbook's command),
    # it asks again, the run completes
    from dr_adapters.orchestration.operators import retry_actions

    airflow_cli(retry_actions(dag.dag_id, dag_run.run_id)["cli"])
    answer["call-provider"] = ("Done", "erin")
    dag_run = resume(dag, dag_run, decide=decide)
    assert str(dag_run.state) == "success"
    assert roles(plan, sessions)["www-dns"] == ["web-usw2.acme.example."]
    (step,) = report_of(dag_run)["manual_steps"]
    assert (step["outcome"], step["by"]) == ("confirmed", "erin")


def test_a_drill_skips_the_steps_that_say_so_and_asks_the_others(manual_dag):
    plan, sessions, make = manual_dag
    before = roles(plan, sessions)
    asked: list[str] = []

    def decide(task_id):
        if "manual_" in task_id:
            asked.append(task_id)
            return ("Done", "frank")
        return "Approve"

    dag = make([manual_step("call-provider", dependencies=["orders-api"]),  # inDrill: skip (the default)
                manual_step("smoke-test", "VALIDATE", inDrill="ask")])
    dag_run, states = run(dag, {"operation": "drill"}, decide=decide)
    assert str(dag_run.state) == "success", states
    assert set(asked) == {"wave_2.manual_smoke-test"}  # asked (once answered, never again)
    assert roles(plan, sessions) == before
    steps = {m["resource_id"]: m for m in report_of(dag_run)["manual_steps"]}
    assert (steps["call-provider"]["outcome"], steps["call-provider"]["by"]) == ("skipped in drill", None)
    assert steps["call-provider"]["waited_seconds"] == 0.0
    assert (steps["smoke-test"]["outcome"], steps["smoke-test"]["by"]) == ("confirmed", "frank")


def test_the_report_task_reads_a_step_marked_success_or_failed_as_the_operators_override():
    """Airflow keeps no answer for a state change: the step's own record (or its absence) plus the task's
    state tell the report what happened."""
    from dr_adapters.orchestration.operators import ReportOperator
    from dr_adapters.plan.model import WorkUnit

    def unit(rid, phase):
        return {**WorkUnit.from_dict({"unit_id": rid, "action": "ManualStep", "account_id": None, "resources": [
            {"resource_id": rid, "action": "ManualStep", "config": {"title": f"Step {rid}", "instructions": "x",
                                                                     "phase": phase}}]}).to_dict(), "wave": 2}

    tasks = {"wave_2.manual_a": unit("a", "ACTIVATE"), "wave_2.manual_b": unit("b", "VALIDATE"),
             "manual_c": unit("c", "CLEANUP"), "wave_2.manual_d": unit("d", "ACTIVATE")}
    report = ReportOperator(task_id="report", plan={}, record_tasks=[], gate_tasks=[], manual_tasks=tasks)
    waiting = {"task": "wave_2.manual_a", "unit_id": "a", "title": "Step a", "decision": "waiting",
               "phase": "ACTIVATE", "wave": 2, "started_at": "2026-01-01T00:00:00+00:00"}
    pushed = [waiting, {**waiting, "task": "wave_2.manual_b", "unit_id": "b", "title": "Step b"},
              {**waiting, "task": "wave_2.manual_d", "unit_id": "d", "decision": "confirmed", "outcome": "succeeded",
               "responded_by": "carol"}]
    states = {"wave_2.manual_a": "success", "wave_2.manual_b": "failed", "manual_c": "success",
              "wave_2.manual_d": "success"}
    found = {r.task: r for r in report._manual_steps(lambda ids: [r for r in pushed if r["task"] in ids], states)}
    assert (found["wave_2.manual_a"].decision, found["wave_2.manual_a"].outcome) == (
        "marked success (manual override)", "succeeded")
    assert (found["wave_2.manual_b"].decision, found["wave_2.manual_b"].outcome) == (
        "marked failed (manual override)", "failed")
    assert found["wave_2.manual_b"].error == "manual step 'Step b' marked failed"
    # marked success before it ever ran: no record of its own, made from the plan's unit
    assert (found["manual_c"].title, found["manual_c"].phase, found["manual_c"].decision) == (
        "Step c", "CLEANUP", "marked success (manual override)")
    assert (found["wave_2.manual_d"].decision, found["wave_2.manual_d"].responded_by) == ("confirmed", "carol")
