"""The disaster itself, through Airflow (dag.test) against the simulator server: the primary region dark.

The estate is not the demo: another customer, Europe -> Asia-Pacific (so Route 53's us-east-1 control
plane stays up), all five technologies, hub and spoke accounts, report buckets and notification
topics in both regions. Assertions are on AWS end state read back from the simulator, on what the
simulator refused, on the report and on the notifications an SQS subscriber received.
"""

from __future__ import annotations

import json
import time

import pytest
from awssim.kits import DR, PRIMARY, kit_for
from awssim.seed import seed_estate
from awssim.snapshot import serving_roles, serving_sides

from dag_run_helpers import report_of, run
from notifications import events, subscribe_queue
from outage_estate import CONFIRM, CUSTOMER, write_manifest

pytestmark = pytest.mark.airflow


@pytest.fixture
def outage_estate(sim, monkeypatch, tmp_path):
    from dr_adapters.orchestration.factory import build_dags
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)
    sim.reset()
    sim.outage()
    path = write_manifest(tmp_path)
    monkeypatch.setenv("DR_MANIFEST_DIR", str(tmp_path))  # dag.test finds its DAG by parsing the dags folder
    plan = build_plan(load_manifest(path), str(path))
    estate = seed_estate(plan)

    def dag():  # a fresh DAG per run: dag.test in one process lets a run's conf leak into params
        return build_dags(tmp_path)[plan.dag_id]

    yield plan, estate, dag
    sim.outage()


def test_unplanned_failover_with_the_primary_dark_from_the_start(outage_estate, sim):
    plan, estate, dag = outage_estate
    assert set(serving_sides(plan, estate).values()) == {PRIMARY}
    before = serving_roles(plan, estate)
    sqs, queue = subscribe_queue(estate.sessions[None], plan.fallback_topic_arns[0])  # the live region's topic

    sim.outage(plan.regions.primary)
    started = time.time()
    dag_run, states = run(dag(), {"operation": "failover", "confirm": CONFIRM, "failover_mode": "unplanned"})
    refused = sim.outage_state()["refused_log"]
    sim.outage()

    assert str(dag_run.state) == "success", states
    report = report_of(dag_run)
    # nothing reached for the dark region after the preflight probe: only its STS probe was refused
    preflight_end = report_preflight_end(dag_run)
    mine = [(t, region, service) for t, region, service in refused if t >= started and region == plan.regions.primary]
    assert mine and all(service == "sts" and t <= preflight_end for t, _, service in mine), mine
    # every resource serves from DR (read once the region is back)
    not_in_dr = [r for r, spec in plan.resources.items() if not kit_for(spec.action).serves_in(estate, spec, DR)]
    assert not_in_dr == [], {r: serving_roles(plan, estate)[r] for r in not_in_dr}
    # the old side was left alone: cleanup and replicate are deferred, not attempted
    skipped = {t: s for (t, _), s in states.items() if t in ("cleanup", "replicate")}
    assert set(skipped.values()) <= {"skipped"}
    assert report["failover_mode"] == "unplanned"
    assert {(d["phase"], d["region"]) for d in report["deferred"]} == {("CLEANUP", plan.regions.primary),
                                                                       ("REPLICATE", plan.regions.primary)}
    exposed = {e["resource_id"] for e in report["data_loss_exposure"]}
    assert exposed == {r for r, s in plan.resources.items() if s.action in ("DRS", "AuroraMySQL")}
    assert [a["decision"] for a in report["approvals"]][-1] == "automatic"  # approve_cleanup did not wait
    # the report sits in the live region's bucket; run_succeeded reached the live region's topic
    key = f"dr-reports/{plan.dag_id}/{dag_run.run_id.replace(':', '_').replace('+', '_')}.json"
    s3 = {side: estate.sessions[None].client("s3", region_name=region)
          for side, region in ((PRIMARY, plan.regions.primary), (DR, plan.regions.dr))}
    stored = json.loads(s3[DR].get_object(Bucket=f"{CUSTOMER}-dr-reports-ap", Key=key)["Body"].read())
    assert stored["run_id"] == dag_run.run_id and stored["failover_mode"] == "unplanned"
    assert s3[PRIMARY].list_objects_v2(Bucket=f"{CUSTOMER}-dr-reports-eu").get("KeyCount", 0) == 0
    sent = [e["event"] for e in events(sqs, queue)]
    assert sent[0] == "run_started" and sent[-1] == "run_succeeded", sent
    assert serving_roles(plan, estate) != before

    # The region is back: reprotect runs what was deferred (the old side retired, replication
    # reversed), then a failback returns the estate to the snapshot taken before the outage.
    dag_run, states = run(dag(), {"operation": "reprotect", "confirm": CONFIRM})
    assert str(dag_run.state) == "success", states
    report = report_of(dag_run)
    assert report["operation"] == "reprotect" and report["aws_changes"] > 0
    assert set(serving_sides(plan, estate).values()) == {DR}  # DR alone serves, replicating back
    dag_run, states = run(dag(), {"operation": "reprotect", "confirm": CONFIRM})  # idempotent
    assert str(dag_run.state) == "success" and report_of(dag_run)["aws_changes"] == 0, states
    # a drill in the new direction (DR -> primary) passes and changes nothing
    reprotected = serving_roles(plan, estate)
    dag_run, states = run(dag(), {"operation": "drill", "direction": "failback"})
    assert str(dag_run.state) == "success", states
    assert serving_roles(plan, estate) == reprotected
    assert all(kit_for(a).leftovers(estate) == [] for a in {s.action for s in plan.resources.values()})
    dag_run, states = run(dag(), {"operation": "failback", "confirm": CONFIRM})
    assert str(dag_run.state) == "success", states
    assert serving_roles(plan, estate) == before


