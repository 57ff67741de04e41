"""ElastiCache global datastores (global replication groups) on top of moto's ElastiCache (moto 5.2 has none).

moto models replication groups; we add the global datastore around them, as response methods of moto's
``ElastiCacheResponse`` (moto dispatches an Action to the snake_case method of that name), so they serve
in-process and in server mode:

* ``CreateGlobalReplicationGroup`` from an available, standalone replication group of the calling region.
  AWS names it ``<prefix>-<suffix>``: the prefix is ElastiCache's for the region it is created in
  (``ldgnf`` for us-east-1, ``sgaui`` for us-west-2 ... ``REGION_PREFIXES``, from the ElastiCache user
  guide's "Using the AWS CLI with global datastores"; a region missing there gets a stable made-up one).
  Seeding can pin the whole id instead (``pin_global_id``, as moto's custom-id hook pins Route 53 zone
  ids): a manifest names the id AWS showed, whichever region the datastore was created in.
* ``CreateReplicationGroup(GlobalReplicationGroupId=...)`` in another region adds a SECONDARY member:
  engine, version, node type and shard count are the global datastore's (given differently: refused);
  one member per region, at most three regions.
* ``DescribeGlobalReplicationGroups`` (``Members`` only with ``ShowMemberInfo``, paginated) answers in
  every region: a global datastore belongs to the account, its ARN names no region
  (``arn:aws:elasticache::<account>:globalreplicationgroup:<id>``).
* ``FailoverGlobalReplicationGroup(PrimaryRegion, PrimaryReplicationGroupId)`` makes that member the
  PRIMARY and every other member a SECONDARY; refused unless the datastore is ``available`` (AWS:
  "not available or in primary-only state"), for a region or group that is not a member, and for the
  member that is already primary.
* ``DisassociateGlobalReplicationGroup(ReplicationGroupId, ReplicationGroupRegion)`` detaches a
  SECONDARY: it becomes a standalone replication group that takes writes; with only the primary left
  the datastore is ``primary-only``. The primary cannot be detached (delete the datastore instead).
* ``DeleteGlobalReplicationGroup(RetainPrimaryReplicationGroup=true)`` once only the primary is left;
  ``DeleteReplicationGroup`` of a member is refused (detach it first), as on AWS, and a deleted group is
  gone once deleting is over (moto keeps it ``deleting``), so its id can be used again.
* ``IncreaseReplicaCount`` (moto has none): ``NewReplicaCount`` or per-shard ``ReplicaConfiguration``,
  ``ApplyImmediately`` true (AWS supports nothing else), more than today, at most 5 per shard.
* ``DecreaseReplicaCount`` (moto has none): the same arguments, fewer than today, the newest replicas
  removed; at least one per shard while automatic failover is enabled, as AWS requires.

Transitions take ``AWSSIM_DELAY_SECONDS`` (read at call time, default 1.0) like ``rds_global``:
creating a datastore (``creating``), adding or detaching a member and a failover (``modifying``, the
member ``associating`` / ``disassociating``), adding replicas (the replication group ``modifying``).
They complete lazily: every ElastiCache request of the account first settles what is due. A
transition in progress refuses the next one (``InvalidGlobalReplicationGroupState`` /
``InvalidReplicationGroupState``), which is also what a retried call whose reply was lost meets.

We also straighten moto where an adapter relies on it: ``NumCacheClusters`` makes that many nodes
(moto makes one unless ``ReplicasPerNodeGroup``), ``GlobalReplicationGroupInfo`` is left out of a
standalone group, and the Tagging API / Resource Explorer report Resource Explorer's type names
(``elasticache:replicationgroup``, not moto's ``elasticache:replication-group``). Global datastores are
taggable (``Tags`` on create, ``AddTagsToResource`` / ``ListTagsForResource`` / ``RemoveTagsFromResource``
and the Tagging API with the global ARN, from any region) and listed, as
``elasticache:globalreplicationgroup``, in the region of each member: discovery finds them from
whichever region is still up.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, BaseResponse
from moto.elasticache.exceptions import (
    ElastiCacheException,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
)
from moto.elasticache.models import ElastiCacheBackend, ReplicationGroup, elasticache_backends
from moto.elasticache.responses import ElastiCacheResponse
from moto.utilities.id_generator import ResourceIdentifier, moto_id_manager

GLOBAL_REGION = "us-east-1"  # the backend whose __dict__ holds an account's global datastores
GLOBAL_ARN = re.compile(r"^arn:aws[\w-]*:elasticache::(?P<account>\d{12}):globalreplicationgroup:(?P<id>.+)$")
MAX_REGIONS = 3  # a primary and up to two secondaries
MAX_REPLICAS = 5  # per shard
REGION_PREFIXES = {
    "us-east-1": "ldgnf", "us-east-2": "fpkhr", "us-west-1": "virxk", "us-west-2": "sgaui",
    "ca-central-1": "bxodz", "ap-south-1": "erpgt", "ap-northeast-1": "quwsw", "ap-northeast-2": "lfqnh",
    "ap-northeast-3": "nlapn", "ap-southeast-1": "vlqxn", "ap-southeast-2": "vbgxd", "ap-east-1": "knjmp",
    "eu-central-1": "iudkw", "eu-west-1": "gxeiz", "eu-west-2": "okuqm", "eu-west-3": "fgjhi",
    "sa-east-1": "juxlw", "cn-north-1": "emvgt", "cn-northwest-1": "ckbem", "us-gov-west-1": "sgwui",
}


class GlobalReplicationGroupNotFound(ElastiCacheException):
    code = "GlobalReplicationGroupNotFoundFault"

    def __init__(self, identifier: str):
        super().__init__(f"Global replication group {identifier} not found.")


class GlobalReplicationGroupAlreadyExists(ElastiCacheException):
    code = "GlobalReplicationGroupAlreadyExistsFault"

    def __init__(self, identifier: str):
        super().__init__(f"Global replication group {identifier} already exists.")


class InvalidGlobalReplicationGroupState(ElastiCacheException):
    code = "InvalidGlobalReplicationGroupState"


class InvalidReplicationGroupState(ElastiCacheException):
    code = "InvalidReplicationGroupState"


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


def region_prefix(region: str) -> str:
    """ElastiCache's global datastore id prefix for a region (made up, but stable, for unlisted ones)."""
    if region in REGION_PREFIXES:
        return REGION_PREFIXES[region]
    n = zlib.crc32(region.encode())
    return "".join("abcdefghijklmnopqrstuvwxyz"[(n >> (5 * i)) % 26] for i in range(5))


