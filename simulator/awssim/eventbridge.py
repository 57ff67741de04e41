"""EventBridge global endpoints, and rules as AWS tags and lists them, on top of moto's EventBridge.

moto 5.2 has rules (PutRule, EnableRule / DisableRule, targets, tags) and event buses, but no global
endpoints; its Tagging API listing holds event buses only; and it finds a resource's tags by the last
part of the ARN on any bus (``rule/orders/nightly`` and ``rule/nightly`` are one to moto). We add, as
methods of moto's ``EventsHandler`` (so they serve in-process and in server mode):

* Global endpoints -- ``CreateEndpoint``, ``UpdateEndpoint``, ``DescribeEndpoint``, ``ListEndpoints``,
  ``DeleteEndpoint`` in botocore's shapes. An endpoint lives in its *home* region (where it was created:
  the primary of its ``FailoverConfig``) and names a secondary region (``Secondary.Route``). It is
  answered from its home region, and from its secondary region when the request names the home region
  (``HomeRegion``, as the API documents it), so the surviving region can read it while the home region
  is dark; it is changed and deleted from its home region only (elsewhere: ResourceNotFoundException).
  A created endpoint is ``CREATING`` and an updated one ``UPDATING`` for ``AWSSIM_DELAY_SECONDS`` (read
  at call time), then ``ACTIVE``; a deleted one is ``DELETING`` that long, then gone. Transitions
  complete lazily: every EventBridge request first settles the account's due ones.
* What AWS refuses of an endpoint: a name taken in the region (ResourceAlreadyExistsException);
  event buses other than two of one name and account, one in the home region and one in the secondary,
  or a bus that does not exist; a secondary route equal to the home region; a health check that is not
  a Route 53 health-check ARN of the account, or does not exist; replication ``ENABLED`` (the default)
  without ``RoleArn``; an update or delete while the endpoint is ``CREATING``, ``UPDATING`` or
  ``DELETING`` (ConcurrentModificationException). Endpoints take no tags (AWS tags rules and event
  buses only): ``TagResource`` of an endpoint ARN is ResourceNotFoundException.
* Where events go is Route 53's business, not EventBridge's API (no field says it): the endpoint routes
  to its home region while its health check counts healthy, else to the secondary
  (``routes_to``, the data plane, for tests: the rules of ``awssim.route53_dns.check_healthy``).
* Rules in the Tagging API and Resource Explorer (``events:rule``, as Resource Explorer names them),
  beside moto's ``events:event-bus``; ``TagResource`` / ``UntagResource`` / ``ListTagsForResource`` find
  a rule or bus by its exact ARN, and refuse an ARN that names none (ResourceNotFoundException).
* ``EnableRule`` / ``DisableRule`` of a rule an AWS service manages (``ManagedBy``): ManagedRuleException,
  as AWS refuses it.

Not modelled: events themselves crossing regions (replication's managed rules), PutEvents through an
endpoint, and UpdateEndpoint's effect on routing beyond the health check it names.
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.resource_tagging import TaggedResource
from moto.core.responses import BaseResponse
from moto.events.exceptions import ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from moto.events.models import EventBus, EventsBackend, Rule, events_backends
from moto.events.responses import EventsHandler

HEALTH_CHECK_ARN = re.compile(r"^arn:aws([a-z]|-)*:route53:::healthcheck/(?P<id>[-a-z0-9]+)$")
BUS_ARN = re.compile(r"^arn:aws[\w-]*:events:(?P<region>[\w-]+):(?P<account>\d{12}):event-bus/(?P<name>[^/]+)$")
RESOURCE_ARN = re.compile(r"^arn:aws[\w-]*:events:(?P<region>[\w-]+):(?P<account>\d{12}):(?P<kind>[a-z-]+)/(?P<rest>.+)$")
ENDPOINT_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
BUSY = ("CREATING", "UPDATING", "DELETING")
_lock = threading.RLock()


class ConcurrentModificationException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("ConcurrentModificationException", message)


class ManagedRuleException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("ManagedRuleException", message)


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


@dataclass
class Endpoint:
    """One global endpoint, kept in its home region's backend."""

    name: str
    account_id: str
    home: str
    routing: dict[str, Any]
    replication: dict[str, Any]
    event_buses: list[dict[str, str]]
    role_arn: str | None
    description: str | None
    endpoint_id: str = field(default_factory=lambda: "".join(random.choices(string.ascii_lowercase, k=5)) + "."
                             + "".join(random.choices(string.ascii_lowercase, k=3)))
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)
    state: str = "CREATING"
    due: float | None = None  # when the current transition completes

    @property
    def arn(self) -> str:
        return f"arn:aws:events:{self.home}:{self.account_id}:endpoint/{self.name}"

    @property
    def secondary(self) -> str:
        return self.routing["FailoverConfig"]["Secondary"]["Route"]

    @property
    def health_check_id(self) -> str:
        return HEALTH_CHECK_ARN.match(self.routing["FailoverConfig"]["Primary"]["HealthCheck"])["id"]

    def start(self, state: str) -> None:
        self.state, self.due, self.modified = state, time.time() + _delay(), time.time()

    def describe(self) -> dict[str, Any]:
        out = {"Name": self.name, "Arn": self.arn, "RoutingConfig": self.routing, "ReplicationConfig":
               self.replication, "EventBuses": self.event_buses, "EndpointId": self.endpoint_id,
               "EndpointUrl": f"https://{self.endpoint_id}.endpoint.events.amazonaws.com", "State": self.state,
               "CreationTime": self.created, "LastModifiedTime": self.modified}
        if self.description:
            out["Description"] = self.description
        if self.role_arn:
            out["RoleArn"] = self.role_arn
        return out


