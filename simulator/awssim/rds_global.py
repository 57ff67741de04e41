"""Aurora global-database switchover and failover on top of moto's RDS (moto 5.2 has neither).

moto keeps global clusters on the us-east-1 backend of each account and remembers each member
cluster's role in ``DBCluster.is_writer``. We add ``SwitchoverGlobalCluster`` and
``FailoverGlobalCluster`` as response methods of moto's ``RDSResponse`` (moto dispatches an
Action to the snake_case method of that name), so they serve in-process and in server mode.

A transition is not instant on AWS: the global cluster reports ``switching-over`` /
``failing-over`` with a ``FailoverState`` for a while. We record when it is due
(``AWSSIM_DELAY_SECONDS`` after the call, read at call time) and complete it lazily: every RDS
request first settles the account's due transitions, as if AWS had worked in the background.

We also straighten a few moto details an adapter relies on:
``DescribeGlobalClusters`` honours ``GlobalClusterIdentifier`` (and 404s like AWS),
``CreateGlobalCluster`` from an existing cluster (in any region) makes that cluster the writer,
``RemoveFromGlobalCluster`` detaches the cluster wherever it lives, and the instances of a
secondary cluster all report ``IsClusterWriter: false`` (AWS has no writer instance there).

Global clusters are taggable, as on AWS: ``CreateGlobalCluster(Tags=...)`` keeps its tags, and
``AddTagsToResource`` / ``ListTagsForResource`` / ``RemoveTagsFromResource`` take the global ARN
``arn:aws:rds::<account>:global-cluster:<id>`` (no region) from any region's endpoint. Tag discovery
finds them as ``rds:global-cluster`` (see ``iter_tagged_resources``).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, BaseResponse
from moto.rds import models as rds_models
from moto.rds.exceptions import DBClusterNotFoundError, InvalidParameterCombination, RDSClientError
from moto.rds.models import DBCluster, GlobalCluster, RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

GLOBAL_REGION = "us-east-1"  # where moto keeps global clusters (RDSResponse.global_backend)
CLUSTER_ARN = re.compile(r"^arn:aws[\w-]*:rds:(?P<region>[\w-]+):(?P<account>\d{12}):cluster:(?P<id>.+)$")
GLOBAL_ARN = re.compile(r"^arn:aws[\w-]*:rds::(?P<account>\d{12}):global-cluster:(?P<id>.+)$")


class GlobalClusterNotFoundFault(RDSClientError):
    def __init__(self, identifier: str):
        super().__init__("GlobalClusterNotFoundFault", f"Global cluster {identifier} not found.")


class InvalidGlobalClusterState(RDSClientError):
    def __init__(self, message: str):
        super().__init__("InvalidGlobalClusterStateFault", message)


class InvalidDBClusterState(RDSClientError):
    def __init__(self, message: str):
        super().__init__("InvalidDBClusterStateFault", message)


class InvalidParameterValue(RDSClientError):
    def __init__(self, message: str):
        super().__init__("InvalidParameterValue", message)


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


def settle(account_id: str) -> None:
    """Complete every transition of the account whose time has come."""
    for gc in rds_backends[account_id][GLOBAL_REGION].global_clusters.values():
        if gc.awssim_due and gc.awssim_due[0] <= time.time():
            _, target, old_writer = gc.awssim_due
            if old_writer is not None:
                old_writer.is_writer = False
            target.is_writer = True
            gc.status, gc.failover_state, gc.awssim_due = "available", None, None


def _global_cluster(account_id: str, identifier: str) -> GlobalCluster:
    gc = rds_backends[account_id][GLOBAL_REGION].global_clusters.get(identifier)
    if gc is None:
        raise GlobalClusterNotFoundFault(identifier)
    return gc


def _cluster_by_arn(arn: str) -> DBCluster:
    match = CLUSTER_ARN.match(arn or "")
    if not match:
        # AWS wants the ARN here, not the identifier; so do we, so adapters get it right.
        raise InvalidParameterValue(f"TargetDbClusterIdentifier must be a DB cluster ARN, got {arn!r}.")
    try:
        return rds_models.find_cluster(arn)
    except (DBClusterNotFoundError, KeyError):
        raise DBClusterNotFoundError(arn) from None


def start_transition(
    account_id: str, identifier: str, target_arn: str, *, kind: str, data_loss: bool
) -> GlobalCluster:
    """Validate like AWS, then put the global cluster into switching-over / failing-over."""
    gc = _global_cluster(account_id, identifier)
    if gc.status != "available" or gc.awssim_due:
        raise InvalidGlobalClusterState(f"Global cluster {identifier} is {gc.status}; wait until it is available.")
    target = _cluster_by_arn(target_arn)
    if target not in gc.members:
        raise InvalidGlobalClusterState(f"DB cluster {target_arn} is not a member of global cluster {identifier}.")
    if target.is_writer:
        raise InvalidGlobalClusterState(f"DB cluster {target_arn} is already the primary of {identifier}.")
    if target.status != "available":
        raise InvalidDBClusterState(f"DB cluster {target_arn} is {target.status}.")
    old_writer = next((m for m in gc.members if m.is_writer), None)
    gc.status = "switching-over" if kind == "switchover" else "failing-over"
    gc.failover_state = {
        "Status": "failing-over",
        "FromDbClusterArn": old_writer.db_cluster_arn if old_writer else None,
        "ToDbClusterArn": target.db_cluster_arn,
        "IsDataLossAllowed": data_loss,
    }
    gc.awssim_due = (time.time() + _delay(), target, old_writer)
    return gc


# -- response methods added to moto's RDSResponse ------------------------------------------------
def switchover_global_cluster(self: RDSResponse) -> ActionResult:
    gc = start_transition(
        self.current_account,
        self.params["GlobalClusterIdentifier"],
        self.params["TargetDbClusterIdentifier"],
        kind="switchover",
        data_loss=False,
    )
    return ActionResult({"GlobalCluster": gc})


def failover_global_cluster(self: RDSResponse) -> ActionResult:
    allow_data_loss = bool(self.params.get("AllowDataLoss"))
    if allow_data_loss and self.params.get("Switchover"):
        raise InvalidParameterCombination("AllowDataLoss and Switchover cannot be specified together.")
    gc = start_transition(
        self.current_account,
        self.params["GlobalClusterIdentifier"],
        self.params["TargetDbClusterIdentifier"],
        # Switchover=True (or neither flag, the older managed planned failover) loses no data.
        kind="failover" if allow_data_loss else "switchover",
        data_loss=allow_data_loss,
    )
    return ActionResult({"GlobalCluster": gc})


def describe_global_clusters(self: RDSResponse) -> ActionResult:
    identifier = self.params.get("GlobalClusterIdentifier")
    if identifier:
        clusters = [_global_cluster(self.current_account, identifier)]
    else:
        clusters = self.global_backend.describe_global_clusters()
    return ActionResult({"GlobalClusters": clusters})


def remove_from_global_cluster(self: RDSResponse) -> ActionResult:
    gc = _global_cluster(self.current_account, self.params["GlobalClusterIdentifier"])
    cluster = _cluster_by_arn(self.params["DbClusterIdentifier"])
    if cluster not in gc.members:
        raise DBClusterNotFoundError(self.params["DbClusterIdentifier"])
    gc.members.remove(cluster)
    # A detached cluster is standalone: no longer part of the global database, no global role.
    cluster.global_cluster_identifier = None
    cluster.is_writer = False
    return ActionResult({"GlobalCluster": gc})


def call_action(self: RDSResponse) -> Any:
    settle(self.current_account)
    return BaseResponse.call_action(self)


_moto_create_global_cluster_response = RDSResponse.create_global_cluster


def create_global_cluster_response(self: RDSResponse) -> ActionResult:
    """moto's CreateGlobalCluster, keeping the request's ``Tags`` (moto drops them)."""
    result = _moto_create_global_cluster_response(self)
    tags = self.params.get("Tags")
    if tags:
        _global_cluster(self.current_account, self.params["GlobalClusterIdentifier"]).add_tags(tags)
    return result


# -- backend fixes ------------------------------------------------------------------------------
_moto_create_global_cluster = RDSBackend.create_global_cluster
_moto_db_cluster_members = DBCluster.db_cluster_members
_moto_resource_for_tagging = RDSBackend._get_resource_for_tagging
_moto_iter_tagged_resources = RDSBackend.iter_tagged_resources


def _get_resource_for_tagging(self: RDSBackend, arn: str) -> Any:
    """moto's tag lookup, plus global clusters (moto's ARN check refuses ``global-cluster``)."""
    match = GLOBAL_ARN.match(arn or "")
    if match:
        return _global_cluster(match["account"], match["id"])
    return _moto_resource_for_tagging(self, arn)


def global_cluster_regions(gc: GlobalCluster) -> list[str]:
    """The regions whose tag listings report a global cluster: every region holding one of its
    member clusters (no members: us-east-1, where moto keeps it).

    A global cluster belongs to no region (its ARN names none; Resource Explorer reports Region
    ``global``). It is listed with each member's region rather than only the writer's so that
    discovery finds it from whichever region is still up: during a regional outage the surviving
    region's LOCAL index and its Tagging API still return it. Discovery de-duplicates by ARN.
    """
    regions = sorted({member.region for member in gc.members})
    return regions or [GLOBAL_REGION]


def iter_tagged_resources(self: RDSBackend) -> Any:
    yield from _moto_iter_tagged_resources(self)
    for gc in rds_backends[self.account_id][GLOBAL_REGION].global_clusters.values():
        if self.region_name in global_cluster_regions(gc):
            yield TaggedResource(arn=gc.arn, tags={t["Key"]: t["Value"] for t in gc.get_tags()},
                                 resource_type="rds:global-cluster")


def create_global_cluster(self: RDSBackend, global_cluster_identifier: str, source_db_cluster_identifier: str | None,
                          engine: str | None, *args: Any, **kwargs: Any) -> GlobalCluster:
    source = CLUSTER_ARN.match(source_db_cluster_identifier or "")
    if source and source["region"] != self.region_name:
        # moto looks for the source cluster on its us-east-1 backend only; AWS takes it from any region.
        cluster = _cluster_by_arn(source_db_cluster_identifier)  # type: ignore[arg-type]
        if engine is not None:
            raise InvalidParameterCombination("When creating global cluster from existing db cluster, value for "
                                              "engineName should not be specified since it will be inherited")
        gc = _moto_create_global_cluster(self, global_cluster_identifier, None, cluster.engine, *args, **kwargs)
        gc.engine_version = cluster.engine_version
        gc.members.append(cluster)
    else:
        gc = _moto_create_global_cluster(self, global_cluster_identifier, source_db_cluster_identifier, engine,
                                         *args, **kwargs)
    for member in gc.members:  # created from an existing cluster: it becomes the primary
        member.is_writer = True
        member.global_cluster_identifier = gc.global_cluster_identifier  # AWS shows the name
    return gc


def db_cluster_members(self: DBCluster) -> list[dict[str, Any]]:
    rows = _moto_db_cluster_members.fget(self)
    if self.global_cluster_identifier and not self.is_writer:
        for row in rows:  # a secondary cluster serves reads only
            row["IsClusterWriter"] = False
    return rows


def register() -> None:
    """Add the operations and fixes to moto's RDS (idempotent)."""
    # New GlobalCluster attributes, as class defaults so clusters that already exist have them too.
    GlobalCluster.failover_state = None  # serialized as FailoverState while a transition runs
    GlobalCluster.awssim_due = None  # (epoch seconds when due, target DBCluster, old writer DBCluster)
    for fn in (switchover_global_cluster, failover_global_cluster, describe_global_clusters,
               remove_from_global_cluster, call_action):
        setattr(RDSResponse, fn.__name__, fn)
    RDSResponse.create_global_cluster = create_global_cluster_response
    RDSBackend.create_global_cluster = create_global_cluster
    RDSBackend._get_resource_for_tagging = _get_resource_for_tagging
    RDSBackend.iter_tagged_resources = iter_tagged_resources
    DBCluster.db_cluster_members = property(db_cluster_members)