class GlobalIdentifier(ResourceIdentifier):
    """moto's custom-id hook for a global datastore created in ``region`` with ``suffix``."""

    service, resource = "elasticache", "global_replication_group"

    def generate(self, existing_ids: Any = None, tags: Any = None) -> str:
        return f"{region_prefix(self.region)}-{self.name}"


def pin_global_id(account_id: str, region: str, suffix: str, global_id: str) -> None:
    """The next CreateGlobalReplicationGroup of ``suffix`` in ``region`` makes ``global_id`` (seeding)."""
    moto_id_manager.set_custom_id(GlobalIdentifier(account_id, region, suffix), global_id)


@dataclass
class Member:
    region: str
    replication_group_id: str
    role: str  # PRIMARY | SECONDARY
    status: str = "associated"  # associating | associated | disassociating


@dataclass
class GlobalDatastore:
    account_id: str
    global_id: str
    description: str
    primary: ReplicationGroup  # the group it was created from: engine, version, node type, shards
    members: list[Member]
    status: str = "creating"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:elasticache::{self.account_id}:globalreplicationgroup:{self.global_id}"

    def member(self, region: str) -> Member | None:
        return next((m for m in self.members if m.region == region), None)

    def to_api(self, show_members: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "GlobalReplicationGroupId": self.global_id, "GlobalReplicationGroupDescription": self.description,
            "Status": self.status, "CacheNodeType": self.primary.cache_node_type, "Engine": self.primary.engine,
            "EngineVersion": self.primary.engine_version or "7.1", "ClusterEnabled": self.primary.cluster_enabled,
            "AuthTokenEnabled": self.primary.auth_token_enabled,
            "TransitEncryptionEnabled": self.primary.transit_encryption_enabled,
            "AtRestEncryptionEnabled": self.primary.at_rest_encryption_enabled, "ARN": self.arn,
        }
        if self.primary.cluster_enabled:
            out["GlobalNodeGroups"] = [{"GlobalNodeGroupId": f"{self.global_id}-{ng['node_group_id']}",
                                        "Slots": ng.get("slots", "")} for ng in self.primary.node_groups]
        if show_members:
            out["Members"] = [{"ReplicationGroupId": m.replication_group_id, "ReplicationGroupRegion": m.region,
                               "Role": m.role, "AutomaticFailover": _group(self.account_id, m).automatic_failover,
                               "Status": m.status} for m in self.members]
        return out


