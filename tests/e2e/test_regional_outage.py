"""The disaster itself under a real Airflow (``airflow standalone``), driven over REST only: the
primary region dark from the start, an unplanned failover of an estate whose primary is not
us-east-1 (all five technologies, hub and spoke), gates approved through the HITL endpoint.

The simulator serves the umbrella estate (tests/outage_estate.py) and takes eu-west-1 dark through
its control endpoint; the orchestrator works from the DR region (``DR_ORCHESTRATOR_REGION``).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from awssim.kits import DR, kit_for
from awssim.seed import plan_estate

from notifications import events, subscribe_queue
from outage_estate import CONFIRM, DAG_ID, REGIONS, REPORT_BUCKETS, write_manifest
from runs import report_of, summary, wait_for_gate, wait_until_finished

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MANIFESTS = Path(tempfile.mkdtemp(prefix="dr-e2e-outage-"))
MANIFEST = write_manifest(MANIFESTS)
SIMULATOR_SEED = str(MANIFESTS)
E2E_DAG_ID = DAG_ID
STANDALONE_ENV = {"DR_MANIFEST_DIR": str(MANIFESTS), "DR_ORCHESTRATOR_REGION": REGIONS["dr"]}


def test_unplanned_failover_with_the_primary_dark_over_rest(stack, monkeypatch):
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    api, sim = stack.api, stack.sim.url
    monkeypatch.setenv("AWS_ENDPOINT_URL", sim)
    plan = build_plan(load_manifest(MANIFEST), str(MANIFEST))
    estate = plan_estate(plan)
    sqs, queue = subscribe_queue(estate.sessions[None], plan.fallback_topic_arns[0])  # the live region's topic

    dark = requests.post(f"{sim}/_awssim/outage", json={"regions": [REGIONS["primary"]], "reset_counts": True},
                         timeout=10).json()
    assert dark["regions"] == [REGIONS["primary"]]
    try:
        api.unpause(DAG_ID)
        run_id = "e2e-unplanned-primary-dark"
        conf = {"operation": "failover", "confirm": CONFIRM, "failover_mode": "unplanned"}
        assert api.trigger(run_id, conf, DAG_ID)["state"] == "queued"
        for gate in (f"approve_wave_{n}" for n in plan.wave_numbers[1:]):
            wait_for_gate(stack, run_id, gate)
            assert api.answer_gate(run_id, gate, "Approve", DAG_ID)["chosen_options"] == ["Approve"]
        run = wait_until_finished(stack, run_id)
        states = api.task_states(run_id, DAG_ID)
        outage = requests.get(f"{sim}/_awssim/outage", timeout=10).json()
    finally:
        requests.post(f"{sim}/_awssim/outage", json={"regions": []}, timeout=10)

    assert run["state"] == "success", summary(states)
    # cleanup and replicate of the dark side were not attempted; the cleanup gate did not wait
    assert {s for (t, _), s in states.items() if t in ("cleanup", "replicate")} <= {"skipped"}, summary(states)
    assert states[("approve_cleanup", -1)] == "success"
    # the simulator refused the dark region only its probe, during preflight: nothing after it
    preflight = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/preflight")
    preflight_end = datetime.fromisoformat(preflight["end_date"].replace("Z", "+00:00")).timestamp()
    refused = [(t, service) for t, region, service in outage["refused_log"] if region == REGIONS["primary"]]
    assert refused and all(service == "sts" and t <= preflight_end for t, service in refused), refused
    # every resource serves from DR (read back from the simulator once the region is up again)
    not_in_dr = [r for r, spec in plan.resources.items() if not kit_for(spec.action).serves_in(estate, spec, DR)]
    assert not_in_dr == []
    # the report: in the live region's bucket (and locally), unplanned, what was deferred, the exposure
    report = report_of(stack, run_id)
    assert report["failover_mode"] == "unplanned" and {d["phase"] for d in report["deferred"]} == {"CLEANUP", "REPLICATE"}
    assert {e["resource_id"] for e in report["data_loss_exposure"]} == {
        r for r, s in plan.resources.items() if s.action in ("DRS", "AuroraMySQL")}
    s3 = estate.sessions[None].client("s3", region_name=REGIONS["dr"])
    stored = s3.get_object(Bucket=REPORT_BUCKETS["dr"], Key=f"dr-reports/{DAG_ID}/{run_id}.json")["Body"].read()
    assert b'"failover_mode": "unplanned"' in stored
    # run_succeeded reached the SQS subscriber of the live region's topic
    sent: list[str] = []
    for _ in range(10):
        sent += [e["event"] for e in events(sqs, queue)]
        if "run_succeeded" in sent:
            break
        time.sleep(1)
    assert "run_succeeded" in sent, sent
