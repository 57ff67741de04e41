"""What a phase needs to exist besides the resource itself, read by preflight (and so by readiness).

A phase that creates or starts something in the region moved to names other resources: the cluster an
ECS service is created in, the subnets and security groups of its network, the roles its tasks assume,
the launch template, subnet and instance profile of a DRS recovery instance, a function's execution
role. When one of those is gone AWS refuses the phase in the middle of a failover, after earlier waves
already moved; preflight reads each of them and fails the resource, naming what is missing and what to
do. EC2's reads batch (one filtered listing per kind and region: a missing resource is absent from it);
IAM has no such listing, so a role is read by name (``NoSuchEntity``: it does not exist).

IAM is global: its API is signed for ``us-east-1`` from any region. An unplanned run leaving us-east-1
makes no call there, so it does not read roles (``iam_client`` returns None and the caller says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from dr_adapters.adapters.base import RunContext

IAM_REGION = "us-east-1"  # IAM's control plane, whatever region a client is made for


def _listed(client: Any, operation: str, key: str, id_key: str, name: str, ids: Iterable[str]) -> list[str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return []
    pages = client.get_paginator(operation).paginate(Filters=[{"Name": name, "Values": wanted}])
    found = {item[id_key] for page in pages for item in page[key]}
    return [i for i in wanted if i not in found]


def missing_subnets(ec2: Any, subnet_ids: Iterable[str]) -> list[str]:
    """The subnets of ``subnet_ids`` that do not exist in ``ec2``'s region."""
    return _listed(ec2, "describe_subnets", "Subnets", "SubnetId", "subnet-id", subnet_ids)


def missing_security_groups(ec2: Any, group_ids: Iterable[str]) -> list[str]:
    """The security groups of ``group_ids`` that do not exist in ``ec2``'s region."""
    return _listed(ec2, "describe_security_groups", "SecurityGroups", "GroupId", "group-id", group_ids)


def network_problems(ec2: Any, region: str, subnets: Iterable[str], groups: Iterable[str], needed_by: str) -> list[str]:
    """One line per kind of network resource ``needed_by`` names that does not exist in ``region``."""
    problems = []
    for kind, missing in (("subnet", missing_subnets(ec2, subnets)), ("security group", missing_security_groups(ec2, groups))):
        if missing:
            problems.append(f"{kind}(s) {', '.join(missing)} named by {needed_by} do not exist in {region}")
    return problems


def iam_client(ctx: RunContext, account_id: str | None) -> Any | None:
    """A client of IAM's API, or None when the run may not call it (unplanned, leaving us-east-1)."""
    if ctx.unplanned and ctx.source_region == IAM_REGION:
        return None
    return ctx.client("iam", IAM_REGION, account_id)


def _name(arn_or_name: str) -> str:
    """A role's or instance profile's name from its ARN (``arn:aws:iam::1:role/path/name``) or name."""
    return arn_or_name.rsplit("/", 1)[-1]


def _exists(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return False
        raise
    return True


def missing_roles(iam: Any, roles: Iterable[str]) -> list[str]:
    """The roles (ARNs or names) that do not exist in IAM."""
    return [r for r in sorted({r for r in roles if r}) if not _exists(iam.get_role, RoleName=_name(r))]


def missing_instance_profiles(iam: Any, profiles: Iterable[str]) -> list[str]:
    """The instance profiles (ARNs or names) that do not exist in IAM."""
    return [p for p in sorted({p for p in profiles if p})
            if not _exists(iam.get_instance_profile, InstanceProfileName=_name(p))]


def kms_key_problem(kms: Any, key_id: str) -> str | None:
    """Why ``key_id`` cannot encrypt in ``kms``'s region (it does not exist there, or is not Enabled), or None."""
    try:
        state = kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NotFoundException":
            return "does not exist"
        raise
    return None if state == "Enabled" else f"is {state}"
