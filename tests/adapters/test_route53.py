"""Route 53 record adapter: what only DNS has (multi-value answers, alias records left alone, missing zones).

The contract every adapter keeps is proven in test_contract.py on the Route 53 kit's mini-estate.
"""

from __future__ import annotations

import pytest
from awssim.kits.route53 import seed_route53_record

from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.route53 import Route53RecordAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase
from aws_calls import recorded

SPOKE = "222222222222"
TAGS = {"Customer": "acme", "Environment": "production"}
NAME = "app.example.com."
PRIMARY_VALUES = ["app-use1.elb.amazonaws.com"]
DR_VALUES = ["app-usw2.elb.amazonaws.com"]
adapter = Route53RecordAdapter()


def unit_for(zone_id, account_id=None, **config):
    config = {"hostedZoneId": zone_id, "recordName": NAME, "recordType": "CNAME",
              "primaryValues": PRIMARY_VALUES, "drValues": DR_VALUES, **config}
    spec = ResourceSpec("app-dns", "R53Record", config, account_id=account_id)
    return WorkUnit("r53-app", "R53Record", account_id, (spec,))


@pytest.fixture
def zone(aws):
    return seed_route53_record(aws, "example.com", NAME, PRIMARY_VALUES, TAGS)


def answers(session, zone_id, name=NAME, rtype="CNAME"):
    """What the record answers, from AWS's own view of the zone."""
    r53 = session.client("route53")
    for rrset in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        if rrset["Name"] == name and rrset["Type"] == rtype:
            return sorted(r["Value"] for r in rrset["ResourceRecords"])
    return None


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)


def test_failover_points_the_record_at_dr(aws, zone, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for(zone)
    findings = adapter.preflight(ctx, unit)
    assert [f.ok for f in findings] == [True] and findings[0].tags == TAGS
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.UNHEALTHY]

    outcomes = converge(adapter, Phase.ACTIVATE, ctx, unit, delay=0)
    assert [w.waiter for w in outcomes[0].waits] == ["resource_record_sets_changed"]
    assert answers(aws, zone) == DR_VALUES
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]
    (change,) = ctx.changes
    rrset = change["args"]["ChangeBatch"]["Changes"][0]
    assert change["operation"] == "change_resource_record_sets" and rrset["Action"] == "UPSERT"
    assert rrset["ResourceRecordSet"]["TTL"] == 60

    run(ctx, unit, [Phase.INSTANTIATE, Phase.CLEANUP, Phase.REPLICATE])  # explicit no-ops
    assert len(ctx.changes) == 1 and answers(aws, zone) == DR_VALUES
    assert set(calls) <= set(adapter.iam_actions), set(calls) - set(adapter.iam_actions)


def test_multi_value_a_record_compares_as_a_set(aws, make_ctx):
    zone = seed_route53_record(aws, "example.com", NAME, ["10.0.0.1", "10.0.0.2"], TAGS, record_type="A")
    unit = unit_for(zone, recordType="A", primaryValues=["10.0.0.1", "10.0.0.2"], drValues=["10.1.0.2", "10.1.0.1"])
    run(make_ctx("failover"), unit)
    assert answers(aws, zone, rtype="A") == ["10.1.0.1", "10.1.0.2"]
    ctx = make_ctx("failover")
    run(ctx, unit)  # same answers in another order: nothing to do
    assert ctx.changes == []


def test_drill_fails_when_the_record_is_missing(aws, make_ctx):
    zone = seed_route53_record(aws, "example.com", "other.example.com.", PRIMARY_VALUES, TAGS)
    ctx = make_ctx("drill")
    with pytest.raises(AdapterError, match="app-dns.*not found"):
        converge(adapter, Phase.ACTIVATE, ctx, unit_for(zone))
    assert [c.status for c in adapter.validate(ctx, unit_for(zone))] == [Health.UNHEALTHY]


def test_preflight_reports_missing_zone_and_record(aws, zone, make_ctx):
    ctx = make_ctx("failover")
    (finding,) = adapter.preflight(ctx, unit_for("Z0000000000NOPE"))
    assert not finding.ok and "hosted zone" in finding.message
    (finding,) = adapter.preflight(ctx, unit_for(zone, recordName="nope.example.com."))
    assert not finding.ok and "not found" in finding.message
    (finding,) = adapter.preflight(ctx, unit_for(zone, recordType="A"))
    assert not finding.ok


def test_alias_records_are_left_alone(aws, zone, make_ctx):
    aws.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {
            "Name": "alias.example.com.", "Type": "A",
            "AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d111111abcdef8.cloudfront.net.",
                            "EvaluateTargetHealth": False}}}]})
    ctx = make_ctx("failover")
    unit = unit_for(zone, recordName="alias.example.com.", recordType="A", primaryValues=["10.0.0.1"],
                    drValues=["10.1.0.1"])
    (finding,) = adapter.preflight(ctx, unit)
    assert not finding.ok and "alias" in finding.message
    with pytest.raises(AdapterError, match="alias or routing-policy"):
        converge(adapter, Phase.ACTIVATE, ctx, unit)
    assert ctx.changes == []


def test_a_dark_us_east_1_fails_a_record_change_fast_naming_the_control_plane(aws, zone):
    """Route 53's control plane lives in us-east-1: with it dark, even a failover between two other
    regions cannot change a simple record. The change fails in seconds, saying what to use instead."""
    import logging
    import time

    from awssim import outage

    from dr_adapters.adapters.base import RunContext
    from dr_adapters.aws.sessions import AccountSessions
    from dr_adapters.plan.types import Operation, Regions, Scope

    ctx = RunContext(Operation.FAILOVER, Regions("eu-west-1", "ap-southeast-2"), Scope("acme", "production"),
                     AccountSessions(aws, session_name="dr-test", sts_region="ap-southeast-2"),
                     log=logging.getLogger("dr.test"))
    with outage.outage("us-east-1"):
        started = time.monotonic()
        with pytest.raises(AdapterError) as refused:
            adapter.activate(ctx, unit_for(zone))
        findings = adapter.preflight(ctx, unit_for(zone))
        took = time.monotonic() - started
    assert took < 30
    message = f"{refused.value} {refused.value.remediation}"
    assert "control plane (us-east-1) does not answer" in str(refused.value)
    assert "health checks" in refused.value.remediation and "routing controls" in refused.value.remediation
    assert [f.ok for f in findings] == [False] and "control plane" in findings[0].message, message
    assert answers(aws, zone) == PRIMARY_VALUES  # nothing changed
