"""Readiness through Airflow (dag.test) against the simulator server: it fails on what a failover would meet
part-way, not only on the resources themselves -- here a DR ECS service that INSTANTIATE would create, in a
DR cluster that was deleted (AWS refuses CreateService there, after earlier waves switched databases)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from awssim.snapshot import serving_roles

from dag_run_helpers import report_of, run

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]
CREATED = ("orders-api", "web-frontend")  # the DR services of the acme-prod cluster, created by INSTANTIATE


@pytest.fixture
def created_by_instantiate(estate, tmp_path):
    """The demo manifest, its acme-prod services given a taskDefinition (INSTANTIATE creates a missing DR copy)."""
    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    for layer in data["layers"]:
        for resource in layer["resources"]:
            if resource["resourceId"] in CREATED:
                resource["config"]["taskDefinition"] = resource["config"]["service"]
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "acme-production.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def test_readiness_fails_naming_a_deleted_dr_cluster(estate, created_by_instantiate):
    from awssim.seed import plan_estate
    from dr_adapters.orchestration.factory import build_dags

    plan, sessions = estate
    ecs = sessions[None].client("ecs", region_name=plan.regions.dr)
    for service in CREATED:  # AWS deletes no cluster with active services: the DR copies go first
        ecs.delete_service(cluster="acme-prod", service=service, force=True)
    ecs.delete_cluster(cluster="acme-prod")
    before = serving_roles(plan, plan_estate(plan))

    dag_run, states = run(build_dags(created_by_instantiate)["dr_acme_production"], {"operation": "readiness"})

    assert str(dag_run.state) == "failed" and states[("preflight", -1)] == "failed", states
    (failure,) = report_of(dag_run)["failures"]
    # only the two services: a missing DR copy with a taskDefinition is fine, its deleted cluster is not
    assert failure["task"] == "preflight" and sorted(failure["resources"]) == sorted(CREATED), failure
    dr = plan.regions.dr
    for service in CREATED:
        assert (f"{service}: ECS cluster acme-prod in {dr} is INACTIVE (deleted): AWS refuses to create or scale "
                f"ECS service acme-prod/{service} in {dr} in it -- create the cluster in {dr}") in failure["error"]
    assert serving_roles(plan, plan_estate(plan)) == before  # a readiness run changes nothing
