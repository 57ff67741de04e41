"""A tag-driven estate through Airflow (dag.test) against the simulator server: discover, deploy the
snapshot, fail over; a resource tagged after the snapshot stops the next failover in preflight; a
manifest's readiness run names a tagged resource the manifest forgot.

Not the demo: another customer, Europe -> Asia-Pacific, hub and spoke accounts, four waves.
"""

from __future__ import annotations

import pytest
import yaml
from awssim.kits import DR, PRIMARY, kit_for
from awssim.kits.lambda_function import seed_function
from awssim.seed import seed_estate
from awssim.snapshot import serving_roles, serving_sides
from awssim.synthetic import synthetic_manifest

from dag_run_helpers import report_of, run
from notifications import events, subscribe_queue

pytestmark = pytest.mark.airflow

CUSTOMER = "initech"
REGIONS = {"primary": "eu-west-3", "dr": "ap-southeast-1"}
CONFIRM = f"{CUSTOMER}/production"


def _scope(data: dict) -> dict:
    """The manifest's tag-driven twin: Route 53 records hand-listed, the rest found by tags."""
    scope = {k: v for k, v in data.items() if k != "layers"}
    scope["layers"] = [{**layer, "resources": [r for r in layer["resources"] if r["action"] == "R53Record"]}
                       for layer in data["layers"]]
    scope["layers"] = [layer for layer in scope["layers"] if layer["resources"]]
    scope["discovery"] = {"method": "resource-explorer"}
    return scope


@pytest.fixture
def tagged_estate(sim, monkeypatch, tmp_path):
    from dr_adapters.cli import main
    from dr_adapters.orchestration.factory import build_dags
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)
    sim.reset()
    data = synthetic_manifest(CUSTOMER, resources=16, waves=4, regions=REGIONS)
    hand = tmp_path / "hand" / "manifests" / f"{CUSTOMER}.yaml"
    hand.parent.mkdir(parents=True)
    hand.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = build_plan(load_manifest(hand), str(hand))
    estate = seed_estate(plan)

    scope = tmp_path / "manifests" / f"{CUSTOMER}-scope.yaml"
    scope.parent.mkdir()
    scope.write_text(yaml.safe_dump(_scope(data), sort_keys=False))
    assert main(["discover", str(scope)]) == 0  # writes tmp/inventory/<manifestId>.yaml
    monkeypatch.setenv("DR_MANIFEST_DIR", str(scope.parent))

    def dag(folder=scope.parent):  # a fresh DAG per run: dag.test in one process lets conf leak into params
        return build_dags(folder)[plan.dag_id]

    return plan, estate, dag, hand.parent


def _tag_new_function(estate, name: str, wave: str) -> None:
    seed_function(estate.sessions[None], REGIONS["primary"], name=name,
                  tags={"Customer": CUSTOMER, "Environment": "production", "dr:enabled": "true", "dr:wave": wave})


def test_a_discovered_estate_fails_over_and_drift_stops_the_next_failover(tagged_estate):
    plan, estate, dag, _ = tagged_estate
    built = dag()
    assert built.doc_md and plan.dag_id == built.dag_id
    before = serving_roles(plan, estate)

    # tagged after the snapshot: the failover stops in preflight, naming it, having changed nothing
    _tag_new_function(estate, f"{CUSTOMER}-late-addition", "2")
    dag_run, states = run(dag(), {"operation": "failover", "confirm": CONFIRM})
    assert str(dag_run.state) == "failed"
    assert states[("preflight", -1)] == "failed"
    assert not [k for k, s in states.items() if k[0] not in ("preflight", "report") and s == "success"]
    report = report_of(dag_run)
    drift = [f["message"] for f in report["preflight"]["tagged_estate"] if not f["ok"]]
    assert any(f"{CUSTOMER}-late-addition" in m and "not in the plan" in m and "discover" in m for m in drift), drift
    assert serving_roles(plan, estate) == before  # zero changes in AWS

    # untagged again: the snapshot matches, and the discovered estate fails over to DR
    estate.sessions[None].client("lambda", region_name=REGIONS["primary"]).untag_resource(
        Resource=f"arn:aws:lambda:{REGIONS['primary']}:123456789012:function:{CUSTOMER}-late-addition",
        TagKeys=["dr:enabled"])
    sqs, queue = subscribe_queue(estate.sessions[None], plan.sns_topic_arn)
    dag_run, states = run(dag(), {"operation": "failover", "confirm": CONFIRM, "approval_mode": "automatic"},
                          decide=lambda task_id: None)  # nobody answers: approval_mode=automatic never waits
    assert str(dag_run.state) == "success", {k: s for k, s in states.items() if s != "success"}
    assert {(a["decision"], a["waited_seconds"]) for a in report_of(dag_run)["approvals"]} == {("automatic", 0.0)}
    sent = events(sqs, queue)  # no approval asked; each wave announced as it completed, healthy
    assert [e["event"] for e in sent] == ["run_started"] + ["wave_completed"] * len(plan.waves) + ["run_succeeded"]
    assert [(e["wave"], e["health"]) for e in sent[1:-1]] == [(w.number, "HEALTHY") for w in plan.waves]
    assert set(serving_sides(plan, estate).values()) == {DR}
    not_in_dr = [r for r, spec in plan.resources.items() if not kit_for(spec.action).serves_in(estate, spec, DR)]
    assert not_in_dr == []
    assert any("matches the snapshot" in f["message"] for f in report_of(dag_run)["preflight"]["tagged_estate"])


def test_a_manifest_readiness_run_names_a_tagged_resource_it_does_not_list(tagged_estate):
    plan, estate, _, hand_folder = tagged_estate
    from dr_adapters.orchestration.factory import build_dags

    _tag_new_function(estate, f"{CUSTOMER}-forgotten", "3")
    dag_run, states = run(build_dags(hand_folder)[plan.dag_id], {"operation": "readiness"})
    assert str(dag_run.state) == "success", states  # a warning, unless the manifest says unprotectedResources: error
    found = report_of(dag_run)["preflight"]["tagged_estate"]
    assert [f["message"] for f in found if f"{CUSTOMER}-forgotten" in f["message"]] == [
        f"warning: unprotected: {CUSTOMER}-forgotten (LambdaFunction, arn:aws:lambda:{REGIONS['primary']}:123456789012:"
        f"function:{CUSTOMER}-forgotten) is tagged for wave 3 but not in the manifest -- add it to the manifest "
        "(or remove its dr:enabled tag)"]
    assert set(serving_sides(plan, estate).values()) == {PRIMARY}
