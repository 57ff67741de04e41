"""MemoryDB kit: a Multi-Region cluster with a regional cluster in each region, the primary's at production
replicas per shard, DR's at the standby count; all three carry the resource's tags.

Serving, for a technology that is active-active: both regional clusters take writes all the time, so who
serves is where the production capacity is -- the region whose regional cluster is available at
``replicasPerShard`` (and the other is not). That is what a failover moves and a failback moves back.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import boto3

from awssim.kits import Estate, Kit, Seed

NODE_TYPE = "db.r7g.xlarge"  # the smallest node type Multi-Region takes
LAG_METRIC = "MultiRegionClusterReplicationLag"


def put_replication_lag(session: boto3.Session, region: str, cluster: str, lag_ms: float) -> None:
    """What MemoryDB publishes for a regional cluster: AWS/MemoryDB MultiRegionClusterReplicationLag."""
    session.client("cloudwatch", region_name=region).put_metric_data(Namespace="AWS/MemoryDB", MetricData=[{
        "MetricName": LAG_METRIC, "Dimensions": [{"Name": "ClusterName", "Value": cluster}],
        "Timestamp": datetime.now(timezone.utc), "Value": lag_ms, "Unit": "Milliseconds"}])


def wait_available(client: Any, cluster: str, timeout: float = 60.0) -> None:
    """Poll like a user would until a new or changed cluster is available."""
    deadline = time.monotonic() + timeout
    while client.describe_clusters(ClusterName=cluster)["Clusters"][0]["Status"] != "available":
        if time.monotonic() > deadline:
            raise TimeoutError(f"MemoryDB cluster {cluster} did not become available")
        time.sleep(0.05)


def seed_multi_region(session: boto3.Session, primary: str, dr: str, cluster: str, dr_cluster: str,
                      replicas: int, standby: int, tags: dict[str, str], *, shards: int = 2,
                      lag_ms: float | None = 40.0) -> str:
    """Create the Multi-Region cluster (in the primary region) and its two regional clusters, the way
    AWS users do; returns the Multi-Region cluster's name (AWS prefixes the suffix we give)."""
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    name = session.client("memorydb", region_name=primary).create_multi_region_cluster(
        MultiRegionClusterNameSuffix=cluster, NodeType=NODE_TYPE, Engine="valkey", NumShards=shards,
        Tags=tag_list)["MultiRegionCluster"]["MultiRegionClusterName"]
    for region, regional, count in ((primary, cluster, replicas), (dr, dr_cluster, standby)):
        client = session.client("memorydb", region_name=region)
        client.create_cluster(ClusterName=regional, MultiRegionClusterName=name, NodeType=NODE_TYPE,
                              ACLName="open-access", NumReplicasPerShard=count, Tags=tag_list)
        wait_available(client, regional)
        if lag_ms is not None:
            put_replication_lag(session, region, regional, lag_ms)
    return name


def _sides(estate: Estate, config: dict[str, Any]) -> tuple[tuple[str, str], tuple[str, str]]:
    """(region, regional cluster) of the primary and the DR side, as the manifest names them."""
    return ((estate.primary, config["clusterName"]),
            (estate.dr, config.get("drClusterName") or config["clusterName"]))


class MemoryDBKit(Kit):
    actions = ("MemoryDB",)
    services = ("memorydb",)
    acts = {"failover": frozenset({"INSTANTIATE", "CLEANUP"}), "failback": frozenset({"INSTANTIATE", "CLEANUP"})}
    kind, rank = "kv", 15  # a database: before the services that use it

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        return {"clusterName": f"{customer}-kv{n}", "drClusterName": f"{customer}-kv{n}-dr",
                "replicasPerShard": 2, "standbyReplicasPerShard": 1}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c = item.resource.config
            (primary, cluster), (dr, dr_cluster) = _sides(estate, c)
            seed_multi_region(estate.session(item.resource.account_id), primary, dr, cluster, dr_cluster,
                              c["replicasPerShard"], c.get("standbyReplicasPerShard", 0), item.tags)

    def _replicas(self, estate: Estate, resource: Any) -> dict[str, tuple[str, int] | None]:
        """Per side: (status, replicas per shard) of its regional cluster, None when it does not exist."""
        out: dict[str, tuple[str, int] | None] = {}
        for region, cluster in _sides(estate, resource.config):
            client = estate.session(resource.account_id).client("memorydb", region_name=region)
            try:
                found = client.describe_clusters(ClusterName=cluster, ShowShardDetails=True)["Clusters"][0]
            except client.exceptions.ClusterNotFoundFault:
                out[estate.side(region)] = None
                continue
            out[estate.side(region)] = (found["Status"], min(s["NumberOfNodes"] for s in found["Shards"]) - 1)
        return out

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        """Replicas per shard of each side's regional cluster, and which sides are Multi-Region members."""
        sides = _sides(estate, resource.config)
        client = estate.session(resource.account_id).client("memorydb", region_name=estate.dr)
        listed = client.describe_multi_region_clusters(ShowClusterDetails=True)["MultiRegionClusters"]
        members = sorted(estate.side(c["Region"]) for mr in listed for c in mr.get("Clusters", [])
                         if (c["Region"], c["ClusterName"]) in sides)
        replicas = {side: found and found[1] for side, found in self._replicas(estate, resource).items()}
        return {"replicas": replicas, "members": members}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        production = resource.config["replicasPerShard"]
        serving = [side for side, replicas in role["replicas"].items() if replicas == production]
        return serving[0] if len(serving) == 1 else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        found = self._replicas(estate, resource).get(side)
        return bool(found) and found == ("available", resource.config["replicasPerShard"])

    def state(self, session: boto3.Session, region: str) -> Any:
        client = session.client("memorydb", region_name=region)
        clusters = sorted((c["Name"], c["Status"], c.get("MultiRegionClusterName"),
                           tuple(s["NumberOfNodes"] for s in c.get("Shards", [])))
                          for c in client.describe_clusters(ShowShardDetails=True)["Clusters"])
        multi = sorted((m["MultiRegionClusterName"], m["Status"], tuple(sorted(c["ARN"] for c in m.get("Clusters", []))))
                       for m in client.describe_multi_region_clusters(ShowClusterDetails=True)["MultiRegionClusters"])
        return clusters, multi

    def break_resource(self, estate: Estate, resource: Any) -> str:
        # The DR regional cluster ten hours behind the primary's writes: failing over now loses more than any RPO.
        _, (dr, dr_cluster) = _sides(estate, resource.config)
        put_replication_lag(estate.session(resource.account_id), dr, dr_cluster, 10 * 3600 * 1000.0)
        return "exceeds RPO"
