"""Amazon EventBridge (``EventBridge``): the DR region's rules take over, or a global endpoint fails over.

The seeds say ACTIVATE only. Two AWS mechanisms move event processing between regions, and a resource
may use either or both:

* **Rules** deployed in both regions, ENABLED where they serve and DISABLED where they stand by.
  ACTIVATE enables the target region's rules, then disables the source's: enable first, because a short
  overlap (an event handled in both regions; EventBridge delivers at least once anyway, so consumers
  are idempotent) is better than a gap (events matched by no rule are lost). Scheduled rules need this
  most: a cron rule fires in every region whose copy is ENABLED.
* A **global endpoint** (``globalEndpoint``). AWS's mechanism is not UpdateEndpoint: an endpoint sends
  custom events to its primary (home) region while its Route 53 health check is healthy and to its
  secondary region when the check is unhealthy. UpdateEndpoint cannot swap the two regions (the home
  region is where the endpoint was created), and it is a call to the home region -- the dark one in an
  unplanned failover. So the lever is the health check, exactly as for ``R53FailoverRecord``: a failover
  *holds it unhealthy* with ``UpdateHealthCheck(Disabled=true, Inverted=true)`` and a failback releases
  it (both false). Both flags: AWS counts a disabled check healthy, and inverting alone would turn the
  dark primary's failing check into "healthy" and route events back into it. The endpoint must be homed
  in the manifest's primary region with the DR region as its secondary. It is read with ``ListEndpoints``
  (``NamePrefix``, ``HomeRegion`` = primary) in the region moved *to*: an endpoint is answered in both
  its regions, so no run reads the region it leaves for it (and discovery lists endpoints with the same
  call). Its event bus in that region carries the scope tags checked before anything changes.

Unplanned failover (the source region dark): ACTIVATE enables the target's rules and holds the endpoint's
check without any call to the source. The old region's rules stay ENABLED in the dark region, and would
process its events again as it recovers: CLEANUP disables them, and ``run_phase`` defers CLEANUP to
``operation=reprotect``, once the region answers. (In a planned run ACTIVATE already did it: CLEANUP
finds nothing to do.) Route 53's control plane is in us-east-1: when that is the region being left, no
health-check call is made -- Route 53's data plane moves the endpoint by itself once the check fails with
its region -- validate reports the endpoint DEGRADED, and reprotect's CLEANUP holds the check.

A drill only reads: the target's rules exist, are in scope and have targets (disabled, as a standby's
should be, or already enabled: noted), the endpoint is usable and routes to the source. Every rule touched
and the endpoint's bus must carry the run's Customer/Environment tags. EnableRule, DisableRule and
UpdateHealthCheck take effect at once (Route 53 at its next evaluation, seconds): there is nothing to
wait for, and validate (which Airflow retries) confirms the rules' state and where the endpoint routes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from botocore.exceptions import ClientError
from pydantic import Field, model_validator

from dr_adapters.adapters.base import (
    ActionConfig,
    Adapter,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    source_finding,
)
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.route53 import ROUTE53_REGION, control_plane
from dr_adapters.adapters.route53_failover import counted_healthy
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

RULE_NAME = r"^[.\-_A-Za-z0-9]{1,64}$"
SCOPE_FIX = "tag it with this estate's Customer/Environment, or remove it from the manifest"
ENDPOINT_TAG = "dr:global-endpoint"  # on a resource's rules: the global endpoint they fail over with
USABLE_ENDPOINT_STATES = ("ACTIVE", "CREATING", "UPDATING")  # routing follows the health check in each


class RuleGroup(ActionConfig):
    bus: str = Field("default", description="Event bus of the rules, in the primary region.")
    names: list[str] = Field(min_length=1, description="Names of the rules on that bus in the primary region.")
    dr_bus: str | None = Field(None, alias="drBus", description="Event bus of the rules in the DR region (default: bus).")
    dr_names: list[str] | None = Field(
        None, alias="drNames", min_length=1, description="Names of the rules in the DR region (default: names).")


class EventBridgeConfig(ActionConfig):
    rules: list[RuleGroup] | None = Field(
        None, description="Rules moved between the regions, per event bus: a list of {bus (default `default`), "
                          "names, drBus and drNames (the DR region's, default: the same)}; the serving region's "
                          "are ENABLED, the other's DISABLED. Discovery groups tagged rules by their Name tag.")
    global_endpoint: str | None = Field(
        None, alias="globalEndpoint", pattern=RULE_NAME,
        description="Global endpoint (homed in the primary region, the DR region its secondary) failed over by "
                    "holding its Route 53 health check unhealthy. Discovery: its tagged event bus, or the resource's "
                    "rules tagged dr:global-endpoint.")

    @model_validator(mode="after")
    def _something_to_move(self) -> EventBridgeConfig:
        if not self.rules and not self.global_endpoint:
            raise ValueError("name rules, a globalEndpoint, or both")
        return self


class _Rule(NamedTuple):
    """One rule in one region."""

    region: str
    bus: str
    name: str

    def __str__(self) -> str:
        return f"rule {self.name} on event bus {self.bus} in {self.region}"


def _rules(ctx: RunContext, cfg: EventBridgeConfig) -> tuple[list[_Rule], list[_Rule]]:
    """(source rules, target rules) for this run's direction."""
    primary = [_Rule(ctx.regions.primary, g.bus, n) for g in cfg.rules or () for n in g.names]
    dr = [_Rule(ctx.regions.dr, g.dr_bus or g.bus, n) for g in cfg.rules or () for n in g.dr_names or g.names]
    return ctx.source_and_target(primary, dr)


