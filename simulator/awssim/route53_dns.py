"""Route 53's data plane and change tracking on top of moto's Route 53 (moto 5.2 has neither).

moto stores record sets and health checks but never answers a query: it has no ``TestDNSAnswer``,
its ``GetHealthCheckStatus`` always reports success, ``GetChange`` is always INSYNC, and
``ChangeResourceRecordSets`` accepts record sets AWS refuses. We add, as methods of moto's ``Route53``
response class (so they serve in-process and in server mode):

* ``TestDNSAnswer`` -- the answer a Route 53 name server gives, computed from the zone's record sets:
  a simple record answers its values; a failover pair answers the PRIMARY while it is healthy, else the
  SECONDARY while that one is, else the PRIMARY (AWS answers the primary when both are unhealthy);
  weighted records answer, deterministically, the healthy record with the highest weight (ties: the
  lowest SetIdentifier; weight 0 only when every healthy record has weight 0) where AWS picks at random
  in proportion to the weights -- so 100/0 answers exactly as on AWS, 70/30 does not; an alias answers
  its target: a record of one of the account's zones resolves to that record's answer, any other
  target (a load balancer, CloudFront, API Gateway) to addresses made from its DNS name (198.18.0.0/15,
  2001:db8::/32), as AWS answers a load balancer's current addresses. A record is healthy when its
  health check is (if it has one) and, with ``EvaluateTargetHealth``, when its alias target is.
* health-check status -- a check probes its endpoint; the probe fails while the endpoint's region is
  dark (a name that carries a region code, as ELB, API Gateway and most AWS endpoint names do: see
  ``awssim.outage``) or while a test marks the endpoint down (``set_endpoint_health``). AWS's rules on
  top: a *disabled* check is considered healthy, an *inverted* one the opposite of what it would be
  (so disabled and inverted is unhealthy whatever its endpoint does); a CALCULATED check is healthy
  when at least ``HealthThreshold`` of its children are. ``GetHealthCheckStatus`` reports what each
  checker region saw of the endpoint (the raw probe, as AWS documents the observations), not the
  inverted status. Route 53's health checkers are its data plane: they keep working with us-east-1 dark.
* ``GetChange`` -- a change is PENDING for ``AWSSIM_DELAY_SECONDS`` (read at call time) after
  ``ChangeResourceRecordSets``, then INSYNC; an id never issued is ``NoSuchChange``.
* ``UpdateHealthCheck`` -- bumps ``HealthCheckVersion`` and refuses a stale one
  (``HealthCheckVersionMismatch``); leaves ``Regions``/children alone when the request omits them.
* ``ChangeResourceRecordSets`` -- the batch is checked whole against the zone before anything is
  applied (AWS applies a batch atomically), refusing as AWS does: alias with TTL or values; a routing
  policy without SetIdentifier or the reverse; a weight outside 0..255; a Failover other than
  PRIMARY/SECONDARY; an unknown HealthCheckId; a second PRIMARY or SECONDARY; simple and
  routing-policy sets (or two policies) under one name and type; a CNAME beside other types; a CREATE
  of a set that exists; a DELETE that does not match the stored set exactly; an alias to a record or
  load balancer that does not exist, or to a load balancer under another zone id than its own.
  moto's DELETE of a set with a SetIdentifier removed every set of that identifier in the zone, whatever
  its name; here it removes that one set.

Route 53 is global: state is per account (moto keeps it on the partition's backend); the API is
signed for us-east-1, so a dark us-east-1 refuses it (``awssim.outage``), while ``dns_answer`` -- the
data plane, for tests and kits -- keeps answering.
"""

from __future__ import annotations

import os
import random
import re
import string
import threading
import time
import zlib
from collections.abc import Iterable
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53 import urls as route53_urls
from moto.route53.exceptions import InvalidInput, NoSuchHealthCheck, NoSuchHostedZone
from moto.route53.models import FakeZone, HealthCheck, RecordSet, Route53Backend, route53_backends
from moto.route53.responses import Route53

CHECKER_REGIONS = ("us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2",
                   "ap-northeast-1", "sa-east-1")  # Route 53's default health-checker regions
ROUTING_POLICIES = ("Weight", "Failover", "Region", "GeoLocation", "MultiValueAnswer", "CidrRoutingConfig",
                    "GeoProximityLocation")
