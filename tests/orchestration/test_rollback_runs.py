"""operation=rollback through Airflow (dag.test, simulator in server mode): a failover rejected at wave 2's
gate, or failed in wave 2, then a rollback: the estate serves exactly as in the snapshot taken before the
failover, and no DRS recovery instance is left running. A rollback run again changes nothing; a rollback
with nothing to undo fails in preflight, naming why, with zero mutating calls.

A generated estate (awssim.synthetic) of Aurora, DRS (hub and spoke), ECS, Lambda and Route 53 in three
waves, between two European regions (not the demo's): the layers are dealt so that waves 1 and 2 each
hold several technologies and DNS moves last.
"""

from __future__ import annotations

import pytest
import yaml
from awssim.drs import set_replication
from awssim.seed import seed_estate
from awssim.snapshot import serving_roles
from awssim.synthetic import HUB, SPOKE, synthetic_manifest

from aws_calls import record_aws_calls
from dag_run_helpers import recovery_instances, report_of, run

pytestmark = pytest.mark.airflow

REGIONS = {"primary": "eu-west-1", "dr": "eu-central-1"}
NOTIFY = "sns:Publish"


def changes(calls) -> list[str]:
    return [c for c in calls.mutating if c != NOTIFY]


def dealt_manifest(customer: str) -> dict:
    """A synthetic estate whose resources are dealt over waves 1 and 2 (each gets Aurora or DRS, ECS and
    Lambda), DNS in wave 3."""
    manifest = synthetic_manifest(customer, resources=12, waves=3, regions=REGIONS)
    items = [r for layer in manifest["layers"] for r in layer["resources"]]
    dns = [r for r in items if r["action"] == "R53Record"]
    rest = [r for r in items if r["action"] != "R53Record"]
    manifest["layers"] = [{"layerId": f"wave-{n + 1}", "priority": n + 1, "resources": resources}
                          for n, resources in enumerate((rest[::2], rest[1::2], dns))]
    return manifest


@pytest.fixture
def synthetic(sim, monkeypatch, tmp_path, request):
    """A freshly seeded estate of its own (a DAG id no other test's runs share); yields (dag, plan, estate)."""
    from dr_adapters.orchestration.factory import build_dags
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)
    sim.reset()
    customer = "rb" + request.node.name.split("_")[1][:6].lower()
    path = tmp_path / f"{customer}.yaml"
    path.write_text(yaml.safe_dump(dealt_manifest(customer), sort_keys=False))
    monkeypatch.setenv("DR_MANIFEST_DIR", str(tmp_path))
    plan = build_plan(load_manifest(path), str(path))
    assert len(plan.waves) == 3 and plan.approval_required
    assert len({u.action for u in plan.waves[0].units}) >= 3 and len({u.action for u in plan.waves[1].units}) >= 3
    estate = seed_estate(plan)
    return build_dags(tmp_path)[plan.dag_id], plan, estate


def confirm(plan) -> str:
    return f"{plan.scope.customer}/{plan.scope.environment}"


def live_recovery_instances(estate, plan) -> list[dict]:
    """Production (non-drill) recovery instances not terminated, in either region, hub and spoke."""
    return [ri for account in (None, SPOKE) for region in (plan.regions.primary, plan.regions.dr)
            for ri in recovery_instances(estate.session(account), region)
            if ri.get("ec2InstanceState") not in ("TERMINATED", "SHUTTING-DOWN")]