class _Reader:
    """EventBridge reads of one work unit, each event bus listed once per region."""

    def __init__(self, ctx: RunContext, unit: WorkUnit):
        self.ctx, self.unit = ctx, unit
        self._buses: dict[tuple[str, str], dict[str, dict[str, Any]] | None] = {}

    def events(self, region: str) -> Any:
        return self.ctx.client("events", region, self.unit.account_id)

    def rule(self, ref: _Rule) -> dict[str, Any] | None:
        """The rule as ListRules describes it (State, Arn ...), or None when it or its bus does not exist."""
        key = (ref.region, ref.bus)
        if key not in self._buses:
            events = self.events(ref.region)
            try:
                pages = events.get_paginator("list_rules").paginate(EventBusName=ref.bus)
                self._buses[key] = {r["Name"]: r for page in pages for r in page["Rules"]}
            except events.exceptions.ResourceNotFoundException:
                self._buses[key] = None  # no such event bus
        return (self._buses[key] or {}).get(ref.name)

    def tags(self, region: str, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.events(region).list_tags_for_resource(ResourceARN=arn)["Tags"]}

    def has_targets(self, ref: _Rule) -> bool:
        return bool(self.events(ref.region).list_targets_by_rule(Rule=ref.name, EventBusName=ref.bus, Limit=1)["Targets"])


