"""MemoryDB Multi-Region clusters, and cluster changes that take time, on top of moto's MemoryDB.

moto 5.2 has single-region clusters that are ``available`` the moment they are asked for and change
shape instantly, no Multi-Region clusters, and a backend the Resource Groups Tagging API cannot see.
We add, as AWS documents them:

* ``CreateMultiRegionCluster`` / ``DescribeMultiRegionClusters``: a Multi-Region cluster belongs to no
  region (ARN ``arn:aws:memorydb::<account>:multiregioncluster/<name>``), is answered from any region's
  endpoint, and is named ``<prefix>-<suffix>`` with the prefix of the region it was created in
  (AWS: us-west-1's is "virxk"; the others are not published, so ours are made up, stable per region).
  Node type (R7g, xlarge and larger), shard count, engine and TLS belong to the Multi-Region cluster;
  each *regional* cluster (``CreateCluster`` with ``MultiRegionClusterName``) chooses only its
  replicas per shard. Only the Regions AWS lists for Multi-Region take one.
* Cluster transitions: a created cluster is ``creating`` and an ``UpdateCluster`` that changes replicas,
  shards or node type leaves it ``updating`` for ``AWSSIM_DELAY_SECONDS`` (read at call time), then the
  new shape shows in ``Shards`` (``ShowShardDetails``). A cluster that is not ``available`` refuses
  ``UpdateCluster`` (InvalidClusterStateFault); asking for the shape it has is NoOperationFault.
  Transitions complete lazily: every MemoryDB request first settles the account's due ones.
* What AWS refuses of regional clusters: a second regional cluster of one Multi-Region cluster in the
  same region, a node type or shard count other than the Multi-Region cluster's, TLS off, and
  ``UpdateCluster`` of shards, node type or engine version of a regional cluster (that is
  ``UpdateMultiRegionCluster``'s job, not modelled here). ``DeleteCluster`` of a regional cluster
  takes its region out of the Multi-Region cluster.
* Replicas per shard 0 (moto turns 0 into 1) and ``Engine`` / ``MultiRegionClusterName`` in the
  cluster's description.
* Tags for discovery: clusters (``memorydb:cluster``), snapshots (``memorydb:snapshot``) and
  Multi-Region clusters (``memorydb:multiregioncluster``, listed in every region holding one of its
  regional clusters, so the surviving region still finds it during an outage) are listed by the
  Tagging API and Resource Explorer; ``TagResource`` / ``ListTags`` take a Multi-Region cluster's ARN.

Not modelled: ``UpdateMultiRegionCluster``, ``DeleteMultiRegionCluster``, cross-region data (a
regional cluster holds no data here), and MemoryDB's ``CopySnapshot`` stays moto's (same region).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource
from moto.core.responses import ActionResult, BaseResponse
from moto.memorydb import models as memorydb_models
from moto.memorydb import urls as memorydb_urls
from moto.memorydb.exceptions import ClusterNotFoundFault, InvalidParameterValueException, MemoryDBClientError
from moto.memorydb.models import MemoryDBBackend, MemoryDBCluster
from moto.memorydb.responses import MemoryDBResponse

HOME = "us-east-1"  # the backend that keeps an account's Multi-Region clusters (they belong to no region)
MULTI_REGION_REGIONS = frozenset({  # where AWS offers MemoryDB Multi-Region
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "eu-west-2",
    "ap-northeast-1", "ap-southeast-2", "ap-south-1", "ap-northeast-2", "ap-southeast-1"})
MULTI_REGION_NODE_TYPE = re.compile(r"^db\.r7g\.\d*xlarge$")  # R7g, xlarge and larger
MULTI_REGION_ARN = re.compile(r"^arn:aws[\w-]*:memorydb::(?P<account>\d{12}):multiregioncluster/(?P<name>.+)$")
MAX_REPLICAS = 5


class MultiRegionClusterNotFoundFault(MemoryDBClientError):
    def __init__(self, name: str):
        super().__init__("MultiRegionClusterNotFoundFault", f"Multi-Region cluster {name} not found.")


class MultiRegionClusterAlreadyExistsFault(MemoryDBClientError):
    def __init__(self, name: str):
        super().__init__("MultiRegionClusterAlreadyExistsFault", f"Multi-Region cluster {name} already exists.")


class InvalidParameterCombination(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("InvalidParameterCombinationException", msg)


class InvalidClusterStateFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("InvalidClusterStateFault", msg)


class NoOperationFault(MemoryDBClientError):
    def __init__(self, msg: str):
        super().__init__("NoOperationFault", msg)


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


def region_prefix(region: str) -> str:
    """The name prefix of Multi-Region clusters created in ``region`` (us-west-1's is AWS's own)."""
    if region == "us-west-1":
        return "virxk"
    digest = hashlib.sha256(region.encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:5])


class MultiRegionCluster:
    def __init__(self, account_id: str, region: str, suffix: str, node_type: str, engine: str,
                 engine_version: str, num_shards: int, description: str, parameter_group: str):
        self.name = f"{region_prefix(region)}-{suffix}"
        self.arn = f"arn:aws:memorydb::{account_id}:multiregioncluster/{self.name}"
        self.node_type, self.engine, self.engine_version = node_type, engine, engine_version
        self.num_shards, self.description, self.parameter_group = num_shards, description, parameter_group
        self.status = "creating"
        self.due: float | None = time.time() + _delay()
        self.members: list[MemoryDBCluster] = []

    def member_in(self, region: str) -> MemoryDBCluster | None:
        return next((c for c in self.members if c.region == region), None)

    def to_dict(self, details: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MultiRegionClusterName": self.name, "Description": self.description, "Status": self.status,
            "NodeType": self.node_type, "Engine": self.engine, "EngineVersion": self.engine_version,
            "NumberOfShards": self.num_shards, "MultiRegionParameterGroupName": self.parameter_group,
            "TLSEnabled": True, "ARN": self.arn,
        }
        if details:
            out["Clusters"] = [{"ClusterName": c.cluster_name, "Region": c.region, "Status": c.status, "ARN": c.arn}
                               for c in self.members]
        return {k: v for k, v in out.items() if v is not None and v != ""}


class MemoryDBSimBackend(MemoryDBBackend, TaggableResourcesMixin):
    """moto's MemoryDB backend, seen by the Tagging API, with Multi-Region clusters (kept on ``HOME``)."""

    SERVICE_NAMESPACE = "memorydb"

    @property
    def _url_module(self) -> Any:  # moto finds a backend's URLs beside its module: ours are moto's
        return memorydb_urls

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.multi_region_clusters: dict[str, MultiRegionCluster] = {}

    # -- the account's Multi-Region clusters --------------------------------------------------
    @property
    def home(self) -> MemoryDBSimBackend:
        return memorydb_models.memorydb_backends[self.account_id][HOME]  # type: ignore[return-value]

    def multi_region_cluster(self, name: str) -> MultiRegionCluster:
        found = self.home.multi_region_clusters.get(name)
        if found is None:
            raise MultiRegionClusterNotFoundFault(name)
        return found

    def settle(self) -> None:
        """Complete every transition of the account whose time has come."""
        now = time.time()
        for backend in list(memorydb_models.memorydb_backends[self.account_id].values()):
            for cluster in backend.clusters.values():
                due: tuple[float, Callable[[], None]] | None = getattr(cluster, "awssim_due", None)
                if due and due[0] <= now:
                    due[1]()
                    cluster.status, cluster.awssim_due = "available", None
            for mr in getattr(backend, "multi_region_clusters", {}).values():
                if mr.due and mr.due <= now:
                    mr.status, mr.due = "available", None

    def create_multi_region_cluster(self, suffix: str, node_type: str, engine: str | None,
                                    engine_version: str | None, num_shards: int | None, tls: bool | None,
                                    description: str | None, parameter_group: str | None,
                                    tags: list[dict[str, str]] | None) -> MultiRegionCluster:
        if self.region_name not in MULTI_REGION_REGIONS:
            raise InvalidParameterValueException(f"MemoryDB Multi-Region is not available in {self.region_name}.")
        if not MULTI_REGION_NODE_TYPE.match(node_type or ""):
            raise InvalidParameterValueException(
                f"Node type {node_type} is not supported for Multi-Region clusters (R7g, xlarge and above).")
        if tls is False:
            raise InvalidParameterCombination("Multi-Region clusters require TLS.")
        mr = MultiRegionCluster(self.account_id, self.region_name, suffix, node_type, engine or "valkey",
                                engine_version or "7.3", num_shards or 1, description or "",
                                parameter_group or "default.memorydb-valkey7.multiregion")
        if mr.name in self.home.multi_region_clusters:
            raise MultiRegionClusterAlreadyExistsFault(mr.name)
        self.home.multi_region_clusters[mr.name] = mr
        if tags:
            self.home.tagger.tag_resource(mr.arn, tags)
        return mr

    # -- tags: Multi-Region clusters' live on HOME; the Tagging API's calls give a dict -------------
    def _list_arns(self) -> list[str]:
        return super()._list_arns() + [mr.arn for mr in self.multi_region_clusters.values()]

    def _owner(self, arn: str) -> MemoryDBBackend:
        return self.home if MULTI_REGION_ARN.match(arn or "") else self

    def list_tags(self, resource_arn: str) -> list[dict[str, str]]:
        return MemoryDBBackend.list_tags(self._owner(resource_arn), resource_arn)

    def tag_resource(self, resource_arn: str, tags: Any) -> list[dict[str, str]]:  # type: ignore[override]
        if isinstance(tags, dict):
            tags = [{"Key": k, "Value": v} for k, v in tags.items()]
        return MemoryDBBackend.tag_resource(self._owner(resource_arn), resource_arn, tags)

    def untag_resource(self, resource_arn: str, tag_keys: list[str]) -> list[dict[str, str]]:  # type: ignore[override]
        return MemoryDBBackend.untag_resource(self._owner(resource_arn), resource_arn, tag_keys)

    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        def tags(owner: MemoryDBBackend, arn: str) -> dict[str, str]:
            return {t["Key"]: t["Value"] for t in owner.tagger.list_tags_for_resource(arn)["Tags"]}

        for cluster in self.clusters.values():
            yield TaggedResource(cluster.arn, tags(self, cluster.arn), "memorydb:cluster")
        for snapshot in self.snapshots.values():
            yield TaggedResource(snapshot.arn, tags(self, snapshot.arn), "memorydb:snapshot")
        for mr in self.home.multi_region_clusters.values():
            if mr.member_in(self.region_name):
                yield TaggedResource(mr.arn, tags(self.home, mr.arn), "memorydb:multiregioncluster")


