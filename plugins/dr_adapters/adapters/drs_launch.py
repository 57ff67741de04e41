"""What a DRS recovery launches with, and what preflight reads of it.

StartRecovery launches each source server's recovery instance from the server's *launch template*: an
EC2 launch template in the region it recovers into (the launch configuration names it,
``GetLaunchConfiguration``), whose default version names the subnet, the security groups and the instance
profile. When the template, or anything it names, no longer exists, the launch job fails in the middle
of the failover, after earlier waves already moved. Preflight reads them first (``launch_problems``) and
fails the server, naming what is missing and what to do. The same template says which instance type each
launch starts (``launch_types``): what the recovery takes of the region's EC2 vCPU quota.

DRS launches with the caller's permissions (launch templates, volumes, snapshots, RunInstances):
``START_RECOVERY_EC2_ACTIONS`` are those dependent actions, granted but never called by the adapter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from dr_adapters.adapters.base import RunContext
from dr_adapters.adapters.capacity import DRS_JOBS, Need, ec2_needs
from dr_adapters.adapters.prerequisites import (
    iam_client,
    missing_instance_profiles,
    missing_security_groups,
    missing_subnets,
)
from dr_adapters.plan.types import Phase

# What DRS does with the caller's permissions when StartRecovery launches (and TerminateRecoveryInstances
# removes) recovery instances: the dependent actions of drs:StartRecovery in AWS's Service
# Authorization Reference. They are granted, never called by the adapter itself.
START_RECOVERY_EC2_ACTIONS = (
    "ec2:AttachVolume",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateLaunchTemplate",
    "ec2:CreateLaunchTemplateVersion",
    "ec2:CreateSnapshot",
    "ec2:CreateTags",
    "ec2:CreateVolume",
    "ec2:DeleteLaunchTemplateVersions",
    "ec2:DeleteSnapshot",
    "ec2:DeleteVolume",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstances",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSnapshots",
    "ec2:DescribeSubnets",
    "ec2:DescribeVolumes",
    "ec2:DetachVolume",
    "ec2:ModifyInstanceAttribute",
    "ec2:ModifyLaunchTemplate",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RunInstances",
    "ec2:StartInstances",
    "ec2:StopInstances",
    "ec2:TerminateInstances",
)
LAUNCH_IAM = ("drs:GetLaunchConfiguration", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeSecurityGroups",
              "ec2:DescribeSubnets", "iam:GetInstanceProfile")
"""The reads of ``launch_problems`` and ``launch_types`` (preflight)."""
TEMPLATE_GONE = ("InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.Malformed")
LAUNCHING = (Phase.INSTANTIATE, Phase.ACTIVATE)  # the phases that launch (ACTIVATE too, when INSTANTIATE is skipped)


def _default_version(ec2: Any, template_id: str) -> dict[str, Any] | None:
    """The data of the template's default version (what DRS launches), None when the template is gone."""
    try:
        versions = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Default"])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in TEMPLATE_GONE:
            return None
        raise
    found = versions["LaunchTemplateVersions"]
    return found[0].get("LaunchTemplateData") or {} if found else None


