"""awssim.efs_replication: EFS replication configurations and replication overwrite protection as AWS answers
and refuses them (moto 5.2 has neither), held by both regions a configuration spans, and file systems found
by tag discovery."""

from __future__ import annotations

import time

import boto3
import botocore.session
import pytest
from awssim import efs_replication, outage
from awssim.kits.efs import seed_efs_pair
from awssim.resource_explorer import enable_explorer
from botocore.exceptions import ClientError

PRIMARY, DR, ACCOUNT = "eu-west-1", "ap-southeast-2", "123456789012"
A, B = "fs-0a0a0a0a00000001", "fs-0b0b0b0b00000002"
TAGS = {"Customer": "acme", "Environment": "production", "dr:enabled": "true"}
MODEL = botocore.session.get_session().get_service_model("efs")
DELAY = 0.3  # seconds a transition takes, as AWS's take minutes


def members_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def required_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).required_members)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"]


@pytest.fixture
def efs(aws):
    return aws.client("efs", region_name=PRIMARY), aws.client("efs", region_name=DR)


@pytest.fixture
def slow(monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", str(DELAY))


def protection(efs, fs_id):
    return efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["FileSystemProtection"][
        "ReplicationOverwriteProtection"]


def replication(efs, fs_id):
    return efs.describe_replication_configurations(FileSystemId=fs_id)["Replications"][0]


def test_replication_into_an_existing_file_system_needs_its_protection_disabled_then_syncs(aws, efs, slow):
    a, b = efs
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS, replicate=False)
    assert (protection(a, A), protection(b, B)) == ("ENABLED", "ENABLED")  # EFS's default
    into_b = {"SourceFileSystemId": A, "Destinations": [{"Region": DR, "FileSystemId": B}]}
    assert code_of(a.create_replication_configuration, **into_b) == "ConflictException"

    assert b.update_file_system_protection(FileSystemId=B, ReplicationOverwriteProtection="DISABLED")[
        "ReplicationOverwriteProtection"] == "DISABLED"
    created = a.create_replication_configuration(**into_b)
    assert created["Destinations"][0]["Status"] == "ENABLING"
    assert "LastReplicatedTimestamp" not in created["Destinations"][0]  # the initial sync is running
    assert protection(b, B) == "REPLICATING"  # read-only from the call on
    # each region answers for its own file system, and only for it
    assert replication(b, B)["SourceFileSystemId"] == A
    assert code_of(b.describe_replication_configurations, FileSystemId=A) == "FileSystemNotFound"
    time.sleep(DELAY + 0.1)
    rep = replication(a, A)
    assert rep["Destinations"][0]["Status"] == "ENABLED" and rep["Destinations"][0]["LastReplicatedTimestamp"]
    assert rep == replication(b, B)  # one configuration, held by both regions
    assert [r["SourceFileSystemId"] for r in b.describe_replication_configurations()["Replications"]] == [A]


def test_replication_answers_in_botocore_shapes(aws, efs):
    a, b = efs
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS)
    rep = replication(a, A)
    assert required_of("ReplicationConfigurationDescription") <= set(rep) <= members_of(
        "ReplicationConfigurationDescription")
    assert required_of("Destination") <= set(rep["Destinations"][0]) <= members_of("Destination")
    assert rep["SourceFileSystemArn"] == f"arn:aws:elasticfilesystem:{PRIMARY}:{ACCOUNT}:file-system/{A}"
    assert (rep["SourceFileSystemRegion"], rep["Destinations"][0]["Region"]) == (PRIMARY, DR)
    fs = b.describe_file_systems(FileSystemId=B)["FileSystems"][0]
    assert set(fs) <= members_of("FileSystemDescription")
    assert set(fs["FileSystemProtection"]) <= members_of("FileSystemProtectionDescription")
    assert {t["Key"]: t["Value"] for t in fs["Tags"]} == TAGS
    page = a.describe_replication_configurations(MaxResults=1)
    assert set(page) - {"ResponseMetadata"} <= members_of("DescribeReplicationConfigurationsResponse")


