"""Least-privilege IAM, generated from what the adapters declare (one source, no drift).

Two outputs share the statements built here:

* ``include/iam/`` (``python -m dr_adapters iam --write include/iam``, ``make iam``): one policy per
  adapter, the hub's own policy, and a CloudFormation template of the spoke-account role. They do
  not depend on any manifest; a test keeps the committed files equal to this module's output.
* the MWAA bundle's per-manifest policies (``manifest_policies``, ``make mwaa-bundle``): the same
  adapter statements merged for the resources each account really holds, with the manifests' exact
  role, topic and bucket ARNs, and the actions an adapter scopes to the resources a manifest names
  (``Adapter.iam_resources``: the SSM documents and Lambda functions of runbook steps) granted on those.

An adapter's policy grants its ``iam_actions`` (the calls it makes; tests prove each is made and
nothing else is) and its ``service_side_actions`` (what AWS needs on our behalf, each with its reason).
An adapter that makes no AWS call (``ManualStep``: a person acts) has no policy: IAM refuses an empty one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from dr_adapters.adapters.base import Adapter
from dr_adapters.adapters.registry import ADAPTER_CLASSES, adapter_for

POLICY_VERSION = "2012-10-17"
DEFAULT_SPOKE_ROLE_NAME = "dr-orchestration"
EXECUTION_ROLE_PLACEHOLDER = "arn:aws:iam::<hub-account-id>:role/<mwaa-execution-role>"
MANAGED_POLICY_MAX_CHARS = 6144  # IAM's limit on a managed policy document (whitespace not counted)

HUB_ACTIONS: dict[str, str] = {
    "sts:AssumeRole": "reach each spoke account through its role, with the manifest's ExternalId "
    "(dr_adapters/aws/sessions.py)",
    "sns:Publish": "run notifications to the manifest's topic (dr_adapters/orchestration/notify.py)",
    "s3:PutObject": "reports to the manifest's bucket, when it names one (dr_adapters/report/render.py)",
}
"""What the hub calls for itself, on top of the adapters of the resources in the hub account."""

DISCOVERY_ACTIONS: dict[str, str] = {
    "resource-explorer-2:Search": "tag discovery (`discover`) and preflight's drift and unprotected-resource "
    "checks: one Search per account and region (dr_adapters/sources/discovery.py)",
    "tag:GetResources": "the same, in a region where Resource Explorer has no index or default view",
}
"""What discovery calls in every account it searches (hub and spokes); what it then reads of each
resource is in that resource's adapter policy. Both take no resource ARN narrower than ``*``."""


def discovery_statement() -> dict[str, Any]:
    return {"Sid": "DrTagDiscovery", "Effect": "Allow", "Action": sorted(DISCOVERY_ACTIONS), "Resource": "*"}


CAPACITY_ACTIONS: dict[str, str] = {
    "servicequotas:GetServiceQuota": "preflight's capacity check: the value applied to the account of each quota the "
    "run will consume (EC2 On-Demand vCPUs, RDS DB instances, Lambda concurrency, Fargate vCPUs), once per account, "
    "region and quota (dr_adapters/adapters/capacity.py)",
    "servicequotas:GetAWSDefaultServiceQuota": "the same, AWS's default value, when the account has none applied",
}
"""What preflight's capacity check calls in every account whose resources consume a quota (hub and spokes). The
usage it compares with is read with the actions of the adapter declaring the need (``iam_actions``). Service
Quotas' reads take no resource narrower than ``*``; they read quota values only, never a resource."""


def capacity_statement() -> dict[str, Any]:
    return {"Sid": "DrCapacityChecks", "Effect": "Allow", "Action": sorted(CAPACITY_ACTIONS), "Resource": "*"}