# -- cluster shape --------------------------------------------------------------------------------
def _reshape(cluster: MemoryDBCluster, replicas: int | None = None, shards: int | None = None,
             node_type: str | None = None) -> None:
    if replicas is not None:
        cluster.num_replicas_per_shard = replicas
        cluster.availability_mode = "SingleAZ" if replicas == 0 else "MultiAZ"
    if shards is not None:
        cluster.num_shards = shards
    if node_type is not None:
        cluster.node_type = node_type
    cluster.shards = cluster.get_shard_details()


_moto_to_dict = MemoryDBCluster.to_dict


def cluster_to_dict(self: MemoryDBCluster) -> dict[str, Any]:
    out = _moto_to_dict(self)
    out["Engine"] = getattr(self, "engine", None) or "redis"
    if getattr(self, "multi_region_cluster_name", None):
        out["MultiRegionClusterName"] = self.multi_region_cluster_name
    return out


# -- response methods on moto's MemoryDBResponse --------------------------------------------------
def _params(self: MemoryDBResponse) -> dict[str, Any]:
    return json.loads(self.body or "{}")


def call_action(self: MemoryDBResponse) -> Any:
    self.memorydb_backend.settle()
    return BaseResponse.call_action(self)


def create_multi_region_cluster(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    mr = self.memorydb_backend.create_multi_region_cluster(
        p.get("MultiRegionClusterNameSuffix"), p.get("NodeType"), p.get("Engine"), p.get("EngineVersion"),
        p.get("NumShards"), p.get("TLSEnabled"), p.get("Description"), p.get("MultiRegionParameterGroupName"),
        p.get("Tags"))
    return ActionResult({"MultiRegionCluster": mr.to_dict(details=False)})


def describe_multi_region_clusters(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    backend = self.memorydb_backend
    name = p.get("MultiRegionClusterName")
    found = [backend.multi_region_cluster(name)] if name else list(backend.home.multi_region_clusters.values())
    details = bool(p.get("ShowClusterDetails"))
    return ActionResult({"MultiRegionClusters": [mr.to_dict(details) for mr in found]})


_moto_create_cluster = MemoryDBResponse.create_cluster


def create_cluster(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    backend = self.memorydb_backend
    mr = None
    if p.get("MultiRegionClusterName"):
        if backend.region_name not in MULTI_REGION_REGIONS:
            raise InvalidParameterValueException(f"MemoryDB Multi-Region is not available in {backend.region_name}.")
        mr = backend.multi_region_cluster(p["MultiRegionClusterName"])
        if mr.member_in(backend.region_name):
            raise InvalidParameterCombination(f"Multi-Region cluster {mr.name} already has a regional cluster in "
                                              f"{backend.region_name}: {mr.member_in(backend.region_name).cluster_name}.")
        if p.get("NodeType") != mr.node_type:
            raise InvalidParameterCombination(f"NodeType must be {mr.node_type}, the Multi-Region cluster's.")
        if p.get("NumShards") not in (None, mr.num_shards):
            raise InvalidParameterCombination(f"NumShards must be {mr.num_shards}, the Multi-Region cluster's.")
        if p.get("TLSEnabled") is False:
            raise InvalidParameterCombination("Multi-Region clusters require TLS.")
    _moto_create_cluster(self)
    cluster = backend.clusters[p["ClusterName"]]
    replicas = p.get("NumReplicasPerShard")
    _reshape(cluster, replicas=1 if replicas is None else replicas, shards=mr.num_shards if mr else None)
    cluster.engine = mr.engine if mr else p.get("Engine") or "redis"
    if mr:
        cluster.multi_region_cluster_name = mr.name
        mr.members.append(cluster)
    cluster.status = "creating"
    cluster.awssim_due = (time.time() + _delay(), lambda: None)
    return ActionResult({"Cluster": cluster.to_dict()})


_moto_update_cluster = MemoryDBResponse.update_cluster


def update_cluster(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    backend = self.memorydb_backend
    cluster = backend.clusters.get(p.get("ClusterName"))
    if cluster is None:
        raise ClusterNotFoundFault(msg="Cluster not found.")
    replicas = (p.get("ReplicaConfiguration") or {}).get("ReplicaCount")
    shards = (p.get("ShardConfiguration") or {}).get("ShardCount")
    node_type = p.get("NodeType")
    if getattr(cluster, "multi_region_cluster_name", None) and (shards is not None or node_type or p.get("EngineVersion")):
        raise InvalidParameterCombination(
            f"Cluster {cluster.cluster_name} is a regional cluster of {cluster.multi_region_cluster_name}: change its "
            "shards, node type or engine version with UpdateMultiRegionCluster.")
    if cluster.status != "available":
        raise InvalidClusterStateFault(f"Cluster {cluster.cluster_name} is {cluster.status}, not available.")
    if replicas is not None and not 0 <= replicas <= MAX_REPLICAS:
        raise InvalidParameterValueException(f"ReplicaCount must be between 0 and {MAX_REPLICAS}.")
    reshaping = {"replicas": replicas if replicas != cluster.num_replicas_per_shard else None,
                 "shards": shards if shards != cluster.num_shards else None,
                 "node_type": node_type if node_type != cluster.node_type else None}
    others = {k: v for k, v in p.items() if k not in ("ClusterName", "ReplicaConfiguration", "ShardConfiguration",
                                                      "NodeType") and v is not None}
    if not any(v is not None for v in reshaping.values()) and not others:
        raise NoOperationFault(f"No modifications were requested for cluster {cluster.cluster_name}.")
    if others:
        # Description, windows, ACL ...: moto's own update, without the shape it would change at once.
        self.body = json.dumps({"ClusterName": cluster.cluster_name, **others})
        _moto_update_cluster(self)
    if any(v is not None for v in reshaping.values()):
        cluster.status = "updating"
        cluster.awssim_due = (time.time() + _delay(), lambda: _reshape(cluster, **reshaping))
    return ActionResult({"Cluster": cluster.to_dict()})


_moto_delete_cluster = MemoryDBResponse.delete_cluster


def delete_cluster(self: MemoryDBResponse) -> ActionResult:
    p = _params(self)
    backend = self.memorydb_backend
    cluster = backend.clusters.get(p.get("ClusterName"))
    if cluster is not None and cluster.status in ("creating", "updating"):
        raise InvalidClusterStateFault(f"Cluster {cluster.cluster_name} is {cluster.status}.")
    result = _moto_delete_cluster(self)
    name = getattr(cluster, "multi_region_cluster_name", None)
    if name and name in backend.home.multi_region_clusters:  # its region leaves the Multi-Region cluster
        backend.home.multi_region_clusters[name].members.remove(cluster)
    return result


def register() -> None:
    """Serve the additions from moto's MemoryDB (idempotent). Backends made from now on are ours."""
    backends = memorydb_models.memorydb_backends
    if backends.backend is not MemoryDBSimBackend:
        backends.backend = MemoryDBSimBackend
        backends.clear()  # accounts created before (none, when installed first) would keep moto's class
    MemoryDBCluster.awssim_due = None
    MemoryDBCluster.to_dict = cluster_to_dict
    for fn in (call_action, create_multi_region_cluster, describe_multi_region_clusters, create_cluster,
               update_cluster, delete_cluster):
        setattr(MemoryDBResponse, fn.__name__, fn)
