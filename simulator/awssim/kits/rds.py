"""RDS kit: a DB instance writing in the primary region and its cross-region read replica in DR, both
carrying the resource's tags (a replica made by CreateDBInstanceReadReplica gets the tags the call gives).

The oracle reads both regions' identifiers of a pair (the configured one and its alternate,
``<identifier>-alt`` unless the config names one: the RDS action's documented rule) and says which side
writes: the source of a cross-region replica of the pair, else the one side with a standalone
available instance (None when both have one: after an unplanned failover, before reprotect).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import boto3

from awssim.kits import Drive, Estate, Kit, Seed

LAG_METRIC = "ReplicaLag"  # seconds, published by each read replica


def put_replica_lag(session: boto3.Session, region: str, instance_id: str, seconds: float,
                    endpoint_url: str | None = None) -> None:
    """What RDS publishes for a read replica: AWS/RDS ReplicaLag, dimension DBInstanceIdentifier."""
    session.client("cloudwatch", region_name=region, endpoint_url=endpoint_url).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[{"MetricName": LAG_METRIC, "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance_id}],
                     "Timestamp": datetime.now(timezone.utc), "Value": seconds, "Unit": "Seconds"}])


def seed_rds_pair(session: boto3.Session, primary_region: str, primary_id: str, dr_region: str, dr_id: str,
                  tags: dict[str, str], *, engine: str = "mysql", instance_class: str = "db.m5.large",
                  replica_backup_days: int = 0, replica: bool = True, lag_seconds: float | None = 1.0,
                  endpoint_url: str | None = None, kms_keys: tuple[str, str] | None = None) -> dict[str, str]:
    """Create the primary (automated backups on, as a replica source needs) and, unless ``replica`` is
    false, its read replica in DR from the primary's ARN, the way AWS users do; returns the ARNs.
    ``replica_backup_days``: turn on the replica's own backups (an Oracle switchover needs them);
    ``kms_keys``: (primary region's key, DR region's key) to encrypt the pair with."""
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    primary = session.client("rds", region_name=primary_region, endpoint_url=endpoint_url)
    dr = session.client("rds", region_name=dr_region, endpoint_url=endpoint_url)
    encrypted = [{"StorageEncrypted": True, "KmsKeyId": key} for key in kms_keys] if kms_keys else [{}, {}]
    arns = {"primary": primary.create_db_instance(
        DBInstanceIdentifier=primary_id, Engine=engine, DBInstanceClass=instance_class, AllocatedStorage=20,
        MasterUsername="admin", MasterUserPassword="not-a-real-password", BackupRetentionPeriod=7, Tags=tag_list,
        **encrypted[0])["DBInstance"]["DBInstanceArn"]}
    if not replica:
        return arns
    arns["dr"] = dr.create_db_instance_read_replica(
        DBInstanceIdentifier=dr_id, SourceDBInstanceIdentifier=arns["primary"], SourceRegion=primary_region,
        Tags=tag_list, **{k: v for k, v in encrypted[1].items() if k == "KmsKeyId"})["DBInstance"]["DBInstanceArn"]
    dr.get_waiter("db_instance_available").wait(DBInstanceIdentifier=dr_id,
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if replica_backup_days:
        dr.modify_db_instance(DBInstanceIdentifier=dr_id, BackupRetentionPeriod=replica_backup_days,
                              ApplyImmediately=True)
    if lag_seconds is not None:
        put_replica_lag(session, dr_region, dr_id, lag_seconds, endpoint_url)
    return arns


def pair_ids(config: dict[str, Any], *, primary: bool) -> list[str]:
    """A region's two identifiers of the pair, lowercase as RDS keeps them: configured, alternate."""
    main = config["dbInstanceIdentifier" if primary else "drDbInstanceIdentifier"]
    alternate = config.get("alternateIdentifier" if primary else "drAlternateIdentifier") or f"{main}-alt"
    return [main.lower(), alternate.lower()]


