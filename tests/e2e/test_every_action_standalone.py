"""Every action of the manifest format in one estate, five waves, under a real Airflow (``airflow
standalone``) driven over REST only: a failover whose ``SsmAutomation`` step fails at a named step
(blocking the next wave), is flipped and cleared with the command the notification gives, a
``ManualStep`` confirmed over the HITL endpoint, then a failback; the estate returns to its starting
snapshot, and the reports name who confirmed the manual step.

Europe -> Asia-Pacific, hub and spoke, one resource per simulator kit (``every_kit_manifest``) plus
the manual step in the last wave.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from awssim.kits import DR, PRIMARY, all_kits
from awssim.seed import plan_estate
from awssim.snapshot import serving_roles, serving_sides
from awssim.ssm_automation import OUTCOME_TAG, outcome_tag
from awssim.synthetic import every_kit_manifest

from runs import report_of, summary, wait_for_gate, wait_until_finished

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

CUSTOMER = "soylent"
REGIONS = {"primary": "eu-central-1", "dr": "ap-southeast-2"}
WAVES = 5
DAG_ID = f"dr_{CUSTOMER}_production"
CONFIRM = f"{CUSTOMER}/production"
MANUAL = "confirm-partner-allowlist"
MANUAL_TASK = f"wave_{WAVES}.manual_{MANUAL}"
FAILING_STEP = "switchTraffic"


def write_manifest(folder: Path) -> Path:
    manifest = every_kit_manifest(CUSTOMER, REGIONS, waves=WAVES)
    manifest["layers"][-1]["resources"].append({
        "resourceId": MANUAL, "action": "ManualStep",
        "config": {"title": "Partner allow-list switched",
                   "instructions": "Ask the payment partner to allow the DR egress addresses; confirm with a test payment.",
                   "failbackInstructions": "Ask the payment partner to allow the primary egress addresses again.",
                   "phase": "VALIDATE"},
    })
    path = folder / f"{CUSTOMER}-production.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


MANIFESTS = Path(tempfile.mkdtemp(prefix="dr-e2e-every-action-"))
MANIFEST = write_manifest(MANIFESTS)
SIMULATOR_SEED = str(MANIFESTS)
E2E_DAG_ID = DAG_ID
STANDALONE_ENV = {"DR_MANIFEST_DIR": str(MANIFESTS), "DR_ORCHESTRATOR_REGION": REGIONS["dr"]}


def ssm_document(estate, resource, region: str):
    """The runbook step's Automation document in one region: (the SSM client, its name)."""
    ssm = estate.session(resource.account_id).client("ssm", region_name=region)
    return ssm, resource.config["documentName"].rsplit("/", 1)[-1]


def answer_manual_step(stack, run_id: str, pauses: int = 1) -> None:
    wait_for_gate(stack, run_id, MANUAL_TASK, timeout=600, pauses=pauses)
    answer = stack.api.answer_gate(run_id, MANUAL_TASK, "Done", DAG_ID)
    assert answer["chosen_options"] == ["Done"]


def test_every_action_fails_over_through_a_failed_runbook_step_and_back(stack, monkeypatch):
    from dr_adapters.orchestration.operators import retry_actions
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    api = stack.api
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.sim.url)
    plan = build_plan(load_manifest(MANIFEST), str(MANIFEST))
    assert len(plan.waves) == WAVES
    assert {r.action for r in plan.resources.values()} == {k.actions[0] for k in all_kits()} | {"ManualStep"}
    estate = plan_estate(plan)
    before = serving_roles(plan, estate)
    assert set(serving_sides(plan, estate).values()) == {PRIMARY}
    (runbook,) = [r for r in plan.resources.values() if r.action == "SsmAutomation"]
    runbook_wave = next(w.number for w in plan.waves if runbook.resource_id in w.resource_ids)
    assert runbook_wave < WAVES  # so its failure has a next wave to block

    # the runbook step's document fails at a named step in the region the failover moves to
    ssm, document = ssm_document(estate, runbook, REGIONS["dr"])
    ssm.add_tags_to_resource(ResourceType="Document", ResourceId=document,
                             Tags=[outcome_tag(FAILING_STEP, "payment gateway did not drain")])
    api.unpause(DAG_ID)
    run_id = "e2e-every-action-failover"
    assert api.trigger(run_id, {"operation": "failover", "confirm": CONFIRM}, DAG_ID)["state"] == "queued"
    run = wait_until_finished(stack, run_id, timeout=900)
    states = api.task_states(run_id, DAG_ID)
    assert run["state"] == "failed", summary(states)
    failures = report_of(stack, run_id)["failures"]
    (failure,) = [f for f in failures if runbook.resource_id in f["resources"]]
    assert FAILING_STEP in failure["error"] and "payment gateway did not drain" in failure["error"], failure
    assert {s for (t, _), s in states.items() if t.startswith(f"wave_{runbook_wave + 1}.")} == {"upstream_failed"}
    blocked = [r for w in plan.waves if w.number > runbook_wave for r in w.resource_ids if r != MANUAL]
    sides = serving_sides(plan, estate)
    assert {sides[r] for r in blocked} == {PRIMARY}  # the next wave did not run

    # the operator fixes it (the document now succeeds) and clears with the notification's REST call
    ssm.remove_tags_from_resource(ResourceType="Document", ResourceId=document, TagKeys=[OUTCOME_TAG])
    retry = retry_actions(DAG_ID, run_id)["rest"]
    cleared = api.http.post(f"{api.url}{retry['path']}", json=retry["body"], timeout=30)
    assert cleared.status_code == 200, cleared.text
    answer_manual_step(stack, run_id)
    run = wait_until_finished(stack, run_id, timeout=900)
    assert run["state"] == "success", summary(api.task_states(run_id, DAG_ID))
    assert set(serving_sides(plan, estate).values()) == {DR}, serving_roles(plan, estate)
    report = report_of(stack, run_id)
    (step,) = report["manual_steps"]
    assert (step["outcome"], step["by"]) == ("confirmed", "admin"), step
    assert any(a["task"].startswith(f"wave_{runbook_wave}.") for a in report["earlier_attempts"])

    run_id = "e2e-every-action-failback"
    assert api.trigger(run_id, {"operation": "failback", "confirm": CONFIRM}, DAG_ID)["state"] == "queued"
    answer_manual_step(stack, run_id)
    run = wait_until_finished(stack, run_id, timeout=900)
    assert run["state"] == "success", summary(api.task_states(run_id, DAG_ID))
    assert serving_roles(plan, estate) == before
    (step,) = report_of(stack, run_id)["manual_steps"]
    assert (step["outcome"], step["by"]) == ("confirmed", "admin"), step