class _Endpoint:
    """A global endpoint resolved for this run: read in the target region, with its health check."""

    def __init__(self, ctx: RunContext, reader: _Reader, rid: str, name: str):
        self.ctx, self.rid, self.name = ctx, rid, name
        self.primary, self.dr = ctx.regions.primary, ctx.regions.dr
        self.region = ctx.target_region  # never the region being left: the endpoint answers in both
        self.endpoint = self._find(reader.events(self.region))
        self.bus_arn = next((b["EventBusArn"] for b in (self.endpoint or {}).get("EventBuses", [])
                             if b["EventBusArn"].split(":")[3] == self.region), None)
        self.bus_tags: dict[str, str] | None = None
        if self.bus_arn:
            try:
                self.bus_tags = reader.tags(self.region, self.bus_arn)
            except ClientError as err:
                if err.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
        arn = (((self.endpoint or {}).get("RoutingConfig") or {}).get("FailoverConfig") or {}).get("Primary", {}).get(
            "HealthCheck", "")
        self.check_id = arn.rsplit("/", 1)[-1] if arn else None
        self.check: dict[str, Any] | None = None
        # Route 53's control plane is us-east-1: never called when that is the dark region being left.
        self.dark = ctx.unplanned and ctx.source_region == ROUTE53_REGION
        if self.dark or not self.check_id:
            return
        self.r53 = ctx.aws.client("route53", ROUTE53_REGION, reader.unit.account_id, fail_fast=True)
        try:
            with control_plane(rid):
                self.check = self.r53.get_health_check(HealthCheckId=self.check_id)["HealthCheck"]["HealthCheckConfig"]
        except ClientError as err:
            if err.response["Error"]["Code"] != "NoSuchHealthCheck":
                raise
        except AdapterError:
            if not ctx.unplanned:
                raise
            self.dark = True  # us-east-1 does not answer: the data plane still fails the endpoint over

    def _find(self, events: Any) -> dict[str, Any] | None:
        args: dict[str, Any] = {"NamePrefix": self.name, "HomeRegion": self.primary}
        while True:
            page = events.list_endpoints(**args)
            found = next((e for e in page["Endpoints"] if e["Name"] == self.name), None)
            if found or not page.get("NextToken"):
                return found
            args["NextToken"] = page["NextToken"]

    def __str__(self) -> str:
        return f"global endpoint {self.name}"

    def problems(self) -> list[str]:
        """Why the endpoint cannot be failed over (read-only)."""
        ep = self.endpoint
        if ep is None:
            return [f"{self} (homed in {self.primary}) not found from {self.region}"]
        secondary = ep["RoutingConfig"]["FailoverConfig"]["Secondary"]["Route"]
        found = []
        if secondary != self.dr:
            found.append(f"{self} fails over to {secondary}, not to the DR region {self.dr}")
        if ep["State"] not in USABLE_ENDPOINT_STATES:
            found.append(f"{self} is {ep['State']}: {ep.get('StateReason', 'fix or re-create it')}")
        if self.bus_arn is None:
            found.append(f"{self} has no event bus in {self.region}")
        elif self.bus_tags is None:
            found.append(f"event bus {self.bus_arn} of {self} does not exist")
        if not self.dark and self.check is None:
            found.append(f"health check {self.check_id} of {self} not found")
        return found

    def scope_problem(self) -> str | None:
        mismatch = self.ctx.scope.mismatch(self.bus_tags or {})
        return f"event bus {self.bus_arn} of {self} is out of scope: {mismatch}" if mismatch else None

    def require(self) -> None:
        problem = self.problems()
        if problem:
            raise AdapterError(self.rid, "; ".join(problem), "create the endpoint in the primary region with the DR "
                               "region as its secondary and a Route 53 health check, or fix globalEndpoint")
        mismatch = self.scope_problem()
        if mismatch:
            raise AdapterError(self.rid, mismatch, SCOPE_FIX)

    @property
    def held(self) -> bool:
        return bool(self.check and self.check.get("Disabled") and self.check.get("Inverted"))

    def is_at(self, region: str) -> bool:
        """Whether the health check is set for ``region`` to take the events: held for DR, released for primary."""
        if region == self.dr:
            return self.held
        return bool(self.check) and not self.check.get("Disabled") and not self.check.get("Inverted")

    def routes_to(self) -> tuple[str, str]:
        """Where the endpoint sends events now, and why (Route 53's verdict on its health check)."""
        healthy, why = counted_healthy(self.r53, self.check_id, self.check or {})
        return (self.primary if healthy else self.dr), why

    def hold(self, region: str) -> None:
        """Set the health check for ``region`` to take the events (one UpdateHealthCheck)."""
        held = region == self.dr
        with control_plane(self.rid):
            self.ctx.mutate(self.r53, "update_health_check", HealthCheckId=self.check_id, Disabled=held, Inverted=held)

    @property
    def dark_note(self) -> str:
        return (f"{self}: no Route 53 call -- its control plane ({ROUTE53_REGION}) is dark; Route 53 routes the "
                f"endpoint to {self.dr} once its health check fails with {self.primary} (not confirmed without the "
                "API); operation=reprotect's CLEANUP holds the check so the recovered region takes no events back")


