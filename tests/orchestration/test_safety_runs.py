"""Safety guarantees proven on whole runs of the demo DAG through Airflow (dag.test, simulator in server mode).

Every AWS call the run makes - in tasks and in triggers, hub and spoke accounts - is recorded with
botocore event hooks (``aws_calls.record_aws_calls``) and classified read-only or mutating.
``sns:Publish`` (the run's own notifications) is counted apart: it changes nothing in the estate.

* scope guard: a resource tagged for another customer or environment, or a conf naming another
  customer, stops the run in preflight, names the resource and its tags, with zero changes;
* dry run: the whole DAG runs, every call it would make is logged and counted, zero changes;
* a permanent failure mid-wave: siblings finish, the next wave does not start, the notification
  and the report name the resource and the error; once fixed, clearing the failed task instance
  completes the same run without repeating finished work; ``approval_mode=automatic`` never waits;
* the demo failover with the first attempt of every AWS call failing (throttling, 429, 5xx,
  connection errors) succeeds with exactly a clean failover's changes; a gate left waiting raises
  the ``approval_overdue`` alert; no credential, session token, ExternalId or password reaches a
  task log, the report or a notification.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from awssim.drs import set_replication
from awssim.snapshot import serving_roles as roles

from aws_calls import record_aws_calls
from aws_faults import KINDS, Faults, fast_retries, inject_faults
from dag_run_helpers import (
    CONFIRM, SPOKE, airflow_cli, recovery_instances, report_folder, report_of, resume, rest_api, run, states_of,
)
from notifications import events, received_events, subscribe_queue

pytestmark = pytest.mark.airflow

HUB = "123456789012"
NOTIFY = "sns:Publish"


def changes(calls) -> list[str]:
    """Mutating calls, the run's notifications aside."""
    return [c for c in calls.mutating if c != NOTIFY]


def launch_jobs(session, region) -> list[list[str]]:
    """The servers of each DRS launch job, oldest first."""
    jobs = session.client("drs", region_name=region).describe_jobs(filters={})["items"]
    jobs = sorted((j for j in jobs if j["type"] == "LAUNCH"), key=lambda j: j["creationDateTime"])
    return [sorted(p["sourceServerID"] for p in j["participatingServers"]) for j in jobs]


def test_scope_guard_stops_the_run_in_preflight_with_zero_changes(dag, estate):
    plan, sessions = estate
    before = roles(plan, sessions)
    # billing-db's primary cluster, in the spoke account, now says it belongs to another customer
    rds = sessions[SPOKE].client("rds", region_name=plan.regions.primary)
    arn = rds.describe_db_clusters(DBClusterIdentifier="acme-billing-use1")["DBClusters"][0]["DBClusterArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "Customer", "Value": "globex"}])

    with record_aws_calls() as calls:
        dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "approval_mode": "automatic"})

    assert str(dag_run.state) == "failed" and states[("preflight", -1)] == "failed"
    assert not [t for t, s in states.items() if s == "success" and t[0] not in ("report",)], states
    assert changes(calls) == []  # zero mutating calls
    assert calls.count(NOTIFY) == 2  # run_started, run_failed
    # preflight read both accounts, in both regions (the recorder knows where each call went)
    assert {(SPOKE, plan.regions.primary), (None, plan.regions.dr)} <= set(calls.where("rds:DescribeDBClusters"))
    report = report_of(dag_run)
    (failure,) = report["failures"]
    assert failure["task"] == "preflight" and failure["resources"] == ["billing-db"]
    assert "billing-db: out of scope for dr_acme_production: tag Customer='globex' (expected 'acme')" in failure["error"]
    assert "its tags: Customer='globex', Environment='production'" in failure["error"]
    assert roles(plan, sessions) == before

    # a conf naming another customer fails before any AWS call (only the failure notification goes out)
    with record_aws_calls() as calls:
        dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "Customer": "globex"})
    assert str(dag_run.state) == "failed" and states[("preflight", -1)] == "failed"
    assert list(calls) == [NOTIFY]
    (failure,) = report_of(dag_run)["failures"]
    assert failure["resources"] == ["run parameters"]
    assert "customer='globex' does not match this DAG (dr_acme_production is customer='acme')" in failure["error"]
    assert roles(plan, sessions) == before


