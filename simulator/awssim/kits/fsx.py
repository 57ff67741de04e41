"""FSx kit: the protected file system in the primary region, one backup of it there and that backup's copy in
the DR region (what a backup plan with a cross-region copy rule leaves behind), all three tagged with every tag
of the resource. The file system's kind follows the manifest's subnets: two make a Windows File Server Multi-AZ
file system, one an OpenZFS single-AZ one, so the mini-estate restores both kinds.

Serving, for a technology whose failover *creates* a file system: per region, the file systems of the
resource's lineage (the manifest's file system, and those restored from its backups: tagged
``dr:protected-file-system``) that are neither retired (``dr:retired``) nor being deleted. A drill's throw-away
restore (``dr:drill-of``) is never one of them; while one exists it is a leftover.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

import boto3

from awssim.kits import Estate, Kit, Seed

# The adapter's tags, restated: the oracle never imports an adapter.
LINEAGE_TAG, RETIRED_TAG, DRILL_TAG = "dr:protected-file-system", "dr:retired", "dr:drill-of"
CUSTOM_ID_TAG = "_custom_id_"  # awssim.fsx_backups: the id CreateFileSystem gives (then dropped)


def _hex(*parts: Any) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:17]


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def file_systems(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    pages = session.client("fsx", region_name=region).get_paginator("describe_file_systems").paginate()
    return [fs for page in pages for fs in page["FileSystems"]]


def backups(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    pages = session.client("fsx", region_name=region).get_paginator("describe_backups").paginate()
    return [b for page in pages for b in page["Backups"]]


def _until(done: Callable[[], bool], what: str) -> None:
    """Poll like a user would until ``done`` (creations take AWSSIM_DELAY_SECONDS)."""
    deadline = time.monotonic() + 4 * float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0")) + 30
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not become AVAILABLE")
        time.sleep(0.05)


def seed_protected(session: boto3.Session, primary: str, dr: str,
                   file_systems_to_make: list[tuple[str, list[str], dict[str, str]]]) -> dict[str, str]:
    """For each (file system id, subnets, tags): the file system in ``primary`` (Windows Multi-AZ on two subnets,
    OpenZFS single-AZ on one), a backup of it, and that backup's copy in ``dr``; all tagged ``tags``. Each step
    for all of them at once, then waited for. Returns each file system's DR copy id."""
    source, target = session.client("fsx", region_name=primary), session.client("fsx", region_name=dr)
    for fs_id, subnets, tags in file_systems_to_make:
        kind: dict[str, Any] = (
            {"FileSystemType": "WINDOWS", "StorageCapacity": 32,
             "WindowsConfiguration": {"DeploymentType": "MULTI_AZ_1", "ThroughputCapacity": 32}}
            if len(subnets) == 2 else
            {"FileSystemType": "OPENZFS", "StorageCapacity": 64,
             "OpenZFSConfiguration": {"DeploymentType": "SINGLE_AZ_1", "ThroughputCapacity": 64}})
        source.create_file_system(SubnetIds=subnets, Tags=_tag_list({**tags, CUSTOM_ID_TAG: fs_id}), **kind)
    ids = [fs_id for fs_id, _, _ in file_systems_to_make]
    _until(lambda: all(fs["Lifecycle"] == "AVAILABLE" for fs in source.describe_file_systems(
        FileSystemIds=ids)["FileSystems"]), f"file systems {ids}")
    made = [source.create_backup(FileSystemId=fs_id, Tags=_tag_list(tags))["Backup"]["BackupId"]
            for fs_id, _, tags in file_systems_to_make]
    _until(lambda: all(b["Lifecycle"] == "AVAILABLE" for b in source.describe_backups(BackupIds=made)["Backups"]),
           f"backups {made}")
    copies = [target.copy_backup(SourceBackupId=b, SourceRegion=primary, CopyTags=True)["Backup"]["BackupId"]
              for b in made]
    _until(lambda: all(b["Lifecycle"] == "AVAILABLE" for b in target.describe_backups(BackupIds=copies)["Backups"]),
           f"backup copies {copies}")
    return dict(zip(ids, copies))


def _of_lineage(fs_id: str, resource: dict[str, Any], backed_up: str) -> bool:
    tags = _tags(resource)
    return DRILL_TAG not in tags and (backed_up == fs_id or tags.get(LINEAGE_TAG) == fs_id)


