"""The demo failover on the executor MWAA runs: CeleryExecutor, a Redis broker, two Celery workers.

Everything else here runs on the LocalExecutor, where every task of a run shares one machine's
processes and disk. MWAA runs Celery workers, so this test runs Airflow's components one by one
(celery_stack.CeleryAirflow) with two workers of concurrency 2 and a report folder each, and drives
one failover over REST only, as an operator would:

* the approval gates are answered through the human-in-the-loop endpoint;
* before wave 2, one DRS server of the hub is broken (every launch fails, set over the simulator's
  control endpoint): its unit fails after its retry, the report task records the failure and the
  run fails; the server is repaired and the failed unit is cleared over REST with its downstream
  tasks (``clearTaskInstances``, ``include_downstream``) and the run completes;
* DRS launches wait in the triggerer (a deferred wait: the unit's record shows a second round, and
  its log, read over REST, has the worker's deferral and the triggerer's event), and resume on
  whichever worker takes them.

Then the estate serves from the DR region (read back from the simulator), every DRS server has one
recovery instance (the cleared unit launched only the broken server again), task instances of
that one run ran on both workers (their ``hostname``), and the report is readable over REST
whichever worker's disk holds the local copy.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest
import requests
from awssim.drs.control import CONTROL_PATH
from awssim.snapshot import serving_roles as roles
from celery_stack import WORKERS, CeleryAirflow
from runs import outcomes, summary, wait_for_gate, wait_until_finished
from standalone import DAG_ID

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

AIRFLOW_LAUNCHER = CeleryAirflow
STANDALONE_ENV = {"DR_TASK_RETRIES": "1"}  # the broken unit fails after one retry, not two
CONF = {"operation": "failover", "confirm": "acme/production"}
RUN_ID = "e2e-celery-failover"
DRS_INSTANTIATE = "wave_2.instantiate_1"
BROKEN = "app-03"  # a hub DRS server of wave 2


def set_launch_fails(sim_url: str, account_id: str, region: str, server_id: str, fails: bool) -> None:
    reply = requests.post(f"{sim_url}{CONTROL_PATH}", json={"account_id": account_id, "region": region,
                                                             "source_server_id": server_id, "launch_fails": fails},
                          timeout=10)
    assert reply.status_code == 200 and reply.json()["launch_fails"] is fails, reply.text


def task_instances(api, run_id: str) -> list[dict[str, Any]]:
    return api.call("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances",
                    params={"limit": 500})["task_instances"]


def mapped_xcom(api, run_id: str, task_id: str, map_index: int, key: str) -> Any:
    return api.call("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/{key}",
                    params={"map_index": map_index, "deserialize": True})["value"]


def task_log(api, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
    body = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}",
                    params={"map_index": map_index, "full_content": True}, headers={"Accept": "application/json"})
    return json.dumps(body["content"])


def launch_jobs(session, region: str) -> list[list[str]]:
    """The source servers of each DRS launch job, oldest first."""
    jobs = session.client("drs", region_name=region).describe_jobs(filters={})["items"]
    return [sorted(p["sourceServerID"] for p in j["participatingServers"])
            for j in sorted(jobs, key=lambda j: j["creationDateTime"]) if j["type"] == "LAUNCH"]


def test_failover_with_a_cleared_failure_on_two_celery_workers(redis_broker, stack, estate):
    plan, sessions = estate
    api, hub, dr = stack.api, sessions[None], plan.regions.dr
    assert roles(plan, sessions)["orders-db"]["writer"] == "primary"
    broken = plan.resources[BROKEN].config["sourceServerId"]
    hub_unit = next(u.unit_id for u in plan.waves[1].units if BROKEN in u.resource_ids)
    spoke_unit = next(u.unit_id for u in plan.waves[1].units if u.action == "DRS" and BROKEN not in u.resource_ids)
    api.unpause()
    t0 = time.monotonic()
    api.trigger(RUN_ID, CONF)
    stack.note(f"{RUN_ID}: triggered")

    # Wave 1 done, gate 1 waits. Break the server now: preflight has passed, wave 2 has not started.
    wait_for_gate(stack, RUN_ID, "approve_wave_2")
    set_launch_fails(stack.sim.url, plan.hub_account_id, dr, broken, True)
    assert api.answer_gate(RUN_ID, "approve_wave_2", "Approve")["chosen_options"] == ["Approve"]

    # The hub's DRS unit fails (after its retry); the report task records it and fails the run.
    run = wait_until_finished(stack, RUN_ID, timeout=420)
    tis = task_instances(api, RUN_ID)
    failed = [ti for ti in tis if ti["state"] == "failed"]
    assert run["state"] == "failed", summary(api.task_states(RUN_ID))
    assert {(ti["task_id"], ti["rendered_map_index"]) for ti in failed} == {
        (DRS_INSTANTIATE, hub_unit), ("report", None)}, [(ti["task_id"], ti["rendered_map_index"]) for ti in failed]
    (failed_unit,) = [ti for ti in failed if ti["task_id"] == DRS_INSTANTIATE]
    assert failed_unit["try_number"] == 2  # the first attempt and its retry
    report = api.xcom(RUN_ID, "report", "report")  # over REST: whichever worker wrote its local copy
    assert report["outcome"] == "failed", report["outcome"]
    (failure,) = [f for f in report["failures"] if f["task"] == DRS_INSTANTIATE]
    assert failure["unit_id"] == hub_unit and failure["error"].startswith(f"{BROKEN}: DRS launch of {broken} FAILED"), failure
    assert roles(plan, sessions)["www-dns"] == ["web-use1.acme.example."]  # wave 3 did not run
    stack.note(f"{RUN_ID}: failed as expected at {DRS_INSTANTIATE}[{hub_unit}] ({time.monotonic() - t0:.0f}s)")

    # Repair, then clear the failed unit and everything downstream of it over REST.
    set_launch_fails(stack.sim.url, plan.hub_account_id, dr, broken, False)
    cleared = api.call("POST", f"/dags/{DAG_ID}/clearTaskInstances", json={
        "dry_run": False, "dag_run_id": RUN_ID, "task_ids": [[DRS_INSTANTIATE, failed_unit["map_index"]]],
        "include_downstream": True, "only_failed": True, "note": "app-03 launch repaired (e2e)"})
    cleared_ids = {(ti["task_id"], ti["map_index"]) for ti in cleared["task_instances"]}
    finished = {(ti["task_id"], ti["map_index"]) for ti in tis if ti["state"] == "success"}
    assert (DRS_INSTANTIATE, failed_unit["map_index"]) in cleared_ids and ("report", -1) in cleared_ids
    assert ("approve_wave_3", -1) in cleared_ids and not cleared_ids & finished, sorted(cleared_ids & finished)
    stack.note(f"{RUN_ID}: cleared {len(cleared_ids)} task instances")

    for gate in ("approve_wave_3", "approve_cleanup"):
        wait_for_gate(stack, RUN_ID, gate)
        assert api.answer_gate(RUN_ID, gate, "Approve")["chosen_options"] == ["Approve"]
    run = wait_until_finished(stack, RUN_ID, timeout=420)
    states = api.task_states(RUN_ID)
    assert run["state"] == "success", summary(states)
    assert outcomes(states) == {"success"}, summary(states)
    stack.note(f"{RUN_ID}: succeeded ({time.monotonic() - t0:.0f}s after the trigger)")

    # The estate serves from the DR region (read back from the simulator).
    after = roles(plan, sessions)
    assert after["www-dns"] == ["web-usw2.acme.example."] and after["payments-dns"] == ["10.20.0.10"]
    assert after["orders-db"]["writer"] == "dr" and after["billing-db"]["writer"] == "dr"
    assert after["orders-api"] == {"primary": 0, "dr": 4} and after["payments-api"] == {"primary": 0, "dr": 3}
    # One recovery instance per server; the cleared unit launched the broken server alone, once more.
    for session, count in ((hub, 8), (sessions["222222222222"], 4)):
        items = session.client("drs", region_name=dr).describe_recovery_instances(filters={})["items"]
        assert len({i["sourceServerID"] for i in items}) == len(items) == count
    jobs = launch_jobs(hub, dr)
    assert len(jobs) == 3 and len(jobs[0]) == 8 and jobs[1:] == [[broken], [broken]], jobs

    # Task instances of this one run ran on both workers (and only on them); the rollback's tasks, skipped
    # in a failover without ever running, have no host.
    tis = task_instances(api, RUN_ID)
    hosts = Counter(ti["hostname"] for ti in tis if ti["state"] != "skipped")
    stack.note(f"{RUN_ID}: task instances per worker: {dict(hosts)}")
    assert set(hosts) == set(WORKERS), dict(hosts)

    # DRS launches waited in the triggerer: each unit ran a second round after its deferred wait,
    # and its log (read over REST, wherever the worker wrote it) says it deferred.
    by_unit = {ti["rendered_map_index"]: ti for ti in tis if ti["task_id"] == DRS_INSTANTIATE}
    for unit in (hub_unit, spoke_unit):
        ti = by_unit[unit]
        record = mapped_xcom(api, RUN_ID, DRS_INSTANTIATE, ti["map_index"], "record")
        assert record["outcome"] == "succeeded" and record["rounds"] >= 2, record
        log = task_log(api, RUN_ID, DRS_INSTANTIATE, ti["map_index"], ti["try_number"])
        assert "waiting (deferred, no worker slot held)" in log and "Trigger fired event" in log  # worker, triggerer
    assert by_unit[hub_unit]["try_number"] == 3  # two failed attempts, then the one after the clear

    # The report: in the metadata database, complete, whichever worker ran the report task.
    report = api.xcom(RUN_ID, "report", "report")
    assert report["outcome"] == "succeeded" and report["rto"]["met"] is True
    assert {a["gate"]: (a["decision"], a["by"]) for a in report["approvals"]} == {
        g: ("approved", "admin") for g in ("approve_wave_2", "approve_wave_3", "approve_cleanup")}
    local = [w for w in WORKERS if (stack.airflow.report_dir / w / DAG_ID / RUN_ID / "report.json").is_file()]
    assert local, "no worker kept a local copy"
    stack.note(f"{RUN_ID}: local report copies on {local}")