def test_dry_run_runs_the_whole_dag_logs_every_call_and_changes_nothing(dag, estate, capfd):
    plan, sessions = estate
    before = roles(plan, sessions)

    with record_aws_calls() as calls:
        dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "dry_run": True},
                              decide=lambda task_id: None)  # nobody answers: gates must not wait
    logs = capfd.readouterr().out

    assert str(dag_run.state) == "success", states
    # every wave task, gate, cleanup, replicate, report; operation=rollback's own tasks skipped by preflight
    assert {s for (t, _), s in states.items() if not t.startswith(("rollback_", "approve_rollback_"))} == {"success"}
    assert {s for (t, _), s in states.items() if t.startswith(("rollback_", "approve_rollback_"))} == {"skipped"}
    assert changes(calls) == []  # zero mutating calls
    assert roles(plan, sessions) == before
    report = report_of(dag_run)
    assert report["dry_run"] is True and report["outcome"] == "succeeded"
    assert {a["decision"] for a in report["approvals"]} == {"automatic"}
    would = [line for line in logs.splitlines() if "DRY RUN: would call" in line]
    assert report["aws_changes"] == len(would) > 0  # each call it would make: logged and counted
    called = Counter(line.split("would call ")[1].split(" ")[0] for line in would)
    # What a real failover of the demo estate calls (a clean failover of the demo estate makes exactly these),
    # except: DRS StartRecovery is logged by INSTANTIATE and again by ACTIVATE (nothing was launched in
    # between), and ReverseReplication needs recovery instances a dry run never creates (a note says so).
    assert called == {"ecs.update_service": 6, "drs.start_recovery": 4, "lambda.put_function_concurrency": 3,
                      "route53.change_resource_record_sets": 3, "rds.create_db_instance": 2,
                      "rds.switchover_global_cluster": 2, "ec2.stop_instances": 2,
                      "lambda.delete_function_concurrency": 1}


