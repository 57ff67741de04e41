"""EventBridge: what only it has -- rules enabled before the old ones are disabled, the old region's rules left
to reprotect after an unplanned failover, a global endpoint failed over by its Route 53 health check (never
by UpdateEndpoint, a call to the region being left), and rules of one resource grouped for discovery.

The contract every adapter keeps is proven in test_contract.py on the kit's mini-estate.
"""

from __future__ import annotations

import logging

import pytest
from awssim import eventbridge as eventbridge_sim
from awssim import outage
from awssim.kits.eventbridge import seed_endpoint, seed_rule

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError, RunContext
from dr_adapters.adapters.discovery import DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.eventbridge import EventBridgeAdapter, EventBridgeConfig
from dr_adapters.adapters.runner import converge
from dr_adapters.aws.sessions import AccountSessions
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Operation, Phase, Regions, Scope
from mini_estate import DR, HUB, PRIMARY, mini_estate, units_of

adapter = EventBridgeAdapter()
TAGS = {"Customer": "acme", "Environment": "production", "Name": "jobs"}


def states(session, region, bus, *names):
    events = session.client("events", region_name=region)
    return [events.describe_rule(Name=n, EventBusName=bus)["State"] for n in names]


def flags(session, check):
    config = session.client("route53").get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
    return config["Disabled"], config["Inverted"]


def unit(config, rid="jobs"):
    return WorkUnit(f"eb-{rid}", "EventBridge", None, (ResourceSpec(rid, "EventBridge", config),))


def test_config_needs_rules_or_an_endpoint():
    with pytest.raises(ValueError, match="rules, a globalEndpoint"):
        EventBridgeConfig.model_validate({})
    assert EventBridgeConfig.model_validate({"rules": [{"names": ["a"]}]}).rules[0].bus == "default"


def test_failover_enables_dr_rules_before_disabling_the_primary_ones_and_failback_undoes_it(aws):
    mini = mini_estate("EventBridge")
    session = mini.estate.sessions[None]
    ctx = mini.run(mini.ctx("failover"), [Phase.ACTIVATE], mini.units[:1])
    operations = [(c["operation"], c["region"]) for c in ctx.changes]
    assert operations == [("enable_rule", DR)] * 3 + [("disable_rule", PRIMARY)] * 3  # no gap: overlap first
    assert states(session, DR, "globex-orders", "orders-0-created", "orders-0-paid") == ["ENABLED"] * 2
    assert states(session, PRIMARY, "default", "nightly-0") == ["DISABLED"]
    back = mini.run(mini.ctx("failback"), [Phase.ACTIVATE, Phase.CLEANUP], mini.units[:1])
    assert {c["region"] for c in back.changes if c["operation"] == "enable_rule"} == {PRIMARY}
    assert states(session, DR, "default", "nightly-0") == ["DISABLED"]
    assert states(session, PRIMARY, "globex-orders", "orders-0-created") == ["ENABLED"]


def test_the_endpoint_fails_over_by_its_health_check_never_by_updating_the_endpoint(aws):
    """The spoke's resource: a global endpoint (homed in the primary) and a scheduled rule named per region."""
    mini = mini_estate("EventBridge")
    spoke = mini.units[1]
    ctx, calls = recorded(mini.ctx("failover"))
    mini.run(ctx, [Phase.ACTIVATE], [spoke])
    assert "route53:UpdateHealthCheck" in calls and "events:UpdateEndpoint" not in calls
    assert {c.region for c in calls if c == "events:ListEndpoints"} == {DR}  # read where it moves to
    (check,) = adapter.validate(ctx, spoke)
    assert check.status is Health.HEALTHY and f"routes to {DR}" in check.reason
    account = spoke.account_id
    assert eventbridge_sim.routes_to(account, PRIMARY, "globex-events-1") == DR
    session = mini.estate.sessions[account]
    assert states(session, DR, "default", "nightly-1-dr") == ["ENABLED"]
    assert states(session, PRIMARY, "default", "nightly-1") == ["DISABLED"]

    mini.run(mini.ctx("failback"), [Phase.ACTIVATE], [spoke])
    assert eventbridge_sim.routes_to(account, PRIMARY, "globex-events-1") == PRIMARY


