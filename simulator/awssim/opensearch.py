"""Amazon OpenSearch Service cross-cluster connections, and domain details, on top of moto (5.2 has neither).

moto serves OpenSearch domains (``moto.opensearch``, reached through ``moto.es``'s URLs). We add:

* **Cross-cluster connections** (``CreateOutboundConnection``, ``DescribeOutboundConnections``,
  ``DescribeInboundConnections``, ``AcceptInboundConnection``, ``RejectInboundConnection``,
  ``DeleteOutboundConnection``, ``DeleteInboundConnection``), the control plane of cross-cluster search
  and replication. One connection joins a *local* domain (the one that asks: for replication, the
  follower) to a *remote* one (the leader), in any account and region: the local owner sees it as
  outbound in the local domain's account and region, the remote owner as inbound in the remote
  domain's. Its status moves as on AWS, each step taking ``AWSSIM_DELAY_SECONDS`` (read at call time):
  ``VALIDATING`` -> ``PENDING_ACCEPTANCE`` (or ``VALIDATION_FAILED``: a remote domain that does not exist,
  either side without node-to-node encryption or fine-grained access control, a leader on a lower
  version than the follower, M3/T2 instances) -> once accepted ``APPROVED`` -> ``PROVISIONING`` ->
  ``ACTIVE``; ``REJECTING`` -> ``REJECTED``; ``DELETING`` -> ``DELETED``, still listed (AWS keeps a
  deleted connection visible for 15 days). The inbound side never sees a connection still validating or
  that failed validation (those statuses are not in its enum). Status is computed from the recorded
  times, so nothing has to run in the background.
* **Refusals AWS makes**: a domain connected to 20 others (``LimitExceededException``), a second live
  connection of one domain under the same alias (``ResourceAlreadyExistsException``), a domain
  connecting to itself or a local domain of another account or region (``ValidationException``),
  accepting or rejecting a connection that is not pending, deleting one already deleting or deleted,
  an unknown connection id (``ResourceNotFoundException``), unknown filter names, a bad page token,
  and deleting a domain that still has live connections (AWS: remove them first).
* **Domain configuration changes take time**: ``UpdateDomainConfig`` puts the domain into
  ``Processing: true`` for ``AWSSIM_DELAY_SECONDS`` and refuses another change meanwhile (AWS: "A
  change/update is in progress"); a partial ``ClusterConfig`` is merged into the current one, as AWS
  does (moto replaces it whole); an unknown domain is ``ResourceNotFoundException`` (moto: a 500);
  instance types must be ``<family>.<size>.search``. ``DescribeDomains`` takes 1 to 5 names, as AWS.
* **Tagging**: domains are taggable resources (``es:domain``) for the Resource Groups Tagging API and
  Resource Explorer; ``ListTags`` of an unknown domain ARN is ``ResourceNotFoundException``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource
from moto.core.responses import BaseResponse
from moto.moto_api._internal import mock_random
from moto.opensearch import models as os_models
from moto.opensearch.models import OpenSearchDomain, OpenSearchServiceBackend

MAX_CONNECTED_DOMAINS = 20  # "a domain can be connected ... to a maximum of 20 other domains"
PAGE = 100  # DescribeOutbound/InboundConnections MaxResults: default and maximum
TERMINAL = frozenset({"VALIDATION_FAILED", "REJECTED", "DELETED"})
GONE = TERMINAL | {"REJECTING", "DELETING"}  # no longer a live connection
NOT_INBOUND = frozenset({"VALIDATING", "VALIDATION_FAILED"})  # outbound-only statuses
OUTBOUND_FILTERS = {
    "connection-id": lambda c: c.connection_id,
    "remote-domain-info.domain-name": lambda c: c.remote.name,
    "remote-domain-info.owner-id": lambda c: c.remote.account,
    "remote-domain-info.region": lambda c: c.remote.region,
    "local-domain-info.domain-name": lambda c: c.local.name,
}
INBOUND_FILTERS = {
    "connection-id": lambda c: c.connection_id,
    "local-domain-info.domain-name": lambda c: c.local.name,
    "local-domain-info.owner-id": lambda c: c.local.account,
    "local-domain-info.region": lambda c: c.local.region,
    "remote-domain-info.domain-name": lambda c: c.remote.name,
}
INSTANCE_TYPE = re.compile(r"^[a-z0-9-]+\.[a-z0-9]+\.search$")
STATUS_MESSAGES = {
    "VALIDATING": "Connection request is being validated.",
    "PENDING_ACCEPTANCE": "Connection is waiting for the remote domain owner to accept it.",
    "APPROVED": "Connection was approved by the remote domain owner.",
    "PROVISIONING": "Connection is being provisioned.",
    "ACTIVE": "Connection is active.",
    "REJECTING": "Connection is being rejected.",
    "REJECTED": "Connection was rejected by the remote domain owner.",
    "DELETING": "Connection is being deleted.",
    "DELETED": "Connection is deleted.",
}


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("ValidationException", message)


class ResourceNotFoundException(JsonRESTError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ResourceNotFoundException", message)


class ResourceAlreadyExistsException(JsonRESTError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ResourceAlreadyExistsException", message)


class LimitExceededException(JsonRESTError):
    code = 409

    def __init__(self, message: str):
        super().__init__("LimitExceededException", message)


class InvalidPaginationTokenException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("InvalidPaginationTokenException", message)


# -- connections ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DomainRef:
    account: str
    region: str
    name: str

    def info(self) -> dict[str, Any]:
        return {"AWSDomainInformation": {"OwnerId": self.account, "DomainName": self.name, "Region": self.region}}

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.name}"


@dataclass
class Connection:
    connection_id: str
    alias: str
    local: DomainRef
    remote: DomainRef
    mode: str
    properties: dict[str, Any] | None
    validated_at: float  # when VALIDATING ends
    failure: str | None = None  # why validation fails, decided at creation from both domains
    accepted_at: float | None = None
    active_at: float | None = None
    ended: tuple[str, float, float] | None = None  # ("REJECT" | "DELETE", since, done at)

    def status(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.ended:
            kind, _, done = self.ended
            if kind == "DELETE":
                return "DELETING" if now < done else "DELETED"
            return "REJECTING" if now < done else "REJECTED"
        if now < self.validated_at:
            return "VALIDATING"
        if self.failure:
            return "VALIDATION_FAILED"
        if self.accepted_at is None:
            return "PENDING_ACCEPTANCE"
        if now < (self.accepted_at + self.active_at) / 2:  # type: ignore[operator]
            return "APPROVED"
        return "PROVISIONING" if now < self.active_at else "ACTIVE"  # type: ignore[operator]

    def to_dict(self, *, outbound: bool) -> dict[str, Any]:
        status = self.status()
        out: dict[str, Any] = {
            "LocalDomainInfo": self.local.info(), "RemoteDomainInfo": self.remote.info(),
            "ConnectionId": self.connection_id,
            "ConnectionStatus": {"StatusCode": status,
                                 "Message": self.failure if status == "VALIDATION_FAILED" else STATUS_MESSAGES[status]},
            "ConnectionMode": self.mode,
        }
        if outbound:
            out["ConnectionAlias"] = self.alias
            if self.properties is not None:
                out["ConnectionProperties"] = self.properties
        return out


def _backend(ref: DomainRef) -> AwssimOpenSearchBackend:
    return os_models.opensearch_backends[ref.account][ref.region]  # type: ignore[return-value]


def _version(engine_version: str) -> tuple[int, int, int]:
    """Order engine versions: every Elasticsearch before every OpenSearch, then by number."""
    engine, _, number = engine_version.partition("_")
    parts = [int(p) for p in re.findall(r"\d+", number)[:2]] + [0, 0]
    return (1 if engine == "OpenSearch" else 0, parts[0], parts[1])


def validation_failure(local: OpenSearchDomain, remote: OpenSearchDomain | None, remote_ref: DomainRef) -> str | None:
    """Why AWS's validation of a connection request fails, or None (cross-cluster prerequisites)."""
    if remote is None:
        return f"Remote domain {remote_ref.name} was not found in account {remote_ref.account}, {remote_ref.region}."
    for domain in (local, remote):
        if not (domain.node_to_node_encryption_options or {}).get("Enabled"):
            return f"Domain {domain.domain_name} must have node-to-node encryption enabled."
        if not (domain.advanced_security_options or {}).get("Enabled"):
            return f"Domain {domain.domain_name} must have fine-grained access control enabled."
        instance_type = (domain.cluster_config or {}).get("InstanceType", "")
        if instance_type.startswith(("t2.", "m3.")):
            return f"Domain {domain.domain_name} uses {instance_type}: M3 and T2 instances cannot be connected."
    if _version(remote.engine_version.options) < _version(local.engine_version.options):
        return (f"The remote domain ({remote.engine_version.options}) must be on the same or a higher version "
                f"than the local domain ({local.engine_version.options}).")
    return None


