"""EFS replication and replication overwrite protection on top of moto's EFS (moto 5.2 has neither).

moto keeps file systems per account and region (``EFSBackend``), taggable for the Tagging API and Resource
Explorer as ``elasticfilesystem:file-system``. We add, as methods of moto's ``EFSResponse`` (moto routes a
REST request to the snake_case method of its operation, so they serve in-process and in server mode):

* ``CreateReplicationConfiguration`` -- to an existing file system (``Destinations[0].FileSystemId``, in
  ``Region``) or to a new one EFS creates (encrypted, as AWS creates them). The configuration is held by
  both regions it spans: the source's and the destination's. It is ``ENABLING`` (the initial sync, no
  ``LastReplicatedTimestamp`` yet) for ``AWSSIM_DELAY_SECONDS`` (read at call time), then ``ENABLED``; the
  destination's ``ReplicationOverwriteProtection`` is ``REPLICATING`` (read-only) from the call on.
* ``DescribeReplicationConfigurations`` -- every configuration held by the region called, or the one a file
  system *of that region* is part of, as source or destination (AWS: "an account can only describe the
  replication configuration for a file system in its own Region"): ReplicationNotFound when it has none.
  ``LastReplicatedTimestamp`` trails the clock by ``SYNC_LAG_SECONDS`` (EFS syncs continuously) and stops
  when replication stops (a deletion; an orphaned side, below; or ``stall`` for tests).
* ``DeleteReplicationConfiguration`` -- from either region, naming the *source* file system
  (``SourceFileSystemId``; the destination's region takes the source's id too, as AWS documents and
  Terraform's provider does). ``ALL_CONFIGURATIONS`` (the default) deletes it on both sides: ``DELETING``
  for the delay, then gone, and the destination writable again (protection back to ``ENABLED``).
  ``LOCAL_CONFIGURATION_ONLY`` deletes only the region called's side; the other side's configuration is
  left orphaned, ``ERROR`` (replication stopped), until it is deleted there too -- what an unplanned
  failover does from the destination while the source region is dark, and its reprotect later from the
  source. A deleted destination side makes the destination writable.
* ``UpdateFileSystemProtection`` -- ``ENABLED`` / ``DISABLED``; DescribeFileSystems reports
  ``FileSystemProtection`` (moto omits it).

What AWS refuses, refused alike (codes from each operation's documented errors):

* creating a configuration for a source or into a destination that is already part of one (a file system
  is in one configuration at most) -- ConflictException; into an existing destination whose overwrite
  protection is ``ENABLED`` (it must be ``DISABLED`` first) -- ConflictException; from an encrypted source
  into an unencrypted destination -- ConflictException (its documented cause); more or fewer than one
  destination, no region, the source as its own destination -- BadRequest; a file system that does not
  exist -- FileSystemNotFound; one not ``available`` -- IncorrectFileSystemLifeCycleState;
* deleting a configuration the region does not hold (ReplicationNotFound, or FileSystemNotFound for an id
  that is neither a file system nor a configuration's source there); one already ``DELETING``,
  ``LOCAL_CONFIGURATION_ONLY`` for a same-region replication (documented), and ``ALL_CONFIGURATIONS`` while
  the other region is dark (``awssim.outage``: AWS cannot reach that side; use the local mode) -- BadRequest;
* changing the protection of a file system that is part of a configuration -- ReplicationAlreadyExists
  ("ReplicationOverwriteProtection cannot be changed while the file system is a replication destination",
  AWS's words); setting ``REPLICATING`` by hand -- BadRequest (EFS sets it);
* ``DeleteFileSystem`` of a file system that is part of a configuration -- FileSystemInUse.

Transitions complete lazily: every EFS request first settles the account's due ones, as if AWS had worked
in the background. Test hooks (in-process): ``stall`` (replication stuck since a time), ``set_status``
(``PAUSED`` / ``ERROR`` with a message), and ``pin_file_system_id`` (the id CreateFileSystem gives a
creation token: EFS ids are AWS's to choose, manifests name them, so seeding pins them).

Not modelled: cross-account replication (``RoleArn``, ARNs of another account: BadRequest here), file data
(read-only is the protection state only), a configuration's progress while one of its regions is dark (it
syncs on as if both answered, unless a test stalls it), One Zone placement beyond the region, throughput and
quotas.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import time
import uuid
from typing import Any

from moto.core.responses import BaseResponse
from moto.efs.exceptions import BadRequest, EFSError, FileSystemInUse, FileSystemNotFound
from moto.efs.models import EFSBackend, FileSystem, efs_backends
from moto.efs.responses import EFSResponse

SYNC_LAG_SECONDS = 60.0  # how far LastReplicatedTimestamp trails the clock while replication runs
FS_ARN = re.compile(r"^arn:aws[-a-z]*:elasticfilesystem:(?P<region>[0-9a-z-]+):(?P<account>\d{12}):"
                    r"file-system/(?P<id>fs-[0-9a-f]{8,40})$")
_lock = threading.RLock()
_pinned: dict[tuple[str, str, str], str] = {}  # (account, region, creation token) -> file system id


class ReplicationNotFound(EFSError):
    code = 404

    def __init__(self, message: str):
        super().__init__("ReplicationNotFound", message)


class ConflictException(EFSError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ConflictException", message)


class ReplicationAlreadyExists(EFSError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ReplicationAlreadyExists", message)


class IncorrectFileSystemLifeCycleState(EFSError):
    code = 409

    def __init__(self, message: str):
        super().__init__("IncorrectFileSystemLifeCycleState", message)


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


@dataclasses.dataclass
class Replication:
    """One replication configuration as one region holds it (both regions share it until a local delete)."""

    account_id: str
    source_region: str
    source_id: str
    dest_region: str
    dest_id: str
    created: float = dataclasses.field(default_factory=time.time)
    status: str = "ENABLING"
    due: float | None = None  # when ENABLING or DELETING completes
    synced_at: float | None = None  # when the initial sync completed
    stopped_at: float | None = None  # replication stopped (deleted, orphaned, stalled): the last sync is frozen
    message: str | None = None

    def arn(self, region: str, fs_id: str) -> str:
        return f"arn:aws:elasticfilesystem:{region}:{self.account_id}:file-system/{fs_id}"

    def last_synced(self) -> float | None:
        if self.synced_at is None:  # the initial sync has not completed
            return None
        until = self.stopped_at if self.stopped_at is not None else time.time()
        return max(self.synced_at, until - SYNC_LAG_SECONDS)

    def describe(self) -> dict[str, Any]:
        destination: dict[str, Any] = {"Status": self.status, "FileSystemId": self.dest_id, "Region": self.dest_region,
                                       "OwnerId": self.account_id}
        if self.last_synced() is not None:
            destination["LastReplicatedTimestamp"] = self.last_synced()
        if self.message:
            destination["StatusMessage"] = self.message
        source_arn = self.arn(self.source_region, self.source_id)
        return {"SourceFileSystemId": self.source_id, "SourceFileSystemRegion": self.source_region,
                "SourceFileSystemArn": source_arn, "OriginalSourceFileSystemArn": source_arn,
                "CreationTime": self.created, "Destinations": [destination], "SourceFileSystemOwnerId": self.account_id}


def _held(backend: EFSBackend) -> dict[str, Replication]:
    """The configurations a region holds, by source file system id (kept on moto's backend: a reset clears them)."""
    if not hasattr(backend, "awssim_replications"):
        backend.awssim_replications = {}
    return backend.awssim_replications


def _backend(account_id: str, region: str) -> EFSBackend:
    return efs_backends[account_id][region]


def _protection(fs: FileSystem) -> str:
    return getattr(fs, "_awssim_protection", "ENABLED")


def _set_protection(account_id: str, region: str, fs_id: str, value: str) -> None:
    fs = _backend(account_id, region).file_systems_by_id.get(fs_id)
    if fs is not None:
        fs._awssim_protection = value


def settle(account_id: str) -> None:
    """Complete every transition of the account whose time has come."""
    now = time.time()
    with _lock:
        for region, backend in list(efs_backends[account_id].items()):
            held = _held(backend)
            for source_id, rep in list(held.items()):
                if rep.due is None or rep.due > now:
                    continue
                if rep.status == "ENABLING":
                    rep.status, rep.synced_at, rep.due = "ENABLED", rep.due, None
                elif rep.status == "DELETING":
                    del held[source_id]
                    if region == rep.dest_region:  # the destination's side is gone: writable again
                        _set_protection(account_id, region, rep.dest_id, "ENABLED")


def _file_system_id(value: str | None, account_id: str, region: str) -> str:
    """A file system id from an id or an ARN of this account and region (else FileSystemNotFound)."""
    found = FS_ARN.match(value or "")
    if found:
        if found["account"] != account_id:
            raise BadRequest("Cross-account replication is not modelled by the simulator.")
        if found["region"] != region:
            raise FileSystemNotFound(value)
        return found["id"]
    return value or ""


def _file_system(account_id: str, region: str, fs_id: str) -> FileSystem:
    fs = _backend(account_id, region).file_systems_by_id.get(fs_id)
    if fs is None:
        raise FileSystemNotFound(fs_id)
    return fs


def _available(fs: FileSystem) -> None:
    if fs.life_cycle_state != "available":
        raise IncorrectFileSystemLifeCycleState(f"File system {fs.file_system_id} is {fs.life_cycle_state}.")


def _part_of(account_id: str, region: str, fs_id: str) -> Replication | None:
    """The configuration a file system of ``region`` is part of, as its region holds it (None: none)."""
    for rep in _held(_backend(account_id, region)).values():
        if (rep.source_region, rep.source_id) == (region, fs_id) or (rep.dest_region, rep.dest_id) == (region, fs_id):
            return rep
    return None


def _reply(body: dict[str, Any] | str, status: int = 200) -> tuple[str, dict[str, Any]]:
    text = body if isinstance(body, str) else json.dumps(body)
    return text, {"status": status, "Content-Type": "application/json"}


# -- response methods added to moto's EFSResponse -------------------------------------------------
def create_replication_configuration(self: EFSResponse) -> tuple[str, dict[str, Any]]:
    account, region = self.current_account, self.region
    with _lock:
        settle(account)
        source_id = _file_system_id(self._get_param("SourceFileSystemId"), account, region)
        source = _file_system(account, region, source_id)
        _available(source)
        destinations = self._get_param("Destinations") or []
        if len(destinations) != 1:
            raise BadRequest("A replication configuration has exactly one destination.")
        want = destinations[0]
        if want.get("RoleArn"):
            raise BadRequest("Cross-account replication (RoleArn) is not modelled by the simulator.")
        dest_region = want.get("Region") or (want.get("AvailabilityZoneName") or "")[:-1]
        if not dest_region:
            raise BadRequest("Specify the destination's Region (or AvailabilityZoneName).")
        if _part_of(account, region, source_id):
            raise ConflictException(f"File system {source_id} is already part of a replication configuration; a file "
                                    "system can be part of only one.")
        if want.get("FileSystemId"):
            dest_id = _file_system_id(want["FileSystemId"], account, dest_region)
            if (dest_region, dest_id) == (region, source_id):
                raise BadRequest("The destination file system must differ from the source file system.")
            dest = _file_system(account, dest_region, dest_id)
            _available(dest)
            if _part_of(account, dest_region, dest_id):
                raise ConflictException(f"File system {dest_id} is already part of a replication configuration; a file "
                                        "system can be part of only one.")
            if _protection(dest) != "DISABLED":
                raise ConflictException(f"File system {dest_id} has replication overwrite protection "
                                        f"{_protection(dest)}: disable it (UpdateFileSystemProtection) to replicate into it.")
            if source.encrypted and not dest.encrypted:
                raise ConflictException(f"Source file system {source_id} is encrypted but destination {dest_id} is not.")
        else:  # a new destination: EFS creates it, always encrypted
            dest = _backend(account, dest_region).create_file_system(
                creation_token=str(uuid.uuid4()), performance_mode=source.performance_mode, encrypted=True,
                kms_key_id=want.get("KmsKeyId"), throughput_mode="bursting", provisioned_throughput_in_mibps=0,
                availability_zone_name=want.get("AvailabilityZoneName"), backup=False, tags=[])
            dest_id = dest.file_system_id
        dest._awssim_protection = "REPLICATING"
        rep = Replication(account, region, source_id, dest_region, dest_id, due=time.time() + _delay())
        _held(_backend(account, region))[source_id] = rep
        _held(_backend(account, dest_region))[source_id] = rep
        return _reply(rep.describe())


def describe_replication_configurations(self: EFSResponse) -> tuple[str, dict[str, Any]]:
    account, region = self.current_account, self.region
    with _lock:
        settle(account)
        wanted = self._get_param("FileSystemId")
        if wanted:
            fs_id = _file_system_id(wanted, account, region)
            _file_system(account, region, fs_id)
            rep = _part_of(account, region, fs_id)
            if rep is None:
                raise ReplicationNotFound(f"File system {fs_id} is not part of a replication configuration.")
            found = [rep]
        else:
            found = sorted(_held(_backend(account, region)).values(), key=lambda r: r.created)
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 100)
        body: dict[str, Any] = {"Replications": [r.describe() for r in found[start:start + size]]}
        if start + size < len(found):
            body["NextToken"] = str(start + size)
        return _reply(body)