class FsxKit(Kit):
    actions = ("FSx",)
    services = ("fsx",)
    acts = {"failover": frozenset({"ACTIVATE", "CLEANUP", "REPLICATE"}),
            "failback": frozenset({"ACTIVATE", "CLEANUP", "REPLICATE"}),
            "drill": frozenset({"ACTIVATE", "CLEANUP"})}
    kind, rank = "fs", 12  # storage: with the databases, before the services that mount it
    config_tags = {"subnetIds": "dr:subnet-ids", "drSubnetIds": "dr:dr-subnet-ids",
                   "securityGroupIds": "dr:security-group-ids", "drSecurityGroupIds": "dr:dr-security-group-ids",
                   "storageType": "dr:storage-type", "rpoMinutes": "dr:rpo-minutes", "finalBackup": "dr:final-backup",
                   "sourceFileSystemAction": "dr:source-file-system-action"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        zones = 2 if n % 2 == 0 else 1  # Windows Multi-AZ, then OpenZFS single-AZ
        return {"fileSystemId": f"fs-{_hex(customer, 'fs', n)}",
                "subnetIds": [f"subnet-{_hex(customer, n, 'primary', z)}" for z in range(zones)],
                "drSubnetIds": [f"subnet-{_hex(customer, n, 'dr', z)}" for z in range(zones)],
                "drSecurityGroupIds": [f"sg-{_hex(customer, n, 'dr-sg')}"]}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        by_account: dict[str | None, list[Seed]] = {}
        for item in items:
            by_account.setdefault(item.resource.account_id, []).append(item)
        for account, seeds in by_account.items():
            seed_protected(estate.session(account), estate.primary, estate.dr,
                           [(s.resource.config["fileSystemId"], s.resource.config["subnetIds"], s.tags) for s in seeds])

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        """Per side, the lifecycles of the lineage's serving file systems (ids left out: a failover makes new ones)."""
        role = {}
        session, fs_id = estate.session(resource.account_id), resource.config["fileSystemId"]
        for region in (estate.primary, estate.dr):
            key = ("fsx", estate.account(resource.account_id), region)
            listed = estate.cache.setdefault(key, file_systems(session, region))
            role[estate.side(region)] = sorted(
                fs["Lifecycle"] for fs in listed if _of_lineage(fs_id, fs, fs["FileSystemId"])
                and RETIRED_TAG not in _tags(fs) and fs["Lifecycle"] != "DELETING")
        return role

    def serves_from(self, resource: Any, role: Any) -> str | None:
        serving = [side for side, lifecycles in role.items() if lifecycles]
        return serving[0] if len(serving) == 1 and role[serving[0]] == ["AVAILABLE"] else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        return "AVAILABLE" in self.serving_role(estate, resource)[side]

    def state(self, session: boto3.Session, region: str) -> Any:
        return {"file_systems": sorted((fs["FileSystemId"], fs["Lifecycle"], sorted(_tags(fs).items()))
                                       for fs in file_systems(session, region)),
                "backups": sorted((b["BackupId"], b["Lifecycle"], b.get("SourceBackupId"), sorted(_tags(b).items()))
                                  for b in backups(session, region))}

    def leftovers(self, estate: Estate) -> list[str]:
        found = []
        for account in estate.accounts():
            for region in (estate.primary, estate.dr):
                session = estate.sessions[account]
                found += [f"drill file system {fs['FileSystemId']} in {region} ({fs['Lifecycle']})"
                          for fs in file_systems(session, region) if DRILL_TAG in _tags(fs)]
                found += [f"backup {b['BackupId']} of drill file system {b['FileSystem']['FileSystemId']} in {region}"
                          for b in backups(session, region) if DRILL_TAG in _tags(b)]
        return found

    def break_resource(self, estate: Estate, resource: Any) -> str:
        # Its backup copies in the DR region deleted (a copy rule removed, retention too short): nothing to restore.
        session, fs_id = estate.session(resource.account_id), resource.config["fileSystemId"]
        fsx = session.client("fsx", region_name=estate.dr)
        for b in backups(session, estate.dr):
            if _of_lineage(fs_id, b, b["FileSystem"]["FileSystemId"]):
                fsx.delete_backup(BackupId=b["BackupId"])
        return "no AVAILABLE backup"