class AwssimOpenSearchBackend(OpenSearchServiceBackend, TaggableResourcesMixin):
    """moto's OpenSearch backend with connections, slow configuration changes and tagging."""

    SERVICE_NAMESPACE = "es"

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.outbound: dict[str, Connection] = {}  # connections whose local domain is here
        self.inbound: dict[str, Connection] = {}  # connections whose remote domain is here

    # -- domains -----------------------------------------------------------------------------------
    def _domain(self, name: str) -> OpenSearchDomain:
        if name not in self.domains:
            raise ResourceNotFoundException(f"Domain not found: {name}")
        return self.domains[name]

    def live_connections(self, name: str) -> list[Connection]:
        """The domain's connections, either way, that still count (not rejected, deleted or failed)."""
        mine = [c for c in self.outbound.values() if c.local.name == name]
        mine += [c for c in self.inbound.values() if c.remote.name == name]
        return [c for c in mine if c.status() not in GONE]

    def update_domain_config(self, domain_name: str, cluster_config: dict[str, Any] | None = None,
                             **options: Any) -> OpenSearchDomain:
        domain = self._domain(domain_name)
        if domain.processing:
            raise ValidationException("A change/update is in progress. Please wait for it to complete before "
                                      "requesting another change.")
        merged = None
        if cluster_config:
            instance_type = cluster_config.get("InstanceType")
            if instance_type is not None and not INSTANCE_TYPE.match(instance_type):
                raise ValidationException(f"Invalid instance type: {instance_type} (expected <family>.<size>.search).")
            if cluster_config.get("InstanceCount") is not None and int(cluster_config["InstanceCount"]) < 1:
                raise ValidationException("InstanceCount must be at least 1.")
            merged = {**domain.cluster_config, **cluster_config}  # AWS changes only what the request names
        changed = (merged is not None and merged != domain.cluster_config) or any(v for v in options.values())
        super().update_domain_config(domain_name, cluster_config=merged, **options)  # type: ignore[call-arg]
        if changed:  # a blue/green deployment: the domain serves on, Processing until it is done
            domain.awssim_processing_until = time.time() + _delay()
        return domain

    def delete_domain(self, domain_name: str) -> OpenSearchDomain:
        self._domain(domain_name)
        if self.live_connections(domain_name):
            raise ValidationException(f"Domain {domain_name} has active cross-cluster connections: delete them "
                                      "before deleting the domain.")
        return super().delete_domain(domain_name)

    def describe_domains(self, domain_names: list[str]) -> list[OpenSearchDomain]:
        if not domain_names or len(domain_names) > 5:
            raise ValidationException("DomainNames must name between 1 and 5 domains.")
        return super().describe_domains(domain_names)

    def list_tags(self, arn: str) -> list[dict[str, str]]:
        if not any(d.arn == arn for d in self.domains.values()):
            raise ResourceNotFoundException(f"Resource not found: {arn}")
        return super().list_tags(arn)

    # -- tagging (Resource Groups Tagging API, Resource Explorer) -----------------------------------
    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        for domain in self.domains.values():
            tags = {t["Key"]: t["Value"] for t in self.tagger.list_tags_for_resource(domain.arn)["Tags"]}
            yield TaggedResource(arn=domain.arn, tags=tags, resource_type="es:domain")

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self.tagger.tag_resource(arn, [{"Key": k, "Value": v} for k, v in tags.items()])

    def untag_resource(self, arn: str, tag_keys: list[str]) -> None:
        self.tagger.untag_resource_using_names(arn, tag_keys)

    # -- connections -------------------------------------------------------------------------------
    def create_outbound_connection(self, local_info: dict[str, Any], remote_info: dict[str, Any], alias: str,
                                   mode: str | None, properties: dict[str, Any] | None) -> Connection:
        local_aws, remote_aws = (info.get("AWSDomainInformation") or {} for info in (local_info, remote_info))
        if not local_aws.get("DomainName") or not remote_aws.get("DomainName"):
            raise ValidationException("LocalDomainInfo and RemoteDomainInfo need AWSDomainInformation.DomainName.")
        if local_aws.get("OwnerId", self.account_id) != self.account_id or \
                local_aws.get("Region", self.region_name) != self.region_name:
            raise ValidationException("The local domain must be a domain of the caller's account and Region.")
        local = DomainRef(self.account_id, self.region_name, local_aws["DomainName"])
        remote = DomainRef(remote_aws.get("OwnerId") or self.account_id, remote_aws.get("Region") or self.region_name,
                           remote_aws["DomainName"])
        if local == remote:
            raise ValidationException("A domain cannot connect to itself.")
        local_domain = self._domain(local.name)
        if any(c.alias == alias and c.local == local and c.status() not in GONE for c in self.outbound.values()):
            raise ResourceAlreadyExistsException(f"Domain {local.name} already has a connection with alias {alias}.")
        if len(self.live_connections(local.name)) >= MAX_CONNECTED_DOMAINS:
            raise LimitExceededException(f"Domain {local.name} is connected to {MAX_CONNECTED_DOMAINS} domains already.")
        remote_domain = _backend(remote).domains.get(remote.name)
        connection = Connection(
            connection_id=f"cc-{mock_random.get_random_hex(16)}", alias=alias, local=local, remote=remote,
            mode=mode or "DIRECT", properties=properties, validated_at=time.time() + _delay(),
            failure=validation_failure(local_domain, remote_domain, remote))
        self.outbound[connection.connection_id] = connection
        _backend(remote).inbound[connection.connection_id] = connection
        return connection

    @staticmethod
    def _page(connections: list[Connection], filters: list[dict[str, Any]] | None, known: dict[str, Any],
              max_results: int | None, token: str | None) -> tuple[list[Connection], str | None]:
        for f in filters or []:
            name = f.get("Name")
            if name not in known:
                raise ValidationException(f"Unknown filter name {name!r}; use one of {', '.join(known)}.")
            values = set(f.get("Values") or [])
            connections = [c for c in connections if known[name](c) in values]
        size = PAGE if max_results is None else max_results
        if not 0 < size <= PAGE:
            raise ValidationException(f"MaxResults must be between 1 and {PAGE}.")
        try:
            start = int(token) if token else 0
        except ValueError:
            raise InvalidPaginationTokenException(f"Invalid pagination token {token!r}.") from None
        if not 0 <= start <= len(connections):
            raise InvalidPaginationTokenException(f"Invalid pagination token {token!r}.")
        end = start + size
        return connections[start:end], (str(end) if end < len(connections) else None)

    def describe_outbound(self, filters: Any, max_results: int | None, token: str | None) -> tuple[list[Connection], str | None]:
        return self._page(list(self.outbound.values()), filters, OUTBOUND_FILTERS, max_results, token)

    def describe_inbound(self, filters: Any, max_results: int | None, token: str | None) -> tuple[list[Connection], str | None]:
        seen = [c for c in self.inbound.values() if c.status() not in NOT_INBOUND]
        return self._page(seen, filters, INBOUND_FILTERS, max_results, token)

    def _inbound(self, connection_id: str) -> Connection:
        connection = self.inbound.get(connection_id)
        if connection is None or connection.status() in NOT_INBOUND:
            raise ResourceNotFoundException(f"Inbound connection {connection_id} not found.")
        return connection

    def _pending(self, connection_id: str, verb: str) -> Connection:
        connection = self._inbound(connection_id)
        status = connection.status()
        if status != "PENDING_ACCEPTANCE":
            raise ValidationException(f"Connection {connection_id} is {status}: only a PENDING_ACCEPTANCE "
                                      f"connection can be {verb}.")
        return connection

    def accept_inbound_connection(self, connection_id: str) -> Connection:
        connection = self._pending(connection_id, "accepted")
        if len(self.live_connections(connection.remote.name)) > MAX_CONNECTED_DOMAINS:
            raise LimitExceededException(f"Domain {connection.remote.name} is connected to "
                                         f"{MAX_CONNECTED_DOMAINS} domains already.")
        now = time.time()
        connection.accepted_at, connection.active_at = now, now + _delay()
        return connection

    def reject_inbound_connection(self, connection_id: str) -> Connection:
        connection = self._pending(connection_id, "rejected")
        now = time.time()
        connection.ended = ("REJECT", now, now + _delay())
        return connection

    @staticmethod
    def _delete(connection: Connection) -> Connection:
        status = connection.status()
        if status in ("DELETING", "DELETED"):
            raise ResourceNotFoundException(f"Connection {connection.connection_id} is {status} already.")
        now = time.time()
        connection.ended = ("DELETE", now, now + _delay())
        return connection

    def delete_outbound_connection(self, connection_id: str) -> Connection:
        if connection_id not in self.outbound:
            raise ResourceNotFoundException(f"Outbound connection {connection_id} not found.")
        return self._delete(self.outbound[connection_id])

    def delete_inbound_connection(self, connection_id: str) -> Connection:
        return self._delete(self._inbound(connection_id))


