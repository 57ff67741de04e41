"""Preflight over the demo estate: accounts in parallel, an unreachable account reported without
stopping the others, the scope guard, and no mutating call."""

from __future__ import annotations

import logging
import time

import pytest
from awssim import outage
from aws_calls import recorded
from botocore.exceptions import ClientError

from dr_adapters.adapters.base import RunContext
from dr_adapters.aws.sessions import AccountSessions
from dr_adapters.plan.run_request import parse_run_request
from dr_adapters.preflight import run_preflight


@pytest.fixture
def demo(aws):
    from awssim.seed import plan_sessions, demo_plan, seed_estate

    plan = demo_plan()
    seed_estate(plan)
    return plan, plan_sessions(plan)


def context(plan, aws, operation="failover", **conf):
    confirm = f"{plan.scope.customer}/{plan.scope.environment}"  # any estate's, not only the demo's
    request = parse_run_request(plan, {"operation": operation, "confirm": confirm, **conf})
    sessions = AccountSessions(aws, plan.accounts, session_name="dr-test", hub_account_id=plan.hub_account_id,
                               sts_region=request_target(plan, request))
    ctx = RunContext(operation=request.operation, regions=plan.regions, scope=plan.scope, aws=sessions,
                     rpo_minutes=plan.rpo_minutes, log=logging.getLogger("test"), unplanned=request.unplanned)
    return request, ctx


def request_target(plan, request):
    return plan.regions.target(request.operation)


def test_the_demo_estate_passes_with_no_mutating_call(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws)
    ctx, calls = recorded(ctx)
    findings = run_preflight(plan, request, ctx)
    assert [f for f in findings if not f["ok"]] == []
    assert {f["resource_id"] for f in findings if f.get("kind") not in ("region", "discovery", "capacity")} == set(plan.resources)
    # each account's two regions probed once: "us-east-1 (the hub account)", "us-west-2 (account 2222...)"
    assert sorted(f["resource_id"] for f in findings if f.get("kind") == "region") == [
        f"{region} ({where})" for region in sorted((plan.regions.primary, plan.regions.dr))
        for where in ("account 222222222222", "the hub account")]
    assert calls.mutating == []


def test_an_unreachable_account_is_reported_and_the_others_still_checked(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws)

    def deny(params, **_):
        if "222222222222" in params["RoleArn"]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to assume"}}, "AssumeRole")

    ctx.aws.register_event("provide-client-params.sts.AssumeRole", deny)
    findings = run_preflight(plan, request, ctx)
    spoke = {r for r, spec in plan.resources.items() if spec.account_id == "222222222222"}
    failed = {f["resource_id"] for f in findings if not f["ok"]}
    assert failed == spoke
    assert all("cannot check in account 222222222222" in f["message"] and "AccessDenied" in f["message"]
               for f in findings if not f["ok"])
    checked = {f["resource_id"] for f in findings if f["ok"] and f.get("kind") not in ("region", "discovery", "capacity")}
    assert checked == set(plan.resources) - spoke


def test_a_resource_of_another_customer_stops_the_run(demo, aws):
    plan, sessions = demo
    ecs = sessions[None].client("ecs", region_name=plan.regions.dr)
    arn = ecs.describe_services(cluster="acme-prod", services=["orders-api"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "Customer", "value": "globex"}])
    request, ctx = context(plan, aws)
    ctx, calls = recorded(ctx)
    problems = [f for f in run_preflight(plan, request, ctx) if not f["ok"]]
    assert [p["resource_id"] for p in problems] == ["orders-api"]
    assert "Customer='globex'" in problems[0]["message"] and "'acme'" in problems[0]["message"]
    assert calls.mutating == []


def test_a_planned_failover_with_the_source_dark_stops_in_preflight(demo, aws):
    """Within seconds (fail-fast probe, once per account), naming the region and the remedy, changing nothing."""
    plan, _ = demo
    request, ctx = context(plan, aws)
    ctx, calls = recorded(ctx)
    with outage.outage(plan.regions.primary):
        started = time.monotonic()
        findings = run_preflight(plan, request, ctx)
        took = time.monotonic() - started
    assert took < 60
    problems = [f for f in findings if not f["ok"]]
    dark = [f for f in problems if f.get("kind") == "region"]
    assert {f["resource_id"] for f in dark} == {f"{plan.regions.primary} (the hub account)",
                                                f"{plan.regions.primary} (account 222222222222)"}
    assert all(plan.regions.primary in f["message"] and "failover_mode=unplanned" in f["message"] for f in dark)
    assert {f["resource_id"] for f in problems} - {f["resource_id"] for f in dark} == set(plan.resources)
    assert calls.mutating == []
    # probed once per account, not once per resource
    assert len([c for c in calls.where("sts:GetCallerIdentity") if c[1] == plan.regions.primary]) == 2


def test_an_unplanned_failover_expects_the_dark_source_and_never_reads_it(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws, failover_mode="unplanned")
    ctx, calls = recorded(ctx)
    with outage.outage(plan.regions.primary):
        started = time.monotonic()
        findings = run_preflight(plan, request, ctx)
        took = time.monotonic() - started
    # The demo's primary is us-east-1, home of Route 53's control plane: its simple records cannot be
    # changed while it is dark, and preflight says so at once, with what to use instead.
    dns = {r for r, spec in plan.resources.items() if spec.action == "R53Record"}
    problems = {f["resource_id"]: f["message"] for f in findings if not f["ok"]}
    assert set(problems) == dns and took < 60
    assert all("control plane" in m and "health checks" in m for m in problems.values())
    assert {f["resource_id"] for f in findings if f.get("dark")} == {
        f"{plan.regions.primary} (the hub account)", f"{plan.regions.primary} (account 222222222222)"}
    source_calls = [c for c in calls if c.region == plan.regions.primary]
    assert source_calls == ["sts:GetCallerIdentity"] * 2  # the probe, once per account; nothing else
    exposures = {f["resource_id"]: f["exposure"] for f in findings if f.get("exposure")}
    databases = {r for r, spec in plan.resources.items() if spec.action.startswith("Aurora")}
    servers = {r for r, spec in plan.resources.items() if spec.action == "DRS"}
    assert set(exposures) == databases | servers
    assert all("replication lag" in exposures[r] for r in databases)
    assert all("recovery point" in exposures[r] for r in servers)


def test_a_dark_target_stops_any_run(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws, failover_mode="unplanned")
    with outage.outage(plan.regions.dr):
        problems = [f for f in run_preflight(plan, request, ctx) if not f["ok"]]
    assert any(f.get("kind") == "region" and "the region to move to" in f["message"] for f in problems)


def test_a_reprotect_or_drill_with_the_old_region_still_dark_says_to_wait(demo, aws):
    plan, _ = demo
    for conf in ({"operation": "reprotect"}, {"operation": "drill"}):
        request, ctx = context(plan, aws, **conf)
        with outage.outage(plan.regions.primary):
            problems = [f for f in run_preflight(plan, request, ctx) if f.get("kind") == "region" and not f["ok"]]
        assert problems and all(f"run it once {plan.regions.primary} answers again" in f["message"] for f in problems)
        assert not any("failover_mode=unplanned" in f["message"] for f in problems)