@dataclass
class _State:
    """An account's global datastores and the transitions still running."""

    datastores: dict[str, GlobalDatastore] = field(default_factory=dict)
    pending: list[tuple[float, Callable[[], None]]] = field(default_factory=list)


def _state(account_id: str) -> _State:
    # On a moto backend, so a moto reset forgets it with everything else.
    return elasticache_backends[account_id][GLOBAL_REGION].__dict__.setdefault("awssim_global", _State())


def _later(account_id: str, finish: Callable[[], None]) -> None:
    _state(account_id).pending.append((time.time() + _delay(), finish))


def settle(account_id: str) -> None:
    """Complete every transition of the account whose time has come, oldest first."""
    state = _state(account_id)
    now = time.time()
    due = [p for p in state.pending if p[0] <= now]
    state.pending = [p for p in state.pending if p[0] > now]
    for _, finish in due:
        finish()


def _datastore(account_id: str, global_id: str) -> GlobalDatastore:
    found = _state(account_id).datastores.get(global_id or "")
    if found is None:
        raise GlobalReplicationGroupNotFound(global_id)
    return found


def _group(account_id: str, member: Member) -> ReplicationGroup:
    return elasticache_backends[account_id][member.region].replication_groups[member.replication_group_id]


def _link(group: ReplicationGroup, global_id: str, role: str | None) -> None:
    group.global_replication_group_id = global_id
    group.global_replication_group_member_role = role


def _require_available(ds: GlobalDatastore) -> None:
    if ds.status != "available":
        raise InvalidGlobalReplicationGroupState(
            f"Global replication group {ds.global_id} is {ds.status}; wait until it is available.")


def replica_count(group: ReplicationGroup) -> int:
    """Read replicas per shard (the fewest, when shards differ)."""
    return min(len(ng["node_group_members"]) - 1 for ng in group.node_groups)


def _add_replicas(group: ReplicationGroup, node_group: dict[str, Any], replicas: int) -> None:
    """Grow ``node_group`` to ``replicas`` read replicas, in moto's member shape."""
    members = node_group["node_group_members"]
    domain = members[0].get("read_endpoint", {}).get("address", "").split(".", 1)[-1]
    for n in range(len(members) + 1, replicas + 2):
        cluster_id = (f"{group.replication_group_id}-{node_group['node_group_id']}-{n:03}" if group.cluster_enabled
                      else f"{group.replication_group_id}-{n:03}")
        member: dict[str, Any] = {"cache_cluster_id": cluster_id, "cache_node_id": node_group["node_group_id"],
                                  "preferred_availability_zone": members[0].get("preferred_availability_zone")}
        if not group.cluster_enabled:
            member["read_endpoint"] = {"address": f"{cluster_id}.{domain}", "port": group.port}
            member["current_role"] = "replica"
        members.append(member)
        group.member_clusters.append(cluster_id)


def _remove_replicas(group: ReplicationGroup, node_group: dict[str, Any], replicas: int) -> None:
    """Shrink ``node_group`` to ``replicas`` read replicas, the newest first (the primary node stays)."""
    members = node_group["node_group_members"]
    while len(members) - 1 > replicas:
        gone = members.pop()
        if gone["cache_cluster_id"] in group.member_clusters:
            group.member_clusters.remove(gone["cache_cluster_id"])


# -- response methods added to moto's ElastiCacheResponse ------------------------------------------
def create_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    account, region = self.current_account, self.region
    suffix, primary_id = self._get_param("GlobalReplicationGroupIdSuffix"), self._get_param("PrimaryReplicationGroupId")
    group = self.elasticache_backend.describe_replication_groups(primary_id)[0]  # ReplicationGroupNotFoundFault
    if group.status != "available":
        raise InvalidReplicationGroupState(f"Replication group {primary_id} is {group.status}.")
    if group.global_replication_group_id:
        raise InvalidReplicationGroupState(
            f"Replication group {primary_id} is already a member of {group.global_replication_group_id}.")
    global_id = moto_id_manager.get_custom_id(GlobalIdentifier(account, region, suffix)) or \
        GlobalIdentifier(account, region, suffix).generate()
    state = _state(account)
    if global_id in state.datastores:
        raise GlobalReplicationGroupAlreadyExists(global_id)
    ds = GlobalDatastore(account, global_id, self._get_param("GlobalReplicationGroupDescription") or "", group,
                         [Member(region, primary_id, "PRIMARY")],
                         tags={t["Key"]: t["Value"] for t in self._get_param("Tags") or []})
    state.datastores[global_id] = ds
    _link(group, global_id, "PRIMARY")
    _later(account, lambda: setattr(ds, "status", "available"))
    return ActionResult({"GlobalReplicationGroup": ds.to_api(show_members=True)})


