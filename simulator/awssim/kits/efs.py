"""EFS kit: a file system in each region, the primary's replicating into DR's (created, as AWS users do, by
disabling the DR file system's overwrite protection and creating the replication configuration into it); both
carry all of the resource's tags.

EFS chooses file system ids, manifests name them: seeding pins each id to its creation token
(``awssim.efs_replication.pin_file_system_id``), so the mini-estate's file systems have the ids its manifest
gives. Who serves is which side is writable -- its replication overwrite protection ``ENABLED`` -- while the
other is read-only (``REPLICATING`` into it, or ``DISABLED``); after an unplanned failover, before reprotect,
both are writable and neither alone serves.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Estate, Kit, Seed


def _sides(estate: Estate, config: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """side -> (region, file system id) as the manifest names them."""
    return {PRIMARY: (estate.primary, config["fileSystemId"]), DR: (estate.dr, config["drFileSystemId"])}


def wait_replication(efs: Any, fs_id: str, status: str = "ENABLED", timeout: float = 60.0) -> None:
    """Poll like a user would until the file system's replication configuration reaches ``status``."""
    deadline = time.monotonic() + timeout
    while efs.describe_replication_configurations(FileSystemId=fs_id)["Replications"][0]["Destinations"][0][
            "Status"] != status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"replication of {fs_id} did not become {status}")
        time.sleep(0.05)


def seed_efs_pair(session: boto3.Session, account_id: str, primary: str, fs_id: str, dr: str, dr_fs_id: str,
                  tags: dict[str, str], *, replicate: bool = True) -> None:
    """Both file systems (ids pinned, tagged) and, unless ``replicate`` is false, the primary's replication
    into the DR file system."""
    from awssim.efs_replication import pin_file_system_id

    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    for region, wanted in ((primary, fs_id), (dr, dr_fs_id)):
        token = f"dr-seed-{wanted}"
        pin_file_system_id(account_id, region, token, wanted)
        made = session.client("efs", region_name=region).create_file_system(
            CreationToken=token, Encrypted=True, Tags=tag_list)["FileSystemId"]
        assert made == wanted, f"simulator gave file system {made}, manifest wants {wanted}"
    if not replicate:
        return
    session.client("efs", region_name=dr).update_file_system_protection(
        FileSystemId=dr_fs_id, ReplicationOverwriteProtection="DISABLED")
    efs = session.client("efs", region_name=primary)
    efs.create_replication_configuration(SourceFileSystemId=fs_id, Destinations=[{"Region": dr, "FileSystemId": dr_fs_id}])
    wait_replication(efs, fs_id)


class EfsKit(Kit):
    actions = ("EFS",)
    services = ("efs",)
    acts = {"failover": frozenset({"ACTIVATE", "REPLICATE"}), "failback": frozenset({"ACTIVATE", "REPLICATE"})}
    kind, rank = "efs", 20  # storage: before the services that mount it
    config_tags = {"rpoMinutes": "dr:rpo-minutes"}  # a target, not something AWS can tell

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        base = f"fs-{zlib.crc32(customer.encode()):08x}{2 * n:08x}"
        config = {"fileSystemId": base, "drFileSystemId": f"fs-{zlib.crc32(customer.encode()):08x}{2 * n + 1:08x}"}
        if n % 2:
            config["rpoMinutes"] = 60
        return config

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c = item.resource.config
            seed_efs_pair(estate.session(item.resource.account_id), estate.account(item.resource.account_id),
                          estate.primary, c["fileSystemId"], estate.dr, c["drFileSystemId"], item.tags)

    def _protections(self, estate: Estate, resource: Any) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for side, (region, fs_id) in _sides(estate, resource.config).items():
            efs = estate.session(resource.account_id).client("efs", region_name=region)
            try:
                fs = efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
            except efs.exceptions.FileSystemNotFound:
                out[side] = None
                continue
            out[side] = fs["FileSystemProtection"]["ReplicationOverwriteProtection"]
        return out

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        """Each side's overwrite protection, and the replication each side's region holds (which way, status)."""
        sides = _sides(estate, resource.config)
        side_of = {v: k for k, v in sides.items()}
        replication: dict[str, str | None] = {}
        for side, (region, fs_id) in sides.items():
            efs = estate.session(resource.account_id).client("efs", region_name=region)
            try:
                rep = efs.describe_replication_configurations(FileSystemId=fs_id)["Replications"][0]
            except (efs.exceptions.ReplicationNotFound, efs.exceptions.FileSystemNotFound):
                replication[side] = None
                continue
            d = rep["Destinations"][0]
            src = side_of.get((rep["SourceFileSystemRegion"], rep["SourceFileSystemId"]), "other")
            dst = side_of.get((d["Region"], d["FileSystemId"]), "other")
            replication[side] = f"{src}->{dst} {d['Status']}"
        return {"protection": self._protections(estate, resource), "replication": replication}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        writable = [side for side, p in role["protection"].items() if p == "ENABLED"]
        return writable[0] if len(writable) == 1 else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        return self._protections(estate, resource)[side] == "ENABLED"

    def state(self, session: boto3.Session, region: str) -> Any:
        efs = session.client("efs", region_name=region)
        systems = sorted((f["FileSystemId"], f["LifeCycleState"], f["FileSystemProtection"]["ReplicationOverwriteProtection"])
                         for page in efs.get_paginator("describe_file_systems").paginate() for f in page["FileSystems"])
        replications = sorted((r["SourceFileSystemId"], r["SourceFileSystemRegion"], d["FileSystemId"], d["Region"],
                               d["Status"])
                              for page in efs.get_paginator("describe_replication_configurations").paginate()
                              for r in page["Replications"] for d in r["Destinations"])
        return {"file_systems": systems, "replications": replications}

    def break_resource(self, estate: Estate, resource: Any) -> str:
        # Replication stuck for ten hours: the DR replica is far older than any RPO allows.
        from awssim.efs_replication import stall

        region, fs_id = _sides(estate, resource.config)[DR]
        stall(estate.account(resource.account_id), region, fs_id, 10 * 3600.0)
        return "exceeds RPO"
