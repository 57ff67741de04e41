"""awssim.fsx_backups: FSx backups copied across regions and file systems restored from them (moto 5.2 has
neither), with lifecycles that take time, idempotency tokens, botocore's shapes, and what AWS refuses."""

from __future__ import annotations

import time

import boto3
import botocore.session
import pytest
from awssim.fsx_backups import backend_of
from botocore.exceptions import ClientError

PRIMARY, DR, HUB, OTHER = "eu-west-1", "ap-southeast-2", "123456789012", "444455556666"
MODEL = botocore.session.get_session().get_service_model("fsx")
SUBNETS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
TAGS = [{"Key": "Customer", "Value": "acme"}, {"Key": "Environment", "Value": "production"}]
WINDOWS = {"FileSystemType": "WINDOWS", "StorageCapacity": 32,
           "WindowsConfiguration": {"DeploymentType": "MULTI_AZ_1", "ThroughputCapacity": 32}}


def members_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def fsx(session, region):
    return session.client("fsx", region_name=region)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"]


def until_available(read, timeout=10.0):
    deadline = time.monotonic() + timeout
    while (found := read())["Lifecycle"] != "AVAILABLE":
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def file_system(session, region, fs_id):
    return fsx(session, region).describe_file_systems(FileSystemIds=[fs_id])["FileSystems"][0]


def backup(session, region, backup_id):
    return fsx(session, region).describe_backups(BackupIds=[backup_id])["Backups"][0]


def protected(session, kind=None, subnets=None):
    """A file system in the primary region, backed up, the backup copied to DR; returns (fs, backup, copy)."""
    fs = fsx(session, PRIMARY).create_file_system(SubnetIds=subnets or SUBNETS, Tags=TAGS, **(kind or WINDOWS))
    fs_id = fs["FileSystem"]["FileSystemId"]
    until_available(lambda: file_system(session, PRIMARY, fs_id))
    made = fsx(session, PRIMARY).create_backup(FileSystemId=fs_id, Tags=TAGS)["Backup"]["BackupId"]
    until_available(lambda: backup(session, PRIMARY, made))
    copied = fsx(session, DR).copy_backup(SourceBackupId=made, SourceRegion=PRIMARY, CopyTags=True)["Backup"]
    until_available(lambda: backup(session, DR, copied["BackupId"]))
    return fs_id, made, copied["BackupId"]