def delete_replication_configuration(self: EFSResponse) -> tuple[str, dict[str, Any]]:
    from awssim import outage

    account, region = self.current_account, self.region
    mode = (self.querystring.get("deletionMode") or ["ALL_CONFIGURATIONS"])[0]
    with _lock:
        settle(account)
        source_id = _file_system_id(self._get_param("SourceFileSystemId"), account, region)
        held = _held(_backend(account, region))
        rep = held.get(source_id)
        if rep is None:
            if source_id in _backend(account, region).file_systems_by_id:
                raise ReplicationNotFound(f"File system {source_id} is not the source of a replication configuration.")
            raise FileSystemNotFound(source_id)
        if rep.status == "DELETING":
            raise BadRequest(f"The replication configuration of {source_id} is already being deleted.")
        other = rep.dest_region if region == rep.source_region else rep.source_region
        if mode == "LOCAL_CONFIGURATION_ONLY" and other == region:
            raise BadRequest("LOCAL_CONFIGURATION_ONLY cannot be used for a same-account, same-Region replication.")
        now = time.time()
        other_held = _held(_backend(account, other))
        if mode == "LOCAL_CONFIGURATION_ONLY":
            held[source_id] = dataclasses.replace(rep, status="DELETING", due=now + _delay(), stopped_at=now)
            if other_held.get(source_id) is rep:  # the other side keeps it, orphaned: replication stopped
                rep.status, rep.stopped_at = "ERROR", now
                rep.message = (f"The replication configuration was deleted in {region} only; delete it here too "
                               "(DeleteReplicationConfiguration).")
            return _reply("", 204)
        if other in outage.dark():
            raise BadRequest(f"Amazon EFS cannot delete the replication configuration in {other}; use "
                             "DeletionMode LOCAL_CONFIGURATION_ONLY to delete it in this Region only.")
        for side in (held, other_held):  # both sides, whatever each holds of it
            if source_id in side:
                side[source_id] = dataclasses.replace(side[source_id], status="DELETING", due=now + _delay(),
                                                      stopped_at=side[source_id].stopped_at or now)
        return _reply("", 204)


