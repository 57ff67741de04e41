"""Auto Scaling kit: a group in each region from a launch template of its own, the primary's at production
capacity, DR's parked (min/max/desired 0, ``parkedProcesses`` suspended), both tagged with every tag of the
resource. The tags are not propagated to the instances (``PropagateAtLaunch`` false): an instance carrying
``dr:enabled`` would be a tagged resource no adapter protects (DRS protects instances through their source
servers). The launch templates are not the DR resource: left untagged."""

from __future__ import annotations

from typing import Any

import boto3

from awssim.kits import Drive, Estate, Kit, Seed

IMAGE_ID = "ami-12c6146b"  # one of moto's stock images, found in every region
INSTANCE_TYPE = "t3.micro"


def seed_group(
    session: boto3.Session,
    region: str,
    *,
    name: str,
    capacity: dict[str, int],
    suspended: list[str] | None = None,
    tags: dict[str, str] | None = None,
    customer: str = "acme",
    environment: str = "production",
    instance_type: str = INSTANCE_TYPE,
    zones: list[str] | None = None,
) -> str:
    """Create a launch template ``<name>-lt`` and the group launching from it (in ``zones``, default the
    region's first Availability Zone) at ``capacity`` ({min, max, desired}) with ``suspended`` processes; returns the
    launch template id. Tagged with ``tags`` (default: just Customer and Environment)."""
    tags = tags or {"Customer": customer, "Environment": environment}
    template = session.client("ec2", region_name=region).create_launch_template(
        LaunchTemplateName=f"{name}-lt",
        LaunchTemplateData={"ImageId": IMAGE_ID, "InstanceType": instance_type},
    )["LaunchTemplate"]["LaunchTemplateId"]
    asg: Any = session.client("autoscaling", region_name=region)
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=capacity["min"], MaxSize=capacity["max"], DesiredCapacity=capacity["desired"],
        AvailabilityZones=zones or [f"{region}a"],
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False} for k, v in tags.items()],
    )
    if suspended:
        asg.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=suspended)
    return template


def _sides(estate: Estate, config: dict[str, Any]) -> tuple[tuple[str, str], tuple[str, str]]:
    """(region, group name) of the primary and the DR copy, as the manifest names them."""
    name = config["autoScalingGroupName"]
    return (estate.primary, name), (estate.dr, config.get("drAutoScalingGroupName") or name)


def _group(estate: Estate, account_id: str | None, region: str, name: str) -> dict[str, Any] | None:
    asg = estate.session(account_id).client("autoscaling", region_name=region)
    groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return groups[0] if groups else None


class AutoScalingKit(Kit):
    actions = ("AutoScaling",)
    services = ("autoscaling",)
    acts = {"failover": frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"}),
            "failback": frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})}
    kind, rank = "asg", 30
    depends_on = "db"
    config_tags = {"drAutoScalingGroupName": "dr:dr-auto-scaling-group-name", "prewarm": "dr:prewarm",
                   "launchTemplateVersion": "dr:launch-template-version"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        return {"autoScalingGroupName": f"{customer}-web-{n}", "production": {"min": 2, "max": 4, "desired": 2},
                "prewarm": {"min": 1, "max": 1, "desired": 1},
                "parkedProcesses": ["AlarmNotification", "Launch", "ScheduledActions"]}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c, session = item.resource.config, estate.session(item.resource.account_id)
            (primary, name), (dr, dr_name) = _sides(estate, c)
            seed_group(session, primary, name=name, capacity=c["production"], tags=item.tags)
            seed_group(session, dr, name=dr_name, capacity={"min": 0, "max": 0, "desired": 0},
                       suspended=c.get("parkedProcesses"), tags=item.tags)

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        role = {}
        for region, name in _sides(estate, resource.config):
            group = _group(estate, resource.account_id, region, name)
            role[estate.side(region)] = None if group is None else {
                "capacity": (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]),
                "suspended": sorted(p["ProcessName"] for p in group["SuspendedProcesses"]),
            }
        return role

    def serves_from(self, resource: Any, role: Any) -> str | None:
        serving = {side for side, group in role.items() if group and group["capacity"][2]}
        return next(iter(serving)) if len(serving) == 1 else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        group = self.serving_role(estate, resource).get(side)
        return bool(group and group["capacity"][2])

    def state(self, session: boto3.Session, region: str) -> Any:
        pages = session.client("autoscaling", region_name=region).get_paginator("describe_auto_scaling_groups")
        return sorted((g["AutoScalingGroupName"], g["MinSize"], g["MaxSize"], g["DesiredCapacity"],
                       sorted(p["ProcessName"] for p in g["SuspendedProcesses"]),
                       (g.get("LaunchTemplate") or {}).get("Version"),
                       sorted(i["LifecycleState"] for i in g["Instances"]))
                      for page in pages.paginate() for g in page["AutoScalingGroups"])

    def break_resource(self, estate: Estate, resource: Any) -> str:
        _, (dr, name) = _sides(estate, resource.config)
        estate.session(resource.account_id).client("ec2", region_name=dr).delete_launch_template(
            LaunchTemplateName=f"{name}-lt")
        return "does not resolve"

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        """The mini-estate's lifecycle calls every granted action (preflight resolves launch templates and
        instance type offerings; INSTANTIATE and ACTIVATE resume, CLEANUP suspends): nothing to add."""