def test_what_aws_refuses(aws, efs):
    a, b = efs
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS)
    c = a.create_file_system(CreationToken="other", Encrypted=False)["FileSystemId"]
    plain = b.create_file_system(CreationToken="plain", Encrypted=False)["FileSystemId"]
    b.update_file_system_protection(FileSystemId=plain, ReplicationOverwriteProtection="DISABLED")
    # a file system is part of one configuration at most, as source or destination
    assert code_of(a.create_replication_configuration, SourceFileSystemId=A,
                   Destinations=[{"Region": DR, "FileSystemId": plain}]) == "ConflictException"
    assert code_of(b.create_replication_configuration, SourceFileSystemId=B,
                   Destinations=[{"Region": PRIMARY, "FileSystemId": c}]) == "ConflictException"
    # an encrypted source into an unencrypted destination
    encrypted = a.create_file_system(CreationToken="enc", Encrypted=True)["FileSystemId"]
    assert code_of(a.create_replication_configuration, SourceFileSystemId=encrypted,
                   Destinations=[{"Region": DR, "FileSystemId": plain}]) == "ConflictException"
    # one destination, with a region
    assert code_of(a.create_replication_configuration, SourceFileSystemId=c, Destinations=[
        {"Region": DR, "FileSystemId": plain}, {"Region": DR}]) == "BadRequest"
    assert code_of(a.create_replication_configuration, SourceFileSystemId=c, Destinations=[{}]) == "BadRequest"
    assert code_of(a.create_replication_configuration, SourceFileSystemId="fs-0000000099999999",
                   Destinations=[{"Region": DR}]) == "FileSystemNotFound"
    # the protection of a file system in a configuration, and REPLICATING by hand
    assert code_of(b.update_file_system_protection, FileSystemId=B,
                   ReplicationOverwriteProtection="ENABLED") == "ReplicationAlreadyExists"
    assert code_of(a.update_file_system_protection, FileSystemId=A,
                   ReplicationOverwriteProtection="DISABLED") == "ReplicationAlreadyExists"
    assert code_of(a.update_file_system_protection, FileSystemId=c,
                   ReplicationOverwriteProtection="REPLICATING") == "BadRequest"
    # no configuration, nothing to describe or delete; a member cannot be deleted
    assert code_of(a.describe_replication_configurations, FileSystemId=c) == "ReplicationNotFound"
    assert code_of(a.delete_replication_configuration, SourceFileSystemId=c) == "ReplicationNotFound"
    assert code_of(b.delete_replication_configuration, SourceFileSystemId=B) == "ReplicationNotFound"
    assert code_of(a.delete_file_system, FileSystemId=A) == "FileSystemInUse"
    assert code_of(b.delete_file_system, FileSystemId=B) == "FileSystemInUse"


def test_deleting_from_the_destination_region_ends_both_sides_and_makes_it_writable(aws, efs, slow):
    a, b = efs
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS)
    b.delete_replication_configuration(SourceFileSystemId=A)  # the destination's region, the source's id
    assert replication(a, A)["Destinations"][0]["Status"] == "DELETING"
    assert replication(b, B)["Destinations"][0]["Status"] == "DELETING"
    assert protection(b, B) == "REPLICATING"  # writable only once the deletion completes
    assert code_of(b.delete_replication_configuration, SourceFileSystemId=A) == "BadRequest"  # already going
    time.sleep(DELAY + 0.1)
    assert code_of(a.describe_replication_configurations, FileSystemId=A) == "ReplicationNotFound"
    assert code_of(b.describe_replication_configurations, FileSystemId=B) == "ReplicationNotFound"
    assert (protection(a, A), protection(b, B)) == ("ENABLED", "ENABLED")
    assert code_of(b.delete_replication_configuration, SourceFileSystemId=A) == "FileSystemNotFound"


def test_a_local_delete_orphans_the_other_side_until_it_is_deleted_there(aws, efs):
    a, b = efs
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS)
    with outage.outage(PRIMARY):  # the source region dark: only the local side can go
        assert code_of(b.delete_replication_configuration, SourceFileSystemId=A) == "BadRequest"
        b.delete_replication_configuration(SourceFileSystemId=A, DeletionMode="LOCAL_CONFIGURATION_ONLY")
        assert code_of(b.describe_replication_configurations, FileSystemId=B) == "ReplicationNotFound"
        assert protection(b, B) == "ENABLED"
    orphan = replication(a, A)["Destinations"][0]
    assert orphan["Status"] == "ERROR" and "deleted in ap-southeast-2 only" in orphan["StatusMessage"]
    frozen = orphan["LastReplicatedTimestamp"]
    time.sleep(0.05)
    assert replication(a, A)["Destinations"][0]["LastReplicatedTimestamp"] == frozen  # replication stopped
    # the old source cannot be a destination while it holds the orphan; deleting it locally frees it
    assert code_of(a.update_file_system_protection, FileSystemId=A,
                   ReplicationOverwriteProtection="DISABLED") == "ReplicationAlreadyExists"
    a.delete_replication_configuration(SourceFileSystemId=A, DeletionMode="LOCAL_CONFIGURATION_ONLY")
    assert code_of(a.describe_replication_configurations, FileSystemId=A) == "ReplicationNotFound"
    a.update_file_system_protection(FileSystemId=A, ReplicationOverwriteProtection="DISABLED")
    b.create_replication_configuration(SourceFileSystemId=B, Destinations=[{"Region": PRIMARY, "FileSystemId": A}])
    assert replication(a, A)["SourceFileSystemId"] == B and protection(a, A) == "REPLICATING"