def _endpoints(account_id: str, region: str) -> dict[str, Endpoint]:
    """The endpoints homed in ``region`` (kept on moto's backend, so a moto reset clears them)."""
    backend = events_backends[account_id][region]
    if not hasattr(backend, "awssim_endpoints"):
        backend.awssim_endpoints = {}
    return backend.awssim_endpoints


def settle(account_id: str) -> None:
    """Complete every endpoint transition of the account whose time has come."""
    now = time.time()
    with _lock:
        for backend in list(events_backends[account_id].values()):
            endpoints = getattr(backend, "awssim_endpoints", {})
            for name, ep in list(endpoints.items()):
                if ep.due is not None and ep.due <= now:
                    if ep.state == "DELETING":
                        del endpoints[name]
                    else:
                        ep.state, ep.due = "ACTIVE", None


def _check(account_id: str, home: str, routing: dict[str, Any] | None, replication: dict[str, Any] | None,
           buses: list[dict[str, str]] | None, role_arn: str | None) -> None:
    """Refuse an endpoint configuration as AWS does."""
    from moto.route53.models import route53_backends

    failover = (routing or {}).get("FailoverConfig") or {}
    check_arn = (failover.get("Primary") or {}).get("HealthCheck") or ""
    secondary = (failover.get("Secondary") or {}).get("Route") or ""
    found = HEALTH_CHECK_ARN.match(check_arn)
    if not found:
        raise ValidationException(f"Parameter RoutingConfig.FailoverConfig.Primary.HealthCheck is not valid: "
                                  f"{check_arn!r} is not a Route 53 health check ARN.")
    if found["id"] not in route53_backends[account_id]["aws"].health_checks:
        raise ValidationException(f"Health check {found['id']} does not exist in account {account_id}.")
    if not secondary or secondary == home:
        raise ValidationException(f"The secondary Region ({secondary or 'none'}) must be another Region than the "
                                  f"endpoint's primary Region {home}.")
    parsed = [BUS_ARN.match((b or {}).get("EventBusArn") or "") for b in buses or []]
    if len(parsed) != 2 or not all(parsed):
        raise ValidationException("EventBuses must name exactly two event bus ARNs, one in each Region.")
    if {p["region"] for p in parsed} != {home, secondary}:
        raise ValidationException(f"The event buses must be in the primary Region {home} and the secondary Region "
                                  f"{secondary}.")
    if {p["account"] for p in parsed} != {account_id} or parsed[0]["name"] != parsed[1]["name"]:
        raise ValidationException("The event buses of an endpoint must have the same name, in the same account.")
    for p in parsed:
        if p["name"] not in events_backends[account_id][p["region"]].event_buses:
            raise ValidationException(f"Event bus {p['name']} does not exist in {p['region']}.")
    if (replication or {}).get("State", "ENABLED") == "ENABLED" and not role_arn:
        raise ValidationException("RoleArn is required when event replication is ENABLED (the default); "
                                  "set ReplicationConfig State DISABLED to create the endpoint without it.")