# Resources of the generic hub policy (include/iam/hub.json): naming conventions, documented there.
# The MWAA bundle's execution-role policy names the manifests' exact ARNs instead.
HUB_CONVENTIONS: dict[str, str] = {
    "sts:AssumeRole": f"arn:aws:iam::*:role/{DEFAULT_SPOKE_ROLE_NAME}*",
    "sns:Publish": "arn:aws:sns:*:*:dr-*",
    "s3:PutObject": "arn:aws:s3:::*/dr-reports/*",
}


# -- one adapter ------------------------------------------------------------------------------
def adapter_name(cls: type[Adapter]) -> str:
    """The adapter's module name: ``drs``, ``aurora``, ``lambda_function`` (its policy file's stem)."""
    return cls.__module__.rsplit(".", 1)[-1]


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def service_side(cls: type[Adapter]) -> set[str]:
    return {action for group in cls.service_side_actions for action in group.actions}


def shipped_actions(cls: type[Adapter]) -> set[str]:
    """Everything the adapter's policy grants: its own calls and the service-side actions."""
    return set(cls.iam_actions) | service_side(cls)


POLICY_ADAPTERS: tuple[type[Adapter], ...] = tuple(cls for cls in ADAPTER_CLASSES if shipped_actions(cls))
"""The adapters with a policy (every one that calls AWS), in registration order."""


def adapter_statements(cls: type[Adapter]) -> list[dict[str, Any]]:
    """The called actions first, then one statement per service-side group (what it adds)."""
    prefix = _camel(adapter_name(cls))
    granted = set(cls.iam_actions)
    statements = [{"Sid": f"{prefix}Calls", "Effect": "Allow", "Action": sorted(granted), "Resource": "*"}]
    for group in cls.service_side_actions:
        actions = sorted(set(group.actions) - granted) if group.condition is None else sorted(group.actions)
        if not actions:
            continue
        statement: dict[str, Any] = {"Sid": f"{prefix}{group.sid}", "Effect": "Allow", "Action": actions,
                                     "Resource": "*"}
        if group.condition:
            statement["Condition"] = group.condition
        else:
            granted |= set(actions)
        statements.append(statement)
    return statements


def policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": statements}


def adapter_policy(cls: type[Adapter]) -> dict[str, Any]:
    return policy(adapter_statements(cls))


def merged_statements(classes: list[type[Adapter]], sid: str) -> list[dict[str, Any]]:
    """Several adapters' statements as one: every unconditional action under ``sid``, then each
    conditional statement once (e.g. DRS's iam:PassRole, only to EC2)."""
    plain: set[str] = set()
    conditional: dict[str, dict[str, Any]] = {}
    for cls in classes:
        for statement in adapter_statements(cls):
            if "Condition" in statement:
                conditional.setdefault(json.dumps(statement, sort_keys=True), statement)
            else:
                plain.update(statement["Action"])
    statements = [{"Sid": sid, "Effect": "Allow", "Action": sorted(plain), "Resource": "*"}] if plain else []
    return statements + [conditional[key] for key in sorted(conditional)]


# -- include/iam: manifest-independent ----------------------------------------------------------
def hub_policy() -> dict[str, Any]:
    sids = {"sts:AssumeRole": "DrAssumeSpokeRoles", "sns:Publish": "DrNotifications", "s3:PutObject": "DrReports"}
    return policy([{"Sid": sids[action], "Effect": "Allow", "Action": action, "Resource": HUB_CONVENTIONS[action]}
                   for action in HUB_ACTIONS])


def enable_parameter(cls: type[Adapter]) -> str:
    return f"Enable{_camel(adapter_name(cls))}"


def _condition(cls: type[Adapter]) -> str:
    return f"{_camel(adapter_name(cls))}Enabled"