def test_the_hold_routes_to_dr_whatever_the_primary_does(aws):
    """Held (disabled + inverted), the check is unhealthy even while the primary is dark and its probe fails:
    inverting alone would send events back into the dark region."""
    mini = mini_estate("EventBridge")
    spoke = mini.units[1]
    with outage.outage(PRIMARY):
        assert eventbridge_sim.routes_to(spoke.account_id, PRIMARY, "globex-events-1") == DR  # fails by itself
        mini.run(mini.ctx("failover", unplanned=True), [Phase.ACTIVATE], [spoke])
        assert eventbridge_sim.routes_to(spoke.account_id, PRIMARY, "globex-events-1") == DR
    assert eventbridge_sim.routes_to(spoke.account_id, PRIMARY, "globex-events-1") == DR  # back: still held


def test_unplanned_leaves_the_old_rules_to_reprotect(aws):
    mini = mini_estate("EventBridge")
    session, hub = mini.estate.sessions[None], mini.units[:1]
    ctx = mini.ctx("failover", unplanned=True)
    with outage.outage(PRIMARY):
        activated = mini.run(ctx, [Phase.ACTIVATE], hub)
        cleanup = adapter.run_phase(Phase.CLEANUP, ctx, hub[0])
    assert {c["region"] for c in activated.changes} == {DR}
    assert any("CLEANUP deferred" in n for n in adapter.activate(ctx, hub[0]).notes)
    assert "deferred" in cleanup.notes[0]
    assert states(session, PRIMARY, "default", "nightly-0") == ["ENABLED"]  # untouched while dark

    reprotect = mini.run(mini.ctx("failover"), [Phase.CLEANUP], hub)  # reprotect: the failover's CLEANUP, planned
    assert [(c["operation"], c["region"]) for c in reprotect.changes] == [("disable_rule", PRIMARY)] * 3
    assert states(session, PRIMARY, "globex-orders", "orders-0-created", "orders-0-paid") == ["DISABLED"] * 2