def _own(handler: EventsHandler, name: str) -> Endpoint:
    """An endpoint homed in the region called (to change it: only its home region can)."""
    ep = _endpoints(handler.current_account, handler.region).get(name)
    if ep is None:
        raise ResourceNotFoundException(f"Endpoint {name} does not exist.")
    return ep


def _visible(handler: EventsHandler, home: str | None) -> list[Endpoint]:
    """Endpoints homed in ``home`` (default: the region called) that the region called serves: their home
    and their secondary region."""
    region = handler.region
    return [ep for ep in _endpoints(handler.current_account, home or region).values()
            if region in (ep.home, ep.secondary)]


def _reply(handler: EventsHandler, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return json.dumps(body), handler.response_headers


# -- response methods added to moto's EventsHandler ---------------------------------------------------
def create_endpoint(self: EventsHandler) -> tuple[str, dict[str, Any]]:
    name = self._get_param("Name") or ""
    if not ENDPOINT_NAME.match(name):
        raise ValidationException(f"Parameter Name is not valid: {name!r}.")
    routing, replication = self._get_param("RoutingConfig"), self._get_param("ReplicationConfig") or {"State": "ENABLED"}
    buses, role_arn = self._get_param("EventBuses"), self._get_param("RoleArn")
    with _lock:
        endpoints = _endpoints(self.current_account, self.region)
        if name in endpoints:
            raise ResourceAlreadyExistsException(f"Endpoint {name} already exists.")
        _check(self.current_account, self.region, routing, replication, buses, role_arn)
        ep = Endpoint(name, self.current_account, self.region, routing, replication, buses, role_arn,
                      self._get_param("Description"))
        ep.start("CREATING")
        endpoints[name] = ep
    out = ep.describe()
    return _reply(self, {k: out[k] for k in ("Name", "Arn", "RoutingConfig", "ReplicationConfig", "EventBuses", "RoleArn",
                                       "State") if k in out})


def update_endpoint(self: EventsHandler) -> tuple[str, dict[str, Any]]:
    with _lock:
        ep = _own(self, self._get_param("Name"))
        if ep.state in BUSY:
            raise ConcurrentModificationException(f"Endpoint {ep.name} is {ep.state}; retry once it is ACTIVE.")
        routing = self._get_param("RoutingConfig") or ep.routing
        replication = self._get_param("ReplicationConfig") or ep.replication
        buses = self._get_param("EventBuses") or ep.event_buses
        role_arn = self._get_param("RoleArn") or ep.role_arn
        _check(self.current_account, ep.home, routing, replication, buses, role_arn)
        ep.routing, ep.replication, ep.event_buses, ep.role_arn = routing, replication, buses, role_arn
        if self._get_param("Description") is not None:
            ep.description = self._get_param("Description")
        ep.start("UPDATING")
    out = ep.describe()
    return _reply(self, {k: out[k] for k in ("Name", "Arn", "RoutingConfig", "ReplicationConfig", "EventBuses", "RoleArn",
                                       "EndpointId", "EndpointUrl", "State") if k in out})


def describe_endpoint(self: EventsHandler) -> tuple[str, dict[str, Any]]:
    name = self._get_param("Name")
    found = [ep for ep in _visible(self, self._get_param("HomeRegion")) if ep.name == name]
    if not found:
        raise ResourceNotFoundException(f"Endpoint {name} does not exist.")
    return _reply(self, found[0].describe())


def list_endpoints(self: EventsHandler) -> tuple[str, dict[str, Any]]:
    prefix = self._get_param("NamePrefix") or ""
    limit = int(self._get_param("MaxResults") or 100)
    if not 1 <= limit <= 100:
        raise ValidationException("MaxResults must be between 1 and 100.")
    matching = sorted((ep for ep in _visible(self, self._get_param("HomeRegion")) if ep.name.startswith(prefix)),
                      key=lambda ep: ep.name)
    token = self._get_param("NextToken")
    start = int(token) if token and token.isdigit() else 0
    page = matching[start:start + limit]
    body: dict[str, Any] = {"Endpoints": [ep.describe() for ep in page]}
    if start + limit < len(matching):
        body["NextToken"] = str(start + limit)
    return _reply(self, body)


def delete_endpoint(self: EventsHandler) -> tuple[str, dict[str, Any]]:
    with _lock:
        ep = _own(self, self._get_param("Name"))
        if ep.state in BUSY:
            raise ConcurrentModificationException(f"Endpoint {ep.name} is {ep.state}; retry once it is ACTIVE.")
        ep.start("DELETING")
    return _reply(self, {})


def call_action(self: EventsHandler) -> Any:
    settle(self.current_account)
    return BaseResponse.call_action(self)


# -- rules: refused as AWS refuses, tagged and listed by exact ARN --------------------------------------
_moto_enable_rule = EventsBackend.enable_rule
_moto_disable_rule = EventsBackend.disable_rule
_moto_iter_tagged_resources = EventsBackend.iter_tagged_resources


def _managed_guard(backend: EventsBackend, name: str, event_bus_arn: str | None) -> None:
    bus = backend.event_buses.get(backend._normalize_event_bus_arn(event_bus_arn))
    rule = bus.rules.get(name) if bus else None
    if rule is not None and rule.managed_by:
        raise ManagedRuleException(f"Rule {name} is managed by {rule.managed_by} and cannot be changed.")


def enable_rule(self: EventsBackend, name: str, event_bus_arn: str | None) -> bool:
    _managed_guard(self, name, event_bus_arn)
    return _moto_enable_rule(self, name, event_bus_arn)


def disable_rule(self: EventsBackend, name: str, event_bus_arn: str | None) -> bool:
    _managed_guard(self, name, event_bus_arn)
    return _moto_disable_rule(self, name, event_bus_arn)


def _resource(self: EventsBackend, arn: str) -> Rule | EventBus:
    """The rule or event bus an ARN names exactly: ``rule/<name>`` (default bus), ``rule/<bus>/<name>``,
    ``event-bus/<name>``."""
    found = RESOURCE_ARN.match(arn or "")
    if found and found["region"] == self.region_name and found["account"] == self.account_id:
        if found["kind"] == "event-bus" and found["rest"] in self.event_buses:
            return self.event_buses[found["rest"]]
        if found["kind"] == "rule":
            bus_name, _, rule_name = found["rest"].rpartition("/")
            bus = self.event_buses.get(bus_name or "default")
            if bus is not None and rule_name in bus.rules:
                return bus.rules[rule_name]
    raise ResourceNotFoundException(f"Resource {arn} does not exist.")


def list_tags_for_resource(self: EventsBackend, arn: str) -> dict[str, list[dict[str, str]]]:
    return self.tagger.list_tags_for_resource(_resource(self, arn).arn)


def tag_resource(self: EventsBackend, arn: str, tags: dict[str, str]) -> None:
    self.tagger.tag_resource(_resource(self, arn).arn, self.tagger.convert_dict_to_tags_input(tags))


def untag_resource(self: EventsBackend, arn: str, tag_keys: list[str]) -> None:
    self.tagger.untag_resource_using_names(_resource(self, arn).arn, tag_keys)


def iter_tagged_resources(self: EventsBackend) -> Iterator[TaggedResource]:
    yield from _moto_iter_tagged_resources(self)
    for bus in self.event_buses.values():
        for rule in bus.rules.values():
            yield TaggedResource(arn=rule.arn, tags=self.tagger.get_tag_dict_for_resource(rule.arn),
                                 resource_type="events:rule")


# -- the data plane, for tests and kits -------------------------------------------------------------------
def routes_to(account_id: str, home: str, name: str) -> str:
    """The region an endpoint sends events to now: its home while its health check counts healthy (disabled
    counts healthy, inverted flips), else its secondary -- what Route 53 answers for the endpoint's name."""
    from moto.route53.models import route53_backends

    from awssim.route53_dns import check_healthy

    ep = _endpoints(account_id, home)[name]
    backend = route53_backends[account_id]["aws"]
    return ep.home if check_healthy(backend, backend.health_checks[ep.health_check_id]) else ep.secondary


def register() -> None:
    """Serve the additions from moto's EventBridge (idempotent)."""
    for fn in (create_endpoint, update_endpoint, describe_endpoint, list_endpoints, delete_endpoint, call_action):
        setattr(EventsHandler, fn.__name__, fn)
    for fn in (enable_rule, disable_rule, list_tags_for_resource, tag_resource, untag_resource,
               iter_tagged_resources):
        setattr(EventsBackend, fn.__name__, fn)