def update_file_system_protection(self: EFSResponse) -> tuple[str, dict[str, Any]]:
    account, region = self.current_account, self.region
    with _lock:
        settle(account)
        fs_id = _file_system_id(self._get_param("FileSystemId"), account, region)
        fs = _file_system(account, region, fs_id)
        value = self._get_param("ReplicationOverwriteProtection")
        if value is not None:
            if value not in ("ENABLED", "DISABLED"):
                raise BadRequest(f"ReplicationOverwriteProtection {value} is set by Amazon EFS only; use ENABLED or "
                                 "DISABLED.")
            rep = _part_of(account, region, fs_id)
            if rep is not None:
                role = "destination" if (rep.dest_region, rep.dest_id) == (region, fs_id) else "source"
                raise ReplicationAlreadyExists(f"ReplicationOverwriteProtection cannot be changed while the file system "
                                               f"is a replication {role}.")
            _available(fs)
            fs._awssim_protection = value
        return _reply({"ReplicationOverwriteProtection": _protection(fs)})


def call_action(self: EFSResponse) -> Any:
    settle(self.current_account)
    return BaseResponse.call_action(self)


# -- backend fixes ------------------------------------------------------------------------------------
_moto_info_json = FileSystem.info_json
_moto_create_file_system = EFSBackend.create_file_system
_moto_delete_file_system = EFSBackend.delete_file_system