def test_a_backup_copied_across_and_restored_lives_as_on_aws_in_botocore_shapes(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    fs = fsx(aws, PRIMARY).create_file_system(SubnetIds=SUBNETS, Tags=TAGS, **WINDOWS)["FileSystem"]
    assert fs["Lifecycle"] == "CREATING" and set(fs) <= members_of("FileSystem")
    assert file_system(aws, PRIMARY, fs["FileSystemId"])["Lifecycle"] == "CREATING"  # for the delay, then
    until_available(lambda: file_system(aws, PRIMARY, fs["FileSystemId"]))
    made = fsx(aws, PRIMARY).create_backup(FileSystemId=fs["FileSystemId"])["Backup"]
    assert made["Lifecycle"] == "CREATING" and set(made) <= members_of("Backup")
    assert made["FileSystem"]["FileSystemId"] == fs["FileSystemId"] and made["Type"] == "USER_INITIATED"
    until_available(lambda: backup(aws, PRIMARY, made["BackupId"]))
    fsx(aws, PRIMARY).tag_resource(ResourceARN=made["ResourceARN"], Tags=[{"Key": "team", "Value": "files"}])
    copy = fsx(aws, DR).copy_backup(SourceBackupId=made["BackupId"], SourceRegion=PRIMARY, CopyTags=True,
                                    Tags=[{"Key": "copied", "Value": "yes"}])["Backup"]
    assert copy["Lifecycle"] == "COPYING" and (copy["SourceBackupId"], copy["SourceBackupRegion"]) == (
        made["BackupId"], PRIMARY)
    assert {t["Key"] for t in copy["Tags"]} == {"team", "copied"}  # CopyTags, with Tags merged over them
    assert copy["ResourceARN"].startswith(f"arn:aws:fsx:{DR}:{HUB}:backup/backup-")
    until_available(lambda: backup(aws, DR, copy["BackupId"]))
    restored = fsx(aws, DR).create_file_system_from_backup(
        BackupId=copy["BackupId"], SubnetIds=["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"],
        Tags=TAGS, WindowsConfiguration={"ThroughputCapacity": 64, "DeploymentType": "MULTI_AZ_1"})["FileSystem"]
    assert restored["Lifecycle"] == "CREATING" and restored["FileSystemType"] == "WINDOWS"
    assert (restored["StorageCapacity"], restored["WindowsConfiguration"]["ThroughputCapacity"]) == (32, 64)
    assert restored["ResourceARN"].startswith(f"arn:aws:fsx:{DR}:{HUB}:file-system/fs-")
    until_available(lambda: file_system(aws, DR, restored["FileSystemId"]))
    gone = fsx(aws, DR).delete_file_system(FileSystemId=restored["FileSystemId"])
    assert set(gone) - {"ResponseMetadata"} <= members_of("DeleteFileSystemResponse")
    assert gone["Lifecycle"] == "DELETING" and gone["WindowsResponse"]["FinalBackupId"].startswith("backup-")
    time.sleep(0.4)
    assert code_of(fsx(aws, DR).describe_file_systems, FileSystemIds=[restored["FileSystemId"]]) == "FileSystemNotFound"


def test_copy_backup_refuses_what_aws_refuses(aws, monkeypatch):
    _, made, _ = protected(aws)
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "60")  # copies started now stay in progress
    dr = fsx(aws, DR)
    assert code_of(dr.copy_backup, SourceBackupId="backup-0123456789abcdef0", SourceRegion=PRIMARY) == "BackupNotFound"
    assert code_of(dr.copy_backup, SourceBackupId=made, SourceRegion="xx-nowhere-1") == "InvalidRegion"
    assert code_of(dr.copy_backup, SourceBackupId=made) == "BackupNotFound"  # no SourceRegion: an in-Region copy
    assert code_of(fsx(aws, "me-south-1").copy_backup, SourceBackupId=made, SourceRegion=PRIMARY) == "InvalidRegion"
    busy = backend_of(HUB, PRIMARY).backups[made]
    busy.lifecycle, busy.due = "CREATING", time.time() + 60
    assert code_of(dr.copy_backup, SourceBackupId=made, SourceRegion=PRIMARY) == "SourceBackupUnavailable"
    busy.lifecycle, busy.due = "AVAILABLE", None
    for copy in backend_of(HUB, DR).backups.values():
        copy.lifecycle, copy.due = "COPYING", time.time() + 60  # five in progress already
    for _ in range(4):
        dr.copy_backup(SourceBackupId=made, SourceRegion=PRIMARY)
    assert code_of(dr.copy_backup, SourceBackupId=made, SourceRegion=PRIMARY) == "ServiceLimitExceeded"


def test_restores_refuse_what_aws_refuses(aws):
    _, made, copy = protected(aws)
    dr = fsx(aws, DR)
    # a backup of another region is not there to restore
    assert code_of(dr.create_file_system_from_backup, BackupId=made, SubnetIds=SUBNETS) == "BackupNotFound"
    assert code_of(dr.create_file_system_from_backup, BackupId=copy, SubnetIds=SUBNETS[:1]) == "InvalidNetworkSettings"
    assert code_of(dr.create_file_system_from_backup, BackupId=copy, SubnetIds=SUBNETS,
                   LustreConfiguration={"CopyTagsToBackups": True}) == "IncompatibleParameterError"
    assert code_of(dr.create_file_system_from_backup, BackupId=copy, SubnetIds=SUBNETS, StorageCapacity=16) == "BadRequest"
    assert code_of(dr.create_file_system_from_backup, BackupId=copy, SubnetIds=SUBNETS,
                   Tags=[{"Key": "run", "Value": "manual__2025~1"}]) == "BadRequest"  # '~' is not taken
    zfs = {"FileSystemType": "OPENZFS", "StorageCapacity": 64,
           "OpenZFSConfiguration": {"DeploymentType": "SINGLE_AZ_1", "ThroughputCapacity": 64}}
    _, _, zfs_copy = protected(aws, zfs, SUBNETS[:1])
    assert code_of(dr.create_file_system_from_backup, BackupId=zfs_copy, SubnetIds=SUBNETS[:1]) == \
        "MissingFileSystemConfiguration"
    assert code_of(dr.create_file_system_from_backup, BackupId=zfs_copy, SubnetIds=SUBNETS[:1], StorageType="HDD",
                   OpenZFSConfiguration=zfs["OpenZFSConfiguration"]) == "BadRequest"
    pending = backend_of(HUB, DR).backups[copy]
    pending.lifecycle, pending.due = "COPYING", time.time() + 60
    assert code_of(dr.create_file_system_from_backup, BackupId=copy, SubnetIds=SUBNETS) == "BadRequest"