class EventBridgeAdapter(Adapter):
    """Enables the target region's EventBridge rules and disables the source's, and/or fails a global endpoint
    over by holding its Route 53 health check unhealthy (AWS's failover lever for global endpoints)."""

    actions = ("EventBridge",)
    config_model = EventBridgeConfig
    phases = (Phase.ACTIVATE, Phase.CLEANUP)
    drill_behaviour = ("read-only: checks the target region's rules exist with targets (standing by disabled) and the "
                       "global endpoint, its health check and DR event bus; enables, disables and holds nothing")
    unplanned_behaviour = (
        "enables the target region's rules and holds the endpoint's health check without any call to the source "
        "region; its rules stay enabled there until reprotect's CLEANUP disables them; with us-east-1 dark, "
        "Route 53's data plane moves the endpoint by itself (validate DEGRADED) and reprotect holds its check"
    )
    phase_summaries = {
        Phase.INSTANTIATE: "no-op (the rules, buses and endpoint are deployed in both regions beforehand)",
        Phase.ACTIVATE: "enable the target region's rules, then disable the source's; hold (failback: release) the "
                        "global endpoint's Route 53 health check (UpdateHealthCheck Disabled+Inverted)",
        Phase.CLEANUP: "the same convergence: nothing left after a planned ACTIVATE; after an unplanned one "
                       "(at reprotect) disables the old region's rules and holds the endpoint's check",
        Phase.REPLICATE: "no-op (EventBridge rules carry no data to replicate)",
    }
    iam_actions = (
        "events:DisableRule",
        "events:EnableRule",
        "events:ListEndpoints",
        "events:ListRules",
        "events:ListTagsForResource",
        "events:ListTargetsByRule",
        "route53:GetHealthCheck",
        "route53:GetHealthCheckStatus",
        "route53:UpdateHealthCheck",
    )

    # -- reads ---------------------------------------------------------------------------------------
    def _resolve(self, ctx: RunContext, reader: _Reader, resource: ResourceSpec
                 ) -> tuple[EventBridgeConfig, list[_Rule], list[_Rule], _Endpoint | None]:
        cfg = self.config(resource)
        source, target = _rules(ctx, cfg)
        endpoint = _Endpoint(ctx, reader, resource.resource_id, cfg.global_endpoint) if cfg.global_endpoint else None
        return cfg, source, target, endpoint

    def _guard(self, ctx: RunContext, reader: _Reader, rid: str, ref: _Rule, rule: dict[str, Any] | None,
               fix: str) -> dict[str, Any]:
        if rule is None:
            raise AdapterError(rid, f"{ref} does not exist", fix)
        mismatch = ctx.scope.mismatch(reader.tags(ref.region, rule["Arn"]))
        if mismatch:
            raise AdapterError(rid, f"{ref} is out of scope: {mismatch}", SCOPE_FIX)
        return rule

    # -- read-only -------------------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings: list[Finding] = []
        reader = _Reader(ctx, unit)
        for resource in unit.resources:
            rid = resource.resource_id
            _, source, target, endpoint = self._resolve(ctx, reader, resource)
            target_ok = True
            for ref in target:
                finding = self._target_finding(ctx, reader, rid, ref)
                target_ok &= finding.ok
                findings.append(finding)
            if endpoint is not None:
                finding = self._endpoint_finding(ctx, rid, endpoint)
                target_ok &= finding.ok
                findings.append(finding)
            for ref in source:
                def read_tags(ref: _Rule = ref) -> dict[str, str] | None:
                    rule = reader.rule(ref)
                    return reader.tags(ref.region, rule["Arn"]) if rule else None
                findings.append(source_finding(ctx, rid, str(ref), read_tags, target_ok=target_ok))
        return findings

    def _target_finding(self, ctx: RunContext, reader: _Reader, rid: str, ref: _Rule) -> Finding:
        rule = reader.rule(ref)
        if rule is None:
            return Finding(rid, False, f"{ref} does not exist")
        tags = reader.tags(ref.region, rule["Arn"])
        mismatch = ctx.scope.mismatch(tags)
        if mismatch:
            return Finding(rid, False, f"{ref} is out of scope: {mismatch}", tags)
        if not reader.has_targets(ref):
            return Finding(rid, False, f"{ref} has no targets: enabled, it would drop the events it matches", tags)
        state = "already ENABLED (both regions process its events)" if rule["State"] != "DISABLED" else \
            "standing by (DISABLED), with targets"
        return Finding(rid, True, f"{ref} {state}", tags)

    def _endpoint_finding(self, ctx: RunContext, rid: str, ep: _Endpoint) -> Finding:
        problems = ep.problems()
        if problems:
            return Finding(rid, False, "; ".join(problems), ep.bus_tags)
        mismatch = ep.scope_problem()
        if mismatch:
            return Finding(rid, False, mismatch, ep.bus_tags)
        if ep.dark:
            return Finding(rid, True, ep.dark_note, ep.bus_tags)
        now, why = ep.routes_to()
        if ctx.target_region == ep.primary and ep.is_at(ep.primary) and now != ep.primary:
            # Released already, yet unhealthy: a failback would leave events in the DR region.
            return Finding(rid, False, f"{ep} routes to {now} although its check is released ({why}): the primary "
                                       "is unhealthy", ep.bus_tags)
        return Finding(rid, True, f"{ep} ({ep.endpoint['State']}) routes to {now} ({why})", ep.bus_tags)

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks: list[HealthCheck] = []
        reader = _Reader(ctx, unit)
        for resource in unit.resources:
            rid = resource.resource_id
            _, _, target, endpoint = self._resolve(ctx, reader, resource)
            worst, reasons = Health.HEALTHY, []
            for ref in target:
                rule = reader.rule(ref)
                if rule is None:
                    problem = "does not exist"
                elif not reader.has_targets(ref):
                    problem = "has no targets"
                elif rule["State"] == "DISABLED" and not ctx.is_drill:
                    problem = "is DISABLED"
                else:
                    reasons.append(f"{ref}: {rule['State']}")
                    continue
                worst = Health.UNHEALTHY
                reasons.append(f"{ref} {problem}")
            if endpoint is not None:
                status, reason = self._endpoint_health(ctx, endpoint)
                worst = max(worst, status, key=[Health.HEALTHY, Health.DEGRADED, Health.UNHEALTHY].index)
                reasons.append(reason)
            if ctx.is_drill and worst is Health.HEALTHY:
                reasons.insert(0, "drill: unchanged")
            # DEGRADED only because the endpoint's control plane is dark: waiting will not change it
            final = worst is Health.DEGRADED and endpoint is not None and endpoint.dark
            checks.append(HealthCheck(rid, worst, "; ".join(reasons), final=final))
        return checks

    def _endpoint_health(self, ctx: RunContext, ep: _Endpoint) -> tuple[Health, str]:
        problem = "; ".join(ep.problems()) or ep.scope_problem()
        if problem:
            return Health.UNHEALTHY, problem
        if ep.dark:
            return Health.DEGRADED, ep.dark_note
        # A drill leaves the endpoint alone: routing to the source is what is expected then.
        wanted = ctx.target_region if ep.is_at(ctx.target_region) or not ctx.is_drill else ctx.source_region
        now, why = ep.routes_to()
        if now != wanted:
            return Health.UNHEALTHY, f"{ep} routes to {now}, expected {wanted} ({why})"
        return Health.HEALTHY, f"{ep} routes to {now} ({why})"

    # -- phases --------------------------------------------------------------------------------------
    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        reader = _Reader(ctx, unit)
        for resource in unit.resources:
            rid = resource.resource_id
            _, source, target, endpoint = self._resolve(ctx, reader, resource)
            # Everything read and checked (existence, scope) before the first change: no half-moved resource.
            fix = ("deploy it in the DR region (a drill creates nothing)" if ctx.is_drill else
                   f"deploy the rule in {ctx.target_region} (disabled, with its targets), or fix the manifest's rules")
            enable = [ref for ref in target if self._guard(ctx, reader, rid, ref, reader.rule(ref), fix)["State"]
                      == "DISABLED"]
            disable: list[_Rule] = []
            if not ctx.unplanned:
                for ref in source:
                    rule = reader.rule(ref)
                    if rule is None:
                        out.notes.append(f"{rid}: {ref} does not exist; nothing to disable")
                    elif self._guard(ctx, reader, rid, ref, rule, fix)["State"] != "DISABLED":
                        disable.append(ref)
            if endpoint is not None:
                endpoint.require()
            if ctx.is_drill:
                out.notes.append(f"{rid}: drill, read-only: {self._drill(reader, rid, target, endpoint)}")
                continue
            for ref in enable:
                ctx.mutate(reader.events(ref.region), "enable_rule", Name=ref.name, EventBusName=ref.bus)
                out.notes.append(f"{rid}: enabled {ref}")
            for ref in disable:
                ctx.mutate(reader.events(ref.region), "disable_rule", Name=ref.name, EventBusName=ref.bus)
                out.notes.append(f"{rid}: disabled {ref}")
            if ctx.unplanned and source:
                out.notes.append(f"{rid}: disabling the rules in {ctx.source_region}: CLEANUP {ctx.deferred_note}")
            if endpoint is not None:
                self._move_endpoint(ctx, rid, endpoint, out)
        return out

    def _drill(self, reader: _Reader, rid: str, target: list[_Rule], endpoint: _Endpoint | None) -> str:
        no_targets = [str(ref) for ref in target if not reader.has_targets(ref)]
        if no_targets:
            raise AdapterError(rid, f"{', '.join(no_targets)}: no targets", "add the rule's targets in the DR region")
        said = [f"{len(target)} target rule(s) exist with targets"] if target else []
        if endpoint is not None:
            said.append(endpoint.dark_note if endpoint.dark else
                        f"{endpoint} and its health check {endpoint.check_id} are ready; it routes to "
                        f"{endpoint.routes_to()[0]}")
        return "; ".join(said)

    def _move_endpoint(self, ctx: RunContext, rid: str, ep: _Endpoint, out: PhaseOutcome) -> None:
        if ep.dark:
            out.notes.append(f"{rid}: {ep.dark_note}")
        elif ep.is_at(ctx.target_region):
            out.notes.append(f"{rid}: {ep}'s health check {ep.check_id} already set for {ctx.target_region}")
        else:
            ep.hold(ctx.target_region)
            verb = "held unhealthy" if ctx.target_region == ep.dr else "released"
            out.notes.append(f"{rid}: {ep}'s health check {ep.check_id} {verb}: events go to {ctx.target_region}")

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        """ACTIVATE's convergence again: nothing after a planned ACTIVATE; after an unplanned one (run at
        reprotect, the old region back) it disables the old region's rules and holds the endpoint's check."""
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: nothing is disabled"])
        return self.activate(ctx, unit)

    # -- tag discovery --------------------------------------------------------------------------------
    discovery_types = ("events:rule", "events:event-bus")

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        """The global endpoint, else the first rule (by event bus and name) of the primary region."""
        if config.get("globalEndpoint"):
            return f"eventbridge/{account_id}/endpoint/{config['globalEndpoint']}"
        bus, name = min((g.get("bus", "default"), n) for g in config["rules"] for n in g["names"])
        return f"eventbridge/{account_id}/{bus}/{name}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        """The tagged parts of one resource share its ``Name`` tag (rules of both regions, the endpoint's event
        buses): grouped by it, the primary region's rules make ``rules`` (per bus), the DR region's differing
        ones ``drBus``/``drNames``, and a tagged bus its global endpoint (listed once, from the primary region).

        Discovery hands each resource type over on its own, so a resource's rules never see its tagged bus:
        that rules go with an endpoint (often on another bus: a scheduled rule is on the default one) is not in
        AWS but in their ``dr:global-endpoint`` tag, which makes the rules' entry the endpoint's."""
        endpoints: dict[str, str] | None = None
        groups: dict[tuple[str, ...], list[tuple[Tagged, str, str | None]]] = {}
        for f in found:
            kind, _, rest = f.arn.split(":", 5)[5].partition("/")
            bus, _, name = rest.rpartition("/") if kind == "rule" else (rest, "", "")
            bus = bus or "default"
            key = ("name", f.tags["Name"]) if f.tags.get("Name") else (kind, bus, name)
            groups.setdefault(key, []).append((f, bus, name or None))
        out: list[Derived | NotDerived] = []
        for parts in groups.values():
            if endpoints is None and any(rule is None for _, _, rule in parts):
                endpoints = self._endpoints_by_bus(read)
            out += self._derive_group(parts, endpoints or {}, read)
        return out

    @staticmethod
    def _endpoints_by_bus(read: DiscoveryRead) -> dict[str, str]:
        """Event bus name -> the global endpoint homed in the primary region that fails it over to DR."""
        events, args, by_bus = read.client("events", read.primary), {"HomeRegion": read.primary}, {}
        while True:
            page = events.list_endpoints(**args)
            for ep in page["Endpoints"]:
                if ep["RoutingConfig"]["FailoverConfig"]["Secondary"]["Route"] == read.dr:
                    for bus in ep["EventBuses"]:
                        by_bus.setdefault(bus["EventBusArn"].rsplit("/", 1)[-1], ep["Name"])
            if not page.get("NextToken"):
                return by_bus
            args["NextToken"] = page["NextToken"]

    def _derive_group(self, parts: list[tuple[Tagged, str, str | None]], endpoints: dict[str, str],
                      read: DiscoveryRead) -> list[Derived | NotDerived]:
        sides: dict[str, dict[str, list[str]]] = {read.primary: {}, read.dr: {}}
        for f, bus, rule in parts:
            if rule is not None and f.region in sides:
                sides[f.region].setdefault(bus, []).append(rule)
        primary = {bus: sorted(names) for bus, names in sides[read.primary].items()}
        dr = {bus: sorted(names) for bus, names in sides[read.dr].items()}
        rules, problem = self._rule_groups(primary or dr, dr if primary else {})
        endpoint = next((f.tags[ENDPOINT_TAG] for f, _, _ in parts if f.tags.get(ENDPOINT_TAG)), None) or next(
            (endpoints[bus] for f, bus, rule in parts if rule is None and bus in endpoints), None)
        if problem is None and not rules and endpoint is None:
            problem = ("an event bus with no global endpoint failing it over to the DR region -- tag the bus's "
                       "rules (dr:enabled, the same Name tag) or create a global endpoint for it")
        if problem:
            return [NotDerived(f.arn, problem) for f, _, _ in parts]
        config: dict[str, Any] = {"rules": rules} if rules else {}
        if endpoint:
            config["globalEndpoint"] = endpoint
        identity = self.identity(config, read.account_id)
        name = endpoint or rules[0]["names"][0]
        return [Derived(identity, self.actions[0], name, config, f.arn, f.tags, secondary=f.region != read.primary)
                for f, _, _ in parts]

    @staticmethod
    def _rule_groups(primary: dict[str, list[str]], dr: dict[str, list[str]]) -> tuple[list[dict[str, Any]], str | None]:
        """``rules`` from the primary's rules per bus, with the DR region's where they differ."""
        groups = [{"bus": bus, "names": names} for bus, names in sorted(primary.items())]
        if not dr or dr == primary:
            return groups, None
        if set(dr) == set(primary):
            for g in groups:
                if dr[g["bus"]] != g["names"]:
                    g["drNames"] = dr[g["bus"]]
            return groups, None
        if len(primary) == 1 and len(dr) == 1:
            (dr_bus, dr_names), = dr.items()
            groups[0]["drBus"] = dr_bus
            if dr_names != groups[0]["names"]:
                groups[0]["drNames"] = dr_names
            return groups, None
        return [], ("its DR rules are on other event buses than its primary ones, and several: which stands in for "
                    "which cannot be told -- list it under layers with drBus/drNames per bus")
