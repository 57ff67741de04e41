"""DRS kit: source EC2 instances in the primary region replicating into DR, and how to read them.

Seeding goes through moto's backends directly (the replication agent has no API), so it must
run in the process that holds the simulator's state: the test process with ``mock_aws``, or the
simulator server's process before it serves.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Any

import boto3
from moto.ec2.models import ec2_backends

from awssim.drs import seed_source_server, set_replication
from awssim.kits import DR, PRIMARY, Drive, Estate, Kit, Seed

SOURCE_AMI = "ami-12c6146b"  # moto accepts any AMI id unless MOTO_ENABLE_AMI_VALIDATION is set


def seed_drs_servers(
    account_id: str,
    primary: str,
    dr: str,
    hostnames: list[str],
    tags: dict[str, str],
    *,
    instance_type: str = "t3.medium",
    lag_seconds: int = 5,
    server_ids: list[str] | None = None,
) -> list[str]:
    """Launch one running EC2 instance per hostname in ``primary`` and its DRS source server in
    ``dr``; both carry ``tags`` (the instance also ``Name``: the hostname, unless ``tags`` name it).
    ``server_ids`` fixes the source server IDs (as a manifest names them); otherwise they are random.
    Returns the source server IDs, in order."""
    if server_ids is not None and len(server_ids) != len(hostnames):
        raise ValueError("server_ids must name one ID per hostname")
    ec2 = ec2_backends[account_id][primary]
    created = []
    for n, hostname in enumerate(hostnames):
        reservation = ec2.run_instances(
            SOURCE_AMI, 1, None, [],
            instance_type=instance_type, is_instance_type_default=False, region_name=primary,
            tags={"instance": {"Name": hostname, **tags}},
        )
        instance_id = reservation.instances[0].id
        created.append(
            seed_source_server(
                account_id, dr, hostname, instance_id, primary, tags,
                lag_seconds=lag_seconds, instance_type=instance_type,
                server_id=server_ids[n] if server_ids else None,
            )
        )
    return created


def set_launch_template(ec2: Any, template_id: str, **data: Any) -> None:
    """A new default version of a server's launch template, its data changed by ``data``."""
    (current,) = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=["$Default"])[
        "LaunchTemplateVersions"]
    version = ec2.create_launch_template_version(
        LaunchTemplateId=template_id, LaunchTemplateData={**current["LaunchTemplateData"], **data})
    ec2.modify_launch_template(LaunchTemplateId=template_id,
                               DefaultVersion=str(version["LaunchTemplateVersion"]["VersionNumber"]))