def test_a_retried_create_with_its_token_makes_nothing_more_and_other_parameters_are_refused(aws):
    _, made, copy = protected(aws)
    dr, primary = fsx(aws, DR), fsx(aws, PRIMARY)
    first = dr.create_file_system_from_backup(BackupId=copy, SubnetIds=SUBNETS, ClientRequestToken="restore-1")
    again = dr.create_file_system_from_backup(BackupId=copy, SubnetIds=SUBNETS, ClientRequestToken="restore-1")
    assert first["FileSystem"]["FileSystemId"] == again["FileSystem"]["FileSystemId"]
    assert len(dr.describe_file_systems()["FileSystems"]) == 1
    assert code_of(dr.create_file_system_from_backup, BackupId=copy, SubnetIds=SUBNETS[::-1],
                   ClientRequestToken="restore-1") == "IncompatibleParameterError"
    one = dr.copy_backup(SourceBackupId=made, SourceRegion=PRIMARY, ClientRequestToken="copy-1")["Backup"]
    two = dr.copy_backup(SourceBackupId=made, SourceRegion=PRIMARY, ClientRequestToken="copy-1")["Backup"]
    assert one["BackupId"] == two["BackupId"]
    fs_id = primary.describe_file_systems()["FileSystems"][0]["FileSystemId"]
    b1 = primary.create_backup(FileSystemId=fs_id, ClientRequestToken="backup-1")["Backup"]["BackupId"]
    assert primary.create_backup(FileSystemId=fs_id, ClientRequestToken="backup-1")["Backup"]["BackupId"] == b1


def test_backups_and_deletes_refuse_what_aws_refuses(aws, monkeypatch):
    fs_id, made, copy = protected(aws)
    primary, dr = fsx(aws, PRIMARY), fsx(aws, DR)
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "60")  # what starts now stays in progress
    running = primary.create_backup(FileSystemId=fs_id)["Backup"]["BackupId"]
    assert code_of(primary.create_backup, FileSystemId=fs_id) == "BackupInProgress"
    assert code_of(primary.delete_backup, BackupId=running) == "BackupInProgress"
    dr.copy_backup(SourceBackupId=made, SourceRegion=PRIMARY)
    assert code_of(primary.delete_backup, BackupId=made) == "BackupBeingCopied"
    restoring = dr.create_file_system_from_backup(BackupId=copy, SubnetIds=SUBNETS)["FileSystem"]["FileSystemId"]
    assert code_of(dr.delete_backup, BackupId=copy) == "BackupRestoring"
    assert code_of(dr.delete_file_system, FileSystemId=restoring) == "BadRequest"  # still CREATING
    assert code_of(primary.create_backup, FileSystemId="fs-0123456789abcdef0") == "FileSystemNotFound"
    scratch = primary.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=SUBNETS[:1],
                                         LustreConfiguration={"DeploymentType": "SCRATCH_2"})["FileSystem"]
    backend_of(HUB, PRIMARY).settle()
    backend_of(HUB, PRIMARY).file_systems[scratch["FileSystemId"]].lifecycle = "AVAILABLE"
    assert code_of(primary.create_backup, FileSystemId=scratch["FileSystemId"]) == "BadRequest"  # scratch
    assert code_of(primary.delete_file_system, FileSystemId=scratch["FileSystemId"],
                   LustreConfiguration={"SkipFinalBackup": False}) == "BadRequest"
    # deleting twice: refused, unless it is the first call's retry (same token), answered as the first was
    first = primary.delete_file_system(FileSystemId=fs_id, ClientRequestToken="delete-1",
                                       WindowsConfiguration={"SkipFinalBackup": True})
    assert "WindowsResponse" not in first
    retry = primary.delete_file_system(FileSystemId=fs_id, ClientRequestToken="delete-1")
    assert (retry["FileSystemId"], retry["Lifecycle"]) == (fs_id, "DELETING")
    assert code_of(primary.delete_file_system, FileSystemId=fs_id) == "BadRequest"
    assert code_of(primary.delete_file_system, FileSystemId="fs-0123456789abcdef0") == "FileSystemNotFound"


