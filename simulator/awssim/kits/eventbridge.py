"""EventBridge kit: each resource's rules in both regions (ENABLED in the primary, DISABLED in DR, each with a
target) and, for a global endpoint, its event bus in both regions and the endpoint homed in the primary with
DR as its secondary, failing over by a Route 53 health check.

Every rule and endpoint bus carries all of the resource's tags (its ``Name`` tag is what groups a resource's
parts for discovery); the health check carries the scope only (never ``dr:*``: it is not failed over, it is
the lever), and the default event bus, shared by every rule on it, is left untagged. The health check probes
a name carrying the primary region, as an alarm on the primary's EventBridge would: it fails with its region.

Who serves is which region's rules are ENABLED and, for an endpoint, where Route 53 routes it now: home while
its health check counts healthy (disabled counts healthy, inverted flips: the check's flags are what a
failback must restore), else the secondary.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Estate, Kit, Seed

HEALTHY_SHARE = 0.18  # Route 53: healthy when more than 18% of its checkers report success


def _rules(estate: Estate, config: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(side, region, bus, name) of every rule of a config, both regions."""
    out = []
    for g in config.get("rules") or ():
        bus = g.get("bus", "default")
        out += [(PRIMARY, estate.primary, bus, n) for n in g["names"]]
        out += [(DR, estate.dr, g.get("drBus") or bus, n) for n in g.get("drNames") or g["names"]]
    return out


def endpoint_bus(endpoint: str) -> str:
    """The event bus a kit endpoint fails over (the same name in both regions, as AWS requires)."""
    return f"{endpoint}-bus"


def seed_rule(session: boto3.Session, region: str, bus: str, name: str, *, enabled: bool, tags: dict[str, str]) -> str:
    """A rule with one target (a queue of the account), tagged; returns its ARN. Scheduled on the default bus
    (a cron job fires in every region whose copy is enabled), an event pattern elsewhere."""
    events = session.client("events", region_name=region)
    account = session.client("sts", region_name=region).get_caller_identity()["Account"]
    if bus != "default" and bus not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
        events.create_event_bus(Name=bus)
    pattern = {"ScheduleExpression": "rate(1 hour)"} if bus == "default" else {
        "EventPattern": json.dumps({"source": [f"{bus}.app"]})}
    arn = events.put_rule(Name=name, EventBusName=bus, State="ENABLED" if enabled else "DISABLED",
                          Tags=[{"Key": k, "Value": v} for k, v in tags.items()], **pattern)["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=[
        {"Id": "worker", "Arn": f"arn:aws:sqs:{region}:{account}:{name}-worker"}])
    return arn


def seed_endpoint(session: boto3.Session, primary: str, dr: str, name: str, tags: dict[str, str],
                  scope_tags: dict[str, str]) -> str:
    """The endpoint's bus in both regions (tagged), its health check (scope tags) and the endpoint, homed in
    ``primary`` with ``dr`` its secondary; returns the health check id."""
    account = session.client("sts", region_name=primary).get_caller_identity()["Account"]
    bus = endpoint_bus(name)
    for region in (primary, dr):
        events = session.client("events", region_name=region)
        events.create_event_bus(Name=bus, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    r53 = session.client("route53")
    check = r53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": f"events-health.{primary}.{name}.example", "Port": 443,
        "ResourcePath": "/health"})["HealthCheck"]["Id"]
    r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check,
                                 AddTags=[{"Key": k, "Value": v} for k, v in scope_tags.items()])
    session.client("events", region_name=primary).create_endpoint(
        Name=name, RoutingConfig={"FailoverConfig": {"Primary": {"HealthCheck": f"arn:aws:route53:::healthcheck/{check}"},
                                                     "Secondary": {"Route": dr}}},
        ReplicationConfig={"State": "ENABLED"}, RoleArn=f"arn:aws:iam::{account}:role/{name}-replication",
        EventBuses=[{"EventBusArn": f"arn:aws:events:{r}:{account}:event-bus/{bus}"} for r in (primary, dr)])
    return check


