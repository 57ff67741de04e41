"""R53FailoverRecord: what only failover records have -- the PRIMARY's health check as the lever, and the
data plane failing over by itself when us-east-1 (Route 53's control plane) is the region that went dark.

The contract every adapter keeps is proven in test_contract.py on the kit's mini-estate.
"""

from __future__ import annotations

import logging

import pytest
from awssim import outage, route53_dns
from awssim.kits.route53_failover import seed_failover_pair

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError, RunContext
from dr_adapters.adapters.route53_failover import Route53FailoverRecordAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.aws.sessions import AccountSessions
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Operation, Phase, Regions, Scope

TAGS = {"Customer": "acme", "Environment": "production"}
NAME = "app.example.com."
# Endpoint names carry their region, as load balancers' do: a dark region fails their health checks.
PRIMARY_VALUE, DR_VALUE = "app.us-east-1.elb.example.net", "app.us-west-2.elb.example.net"
adapter = Route53FailoverRecordAdapter()


@pytest.fixture
def pair(aws):
    """A tagged zone with a failover pair: (zone id, PRIMARY's health check, SECONDARY's health check)."""
    r53 = aws.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"].split("/")[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone,
                                 AddTags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    primary, secondary = seed_failover_pair(aws, zone, {"recordName": NAME}, TAGS, (PRIMARY_VALUE, DR_VALUE))
    return zone, primary, secondary


def unit_for(zone):
    spec = ResourceSpec("app-dns", "R53FailoverRecord", {"hostedZoneId": zone, "recordName": NAME})
    return WorkUnit("r53-app", "R53FailoverRecord", None, (spec,))


def answer(zone, account="123456789012"):
    """What Route 53's name servers answer: the data plane, read in-process (works with us-east-1 dark)."""
    return route53_dns.dns_answer(account, zone, NAME, "CNAME")[1]


def flags(aws, check):
    config = aws.client("route53").get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
    return config["Disabled"], config["Inverted"]


def test_failover_holds_the_primary_check_down_and_failback_releases_it(aws, pair, make_ctx):
    zone, primary, _ = pair
    ctx, calls = recorded(make_ctx("failover"))
    assert [f.ok for f in adapter.preflight(ctx, unit_for(zone))] == [True]
    assert answer(zone) == [PRIMARY_VALUE]

    converge(adapter, Phase.ACTIVATE, ctx, unit_for(zone), delay=0)
    assert flags(aws, primary) == (True, True) and answer(zone) == [DR_VALUE]
    (check,) = adapter.validate(ctx, unit_for(zone))
    assert check.status is Health.HEALTHY and DR_VALUE in check.reason
    assert [c["operation"] for c in ctx.changes] == ["update_health_check"]
    assert "route53:ChangeResourceRecordSets" not in calls  # the records are never changed

    back = make_ctx("failback")
    converge(adapter, Phase.ACTIVATE, back, unit_for(zone), delay=0)
    assert flags(aws, primary) == (False, False) and answer(zone) == [PRIMARY_VALUE]
    assert [c.status for c in adapter.validate(back, unit_for(zone))] == [Health.HEALTHY]


def test_validate_is_unhealthy_until_route53_answers_the_dr_endpoint(aws, pair, make_ctx):
    """The hold is in place (the flags are right) but the DR endpoint fails its own check: Route 53 would keep
    answering the PRIMARY, so validation is UNHEALTHY; once the endpoint passes it is HEALTHY from the answer
    Route 53 gives (TestDNSAnswer) -- what a wave's validation waits for."""
    zone, primary, _ = pair
    converge(adapter, Phase.ACTIVATE, make_ctx("failover"), unit_for(zone), delay=0)
    route53_dns.set_endpoint_health(DR_VALUE, False)
    try:
        assert flags(aws, primary) == (True, True)  # what is stored is right
        (check,) = adapter.validate(make_ctx("failover"), unit_for(zone))
        assert check.status is Health.UNHEALTHY and "answering the PRIMARY" in check.reason, check
    finally:
        route53_dns.set_endpoint_health(DR_VALUE, True)
    ctx, calls = recorded(make_ctx("failover"))
    (check,) = adapter.validate(ctx, unit_for(zone))
    assert check.status is Health.HEALTHY and f"Route 53 answers ['{DR_VALUE}']" in check.reason, check
    assert "route53:TestDNSAnswer" in calls


def test_the_hold_is_unhealthy_whatever_the_endpoint_does(aws, pair, make_ctx):
    """Inverting alone would turn a dead primary endpoint's failure into 'healthy' and send traffic back into
    the dark region; a disabled check counts as healthy. Disabled and inverted is down either way."""
    zone, primary, _ = pair
    r53 = aws.client("route53")
    route53_dns.set_endpoint_health(PRIMARY_VALUE, False)
    try:
        assert answer(zone) == [DR_VALUE]  # the data plane fails over by itself
        r53.update_health_check(HealthCheckId=primary, Inverted=True)
        assert answer(zone) == [PRIMARY_VALUE]  # inverted alone: the dead endpoint answers again
        r53.update_health_check(HealthCheckId=primary, Inverted=False, Disabled=True)
        assert answer(zone) == [PRIMARY_VALUE]  # disabled alone: counted healthy
        converge(adapter, Phase.ACTIVATE, make_ctx("failover"), unit_for(zone), delay=0)
        assert flags(aws, primary) == (True, True) and answer(zone) == [DR_VALUE]
    finally:
        route53_dns.set_endpoint_health(PRIMARY_VALUE, True)
    assert answer(zone) == [DR_VALUE]  # held down, whatever the endpoint does


