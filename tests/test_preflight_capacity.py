"""Preflight's capacity check over the demo estate (simulator in-process): what the selected waves and phases will
consume of each account's quotas in the region they take it in, against the quota (applied value, else AWS's
default) and what is already in use; CRITICAL stops the run with no mutating call, naming the quota, the number
needed and the value to raise it to; an unplanned run reads quotas in the target region only."""

from __future__ import annotations

import pytest
from awssim import outage
from awssim.service_quotas import set_quota
from botocore.exceptions import ClientError

from aws_calls import recorded
from dr_adapters.adapters.capacity import DRS_JOBS, RDS_INSTANCES, Need
from dr_adapters.plan.types import Phase
from dr_adapters.preflight import _needed, run_preflight
from test_preflight import context

HUB, SPOKE = "123456789012", "222222222222"
STANDARD = "L-1216C47A"


@pytest.fixture
def demo(aws):
    from awssim.seed import demo_plan, plan_sessions, seed_estate

    plan = demo_plan()
    seed_estate(plan)
    return plan, plan_sessions(plan)


def quotas(findings):
    """Capacity findings by (quota key, region, account)."""
    return {(f["quota"]["key"], f["quota"]["region"], f["quota"]["account_id"]): f
            for f in findings if f.get("kind") == "capacity"}


def hub_servers(plan):
    return sorted(r for r, spec in plan.resources.items() if spec.action == "DRS" and spec.account_id is None)


def test_a_dr_vcpu_quota_too_small_for_a_waves_drs_servers_stops_preflight_with_no_change(demo, aws):
    plan, _ = demo
    set_quota(HUB, plan.regions.dr, "ec2", STANDARD, 8)  # the hub's 8 DRS servers launch t3.medium: 16 vCPUs
    request, ctx = context(plan, aws)
    ctx, calls = recorded(ctx)
    findings = run_preflight(plan, request, ctx)

    assert calls.mutating == []
    problems = [f for f in findings if not f["ok"]]
    assert [f["resource_id"] for f in problems] == [f"quota ec2/{STANDARD} ({plan.regions.dr}, the hub account)"]
    (critical,) = problems
    quota = critical["quota"]
    assert critical["level"] == quota["level"] == "CRITICAL"
    assert (quota["needed"], quota["in_use"], quota["value"], quota["percent"]) == (16, 0, 8, 200)
    assert quota["resources"] == hub_servers(plan)
    message = critical["message"]
    for part in ("CRITICAL", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", f"quota {STANDARD}",
                 "this run needs 16 vCPUs", "8 x t3.medium (2 vCPUs)", "16 of 8 (applied to the account) = 200 %",
                 f"--quota-code {STANDARD} --desired-value 21 --region {plan.regions.dr}"):
        assert part in message, message
    # the spoke account's quota of the same region is its own: OK
    spoke = quotas(findings)[(f"ec2/{STANDARD}", plan.regions.dr, SPOKE)]
    assert spoke["ok"] and spoke["level"] == "OK" and spoke["quota"]["needed"] == 8


def test_what_already_runs_counts_info_and_warning_go_on(demo, aws):
    plan, sessions = demo
    ec2 = sessions[None].client("ec2", region_name=plan.regions.dr)
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=5, MaxCount=5, InstanceType="t3.medium")  # 10 vCPUs in use
    for value, level in ((30, "INFO"), (28, "WARNING"), (26, "CRITICAL"), (40, "OK")):  # 26 in use + needed
        set_quota(HUB, plan.regions.dr, "ec2", STANDARD, value)
        request, ctx = context(plan, aws)
        found = quotas(run_preflight(plan, request, ctx))[(f"ec2/{STANDARD}", plan.regions.dr, None)]
        assert (found["level"], found["ok"], found["quota"]["in_use"]) == (level, level != "CRITICAL", 10), found
        if level == "WARNING":
            assert found["message"].startswith("WARNING: ") and "raise it to at least 33" in found["message"]


