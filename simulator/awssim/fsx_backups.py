"""Amazon FSx backups copied across regions, and file systems restored from them, on top of moto's FSx.

moto 5.2's FSx keeps a file system and a backup as a handful of fields: no ``Lifecycle`` on a file system,
backups ``CREATING`` forever, no ``CopyBackup``, no ``CreateFileSystemFromBackup``, a ``DeleteFileSystem``
that answers in keys botocore does not know, and nothing refused. We replace its backend (per account and
region, as moto keeps it) and its response methods, answering in botocore's shapes (service-2.json:
``FileSystem``, ``Backup``, the ``Delete*Response`` structures), so that an adapter written against the
simulator works against AWS:

* Lifecycles that take ``AWSSIM_DELAY_SECONDS`` (read at call time): a created or restored file system is
  ``CREATING`` then ``AVAILABLE``; a deleted one ``DELETING`` then gone (``FileSystemNotFound``); a backup
  ``CREATING`` and a copy ``COPYING`` then ``AVAILABLE``. Transitions complete lazily: every FSx request
  first settles the account's due ones, in every region (a copy's source lives in another region).
* ``CopyBackup`` is called in the *destination* region with ``SourceRegion`` (AWS's shape); the copy keeps
  ``SourceBackupId`` / ``SourceBackupRegion`` and the source's ``FileSystem`` description, and its tags
  with ``CopyTags`` (``Tags`` merged over them, as AWS documents). ``CreateFileSystemFromBackup`` takes the
  backup's type, capacity, storage type and type settings unless the request overrides them.
* Idempotency tokens as AWS documents them: a ``ClientRequestToken`` seen before with the same parameters
  answers with the resource it created (a retry whose first reply was lost creates nothing more); with other
  parameters it is ``IncompatibleParameterError``.
* What AWS refuses: copying a backup that is not ``AVAILABLE`` (``SourceBackupUnavailable``) or that does not
  exist in ``SourceRegion`` (``BackupNotFound``), an unknown region or a cross-region copy to or from an
  opt-in region (``InvalidRegion``), a backup of an Intelligent-Tiering file system (``UnsupportedOperation``),
  a sixth copy in progress into one region (``ServiceLimitExceeded``); restoring a backup of another region (it is not found
  here: ``BackupNotFound``), one not ``AVAILABLE``, an ONTAP backup (volumes are restored, not file systems),
  type settings of another file system type, OpenZFS without ``OpenZFSConfiguration``
  (``MissingFileSystemConfiguration``), one subnet for a Multi-AZ deployment or two for a single-AZ one
  (``InvalidNetworkSettings``), less storage than the backup's; backing up a scratch Lustre or an ONTAP file
  system, one not ``AVAILABLE``, or one whose backup is in progress (``BackupInProgress``); deleting a file
  system twice (``BadRequest``, unless the retry carries the first call's token), or while it is created;
  deleting a backup in progress, being copied (``BackupBeingCopied``) or restored (``BackupRestoring``);
  tags with characters or lengths AWS refuses; ARNs of other services (``NotServiceResourceError``) or of
  nothing here (``ResourceNotFound``). ``DeleteFileSystem`` takes a final backup as each type does by default
  (Windows and OpenZFS yes, Lustre no, scratch Lustre never).
* Tag discovery: file systems (``fsx:file-system``) and backups (``fsx:backup``) are listed by the Tagging
  API and Resource Explorer. ``CreateFileSystem`` honours moto's ``_custom_id_`` tag (then dropped) so that a
  seeded file system has the id a manifest names.

Not modelled: data, networking (subnets and security groups are not looked up), Active Directory, KMS
keys, volumes and ONTAP SVMs, automatic daily backups, ``UpdateFileSystem``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import threading
import time
import uuid
from functools import lru_cache
from typing import Any

import botocore.session
from moto.core.exceptions import JsonRESTError
from moto.core.resource_tagging import TaggedResource
from moto.core.responses import BaseResponse
from moto.fsx import models as fsx_models
from moto.fsx import urls as fsx_urls
from moto.fsx.models import FSxBackend
from moto.fsx.responses import FSxResponse

TYPES = ("WINDOWS", "LUSTRE", "ONTAP", "OPENZFS")
CONFIG_KEY = {"WINDOWS": "WindowsConfiguration", "LUSTRE": "LustreConfiguration",
              "ONTAP": "OntapConfiguration", "OPENZFS": "OpenZFSConfiguration"}
RESPONSE_SHAPE = {"WINDOWS": "WindowsFileSystemConfiguration", "LUSTRE": "LustreFileSystemConfiguration",
                  "ONTAP": "OntapFileSystemConfiguration", "OPENZFS": "OpenZFSFileSystemConfiguration"}
DELETE_RESPONSE_KEY = {"WINDOWS": "WindowsResponse", "LUSTRE": "LustreResponse", "OPENZFS": "OpenZFSResponse"}
DEFAULT_DEPLOYMENT = {"WINDOWS": "SINGLE_AZ_1", "LUSTRE": "SCRATCH_1", "ONTAP": "MULTI_AZ_1", "OPENZFS": "SINGLE_AZ_1"}
MULTI_AZ = ("MULTI_AZ_1", "MULTI_AZ_2")
BACKUP_BUSY = ("PENDING", "CREATING", "TRANSFERRING", "COPYING")
COPIES_IN_PROGRESS_LIMIT = 5  # per account and destination region
CUSTOM_ID_TAG = "_custom_id_"
OPT_IN_REGIONS = frozenset({  # no cross-Region backup copy to or from them (FSx user guides)
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1",
    "mx-central-1"})
TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$")  # \p{L}\p{Z}\p{N}_.:/=+-@ (botocore's TagKey / TagValue)
MAX_TAGS = 50

_lock = threading.RLock()  # moto's server answers requests on threads; a settle must not race a change


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:17]}"


@lru_cache(maxsize=None)
def _members(shape: str) -> frozenset[str]:
    """The members botocore's FSx model gives a structure: replies carry no key AWS would not send."""
    model = botocore.session.get_session().get_service_model("fsx")
    return frozenset(model.shape_for(shape).members)