class RdsKit(Kit):
    actions = ("RDS",)
    services = ("rds",)
    acts = {"failover": frozenset({"ACTIVATE", "CLEANUP", "REPLICATE"}),
            "failback": frozenset({"ACTIVATE", "CLEANUP", "REPLICATE"})}
    kind, rank = "rds", 10
    config_tags = {"alternateIdentifier": "dr:alternate-identifier",
                   "drAlternateIdentifier": "dr:dr-alternate-identifier", "createReplica": "dr:create-replica",
                   "replicaInstanceClass": "dr:replica-instance-class", "kmsKeyId": "dr:kms-key-id",
                   "drKmsKeyId": "dr:dr-kms-key-id", "cleanup": "dr:cleanup", "oldPrimary": "dr:old-primary",
                   "backupRetentionPeriod": "dr:backup-retention-period", "switchover": "dr:switchover"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        return {"dbInstanceIdentifier": f"{customer}-rds{n}-a", "drDbInstanceIdentifier": f"{customer}-rds{n}-b",
                "cleanup": "snapshot-and-stop" if n % 2 == 0 else "stop"}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c = item.resource.config
            seed_rds_pair(estate.session(item.resource.account_id), estate.primary, c["dbInstanceIdentifier"],
                          estate.dr, c["drDbInstanceIdentifier"], item.tags)

    def _instances(self, estate: Estate, resource: Any) -> list[dict[str, Any]]:
        found = []
        for region, primary in ((estate.primary, True), (estate.dr, False)):
            rds = estate.session(resource.account_id).client("rds", region_name=region)
            ids = pair_ids(resource.config, primary=primary)
            found += rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": ids}])["DBInstances"]
        return [i for i in found if i["DBInstanceStatus"] != "deleting"]

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        instances = self._instances(estate, resource)
        region = {i["DBInstanceArn"]: i["DBInstanceArn"].split(":")[3] for i in instances}
        for i in instances:
            source = i.get("ReadReplicaSourceDBInstanceIdentifier")
            if source in region and region[source] != region[i["DBInstanceArn"]]:
                return {"writer": estate.side(region[source]), "replicated": True}
        writable = {estate.side(region[i["DBInstanceArn"]]) for i in instances
                    if not i.get("ReadReplicaSourceDBInstanceIdentifier") and i["DBInstanceStatus"] == "available"}
        return {"writer": writable.pop() if len(writable) == 1 else None, "replicated": False}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        return role["writer"]

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        region = estate.primary if side == "primary" else estate.dr
        return any(i["DBInstanceArn"].split(":")[3] == region and i["DBInstanceStatus"] == "available"
                   and not i.get("ReadReplicaSourceDBInstanceIdentifier") for i in self._instances(estate, resource))

    def state(self, session: boto3.Session, region: str) -> Any:
        rds = session.client("rds", region_name=region)
        instances = sorted((i["DBInstanceIdentifier"], i["DBInstanceStatus"],
                            i.get("ReadReplicaSourceDBInstanceIdentifier") or "",
                            tuple(sorted(i.get("ReadReplicaDBInstanceIdentifiers") or [])))
                           for i in rds.describe_db_instances()["DBInstances"])
        manual = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        snapshots = sorted(s["DBSnapshotIdentifier"] for s in manual)
        return instances, snapshots

    def break_resource(self, estate: Estate, resource: Any) -> str:
        # A replica ten hours behind: promoting it now would lose more than any RPO allows.
        put_replica_lag(estate.session(resource.account_id), estate.dr, resource.config["drDbInstanceIdentifier"],
                        10 * 3600.0)
        return "exceeds RPO"

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        session = estate.sessions[None]
        # RDS for Oracle EE: a planned failover switches over (SwitchoverReadReplica), the replica has backups.
        seed_rds_pair(session, estate.primary, "iam-ora-a", estate.dr, "iam-ora-b", estate.scope_tags,
                      engine="oracle-ee", replica_backup_days=7)
        # oldPrimary: delete: REPLICATE deletes the old primary (final snapshot) and reuses its identifier.
        # Encrypted: REPLICATE's replica in the primary region needs kmsKeyId, a key preflight reads (kms:DescribeKey).
        keys = tuple(session.client("kms", region_name=r).create_key()["KeyMetadata"]["Arn"]
                     for r in (estate.primary, estate.dr))
        seed_rds_pair(session, estate.primary, "iam-del-a", estate.dr, "iam-del-b", estate.scope_tags, kms_keys=keys)
        changes = drive("failover", [
            {"resourceId": "iam-ora", "action": "RDS",
             "config": {"dbInstanceIdentifier": "iam-ora-a", "drDbInstanceIdentifier": "iam-ora-b"}},
            {"resourceId": "iam-del", "action": "RDS",
             "config": {"dbInstanceIdentifier": "iam-del-a", "drDbInstanceIdentifier": "iam-del-b",
                        "oldPrimary": "delete", "kmsKeyId": keys[0], "drKmsKeyId": keys[1]}}])
        made = {c["operation"] for c in changes}
        assert {"switchover_read_replica", "delete_db_instance"} <= made, made
