"""Capacity through Airflow (dag.test, simulator server): a DR region whose EC2 vCPU quota is too small for the
DRS servers of a wave. The failover stops in preflight -- before any change -- naming the quota and the number
needed; a readiness run reports the same quota as CRITICAL; once the quota is raised to the value suggested,
readiness passes. The quota is set over the simulator's HTTP handle, as a test against a separate server would."""

from __future__ import annotations

import pytest
from awssim.snapshot import serving_roles as roles

from aws_calls import record_aws_calls
from dag_run_helpers import CONFIRM, report_folder, report_of, run

pytestmark = pytest.mark.airflow

HUB = "123456789012"
STANDARD = "L-1216C47A"
NOTIFY = "sns:Publish"


def critical_of(report):
    return [q for q in report["preflight"].get("capacity", []) if q["level"] == "CRITICAL"]


def test_a_vcpu_quota_too_small_for_a_waves_servers_stops_the_failover_and_readiness_says_critical(dag, estate, sim):
    from dr_adapters.orchestration.factory import build_dags

    plan, sessions = estate
    dr = plan.regions.dr
    before = roles(plan, sessions)
    sim.set_quota(HUB, dr, "ec2", STANDARD, 8)  # the app tier's 8 hub servers launch t3.medium: 16 vCPUs

    with record_aws_calls() as calls:
        dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "approval_mode": "automatic"})

    assert str(dag_run.state) == "failed" and states[("preflight", -1)] == "failed", states
    assert not [t for t, s in states.items() if s == "success" and t[0] != "report"], states
    assert [c for c in calls.mutating if c != NOTIFY] == []  # zero mutating calls: nothing moved
    assert roles(plan, sessions) == before
    assert {c.region for c in calls if c.startswith("servicequotas:")} == {dr}  # the quotas of the region moved to
    report = report_of(dag_run)
    (failure,) = report["failures"]
    quota_id = f"quota ec2/{STANDARD} ({dr}, the hub account)"
    assert failure["task"] == "preflight" and failure["resources"] == [quota_id], failure
    for part in (f"quota {STANDARD}", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
                 "this run needs 16 vCPUs", "16 of 8", "--desired-value 21"):
        assert part in failure["error"], failure["error"]
    (critical,) = critical_of(report)
    assert (critical["quota_code"], critical["region"], critical["needed"], critical["value"]) == (STANDARD, dr, 16, 8)
    text = (report_folder(dag_run) / "report.txt").read_text()
    assert "capacity (quotas this run consumes):" in text and "CRITICAL Running On-Demand Standard" in text

    # readiness (the scheduled check): the same quota, CRITICAL, and the run fails on it
    dag_run, states = run(build_dags()["dr_acme_production"], {"operation": "readiness"})
    assert str(dag_run.state) == "failed" and states[("preflight", -1)] == "failed", states
    readiness = report_of(dag_run)
    assert [(q["key"], q["region"], q["account_id"], q["needed"]) for q in critical_of(readiness)] == [
        (f"ec2/{STANDARD}", dr, None, 16)]
    assert readiness["failures"][0]["resources"] == [quota_id]

    # raised to the value suggested: readiness passes, every quota below 80 %
    sim.set_quota(HUB, dr, "ec2", STANDARD, 21)
    dag_run, states = run(build_dags()["dr_acme_production"], {"operation": "readiness"})
    assert str(dag_run.state) == "success", states
    levels = {(q["key"], q["region"], q["account_id"]): q["level"] for q in report_of(dag_run)["preflight"]["capacity"]}
    assert levels[(f"ec2/{STANDARD}", dr, None)] == "OK" and set(levels.values()) == {"OK"}, levels
    assert roles(plan, sessions) == before
