"""Aurora kit: a global database with its writer cluster in the primary region and a secondary in DR."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import boto3

from awssim.kits import Drive, Estate, Kit, Seed

LAG_METRIC = "AuroraGlobalDBReplicationLag"  # milliseconds, reported by the secondary cluster


def put_replication_lag(
    session: boto3.Session, region: str, cluster_id: str, lag_ms: float, endpoint_url: str | None = None
) -> None:
    """What Aurora publishes for a secondary cluster: AWS/RDS AuroraGlobalDBReplicationLag."""
    session.client("cloudwatch", region_name=region, endpoint_url=endpoint_url).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": LAG_METRIC,
                "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster_id}],
                "Timestamp": datetime.now(timezone.utc),
                "Value": lag_ms,
                "Unit": "Milliseconds",
            }
        ],
    )


def seed_aurora_global(
    session: boto3.Session,
    global_id: str,
    primary_region: str,
    primary_cluster: str,
    dr_region: str,
    dr_cluster: str,
    tags: dict[str, str],
    *,
    engine: str = "aurora-mysql",
    dr_instances: int = 0,
    instance_class: str = "db.r6g.large",
    replication_lag_ms: float | None = 250.0,
    endpoint_url: str | None = None,
) -> dict[str, Any]:
    """Create the global database the way AWS users do; returns the two cluster ARNs. Every piece
    (both clusters, their instances, the global cluster) carries ``tags``: the global cluster is
    tagged through its global ARN (AddTagsToResource), which works whatever the SDK's
    CreateGlobalCluster accepts."""
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    primary = session.client("rds", region_name=primary_region, endpoint_url=endpoint_url)
    dr = session.client("rds", region_name=dr_region, endpoint_url=endpoint_url)

    primary_arn = primary.create_db_cluster(
        DBClusterIdentifier=primary_cluster,
        Engine=engine,
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        Tags=tag_list,
    )["DBCluster"]["DBClusterArn"]

    def add_instance(client: Any, cluster_id: str, n: int) -> None:
        client.create_db_instance(DBInstanceIdentifier=f"{cluster_id}-{n}", DBClusterIdentifier=cluster_id,
                                  Engine=engine, DBInstanceClass=instance_class, Tags=tag_list)

    add_instance(primary, primary_cluster, 1)
    global_arn = primary.create_global_cluster(
        GlobalClusterIdentifier=global_id, SourceDBClusterIdentifier=primary_arn)["GlobalCluster"]["GlobalClusterArn"]
    if tag_list:
        primary.add_tags_to_resource(ResourceName=global_arn, Tags=tag_list)

    dr_arn = dr.create_db_cluster(
        DBClusterIdentifier=dr_cluster, Engine=engine, GlobalClusterIdentifier=global_id, Tags=tag_list
    )["DBCluster"]["DBClusterArn"]
    for n in range(1, dr_instances + 1):
        add_instance(dr, dr_cluster, n)

    # Clusters start "creating"; wait like a user would before relying on them.
    for client, cluster_id in ((primary, primary_cluster), (dr, dr_cluster)):
        client.get_waiter("db_cluster_available").wait(
            DBClusterIdentifier=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    if replication_lag_ms is not None:
        put_replication_lag(session, dr_region, dr_cluster, replication_lag_ms, endpoint_url)
    return {"global_cluster": global_id, "global_arn": global_arn, "primary_arn": primary_arn, "dr_arn": dr_arn}


ENGINES = {"AuroraMySQL": "aurora-mysql", "AuroraPostgreSQL": "aurora-postgresql"}


class AuroraKit(Kit):
    actions = ("AuroraMySQL", "AuroraPostgreSQL")
    services = ("rds",)
    acts = {"failover": frozenset({"INSTANTIATE", "ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, share, rank = "db", 0.08, 10
    config_tags = {"mode": "dr:recovery-strategy", "minDrInstances": "dr:min-dr-instances",
                   "drInstanceClass": "dr:dr-instance-class"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        return {"globalClusterIdentifier": f"{customer}-db{n}-global", "primaryClusterIdentifier": f"{customer}-db{n}-a",
                "drClusterIdentifier": f"{customer}-db{n}-b"}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c = item.resource.config
            seed_aurora_global(estate.session(item.resource.account_id), c["globalClusterIdentifier"], estate.primary,
                               c["primaryClusterIdentifier"], estate.dr, c["drClusterIdentifier"], item.tags,
                               dr_instances=0, engine=ENGINES[item.resource.action])

    def _global(self, estate: Estate, resource: Any, region: str) -> dict[str, Any]:
        rds = estate.session(resource.account_id).client("rds", region_name=region)
        gid = resource.config["globalClusterIdentifier"]
        return rds.describe_global_clusters(GlobalClusterIdentifier=gid)["GlobalClusters"][0]

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        gc = self._global(estate, resource, estate.primary)
        writer = next(m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"])
        return {"writer": estate.side(writer.split(":")[3]), "members": len(gc["GlobalClusterMembers"])}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        return role["writer"]

    def state(self, session: boto3.Session, region: str) -> Any:
        rds = session.client("rds", region_name=region)
        instances = sorted((i["DBInstanceIdentifier"], i["DBClusterIdentifier"])
                           for i in rds.describe_db_instances()["DBInstances"])
        members = sorted((g["GlobalClusterIdentifier"], g["Status"], m["DBClusterArn"], m["IsWriter"])
                         for g in rds.describe_global_clusters()["GlobalClusters"] for m in g["GlobalClusterMembers"])
        return instances, members

    def break_resource(self, estate: Estate, resource: Any) -> str:
        # A secondary that fell ten hours behind: a failover now would lose more than any RPO allows.
        put_replication_lag(estate.session(resource.account_id), estate.dr, resource.config["drClusterIdentifier"],
                            10 * 3600 * 1000.0)
        return "exceeds RPO"

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        # mode failover: FailoverGlobalCluster (the old writer region impaired).
        seed_aurora_global(estate.sessions[None], "iam-fo-global", estate.primary, "iam-fo-a", estate.dr,
                           "iam-fo-b", estate.scope_tags)
        config = {"globalClusterIdentifier": "iam-fo-global", "primaryClusterIdentifier": "iam-fo-a",
                  "drClusterIdentifier": "iam-fo-b", "mode": "failover"}
        changes = drive("failover", [{"resourceId": "iam-fo-db", "action": "AuroraMySQL", "config": config}])
        assert any(c["operation"] == "failover_global_cluster" for c in changes)
