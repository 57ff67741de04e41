"""LambdaInvoke: what only an invoked function has -- the payload and client context built from the run (and the
rollback on the way back), a function error failing the unit with the function's message and invoked again
after the fix, the success recorded so the same run never invokes twice, the reply in the notes, a parked copy
refused, and a read timeout that outlasts the function.

The contract every adapter keeps is proven in test_contract.py on the kit's mini-estate.
"""

from __future__ import annotations

import pytest
from awssim.kits.lambda_function import seed_function
from awssim.lambda_invoke import invocations, read_invocations

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.lambda_invoke import LambdaInvokeAdapter, record_key
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase
from mini_estate import CUSTOMER, DR, ENVIRONMENT, HUB, PRIMARY, mini_estate

adapter = LambdaInvokeAdapter()
SCOPE = {"Customer": CUSTOMER, "Environment": ENVIRONMENT}


def unit(config, rid="notify"):
    return WorkUnit(f"hook-{rid}", "LambdaInvoke", None, (ResourceSpec(rid, "LambdaInvoke", config),))


def handler(session, region, name, value):
    session.client("lambda", region_name=region).update_function_configuration(
        FunctionName=name, Environment={"Variables": {"AWSSIM_HANDLER": value}})


def test_the_payload_and_client_context_come_from_the_run_and_the_way_back_sends_the_rollback(aws):
    mini = mini_estate("LambdaInvoke")
    spoke = mini.units[1]  # its config has a failbackPayload (rollback: true)
    ctx = mini.run(mini.ctx("failover"), [Phase.ACTIVATE], [spoke])
    (call,) = invocations(spoke.account_id, DR)
    assert call["payload"] == {"operation": "failover", "targetRegion": DR, "runId": ctx.run_id,
                               "steps": [{"warm": f"{CUSTOMER}-cache"}]}
    assert call["clientContext"] == {"custom": {"dr:run-id": ctx.run_id, "dr:resource-id": "hook-1",
                                                "dr:phase": "ACTIVATE", "dr:operation": "failover"}}
    mini.run(mini.ctx("failback"), [Phase.ACTIVATE], [spoke])
    (back,) = invocations(spoke.account_id, PRIMARY)
    assert back["payload"]["rollback"] is True and back["payload"]["targetRegion"] == PRIMARY
    # what the function's own log group holds, read over the API (as the kit reads it)
    logs = mini.estate.sessions[spoke.account_id].client("logs", region_name=PRIMARY)
    assert [r["payload"]["operation"] for r in read_invocations(logs, "globex-dr-hook-1")] == ["failback"]


def test_the_reply_goes_to_the_notes_and_the_success_is_recorded_on_the_function(aws):
    mini = mini_estate("LambdaInvoke")
    config = {**mini.units[0].resources[0].config, "payload": {"operation": "{operation}", "blob": "x" * 2000}}
    hub = unit(config, "hook-0")
    outcome = adapter.run_phase(Phase.ACTIVATE, mini.ctx("failover"), hub)
    (note,) = outcome.notes
    assert note.startswith(f"hook-0: invoked globex-dr-hook-0 in {DR}: StatusCode 200, returned {{\"ok\": true")
    assert note.endswith("...") and len(note) < 700  # the echoed payload, truncated
    assert outcome.data["hook-0"]["status_code"] == 200
    tags = mini.estate.sessions[None].client("lambda", region_name=DR).get_function(
        FunctionName="globex-dr-hook-0")["Tags"]
    assert tags[record_key("hook-0", Phase.ACTIVATE)] == "failover contract-failover"