def report_preflight_end(dag_run) -> float:
    from datetime import datetime

    for ti in dag_run.get_task_instances():
        if ti.task_id == "preflight":
            return datetime.fromisoformat(str(ti.end_date)).timestamp()
    raise AssertionError("no preflight task")


def test_a_planned_failover_with_the_primary_dark_stops_in_preflight(outage_estate, sim):
    plan, estate, dag = outage_estate
    before = serving_roles(plan, estate)
    sim.outage(plan.regions.primary)
    started = time.monotonic()
    dag_run, states = run(dag(), {"operation": "failover", "confirm": CONFIRM})
    sim.outage()
    assert str(dag_run.state) == "failed"
    assert states[("preflight", -1)] == "failed"
    report = report_of(dag_run)
    failure = report["failures"][0]
    assert failure["task"] == "preflight" and plan.regions.primary in failure["error"]
    assert "failover_mode=unplanned" in failure["error"]
    assert report["aws_changes"] == 0 and time.monotonic() - started < 120
    assert serving_roles(plan, estate) == before  # nothing changed


def go_dark_after_wave(plan, sim, monkeypatch, wave: int) -> None:
    """The primary goes dark once ``wave`` of the run is activated and validated (tasks run in this
    process under dag.test, so a validate task of that wave can pull the switch)."""
    from dr_adapters.orchestration.operators import ValidateOperator

    original = ValidateOperator.execute

    def execute(self, context):
        result = original(self, context)
        if self.wave == wave:
            sim.outage(plan.regions.primary)
        return result

    monkeypatch.setattr(ValidateOperator, "execute", execute)


@pytest.fixture
def dark_after_wave_1(outage_estate, sim, monkeypatch):
    go_dark_after_wave(outage_estate[0], sim, monkeypatch, outage_estate[0].wave_numbers[0])
    return outage_estate


def test_the_primary_goes_dark_after_wave_1_and_a_person_continues_unplanned(dark_after_wave_1, sim):
    plan, estate, dag = dark_after_wave_1
    decide = lambda task_id: "Continue unplanned" if task_id == "approve_wave_2" else "Approve"  # noqa: E731

    started = time.time()
    dag_run, states = run(dag(), {"operation": "failover", "confirm": CONFIRM}, decide=decide, user="dana")
    refused = sim.outage_state()["refused_log"]
    sim.outage()
    assert str(dag_run.state) == "success", states
    report = report_of(dag_run)
    assert report["failover_mode"] == "unplanned"
    assert report["switched_to_unplanned"]["gate"] == "approve_wave_2" and report["switched_to_unplanned"]["by"] == "dana"
    gate = next(a for a in report["approvals"] if a["gate"] == "approve_wave_2")
    assert gate["decision"] == "continued unplanned" and gate["by"] == "dana"
    # after the switch, the dark region was only probed (the gate's STS probe), never called
    mine = [service for t, region, service in refused if t >= started and region == plan.regions.primary]
    assert mine and set(mine) == {"sts"}, mine
    assert all(kit_for(spec.action).serves_in(estate, spec, DR) for spec in plan.resources.values())
    assert {r["state"] for r in report["resources"]} <= {"VALIDATE succeeded", "ACTIVATE succeeded"}
    assert {(d["phase"], d["region"]) for d in report["deferred"]} == {("CLEANUP", plan.regions.primary),
                                                                       ("REPLICATE", plan.regions.primary)}


def test_the_primary_goes_dark_after_wave_1_and_a_person_stops(dark_after_wave_1, sim):
    plan, estate, dag = dark_after_wave_1
    decide = lambda task_id: "Reject" if task_id == "approve_wave_2" else "Approve"  # noqa: E731
    dag_run, states = run(dag(), {"operation": "failover", "confirm": CONFIRM}, decide=decide, user="erin")
    sim.outage()
    assert str(dag_run.state) == "failed"
    report = report_of(dag_run)
    assert report["outcome"] == "rejected"
    # the report names every resource and where the run left it: wave 1 failed over, the rest untouched
    states_by_wave = {}
    for r in report["resources"]:
        states_by_wave.setdefault(r["wave"], set()).add(r["state"])
    assert {r["resource_id"] for r in report["resources"]} == set(plan.resources)
    assert states_by_wave[1] <= {"VALIDATE succeeded"} and all(
        states == {"not started"} for wave, states in states_by_wave.items() if wave > 1)
    wave_1 = {r for r, spec in plan.resources.items() if any(r in u.resource_ids for u in plan.wave(1).units)}
    assert all(kit_for(plan.resources[r].action).serves_in(estate, plan.resources[r], DR) for r in wave_1)


def test_a_cleanup_that_meets_a_dark_source_fails_fast_naming_it(outage_estate, sim, monkeypatch):
    """Dark after the last wave, and the cleanup approved all the same: its tasks fail at once (no
    retry), naming the region and how to go on."""
    plan, estate, dag = outage_estate
    go_dark_after_wave(plan, sim, monkeypatch, plan.wave_numbers[-1])
    started = time.monotonic()
    dag_run, states = run(dag(), {"operation": "failover", "confirm": CONFIRM})
    sim.outage()
    assert str(dag_run.state) == "failed" and time.monotonic() - started < 600
    report = report_of(dag_run)
    failed = [f for f in report["failures"] if f["task"].startswith("cleanup")]
    assert failed, report["failures"]
    assert all(plan.regions.primary in f["error"] and "Continue unplanned" in f["error"] for f in failed)
    gate = next(a for a in report["approvals"] if a["gate"] == "approve_cleanup")
    assert gate["decision"] == "approved"