def _servers(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    drs = session.client("drs", region_name=region)
    return [s for page in drs.get_paginator("describe_source_servers").paginate(filters={}) for s in page["items"]]


def recovery_instances(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    drs = session.client("drs", region_name=region)
    return [i for page in drs.get_paginator("describe_recovery_instances").paginate(filters={})
            for i in page["items"]]


class DrsKit(Kit):
    actions = ("DRS",)
    services = ("ec2", "drs")
    acts = {
        "failover": frozenset({"INSTANTIATE", "CLEANUP", "REPLICATE"}),
        "failback": frozenset({"INSTANTIATE", "CLEANUP", "REPLICATE"}),
        "drill": frozenset({"INSTANTIATE", "CLEANUP"}),
    }
    kind, share, rank = "srv", 0.40, 20
    spoke_every = 2  # DRS allows 300 replicating servers per account and region: split them evenly
    config_tags = {"sourceInstanceAction": "dr:source-instance-action"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        return {"sourceServerId": f"s-{zlib.crc32(customer.encode()) % 16**9:09x}{n:08x}"}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        by_account: dict[str, list[Seed]] = defaultdict(list)
        for item in items:
            by_account[estate.account(item.resource.account_id)].append(item)
        for account_id, seeds in by_account.items():
            for item in seeds:  # one call per server: each keeps its own wave tag
                seed_drs_servers(account_id, estate.primary, estate.dr, [item.resource.resource_id], item.tags,
                                 server_ids=[item.resource.config["sourceServerId"]])

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        """In which region each of the resource's servers replicates (into DR: the primary serves;
        reversed into the primary after a failover), and whether it is the manifest's own server."""
        session = estate.session(resource.account_id)
        replicating = []
        for region in (estate.primary, estate.dr):
            key = ("drs-servers", estate.account(resource.account_id), region)
            servers = estate.cache.setdefault(key, _servers(session, region))
            for server in servers:
                hints = server.get("sourceProperties", {}).get("identificationHints", {})
                own = server["sourceServerID"] == resource.config["sourceServerId"]
                if hints.get("hostname") == resource.resource_id or own:
                    if server.get("dataReplicationInfo", {}).get("dataReplicationState") == "CONTINUOUS":
                        replicating.append((estate.side(region), own))
        return {"replicating_into": sorted(replicating)}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        into = {side for side, _ in role["replicating_into"]}
        return {frozenset({DR}): PRIMARY, frozenset({PRIMARY}): DR}.get(frozenset(into))

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        if side == PRIMARY:
            return super().serves_in(estate, resource, side)
        # DR serves once a (non-drill) recovery instance of the server runs there
        instances = recovery_instances(estate.session(resource.account_id), estate.dr)
        return any(ri["sourceServerID"] == resource.config["sourceServerId"] and not ri["isDrill"]
                   and ri["ec2InstanceState"] == "RUNNING" for ri in instances)

    def state(self, session: boto3.Session, region: str) -> Any:
        reservations = session.client("ec2", region_name=region).describe_instances()["Reservations"]
        instances = sorted((i["InstanceId"], i["State"]["Name"]) for r in reservations for i in r["Instances"])
        servers = sorted(
            (x["sourceServerID"], x["dataReplicationInfo"].get("dataReplicationState"),
             (x.get("lifeCycle", {}).get("lastLaunch") or {}).get("status"), x.get("recoveryInstanceId"),
             x.get("reversedDirectionSourceServerArn"))
            for x in _servers(session, region))
        recovery = sorted(
            (x["recoveryInstanceID"], x["isDrill"], x["ec2InstanceState"], (x.get("failback") or {}).get("state"))
            for x in recovery_instances(session, region))
        jobs = session.client("drs", region_name=region).describe_jobs(filters={})["items"]
        return {"ec2": instances, "servers": servers, "recovery_instances": recovery, "jobs": len(jobs)}

    def leftovers(self, estate: Estate) -> list[str]:
        return [f"drill recovery instance {ri['recoveryInstanceID']} ({ri['ec2InstanceState']})"
                for account in estate.accounts() for region in (estate.primary, estate.dr)
                for ri in recovery_instances(estate.sessions[account], region)
                if ri["isDrill"] and ri["ec2InstanceState"] not in ("TERMINATED", "SHUTTING-DOWN")]

    def break_resource(self, estate: Estate, resource: Any) -> str:
        set_replication(estate.account(resource.account_id), estate.dr, resource.config["sourceServerId"],
                        state="STALLED")
        return "STALLED"

    prerequisites = ("launch template", "subnet", "instance profile")

    def break_prerequisite(self, estate: Estate, resource: Any, which: str) -> str:
        session, sid = estate.session(resource.account_id), resource.config["sourceServerId"]
        ec2 = session.client("ec2", region_name=estate.dr)
        template = session.client("drs", region_name=estate.dr).get_launch_configuration(
            sourceServerID=sid)["ec2LaunchTemplateID"]
        if which == "launch template":
            ec2.delete_launch_template(LaunchTemplateId=template)
            return template
        if which == "subnet":  # the template's default version names a subnet of a VPC since torn down
            vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
            set_launch_template(ec2, template, NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet}])
            ec2.delete_subnet(SubnetId=subnet)
            return subnet
        profile = f"{sid}-profile-gone"  # an instance profile that does not exist (deleted, or a typo)
        set_launch_template(ec2, template, IamInstanceProfile={"Name": profile})
        return profile

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        tags = estate.scope_tags
        hub = estate.hub_account
        # A launch template naming an instance profile: preflight reads it (iam:GetInstanceProfile).
        (profiled,) = seed_drs_servers(hub, estate.primary, estate.dr, ["iam-profile"], tags)
        session = estate.sessions[None]
        session.client("iam").create_instance_profile(InstanceProfileName="iam-profile-recovery")
        ec2, drs = session.client("ec2", region_name=estate.dr), session.client("drs", region_name=estate.dr)
        set_launch_template(ec2, drs.get_launch_configuration(sourceServerID=profiled)["ec2LaunchTemplateID"],
                            IamInstanceProfile={"Name": "iam-profile-recovery"})
        drive("failover", [{"resourceId": "iam-profile", "action": "DRS", "config": {"sourceServerId": profiled}}])
        # CLEANUP with sourceInstanceAction terminate: ec2:TerminateInstances on the source instance.
        (terminated,) = seed_drs_servers(hub, estate.primary, estate.dr, ["iam-terminate"], tags)
        drive("failover", [{"resourceId": "iam-terminate", "action": "DRS",
                            "config": {"sourceServerId": terminated, "sourceInstanceAction": "terminate"}}])
        # A recovery instance found stopped (someone stopped it after INSTANTIATE): ACTIVATE starts it.
        (stopped,) = seed_drs_servers(hub, estate.primary, estate.dr, ["iam-stopped"], tags)
        session = estate.sessions[None]

        def stop_recovery_instance(step: str) -> None:
            if step == "INSTANTIATE":  # out of band: not through the recorded context
                drs = session.client("drs", region_name=estate.dr)
                (ri,) = drs.describe_recovery_instances(filters={"sourceServerIDs": [stopped]})["items"]
                session.client("ec2", region_name=estate.dr).stop_instances(InstanceIds=[ri["ec2InstanceID"]])

        changes = drive("failover", [{"resourceId": "iam-stopped", "action": "DRS",
                                      "config": {"sourceServerId": stopped}}], between=stop_recovery_instance)
        assert any(c["operation"] == "start_instances" for c in changes)