def test_a_function_error_fails_the_unit_with_its_message_and_a_retry_after_the_fix_invokes_again(aws):
    mini = mini_estate("LambdaInvoke")
    hub = mini.units[0]
    session = mini.estate.sessions[None]
    handler(session, DR, "globex-dr-hook-0", "fail:partner allow-list not updated")
    ctx = mini.ctx("failover")
    with pytest.raises(AdapterError) as failed:
        adapter.run_phase(Phase.ACTIVATE, ctx, hub)
    assert str(failed.value).startswith(f"hook-0: Lambda function globex-dr-hook-0 failed in {DR} (Unhandled): "
                                        "Exception: partner allow-list not updated")
    assert "clear this task" in failed.value.remediation
    (check,) = adapter.validate(ctx, hub)
    assert check.status is Health.UNHEALTHY
    assert [c["operation"] for c in ctx.changes] == ["invoke"]  # no success recorded

    handler(session, DR, "globex-dr-hook-0", "echo")
    retry = mini.run(mini.ctx("failover"), [Phase.ACTIVATE], [hub])
    assert [c["operation"] for c in retry.changes] == ["invoke", "tag_resource"]
    assert [c["outcome"] for c in invocations(HUB, DR)] == ["error", "success"]
    assert mini.sides()["hook-0"] == "dr"
    third, calls = recorded(mini.ctx("failover"))
    notes = adapter.run_phase(Phase.ACTIVATE, third, hub).notes
    assert calls.mutating == [] and "already invoked" in notes[0] and len(invocations(HUB, DR)) == 2


def test_another_run_invokes_again(aws):
    mini = mini_estate("LambdaInvoke")
    hub = mini.units[0]
    mini.run(mini.ctx("failover"), [Phase.ACTIVATE], [hub])
    other = mini.ctx("failover")
    other.run_id = "the-next-failover"
    mini.run(other, [Phase.ACTIVATE], [hub])
    assert [c["payload"]["runId"] for c in invocations(HUB, DR)] == ["contract-failover", "the-next-failover"]


def test_a_parked_copy_is_refused_by_preflight_and_never_invoked(aws):
    mini = mini_estate("LambdaInvoke")
    session = mini.estate.sessions[None]
    session.client("lambda", region_name=DR).put_function_concurrency(FunctionName="globex-dr-hook-0",
                                                                      ReservedConcurrentExecutions=0)
    ctx, calls = recorded(mini.ctx("failover"))
    (finding,) = adapter.preflight(ctx, mini.units[0])
    assert not finding.ok and "parked (reserved concurrency 0)" in finding.message
    with pytest.raises(AdapterError, match="parked"):
        adapter.run_phase(Phase.ACTIVATE, ctx, mini.units[0])
    assert calls.mutating == [] and invocations(HUB, DR) == []


def test_a_qualifier_invokes_that_version_and_the_call_outlasts_the_function(aws):
    mini = mini_estate("LambdaInvoke")
    session = mini.estate.sessions[None]
    seed_function(session, DR, name="globex-slow", tags=SCOPE)  # version 1, alias live
    lam = session.client("lambda", region_name=DR)
    lam.update_function_configuration(FunctionName="globex-slow", Timeout=600)
    lam.publish_version(FunctionName="globex-slow")  # version 2, the alias moved to it: 600 s
    lam.update_alias(FunctionName="globex-slow", Name="live", FunctionVersion="2")
    lam.update_function_configuration(FunctionName="globex-slow", Timeout=5, Environment={"Variables": {
        "AWSSIM_HANDLER": "fail:$LATEST is not released"}})  # the alias's version 2 still succeeds
    ctx = mini.ctx("failover")
    timeouts = []
    ctx.aws.register_event("before-call.lambda.Invoke",
                           lambda model, context, **_: timeouts.append(context.get("client_config").read_timeout))
    mini.run(ctx, [Phase.ACTIVATE], [unit({"functionName": "globex-slow", "qualifier": "live"})])
    (call,) = invocations(HUB, DR, "globex-slow")
    assert call["version"] == "2" and call["outcome"] == "success"
    assert timeouts == [630]  # the function's timeout and a margin: a slow reply is not a lost one
    (finding,) = adapter.preflight(ctx, unit({"functionName": "globex-slow", "qualifier": "canary"}))
    assert not finding.ok and "version or alias canary of Lambda function globex-slow does not exist" in finding.message


def test_a_dry_run_invokes_nothing(aws):
    mini = mini_estate("LambdaInvoke")
    ctx = mini.run(mini.ctx("failover", dry_run=True), [Phase.ACTIVATE])
    assert [(c["operation"], c["dry_run"]) for c in ctx.changes] == [("invoke", True)] * 2
    assert invocations(HUB, DR) == []