def describe_global_replication_groups(self: ElastiCacheResponse) -> ActionResult:
    global_id = self._get_param("GlobalReplicationGroupId")
    found = ([_datastore(self.current_account, global_id)] if global_id
             else sorted(_state(self.current_account).datastores.values(), key=lambda d: d.global_id))
    size = int(self._get_param("MaxRecords") or 100)
    if not 20 <= size <= 100:
        raise InvalidParameterValueException("MaxRecords must be between 20 and 100.")
    start = int(self._get_param("Marker") or 0)
    page = found[start:start + size]
    result: dict[str, Any] = {"GlobalReplicationGroups": [d.to_api(bool(self._get_bool_param("ShowMemberInfo")))
                                                          for d in page]}
    if start + size < len(found):
        result["Marker"] = str(start + size)
    return ActionResult(result)


def failover_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    account = self.current_account
    ds = _datastore(account, self._get_param("GlobalReplicationGroupId"))
    _require_available(ds)
    region, target_id = self._get_param("PrimaryRegion"), self._get_param("PrimaryReplicationGroupId")
    target = ds.member(region)
    if target is None or target.replication_group_id != target_id:
        raise InvalidParameterValueException(
            f"Replication group {target_id} in {region} is not a member of {ds.global_id}.")
    if target.role == "PRIMARY":
        raise InvalidParameterValueException(f"Replication group {target_id} is already the primary of {ds.global_id}.")
    ds.status = "modifying"

    def finish() -> None:
        for m in ds.members:
            m.role = "PRIMARY" if m is target else "SECONDARY"
            _link(_group(account, m), ds.global_id, m.role)
        ds.status = "available"

    _later(account, finish)
    return ActionResult({"GlobalReplicationGroup": ds.to_api(show_members=True)})


def disassociate_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    account = self.current_account
    ds = _datastore(account, self._get_param("GlobalReplicationGroupId"))
    group_id, region = self._get_param("ReplicationGroupId"), self._get_param("ReplicationGroupRegion")
    member = ds.member(region)
    if member is None or member.replication_group_id != group_id:
        raise InvalidParameterValueException(f"Replication group {group_id} in {region} is not a member of "
                                             f"{ds.global_id}.")
    _require_available(ds)
    if member.role == "PRIMARY":
        raise InvalidParameterValueException(f"{group_id} is the primary of {ds.global_id}: it cannot be "
                                             "disassociated; delete the global datastore instead.")
    ds.status, member.status = "modifying", "disassociating"

    def finish() -> None:
        ds.members.remove(member)
        _link(_group(account, member), "", None)
        ds.status = "available" if len(ds.members) > 1 else "primary-only"

    _later(account, finish)
    return ActionResult({"GlobalReplicationGroup": ds.to_api(show_members=True)})


def delete_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    account = self.current_account
    ds = _datastore(account, self._get_param("GlobalReplicationGroupId"))
    if not self._get_bool_param("RetainPrimaryReplicationGroup"):
        raise InvalidParameterValueException("RetainPrimaryReplicationGroup must be true: the primary is never "
                                             "deleted with its global datastore.")
    if len(ds.members) > 1 or ds.status not in ("available", "primary-only"):
        raise InvalidGlobalReplicationGroupState(f"Global replication group {ds.global_id} is {ds.status} with "
                                                 f"{len(ds.members)} member(s): disassociate the secondaries first.")
    ds.status = "deleting"

    def finish() -> None:
        for m in ds.members:
            _link(_group(account, m), "", None)
        _state(account).datastores.pop(ds.global_id, None)

    _later(account, finish)
    return ActionResult({"GlobalReplicationGroup": ds.to_api(show_members=True)})


def increase_replica_count(self: ElastiCacheResponse) -> ActionResult:
    return _change_replica_count(self, more=True)


def decrease_replica_count(self: ElastiCacheResponse) -> ActionResult:
    return _change_replica_count(self, more=False)


