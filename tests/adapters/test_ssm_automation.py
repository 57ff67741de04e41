"""SsmAutomation: what only a runbook step has -- parameters filled from the run (and the rollback on the way
back), a failing execution failing its unit with the document's failing step, a retry after the fix starting
it again (never a succeeded one), a running one waited for, the source region refused when it is dark,
placeholders refused when the manifest is validated, and IAM scoped to the documents the manifests name.

The contract every adapter keeps is proven in test_contract.py on the kit's mini-estate.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from awssim import outage
from awssim.kits.ssm_automation import seed_document
from awssim.ssm_automation import OUTCOME_TAG, executions, outcome_tag
from botocore.exceptions import WaiterError

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.custom_steps import PLACEHOLDERS
from dr_adapters.adapters.ssm_automation import SsmAutomationAdapter
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase
from dr_adapters.sources.loader import ManifestError, validate_data
from mini_estate import CUSTOMER, DR, ENVIRONMENT, HUB, PRIMARY, manifest, mini_estate, plan_of

ROOT = Path(__file__).resolve().parents[2]
adapter = SsmAutomationAdapter()
SCOPE = {"Customer": CUSTOMER, "Environment": ENVIRONMENT}


def unit(config, rid="warm-caches"):
    return WorkUnit(f"ssm-{rid}", "SsmAutomation", None, (ResourceSpec(rid, "SsmAutomation", config),))


def doc_tags(session, region, name, *tags):
    session.client("ssm", region_name=region).add_tags_to_resource(ResourceType="Document", ResourceId=name,
                                                                   Tags=list(tags))


def test_parameters_are_filled_from_the_run_and_the_way_back_sends_the_rollback(aws):
    mini = mini_estate("SsmAutomation")
    spoke = mini.units[1]  # its config has failbackParameters (Rollback)
    ctx = mini.run(mini.ctx("failover"), [Phase.ACTIVATE], [spoke])
    (ran,) = executions(spoke.account_id, DR)
    assert ran["AutomationExecutionStatus"] == "Success"
    assert ran["Parameters"] == {"Operation": ["failover"], "TargetRegion": [DR], "RunId": [ctx.run_id],
                                 "Rollback": [""]}  # the document's default: the failover passes none
    back = mini.run(mini.ctx("failback"), [Phase.ACTIVATE], [spoke])
    (rollback,) = executions(spoke.account_id, PRIMARY)
    assert rollback["Parameters"] == {"Operation": ["failback"], "TargetRegion": [PRIMARY], "RunId": [back.run_id],
                                      "Rollback": ["true"]}


def test_a_failing_execution_fails_its_unit_with_the_failing_step_and_a_retry_after_the_fix_completes(aws):
    mini = mini_estate("SsmAutomation")
    hub = mini.units[0]
    session, name = mini.estate.sessions[None], "globex-dr-runbook-0"
    doc_tags(session, DR, name, outcome_tag("switchTraffic", "cache cluster orders-cache is not ready"))
    ctx = mini.ctx("failover")
    with pytest.raises(WaiterError):
        mini.run(ctx, [Phase.ACTIVATE], [hub])
    # what the operator shows after a failed wait (PhaseOperator.resume): the document's failing step
    error = adapter.explain_failure(ctx, hub)
    assert "step switchTraffic (aws:executeAwsApi) Failed: cache cluster orders-cache is not ready" in error
    assert error.startswith("runbook-0: automation globex-dr-runbook-0") and "clear this task" in error
    (check,) = adapter.validate(ctx, hub)
    assert check.status is Health.UNHEALTHY and "switchTraffic" in check.reason
    assert mini.sides()["runbook-0"] == "primary"

    # the cause repaired, the task cleared: the same run starts the document again, and it completes
    session.client("ssm", region_name=DR).remove_tags_from_resource(ResourceType="Document", ResourceId=name,
                                                                    TagKeys=[OUTCOME_TAG])
    again = mini.run(mini.ctx("failover"), [Phase.ACTIVATE], [hub])
    assert [c["operation"] for c in again.changes] == ["start_automation_execution"]
    assert [e["AutomationExecutionStatus"] for e in executions(HUB, DR)] == ["Failed", "Success"]
    assert mini.sides()["runbook-0"] == "dr"
    (check,) = adapter.validate(again, hub)
    assert check.status is Health.HEALTHY
    # and never a succeeded one twice
    third, calls = recorded(mini.ctx("failover"))
    mini.run(third, [Phase.ACTIVATE], [hub])
    assert calls.mutating == [] and len(executions(HUB, DR)) == 2


def test_an_execution_still_running_is_waited_for_not_started_again(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "60")
    mini = mini_estate("SsmAutomation")
    hub = mini.units[0]
    first = adapter.run_phase(Phase.ACTIVATE, mini.ctx("failover"), hub)
    (wait,) = first.waits
    assert (wait.service, wait.waiter, wait.region) == ("ssm", "AutomationExecutionSucceeded", DR)
    assert wait.max_attempts == 60 * 60 // 15  # timeoutMinutes (60) at one poll per 15 s
    ctx, calls = recorded(mini.ctx("failover"))
    second = adapter.run_phase(Phase.ACTIVATE, ctx, hub)
    assert calls.mutating == [] and second.waits == first.waits
    assert [e["AutomationExecutionStatus"] for e in executions(HUB, DR)] == ["InProgress"]


def test_another_run_or_phase_starts_its_own_execution(aws):
    mini = mini_estate("SsmAutomation")
    config = {**mini.units[0].resources[0].config, "phases": ["ACTIVATE", "CLEANUP"]}
    step = unit(config, "runbook-0")
    mini.run(mini.ctx("failover"), [Phase.ACTIVATE, Phase.CLEANUP], [step])
    other_run = mini.ctx("failover")
    other_run.run_id = "another-run"
    mini.run(other_run, [Phase.ACTIVATE], [step])
    tags = [{t["Key"]: t["Value"] for t in mini.estate.sessions[None].client("ssm", region_name=DR)
             .list_tags_for_resource(ResourceType="Automation", ResourceId=e["AutomationExecutionId"])["TagList"]}
            for e in executions(HUB, DR)]
    assert [(t["dr:phase"], t["dr:operation"]) for t in tags] == [("ACTIVATE", "failover"), ("CLEANUP", "failover"),
                                                                  ("ACTIVATE", "failover")]
    assert len({k for t in tags for k in t if k.startswith("dr:run:")}) == 3  # one key per run and phase


def test_an_unplanned_run_refuses_a_source_step_but_defers_a_cleanup_one(aws):
    mini = mini_estate("SsmAutomation")
    base = mini.units[0].resources[0].config
    activate_there = unit({**base, "region": "source"})
    cleanup_there = unit({**base, "region": "source", "phases": ["CLEANUP"]})
    ctx, calls = recorded(mini.ctx("failover", unplanned=True))
    with outage.outage(PRIMARY):
        (refused,) = adapter.preflight(ctx, activate_there)
        assert not refused.ok and f"runs in {PRIMARY}, the region being left" in refused.message
        with pytest.raises(AdapterError, match="region being left") as err:
            adapter.run_phase(Phase.ACTIVATE, ctx, activate_there)
        assert "reprotect" in err.value.remediation
        (deferred,) = adapter.preflight(ctx, cleanup_there)
        assert deferred.ok and "deferred to reprotect" in deferred.message
        assert "deferred" in adapter.run_phase(Phase.CLEANUP, ctx, cleanup_there).notes[0]
        assert adapter.run_phase(Phase.ACTIVATE, ctx, cleanup_there).notes == [
            "warm-caches: runs in CLEANUP, not in ACTIVATE"]
    assert [c for c in calls if c.region == PRIMARY] == []
    # reprotect (the region back): the failover's CLEANUP runs in the old region
    mini.run(mini.ctx("failover"), [Phase.CLEANUP], [cleanup_there])
    assert [e["AutomationExecutionStatus"] for e in executions(HUB, PRIMARY)] == ["Success"]


def test_a_drill_runs_the_document_only_when_asked_and_says_so(aws):
    mini = mini_estate("SsmAutomation")
    before = mini.roles()
    config = {**mini.units[0].resources[0].config, "inDrill": "run"}
    ctx = mini.run(mini.ctx("drill"), [Phase.ACTIVATE], [unit(config, "runbook-0")])
    (ran,) = executions(HUB, DR)
    assert ran["Parameters"]["Operation"] == ["drill"] and ran["AutomationExecutionStatus"] == "Success"
    assert [c["operation"] for c in ctx.changes] == ["start_automation_execution"]
    assert mini.roles() == before and mini.kit.leftovers(mini.estate) == []


@pytest.mark.parametrize("change, word", [
    ("command", "is a Command document, not an Automation runbook"),
    ("parameter", "parameter(s) TargetRegion required and not given"),
    ("unknown", "parameter(s) Extra not declared by it"),
])
def test_preflight_names_a_document_that_cannot_take_the_step(aws, change, word):
    mini = mini_estate("SsmAutomation")
    session = mini.estate.sessions[None]
    config = dict(mini.units[0].resources[0].config)
    if change == "command":
        session.client("ssm", region_name=DR).create_document(
            Name="globex-shell", DocumentType="Command", Content=json.dumps(
                {"schemaVersion": "2.2", "mainSteps": [{"name": "run", "action": "aws:runShellScript"}]}),
            Tags=[{"Key": k, "Value": v} for k, v in SCOPE.items()])
        config["documentName"] = "globex-shell"
    elif change == "parameter":
        config["parameters"] = {k: v for k, v in config["parameters"].items() if k != "TargetRegion"}
    else:
        config["parameters"] = {**config["parameters"], "Extra": ["x"]}
    (finding,) = adapter.preflight(mini.ctx("failover"), unit(config))
    assert not finding.ok and word in finding.message


def test_literal_braces_and_every_placeholder_reach_the_document(aws):
    mini = mini_estate("SsmAutomation")
    session = mini.estate.sessions[None]
    params = {"Everything": [f"{name}={{{name}}}" for name in PLACEHOLDERS] + ["{{not a placeholder}}"]}
    config = {"documentName": "globex-all", "parameters": params}
    for region in (PRIMARY, DR):
        seed_document(session, region, config, SCOPE)
    ctx = mini.run(mini.ctx("failover"), [Phase.ACTIVATE], [unit(config, "all")])
    (ran,) = executions(HUB, DR)
    values = dict(v.split("=", 1) for v in ran["Parameters"]["Everything"][:-1])
    assert values == {"operation": "failover", "direction": "failover", "failover_mode": "planned", "phase": "ACTIVATE",
                      "source_region": PRIMARY, "target_region": DR, "primary_region": PRIMARY, "dr_region": DR,
                      "run_id": ctx.run_id, "customer": CUSTOMER, "environment": ENVIRONMENT, "drill": "false",
                      "resource_id": "all", "account_id": HUB}
    assert ran["Parameters"]["Everything"][-1] == "{not a placeholder}"


@pytest.mark.parametrize("parameters, where", [
    ({"Operation": ["{operations}"]}, "config.parameters: Operation[0]: unknown placeholder {operations}"),
    ({"Target": ["{target_region!r}"]}, "config.parameters: Target[0]: {target_region!r} is not a placeholder"),
    ({"Open": ["{target_region"]}, "config.parameters: Open[0]: expected '}' before end of string"),
])
def test_an_unknown_placeholder_is_refused_when_the_manifest_is_validated(parameters, where):
    resources = [{"resourceId": "warm", "action": "SsmAutomation",
                  "config": {"documentName": "doc-1", "parameters": parameters}}]
    with pytest.raises(ManifestError) as refused:
        validate_data(manifest("SsmAutomation", None, resources), "runbook.yaml")
    assert f"layers[0].resources[0] (warm).{where}" in str(refused.value)


def test_the_per_manifest_policy_names_the_documents_and_functions(aws):
    from dr_adapters.iam import manifest_policies

    resources = [{"resourceId": "warm", "action": "SsmAutomation", "config": {"documentName": "globex-warm"}},
                 {"resourceId": "hook", "action": "LambdaInvoke", "config": {"functionName": "globex-hook"}},
                 {"resourceId": "hook-spoke", "action": "LambdaInvoke", "accountId": "444455556666",
                  "config": {"functionName": "globex-spoke-hook"}}]
    policies = manifest_policies([plan_of(manifest("SsmAutomation", None, resources))])
    hub = policies["execution-role-policy.json"]["Statement"]
    by_action = {a: s for s in hub for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert by_action["ssm:StartAutomationExecution"]["Resource"] == sorted(
        f"arn:aws:ssm:{r}:*:automation-definition/globex-warm:*" for r in (PRIMARY, DR))
    assert by_action["lambda:InvokeFunction"]["Resource"] == sorted(
        f"arn:aws:lambda:{r}:{HUB}:function:globex-hook{q}" for r in (PRIMARY, DR) for q in ("", ":*"))
    assert by_action["ssm:DescribeAutomationExecutions"]["Resource"] == "*"  # no resource-level permission
    assert by_action["lambda:ListTags"]["Resource"] == "*"  # service-side: not narrowed
    (spoke_file,) = [f for f in policies if f.startswith("spoke-") and f.endswith("-policy.json")
                     and "trust" not in f]
    spoke = {a: s for s in policies[spoke_file]["Statement"]
             for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert f"arn:aws:lambda:{PRIMARY}:444455556666:function:globex-spoke-hook" in spoke["lambda:InvokeFunction"]["Resource"]
    assert "ssm:StartAutomationExecution" not in spoke


def test_the_readme_lists_every_placeholder():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Runbook steps", 1)[1]
    assert set(re.findall(r"^\| `\{(\w+)\}` \|", section, re.M)) == set(PLACEHOLDERS)


def test_a_wait_that_times_out_says_the_execution_still_runs_and_a_retry_waits_for_it(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "60")
    mini = mini_estate("SsmAutomation")
    config = {**mini.units[0].resources[0].config, "timeoutMinutes": 1}
    step = unit(config, "runbook-0")
    ctx = mini.ctx("failover")
    with pytest.raises(WaiterError, match="Max attempts exceeded"):
        mini.run(ctx, [Phase.ACTIVATE], [step])
    said = adapter.explain_failure(ctx, step)
    assert "is still InProgress" in said and "timeoutMinutes=1 (at step checkPrerequisites)" in said
    retry, calls = recorded(mini.ctx("failover"))
    assert adapter.run_phase(Phase.ACTIVATE, retry, step).waits and calls.mutating == []


def test_a_step_has_work_only_in_the_phases_its_config_names():
    """The DAG gives its unit a task in those phases only (factory: Adapter.acts_in)."""
    step = unit({"documentName": "doc-1", "phases": ["INSTANTIATE", "CLEANUP"]})
    assert [p for p in Phase if adapter.acts_in(step, p)] == [Phase.INSTANTIATE, Phase.CLEANUP]
    assert [p for p in Phase if adapter.acts_in(unit({"documentName": "doc-1"}), p)] == [Phase.ACTIVATE]
