"""Who serves where: a snapshot of an estate's serving roles, read by each technology's kit.

Deliberately independent of the adapters (tests compare snapshots to judge the adapters). Ids of
resources created along the way (recovery instances, versions) are left out; roles are kept:
DNS answers, the writer region of each database, desired counts, alias targets and parking,
and in which region each DRS server replicates.
"""

from __future__ import annotations

from typing import Any

import boto3

from awssim.kits import Estate, in_aws, kit_for


def serving_roles(plan: Any, sessions: dict[str | None, boto3.Session] | Estate) -> dict[str, Any]:
    """Each resource's serving role (``Kit.serving_role``), by resource id."""
    from awssim.seed import plan_estate

    estate = sessions if isinstance(sessions, Estate) else plan_estate(plan, sessions)
    estate.cache.clear()  # a snapshot reads AWS afresh
    return {rid: kit_for(r.action).serving_role(estate, r) for rid, r in plan.resources.items() if in_aws(r)}


def serving_sides(plan: Any, estate: Estate) -> dict[str, str | None]:
    """``primary`` or ``dr`` (None: half-way) per resource: which region serves it now."""
    roles = serving_roles(plan, estate)
    return {rid: kit_for(r.action).serves_from(r, roles[rid]) for rid, r in plan.resources.items() if in_aws(r)}


def running_instances(session: boto3.Session, region: str) -> int:
    ec2 = session.client("ec2", region_name=region)
    reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    return sum(len(r["Instances"]) for r in reservations["Reservations"])
