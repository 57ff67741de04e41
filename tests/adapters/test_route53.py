"""Route 53 record adapter against the simulator: AWS end state, idempotency, drill, dry run, scope."""

from __future__ import annotations

import pytest
from awssim.estate.route53 import seed_route53_record

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


def test_failover_then_failback_restores_starting_answers(aws, zone, make_ctx):
    unit = unit_for(zone)
    run(make_ctx("failover"), unit)
    assert answers(aws, zone) == DR_VALUES
    failback = make_ctx("failback")
    run(failback, unit)
    assert answers(aws, zone) == PRIMARY_VALUES
    assert [c.status for c in adapter.validate(failback, unit)] == [Health.HEALTHY]


@pytest.mark.parametrize("operation", ["failover", "failback"])
def test_second_run_of_each_phase_makes_no_mutating_call(aws, zone, make_ctx, operation):
    unit = unit_for(zone)
    if operation == "failback":
        run(make_ctx("failover"), unit)
    ctx, calls = recorded(make_ctx(operation))
    for phase in ALL_PHASES:
        converge(adapter, phase, ctx, unit, delay=0)
        ctx.changes.clear()
        calls.clear()
        converge(adapter, phase, ctx, unit, delay=0)
        assert ctx.changes == [] and calls.mutating == [], phase


def test_multi_value_a_record_compares_as_a_set(aws, make_ctx):
    zone = seed_route53_record(aws, "example.com", NAME, ["10.0.0.1", "10.0.0.2"], TAGS, record_type="A")
    unit = unit_for(zone, recordType="A", primaryValues=["10.0.0.1", "10.0.0.2"], drValues=["10.1.0.2", "10.1.0.1"])
    run(make_ctx("failover"), unit)
    assert answers(aws, zone, rtype="A") == ["10.1.0.1", "10.1.0.2"]
    ctx = make_ctx("failover")
    run(ctx, unit)  # same answers in another order: nothing to do
    assert ctx.changes == []


def test_drill_changes_nothing(aws, zone, make_ctx):
    ctx, calls = recorded(make_ctx("drill"))
    unit = unit_for(zone)
    assert all(f.ok for f in adapter.preflight(ctx, unit))
    outcomes = converge(adapter, Phase.ACTIVATE, ctx, unit)
    assert any("would change" in n for n in outcomes[0].notes)
    run(ctx, unit)
    assert ctx.changes == [] and calls.mutating == []
    assert answers(aws, zone) == PRIMARY_VALUES
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]


def test_drill_fails_when_the_record_is_missing(aws, make_ctx):
    zone = seed_route53_record(aws, "example.com", "other.example.com.", PRIMARY_VALUES, TAGS)
    ctx = make_ctx("drill")
    with pytest.raises(AdapterError, match="app-dns.*not found"):
        converge(adapter, Phase.ACTIVATE, ctx, unit_for(zone))
    assert [c.status for c in adapter.validate(ctx, unit_for(zone))] == [Health.UNHEALTHY]


def test_dry_run_records_changes_but_makes_no_mutating_call(aws, zone, make_ctx):
    ctx, calls = recorded(make_ctx("failover", dry_run=True))
    run(ctx, unit_for(zone))
    assert calls.mutating == []
    assert [(c["operation"], c["dry_run"]) for c in ctx.changes] == [("change_resource_record_sets", True)]
    assert answers(aws, zone) == PRIMARY_VALUES


def test_spoke_account_failover(aws, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    spoke = ctx.aws.session(SPOKE)[0]
    zone = seed_route53_record(spoke, "example.com", NAME, PRIMARY_VALUES, TAGS)
    unit = unit_for(zone, account_id=SPOKE)
    assert all(f.ok for f in adapter.preflight(ctx, unit))
    run(ctx, unit)
    assert answers(spoke, zone) == DR_VALUES
    assert "sts:AssumeRole" in calls
    assert aws.client("route53").list_hosted_zones()["HostedZones"] == []  # nothing in the hub account


def test_scope_tag_mismatch_is_refused(aws, make_ctx):
    zone = seed_route53_record(aws, "example.com", NAME, PRIMARY_VALUES, {**TAGS, "Customer": "globex"})
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for(zone)
    (bad,) = adapter.preflight(ctx, unit)
    assert not bad.ok and bad.tags["Customer"] == "globex" and zone in bad.message
    with pytest.raises(AdapterError) as err:
        converge(adapter, Phase.ACTIVATE, ctx, unit)
    assert "app-dns" in str(err.value) and "Customer='globex'" in str(err.value)
    assert calls.mutating == [] and ctx.changes == []
    assert answers(aws, zone) == PRIMARY_VALUES


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
            "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": "lb.elb.amazonaws.com.",
                            "EvaluateTargetHealth": False}}}]})
    ctx = make_ctx("failover")
    unit = unit_for(zone, recordName="alias.example.com.", recordType="A", primaryValues=["10.0.0.1"],
                    drValues=["10.1.0.1"])
    (finding,) = adapter.preflight(ctx, unit)
    assert not finding.ok and "alias" in finding.message
    with pytest.raises(AdapterError, match="alias or routing-policy"):
        converge(adapter, Phase.ACTIVATE, ctx, unit)
    assert ctx.changes == []