def _change_replica_count(self: ElastiCacheResponse, *, more: bool) -> ActionResult:
    group = self.elasticache_backend.describe_replication_groups(self._get_param("ReplicationGroupId"))[0]
    count, per_shard = self._get_int_param("NewReplicaCount"), self._get_param("ReplicaConfiguration")
    if not self._get_bool_param("ApplyImmediately"):
        raise InvalidParameterValueException("ApplyImmediately=false is not supported: pass true.")
    if (count is None) == (not per_shard):
        raise InvalidParameterCombinationException("Specify exactly one of NewReplicaCount and ReplicaConfiguration.")
    if group.status != "available":
        raise InvalidReplicationGroupState(f"Replication group {group.replication_group_id} is {group.status}.")
    wanted = {ng["node_group_id"]: count for ng in group.node_groups} if count is not None else \
        {c["NodeGroupId"]: int(c["NewReplicaCount"]) for c in per_shard}
    shards = {ng["node_group_id"]: ng for ng in group.node_groups}
    fewest = 1 if str(getattr(group, "automatic_failover", "")).lower() == "enabled" else 0
    for shard, replicas in wanted.items():
        if shard not in shards:
            raise InvalidParameterValueException(f"Node group {shard} is not part of {group.replication_group_id}.")
        have = len(shards[shard]["node_group_members"]) - 1
        if more and not have < replicas <= MAX_REPLICAS:
            raise InvalidParameterValueException(f"Node group {shard} has {have} replica(s): the new count must be "
                                                 f"more than that and at most {MAX_REPLICAS}.")
        if not more and not fewest <= replicas < have:
            raise InvalidParameterValueException(f"Node group {shard} has {have} replica(s): the new count must be "
                                                 f"fewer than that and at least {fewest}.")
    group.status = "modifying"

    def finish() -> None:
        for shard, replicas in wanted.items():
            if more:
                _add_replicas(group, shards[shard], replicas)
            else:
                _remove_replicas(group, shards[shard], replicas)
        group.status = "available"

    _later(self.current_account, finish)
    return ActionResult({"ReplicationGroup": group})


_moto_create_replication_group = ElastiCacheResponse.create_replication_group
_moto_delete_replication_group = ElastiCacheResponse.delete_replication_group


def create_replication_group(self: ElastiCacheResponse) -> ActionResult:
    """moto's, honouring NumCacheClusters; with GlobalReplicationGroupId, a secondary of that datastore."""
    account, region = self.current_account, self.region
    global_id = self._get_param("GlobalReplicationGroupId")
    ds = None
    if global_id:
        ds = _datastore(account, global_id)
        _require_available(ds)
        if ds.member(region):
            raise InvalidParameterValueException(f"{global_id} already has a member in {region}.")
        if len(ds.members) >= MAX_REGIONS:
            raise InvalidParameterValueException(f"{global_id} already spans {MAX_REGIONS} regions.")
        inherited = {"Engine": ds.primary.engine, "CacheNodeType": ds.primary.cache_node_type,
                     "EngineVersion": ds.primary.engine_version, "ClusterMode": ds.primary.cluster_mode}
        for key, value in inherited.items():
            given = self._get_param(key)
            if given is not None and value is not None and given != value:
                raise InvalidParameterValueException(f"{key} {given} differs from the global datastore's {value}: "
                                                     "a secondary takes it from the global datastore.")
            self.params[key] = value
        if ds.primary.cluster_enabled:
            self.params["NumNodeGroups"] = len(ds.primary.node_groups)
    result = _moto_create_replication_group(self)
    group = self.elasticache_backend.replication_groups[self._get_param("ReplicationGroupId")]
    nodes = self._get_int_param("NumCacheClusters")
    if not group.cluster_enabled and nodes and not self._get_int_param("ReplicasPerNodeGroup"):
        _add_replicas(group, group.node_groups[0], nodes - 1)  # moto made the primary node only
    if ds is not None:
        member = Member(region, group.replication_group_id, "SECONDARY", "associating")
        ds.members.append(member)
        ds.status = "modifying"
        _link(group, ds.global_id, "SECONDARY")

        def finish() -> None:
            member.status, ds.status = "associated", "available"

        _later(account, finish)
    else:
        _link(group, "", None)
    return result