def test_failed_resource_blocks_the_next_wave_and_clearing_it_finishes_the_run(dag, estate):
    """A DRS launch fails in wave 2 (and in its automatic retry), after a person waited at approve_wave_2.
    Clearing only the failed task instance re-runs it, and leaves the run failed; the action the failure
    notification gives (clear the failed instances with what they blocked) completes the same run. The
    report measures RTO from the run's first start, across both clears, and lists the failed tries."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    plan, sessions = estate
    hub, dr = sessions[None], plan.regions.dr
    broken = plan.resources["app-03"].config["sourceServerId"]
    set_replication(HUB, dr, broken, launch_fails=True)  # every launch of app-03 fails in DRS
    sqs, queue = subscribe_queue(hub, plan.sns_topic_arn)
    conf = {"operation": "failover", "confirm": CONFIRM}  # approvals required
    opened: dict[str, float] = {}

    def decide(task_id):  # a person who takes 3 seconds to approve each gate
        return "Approve" if time.monotonic() - opened.setdefault(task_id, time.monotonic()) >= 3 else None

    before = datetime.now(timezone.utc)
    with record_aws_calls() as calls:
        dag_run, states = run(dag, conf, decide=decide)
    first_started = dag_run.start_date  # the run's start by Airflow, before any clear resets it
    assert before < first_started < before + timedelta(seconds=20)

    # the failing unit fails; its siblings (the spoke's servers, the services, the functions) finish
    instantiate = {ti.rendered_map_index: ti for ti in dag_run.get_task_instances()
                   if ti.task_id == "wave_2.instantiate_1"}
    (failed,) = [unit for unit, ti in instantiate.items() if ti.state == "failed"]
    assert failed == next(u.unit_id for u in plan.waves[1].units if "app-03" in u.resource_ids)
    assert {ti.state for unit, ti in instantiate.items() if unit != failed} == {"success"}
    assert len(instantiate) > 1
    # the next wave does not start: no DNS change, and every wave 3 task is upstream_failed
    assert {s for (t, _), s in states.items() if t.startswith(("wave_3", "approve_wave_3"))} == {"upstream_failed"}
    assert calls.count("route53:ChangeResourceRecordSets") == 0
    assert roles(plan, sessions)["www-dns"] == ["web-use1.acme.example."]
    assert str(dag_run.state) == "failed"
    # DRS launched the other 7 hub servers, then app-03 alone once more (the task's retry)
    first_jobs = launch_jobs(hub, dr)
    assert [len(j) for j in first_jobs] == [8, 1] and first_jobs[1] == [broken]
    # the report and the failure notification name the resource and the error, and how to go on
    report = report_of(dag_run)
    failure = next(f for f in report["failures"] if f["task"] == "wave_2.instantiate_1")
    assert failure["error"].startswith(f"app-03: DRS launch of {broken} FAILED in {dr}")
    received = received_events(sqs, queue)
    sent = [e for e, _ in received]
    assert [e["event"] for e in sent] == ["run_started", "wave_completed", "approval_required", "unit_failed", "run_failed"]
    # announced when it failed, not when the run ended: before the report task even started
    (report_ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "report"]
    assert received[3][1] < report_ti.start_date
    assert sent[-1]["failing_task"] == "wave_2.instantiate_1" and "app-03" in sent[-1]["error"]
    # the unit was announced once, when its last try failed (not when Airflow retried it), with what to do
    alert = sent[3]
    assert (alert["task"], alert["unit_id"], alert["wave"], alert["phase"]) == ("wave_2.instantiate_1", failed, 2, "INSTANTIATE")
    assert alert["tries"] == 2 and "app-03" in alert["resources"] and alert["error"] == failure["error"]
    assert alert["remediation"] and alert["clear"]["rest"]["body"]["task_ids"] == [["wave_2.instantiate_1",
                                                                                    instantiate[failed].map_index]]
    assert alert["clear"]["rest"]["body"]["include_downstream"] and alert["clear"]["rest"]["body"]["only_failed"]
    retry = sent[-1]["retry"]
    assert retry["cli"] in sent[-1]["remediation"] and json.dumps(retry["rest"]["body"]) in sent[-1]["remediation"]
    assert "Downstream ticked" in sent[-1]["remediation"]
    (waited,) = [a for a in report["approvals"] if a["gate"] == "approve_wave_2"]
    assert waited["decision"] == "approved" and waited["waited_seconds"] >= 3

    # fix the cause; clear only the failed task instance (REST with clearTaskInstances' defaults)
    set_replication(HUB, dr, broken, launch_fails=False)
    done = {t for t, s in states_of(dag_run).items() if s == "success"}
    unit = ("wave_2.instantiate_1", instantiate[failed].map_index)
    api = rest_api("oncall")
    alone = api.post(f"/api/v2/dags/{dag.dag_id}/clearTaskInstances",
                     json={"dag_run_id": dag_run.run_id, "dry_run": False, "task_ids": [list(unit)]})
    assert alone.status_code == 200 and [(t["task_id"], t["map_index"]) for t in alone.json()["task_instances"]] == [unit]
    with record_aws_calls() as again:
        dag_run = resume(dag, dag_run, decide=decide)
    states = states_of(dag_run)
    # it ran again and succeeded, but what it blocked stays upstream_failed: the run is still failed
    assert states[unit] == "success" and str(dag_run.state) == "failed"
    assert {s for (t, _), s in states.items() if t.startswith(("wave_2.activate", "wave_3"))} == {"upstream_failed"}
    assert launch_jobs(hub, dr) == first_jobs + [[broken]]

    # the action the notification gives: its REST body selects every failed and blocked task of the run
    # (asked here as a dry run), its CLI command clears them
    blocked = {t for t, s in states.items() if s in ("failed", "upstream_failed")}
    assert ("report", -1) in blocked and ("wave_3.validate", 0) in blocked
    dry = api.post(retry["rest"]["path"], json={**retry["rest"]["body"], "dry_run": True})
    assert dry.status_code == 200 and {(t["task_id"], t["map_index"]) for t in dry.json()["task_instances"]} == blocked
    airflow_cli(retry["cli"])
    assert {t for t, s in states_of(dag_run).items() if s is None} == blocked and not done & blocked
    with record_aws_calls() as finish:
        dag_run = resume(dag, dag_run, decide=decide)

    assert str(dag_run.state) == "success", states_of(dag_run)
    # finished work is not repeated: one launch, of app-03 alone; wave 1 not switched over again
    assert launch_jobs(hub, dr) == first_jobs + [[broken]]
    assert again.count("drs:StartRecovery") == 1 and again.where("drs:StartRecovery") == [(None, dr)]
    assert finish.count("drs:StartRecovery") == 0
    for calls_after_fix in (again, finish):
        assert calls_after_fix.count("rds:SwitchoverGlobalCluster") == 0 and calls_after_fix.count("rds:CreateDBInstance") == 0
    # one recovery instance per server, in each account
    assert len(recovery_instances(hub, dr)) == 8 and len(recovery_instances(sessions[SPOKE], dr)) == 4
    after = roles(plan, sessions)
    assert after["www-dns"] == ["web-usw2.acme.example."] and after["orders-db"]["writer"] == "dr"
    assert [e["event"] for e in events(sqs, queue)] == ["wave_completed", "approval_required"] * 2 + ["run_succeeded"]

    # RTO: from the run's first start to the last wave validated, by Airflow's own clock, within seconds
    report = report_of(dag_run)
    assert report["outcome"] == "succeeded"
    with create_session() as session:
        run_row = session.scalar(select(DagRun).where(DagRun.run_id == dag_run.run_id))
        # Airflow reset the run's start date at the second clear: not a start to measure RTO from
        assert run_row.clear_number == 2 and run_row.start_date > first_started + timedelta(seconds=20)
        validated = session.scalar(select(TaskInstance.end_date).where(  # wave 3's one validation, by Airflow
            TaskInstance.run_id == dag_run.run_id, TaskInstance.task_id == "wave_3.validate"))
    wall_clock = (validated - first_started).total_seconds()
    rto = report["rto"]
    assert abs(rto["measured_minutes"] * 60 - wall_clock) < 3, (rto, wall_clock)
    assert abs((datetime.fromisoformat(rto["from"]) - first_started).total_seconds()) < 3
    assert report["started_at"] == rto["from"]
    # every gate's wait before the last validation is left out: approve_wave_2 (before the clears) and 3
    waits = sum(a["waited_seconds"] for a in report["approvals"] if a["gate"] in ("approve_wave_2", "approve_wave_3"))
    assert waits >= 6
    assert abs(rto["measured_minutes_excluding_approvals"] - (rto["measured_minutes"] - waits / 60)) <= 0.011
    # the failed tries are kept: the first retried by Airflow, the second cleared after the fix
    tries = [(a["task"], a["unit_id"], a["try"], a["outcome"], a["then"]) for a in report["earlier_attempts"]]
    assert tries == [("wave_2.instantiate_1", failed, 1, "failed", "retried by Airflow"),
                     ("wave_2.instantiate_1", failed, 2, "failed", "cleared")]
    retried, cleared = report["earlier_attempts"]
    assert all(a["error"].startswith(f"app-03: DRS launch of {broken} FAILED") for a in (retried, cleared))
    when = {k: datetime.fromisoformat(cleared[k]) for k in ("ended_at", "run_resumed_at", "next_try_started_at")}
    assert retried["ended_at"] < retried["next_try_started_at"] == cleared["started_at"]
    assert when["ended_at"] < when["run_resumed_at"] <= when["next_try_started_at"]
    # who cleared it over REST: in Airflow's audit log, where the report points (the dry run is not logged)
    audit = api.get("/api/v2/eventLogs", params={"dag_id": dag.dag_id, "run_id": dag_run.run_id,
                                                  "event": "post_clear_task_instances"}).json()
    assert [e["owner"] for e in audit["event_logs"]] == ["oncall"]
    text = (report_folder(dag_run) / "report.txt").read_text()
    assert f"wave_2.instantiate_1 [{failed}] try 2 failed at {cleared['ended_at']}: app-03: DRS launch" in text
    assert f"then cleared; the run resumed at {cleared['run_resumed_at']}" in text


def test_failover_through_faults_alerts_on_an_overdue_gate_and_leaks_no_secret(dag, estate, monkeypatch, capfd,
                                                                               caplog):
    """The demo failover, with the first attempt of every AWS call failing and approve_wave_2 left waiting."""
    plan, sessions = estate
    fast_retries(monkeypatch)
    sim_url = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])["extra"]["endpoint_url"]
    hub_key, hub_secret = "AKIADRHUBKEY7Q2M4X9Z", "hub-secret-3b8e1f0c9a7d"
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": hub_key, "password": hub_secret,
        "extra": {"region_name": "us-east-1", "endpoint_url": sim_url}}))
    monkeypatch.setenv("DR_APPROVAL_ALERT_MINUTES", "0.05")  # 3 seconds
    caplog.set_level(logging.INFO)
    sqs, queue = subscribe_queue(sessions[None], plan.sns_topic_arn)
    sent: list[dict] = []
    give_up = time.monotonic() + 90

    def decide(task_id):  # approve_wave_2 is left waiting until its alert has gone out
        sent.extend(events(sqs, queue))
        overdue = any(e["event"] == "approval_overdue" for e in sent)
        return "Approve" if task_id != "approve_wave_2" or overdue or time.monotonic() > give_up else None

    with record_aws_calls() as calls, inject_faults(Faults()) as faults:
        dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM}, decide=decide, user="carol")
    sent.extend(events(sqs, queue))

    # every call's first attempt failed (throttled, 429, 500, 503, connection refused), and the run
    # succeeded making exactly the changes of a clean failover of the demo estate
    assert str(dag_run.state) == "success", states
    assert faults.kinds_injected() == set(KINDS) and len(faults.injected) >= len(calls) > 300
    assert Counter(changes(calls)) == {
        "drs:ReverseReplication": 12, "ecs:UpdateService": 6, "lambda:PutFunctionConcurrency": 3,
        "route53:ChangeResourceRecordSets": 3, "drs:StartRecovery": 2, "rds:CreateDBInstance": 2,
        "rds:SwitchoverGlobalCluster": 2, "ec2:StopInstances": 2, "lambda:DeleteFunctionConcurrency": 1}
    assert roles(plan, sessions)["www-dns"] == ["web-usw2.acme.example."]
    overdue = [e for e in sent if e["event"] == "approval_overdue"]
    assert [e["gate"] for e in overdue] == ["approve_wave_2"]
    assert overdue[0]["waiting_for"].startswith("0:00:") and int(overdue[0]["waiting_for"][-2:]) >= 3
    assert "hitlDetails" in overdue[0]["how_to_approve"]
    assert [e["event"] for e in sent if e["event"] != "approval_overdue"] == (
        ["run_started"] + ["wave_completed", "approval_required"] * 3 + ["run_succeeded"])
    approvals = {a["gate"]: a for a in report_of(dag_run)["approvals"]}
    assert approvals["approve_wave_2"]["overdue_alerts"] == 1 and approvals["approve_wave_2"]["waited_seconds"] >= 3
    assert {a["decision"] for a in approvals.values()} == {"approved"} and {a["by"] for a in approvals.values()} == {"carol"}

    # no secrets: in the task logs (dag.test writes no log files: task logs go to this process's
    # stdout), in what went through Python logging, in the report files, in the notifications
    out, err = capfd.readouterr()
    folder = report_folder(dag_run)
    texts = {"task logs": out + err, "logging": caplog.text, "notifications": json.dumps(sent),
             **{p.name: p.read_text() for p in folder.iterdir()}}
    assert "calling drs.start_recovery" in texts["task logs"] and "report.txt" in texts  # the real logs
    assert calls.issued, "the run assumed the spoke account's role"
    secrets = {"ExternalId": plan.accounts[0].external_id, "hub access key": hub_key, "hub secret": hub_secret}
    for n, creds in enumerate(calls.issued):
        secrets |= {f"AccessKeyId {n}": creds["AccessKeyId"], f"SecretAccessKey {n}": creds["SecretAccessKey"],
                    f"SessionToken {n}": creds["SessionToken"]}
    leaks = [(what, where) for what, secret in secrets.items() for where, text in texts.items() if secret in text]
    assert leaks == []
