"""Manifest validation: valid files load; every invalid fixture fails naming file, path and problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dr_adapters.sources.loader import ManifestError, load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "manifests"
INVALID = FIXTURES / "invalid"

# fixture file -> (location in the message, words of the message)
EXPECTED = {
    "malformed-yaml.yaml": ("line 3", "not valid YAML"),
    "malformed-json.json": ("line 1", "not valid JSON"),
    "unknown-action.yaml": ("layers[0].resources[0] (thing).action", "unknown action 'Mainframe' -- use one of: AuroraMySQL, AuroraPostgreSQL, AutoScaling, DRS"),
    "unknown-key.yaml": ("aprovalRequired", "unknown key"),
    "unknown-config-key.yaml": ("layers[0].resources[0] (api).config.desiredCnt", "unknown key"),
    "wrong-type.yaml": ("layers[0].resources[0] (api).config.desiredCount", "valid integer"),
    "duplicate-resource.yaml": ("", "resourceId 'api' is used twice"),
    "dependency-cycle.yaml": ("", "dependency cycle: a -> b -> a"),
    "missing-dependency.yaml": ("", "depends on 'ghost', which is not in the manifest"),
    "empty-wave.yaml": ("layers[0].resources", "at least 1 item"),
    "same-regions.yaml": ("regions", "the DR region must be another region"),
    "account-without-entry.yaml": ("", "account 333333333333, which has no entry under accounts"),
    "account-without-external-id.yaml": ("accounts[0].externalId", "required key is missing"),
    "bad-account-id.yaml": ("accounts[0].accountId", "'2222'"),
    "bad-role-arn.yaml": ("accounts[0].roleArn", "arn:aws:iam::222222222222:user/dr"),
    "unsupported-phase.yaml": ("phases[1]", "'INSTANTIATE', 'ACTIVATE', 'CLEANUP' or 'REPLICATE'"),
    "dependency-on-later-wave.yaml": ("", "depends on 'db', which runs later (wave 2)"),
    "duplicate-priority.yaml": ("", "both have priority 1"),
    "bad-environment.yaml": ("environment", "'production', 'staging' or 'development'"),
    "bad-drs-server-id.yaml": ("layers[0].resources[0] (app-1).config.sourceServerId", "'i-123'"),
    "not-a-mapping.yaml": ("", "the manifest is a list"),
    "bad-cron.yaml": ("drill.schedule", "not a valid cron expression"),
    "missing-config.yaml": ("layers[0].resources[0] (www).config.drValues", "required key is missing"),
    "account-id-as-number.yaml": ("accounts[0].accountId", 'quote numbers such as account ids'),
    "role-in-other-account.yaml": ("accounts[0]", "roleArn is in account 333333333333 but accountId is 222222222222"),
    "no-activate-phase.yaml": ("phases", "must include ACTIVATE"),
    "bad-sns-arn.yaml": ("notifications.snsTopicArn", "arn:aws:sqs:us-west-2:111111111111:dr-events"),
    "negative-rto.yaml": ("slaTargets.rto", "greater than or equal to 1"),
    "negative-validation-timeout.yaml": ("layers[0].validationTimeoutMinutes", "greater than or equal to 0"),
    "empty.yaml": ("", "the manifest is empty"),
    "uppercase-manifest-id.yaml": ("manifestId", "'ACME_Prod'"),
    "missing-action.yaml": ("layers[0].resources[0] (a).action", "missing 'action'"),
    "bad-region.yaml": ("regions.dr", "'Oregon'"),
    "separation-of-duties-one-approver.yaml": ("", "separationOfDuties with one approver ('alice')"),
    "duplicate-approver.yaml": ("", "approvers: 'alice' is listed twice"),
    "hub-role-in-another-account.yaml": ("", "hubRoleArn arn:aws:iam::777788889999:role/dr-hub is in account "
                                             "777788889999, not the hub (444455556666)"),
}


def test_every_invalid_fixture_has_an_expectation():
    assert sorted(p.name for p in INVALID.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_manifest_names_file_path_and_problem(name):
    location, words = EXPECTED[name]
    with pytest.raises(ManifestError) as caught:
        load_manifest(INVALID / name)
    message = str(caught.value)
    assert str(INVALID / name) in message
    assert location in message
    assert words in message, message
    problems = message.splitlines()[1:]
    assert problems and all(" -- " in line for line in problems), f"every problem says how to fix it:\n{message}"


@pytest.mark.parametrize("name", ["valid-minimal.yaml", "valid-srs-format.json"])
def test_valid_fixtures_load(name):
    plan = build_plan(load_manifest(FIXTURES / name), name)
    assert plan.waves and plan.resources


def test_srs_format_keeps_its_meaning():
    plan = build_plan(load_manifest(FIXTURES / "valid-srs-format.json"))
    assert plan.dag_id == "dr_initech_production"
    assert [w.layer_id for w in plan.waves] == ["database-tier", "app-tier"]
    assert plan.rto_minutes == 60 and plan.rpo_minutes == 15
    assert plan.resources["api"].dependencies == ("aurora-cluster-1",)


def test_demo_manifest_is_the_estate_the_issue_asks_for():
    plan = build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))
    actions = {r.action for r in plan.resources.values()}
    assert {"DRS", "EcsService", "LambdaFunction", "R53Record"} <= actions
    assert actions & {"AuroraMySQL", "AuroraPostgreSQL"}
    assert len(plan.waves) >= 3 and len(plan.resources) >= 20
    assert sum(r.action == "DRS" for r in plan.resources.values()) >= 10
    assert {r.account_id for r in plan.resources.values()} >= {None, "222222222222"}


def test_approvers_and_separation_of_duties_reach_the_plan(tmp_path):
    import yaml

    from dr_adapters.plan.model import plan_from_dict, plan_to_dict

    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    assert build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml")).approvers == ()
    data.update(approvers=["alice", "bob"], separationOfDuties=True)
    path = tmp_path / "people.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = build_plan(load_manifest(path))
    assert plan.approvers == ("alice", "bob") and plan.separation_of_duties is True
    for with_waves in (True, False):  # the gates get the header only
        back = plan_from_dict(plan_to_dict(plan, with_waves=with_waves))
        assert (back.approvers, back.separation_of_duties) == (("alice", "bob"), True)


def test_a_hub_role_reaches_the_plan_and_a_bad_one_is_named(tmp_path):
    import yaml

    from dr_adapters.plan.model import plan_from_dict, plan_to_dict

    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    data["hubRoleArn"] = f"arn:aws:iam::{data.get('hubAccountId', '123456789012')}:role/dr-hub"
    path = tmp_path / "hub-role.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = build_plan(load_manifest(path))
    assert plan.hub_role_arn == data["hubRoleArn"]
    assert plan_from_dict(plan_to_dict(plan, with_waves=False)).hub_role_arn == data["hubRoleArn"]
    data["hubRoleArn"] = "arn:aws:iam::123456789012:user/dr-hub"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match="hubRoleArn"):
        load_manifest(path)


def test_a_gate_before_activate_reaches_the_plan_per_wave(tmp_path):
    """approvalBeforeActivate: every wave's, unless its layer says otherwise; the gates' header keeps which."""
    import yaml

    from dr_adapters.plan.model import plan_from_dict, plan_to_dict

    demo = ROOT / "include" / "manifests" / "acme-production.yaml"
    assert build_plan(load_manifest(demo)).activate_gate_waves == []  # off unless asked for
    data = yaml.safe_load(demo.read_text())
    data["approvalBeforeActivate"] = True
    data["layers"][0]["approvalBeforeActivate"] = False
    path = tmp_path / "before-activate.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = build_plan(load_manifest(path))
    numbers = [w.number for w in plan.waves]
    assert plan.activate_gate_waves == numbers[1:]
    assert [w.approval_before_activate for w in plan_from_dict(plan_to_dict(plan)).waves] == [False] + [True] * (
        len(numbers) - 1)
    assert plan_from_dict(plan_to_dict(plan, with_waves=False)).activate_gate_waves == numbers[1:]
    printed = run_cli("plan", str(path))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("APPROVAL    gate before ACTIVATE") == len(numbers) - 1
    data["layers"][0]["approvalBeforeActivate"] = "sometimes"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match="approvalBeforeActivate"):
        load_manifest(path)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dr_adapters", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_validate_exit_codes_and_messages():
    ok = run_cli("validate", str(FIXTURES / "valid-minimal.yaml"))
    assert ok.returncode == 0 and "OK (dr_globex_staging" in ok.stdout
    bad = run_cli("validate", str(FIXTURES / "valid-minimal.yaml"), str(INVALID / "dependency-cycle.yaml"))
    assert bad.returncode == 1
    assert "dependency-cycle.yaml" in bad.stderr and "dependency cycle" in bad.stderr


def test_cli_plan_prints_waves_units_and_phases():
    out = run_cli("plan", str(ROOT / "include" / "manifests" / "acme-production.yaml"))
    assert out.returncode == 0, out.stderr
    for text in ("wave 1 (database-tier)", "approval gate before wave 2", "unit drs-hub-batch1 [DRS, hub account]",
                 "step 2 (after its dependencies)", "ACTIVATE", "cleanup:", "in a drill:"):
        assert text in out.stdout
    assert "gate before ACTIVATE" not in out.stdout


def test_schema_export_types_each_action_config():
    out = run_cli("schema")
    schema = json.loads(out.stdout)
    defs = schema["$defs"]
    assert "DrsConfig" in defs and "sourceServerId" in defs["DrsConfig"]["properties"]
    assert defs["Strict"]["additionalProperties"] is False if "Strict" in defs else True
    assert any(d.get("additionalProperties") is False for d in defs.values())
    people = schema["properties"]
    assert people["approvers"]["type"] == "array" and "allowed respondents" in people["approvers"]["description"]
    assert people["separationOfDuties"]["type"] == "boolean"
    assert people["approvalBeforeActivate"]["type"] == "boolean"
    assert "approvalBeforeActivate" in defs["Layer"]["properties"]


def _scope(**changes):
    import yaml

    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    data.pop("layers")
    data["discovery"] = {}
    data.update(changes)
    return data


def test_a_discovery_scope_validates_as_strictly_as_a_manifest():
    from dr_adapters.sources.loader import validate_data

    scope = validate_data(_scope(), "scope.yaml")
    assert scope.is_scope and scope.layers == [] and scope.discovery.method == "resource-explorer"
    # a hand-listed entry may depend on a resource discovery will find
    edge = {"layerId": "edge", "priority": 3, "resources": [{
        "resourceId": "www", "action": "R53Record", "dependencies": ["web-frontend"],
        "config": {"hostedZoneId": "Z1", "recordName": "www.acme.example.", "primaryValues": ["a."], "drValues": ["b."]}}]}
    assert validate_data(_scope(layers=[edge]), "scope.yaml").layers[0].resources[0].dependencies == ["web-frontend"]
    cases = {
        "no-resources": ({"discovery": None}, "", "no resources -- list them under layers, or add a discovery block"),
        "account": ({"discovery": {"accounts": ["999999999999"]}}, "", "discovery.accounts: 999999999999 is not listed"),
        "region": ({"discovery": {"regions": ["eu-west-1"]}}, "", "neither the primary (us-east-1) nor the DR region"),
        "method": ({"discovery": {"method": "guess"}}, "discovery.method", "'resource-explorer' or 'tagging-api'"),
        "key": ({"discovery": {"filters": {}}}, "discovery.filters", "unknown key"),
        "action": ({"discovery": {"include": {"actions": ["Mainframe"]}}}, "discovery.include.actions",
                   "unknown action(s) ['Mainframe']"),
        "unprotected": ({"unprotectedResources": "panic"}, "unprotectedResources", "'warn', 'error' or 'ignore'"),
    }
    for name, (changes, where, words) in cases.items():
        with pytest.raises(ManifestError) as err:
            validate_data(_scope(**changes), f"{name}.yaml")
        problems = err.value.problems
        assert any(p.location == where and words in p.message for p in problems), (name, [str(p) for p in problems])


def test_schema_export_describes_the_discovery_block():
    defs = json.loads(run_cli("schema").stdout)["$defs"]
    assert {"method", "accounts", "regions", "include", "exclude"} <= set(defs["Discovery"]["properties"])
    assert defs["Discovery"]["additionalProperties"] is False
    assert "discoveredFrom" in json.dumps(defs)