def endpoint_routes_to(session: boto3.Session, primary: str, name: str) -> str | None:
    """Where an endpoint sends events now, from its health check's flags and status (None: no such endpoint)."""
    found = [e for e in session.client("events", region_name=primary).list_endpoints(NamePrefix=name)["Endpoints"]
             if e["Name"] == name]
    if not found:
        return None
    failover = found[0]["RoutingConfig"]["FailoverConfig"]
    check = failover["Primary"]["HealthCheck"].rsplit("/", 1)[-1]
    r53 = session.client("route53")
    config = r53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
    if config.get("Disabled"):
        healthy = True
    else:
        seen = r53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
        healthy = sum(o["StatusReport"]["Status"].startswith("Success") for o in seen) > HEALTHY_SHARE * len(seen)
    healthy = healthy != bool(config.get("Inverted"))
    return primary if healthy else failover["Secondary"]["Route"]


class EventBridgeKit(Kit):
    actions = ("EventBridge",)
    services = ("events", "route53")
    acts = {"failover": frozenset({"ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, rank = "events", 60  # not in synthetic estates (share 0)
    # Which endpoint a resource's rules fail over with is not in AWS (a scheduled rule is on the default bus,
    # not the endpoint's): every part carries it, so discovery makes the rules' entry the endpoint's.
    config_tags = {"globalEndpoint": "dr:global-endpoint"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        if n % 2 == 0:  # rules on a custom bus and a scheduled one on the default bus
            return {"rules": [{"bus": "default", "names": [f"nightly-{n}"]},
                              {"bus": f"{customer}-orders", "names": [f"orders-{n}-created", f"orders-{n}-paid"]}]}
        # a global endpoint, with a scheduled rule named per region
        return {"globalEndpoint": f"{customer}-events-{n}",
                "rules": [{"bus": "default", "names": [f"nightly-{n}"], "drNames": [f"nightly-{n}-dr"]}]}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c, session = item.resource.config, estate.session(item.resource.account_id)
            for side, region, bus, name in _rules(estate, c):
                seed_rule(session, region, bus, name, enabled=side == PRIMARY, tags=item.tags)
            if c.get("globalEndpoint"):
                seed_endpoint(session, estate.primary, estate.dr, c["globalEndpoint"], item.tags, estate.scope_tags)

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        session = estate.session(resource.account_id)
        role: dict[str, Any] = {PRIMARY: {}, DR: {}}
        for side, region, bus, name in _rules(estate, resource.config):
            rule = session.client("events", region_name=region).describe_rule(Name=name, EventBusName=bus)
            role[side][f"{bus}/{name}"] = rule["State"]
        if resource.config.get("globalEndpoint"):
            routes = endpoint_routes_to(session, estate.primary, resource.config["globalEndpoint"])
            role["endpoint"] = routes and estate.side(routes)
        return role

    @staticmethod
    def _serves(role: Any, side: str) -> bool:
        return all(s == "ENABLED" for s in role[side].values()) and role.get("endpoint", side) == side

    def serves_from(self, resource: Any, role: Any) -> str | None:
        serving = [side for side in (PRIMARY, DR) if self._serves(role, side)
                   and all(s == "DISABLED" for s in role[DR if side == PRIMARY else PRIMARY].values())]
        return serving[0] if len(serving) == 1 else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        return self._serves(self.serving_role(estate, resource), side)

    def state(self, session: boto3.Session, region: str) -> Any:
        events = session.client("events", region_name=region)
        rules = {}
        for bus in events.list_event_buses()["EventBuses"]:
            for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
                targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
                rules[f"{bus['Name']}/{rule['Name']}"] = (rule["State"], len(targets))
        # the endpoints' configuration (their State settles by itself), and the health checks' flags (global)
        endpoints = {e["Name"]: (e["RoutingConfig"], e["EventBuses"]) for e in events.list_endpoints()["Endpoints"]}
        checks = {c["Id"]: (c["HealthCheckConfig"].get("Disabled"), c["HealthCheckConfig"].get("Inverted"))
                  for c in session.client("route53").list_health_checks()["HealthChecks"]}
        return {"rules": rules, "endpoints": endpoints, "health_checks": checks}

    def break_resource(self, estate: Estate, resource: Any) -> str:
        """The DR copy of a rule loses its targets: enabled, it would drop every event it matches."""
        _, region, bus, name = next(r for r in _rules(estate, resource.config) if r[0] == DR)
        events = estate.session(resource.account_id).client("events", region_name=region)
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["worker"])
        return "no targets"