def test_local_only_is_refused_for_a_same_region_replication(aws, efs):
    a, _ = efs
    src = a.create_file_system(CreationToken="src", Encrypted=True)["FileSystemId"]
    dst = a.create_file_system(CreationToken="dst", Encrypted=True)["FileSystemId"]
    a.update_file_system_protection(FileSystemId=dst, ReplicationOverwriteProtection="DISABLED")
    a.create_replication_configuration(SourceFileSystemId=src, Destinations=[{"Region": PRIMARY, "FileSystemId": dst}])
    assert code_of(a.delete_replication_configuration, SourceFileSystemId=src,
                   DeletionMode="LOCAL_CONFIGURATION_ONLY") == "BadRequest"
    a.delete_replication_configuration(SourceFileSystemId=src)
    assert protection(a, dst) == "ENABLED"


def test_replication_to_a_new_file_system_creates_an_encrypted_read_only_one(aws, efs):
    a, b = efs
    src = a.create_file_system(CreationToken="src", Encrypted=False)["FileSystemId"]
    made = a.create_replication_configuration(SourceFileSystemId=src, Destinations=[{"Region": DR}])
    dest = made["Destinations"][0]["FileSystemId"]
    fs = b.describe_file_systems(FileSystemId=dest)["FileSystems"][0]
    assert fs["Encrypted"] and fs["FileSystemProtection"]["ReplicationOverwriteProtection"] == "REPLICATING"


def test_a_stalled_replication_reports_its_last_sync_and_a_status_set_for_a_test(aws, efs):
    a, b = efs
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS)
    before = replication(b, B)["Destinations"][0]["LastReplicatedTimestamp"]
    assert time.time() - before.timestamp() < efs_replication.SYNC_LAG_SECONDS + 5  # syncing continuously
    efs_replication.stall(ACCOUNT, DR, B, 3600)
    stalled = replication(b, B)["Destinations"][0]["LastReplicatedTimestamp"]
    assert time.time() - stalled.timestamp() >= 3600
    efs_replication.set_status(ACCOUNT, PRIMARY, A, "PAUSED", "Region opted out")
    assert replication(b, B)["Destinations"][0]["Status"] == "PAUSED"


def test_tag_discovery_finds_file_systems_with_the_tagging_api_and_resource_explorer(aws, efs):
    seed_efs_pair(aws, ACCOUNT, PRIMARY, A, DR, B, TAGS)
    arn = f"arn:aws:elasticfilesystem:{PRIMARY}:{ACCOUNT}:file-system/{A}"
    tagging = aws.client("resourcegroupstaggingapi", region_name=PRIMARY)
    listed = tagging.get_resources(TagFilters=[{"Key": "dr:enabled", "Values": ["true"]}],
                                   ResourceTypeFilters=["elasticfilesystem:file-system"])["ResourceTagMappingList"]
    assert [m["ResourceARN"] for m in listed] == [arn]
    enable_explorer(aws, PRIMARY, aggregator=True)
    found = aws.client("resource-explorer-2", region_name=PRIMARY).search(
        QueryString=f"resourcetype:elasticfilesystem:file-system tag:dr:enabled=true region:{PRIMARY}")["Resources"]
    assert [(r["ResourceType"], r["Arn"]) for r in found] == [("elasticfilesystem:file-system", arn)]


def test_the_extension_answers_in_server_mode(server_url):
    session = boto3.Session(region_name=PRIMARY)
    a = session.client("efs", region_name=PRIMARY, endpoint_url=server_url)
    b = session.client("efs", region_name=DR, endpoint_url=server_url)
    src = a.create_file_system(CreationToken="srv-a", Encrypted=True)["FileSystemId"]
    dst = b.create_file_system(CreationToken="srv-b", Encrypted=True)["FileSystemId"]
    b.update_file_system_protection(FileSystemId=dst, ReplicationOverwriteProtection="DISABLED")
    a.create_replication_configuration(SourceFileSystemId=src, Destinations=[{"Region": DR, "FileSystemId": dst}])
    assert replication(b, dst)["Destinations"][0]["Status"] == "ENABLED"
    assert code_of(b.update_file_system_protection, FileSystemId=dst,
                   ReplicationOverwriteProtection="ENABLED") == "ReplicationAlreadyExists"
    b.delete_replication_configuration(SourceFileSystemId=src, DeletionMode="LOCAL_CONFIGURATION_ONLY")
    assert protection(b, dst) == "ENABLED"
    assert replication(a, src)["Destinations"][0]["Status"] == "ERROR"