def test_an_unhealthy_secondary_fails_preflight_and_is_not_failed_over_to(aws, pair, make_ctx):
    zone, primary, _ = pair
    route53_dns.set_endpoint_health(DR_VALUE, False)
    try:
        ctx = make_ctx("failover")
        (finding,) = adapter.preflight(ctx, unit_for(zone))
        assert not finding.ok and "SECONDARY" in finding.message and "unhealthy" in finding.message
        with pytest.raises(AdapterError, match="SECONDARY"):
            adapter.activate(ctx, unit_for(zone))
        assert ctx.changes == [] and flags(aws, primary) == (False, False)
    finally:
        route53_dns.set_endpoint_health(DR_VALUE, True)


def test_a_primary_without_health_check_is_refused(aws, make_ctx):
    r53 = aws.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"].split("/")[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone,
                                 AddTags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": NAME, "Type": "CNAME", "TTL": 60, "SetIdentifier": role,
                                                   "Failover": role, "ResourceRecords": [{"Value": value}]}}
        for role, value in (("PRIMARY", PRIMARY_VALUE), ("SECONDARY", DR_VALUE))]})
    (finding,) = adapter.preflight(make_ctx("failover"), unit_for(zone))
    assert not finding.ok and "no health check" in finding.message


def test_drill_reads_only_and_confirms_the_primary_answers(aws, pair, make_ctx):
    zone, primary, _ = pair
    ctx, calls = recorded(make_ctx("drill"))
    assert [f.ok for f in adapter.preflight(ctx, unit_for(zone))] == [True]
    for phase in (Phase.ACTIVATE, Phase.CLEANUP):
        converge(adapter, phase, ctx, unit_for(zone), delay=0)
    (check,) = adapter.validate(ctx, unit_for(zone))
    assert check.status is Health.HEALTHY and PRIMARY_VALUE in check.reason
    assert calls.mutating == [] and ctx.changes == [] and flags(aws, primary) == (False, False)
    assert {"route53:GetHealthCheckStatus", "route53:TestDNSAnswer"} <= set(calls)


def _us_east_1_ctx(aws, operation="failover", *, regions=("us-east-1", "us-west-2"), unplanned=False):
    sessions = AccountSessions(aws, session_name="dr-test", sts_region=regions[1])
    return RunContext(Operation(operation), Regions(*regions), Scope("acme", "production"), sessions,
                      log=logging.getLogger("dr.test"), unplanned=unplanned)


def test_unplanned_failover_from_a_dark_us_east_1_is_done_by_route53s_data_plane(aws, pair):
    """us-east-1 dark: Route 53's API is gone, its health checkers and name servers are not. The run makes no
    call to us-east-1, says what Route 53 does by itself, and reprotect holds the PRIMARY down once it is back."""
    zone, primary, _ = pair
    ctx, calls = recorded(_us_east_1_ctx(aws, unplanned=True))
    unit = unit_for(zone)
    outage.reset_counts()
    with outage.outage("us-east-1"):
        (finding,) = adapter.preflight(ctx, unit)
        outcomes = [adapter.run_phase(phase, ctx, unit) for phase in Phase]
        (check,) = adapter.validate(ctx, unit)
        assert answer(zone) == [DR_VALUE]  # the PRIMARY's check fails with its region: SECONDARY answers
        refused = outage.state()["refused"]
    assert refused.get("us-east-1", 0) == 0 and [c for c in calls if c.region == "us-east-1"] == []
    assert finding.ok and "data plane" in finding.message
    assert "data plane answers the SECONDARY" in outcomes[1].notes[0]
    assert "deferred" in outcomes[2].notes[0]  # CLEANUP waits for reprotect
    assert check.status is Health.DEGRADED and "reprotect" in check.reason
    assert ctx.changes == [] and flags(aws, primary) == (False, False)

    # us-east-1 is back: its endpoint passes again and would take traffic back, until reprotect holds it down
    assert answer(zone) == [PRIMARY_VALUE]
    reprotect = _us_east_1_ctx(aws)  # reprotect acts out the failover's CLEANUP, planned
    converge(adapter, Phase.CLEANUP, reprotect, unit, delay=0)
    assert flags(aws, primary) == (True, True) and answer(zone) == [DR_VALUE]
    assert [c.status for c in adapter.validate(reprotect, unit)] == [Health.HEALTHY]


def test_a_planned_run_with_us_east_1_dark_is_refused_fast_naming_the_control_plane(aws, pair):
    zone, primary, _ = pair
    ctx = _us_east_1_ctx(aws, regions=("eu-west-1", "ap-southeast-2"))
    with outage.outage("us-east-1"):
        with pytest.raises(AdapterError, match=r"control plane \(us-east-1\) does not answer") as refused:
            adapter.activate(ctx, unit_for(zone))
        (finding,) = adapter.preflight(ctx, unit_for(zone))
    assert "routing controls" in refused.value.remediation and not finding.ok
    assert flags(aws, primary) == (False, False)


def test_unplanned_elsewhere_with_us_east_1_also_dark_relies_on_the_data_plane(aws, pair):
    """The region left is not us-east-1 but us-east-1 does not answer either: nothing can be changed, and the
    run is not stopped for it (Route 53 fails the pair over once the PRIMARY's check fails)."""
    zone, _, _ = pair
    ctx = _us_east_1_ctx(aws, regions=("eu-west-1", "ap-southeast-2"), unplanned=True)
    with outage.outage("us-east-1"):
        outcome = adapter.activate(ctx, unit_for(zone))
        (check,) = adapter.validate(ctx, unit_for(zone))
    assert "does not answer" in outcome.notes[0] and check.status is Health.DEGRADED