class ConnectionsResponse(BaseResponse):
    """The ``/2021-01-01/opensearch/cc/...`` operations (moto dispatches an action to its snake_case method)."""

    def __init__(self) -> None:
        super().__init__(service_name="opensearch")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> AwssimOpenSearchBackend:
        return os_models.opensearch_backends[self.current_account][self.region]  # type: ignore[return-value]

    def create_outbound_connection(self) -> str:
        c = self.backend.create_outbound_connection(
            self._get_param("LocalDomainInfo") or {}, self._get_param("RemoteDomainInfo") or {},
            self._get_param("ConnectionAlias"), self._get_param("ConnectionMode"),
            self._get_param("ConnectionProperties"))
        body = c.to_dict(outbound=True)
        return json.dumps({k: body[k] for k in ("LocalDomainInfo", "RemoteDomainInfo", "ConnectionAlias",
                                                "ConnectionStatus", "ConnectionId", "ConnectionMode")
                           } | ({"ConnectionProperties": c.properties} if c.properties is not None else {}))

    def _listing(self, outbound: bool) -> str:
        describe = self.backend.describe_outbound if outbound else self.backend.describe_inbound
        found, token = describe(self._get_param("Filters"), self._get_param("MaxResults"), self._get_param("NextToken"))
        out: dict[str, Any] = {"Connections": [c.to_dict(outbound=outbound) for c in found]}
        if token:
            out["NextToken"] = token
        return json.dumps(out)

    def describe_outbound_connections(self) -> str:
        return self._listing(outbound=True)

    def describe_inbound_connections(self) -> str:
        return self._listing(outbound=False)

    def _one(self, connection: Connection, *, outbound: bool) -> str:
        return json.dumps({"Connection": connection.to_dict(outbound=outbound)})

    def accept_inbound_connection(self) -> str:
        return self._one(self.backend.accept_inbound_connection(self._get_param("ConnectionId")), outbound=False)

    def reject_inbound_connection(self) -> str:
        return self._one(self.backend.reject_inbound_connection(self._get_param("ConnectionId")), outbound=False)

    def delete_outbound_connection(self) -> str:
        return self._one(self.backend.delete_outbound_connection(self._get_param("ConnectionId")), outbound=True)

    def delete_inbound_connection(self) -> str:
        return self._one(self.backend.delete_inbound_connection(self._get_param("ConnectionId")), outbound=False)


# -- registration ---------------------------------------------------------------------------------
def _processing(self: OpenSearchDomain) -> bool:
    until = self.__dict__.get("awssim_processing_until")
    return bool(self.__dict__.get("_awssim_processing")) or (until is not None and time.time() < until)


def _set_processing(self: OpenSearchDomain, value: bool) -> None:
    self.__dict__["_awssim_processing"] = value


def register() -> None:
    """Serve connections, slow configuration changes and domain tagging (idempotent)."""
    import moto.es.urls as es_urls

    OpenSearchDomain.processing = property(_processing, _set_processing)  # type: ignore[assignment]
    # Backends are made per account on first use: every one from now on is ours.
    os_models.opensearch_backends.backend = AwssimOpenSearchBackend
    # boto3's "opensearch" client calls es.<region>.amazonaws.com, which moto routes through moto.es's URLs.
    es_urls.url_paths.setdefault("{0}/2021-01-01/opensearch/cc/(?P<connection_path>.+)$", ConnectionsResponse.dispatch)
