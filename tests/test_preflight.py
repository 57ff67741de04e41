"""Preflight over the demo estate: accounts in parallel, an unreachable account reported without
stopping the others, the scope guard, and no mutating call."""

from __future__ import annotations

import logging

import pytest
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


def context(plan, aws, operation="failover"):
    request = parse_run_request(plan, {"operation": operation, "confirm": "acme/production"})
    sessions = AccountSessions(aws, plan.accounts, session_name="dr-test", hub_account_id=plan.hub_account_id)
    ctx = RunContext(operation=request.operation, regions=plan.regions, scope=plan.scope, aws=sessions,
                     rpo_minutes=plan.rpo_minutes, log=logging.getLogger("test"))
    return request, ctx


def test_the_demo_estate_passes_with_no_mutating_call(demo, aws):
    plan, _ = demo
    request, ctx = context(plan, aws)
    ctx, calls = recorded(ctx)
    findings = run_preflight(plan, request, ctx)
    assert [f for f in findings if not f["ok"]] == []
    assert {f["resource_id"] for f in findings} == set(plan.resources)
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
    assert {f["resource_id"] for f in findings if f["ok"]} == set(plan.resources) - spoke


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