def info_json(self: FileSystem) -> dict[str, Any]:
    """moto's description, plus ``FileSystemProtection`` as AWS reports it."""
    return {**_moto_info_json(self), "FileSystemProtection": {"ReplicationOverwriteProtection": _protection(self)}}


def create_file_system(self: EFSBackend, creation_token: str, *args: Any, **kwargs: Any) -> FileSystem:
    """moto's CreateFileSystem; a creation token pinned by ``pin_file_system_id`` gets its pinned id."""
    fs = _moto_create_file_system(self, creation_token, *args, **kwargs)
    wanted = _pinned.pop((self.account_id, self.region_name, creation_token), None)
    if wanted and wanted != fs.file_system_id:
        if wanted in self.file_systems_by_id:
            raise BadRequest(f"File system id {wanted} is taken.")
        old = fs.file_system_id
        tags = self.tagging_service.list_tags_for_resource(old)["Tags"]
        self.tagging_service.delete_all_tags_for_resource(old)
        self.tagging_service.tag_resource(wanted, tags)
        self.file_systems_by_id[wanted] = self.file_systems_by_id.pop(old)
        fs.file_system_id = wanted
        fs.file_system_arn = fs.file_system_arn.rsplit("/", 1)[0] + "/" + wanted
    return fs


def delete_file_system(self: EFSBackend, file_system_id: str) -> None:
    with _lock:
        settle(self.account_id)
        if _part_of(self.account_id, self.region_name, file_system_id):
            raise FileSystemInUse(f"File system {file_system_id} is part of a replication configuration: delete the "
                                  "replication configuration first.")
    _moto_delete_file_system(self, file_system_id)


