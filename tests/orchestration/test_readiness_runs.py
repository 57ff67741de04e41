"""Readiness through Airflow (dag.test) against the simulator server: it fails on what a failover would meet
part-way, not only on the resources themselves -- here a DR ECS service that INSTANTIATE would create, in a
DR cluster that was deleted (AWS refuses CreateService there, after earlier waves switched databases).

And it is cheap: a worker runs the preflight and the report, nothing else -- preflight skips every other
task in one step instead of each starting only to skip itself (tests/e2e/test_standalone.py counts the
same under a real scheduler).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from awssim.snapshot import serving_roles

from dag_run_helpers import report_of, run, xcom_of

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
    assert ran_on_a_worker(dag_run) == [("preflight", -1), ("report", -1)]  # the scheduler blocked the rest
    (failure,) = report_of(dag_run)["failures"]
    # only the two services: a missing DR copy with a taskDefinition is fine, its deleted cluster is not
    assert failure["task"] == "preflight" and sorted(failure["resources"]) == sorted(CREATED), failure
    dr = plan.regions.dr
    for service in CREATED:
        assert (f"{service}: ECS cluster acme-prod in {dr} is INACTIVE (deleted): AWS refuses to create or scale "
                f"ECS service acme-prod/{service} in {dr} in it -- create the cluster in {dr}") in failure["error"]
    assert serving_roles(plan, plan_estate(plan)) == before  # a readiness run changes nothing


def timeless(value) -> str:
    """A report part or findings without the times they measured ("searched in 0.2 s")."""
    return re.sub(r"\d+(\.\d+)? ?(s|ms)\b", "<time>", json.dumps(value, sort_keys=True))


def ran_on_a_worker(dag_run) -> list[tuple[str, int]]:
    """The task instances a worker ran: queued to it (a try number) or started by its task runner (a host,
    a process id). A task instance skipped from preflight gets none of them."""
    return sorted((ti.task_id, ti.map_index) for ti in dag_run.get_task_instances()
                  if ti.try_number or ti.hostname or ti.pid)


def test_a_readiness_run_runs_preflight_and_the_report_only_with_the_same_findings(dag, estate, monkeypatch):
    from awssim.seed import plan_estate
    from dr_adapters.orchestration.preflight_task import PreflightOperator

    plan, _ = estate
    before = serving_roles(plan, plan_estate(plan))
    with monkeypatch.context() as as_before:  # the code before: preflight checks, every other task runs to skip
        as_before.setattr(PreflightOperator, "_skip_all_but_the_report", lambda self, context, why, keep=None: None)
        old_run, old_states = run(dag, {"operation": "readiness"})
    new_run, new_states = run(dag, {"operation": "readiness"})

    assert str(old_run.state) == str(new_run.state) == "success", new_states
    assert len(ran_on_a_worker(old_run)) == len(old_states) > 2  # every task instance of the DAG started
    assert ran_on_a_worker(new_run) == [("preflight", -1), ("report", -1)]
    assert {k: s for k, s in new_states.items() if k[0] not in ("preflight", "report")} == \
        {k: "skipped" for k in old_states if k[0] not in ("preflight", "report")}  # every map index, every gate
    old, new = report_of(old_run), report_of(new_run)
    assert new["outcome"] == old["outcome"] == "succeeded"
    for part in ("preflight", "failures", "failed_tasks", "waves", "after_waves", "resources", "aws_changes"):
        assert timeless(new[part]) == timeless(old[part]), part
    old_findings, new_findings = xcom_of(old_run, "preflight", "record"), xcom_of(new_run, "preflight", "record")
    assert timeless(new_findings["findings"]) == timeless(old_findings["findings"])
    assert len(new_findings["findings"]) >= len(plan.resources)
    # before, each gate ran only to pass at once ("automatic"); now no gate runs in a readiness check
    assert {a["decision"] for a in old["approvals"]} == {"automatic"} and new["approvals"] == []
    assert serving_roles(plan, plan_estate(plan)) == before  # a readiness run changes nothing