RR_TYPES = ("SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA", "CAA", "DS", "TLSA",
            "SSHFP", "SVCB", "HTTPS")
REGION_IN_NAME = re.compile(r"(?:^|[.-])([a-z]{2}(?:-gov)?-(?:north|south|east|west|central|northeast|southeast|"
                            r"northwest|southwest)-\d)(?:[.-]|$)")
ELB_NAME = re.compile(r"\.elb\.|\.elb\.amazonaws\.com\.?$")
MOTO_CHANGE_IDS = ("C1PA6795UKMFR9", "C2682N5HXP0BZ4", "a1b2c3d4")  # moto's fixed ids: always INSYNC
SUCCESS = "Success: HTTP Status Code 200, OK"
FAILURE = ("Failure: Connection timed out. The endpoint or the internet connection is down, or requests are "
           "being blocked by your firewall. See https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/"
           "dns-failover-router-firewall-rules.html")

_lock = threading.Lock()
_changes: dict[tuple[str, str], float] = {}  # (account, change id) -> epoch seconds when INSYNC
_endpoints_down: set[str] = set()


class Route53Error(ServiceException):
    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def _batch_error(message: str) -> Route53Error:
    return Route53Error("InvalidChangeBatch", f"[{message}]")


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


def _backend(account_id: str) -> Route53Backend:
    return route53_backends[account_id]["aws"]


# -- health ------------------------------------------------------------------------------------------
def set_endpoint_health(endpoint: str, healthy: bool) -> None:
    """Mark an endpoint (a DNS name or IP address health checks probe) down or back up, for tests."""
    with _lock:
        (_endpoints_down.discard if healthy else _endpoints_down.add)(_norm(endpoint))


def endpoint_up(endpoint: str | None) -> bool:
    """What a health checker sees: no answer while the endpoint's region is dark or it is marked down."""
    from awssim import outage

    if not endpoint:
        return True
    with _lock:
        if _norm(endpoint) in _endpoints_down:
            return False
    found = REGION_IN_NAME.search(_norm(endpoint))
    return not (found and found.group(1) in outage.dark())


def probe_ok(backend: Route53Backend, hc: HealthCheck, depth: int = 0) -> bool:
    """The check's own verdict before Disabled/Inverted: its endpoint answers (children, for CALCULATED)."""
    if hc.type_ == "CALCULATED":
        children = [backend.health_checks[c] for c in hc.children or [] if c in backend.health_checks]
        healthy = sum(check_healthy(backend, c, depth + 1) for c in children) if depth < 8 else 0
        return healthy >= int(hc.health_threshold if hc.health_threshold is not None else len(children))
    if hc.type_ in ("CLOUDWATCH_METRIC", "RECOVERY_CONTROL"):
        return True  # alarms and routing controls are not modelled: OK
    return endpoint_up(hc.fqdn or hc.ip_address)


def check_healthy(backend: Route53Backend, hc: HealthCheck, depth: int = 0) -> bool:
    """The status Route 53 routes by: disabled counts as healthy, inverted flips it."""
    base = True if hc.disabled else probe_ok(backend, hc, depth)
    return base != bool(hc.inverted)


# -- answers -----------------------------------------------------------------------------------------
def _sets(zone: FakeZone, name: str, rtype: str) -> list[RecordSet]:
    return [r for r in zone.rrsets if _norm(r.name) == _norm(name) and r.type == rtype]


def _zone_of(backend: Route53Backend, zone_id: str | None) -> FakeZone | None:
    return backend.zones.get((zone_id or "").split("/")[-1])


def _load_balancer(dns_name: str) -> Any | None:
    """The ELB (any account, any region) whose DNS name this is (``dualstack.`` prefix allowed)."""
    from moto.elb.models import elb_backends
    from moto.elbv2.models import elbv2_backends

    wanted = _norm(dns_name).removeprefix("dualstack.")
    for backends in (elbv2_backends, elb_backends):
        for account_id in list(backends.keys()):
            for region in list(backends[account_id].keys()):
                for lb in list(backends[account_id][region].load_balancers.values()):
                    if _norm(lb.dns_name) == wanted:
                        return lb
    return None