def hitl_request(dag_id: str, task_id: str) -> tuple[list[str], str]:
    """The options and body of the HITL request a waiting gate opened (what Required Actions shows)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id,
                                                       TaskInstance.state == TaskInstanceState.AWAITING_INPUT))
        detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
        return list(detail.options), detail.body


def rollback(dag, plan, **conf):
    with record_aws_calls() as calls:
        dag_run, states = run(dag, {"operation": "rollback", "confirm": confirm(plan), **conf})
    return dag_run, states, calls


def test_rejected_at_wave_2_then_rollback_restores_the_snapshot(synthetic):
    dag, plan, estate = synthetic
    before = serving_roles(plan, estate)

    failover, states = run(dag, {"operation": "failover", "confirm": confirm(plan)},
                           decide=lambda task_id: "Reject" if task_id == "approve_wave_2" else "Approve")
    assert str(failover.state) == "failed" and states[("approve_wave_2", -1)] == "failed"
    assert report_of(failover)["outcome"] == "rejected"
    moved = serving_roles(plan, estate)
    wave_1 = {r for u in plan.waves[0].units for r in u.resource_ids}
    assert {r for r in before if moved[r] != before[r]} <= wave_1 and moved != before  # wave 1 moved, no other
    assert live_recovery_instances(estate, plan)

    dag_run, states, calls = rollback(dag, plan)
    assert str(dag_run.state) == "success", {k: s for k, s in states.items() if s != "success"}
    assert serving_roles(plan, estate) == before
    assert live_recovery_instances(estate, plan) == []
    # only wave 1 was undone; the forward tasks never ran (skipped by preflight in one step)
    ran = {t for (t, _), s in states.items() if s == "success"}
    assert ran == {"preflight", "approve_rollback_wave_2", "approve_rollback_wave_1", "rollback_wave_1.undo",
                   "report"}, ran
    assert {s for (t, _), s in states.items() if t.startswith(("rollback_wave_2", "rollback_wave_3"))} == {"skipped"}
    assert calls.count("route53:ChangeResourceRecordSets") == 0  # DNS never moved: not touched
    assert calls.count("drs:TerminateRecoveryInstances") >= 1  # wave 1's servers' recovery instances
    assert calls.count("drs:ReverseReplication") == 0 and calls.count("ec2:StopInstances") == 0
    report = report_of(dag_run)
    assert report["operation"] == "rollback" and report["outcome"] == "succeeded"
    assert report["rollback"]["of"] == failover.run_id and report["rollback"]["undid"] == "failover"
    assert [w["number"] for w in report["rollback"]["waves"]] == [1]
    assert report["aws_changes"] == len(changes(calls)) > 0

    # again: the same run is found, everything is already back, nothing changes
    dag_run, states, calls = rollback(dag, plan)
    assert str(dag_run.state) == "success" and changes(calls) == []
    assert report_of(dag_run)["rollback"]["of"] == failover.run_id
    assert serving_roles(plan, estate) == before


def test_failed_in_wave_2_then_rollback_restores_the_snapshot_wave_by_wave(synthetic):
    dag, plan, estate = synthetic
    before = serving_roles(plan, estate)
    wave_2_hub_drs = next(u for u in plan.waves[1].units if u.action == "DRS" and u.account_id is None)
    broken = plan.resources[wave_2_hub_drs.resource_ids[0]].config["sourceServerId"]
    set_replication(HUB, plan.regions.dr, broken, launch_fails=True)  # every launch of that server fails

    failover, states = run(dag, {"operation": "failover", "confirm": confirm(plan)})
    assert str(failover.state) == "failed" and report_of(failover)["outcome"] == "failed"
    assert {s for (t, _), s in states.items() if t.startswith("wave_3")} == {"upstream_failed"}
    assert live_recovery_instances(estate, plan)  # wave 1's, and wave 2's spoke servers'
    set_replication(HUB, plan.regions.dr, broken, launch_fails=False)

    gates: list[str] = []
    shown: dict[str, tuple] = {}

    def approve(task_id):
        gates.append(task_id)
        shown.setdefault(task_id, hitl_request(dag.dag_id, task_id))
        return "Approve"

    with record_aws_calls() as calls:
        dag_run, states = run(dag, {"operation": "rollback", "confirm": confirm(plan)}, decide=approve)
    assert str(dag_run.state) == "success", {k: s for k, s in states.items() if s != "success"}
    assert serving_roles(plan, estate) == before
    assert live_recovery_instances(estate, plan) == []
    assert calls.count("route53:ChangeResourceRecordSets") == 0
    # last wave first, with a gate between the two waves undone
    report = report_of(dag_run)
    undone = report["rollback"]["waves"]
    assert [w["number"] for w in undone] == [2, 1] and undone[0]["ended_at"] <= undone[1]["started_at"]
    assert set(gates) == {"approve_rollback_wave_1"}
    (gate,) = [a for a in report["approvals"] if a["gate"] == "approve_rollback_wave_1"]
    assert gate["decision"] == "approved" and gate["by"]
    # what the approver was shown: a rollback is never unplanned; the undo before it and the time against the RTO
    options, body = shown["approve_rollback_wave_1"]
    assert options == ["Approve", "Reject"]
    assert "### Wave 2 (" in body and ") rolled back: " in body and "**Time:**" in body
    assert "Continue unplanned" not in body and "will change" not in body
    assert gate["shown"]["rolled_back"]["wave"] == 2 and "next_resources" not in gate["shown"]
    assert report["rollback"]["of"] == failover.run_id and report["rollback"]["its_outcome"] == "failed"


def test_rollback_with_nothing_to_undo_fails_in_preflight_with_zero_changes(synthetic):
    dag, plan, estate = synthetic
    before = serving_roles(plan, estate)
    dag_run, states, calls = rollback(dag, plan)
    assert str(dag_run.state) == "failed" and states[("preflight", -1)] == "failed"
    assert changes(calls) == []
    (failure,) = report_of(dag_run)["failures"]
    assert failure["task"] == "preflight" and failure["resources"] == ["rollback"]
    assert f"nothing to roll back: no failover or failback of {plan.dag_id} failed or was rejected" in failure["error"]

    # a failover that succeeded is not rolled back either: the way back is a failback
    failover, _ = run(dag, {"operation": "failover", "confirm": confirm(plan), "approval_mode": "automatic"})
    assert str(failover.state) == "success"
    after = serving_roles(plan, estate)
    assert after != before
    dag_run, states, calls = rollback(dag, plan)
    assert str(dag_run.state) == "failed" and changes(calls) == []
    (failure,) = report_of(dag_run)["failures"]
    assert f"the latest failover of {plan.dag_id} ({failover.run_id}) succeeded -- to move back, run failback" \
        in failure["error"]
    assert serving_roles(plan, estate) == after