def spoke_role_template() -> dict[str, Any]:
    """CloudFormation: the spoke role, trusted by the hub principal only with the ExternalId, and one
    managed policy per adapter, each behind an ``Enable<Adapter>`` parameter (default: all)."""
    parameters: dict[str, Any] = {
        "HubPrincipalArn": {
            "Type": "String",
            "Description": "The hub role the orchestrator runs as: the MWAA execution role (or the role its "
            "aws_default connection assumes)",
            "AllowedPattern": r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$",
        },
        "ExternalId": {
            "Type": "String",
            "Description": "The externalId of this account in the manifest (accounts[].externalId)",
            "NoEcho": True,
            "MinLength": 2,
            "MaxLength": 1224,
            "AllowedPattern": r"^[\w+=,.@:/-]+$",
        },
        "RoleName": {
            "Type": "String",
            "Description": "The role name; the manifest's roleArn for this account must name it",
            "Default": DEFAULT_SPOKE_ROLE_NAME,
            "AllowedPattern": r"^[\w+=,.@-]{1,64}$",
        },
    }
    conditions: dict[str, Any] = {}
    resources: dict[str, Any] = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": {"Ref": "RoleName"},
                "Description": "DR orchestration: assumed by the hub, with the ExternalId, for 900-second sessions",
                "MaxSessionDuration": 3600,
                "AssumeRolePolicyDocument": policy([{
                    "Sid": "DrHubAssumesWithExternalId",
                    "Effect": "Allow",
                    "Principal": {"AWS": {"Ref": "HubPrincipalArn"}},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                }]),
                "Policies": [{"PolicyName": "dr-tag-discovery", "PolicyDocument": policy([discovery_statement()])},
                             {"PolicyName": "dr-capacity-checks", "PolicyDocument": policy([capacity_statement()])}],
            },
        },
    }
    for cls in POLICY_ADAPTERS:
        name = adapter_name(cls)
        parameters[enable_parameter(cls)] = {
            "Type": "String",
            "Description": f"true: attach include/iam/adapters/{name}.json ({', '.join(cls.actions)} resources here)",
            "AllowedValues": ["true", "false"],
            "Default": "true",
        }
        conditions[_condition(cls)] = {"Fn::Equals": [{"Ref": enable_parameter(cls)}, "true"]}
        resources[f"{_camel(name)}Policy"] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Condition": _condition(cls),
            "Properties": {
                "ManagedPolicyName": {"Fn::Sub": f"${{RoleName}}-{name.replace('_', '-')}"},
                "Description": f"DR orchestration, {', '.join(cls.actions)}: the adapter's calls and what AWS "
                "needs on its behalf",
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": adapter_policy(cls),
            },
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "DR orchestration spoke-account role (generated by python -m dr_adapters iam; do not edit)",
        "Parameters": parameters,
        "Conditions": conditions,
        "Resources": resources,
        "Outputs": {"RoleArn": {"Description": "Put this in the manifest's accounts[].roleArn",
                                "Value": {"Fn::GetAtt": ["Role", "Arn"]}}},
    }


SPOKE_HEADER = """\
# DR orchestration: the role the hub assumes in a spoke account (generated by
# `python -m dr_adapters iam --write include/iam` / `make iam` from the adapters; do not edit).
#
# Trust: only HubPrincipalArn, and only with sts:ExternalId = ExternalId (the manifest's externalId;
# the orchestrator always sends it). Permissions: one managed policy per adapter, the same documents
# as include/iam/adapters/*.json. Every adapter's policy is attached by default, so a resource added
# to a manifest later does not meet AccessDenied in the middle of a failover; set Enable<Adapter> to
# false for the actions this account will never hold. `make mwaa-bundle` writes each spoke account's
# exact parameter values from the manifests (build/mwaa/iam/spoke-<account>-<role>-cfn-parameters.json).
#
#   aws cloudformation deploy --template-file include/iam/spoke-role.yaml --stack-name dr-orchestration \\
#       --capabilities CAPABILITY_NAMED_IAM --parameter-overrides \\
#       HubPrincipalArn=arn:aws:iam::111111111111:role/service-role/mwaa-dr-execution ExternalId=acme-dr-7f3a
"""


