"""ElastiCache kit: a Valkey global datastore, its primary replication group in the primary region and a
secondary in DR."""

from __future__ import annotations

import re
import time
from typing import Any

import boto3

from awssim.elasticache_global import pin_global_id
from awssim.kits import Drive, Estate, Kit, Seed

PREFIXED = re.compile(r"^[a-z]{5}-(?P<suffix>.+)$")  # an id as AWS shows it: region prefix, dash, suffix


def _until(check: Any, what: str, timeout: float = 30.0) -> None:
    """Poll like a user would before relying on a change (the simulator completes it lazily)."""
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise TimeoutError(f"{what} not done after {timeout:.0f}s")
        time.sleep(0.05)


def _datastore(ec: Any, global_id: str) -> dict[str, Any]:
    return ec.describe_global_replication_groups(GlobalReplicationGroupId=global_id,
                                                 ShowMemberInfo=True)["GlobalReplicationGroups"][0]


def _datastore_of(group: dict[str, Any]) -> str | None:
    return (group.get("GlobalReplicationGroupInfo") or {}).get("GlobalReplicationGroupId") or None


def seed_global_datastore(
    session: boto3.Session,
    account_id: str,
    global_id: str,
    primary_region: str,
    primary_group: str,
    dr_region: str,
    dr_group: str,
    tags: dict[str, str],
    *,
    primary_replicas: int = 1,
    dr_replicas: int = 0,
    shards: int = 0,
    endpoint_url: str | None = None,
) -> dict[str, Any]:
    """Create the global datastore the way AWS users do: the primary group, the datastore from it, the DR
    group as its secondary. ``shards`` > 0: cluster mode enabled with that many shards. The datastore gets
    ``global_id`` whatever region made it (``pin_global_id``; AWS would prefix the suffix with the region's
    code). Every part carries ``tags``; returns the datastore as DescribeGlobalReplicationGroups shows it."""
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    primary = session.client("elasticache", region_name=primary_region, endpoint_url=endpoint_url)
    dr = session.client("elasticache", region_name=dr_region, endpoint_url=endpoint_url)

    def size(replicas: int) -> dict[str, Any]:
        return ({"NumNodeGroups": shards, "ReplicasPerNodeGroup": replicas, "ClusterMode": "enabled"} if shards
                else {"NumCacheClusters": replicas + 1})

    primary.create_replication_group(
        ReplicationGroupId=primary_group, ReplicationGroupDescription=f"{global_id} primary", Engine="valkey",
        EngineVersion="7.2", CacheNodeType="cache.r7g.large", AutomaticFailoverEnabled=True, MultiAZEnabled=True,
        Tags=tag_list, **size(primary_replicas))
    match = PREFIXED.match(global_id)
    suffix = match["suffix"] if match else global_id
    pin_global_id(account_id, primary_region, suffix, global_id)
    primary.create_global_replication_group(GlobalReplicationGroupIdSuffix=suffix, PrimaryReplicationGroupId=primary_group,
                                            GlobalReplicationGroupDescription=f"{global_id} cache", Tags=tag_list)
    _until(lambda: _datastore(primary, global_id)["Status"] == "available", f"global datastore {global_id}")
    dr_size = size(dr_replicas)
    dr_size.pop("NumNodeGroups", None)  # a secondary has the datastore's shards
    dr.create_replication_group(ReplicationGroupId=dr_group, ReplicationGroupDescription=f"{global_id} DR",
                                GlobalReplicationGroupId=global_id, Tags=tag_list, **dr_size)
    _until(lambda: _datastore(dr, global_id)["Status"] == "available", f"{dr_group} joining {global_id}")
    return _datastore(dr, global_id)