def test_a_rule_out_of_scope_on_the_source_side_stops_activate_before_any_change(aws):
    mini = mini_estate("EventBridge")
    session = mini.estate.sessions[None]
    events = session.client("events", region_name=PRIMARY)
    arn = events.describe_rule(Name="nightly-0")["Arn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "Customer", "Value": "initech"}])
    with pytest.raises(AdapterError, match="initech") as refused:
        adapter.activate(mini.ctx("failover"), mini.units[0])
    assert "nightly-0" in str(refused.value)
    assert states(session, DR, "default", "nightly-0") == ["DISABLED"]  # nothing enabled either


def test_a_drill_refuses_a_dr_rule_without_targets_and_changes_nothing(aws):
    mini = mini_estate("EventBridge")
    mini.kit.break_resource(mini.estate, mini.units[0].resources[0])
    ctx, calls = recorded(mini.ctx("drill"))
    with pytest.raises(AdapterError, match="no targets"):
        adapter.activate(ctx, mini.units[0])
    (check,) = adapter.validate(ctx, mini.units[0])
    assert check.status is Health.UNHEALTHY and "no targets" in check.reason
    assert calls.mutating == []


def test_an_endpoint_failing_over_elsewhere_is_named_by_preflight(aws):
    mini = mini_estate("EventBridge")
    session = mini.estate.sessions[None]
    seed_rule(session, PRIMARY, "default", "tick", enabled=True, tags=TAGS | {"Customer": "globex", "Environment": "staging"})
    for region in (PRIMARY, "eu-central-1"):
        session.client("events", region_name=region).create_event_bus(Name="other-bus")
    check = session.client("route53").create_health_check(CallerReference="x", HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": "h.eu-west-1.example", "Port": 443})["HealthCheck"]["Id"]
    session.client("events", region_name=PRIMARY).create_endpoint(
        Name="elsewhere", RoutingConfig={"FailoverConfig": {"Primary": {"HealthCheck": f"arn:aws:route53:::healthcheck/{check}"},
                                                            "Secondary": {"Route": "eu-central-1"}}},
        ReplicationConfig={"State": "DISABLED"},
        EventBuses=[{"EventBusArn": f"arn:aws:events:{r}:{HUB}:event-bus/other-bus"} for r in (PRIMARY, "eu-central-1")])
    findings = adapter.preflight(mini.ctx("failover"), unit({"globalEndpoint": "elsewhere"}))
    assert [f.ok for f in findings] == [False] and "not found" in findings[0].message  # DR does not answer for it
    findings = adapter.preflight(mini.ctx("failback"), unit({"globalEndpoint": "elsewhere"}))
    assert not findings[0].ok and f"fails over to eu-central-1, not to the DR region {DR}" in findings[0].message


# -- us-east-1, Route 53's control plane, as the region left ------------------------------------------------
def _ctx(aws, operation="failover", *, unplanned=False):
    sessions = AccountSessions(aws, session_name="dr-test", sts_region="us-west-2")
    return RunContext(Operation(operation), Regions("us-east-1", "us-west-2"), Scope("acme", "production"), sessions,
                      log=logging.getLogger("dr.test"), unplanned=unplanned)


def test_unplanned_from_a_dark_us_east_1_relies_on_route53s_data_plane_and_reprotect_holds_the_check(aws):
    scope = {"Customer": "acme", "Environment": "production"}
    check = seed_endpoint(aws, "us-east-1", "us-west-2", "orders-ge", TAGS, scope)
    work = unit({"globalEndpoint": "orders-ge"})
    ctx, calls = recorded(_ctx(aws, unplanned=True))
    with outage.outage("us-east-1"):
        (finding,) = adapter.preflight(ctx, work)
        outcome = adapter.activate(ctx, work)
        (health,) = adapter.validate(ctx, work)
        assert eventbridge_sim.routes_to("123456789012", "us-east-1", "orders-ge") == "us-west-2"  # by itself
    assert [c for c in calls if c.region == "us-east-1"] == [] and ctx.changes == []
    assert finding.ok and "control plane (us-east-1) is dark" in finding.message
    assert "reprotect" in outcome.notes[0] and health.status is Health.DEGRADED
    assert flags(aws, check) == (False, False)
    # us-east-1 back: the check passes again and would route events back, until reprotect's CLEANUP holds it
    assert eventbridge_sim.routes_to("123456789012", "us-east-1", "orders-ge") == "us-east-1"
    reprotect = _ctx(aws)
    converge(adapter, Phase.CLEANUP, reprotect, work, delay=0)
    assert flags(aws, check) == (True, True)
    assert eventbridge_sim.routes_to("123456789012", "us-east-1", "orders-ge") == "us-west-2"
    assert [h.status for h in adapter.validate(reprotect, work)] == [Health.HEALTHY]


# -- discovery ------------------------------------------------------------------------------------------------
def _read(session):
    return DiscoveryRead(lambda service, region: session.client(service, region_name=region), HUB, PRIMARY, DR)


def test_discovery_pairs_dr_rules_on_another_bus_by_the_name_tag(aws):
    tags = TAGS | {"dr:enabled": "true"}
    found = [Tagged(seed_rule(aws, PRIMARY, "orders", n, enabled=True, tags=tags), HUB, PRIMARY, "events:rule", tags)
             for n in ("b-job", "a-job")]
    found += [Tagged(seed_rule(aws, DR, "orders-dr", "a-job", enabled=False, tags=tags), HUB, DR, "events:rule", tags)]
    derived = adapter.derive(found, _read(aws))
    assert {d.identity for d in derived} == {f"eventbridge/{HUB}/orders/a-job"}
    assert derived[0].config == {"rules": [{"bus": "orders", "names": ["a-job", "b-job"], "drBus": "orders-dr",
                                            "drNames": ["a-job"]}]}
    assert [d.secondary for d in derived] == [False, False, True]
    assert adapter.identity(derived[0].config, HUB) == derived[0].identity


def test_a_tagged_bus_without_endpoint_or_rules_is_not_derived(aws):
    tags = TAGS | {"dr:enabled": "true"}
    arn = aws.client("events", region_name=PRIMARY).create_event_bus(Name="lonely")["EventBusArn"]
    (result,) = adapter.derive([Tagged(arn, HUB, PRIMARY, "events:event-bus", tags)], _read(aws))
    assert isinstance(result, NotDerived) and "no global endpoint" in result.message


def test_rules_of_one_resource_are_acted_on_as_listed(aws):
    """A hand-listed entry with per-region names and a DR bus of its own."""
    mini = mini_estate("EventBridge")
    session = mini.estate.sessions[None]
    tags = {"Customer": "globex", "Environment": "staging"}
    seed_rule(session, PRIMARY, "billing", "invoice", enabled=True, tags=tags)
    seed_rule(session, DR, "billing-dr", "invoice-dr", enabled=False, tags=tags)
    resources = [{"resourceId": "billing", "action": "EventBridge", "config": {"rules": [
        {"bus": "billing", "names": ["invoice"], "drBus": "billing-dr", "drNames": ["invoice-dr"]}]}}]
    mini.drive(mini.ctx("failover"), units_of("EventBridge", resources))
    assert states(session, DR, "billing-dr", "invoice-dr") == ["ENABLED"]
    assert states(session, PRIMARY, "billing", "invoice") == ["DISABLED"]