def _alias_target_healthy(backend: Route53Backend, alias: dict[str, Any], rtype: str, depth: int) -> bool:
    target_zone = _zone_of(backend, alias.get("HostedZoneId"))
    if target_zone is not None:
        return any(_record_healthy(backend, r, depth + 1) for r in _sets(target_zone, alias["DNSName"], rtype))
    if ELB_NAME.search(_norm(alias["DNSName"]) + "."):
        return _load_balancer(alias["DNSName"]) is not None and endpoint_up(alias["DNSName"])
    return True


def _record_healthy(backend: Route53Backend, rr: RecordSet, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if rr.health_check_id:
        hc = backend.health_checks.get(rr.health_check_id)
        if hc is None or not check_healthy(backend, hc):
            return False
    alias = rr.alias_target or {}
    if alias and str(alias.get("EvaluateTargetHealth")).lower() == "true":
        return _alias_target_healthy(backend, alias, rr.type, depth)
    return True


def _choose(backend: Route53Backend, sets: list[RecordSet]) -> RecordSet:
    """The record set Route 53 answers with, of all the sets of one name and type."""
    if len(sets) == 1 or not sets[0].set_identifier:
        return sets[0]
    if sets[0].failover:
        primary = next((r for r in sets if r.failover == "PRIMARY"), None)
        secondary = next((r for r in sets if r.failover == "SECONDARY"), None)
        for candidate in (primary, secondary):
            if candidate is not None and _record_healthy(backend, candidate):
                return candidate
        return primary or secondary  # type: ignore[return-value]
    healthy = [r for r in sets if _record_healthy(backend, r)] or sets  # all unhealthy: all considered
    if sets[0].weight is not None:
        weighted = [r for r in healthy if int(r.weight) > 0] or healthy
        return sorted(weighted, key=lambda r: (-int(r.weight), r.set_identifier))[0]
    return sorted(healthy, key=lambda r: r.set_identifier)[0]  # latency, geo ...: not modelled


def _made_up_addresses(dns_name: str, rtype: str) -> list[str]:
    h = zlib.crc32(_norm(dns_name).encode())
    if rtype == "AAAA":
        return [f"2001:db8::{h >> 16:x}:{h & 0xFFFF:x}"]
    return [f"198.{18 + (h >> 16) % 2}.{(h >> 8) & 0xFF}.{h & 0xFF}"]


def _data(backend: Route53Backend, rr: RecordSet, depth: int) -> list[str]:
    if rr.alias_target:
        target_zone = _zone_of(backend, rr.alias_target.get("HostedZoneId"))
        if target_zone is not None:
            return _answer(backend, target_zone, rr.alias_target["DNSName"], rr.type, depth + 1)[1]
        return _made_up_addresses(rr.alias_target["DNSName"], rr.type)
    return list(rr.records or [])


def _answer(backend: Route53Backend, zone: FakeZone, name: str, rtype: str, depth: int = 0) -> tuple[str, list[str]]:
    sets = _sets(zone, name, rtype)
    if not sets or depth > 8:
        exists = any(_norm(r.name) == _norm(name) for r in zone.rrsets) or _norm(name) == _norm(zone.name)
        return ("NOERROR" if exists else "NXDOMAIN"), []
    return "NOERROR", _data(backend, _choose(backend, sets), depth)


def dns_answer(account_id: str, zone_id: str, name: str, rtype: str) -> tuple[str, list[str]]:
    """(response code, record data) a Route 53 name server gives now: the data plane, which answers
    whatever the state of us-east-1 (tests and kits read it in-process while the API is dark)."""
    backend = _backend(account_id)
    zone = _zone_of(backend, zone_id)
    if zone is None:
        raise NoSuchHostedZone(zone_id)
    return _answer(backend, zone, name, rtype)


# -- ChangeResourceRecordSets ------------------------------------------------------------------------
def _stored(rr: RecordSet) -> dict[str, Any]:
    """A stored set in the request's shape, to compare a DELETE with."""
    out = {"Name": rr.name, "Type": rr.type, "SetIdentifier": rr.set_identifier, "Weight": rr.weight,
           "Failover": rr.failover, "HealthCheckId": rr.health_check_id, "TTL": rr.ttl,
           "ResourceRecords": sorted(rr.records or []), "AliasTarget": rr.alias_target}
    return _comparable(out)


def _comparable(rrset: dict[str, Any]) -> dict[str, Any]:
    values = [v["Value"] if isinstance(v, dict) else v for v in rrset.get("ResourceRecords") or []]
    alias = rrset.get("AliasTarget")
    return {
        "Name": _norm(rrset["Name"]), "Type": rrset["Type"], "SetIdentifier": rrset.get("SetIdentifier"),
        "Weight": None if rrset.get("Weight") is None else int(rrset["Weight"]),
        "Failover": rrset.get("Failover"), "HealthCheckId": rrset.get("HealthCheckId"),
        "TTL": None if rrset.get("TTL") is None else int(rrset["TTL"]), "ResourceRecords": sorted(values),
        "AliasTarget": None if not alias else (alias["HostedZoneId"].split("/")[-1], _norm(alias["DNSName"]),
                                               str(alias.get("EvaluateTargetHealth")).lower() == "true"),
    }


def _check_set(backend: Route53Backend, zone: FakeZone, rrset: dict[str, Any], action: str) -> None:
    name, rtype = rrset["Name"], rrset["Type"]
    label = f"name='{_norm(name)}.', type='{rtype}', set-identifier='{rrset.get('SetIdentifier')}'"
    if rtype not in RR_TYPES:
        raise InvalidInput(f"Invalid XML ; cvc-enumeration-valid: Value '{rtype}' is not facet-valid with respect "
                           "to enumeration.")
    if not (_norm(name) == _norm(zone.name) or _norm(name).endswith("." + _norm(zone.name))):
        raise _batch_error(f"RRSet with DNS name {name} is not permitted in zone {zone.name}")
    if action == "DELETE":
        return
    alias = rrset.get("AliasTarget")
    if alias and ("TTL" in rrset or rrset.get("ResourceRecords")):
        raise InvalidInput(f"Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and "
                           f"ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change "
                           f"with [Action={action}, {label}]")
    if not alias and ("TTL" not in rrset or not rrset.get("ResourceRecords")):
        raise InvalidInput(f"Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and "
                           f"ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with "
                           f"[Action={action}, {label}]")
    policies = [p for p in ROUTING_POLICIES if rrset.get(p) is not None]
    if bool(rrset.get("SetIdentifier")) != bool(policies) or len(policies) > 1:
        raise InvalidInput(f"Invalid request: a record set with a SetIdentifier needs exactly one routing policy "
                           f"(Weight, Failover, Region ...), and a routing policy needs a SetIdentifier [{label}]")
    if rrset.get("Weight") is not None and not 0 <= int(rrset["Weight"]) <= 255:
        raise InvalidInput(f"Invalid request: Weight must be between 0 and 255 [{label}]")
    if rrset.get("Failover") is not None and rrset["Failover"] not in ("PRIMARY", "SECONDARY"):
        raise InvalidInput(f"Invalid XML ; cvc-enumeration-valid: Value '{rrset['Failover']}' is not facet-valid "
                           "with respect to enumeration '[PRIMARY, SECONDARY]'.")
    if rrset.get("HealthCheckId") and rrset["HealthCheckId"] not in backend.health_checks:
        raise NoSuchHealthCheck(rrset["HealthCheckId"])
    if alias:
        _check_alias_target(backend, alias, rtype)


def _check_alias_target(backend: Route53Backend, alias: dict[str, Any], rtype: str) -> None:
    target_zone = _zone_of(backend, alias.get("HostedZoneId"))
    where = f"{_norm(alias['DNSName'])}., type {rtype} in zone {alias.get('HostedZoneId')}"
    if target_zone is not None:
        if not _sets(target_zone, alias["DNSName"], rtype):
            raise _batch_error(f"Tried to create an alias that targets {where}, but that target was not found")
        return
    if ELB_NAME.search(_norm(alias["DNSName"]) + "."):
        lb = _load_balancer(alias["DNSName"])
        if lb is None:
            raise _batch_error(f"Tried to create an alias that targets {where}, but that target was not found")
        zone_id = getattr(lb, "canonical_hosted_zone_id", None) or getattr(lb, "canonical_hosted_zone_name_id", None)
        if zone_id and zone_id != alias["HostedZoneId"].split("/")[-1]:
            raise _batch_error(f"Tried to create an alias that targets {where}, but the alias target name does "
                               "not lie within the target zone")


def _key(rrset: dict[str, Any]) -> tuple[str, str, str | None]:
    return _norm(rrset["Name"]), rrset["Type"], rrset.get("SetIdentifier")


def _check_name(sets: list[dict[str, Any]], name: str) -> None:
    """What may share one name once the batch is applied (``sets``: every set of the name)."""
    types = {s["Type"] for s in sets}
    if "CNAME" in types and len(types) > 1:
        raise _batch_error(f"RRSet of type CNAME with DNS name {name}. is not permitted as it conflicts with other "
                           "records with the same DNS name in zone")
    for rtype in types:
        group = [s for s in sets if s["Type"] == rtype]
        kinds = {next((p for p in ROUTING_POLICIES if s.get(p) is not None), "simple") for s in group}
        if len(group) > 1 and (len(kinds) > 1 or "simple" in kinds):
            kind = sorted(kinds - {"simple"} or kinds)[0].lower()
            raise _batch_error(f"RRSet with DNS name {name}., type {rtype} cannot be created as a non-{kind} set "
                               "exists with the same name and type")
        for role in ("PRIMARY", "SECONDARY"):
            if sum(s.get("Failover") == role for s in group) > 1:
                raise _batch_error(f"RRSet with DNS name {name}., type {rtype}: only one {role} failover record "
                                   "is allowed")


def change_resource_record_sets(self: Route53Backend, zoneid: str, change_list: list[dict[str, Any]]) -> None:
    """Replaces moto's: check the whole batch against the zone as it would be, then apply it."""
    zone = self.get_hosted_zone(zoneid)
    after = {_key(s): s for s in (_request_shape(rr) for rr in zone.rrsets)}
    for change in change_list:
        action, rrset = change["Action"], change["ResourceRecordSet"]
        if action not in ("CREATE", "UPSERT", "DELETE"):
            raise InvalidInput(f"Invalid XML ; cvc-enumeration-valid: Value '{action}' is not facet-valid with "
                               "respect to enumeration '[CREATE, DELETE, UPSERT]'.")
        _check_set(self, zone, rrset, action)
        key, label = _key(rrset), f"[name='{_norm(rrset['Name'])}.', type='{rrset['Type']}'"
        label += f", set-identifier='{rrset['SetIdentifier']}']" if rrset.get("SetIdentifier") else "]"
        if action == "CREATE" and key in after:
            raise _batch_error(f"Tried to create resource record set {label} but it already exists")
        if action == "DELETE":
            if key not in after or _comparable(after[key]) != _comparable(rrset):
                found = "the values provided do not match the current values" if key in after else "it was not found"
                raise _batch_error(f"Tried to delete resource record set {label} but {found}")
            del after[key]
        else:
            after[key] = rrset
    for name in {_norm(c["ResourceRecordSet"]["Name"]) for c in change_list}:
        _check_name([s for k, s in after.items() if k[0] == name], name)
    for change in change_list:  # valid as a whole: apply
        rrset = dict(change["ResourceRecordSet"])
        rrset["Name"] = _norm(rrset["Name"]) + "."
        zone.rrsets = [r for r in zone.rrsets if (_norm(r.name), r.type, r.set_identifier) != _key(rrset)]
        if change["Action"] != "DELETE":
            rrset["ResourceRecords"] = [v["Value"] for v in rrset.get("ResourceRecords") or []]
            zone.rrsets.append(RecordSet(rrset))


def _request_shape(rr: RecordSet) -> dict[str, Any]:
    shape = {"Name": rr.name, "Type": rr.type, "SetIdentifier": rr.set_identifier, "Weight": rr.weight,
             "Failover": rr.failover, "HealthCheckId": rr.health_check_id, "TTL": rr.ttl,
             "ResourceRecords": [{"Value": v} for v in rr.records or []], "AliasTarget": rr.alias_target,
             "Region": rr.region, "GeoLocation": rr.geo_location, "MultiValueAnswer": rr.multi_value_answer}
    return {k: v for k, v in shape.items() if v is not None and v != []}


# -- response methods added to (or replacing) moto's ------------------------------------------------
def _new_change(account_id: str) -> dict[str, Any]:
    change_id = "C" + "".join(random.choices(string.ascii_uppercase + string.digits, k=20))
    with _lock:
        _changes[(account_id, change_id)] = time.time() + _delay()
    return {"Id": f"/change/{change_id}", "Status": "PENDING", "SubmittedAt": utcnow()}


def change_resource_record_sets_response(self: Route53) -> ActionResult:
    changes = self._get_param("ChangeBatch.Changes")
    # AWS's quota: at most 1,000 ResourceRecord elements a request, an UPSERT's counted twice
    counted = sum(len(c["ResourceRecordSet"].get("ResourceRecords") or []) * (2 if c["Action"] == "UPSERT" else 1)
                  for c in changes)
    if counted > 1000:
        raise _batch_error("Number of records limit of 1000 exceeded.")
    self.backend.change_resource_record_sets(self._get_param("HostedZoneId"), changes)
    return ActionResult({"ChangeInfo": _new_change(self.current_account)})


def get_change(self: Route53) -> ActionResult:
    change_id = self._get_param("Id").split("/")[-1]
    with _lock:
        due = _changes.get((self.current_account, change_id))
    if due is None and change_id not in MOTO_CHANGE_IDS:
        raise Route53Error("NoSuchChange", f"A change with the specified change ID does not exist: {change_id}")
    status = "INSYNC" if due is None or due <= time.time() else "PENDING"
    return ActionResult({"ChangeInfo": {"Id": f"/change/{change_id}", "Status": status, "SubmittedAt": utcnow()}})


def test_dns_answer(self: Route53) -> ActionResult:
    zone_id, name, rtype = (self._get_param(p) for p in ("HostedZoneId", "RecordName", "RecordType"))
    if rtype not in RR_TYPES:
        raise InvalidInput(f"Invalid XML ; cvc-enumeration-valid: Value '{rtype}' is not facet-valid.")
    zone = self.backend.get_hosted_zone(zone_id)
    code, data = _answer(self.backend, zone, name, rtype)
    servers = getattr(zone.delegation_set, "name_servers", None) or ["ns-1.awsdns-01.org"]
    return ActionResult({"Nameserver": servers[0], "RecordName": _norm(name) + ".", "RecordType": rtype,
                         "RecordData": data, "ResponseCode": code, "Protocol": "UDP"})


def get_health_check_status(self: Route53) -> ActionResult:
    hc = self.backend.get_health_check(self._get_param("HealthCheckId"))
    status = SUCCESS if probe_ok(self.backend, hc) else FAILURE
    observations = [{"Region": region, "IPAddress": f"15.177.{n * 8}.{n + 1}",
                     "StatusReport": {"Status": status, "CheckedTime": utcnow()}}
                    for n, region in enumerate(hc.regions or CHECKER_REGIONS)]
    return ActionResult({"HealthCheckObservations": observations})


def update_health_check(self: Route53) -> ActionResult:
    hc = self.backend.get_health_check(self._get_param("HealthCheckId"))
    version = self._get_param("HealthCheckVersion")
    if version is not None and int(version) != hc.health_check_version:
        raise Route53Error("HealthCheckVersionMismatch", "The value of HealthCheckVersion in the request doesn't "
                           "match the value of HealthCheckVersion in the health check.")
    fields = {"ip_address": "IPAddress", "port": "Port", "resource_path": "ResourcePath", "search_string":
              "SearchString", "fqdn": "FullyQualifiedDomainName", "failure_threshold": "FailureThreshold",
              "health_threshold": "HealthThreshold", "inverted": "Inverted", "disabled": "Disabled",
              "enable_sni": "EnableSNI", "children": "ChildHealthChecks", "regions": "Regions"}
    args = {field: self._get_param(param) for field, param in fields.items()}
    before = dict(hc.health_check_config)
    hc = self.backend.update_health_check(hc.id, args)  # moto's: None leaves a field as it is
    if hc.health_check_config != before:
        hc.health_check_version += 1
    return ActionResult({"HealthCheck": hc})


def register() -> None:
    """Add the operations and fixes to moto's Route 53 (idempotent)."""
    for fn in (get_change, test_dns_answer, get_health_check_status, update_health_check):
        setattr(Route53, fn.__name__, fn)
    Route53.change_resource_record_sets = change_resource_record_sets_response
    Route53Backend.change_resource_record_sets = change_resource_record_sets
    route53_urls.url_paths.setdefault(r"{0}/(?P<api_version>[\d_-]+)/testdnsanswer$", Route53.dispatch)


def changes_pending(account_ids: Iterable[str] | None = None) -> int:
    """How many record changes are still PENDING (for tests)."""
    now = time.time()
    with _lock:
        return sum(1 for (account, _), due in _changes.items() if due > now and
                   (account_ids is None or account in account_ids))
