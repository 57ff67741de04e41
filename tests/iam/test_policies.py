"""include/iam/ is what the generator writes, and what it writes is sound IAM and CloudFormation.

* the committed files equal ``python -m dr_adapters iam`` output (so policies and code cannot drift);
* each adapter's policy grants exactly its ``iam_actions`` plus its service-side actions, each
  service-side group with a one-line reason, each policy within IAM's managed-policy size;
* cfn-lint (offline, AWS's resource specs) passes the spoke-role template and the hub policy, which
  also checks that every action name in them is a real IAM action;
* the template deploys (moto's CloudFormation): the role trusts only the hub principal with the
  ExternalId, holds exactly the enabled adapters' policies, and allows 900-second sessions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from cfnlint.api import lint

from dr_adapters import iam
from dr_adapters.adapters.registry import ADAPTER_CLASSES
from dr_adapters.iam import POLICY_ADAPTERS
from dr_adapters.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
IAM_DIR = ROOT / "include" / "iam"
HUB_PRINCIPAL = "arn:aws:iam::111111111111:role/service-role/mwaa-dr-execution"


def actions_of(document: dict) -> set[str]:
    return {a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_committed_files_equal_the_generator_output():
    assert iam.drift(IAM_DIR) == [], "include/iam/ is stale: run `make iam`"


def test_check_flags_a_hand_edited_policy(tmp_path, capsys):
    copy = tmp_path / "iam"
    shutil.copytree(IAM_DIR, copy)
    assert cli(["iam", "--check", str(copy)]) == 0
    drs = copy / "adapters" / "drs.json"
    drs.write_text(drs.read_text().replace('"drs:StartRecovery",', '"drs:StartRecovery", "drs:*",'))
    (copy / "adapters" / "extra.json").write_text("{}")
    assert cli(["iam", "--check", str(copy)]) == 1
    assert "adapters/drs.json" in capsys.readouterr().err
    assert cli(["iam", "--write", str(copy)]) == 0
    assert iam.drift(copy) == [] and not (copy / "adapters" / "extra.json").exists()


def test_make_iam_regenerates_include_iam():
    makefile = (ROOT / "Makefile").read_text()
    assert "iam" in next(line for line in makefile.splitlines() if line.startswith(".PHONY:")).split()
    recipe = makefile.split("\niam:", 1)[1].split("\n\n", 1)[0]
    assert "-m dr_adapters iam --write include/iam" in recipe


@pytest.mark.parametrize("cls", POLICY_ADAPTERS, ids=iam.adapter_name)
def test_adapter_policy_is_its_calls_plus_its_service_side_actions(cls):
    document = json.loads((IAM_DIR / "adapters" / f"{iam.adapter_name(cls)}.json").read_text())
    calls, *service_side = document["Statement"]
    assert sorted(calls["Action"]) == sorted(cls.iam_actions) and "Condition" not in calls
    assert actions_of(document) == set(cls.iam_actions) | iam.service_side(cls)
    for group in cls.service_side_actions:
        assert group.reason.strip() and "\n" not in group.reason, f"{group.sid}: one line saying why"
    assert all(s["Effect"] == "Allow" for s in document["Statement"])
    assert not any(a.endswith("*") for a in actions_of(document)), "no wildcard actions"
    assert len(json.dumps(document, separators=(",", ":"))) <= iam.MANAGED_POLICY_MAX_CHARS


def test_an_action_that_calls_no_aws_has_no_policy():
    """ManualStep (a person performs it) needs no permission: no policy file, no Enable parameter, and
    every other adapter has both (IAM refuses a policy without statements)."""
    without = [cls for cls in ADAPTER_CLASSES if cls not in POLICY_ADAPTERS]
    assert [cls.actions for cls in without] == [("ManualStep",)]
    assert all(not cls.iam_actions and not cls.service_side_actions for cls in without)
    template = yaml.safe_load((IAM_DIR / "spoke-role.yaml").read_text())
    for cls in without:
        assert not (IAM_DIR / "adapters" / f"{iam.adapter_name(cls)}.json").exists()
        assert iam.enable_parameter(cls) not in template["Parameters"]
    assert "`ManualStep`" in (IAM_DIR / "README.md").read_text().split("### Actions without a policy")[1]


def test_drs_launch_permissions_are_modelled_as_service_side():
    from dr_adapters.adapters.drs import DrsAdapter

    side = iam.service_side(DrsAdapter) - set(DrsAdapter.iam_actions)
    assert {"drs:CreateRecoveryInstanceForDrs", "drs:TagResource", "iam:PassRole", "ec2:RunInstances"} <= side
    (pass_role,) = [s for s in iam.adapter_statements(DrsAdapter) if s["Action"] == ["iam:PassRole"]]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_hub_policy_is_the_hubs_own_calls_on_named_resources():
    document = json.loads((IAM_DIR / "hub.json").read_text())
    assert actions_of(document) == set(iam.HUB_ACTIONS) == {"sts:AssumeRole", "sns:Publish", "s3:PutObject"}
    assert all(s["Resource"] != "*" for s in document["Statement"])


def test_spoke_role_template_and_hub_policy_pass_cfn_lint():
    assert lint((IAM_DIR / "spoke-role.yaml").read_text()) == []
    hub = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Hub": {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"PolicyDocument": json.loads((IAM_DIR / "hub.json").read_text())}}}}
    assert lint(json.dumps(hub)) == []


def test_cfn_lint_would_catch_a_misspelt_action():
    """The lint above is a real check of the action names (e.g. the DRS service-side ones)."""
    text = (IAM_DIR / "spoke-role.yaml").read_text().replace("drs:CreateRecoveryInstanceForDrs", "drs:CreateRecoveryInstance")
    assert any("createrecoveryinstance" in str(m) for m in lint(text))


def test_spoke_role_trusts_the_hub_only_with_the_external_id():
    template = yaml.safe_load((IAM_DIR / "spoke-role.yaml").read_text())
    (trust,) = template["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Ref": "HubPrincipalArn"}} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert template["Parameters"]["ExternalId"]["NoEcho"] is True
    assert "Default" not in template["Parameters"]["ExternalId"] and "Default" not in template["Parameters"]["HubPrincipalArn"]


def deploy(session: boto3.Session, **parameters: str) -> str:
    cfn = session.client("cloudformation", region_name="us-east-1")
    cfn.create_stack(StackName="dr-orchestration", TemplateBody=(IAM_DIR / "spoke-role.yaml").read_text(),
                     Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    stack = cfn.describe_stacks(StackName="dr-orchestration")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return stack["Outputs"][0]["OutputValue"]


def attached(session: boto3.Session, role: str) -> dict[str, dict]:
    client = session.client("iam")
    found = {}
    for p in client.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        version = client.get_policy(PolicyArn=p["PolicyArn"])["Policy"]["DefaultVersionId"]
        found[p["PolicyName"]] = client.get_policy_version(PolicyArn=p["PolicyArn"], VersionId=version)[
            "PolicyVersion"]["Document"]
    return found


def test_spoke_role_deploys_with_every_adapter_policy_by_default(aws):
    arn = deploy(aws, HubPrincipalArn=HUB_PRINCIPAL, ExternalId="acme-dr-7f3a")
    assert arn == "arn:aws:iam::123456789012:role/dr-orchestration"
    role = aws.client("iam").get_role(RoleName="dr-orchestration")["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": HUB_PRINCIPAL}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "acme-dr-7f3a"}}
    assert role["MaxSessionDuration"] >= 900  # the orchestrator asks for 900-second sessions
    policies = attached(aws, "dr-orchestration")
    assert policies == {f"dr-orchestration-{iam.adapter_name(cls).replace('_', '-')}": iam.adapter_policy(cls)
                        for cls in POLICY_ADAPTERS}


def test_spoke_role_holds_only_the_enabled_adapters(aws):
    kept = {"aurora", "route53"}
    disabled = {iam.enable_parameter(cls): "false" for cls in POLICY_ADAPTERS if iam.adapter_name(cls) not in kept}
    assert len(disabled) == len(POLICY_ADAPTERS) - len(kept)
    deploy(aws, HubPrincipalArn=HUB_PRINCIPAL, ExternalId="acme-dr-7f3a", RoleName="dr-billing", **disabled)
    assert set(attached(aws, "dr-billing")) == {"dr-billing-aurora", "dr-billing-route53"}


def test_cli_without_arguments_prints_every_file():
    proc = subprocess.run([sys.executable, "-m", "dr_adapters", "iam"], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    for rel in iam.render_files():
        assert f"==> {rel} <==" in proc.stdout


def test_with_a_hub_role_the_execution_role_only_assumes_it_and_the_spokes_trust_it(tmp_path):
    """hubRoleArn: the execution role assumes the hub role; the hub role holds what the hub does; the spoke
    roles trust the hub role (role chaining), so each call is made under the run-named session."""
    from dr_adapters.iam import manifest_policies
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    hub_role = "arn:aws:iam::111111111111:role/dr-hub"
    data.update(hubAccountId="111111111111", hubRoleArn=hub_role)
    path = tmp_path / "hub-role.yaml"
    path.write_text(yaml.safe_dump(data))
    with_role = manifest_policies([build_plan(load_manifest(path))], HUB_PRINCIPAL)
    without = manifest_policies([build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))],
                                HUB_PRINCIPAL)

    assert with_role["execution-role-policy.json"]["Statement"] == [
        {"Sid": "DrAssumeHubRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": [hub_role]}]
    assert with_role["hub-role-dr-hub-policy.json"] == without["execution-role-policy.json"]
    (trust,) = with_role["hub-role-dr-hub-trust-policy.json"]["Statement"]
    assert trust["Principal"] == {"AWS": HUB_PRINCIPAL}
    spoke_trusts = [name for name in with_role if name.startswith("spoke-") and name.endswith("-trust-policy.json")]
    assert spoke_trusts
    for name in spoke_trusts:
        (trust,) = with_role[name]["Statement"]
        assert trust["Principal"] == {"AWS": hub_role} and "sts:ExternalId" in trust["Condition"]["StringEquals"]
        params = {p["ParameterKey"]: p["ParameterValue"]
                  for p in with_role[name.replace("-trust-policy.json", "-cfn-parameters.json")]}
        assert params["HubPrincipalArn"] == hub_role