def _readme() -> str:
    lines = [
        "# IAM for the DR orchestrator",
        "",
        "Generated by `python -m dr_adapters iam --write include/iam` (`make iam`) from the adapters'",
        "declarations; `tests/iam/test_policies.py` fails when a file here differs from the generator's",
        "output, and `tests/adapters/test_contract.py` records every AWS call each adapter makes in a",
        "failover, a failback and a drill against the simulator: each call is granted by the adapter's",
        "policy, and each action granted for our own calls is made at least once.",
        "",
        "| file | attach to | grants |",
        "|---|---|---|",
        "| `adapters/<adapter>.json` | the role of every account holding that adapter's resources (hub or spoke) | the adapter's calls + what AWS needs on its behalf |",
        "| `hub.json` | the hub role (MWAA execution role) | `sts:AssumeRole` on the spoke roles, `sns:Publish`, `s3:PutObject` for reports |",
        "| `discovery.json` | every account's role (the spoke template includes it) | tag search: Resource Explorer `Search`, `tag:GetResources` |",
        "| `capacity.json` | every account's role (the spoke template includes it) | preflight's quota reads: Service Quotas `GetServiceQuota`, `GetAWSDefaultServiceQuota` |",
        "| `spoke-role.yaml` | CloudFormation, once per spoke account | the spoke role: ExternalId trust + the adapters' policies |",
        "",
        "`hub.json` names its resources by convention: spoke roles named `dr-orchestration*` (the template's",
        "default `RoleName`), topics named `dr-*`, reports under a `dr-reports/` prefix (the default",
        "`report.s3Prefix`). `make mwaa-bundle` writes the same policies for your manifests with their exact",
        "ARNs, and only the adapters each account uses (`build/mwaa/iam/`, docs/deploy-mwaa.md step 3).",
        "",
        "## What each policy grants, and why",
        "",
        "The hub's own calls:",
        "",
    ]
    lines += [f"- `{action}`: {why}" for action, why in HUB_ACTIONS.items()]
    lines += ["", "Tag discovery, in every account (`discovery.json`):", ""]
    lines += [f"- `{action}`: {why}" for action, why in DISCOVERY_ACTIONS.items()]
    lines += ["", "Capacity checks, in every account (`capacity.json`; the usage they compare with is read with the "
              "adapters' own actions):", ""]
    lines += [f"- `{action}`: {why}" for action, why in CAPACITY_ACTIONS.items()]
    for cls in POLICY_ADAPTERS:
        lines += ["", f"### `adapters/{adapter_name(cls)}.json` ({' / '.join(f'`{a}`' for a in cls.actions)})", "",
                  "Called by the adapter (botocore waiters included): "
                  + ", ".join(f"`{a}`" for a in sorted(cls.iam_actions)) + "."]
        if cls.service_side_actions:
            lines += ["", "Needed by AWS on our behalf, never called by the adapter itself (an action in both lists is "
                      "granted once, with the calls):", ""]
            for group in cls.service_side_actions:
                condition = f" (condition: `{json.dumps(group.condition)}`)" if group.condition else ""
                lines.append(f"- {', '.join(f'`{a}`' for a in group.actions)}{condition}: {group.reason}")
    without = [cls for cls in ADAPTER_CLASSES if cls not in POLICY_ADAPTERS]
    if without:
        lines += ["", "### Actions without a policy", "", "They make no AWS call, and IAM refuses an empty policy:", ""]
        lines += [f"- {' / '.join(f'`{a}`' for a in cls.actions)} (`{cls.__module__}`)" for cls in without]
    return "\n".join(lines) + "\n"


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def render_files() -> dict[str, str]:
    """Every file of ``include/iam/``, by path relative to it."""
    files = {f"adapters/{adapter_name(cls)}.json": _json(adapter_policy(cls)) for cls in POLICY_ADAPTERS}
    files["hub.json"] = _json(hub_policy())
    files["discovery.json"] = _json(policy([discovery_statement()]))
    files["capacity.json"] = _json(policy([capacity_statement()]))
    files["spoke-role.yaml"] = SPOKE_HEADER + yaml.safe_dump(spoke_role_template(), sort_keys=False, width=200)
    files["README.md"] = _readme()
    return files


