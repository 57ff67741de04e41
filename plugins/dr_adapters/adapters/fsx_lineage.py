"""The FSx adapter's model (``adapters/fsx.py``): its config, and each protected file system's *lineage* read
from AWS.

A failover or a failback of a backup-based file system creates a new one, so the manifest's ``fileSystemId``
(the protected file system, in the primary region) names a lineage: that file system, every file system
restored from its backups (tagged ``dr:protected-file-system=<id>``), and every backup of one of them (backed
up from the id, or carrying the tag: our backups, and copies made with ``CopyTags``). FSx has no tag filter on
``DescribeBackups``, and a copy of a restored file system's backup names a file system of another region, so the
lineage is told here, in Python, from one listing per region.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import Field, field_validator

from dr_adapters.adapters.base import ActionConfig, AdapterError, RunContext
from dr_adapters.plan.model import ResourceSpec, WorkUnit

LINEAGE_TAG = "dr:protected-file-system"  # on every file system and backup of the lineage we make
RESTORED_FROM_TAG = "dr:restored-from"
RETIRED_TAG = "dr:retired"  # CLEANUP's mark on a file system left: no longer serving, never restored from again
DRILL_TAG = "dr:drill-of"  # a drill's throw-away file system: the protected file system's id
RUN_TAG = "dr:run-id"
RESTORE_TEST_TAG = "dr:restore-test"  # on a backup a drill restored: how long the restore took, when, which run
BOOKKEEPING = (RESTORED_FROM_TAG, RETIRED_TAG, DRILL_TAG, RUN_TAG, RESTORE_TEST_TAG)
SETTINGS_KEY = {"WINDOWS": "WindowsConfiguration", "LUSTRE": "LustreConfiguration", "OPENZFS": "OpenZFSConfiguration"}
BUSY = ("CREATING", "UPDATING")
BROKEN = ("FAILED", "MISCONFIGURED", "MISCONFIGURED_UNAVAILABLE")
TAG_TEXT = re.compile(r"[^\w .:/=+\-@]")  # what FSx refuses in a tag value
RESTORE_TEST = re.compile(r"^(?P<seconds>\d+(?:\.\d+)?)s to AVAILABLE at (?P<at>\S+) run (?P<run>.+)$")

NETWORK_IDS = {"subnet": re.compile(r"^subnet-[0-9a-f]{8,17}$"), "sg": re.compile(r"^sg-[0-9a-f]{8,17}$")}


class FsxConfig(ActionConfig):
    """One FSx file system (Windows File Server, Lustre or OpenZFS) protected by backups copied to the DR region."""

    file_system_id: str = Field(alias="fileSystemId", pattern=r"^fs-[0-9a-f]{8,17}$", description=(
        "ID of the protected file system in the primary region (fs-...). File systems restored from its backups "
        "carry it in their dr:protected-file-system tag."))
    subnet_ids: list[str] = Field(alias="subnetIds", min_length=1, max_length=2, description=(
        "Subnets a restore in the primary region (a failback) goes into: one, two for a Multi-AZ deployment "
        "(the first is the preferred file server's). Discovery reads the protected file system's."))
    dr_subnet_ids: list[str] = Field(alias="drSubnetIds", min_length=1, max_length=2, description=(
        "Subnets a restore in the DR region (a failover or a drill) goes into: one, two for Multi-AZ."))
    security_group_ids: list[str] = Field([], alias="securityGroupIds", max_length=50, description=(
        "Security groups of a file system restored in the primary region (default: the VPC's default group)."))
    dr_security_group_ids: list[str] = Field([], alias="drSecurityGroupIds", max_length=50, description=(
        "Security groups of a file system restored in the DR region (default: the VPC's default group)."))
    storage_type: Literal["SSD", "HDD"] | None = Field(None, alias="storageType", description=(
        "Storage type of a restored file system (default: the backed-up file system's). Not Intelligent-Tiering: "
        "FSx copies no backup of it to another region, so nothing could protect the way back."))
    rpo_minutes: int | None = Field(None, alias="rpoMinutes", ge=1, description=(
        "Oldest backup (minutes) INSTANTIATE and ACTIVATE accept to restore (default: the plan's RPO)."))
    final_backup: bool = Field(True, alias="finalBackup", description=(
        "Planned failover/failback: ACTIVATE backs up the serving file system and copies it across before "
        "restoring, so nothing written before then is lost; false: restore the newest copy already there."))
    source_file_system_action: Literal["keep", "delete"] = Field("keep", alias="sourceFileSystemAction", description=(
        "CLEANUP, on the file system left: keep (tagged dr:retired, left running) or delete (DeleteFileSystem with "
        "the final backup its type takes)."))

    @field_validator("subnet_ids", "dr_subnet_ids", "security_group_ids", "dr_security_group_ids")
    @classmethod
    def _ids(cls, value: list[str], info: Any) -> list[str]:
        kind = "sg" if "security" in info.field_name else "subnet"
        bad = [v for v in value if not NETWORK_IDS[kind].match(v)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: not {kind}-<8 to 17 hex digits>")
        return value


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def tag_value(text: str) -> str:
    """``text`` as FSx takes a tag value (letters, digits, spaces and ``_.:/=+-@``; 256 characters)."""
    return TAG_TEXT.sub("_", text)[:256]


def carried(tags: dict[str, str]) -> dict[str, str]:
    """The tags a backup or a restore carries on: the owner's, not AWS's nor our bookkeeping."""
    return {k: v for k, v in tags.items() if not k.startswith("aws:") and k not in BOOKKEEPING}


def token(*parts: str) -> str:
    """A ClientRequestToken (<= 63 of [A-Za-z0-9_.-]) naming one intended change: a retry reuses it."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:40]


