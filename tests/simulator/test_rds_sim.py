"""awssim.rds_replicas: RDS DB-instance read replicas across regions, as AWS answers and refuses them
(moto 5.2 copies the source, promotes anything at once and has no SwitchoverReadReplica)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from awssim.kits.rds import seed_rds_pair
from botocore.exceptions import ClientError

PRIMARY, DR, ACCOUNT = "eu-west-1", "ap-southeast-2", "123456789012"
TAGS = {"Customer": "acme", "Environment": "production"}
A_ARN = f"arn:aws:rds:{PRIMARY}:{ACCOUNT}:db:orders-a"
B_ARN = f"arn:aws:rds:{DR}:{ACCOUNT}:db:orders-b"
DELAY = 1.5  # seconds a transition takes: long enough to look at it half-way on a busy machine


@pytest.fixture
def clients(aws):
    return aws.client("rds", region_name=PRIMARY), aws.client("rds", region_name=DR)


def primary_only(session, **kwargs):
    return seed_rds_pair(session, PRIMARY, "orders-a", DR, "orders-b", TAGS, replica=False, **kwargs)


def describe(rds, identifier):
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def code(err):
    return err.value.response["Error"]["Code"]


def test_a_cross_region_replica_is_an_instance_of_its_own_created_from_the_source_arn(aws, clients, monkeypatch):
    a, b = clients
    primary_only(aws)
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", str(DELAY))
    reply = b.create_db_instance_read_replica(DBInstanceIdentifier="orders-b", SourceDBInstanceIdentifier=A_ARN,
                                              SourceRegion=PRIMARY, Tags=[{"Key": "Name", "Value": "orders"}])
    replica = reply["DBInstance"]
    assert replica["DBInstanceStatus"] == "creating"
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == A_ARN  # across regions: by ARN
    assert replica["DBInstanceArn"] == B_ARN and replica["BackupRetentionPeriod"] == 0
    assert replica["TagList"] == [{"Key": "Name", "Value": "orders"}]  # the call's tags, not the source's
    assert describe(a, "orders-a")["ReadReplicaDBInstanceIdentifiers"] == [B_ARN]
    assert {t["Key"] for t in describe(a, "orders-a")["TagList"]} == set(TAGS)  # the source's tags untouched
    time.sleep(DELAY + 0.1)
    assert describe(b, "orders-b")["DBInstanceStatus"] == "available"
    assert describe(b, "orders-b")["InstanceCreateTime"] > describe(a, "orders-a")["InstanceCreateTime"]
    now = datetime.now(timezone.utc)
    lag = aws.client("cloudwatch", region_name=DR).get_metric_statistics(
        Namespace="AWS/RDS", MetricName="ReplicaLag", Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "orders-b"}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1), Period=60, Statistics=["Maximum"])
    assert [p["Maximum"] for p in lag["Datapoints"]] == [0.0]  # RDS publishes it for every replica


def test_an_encrypted_cross_region_replica_needs_an_enabled_key_of_its_region(aws, clients):
    _, b = clients
    keys = {r: aws.client("kms", region_name=r).create_key()["KeyMetadata"]["Arn"] for r in (PRIMARY, DR)}
    primary_only(aws, kms_keys=(keys[PRIMARY], keys[DR]))
    create = {"DBInstanceIdentifier": "orders-b", "SourceDBInstanceIdentifier": A_ARN, "SourceRegion": PRIMARY}
    with pytest.raises(ClientError) as err:
        b.create_db_instance_read_replica(**create)
    assert (code(err), err.value.response["Error"]["Message"]) == (
        "InvalidParameterCombination", "Cannot create a cross region unencrypted read replica from encrypted source.")
    aws.client("kms", region_name=DR).disable_key(KeyId=keys[DR].split("/")[-1])  # moto takes the id only
    for key in (keys[PRIMARY], keys[DR], "alias/nowhere"):  # another region's key; a disabled one; none at all
        with pytest.raises(ClientError) as err:
            b.create_db_instance_read_replica(**create, KmsKeyId=key)
        assert code(err) == "KMSKeyNotAccessibleFault", key
    assert b.describe_db_instances()["DBInstances"] == []
    aws.client("kms", region_name=DR).enable_key(KeyId=keys[DR].split("/")[-1])
    replica = b.create_db_instance_read_replica(**create, KmsKeyId=keys[DR])["DBInstance"]
    assert replica["StorageEncrypted"] and replica["KmsKeyId"] == keys[DR]


def test_replica_creation_is_refused_as_on_aws(aws, clients):
    a, b = clients
    primary_only(aws)
    with pytest.raises(ClientError) as err:  # another region's source is named by its ARN
        b.create_db_instance_read_replica(DBInstanceIdentifier="orders-b", SourceDBInstanceIdentifier="orders-a")
    assert code(err) == "DBInstanceNotFound"
    with pytest.raises(ClientError) as err:  # nor another account's
        b.create_db_instance_read_replica(DBInstanceIdentifier="orders-b",
                                          SourceDBInstanceIdentifier=A_ARN.replace(ACCOUNT, "999999999999"))
    assert code(err) == "DBInstanceNotFound"
    b.create_db_instance_read_replica(DBInstanceIdentifier="orders-b", SourceDBInstanceIdentifier=A_ARN)
    with pytest.raises(ClientError) as err:  # moto would silently replace it
        b.create_db_instance_read_replica(DBInstanceIdentifier="orders-b", SourceDBInstanceIdentifier=A_ARN)
    assert code(err) == "DBInstanceAlreadyExists"
    a.create_db_instance(DBInstanceIdentifier="nobackup", Engine="mysql", DBInstanceClass="db.m5.large",
                         AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="not-a-real-password",
                         BackupRetentionPeriod=0)
    with pytest.raises(ClientError, match="Automated backups are not enabled") as err:
        b.create_db_instance_read_replica(DBInstanceIdentifier="x", SourceDBInstanceIdentifier=A_ARN.replace(
            "orders-a", "nobackup"))
    assert code(err) == "InvalidDBInstanceState"


def test_promotion_takes_time_leaves_the_source_and_is_refused_for_a_non_replica(aws, clients, monkeypatch):
    a, b = clients
    seed_rds_pair(aws, PRIMARY, "orders-a", DR, "orders-b", TAGS)
    with pytest.raises(ClientError, match="not a read replica") as err:
        a.promote_read_replica(DBInstanceIdentifier="orders-a")
    assert code(err) == "InvalidDBInstanceState"
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", str(DELAY))
    assert b.promote_read_replica(DBInstanceIdentifier="orders-b")["DBInstance"]["DBInstanceStatus"] == "modifying"
    with pytest.raises(ClientError) as err:  # a second call while the first is under way
        b.promote_read_replica(DBInstanceIdentifier="orders-b")
    assert code(err) == "InvalidDBInstanceState"
    assert describe(b, "orders-b")["ReadReplicaSourceDBInstanceIdentifier"] == A_ARN
    time.sleep(DELAY + 0.1)
    promoted = describe(b, "orders-b")
    assert promoted["DBInstanceStatus"] == "available" and "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert promoted["BackupRetentionPeriod"] == 1  # AWS's default for a promoted replica
    assert describe(a, "orders-a").get("ReadReplicaDBInstanceIdentifiers", []) == []


def test_switchover_is_for_oracle_and_swaps_the_roles(aws, clients, monkeypatch):
    a, b = clients
    seed_rds_pair(aws, PRIMARY, "orders-a", DR, "orders-b", TAGS)
    with pytest.raises(ClientError, match="Oracle") as err:
        b.switchover_read_replica(DBInstanceIdentifier="orders-b")
    assert code(err) == "InvalidDBInstanceState"
    seed_rds_pair(aws, PRIMARY, "ora-a", DR, "ora-b", TAGS, engine="oracle-ee")
    with pytest.raises(ClientError, match="Automated backups must be enabled"):
        b.switchover_read_replica(DBInstanceIdentifier="ora-b")
    b.modify_db_instance(DBInstanceIdentifier="ora-b", BackupRetentionPeriod=7, ApplyImmediately=True)
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", str(DELAY))
    assert b.switchover_read_replica(DBInstanceIdentifier="ora-b")["DBInstance"]["DBInstanceStatus"] == "modifying"
    assert describe(a, "ora-a")["DBInstanceStatus"] == "modifying"
    time.sleep(DELAY + 0.1)
    new, old = describe(b, "ora-b"), describe(a, "ora-a")
    assert "ReadReplicaSourceDBInstanceIdentifier" not in new
    assert new["ReadReplicaDBInstanceIdentifiers"] == [f"arn:aws:rds:{PRIMARY}:{ACCOUNT}:db:ora-a"]
    assert old["ReadReplicaSourceDBInstanceIdentifier"] == f"arn:aws:rds:{DR}:{ACCOUNT}:db:ora-b"
    assert old["DBInstanceStatus"] == new["DBInstanceStatus"] == "available"


def test_stop_takes_time_snapshots_first_and_is_refused_around_replicas(aws, clients, monkeypatch):
    a, b = clients
    seed_rds_pair(aws, PRIMARY, "orders-a", DR, "orders-b", TAGS)
    for rds, identifier, why in ((b, "orders-b", "is a read replica"), (a, "orders-a", "has read replicas")):
        with pytest.raises(ClientError, match=why) as err:
            rds.stop_db_instance(DBInstanceIdentifier=identifier)
        assert code(err) == "InvalidDBInstanceState"
    b.promote_read_replica(DBInstanceIdentifier="orders-b")
    describe(b, "orders-b")  # settles the promotion (AWSSIM_DELAY_SECONDS=0)
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", str(DELAY))
    stopping = a.stop_db_instance(DBInstanceIdentifier="orders-a", DBSnapshotIdentifier="orders-a-last")
    assert stopping["DBInstance"]["DBInstanceStatus"] == "stopping"
    with pytest.raises(ClientError) as err:
        a.stop_db_instance(DBInstanceIdentifier="orders-a")
    assert code(err) == "InvalidDBInstanceState"
    time.sleep(DELAY + 0.1)
    assert describe(a, "orders-a")["DBInstanceStatus"] == "stopped"
    snapshot = a.describe_db_snapshots(DBSnapshotIdentifier="orders-a-last")["DBSnapshots"][0]
    assert snapshot["DBInstanceIdentifier"] == "orders-a"


def test_delete_takes_time_needs_a_final_snapshot_choice_and_frees_the_identifier(aws, clients, monkeypatch):
    a, b = clients
    seed_rds_pair(aws, PRIMARY, "orders-a", DR, "orders-b", TAGS)
    with pytest.raises(ClientError) as err:
        a.delete_db_instance(DBInstanceIdentifier="orders-a")
    assert code(err) == "InvalidParameterCombination"
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", str(DELAY))
    # a cross-region replica (moto cannot delete one: its source lists it by ARN)
    assert b.delete_db_instance(DBInstanceIdentifier="orders-b", SkipFinalSnapshot=True)["DBInstance"][
        "DBInstanceStatus"] == "deleting"
    with pytest.raises(ClientError) as err:  # its identifier is not free yet
        b.create_db_instance_read_replica(DBInstanceIdentifier="orders-b", SourceDBInstanceIdentifier=A_ARN)
    assert code(err) == "DBInstanceAlreadyExists"
    time.sleep(DELAY + 0.1)
    with pytest.raises(ClientError) as err:
        describe(b, "orders-b")
    assert code(err) == "DBInstanceNotFound"
    assert describe(a, "orders-a").get("ReadReplicaDBInstanceIdentifiers", []) == []
    b.create_db_instance_read_replica(DBInstanceIdentifier="orders-b", SourceDBInstanceIdentifier=A_ARN)


def test_deleting_a_source_leaves_its_replica_standalone(aws, clients):
    a, b = clients
    seed_rds_pair(aws, PRIMARY, "orders-a", DR, "orders-b", TAGS)
    a.delete_db_instance(DBInstanceIdentifier="orders-a", FinalDBSnapshotIdentifier="orders-a-final")
    replica = describe(b, "orders-b")
    assert "ReadReplicaSourceDBInstanceIdentifier" not in replica and replica["DBInstanceStatus"] == "available"
    assert a.describe_db_snapshots(DBSnapshotIdentifier="orders-a-final")["DBSnapshots"]


def test_instances_of_both_regions_are_found_by_the_tagging_api(aws):
    seed_rds_pair(aws, PRIMARY, "orders-a", DR, "orders-b", TAGS)
    for region, arn in ((PRIMARY, A_ARN), (DR, B_ARN)):
        found = aws.client("resourcegroupstaggingapi", region_name=region).get_resources(
            ResourceTypeFilters=["rds:db"], TagFilters=[{"Key": "Customer", "Values": ["acme"]}])
        assert [r["ResourceARN"] for r in found["ResourceTagMappingList"]] == [arn]