def _network(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    interfaces = data.get("NetworkInterfaces") or []
    subnets = [i["SubnetId"] for i in interfaces if i.get("SubnetId")]
    groups = [g for i in interfaces for g in i.get("Groups") or []] + list(data.get("SecurityGroupIds") or [])
    return subnets, groups


def _profile(data: dict[str, Any]) -> str | None:
    profile = data.get("IamInstanceProfile") or {}
    return profile.get("Arn") or profile.get("Name")


def launch_templates(ctx: RunContext, account_id: str | None, region: str,
                     server_ids: Iterable[str]) -> dict[str, tuple[str | None, dict[str, Any] | None]]:
    """Each server's launch template in ``region``: (template id, its default version's data, None when the
    template is gone). DRS has no batch read of launch configurations: one ``GetLaunchConfiguration`` per
    server, kept for the rest of the task (``ctx.memo``: preflight reads what the template names and what
    instance type it launches)."""
    server_ids = list(dict.fromkeys(server_ids))
    memo = ctx.memo.setdefault(("drs-launch-templates", account_id, region), {})
    todo = [sid for sid in server_ids if sid not in memo]
    if todo:
        drs, ec2 = ctx.client("drs", region, account_id), ctx.client("ec2", region, account_id)
        for sid in todo:
            template_id = drs.get_launch_configuration(sourceServerID=sid).get("ec2LaunchTemplateID")
            memo[sid] = (template_id, _default_version(ec2, template_id) if template_id else None)
    return {sid: memo[sid] for sid in server_ids}


def launch_types(ctx: RunContext, account_id: str | None, region: str, server_ids: Iterable[str]) -> dict[str, str]:
    """The instance type each server's recovery launch starts, by server id: its launch template's (DRS's
    instance-type right-sizing writes its choice there). Servers without a template, or with attribute-based
    instance selection (no type to count), are left out."""
    return {sid: data["InstanceType"] for sid, (_, data) in launch_templates(ctx, account_id, region, server_ids).items()
            if data and data.get("InstanceType")}


def launch_problems(ctx: RunContext, account_id: str | None, region: str, server_ids: Iterable[str]) -> dict[str, str]:
    """What a recovery launch of each server in ``region`` would miss, by server id (servers missing
    nothing are left out): its launch template, the subnets and security groups the template's default
    version names, its instance profile. Network and IAM reads are batched over the servers."""
    ec2 = ctx.client("ec2", region, account_id)
    templates = launch_templates(ctx, account_id, region, server_ids)
    datas = [d for _, d in templates.values() if d is not None]
    gone_subnets = set(missing_subnets(ec2, (s for d in datas for s in _network(d)[0])))
    gone_groups = set(missing_security_groups(ec2, (g for d in datas for g in _network(d)[1])))
    iam = iam_client(ctx, account_id)
    profiles = [p for d in datas if (p := _profile(d))]
    gone_profiles = set(missing_instance_profiles(iam, profiles)) if iam is not None and profiles else set()
    fix = (f"in the DRS console, edit the server's launch settings (EC2 launch template) so that its default "
           f"version names a subnet, security groups and instance profile that exist in {region}")
    out: dict[str, str] = {}
    for sid, (template_id, data) in templates.items():
        if data is None:
            what = f"launch template {template_id} does not exist" if template_id else "has no launch template"
            out[sid] = (f"DRS source server {sid}: {what} in {region}: StartRecovery cannot launch it -- re-save "
                        "the server's launch settings in the DRS console (DRS makes the template again)")
            continue
        subnets, groups = _network(data)
        missing = [f"subnet {s}" for s in subnets if s in gone_subnets]
        missing += [f"security group {g}" for g in groups if g in gone_groups]
        missing += [f"instance profile {p}" for p in [_profile(data)] if p in gone_profiles]
        if missing:
            out[sid] = (f"DRS source server {sid}: {', '.join(missing)} named by its launch template {template_id} "
                        f"do(es) not exist in {region}: its recovery launch would fail -- {fix}")
    return out


def launch_needs(ctx: RunContext, account_id: str | None, region: str, servers: dict[str, str], drill: bool) -> list[Need]:
    """What launching ``servers`` (resource id -> source server id) in ``region`` takes of the account's quotas: the
    vCPUs of the instance types their templates name, by EC2 On-Demand family, and one StartRecovery job (a work
    unit is one call; a wave's units launch at once)."""
    types = launch_types(ctx, account_id, region, servers.values())
    launches = {rid: types[sid] for rid, sid in servers.items() if sid in types}
    kind = "DRS drill instances" if drill else "DRS recovery instances"
    return ec2_needs(ctx, account_id, region, launches, LAUNCHING, kind) + [
        Need(DRS_JOBS, 1, region, LAUNCHING, tuple(servers), f"a StartRecovery job of {len(servers)} server(s)")]