def drift(directory: str | Path) -> list[str]:
    """Paths under ``directory`` that differ from the generator's output (missing, changed or extra)."""
    directory = Path(directory)
    wanted = render_files()
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()} if directory.is_dir() else set()
    changed = [rel for rel, text in wanted.items() if rel not in present or (directory / rel).read_text() != text]
    return sorted(changed + [rel for rel in present - set(wanted)])


def write_files(directory: str | Path) -> list[str]:
    """Write ``include/iam/`` (removing files the generator no longer makes); returns the paths written."""
    directory = Path(directory)
    wanted = render_files()
    if directory.is_dir():
        for path in directory.rglob("*"):
            if path.is_file() and path.relative_to(directory).as_posix() not in wanted:
                path.unlink()
    for rel, text in wanted.items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_text(text)
    return sorted(wanted)


# -- per manifest: the MWAA bundle ----------------------------------------------------------------
class Named:
    """Actions one account's resources need on named ARNs only (``Adapter.iam_resources``: an SSM document, a
    Lambda function), kept apart from those some adapter there needs on ``*``."""

    def __init__(self) -> None:
        self.arns: dict[str, set[str]] = defaultdict(set)
        self.anywhere: set[str] = set()

    def add(self, cls: type[Adapter], resources: dict[str, list[str]]) -> None:
        for action, arns in resources.items():
            self.arns[action].update(arns)
        self.anywhere |= shipped_actions(cls) - set(resources)

    def narrow(self, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``statements`` with the named-only actions moved from the unconditional ``*`` statement into
        statements on their ARNs (one per set of ARNs)."""
        only_named = {a for a in self.arns if a not in self.anywhere}
        if not only_named or not statements or "Condition" in statements[0]:
            return statements
        plain, rest = statements[0], statements[1:]
        by_arns: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for action in sorted(only_named & set(plain["Action"])):
            by_arns[tuple(sorted(self.arns[action]))].append(action)
        kept = [a for a in plain["Action"] if a not in only_named]
        out = [{**plain, "Action": kept}] if kept else []
        out += [{"Sid": f"{plain['Sid']}Named{i}", "Effect": "Allow", "Action": actions, "Resource": list(arns)}
                for i, (arns, actions) in enumerate(sorted(by_arns.items(), key=lambda kv: kv[1]), 1)]
        return out + rest


def manifest_policies(plans: list[Any], execution_role_arn: str = EXECUTION_ROLE_PLACEHOLDER) -> dict[str, dict[str, Any]]:
    """Least-privilege policies for the accounts of these plans (``build/mwaa/iam/``).

    ``execution-role-policy.json`` (attach to the MWAA execution role: the hub): the adapter
    statements of the resources in the hub account, AssumeRole on the spoke roles, SNS and
    report-bucket access. Per spoke role: ``spoke-<account>-<role>-policy.json`` (its resources'
    adapter statements), ``-trust-policy.json`` (the execution role, with the manifest's
    ExternalId) and ``-cfn-parameters.json`` (the same role from ``include/iam/spoke-role.yaml``:
    ``aws cloudformation create-stack --parameters file://...``).
    """
    hub_classes: set[type[Adapter]] = set()
    spoke_classes: dict[str, set[type[Adapter]]] = defaultdict(set)
    named: dict[str | None, Named] = defaultdict(Named)  # per role (None: the hub): actions on named resources
    external_ids: dict[str, set[str]] = defaultdict(set)
    hub_principals: dict[str, set[str]] = defaultdict(set)  # spoke role -> who assumes it
    spoke_account: dict[str, str] = {}
    hub_roles: set[str] = set()
    connection_is_hub = False
    topics, report_objects = set(), set()
    for plan in plans:
        roles = {a.account_id: a for a in plan.accounts if a.account_id != plan.hub_account_id}
        if plan.hub_role_arn:
            hub_roles.add(plan.hub_role_arn)
        else:
            connection_is_hub = True
        for access in roles.values():
            external_ids[access.role_arn].add(access.external_id)
            hub_principals[access.role_arn].add(plan.hub_role_arn or execution_role_arn)
            spoke_account[access.role_arn] = access.account_id
            spoke_classes.setdefault(access.role_arn, set())
        for unit in plan.units:
            adapter = adapter_for(unit.action)
            cls = type(adapter)
            access = roles.get(unit.account_id) if unit.account_id else None
            (spoke_classes[access.role_arn] if access else hub_classes).add(cls)
            account = access.account_id if access else (plan.hub_account_id or "*")
            for resource in unit.resources:
                named[access.role_arn if access else None].add(cls, adapter.iam_resources(resource, account,
                                                                                         plan.regions))
        topics.update(plan.topic_arns)
        for bucket, _ in plan.report_buckets:
            report_objects.add(f"arn:aws:s3:::{bucket}/{plan.report_prefix.strip('/')}/*")

    def ordered(classes: set[type[Adapter]]) -> list[type[Adapter]]:
        return [cls for cls in POLICY_ADAPTERS if cls in classes]

    hub = named[None].narrow(merged_statements(ordered(hub_classes), "DrHubResources")) + [discovery_statement(),
                                                                                           capacity_statement()]
    if spoke_classes:
        hub.append({"Sid": "DrAssumeSpokeRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Resource": sorted(spoke_classes)})
    if topics:
        hub.append({"Sid": "DrNotifications", "Effect": "Allow", "Action": "sns:Publish", "Resource": sorted(topics)})
    if report_objects:
        hub.append({"Sid": "DrReports", "Effect": "Allow", "Action": "s3:PutObject", "Resource": sorted(report_objects)})
    # With a hubRoleArn the execution role only assumes the hub role, which does the rest under the run's name.
    assume_hub = [{"Sid": "DrAssumeHubRole", "Effect": "Allow", "Action": "sts:AssumeRole",
                   "Resource": sorted(hub_roles)}] if hub_roles else []
    policies = {"execution-role-policy.json": policy((hub if connection_is_hub else []) + assume_hub)}
    for role_arn in sorted(hub_roles):
        stem = f"hub-role-{role_arn.rsplit('/', 1)[-1]}"
        policies[f"{stem}-policy.json"] = policy(hub)
        policies[f"{stem}-trust-policy.json"] = policy([{
            "Sid": "DrExecutionRoleAssumesHubRole", "Effect": "Allow",
            "Principal": {"AWS": execution_role_arn}, "Action": "sts:AssumeRole"}])

    for role_arn, classes in sorted(spoke_classes.items()):
        role_name = role_arn.rsplit("/", 1)[-1]
        stem = f"spoke-{spoke_account[role_arn]}-{role_name}"
        policies[f"{stem}-policy.json"] = policy(named[role_arn].narrow(merged_statements(ordered(classes),
                                                                                          "DrSpokeResources"))
                                                 + [discovery_statement(), capacity_statement()])
        ids = sorted(external_ids[role_arn])
        principals = sorted(hub_principals[role_arn])
        policies[f"{stem}-trust-policy.json"] = policy([{
            "Sid": "DrHubAssumesWithExternalId", "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": ids[0] if len(ids) == 1 else ids}},
        }])
        if len(ids) == 1 and len(principals) == 1:  # the template takes one of each; several need the JSON
            values = {"HubPrincipalArn": principals[0], "ExternalId": ids[0], "RoleName": role_name}
            values.update({enable_parameter(cls): "true" if cls in classes else "false" for cls in POLICY_ADAPTERS})
            policies[f"{stem}-cfn-parameters.json"] = [  # type: ignore[assignment]
                {"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]
    return policies