def test_tags_are_checked_and_file_systems_and_backups_are_found_by_tag_discovery(aws):
    fs_id, made, copy = protected(aws)
    primary = fsx(aws, PRIMARY)
    arn = file_system(aws, PRIMARY, fs_id)["ResourceARN"]
    assert code_of(primary.tag_resource, ResourceARN=arn, Tags=[{"Key": "bad", "Value": "a~b"}]) == "BadRequest"
    assert code_of(primary.tag_resource, ResourceARN="arn:aws:s3:::bucket", Tags=TAGS) == "NotServiceResourceError"
    elsewhere = arn.replace(PRIMARY, DR)
    assert code_of(primary.tag_resource, ResourceARN=elsewhere, Tags=TAGS) == "ResourceNotFound"
    primary.untag_resource(ResourceARN=arn, TagKeys=["Environment"])
    assert primary.list_tags_for_resource(ResourceARN=arn)["Tags"] == [TAGS[0]]
    for region, want in ((PRIMARY, {("fsx:file-system", fs_id), ("fsx:backup", made)}), (DR, {("fsx:backup", copy)})):
        tagging = aws.client("resourcegroupstaggingapi", region_name=region)
        listed = tagging.get_resources(TagFilters=[{"Key": "Customer", "Values": ["acme"]}],
                                       ResourceTypeFilters=["fsx"])["ResourceTagMappingList"]
        found = {(f"fsx:{m['ResourceARN'].split(':')[5].split('/')[0]}", m["ResourceARN"].rsplit("/", 1)[1])
                 for m in listed}
        assert found == want


def test_state_is_kept_per_account(aws):
    _, _, copy = protected(aws)
    creds = aws.client("sts").assume_role(RoleArn=f"arn:aws:iam::{OTHER}:role/x", RoleSessionName="other-account")["Credentials"]
    other = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"], region_name=DR)
    assert fsx(other, DR).describe_backups()["Backups"] == []
    assert code_of(fsx(other, DR).create_file_system_from_backup, BackupId=copy, SubnetIds=SUBNETS) == "BackupNotFound"


def test_the_extension_answers_over_http(server_url):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=PRIMARY)
    clients = {r: session.client("fsx", region_name=r, endpoint_url=server_url) for r in (PRIMARY, DR)}
    fs_id = clients[PRIMARY].create_file_system(SubnetIds=SUBNETS, **WINDOWS)["FileSystem"]["FileSystemId"]
    until_available(lambda: clients[PRIMARY].describe_file_systems(FileSystemIds=[fs_id])["FileSystems"][0])
    made = clients[PRIMARY].create_backup(FileSystemId=fs_id)["Backup"]["BackupId"]
    until_available(lambda: clients[PRIMARY].describe_backups(BackupIds=[made])["Backups"][0])
    copy = clients[DR].copy_backup(SourceBackupId=made, SourceRegion=PRIMARY)["Backup"]["BackupId"]
    until_available(lambda: clients[DR].describe_backups(BackupIds=[copy])["Backups"][0])
    restored = clients[DR].create_file_system_from_backup(BackupId=copy, SubnetIds=SUBNETS)["FileSystem"]
    until_available(lambda: clients[DR].describe_file_systems(FileSystemIds=[restored["FileSystemId"]])["FileSystems"][0])


def test_backups_of_intelligent_tiering_file_systems_are_not_copied(aws):
    tiered = {"FileSystemType": "OPENZFS", "StorageCapacity": 64, "StorageType": "INTELLIGENT_TIERING",
              "OpenZFSConfiguration": {"DeploymentType": "MULTI_AZ_1", "ThroughputCapacity": 160}}
    with pytest.raises(ClientError, match="UnsupportedOperation"):
        protected(aws, tiered)