class FsxError(JsonRESTError):
    """An FSx error as AWS sends it: ``__type`` the code, ``Message``, and the shape's other members."""

    def __init__(self, code: str, message: str, **members: Any):
        super().__init__(code, message)
        self.description = json.dumps({"__type": code, "Message": message, **members})


def _bad(message: str) -> FsxError:
    return FsxError("BadRequest", message)


def _incompatible(parameter: str, message: str) -> FsxError:
    return FsxError("IncompatibleParameterError", message, Parameter=parameter)


def _tag_list(tags: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """Tags checked as AWS checks them (keys 1-128, values 0-256 characters of letters, digits, spaces and
    ``_.:/=+-@``; at most 50); refused with BadRequest."""
    tags = list(tags or [])
    for tag in tags:
        key, value = tag.get("Key", ""), tag.get("Value", "")
        if not 1 <= len(key) <= 128 or len(value) > 256 or not TAG_TEXT.match(key) or not TAG_TEXT.match(value):
            raise _bad(f"Invalid tag {key!r}={value!r}: keys of 1-128 and values of 0-256 characters, letters, "
                       "digits, spaces and _.:/=+-@ only.")
    if len({t["Key"] for t in tags}) > MAX_TAGS:
        raise _bad(f"A resource takes at most {MAX_TAGS} tags.")
    return tags


def _merge_tags(*lists: list[dict[str, str]]) -> list[dict[str, str]]:
    merged: dict[str, str] = {}
    for tags in lists:
        merged.update({t["Key"]: t["Value"] for t in tags})
    return [{"Key": k, "Value": v} for k, v in merged.items()]


class SimFileSystem:
    def __init__(self, backend: FsxSimBackend, fs_id: str, fs_type: str, capacity: int, storage_type: str,
                 subnets: list[str], security_groups: list[str], settings: dict[str, Any], kms_key_id: str | None,
                 version: str | None):
        self.id, self.type, self.capacity, self.storage_type = fs_id, fs_type, capacity, storage_type
        self.subnets, self.security_groups = subnets, security_groups
        self.kms_key_id, self.version = kms_key_id, version
        self.account, self.region = backend.account_id, backend.region_name
        self.arn = f"arn:aws:fsx:{self.region}:{self.account}:file-system/{fs_id}"
        self.settings = _response_settings(fs_type, settings, subnets, fs_id)
        self.vpc_id = "vpc-" + hashlib.sha256(subnets[0].encode()).hexdigest()[:17]
        self.network_interfaces = [_new_id("eni") for _ in subnets]
        self.creation_time = time.time()
        self.lifecycle, self.due = "CREATING", time.time() + _delay()
        self.failure: str | None = None
        self.deleting_token: str | None = None
        self.delete_reply: dict[str, Any] | None = None
        self.restoring_from: str | None = None  # the backup a CREATING restore reads

    @property
    def deployment(self) -> str:
        return self.settings.get("DeploymentType", DEFAULT_DEPLOYMENT[self.type])

    def describe(self, tags: list[dict[str, str]] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "OwnerId": self.account, "CreationTime": self.creation_time, "FileSystemId": self.id,
            "FileSystemType": self.type, "Lifecycle": self.lifecycle, "StorageCapacity": self.capacity,
            "StorageType": self.storage_type, "VpcId": self.vpc_id, "SubnetIds": list(self.subnets),
            "NetworkInterfaceIds": list(self.network_interfaces),
            "DNSName": f"{self.id}.fsx.{self.region}.amazonaws.com", "ResourceARN": self.arn,
            CONFIG_KEY[self.type]: copy.deepcopy(self.settings),
        }
        if self.kms_key_id:
            out["KmsKeyId"] = self.kms_key_id
        if self.version:
            out["FileSystemTypeVersion"] = self.version
        if self.failure:
            out["FailureDetails"] = {"Message": self.failure}
        if tags is not None:
            out["Tags"] = tags
        return out


def _response_settings(fs_type: str, asked: dict[str, Any], subnets: list[str], fs_id: str) -> dict[str, Any]:
    """A type's settings as DescribeFileSystems shows them, from what a create asked for."""
    settings = {"DeploymentType": DEFAULT_DEPLOYMENT[fs_type], "AutomaticBackupRetentionDays": 0 if fs_type ==
                "LUSTRE" else 7, "CopyTagsToBackups": False, **copy.deepcopy(asked)}
    if settings["DeploymentType"] in MULTI_AZ and fs_type in ("WINDOWS", "OPENZFS"):
        settings.setdefault("PreferredSubnetId", subnets[0])
    if fs_type == "LUSTRE":
        settings.setdefault("MountName", hashlib.sha256(fs_id.encode()).hexdigest()[:8])
    if fs_type == "OPENZFS":
        settings.setdefault("RootVolumeId", "fsvol-" + hashlib.sha256(fs_id.encode()).hexdigest()[:17])
    return {k: v for k, v in settings.items() if k in _members(RESPONSE_SHAPE[fs_type])}


class SimBackup:
    def __init__(self, backend: FsxSimBackend, file_system: dict[str, Any], lifecycle: str,
                 kind: str = "USER_INITIATED", source: SimBackup | None = None):
        self.id = _new_id("backup")
        self.account, self.region = backend.account_id, backend.region_name
        self.arn = f"arn:aws:fsx:{self.region}:{self.account}:backup/{self.id}"
        self.file_system = file_system  # the description of the file system backed up, as it was
        self.kind = kind
        self.creation_time = time.time()
        self.lifecycle, self.due = lifecycle, time.time() + _delay()
        self.source_id = source.id if source else None
        self.source_region = source.region if source else None
        self.copying_from: SimBackup | None = source  # while COPYING

    @property
    def file_system_id(self) -> str:
        return self.file_system["FileSystemId"]

    def describe(self, tags: list[dict[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "BackupId": self.id, "Lifecycle": self.lifecycle, "Type": self.kind, "CreationTime": self.creation_time,
            "ResourceARN": self.arn, "Tags": tags, "FileSystem": copy.deepcopy(self.file_system),
            "OwnerId": self.account, "ResourceType": "FILE_SYSTEM",
        }
        if self.lifecycle in BACKUP_BUSY:
            out["ProgressPercent"] = 0
        if self.source_id:
            out["SourceBackupId"], out["SourceBackupRegion"] = self.source_id, self.source_region
        return out


class FsxSimBackend(FSxBackend):
    """moto's FSx backend with file systems and backups that live, copy, restore and refuse as on AWS."""

    @property
    def _url_module(self) -> Any:  # moto finds a backend's URLs beside its module: ours are moto's
        return fsx_urls

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.file_systems: dict[str, SimFileSystem] = {}  # type: ignore[assignment]
        self.backups: dict[str, SimBackup] = {}  # type: ignore[assignment]
        self.tokens: dict[tuple[str, str], tuple[str, Any]] = {}  # (operation, token) -> (resource id, params)

    # -- the account ---------------------------------------------------------------------------------
    def _region(self, region: str) -> FsxSimBackend:
        return fsx_models.fsx_backends[self.account_id][region]  # type: ignore[return-value]

    def _account_backends(self) -> list[FsxSimBackend]:
        return list(fsx_models.fsx_backends[self.account_id].values())  # type: ignore[arg-type]

    def settle(self) -> None:
        """Complete every transition of the account whose time has come."""
        now = time.time()
        for backend in self._account_backends():
            for fs in list(backend.file_systems.values()):
                if fs.due is None or fs.due > now:
                    continue
                if fs.lifecycle == "DELETING":
                    backend.file_systems.pop(fs.id)
                    backend.tagger.delete_all_tags_for_resource(fs.arn)
                else:
                    fs.lifecycle, fs.due, fs.restoring_from = "AVAILABLE", None, None
            for backup in backend.backups.values():
                if backup.due is not None and backup.due <= now and backup.lifecycle in BACKUP_BUSY:
                    backup.lifecycle, backup.due, backup.copying_from = "AVAILABLE", None, None

    def _tags(self, arn: str) -> list[dict[str, str]]:
        return self.tagger.list_tags_for_resource(arn)["Tags"] if self.tagger.has_tags(arn) else []

    def _same_request(self, operation: str, token: str | None, params: Any, live: dict[str, Any]) -> Any:
        """The resource an earlier call with this token made (None: a new request). AWS answers a retry
        with the first call's resource, and refuses the token with other parameters."""
        if not token:
            return None
        seen = self.tokens.get((operation, token))
        if seen is None or seen[0] not in live:
            return None
        if seen[1] != params:
            raise _incompatible("ClientRequestToken", f"ClientRequestToken {token} was used with other parameters.")
        return live[seen[0]]

    def _remember(self, operation: str, token: str | None, resource_id: str, params: Any) -> None:
        if token:
            self.tokens[(operation, token)] = (resource_id, params)

    def file_system(self, fs_id: str) -> SimFileSystem:
        fs = self.file_systems.get(fs_id)
        if fs is None:
            raise FsxError("FileSystemNotFound", f"File system '{fs_id}' does not exist.")
        return fs

    def backup(self, backup_id: str) -> SimBackup:
        found = self.backups.get(backup_id)
        if found is None:
            raise FsxError("BackupNotFound", f"Backup '{backup_id}' does not exist.")
        return found

    # -- file systems --------------------------------------------------------------------------------
    def _check_network(self, deployment: str, subnets: list[str], preferred: str | None) -> None:
        wanted = 2 if deployment in MULTI_AZ else 1
        if len(subnets) != wanted:
            raise FsxError("InvalidNetworkSettings", f"A {deployment} file system takes {wanted} subnet(s), "
                           f"got {len(subnets)}.", InvalidSubnetId=(subnets or [""])[-1])
        if preferred and preferred not in subnets:
            raise FsxError("InvalidNetworkSettings", f"PreferredSubnetId {preferred} is not one of SubnetIds.",
                           InvalidSubnetId=preferred)

    @staticmethod
    def _settings_of(fs_type: str, params: dict[str, Any]) -> dict[str, Any]:
        """The request's settings for ``fs_type``; settings of another type are refused."""
        for other, key in CONFIG_KEY.items():
            if other != fs_type and params.get(key) is not None:
                raise _incompatible(key, f"{key} does not apply to a {fs_type} file system.")
        return params.get(CONFIG_KEY[fs_type]) or {}

    def create_file_system(self, params: dict[str, Any]) -> SimFileSystem:  # type: ignore[override]
        token = params.get("ClientRequestToken")
        asked = {k: v for k, v in params.items() if k != "ClientRequestToken"}
        found = self._same_request("CreateFileSystem", token, asked, self.file_systems)
        if found:
            return found
        fs_type = params.get("FileSystemType")
        if fs_type not in TYPES:
            raise _bad(f"FileSystemType must be one of {', '.join(TYPES)}.")
        if not params.get("StorageCapacity") or params["StorageCapacity"] < 1:
            raise _bad("StorageCapacity must be a positive number of GiB.")
        settings = self._settings_of(fs_type, params)
        if fs_type in ("WINDOWS", "OPENZFS", "ONTAP") and not settings:
            raise FsxError("MissingFileSystemConfiguration", f"A {fs_type} file system needs {CONFIG_KEY[fs_type]}.")
        subnets = list(params.get("SubnetIds") or [])
        self._check_network(settings.get("DeploymentType", DEFAULT_DEPLOYMENT[fs_type]), subnets,
                            settings.get("PreferredSubnetId"))
        tags = _tag_list(params.get("Tags"))
        custom = next((t["Value"] for t in tags if t["Key"] == CUSTOM_ID_TAG), None)
        if custom and (not re.fullmatch(r"fs-[0-9a-f]{8,17}", custom) or custom in self.file_systems):
            raise _bad(f"Custom file system id {custom!r} is malformed or taken.")
        fs = SimFileSystem(self, custom or _new_id("fs"), fs_type, params["StorageCapacity"],
                           params.get("StorageType") or "SSD", subnets, list(params.get("SecurityGroupIds") or []),
                           settings, params.get("KmsKeyId"), params.get("FileSystemTypeVersion"))
        self.file_systems[fs.id] = fs
        self.tagger.tag_resource(fs.arn, [t for t in tags if t["Key"] != CUSTOM_ID_TAG])
        self._remember("CreateFileSystem", token, fs.id, asked)
        return fs

    def create_file_system_from_backup(self, params: dict[str, Any]) -> SimFileSystem:
        token = params.get("ClientRequestToken")
        asked = {k: v for k, v in params.items() if k != "ClientRequestToken"}
        found = self._same_request("CreateFileSystemFromBackup", token, asked, self.file_systems)
        if found:
            return found
        backup = self.backup(params.get("BackupId", ""))  # a backup of another region is not found here
        if backup.lifecycle != "AVAILABLE":
            raise _bad(f"Backup {backup.id} is {backup.lifecycle}: only an AVAILABLE backup can be restored.")
        source = backup.file_system
        fs_type = source["FileSystemType"]
        if fs_type == "ONTAP":
            raise FsxError("UnsupportedOperation", f"Backup {backup.id} is of an ONTAP file system: restore its "
                           "volumes with CreateVolumeFromBackup.")
        asked_settings = self._settings_of(fs_type, params)
        if fs_type == "OPENZFS" and not asked_settings:
            raise FsxError("MissingFileSystemConfiguration", "Restoring an OpenZFS backup needs OpenZFSConfiguration.")
        settings = {**(source.get(CONFIG_KEY[fs_type]) or {}), **asked_settings}
        for generated in ("MountName", "RootVolumeId", "PreferredSubnetId"):
            if generated not in asked_settings:
                settings.pop(generated, None)  # the new file system's own
        subnets = list(params.get("SubnetIds") or [])
        self._check_network(settings.get("DeploymentType", DEFAULT_DEPLOYMENT[fs_type]), subnets,
                            asked_settings.get("PreferredSubnetId"))
        capacity = params.get("StorageCapacity") or source["StorageCapacity"]
        if capacity < source["StorageCapacity"]:
            raise _bad(f"StorageCapacity {capacity} is less than the backup's {source['StorageCapacity']} GiB.")
        storage_type = params.get("StorageType") or source.get("StorageType", "SSD")
        if (storage_type == "HDD" and fs_type == "OPENZFS") or (storage_type == "INTELLIGENT_TIERING"
                                                                  and fs_type == "WINDOWS"):
            raise _bad(f"StorageType {storage_type} is not available for {fs_type} file systems.")
        tags = _tag_list(params.get("Tags"))
        fs = SimFileSystem(self, _new_id("fs"), fs_type, capacity, storage_type, subnets,
                           list(params.get("SecurityGroupIds") or []), settings,
                           params.get("KmsKeyId") or source.get("KmsKeyId"),
                           params.get("FileSystemTypeVersion") or source.get("FileSystemTypeVersion"))
        fs.restoring_from = backup.id
        self.file_systems[fs.id] = fs
        self.tagger.tag_resource(fs.arn, tags)
        self._remember("CreateFileSystemFromBackup", token, fs.id, asked)
        return fs

    def delete_file_system(self, params: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        fs = self.file_system(params.get("FileSystemId", ""))
        token = params.get("ClientRequestToken")
        if fs.lifecycle == "DELETING":
            if token and token == fs.deleting_token and fs.delete_reply is not None:
                return fs.delete_reply  # the retry of the call that started the deletion
            raise _bad(f"File system {fs.id} is already being deleted.")
        if fs.lifecycle in ("CREATING", "UPDATING"):
            raise _bad(f"File system {fs.id} is {fs.lifecycle}; delete it once it is AVAILABLE.")
        options = self._settings_of(fs.type, params)
        reply: dict[str, Any] = {"FileSystemId": fs.id, "Lifecycle": "DELETING"}
        if fs.type in DELETE_RESPONSE_KEY:
            scratch = fs.type == "LUSTRE" and fs.deployment.startswith("SCRATCH")
            skip = options.get("SkipFinalBackup", fs.type == "LUSTRE")
            if scratch and not skip:
                raise _bad(f"Scratch file system {fs.id} cannot be backed up: set SkipFinalBackup.")
            if not skip:
                final_tags = _tag_list(options.get("FinalBackupTags"))
                final = SimBackup(self, self._backed_up(fs), "CREATING")
                self.backups[final.id] = final
                self.tagger.tag_resource(final.arn, final_tags)
                reply[DELETE_RESPONSE_KEY[fs.type]] = {"FinalBackupId": final.id, "FinalBackupTags": final_tags}
        fs.lifecycle, fs.due, fs.deleting_token, fs.delete_reply = "DELETING", time.time() + _delay(), token, reply
        return reply

    def describe_file_systems(self, file_system_ids: list[str] | None) -> list[SimFileSystem]:  # type: ignore[override]
        if file_system_ids:
            return [self.file_system(i) for i in file_system_ids]
        return sorted(self.file_systems.values(), key=lambda fs: fs.creation_time)

    # -- backups -------------------------------------------------------------------------------------
    def _backed_up(self, fs: SimFileSystem) -> dict[str, Any]:
        """What a backup records of its file system: its description, without tags, as it was."""
        desc = fs.describe(None)
        desc["Lifecycle"] = "AVAILABLE"
        return {k: v for k, v in desc.items() if k in _members("FileSystem")}

    def create_backup(self, params: dict[str, Any]) -> SimBackup:  # type: ignore[override]
        token = params.get("ClientRequestToken")
        asked = {k: params.get(k) for k in ("FileSystemId", "VolumeId")}
        found = self._same_request("CreateBackup", token, asked, self.backups)
        if found:
            return found
        if params.get("VolumeId"):
            raise FsxError("VolumeNotFound", f"Volume '{params['VolumeId']}' does not exist.")
        fs = self.file_system(params.get("FileSystemId", ""))
        if fs.type == "ONTAP":
            raise _bad(f"File system {fs.id} is ONTAP: back up its volumes (VolumeId).")
        if fs.type == "LUSTRE" and fs.deployment.startswith("SCRATCH"):
            raise _bad(f"File system {fs.id} is a scratch file system: it cannot be backed up.")
        if fs.lifecycle not in ("AVAILABLE", "UPDATING"):
            raise _bad(f"File system {fs.id} is {fs.lifecycle}: only an AVAILABLE file system can be backed up.")
        busy = [b for b in self.backups.values() if b.file_system_id == fs.id and b.lifecycle in BACKUP_BUSY
                and b.source_id is None]
        if busy:
            raise FsxError("BackupInProgress", f"Backup {busy[0].id} of {fs.id} is in progress.")
        tags = _tag_list(params.get("Tags"))
        backup = SimBackup(self, self._backed_up(fs), "CREATING")
        self.backups[backup.id] = backup
        if not tags and fs.settings.get("CopyTagsToBackups"):
            tags = self._tags(fs.arn)  # AWS copies the file system's tags only when the request gives none
        self.tagger.tag_resource(backup.arn, tags)
        self._remember("CreateBackup", token, backup.id, asked)
        return backup

    def copy_backup(self, params: dict[str, Any]) -> SimBackup:
        """CopyBackup, called in the destination region (this backend) as AWS has it."""
        token = params.get("ClientRequestToken")
        source_region = params.get("SourceRegion") or self.region_name
        asked = {"SourceBackupId": params.get("SourceBackupId"), "SourceRegion": source_region}
        found = self._same_request("CopyBackup", token, asked, self.backups)
        if found:
            return found
        if source_region not in fsx_models.fsx_backends[self.account_id].regions:
            raise FsxError("InvalidRegion", f"{source_region} is not a Region of this partition where FSx runs.")
        if source_region != self.region_name and {source_region, self.region_name} & OPT_IN_REGIONS:
            raise FsxError("InvalidRegion", "Cross-Region backup copies are not supported in opt-in Regions.")
        source = self._region(source_region).backup(params.get("SourceBackupId", ""))
        if source.lifecycle != "AVAILABLE":
            raise FsxError("SourceBackupUnavailable", f"Source backup {source.id} is {source.lifecycle}, not "
                           "AVAILABLE.", BackupId=source.id)
        if source.file_system.get("StorageType") == "INTELLIGENT_TIERING":
            raise FsxError("UnsupportedOperation", "Backups of Intelligent-Tiering file systems cannot be copied.")
        copying = [b for b in self.backups.values() if b.lifecycle == "COPYING"]
        if len(copying) >= COPIES_IN_PROGRESS_LIMIT:
            raise FsxError("ServiceLimitExceeded", f"{len(copying)} backup copies are already in progress into "
                           f"{self.region_name}.", Limit="TOTAL_IN_PROGRESS_COPY_BACKUPS")
        inherited = self._region(source_region)._tags(source.arn) if params.get("CopyTags") else []
        tags = _tag_list(_merge_tags(inherited, _tag_list(params.get("Tags"))))
        backup = SimBackup(self, copy.deepcopy(source.file_system), "COPYING", source.kind, source=source)
        self.backups[backup.id] = backup
        self.tagger.tag_resource(backup.arn, tags)
        self._remember("CopyBackup", token, backup.id, asked)
        return backup

    def describe_backups(self, backup_ids: list[str] | None,  # type: ignore[override]
                         filters: list[dict[str, Any]] | None = None) -> list[SimBackup]:
        found = [self.backup(i) for i in backup_ids] if backup_ids else list(self.backups.values())
        attribute = {"file-system-id": lambda b: b.file_system_id, "backup-type": lambda b: b.kind,
                     "file-system-type": lambda b: b.file_system.get("FileSystemType"),
                     "volume-id": lambda b: None, "data-repository-type": lambda b: None,
                     "file-cache-id": lambda b: None, "file-cache-type": lambda b: None}
        for f in filters or []:
            if f.get("Name") not in attribute:
                raise _bad(f"Unknown filter {f.get('Name')!r}.")
            found = [b for b in found if attribute[f["Name"]](b) in (f.get("Values") or [])]
        return sorted(found, key=lambda b: b.creation_time)

    def delete_backup(self, backup_id: str,  # type: ignore[override]
                      client_request_token: str | None = None) -> dict[str, Any]:
        backup = self.backup(backup_id)
        if backup.lifecycle in BACKUP_BUSY:
            raise FsxError("BackupInProgress", f"Backup {backup.id} is {backup.lifecycle}.")
        for backend in self._account_backends():
            if any(b.copying_from is backup for b in backend.backups.values()):
                raise FsxError("BackupBeingCopied", f"Backup {backup.id} is being copied.", BackupId=backup.id)
        restoring = [fs.id for fs in self.file_systems.values() if fs.restoring_from == backup.id]
        if restoring:
            raise FsxError("BackupRestoring", f"File system {restoring[0]} is being restored from {backup.id}.",
                           FileSystemId=restoring[0])
        self.backups.pop(backup.id)
        self.tagger.delete_all_tags_for_resource(backup.arn)
        return {"BackupId": backup.id, "Lifecycle": "DELETED"}

    # -- tags ----------------------------------------------------------------------------------------
    def _resource_arns(self) -> set[str]:
        return {fs.arn for fs in self.file_systems.values()} | {b.arn for b in self.backups.values()}

    def _tagged(self, arn: str) -> str:
        if not (arn or "").startswith("arn:aws:fsx:"):
            raise FsxError("NotServiceResourceError", f"{arn} is not an Amazon FSx resource.", ResourceARN=arn)
        if arn not in self._resource_arns():
            raise FsxError("ResourceNotFound", f"Resource {arn} does not exist.", ResourceARN=arn)
        return arn

    def tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        arn = self._tagged(arn)
        self.tagger.tag_resource(arn, _tag_list(_merge_tags(self._tags(arn), _tag_list(tags))))

    def untag(self, arn: str, keys: list[str]) -> None:
        self.tagger.untag_resource_using_names(self._tagged(arn), keys)

    def list_tags(self, arn: str) -> list[dict[str, str]]:
        return self._tags(self._tagged(arn))

    def iter_tagged_resources(self) -> Any:
        for backup in self.backups.values():
            yield TaggedResource(backup.arn, self.tagger.get_tag_dict_for_resource(backup.arn), "fsx:backup")
        for fs in self.file_systems.values():
            yield TaggedResource(fs.arn, self.tagger.get_tag_dict_for_resource(fs.arn), "fsx:file-system")

    # -- test hooks ----------------------------------------------------------------------------------
    def age_backup(self, backup_id: str, seconds: float) -> None:
        self.backup(backup_id).creation_time -= seconds

    def fail_file_system(self, fs_id: str, message: str) -> None:
        fs = self.file_system(fs_id)
        fs.lifecycle, fs.due, fs.failure = "FAILED", None, message


# -- response methods on moto's FSxResponse ------------------------------------------------------------
def _params(self: FSxResponse) -> dict[str, Any]:
    return json.loads(self.body or "{}")


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    start = int(params.get("NextToken") or 0)
    size = params.get("MaxResults") or 2147483647
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _reply(body: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in body.items() if v is not None})


def call_action(self: FSxResponse) -> Any:
    with _lock:
        self.fsx_backend.settle()
        return BaseResponse.call_action(self)


def _created(key: str, create: Any) -> Any:
    """A response method answering ``{key: <description>}`` of what ``create(backend, params)`` made."""
    def respond(self: FSxResponse) -> str:
        backend = self.fsx_backend
        made = create(backend, _params(self))
        return _reply({key: made.describe(backend._tags(made.arn))})
    return respond


def describe_file_systems(self: FSxResponse) -> str:
    params, backend = _params(self), self.fsx_backend
    page, token = _page(backend.describe_file_systems(params.get("FileSystemIds")), params)
    return _reply({"FileSystems": [fs.describe(backend._tags(fs.arn)) for fs in page], "NextToken": token})


def delete_file_system(self: FSxResponse) -> str:
    return _reply(self.fsx_backend.delete_file_system(_params(self)))


def describe_backups(self: FSxResponse) -> str:
    params, backend = _params(self), self.fsx_backend
    found = backend.describe_backups(params.get("BackupIds"), params.get("Filters"))
    page, token = _page(found, params)
    return _reply({"Backups": [b.describe(backend._tags(b.arn)) for b in page], "NextToken": token})


def delete_backup(self: FSxResponse) -> str:
    params = _params(self)
    return _reply(self.fsx_backend.delete_backup(params.get("BackupId", ""), params.get("ClientRequestToken")))


def tag_resource(self: FSxResponse) -> str:
    params = _params(self)
    self.fsx_backend.tag(params.get("ResourceARN", ""), params.get("Tags") or [])
    return "{}"


def untag_resource(self: FSxResponse) -> str:
    params = _params(self)
    self.fsx_backend.untag(params.get("ResourceARN", ""), params.get("TagKeys") or [])
    return "{}"


def list_tags_for_resource(self: FSxResponse) -> str:
    params = _params(self)
    page, token = _page(self.fsx_backend.list_tags(params.get("ResourceARN", "")), params)
    return _reply({"Tags": page, "NextToken": token})


def backend_of(account_id: str, region: str) -> FsxSimBackend:
    """The simulator's FSx state of one account and region (for seeding helpers and test hooks)."""
    return fsx_models.fsx_backends[account_id][region]  # type: ignore[return-value]


def register() -> None:
    """Serve the extension from moto's FSx (idempotent). Backends made from now on are ours."""
    backends = fsx_models.fsx_backends
    if backends.backend is not FsxSimBackend:
        backends.backend = FsxSimBackend
        backends.clear()  # accounts created before (none, when installed first) would keep moto's class
    created = {"create_file_system": ("FileSystem", FsxSimBackend.create_file_system),
               "create_file_system_from_backup": ("FileSystem", FsxSimBackend.create_file_system_from_backup),
               "create_backup": ("Backup", FsxSimBackend.create_backup),
               "copy_backup": ("Backup", FsxSimBackend.copy_backup)}
    for name, (key, create) in created.items():
        setattr(FSxResponse, name, _created(key, create))
    for fn in (call_action, describe_file_systems, delete_file_system, describe_backups, delete_backup, tag_resource,
               untag_resource, list_tags_for_resource):
        setattr(FSxResponse, fn.__name__, fn)