def delete_replication_group(self: ElastiCacheResponse) -> ActionResult:
    group = self.elasticache_backend.describe_replication_groups(self._get_param("ReplicationGroupId"))[0]
    if group.global_replication_group_id:
        raise InvalidReplicationGroupState(f"Replication group {group.replication_group_id} is a member of "
                                           f"{group.global_replication_group_id}: disassociate it (a secondary) or "
                                           "delete the global datastore (the primary) first.")
    result = _moto_delete_replication_group(self)
    groups = self.elasticache_backend.replication_groups  # moto keeps it "deleting" for ever; AWS forgets it
    _later(self.current_account, lambda: groups.pop(group.replication_group_id, None))
    return result


def call_action(self: ElastiCacheResponse) -> Any:
    settle(self.current_account)
    return BaseResponse.call_action(self)


# -- backend fixes: tags and the Tagging API --------------------------------------------------------
def _global_by_arn(arn: str) -> GlobalDatastore | None:
    match = GLOBAL_ARN.match(arn or "")
    return _datastore(match["account"], match["id"]) if match else None


_moto_list_tags = ElastiCacheBackend.list_tags_for_resource
_moto_add_tags = ElastiCacheBackend.add_tags_to_resource
_moto_remove_tags = ElastiCacheBackend.remove_tags_from_resource
_moto_tag_resource = ElastiCacheBackend.tag_resource
_moto_untag_resource = ElastiCacheBackend.untag_resource
_moto_iter_tagged = ElastiCacheBackend.iter_tagged_resources


def list_tags_for_resource(self: ElastiCacheBackend, arn: str) -> dict[str, list[dict[str, str]]]:
    ds = _global_by_arn(arn)
    if ds is None:
        return _moto_list_tags(self, arn)
    return {"Tags": [{"Key": k, "Value": v} for k, v in ds.tags.items()]}


def add_tags_to_resource(self: ElastiCacheBackend, arn: str, tags: list[dict[str, str]]) -> None:
    ds = _global_by_arn(arn)
    if ds is None:
        return _moto_add_tags(self, arn, tags)
    ds.tags.update({t["Key"]: t["Value"] for t in tags})


def remove_tags_from_resource(self: ElastiCacheBackend, arn: str, keys: list[str]) -> None:
    ds = _global_by_arn(arn)
    if ds is None:
        return _moto_remove_tags(self, arn, keys)
    for key in keys:
        ds.tags.pop(key, None)


def tag_resource(self: ElastiCacheBackend, arn: str, tags: dict[str, str]) -> None:
    ds = _global_by_arn(arn)
    if ds is None:
        return _moto_tag_resource(self, arn, tags)
    ds.tags.update(tags)


def untag_resource(self: ElastiCacheBackend, arn: str, keys: list[str]) -> None:
    remove_tags_from_resource(self, arn, keys)


def iter_tagged_resources(self: ElastiCacheBackend) -> Iterator[TaggedResource]:
    """moto's listing under Resource Explorer's type names (the ARN's resource type), plus the global
    datastores with a member in this region."""
    for resource in _moto_iter_tagged(self):
        yield replace(resource, resource_type=f"elasticache:{resource.arn.split(':')[5]}")
    for ds in _state(self.account_id).datastores.values():
        if ds.member(self.region_name):
            yield TaggedResource(arn=ds.arn, tags=dict(ds.tags), resource_type="elasticache:globalreplicationgroup")


def global_replication_group_info(self: ReplicationGroup) -> dict[str, str] | None:
    if not self.global_replication_group_id:
        return None  # standalone: AWS leaves GlobalReplicationGroupInfo out
    return {"GlobalReplicationGroupId": self.global_replication_group_id,
            "GlobalReplicationGroupMemberRole": self.global_replication_group_member_role}


def register() -> None:
    """Add the operations and fixes to moto's ElastiCache (idempotent)."""
    ReplicationGroup.global_replication_group_member_role = None  # class default: standalone groups have it too
    ReplicationGroup.global_replication_group_info = property(global_replication_group_info)
    for fn in (create_global_replication_group, describe_global_replication_groups, failover_global_replication_group,
               disassociate_global_replication_group, delete_global_replication_group, increase_replica_count,
               decrease_replica_count, create_replication_group, delete_replication_group, call_action):
        setattr(ElastiCacheResponse, fn.__name__, fn)
    for fn in (list_tags_for_resource, add_tags_to_resource, remove_tags_from_resource, tag_resource,
               untag_resource, iter_tagged_resources):
        setattr(ElastiCacheBackend, fn.__name__, fn)