def test_each_quota_is_read_once_per_account_and_region_and_the_default_when_none_is_applied(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws)
    ctx, calls = recorded(ctx)
    found = quotas(run_preflight(plan, request, ctx))
    dr = plan.regions.dr
    # Lambda's concurrency and RDS's DB instances have no value applied in the simulator: AWS's default holds
    lam = found[("lambda/L-B99A9384", dr, None)]["quota"]
    assert (lam["value"], lam["source"], lam["needed"], lam["in_use"]) == (
        1000, "AWS default, none applied to the account", 50, 100)  # reservedConcurrency 50; 100 stay unreserved
    assert found[("rds/L-7B6409FD", dr, SPOKE)]["quota"]["needed"] == 1  # minDrInstances: 1
    # one GetServiceQuota per quota, account and region (a GetAWSDefaultServiceQuota after each refused)
    read = [k for k in found if not k[0].startswith("drs/")]
    assert calls.count("servicequotas:GetServiceQuota") == len(read)
    assert calls.count("servicequotas:GetAWSDefaultServiceQuota") == len([k for k in read if k[0] != f"ec2/{STANDARD}"])
    assert calls.count("ec2:DescribeInstances") == 2  # EC2 usage: once per account in the DR region
    # DRS: the documented limits, never a Service Quotas read; jobs where it launches, reversal where it replicates
    assert found[("drs/concurrent-jobs", dr, None)]["quota"]["value"] == 20
    assert found[("drs/replicating-source-servers", plan.regions.primary, None)]["quota"]["needed"] == 8


def test_phases_not_selected_consume_nothing(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws, phases=["ACTIVATE"])  # emergency: no INSTANTIATE, no REPLICATE
    keys = {k[0] for k in quotas(run_preflight(plan, request, ctx))}
    # DRS still launches in ACTIVATE, Lambda reserves in ACTIVATE; no Aurora instance added, no reversal
    assert keys == {f"ec2/{STANDARD}", "drs/concurrent-jobs", "lambda/L-B99A9384"}


def test_an_unplanned_failover_reads_quotas_in_the_target_region_only(demo, aws):
    plan, _ = demo
    set_quota(HUB, plan.regions.dr, "ec2", STANDARD, 8)
    request, ctx = context(plan, aws, failover_mode="unplanned")
    ctx, calls = recorded(ctx)
    with outage.outage(plan.regions.primary):
        findings = run_preflight(plan, request, ctx)
    assert {region for _, region, _ in quotas(findings)} == {plan.regions.dr}  # REPLICATE's reversal: deferred
    assert [c for c in calls if c.region == plan.regions.primary] == ["sts:GetCallerIdentity"] * 2  # the probes
    critical = [f for f in findings if f.get("level") == "CRITICAL"]
    assert [f["quota"]["key"] for f in critical] == [f"ec2/{STANDARD}"] and not critical[0]["ok"]


def test_a_quota_that_cannot_be_read_is_a_warning_not_a_stop(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws)

    def deny(**_):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "GetServiceQuota")

    ctx.aws.register_event("provide-client-params.service-quotas.GetServiceQuota", deny)
    findings = run_preflight(plan, request, ctx)
    unknown = [f for f in findings if f.get("level") == "UNKNOWN"]
    assert unknown and all(f["ok"] for f in unknown) and [f for f in findings if not f["ok"]] == []
    assert all("AccessDenied" in f["message"] and "include/iam/capacity.json" in f["message"] for f in unknown)


def test_what_a_wave_holds_while_it_runs_counts_its_peak_wave_the_rest_adds_up():
    def need(quota, amount):
        return Need(quota, amount, "us-west-2", (Phase.INSTANTIATE,), ("r",))

    jobs = [(1, need(DRS_JOBS, 3)), (1, need(DRS_JOBS, 2)), (2, need(DRS_JOBS, 4))]
    assert _needed(DRS_JOBS, jobs) == 5  # wave 1's five jobs, then wave 2's four: never nine at once
    instances = [(1, need(RDS_INSTANCES, 3)), (2, need(RDS_INSTANCES, 4))]
    assert _needed(RDS_INSTANCES, instances) == 7  # wave 1's instances still run in wave 2


def test_a_quota_needed_by_many_resources_quotes_a_few_and_records_them_all(aws):
    """A generated estate (not the demo) whose DR region allows 2 RDS DB instances: the CRITICAL finding's message
    quotes the first few of what adds up and how many more (a message stays readable at 1,000 resources); the
    finding's record names every resource."""
    from awssim.seed import seed_estate
    from awssim.synthetic import synthetic_manifest
    from dr_adapters.preflight import MAX_DETAILS
    from dr_adapters.sources.loader import validate_data
    from dr_adapters.sources.planner import build_plan

    plan = build_plan(validate_data(synthetic_manifest("globex", 150, 3), "synthetic"), "synthetic")
    seed_estate(plan)
    set_quota(HUB, plan.regions.dr, "rds", RDS_INSTANCES.quota_code, 2)
    request, ctx = context(plan, aws)
    (critical,) = [f for f in run_preflight(plan, request, ctx) if not f["ok"]]
    quota = critical["quota"]
    assert critical["level"] == "CRITICAL" and quota["key"] == RDS_INSTANCES.key and quota["needed"] > MAX_DETAILS
    more = len(quota["resources"]) - MAX_DETAILS
    assert critical["message"].count(" added to ") == MAX_DETAILS and f"; and {more} more)" in critical["message"]