# -- test and seeding hooks (in-process) ------------------------------------------------------------
def pin_file_system_id(account_id: str, region: str, creation_token: str, file_system_id: str) -> None:
    """The next CreateFileSystem of ``creation_token`` in that account and region gets ``file_system_id``."""
    if not re.fullmatch(r"fs-[0-9a-f]{8,40}", file_system_id):
        raise ValueError(f"not an EFS file system id: {file_system_id!r}")
    _pinned[(account_id, region, creation_token)] = file_system_id


def _replication(account_id: str, region: str, file_system_id: str) -> Replication:
    settle(account_id)
    rep = _part_of(account_id, region, file_system_id)
    if rep is None:
        raise KeyError(f"{file_system_id} in {region} is not part of a replication configuration")
    return rep


def stall(account_id: str, region: str, file_system_id: str, seconds_ago: float) -> None:
    """Replication of ``file_system_id`` (source or destination, as ``region`` holds it) stuck since then."""
    with _lock:
        rep = _replication(account_id, region, file_system_id)
        since = time.time() - seconds_ago
        rep.synced_at, rep.stopped_at = min(rep.synced_at or since, since), since


def set_status(account_id: str, region: str, file_system_id: str, status: str, message: str | None = None) -> None:
    """Put the configuration ``file_system_id`` is part of into ``status`` (``PAUSED``, ``ERROR`` ...)."""
    with _lock:
        rep = _replication(account_id, region, file_system_id)
        rep.status, rep.message, rep.due = status, message, None
        if status in ("PAUSED", "PAUSING", "ERROR"):
            rep.stopped_at = time.time()


def register() -> None:
    """Add the operations and fixes to moto's EFS (idempotent)."""
    from moto.efs import urls

    for path in ("/2015-02-01/file-systems/replication-configurations",  # server mode's routes (in-process needs none)
                 "/2015-02-01/file-systems/<file_system_id>/replication-configuration",
                 "/2015-02-01/file-systems/<file_system_id>/protection"):
        urls.url_paths.setdefault(path, urls.response.dispatch)
    for fn in (create_replication_configuration, describe_replication_configurations,
               delete_replication_configuration, update_file_system_protection, call_action):
        setattr(EFSResponse, fn.__name__, fn)
    FileSystem.info_json = info_json
    EFSBackend.create_file_system = create_file_system
    EFSBackend.delete_file_system = delete_file_system
