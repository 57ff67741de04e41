"""Seed an Aurora global database: a writer cluster in the primary region, a secondary in DR."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import boto3

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
    """Create the global database the way AWS users do; returns the two cluster ARNs."""
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
    primary.create_db_instance(
        DBInstanceIdentifier=f"{primary_cluster}-1",
        DBClusterIdentifier=primary_cluster,
        Engine=engine,
        DBInstanceClass=instance_class,
        Tags=tag_list,
    )
    primary.create_global_cluster(GlobalClusterIdentifier=global_id, SourceDBClusterIdentifier=primary_arn)

    dr_arn = dr.create_db_cluster(
        DBClusterIdentifier=dr_cluster, Engine=engine, GlobalClusterIdentifier=global_id, Tags=tag_list
    )["DBCluster"]["DBClusterArn"]
    for n in range(1, dr_instances + 1):
        dr.create_db_instance(
            DBInstanceIdentifier=f"{dr_cluster}-{n}",
            DBClusterIdentifier=dr_cluster,
            Engine=engine,
            DBInstanceClass=instance_class,
            Tags=tag_list,
        )

    # Clusters start "creating"; wait like a user would before relying on them.
    for client, cluster_id in ((primary, primary_cluster), (dr, dr_cluster)):
        client.get_waiter("db_cluster_available").wait(
            DBClusterIdentifier=cluster_id, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    if replication_lag_ms is not None:
        put_replication_lag(session, dr_region, dr_cluster, replication_lag_ms, endpoint_url)
    return {"global_cluster": global_id, "primary_arn": primary_arn, "dr_arn": dr_arn}