class ElastiCacheKit(Kit):
    actions = ("ElastiCache",)
    services = ("elasticache",)
    acts = {"failover": frozenset({"INSTANTIATE", "ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, rank = "cache", 15
    config_tags = {"mode": "dr:recovery-strategy", "minDrReplicas": "dr:min-dr-replicas"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        # The id as a manifest copies it from AWS (prefix for us-east-1); seeding pins it whatever the region.
        return {"globalReplicationGroupId": f"ldgnf-{customer}-cache{n}",
                "primaryReplicationGroupId": f"{customer}-cache{n}-a", "drReplicationGroupId": f"{customer}-cache{n}-b"}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c, account = item.resource.config, item.resource.account_id
            seed_global_datastore(estate.session(account), estate.account(account), c["globalReplicationGroupId"],
                                  estate.primary, c["primaryReplicationGroupId"], estate.dr, c["drReplicationGroupId"],
                                  item.tags)

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        c, session = resource.config, estate.session(resource.account_id)
        ds = _datastore(session.client("elasticache", region_name=estate.dr), c["globalReplicationGroupId"])
        standalone = []
        for region, group_id in ((estate.primary, c["primaryReplicationGroupId"]), (estate.dr, c["drReplicationGroupId"])):
            ec = session.client("elasticache", region_name=region)
            if _datastore_of(ec.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]) is None:
                standalone.append(estate.side(region))
        primary = [estate.side(m["ReplicationGroupRegion"]) for m in ds["Members"] if m["Role"] == "PRIMARY"]
        return {"primary": primary[0] if primary else None,
                "members": sorted(estate.side(m["ReplicationGroupRegion"]) for m in ds["Members"]),
                "standalone": standalone}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        writers = {role["primary"], *role["standalone"]} - {None}
        return writers.pop() if len(writers) == 1 else None  # both writing: split, half-way

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        # After an unplanned failover the DR group writes on its own; the old primary, dark until then,
        # still heads the datastore: both serve until the rebuild.
        role = self.serving_role(estate, resource)
        return side == role["primary"] or side in role["standalone"]

    def state(self, session: boto3.Session, region: str) -> Any:
        ec = session.client("elasticache", region_name=region)
        groups = sorted((g["ReplicationGroupId"], g["Status"], _datastore_of(g) or "",
                         (g.get("GlobalReplicationGroupInfo") or {}).get("GlobalReplicationGroupMemberRole") or "",
                         len(g["MemberClusters"])) for g in ec.describe_replication_groups()["ReplicationGroups"])
        datastores = sorted((d["GlobalReplicationGroupId"], d["Status"],
                             tuple(sorted((m["ReplicationGroupRegion"], m["ReplicationGroupId"], m["Role"], m["Status"])
                                          for m in d["Members"])))
                            for d in ec.describe_global_replication_groups(ShowMemberInfo=True)["GlobalReplicationGroups"])
        return groups, datastores

    def break_resource(self, estate: Estate, resource: Any) -> str:
        # Someone detached the DR group out of band: it no longer replicates, a failover has nothing to promote.
        c, session = resource.config, estate.session(resource.account_id)
        dr = session.client("elasticache", region_name=estate.dr)
        dr.disassociate_global_replication_group(GlobalReplicationGroupId=c["globalReplicationGroupId"],
                                                 ReplicationGroupId=c["drReplicationGroupId"],
                                                 ReplicationGroupRegion=estate.dr)
        _until(lambda: _datastore(dr, c["globalReplicationGroupId"])["Status"] != "modifying", "the detach")
        return "not a member"

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        # mode disassociate (the primary region impaired): DisassociateGlobalReplicationGroup. Its REPLICATE
        # rightly fails (the datastore must be rebuilt), so the run stops after validate.
        session = estate.sessions[None]
        seed_global_datastore(session, estate.hub_account, "ldgnf-iam-detach", estate.primary, "iam-detach-a",
                              estate.dr, "iam-detach-b", estate.scope_tags)
        config = {"globalReplicationGroupId": "ldgnf-iam-detach", "primaryReplicationGroupId": "iam-detach-a",
                  "drReplicationGroupId": "iam-detach-b", "mode": "disassociate"}

        class Validated(Exception):
            pass

        def stop_after_validate(step: str) -> None:
            if step == "validate":
                raise Validated

        try:
            drive("failover", [{"resourceId": "iam-detach", "action": "ElastiCache", "config": config}],
                  between=stop_after_validate)
        except Validated:
            pass
        dr = session.client("elasticache", region_name=estate.dr)
        (group,) = dr.describe_replication_groups(ReplicationGroupId="iam-detach-b")["ReplicationGroups"]
        assert _datastore_of(group) is None, group  # detached: it takes writes on its own