def age_of(created: datetime) -> float:
    return (datetime.now(timezone.utc) - created).total_seconds()


def ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{seconds:.0f} s" if minutes < 1 else (f"{minutes} min" if minutes < 120 else
                                                    f"{minutes // 60} h {minutes % 60} min")


def newest(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(items, key=lambda i: i["CreationTime"], default=None)


def listed(fsx: Any, operation: str, key: str) -> list[dict[str, Any]]:
    return [item for page in fsx.get_paginator(operation).paginate() for item in page[key]]


def failure_of(fs: dict[str, Any]) -> str:
    return (fs.get("FailureDetails") or {}).get("Message", "no details")


@dataclass(frozen=True)
class Side:
    """Where a restore in one region goes."""

    region: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    subnets_key: str  # the config key that lists ``subnets``


@dataclass
class Lineage:
    """One resource as this run finds it: its lineage in the target region (and the source, when read)."""

    resource: ResourceSpec
    cfg: FsxConfig
    source: Side
    target: Side
    serving: dict[str, Any] | None = None  # the lineage's serving file system in the target region
    copies: list[dict[str, Any]] = field(default_factory=list)  # AVAILABLE lineage backups there, newest first
    drills: list[dict[str, Any]] = field(default_factory=list)  # drill file systems of it there
    left: list[dict[str, Any]] = field(default_factory=list)  # lineage file systems in the source (when read)
    tags: dict[str, str] | None = None  # the lineage's tags, for the scope guard (None: nothing found)

    @property
    def rid(self) -> str:
        return self.resource.resource_id

    @property
    def fs_id(self) -> str:
        return self.cfg.file_system_id

    @property
    def left_serving(self) -> dict[str, Any] | None:
        return newest([fs for fs in self.left if is_serving(fs)])

    def restore_test(self, backup_id: str) -> dict[str, str] | None:
        """What a drill recorded on ``backup_id`` (seconds, at, run), if anything."""
        backup = next((b for b in self.copies if b["BackupId"] == backup_id), None)
        found = RESTORE_TEST.match(tags_of(backup).get(RESTORE_TEST_TAG, "")) if backup else None
        return found.groupdict() if found else None


def is_serving(fs: dict[str, Any]) -> bool:
    tags = tags_of(fs)
    return RETIRED_TAG not in tags and DRILL_TAG not in tags and fs["Lifecycle"] != "DELETING"


def of_lineage(fs_id: str, resource: dict[str, Any], backed_up: str) -> bool:
    """Whether a file system or backup (``backed_up``: the file system it is of) belongs to ``fs_id``'s lineage."""
    found = tags_of(resource)
    return DRILL_TAG not in found and (backed_up == fs_id or found.get(LINEAGE_TAG) == fs_id)


def restorable(lineage: Lineage, backup: dict[str, Any]) -> str | None:
    """Why ``backup`` cannot be restored into the lineage's target side as configured (None: it can)."""
    fs = backup["FileSystem"]
    if fs["FileSystemType"] not in SETTINGS_KEY:
        return (f"backup {backup['BackupId']} is of an {fs['FileSystemType']} file system: FSx restores only "
                "Windows, Lustre and OpenZFS file systems from backups (ONTAP: use SnapMirror)")
    deployment = (fs.get(SETTINGS_KEY[fs["FileSystemType"]]) or {}).get("DeploymentType", "")
    wanted = 2 if deployment.startswith("MULTI_AZ") else 1
    if len(lineage.target.subnets) != wanted:
        return (f"{lineage.target.subnets_key} lists {len(lineage.target.subnets)} subnet(s); a {deployment} file "
                f"system takes {wanted}")
    return None


def read_lineages(ctx: RunContext, unit: WorkUnit, *, source: bool = False) -> list[Lineage]:
    """Each resource's lineage in the target region; ``source``: in the region left too (never when unplanned)."""
    def fsx(region: str) -> Any:
        return ctx.client("fsx", region, unit.account_id)

    in_target = listed(fsx(ctx.target_region), "describe_file_systems", "FileSystems")
    backups = listed(fsx(ctx.target_region), "describe_backups", "Backups")
    in_source = (listed(fsx(ctx.source_region), "describe_file_systems", "FileSystems")
                 if source and not ctx.unplanned else [])
    lineages = []
    for resource in unit.resources:
        cfg = FsxConfig.model_validate(resource.config)
        fs_id = cfg.file_system_id
        primary = Side(ctx.regions.primary, tuple(cfg.subnet_ids), tuple(cfg.security_group_ids), "subnetIds")
        dr = Side(ctx.regions.dr, tuple(cfg.dr_subnet_ids), tuple(cfg.dr_security_group_ids), "drSubnetIds")
        t = Lineage(resource, cfg, *ctx.source_and_target(primary, dr))
        mine = [fs for fs in in_target if of_lineage(fs_id, fs, fs["FileSystemId"])]
        t.serving = newest([fs for fs in mine if is_serving(fs)])
        t.drills = [fs for fs in in_target if tags_of(fs).get(DRILL_TAG) == fs_id]
        t.copies = sorted((b for b in backups if b["Lifecycle"] == "AVAILABLE" and of_lineage(
            fs_id, b, b["FileSystem"]["FileSystemId"])), key=lambda b: b["CreationTime"], reverse=True)
        t.left = [fs for fs in in_source if of_lineage(fs_id, fs, fs["FileSystemId"])]
        found = [t.left_serving, t.serving, *t.copies, *mine, *t.drills]
        t.tags = next((tags_of(x) for x in found if x is not None), None)
        lineages.append(t)
    return lineages


def resolve_lineages(ctx: RunContext, unit: WorkUnit, *, source: bool = False) -> list[Lineage]:
    """Like ``read_lineages``, refusing the unit if a resource is out of scope or nowhere to be found."""
    lineages = read_lineages(ctx, unit, source=source)
    for t in lineages:
        if t.tags is None:
            raise AdapterError(t.rid, f"no file system {t.fs_id} nor any backup of it in {t.target.region}",
                               f"check fileSystemId and accountId, and that its backups are copied to "
                               f"{t.target.region} (CopyBackup, or an AWS Backup copy rule)")
        if why := ctx.scope.mismatch(t.tags):
            raise AdapterError(t.rid, f"refusing to act on FSx file system {t.fs_id} outside this DAG's scope: "
                                      f"{why}; tags {t.tags}",
                               "fix the manifest resource or the file system's Customer/Environment tags")
    return lineages
