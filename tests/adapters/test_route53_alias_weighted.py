"""R53AliasRecord and R53WeightedRecord: what only they have -- load-balancer alias targets checked where they
live, EvaluateTargetHealth kept, an alias changed by hand left alone; weights moved in one atomic batch, a
weighted record the manifest does not name refused, and the answer Route 53 gives confirmed.

The contract every adapter keeps is proven in test_contract.py on the kits' mini-estates.
"""

from __future__ import annotations

import pytest
from awssim import route53_dns
from awssim.kits.route53_alias import alias_change, seed_load_balancer
from awssim.kits.route53_weighted import weighted_changes
from pydantic import ValidationError

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.route53_alias import Route53AliasRecordAdapter
from dr_adapters.adapters.route53_weighted import R53WeightedRecordConfig, Route53WeightedRecordAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

TAGS = {"Customer": "acme", "Environment": "production"}
NAME = "app.example.com."
alias_adapter, weighted_adapter = Route53AliasRecordAdapter(), Route53WeightedRecordAdapter()


@pytest.fixture
def zone(aws):
    r53 = aws.client("route53")
    zone_id = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"].split("/")[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id,
                                 AddTags=[{"Key": k, "Value": v} for k, v in TAGS.items()])
    return zone_id


def unit(action, config):
    return WorkUnit("r53-app", action, None, (ResourceSpec("app-dns", action, config),))


def stored(aws, zone_id, rtype="A"):
    sets = aws.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [s for s in sets if s["Name"] == NAME and s["Type"] == rtype]


# -- alias ------------------------------------------------------------------------------------------
@pytest.fixture
def load_balancers(aws):
    return {side: seed_load_balancer(aws, region, f"app-{side}") for side, region in
            (("primary", "us-east-1"), ("dr", "us-west-2"))}


def alias_config(zone_id, lbs, **targets):
    return {"hostedZoneId": zone_id, "recordName": NAME, **{
        f"{side}Target": {"hostedZoneId": lb["CanonicalHostedZoneId"], "dnsName": lb["DNSName"]}
        for side, lb in lbs.items()}, **targets}


def test_alias_moves_to_the_dr_load_balancer_keeping_evaluate_target_health(aws, zone, load_balancers, make_ctx):
    config = alias_config(zone, load_balancers)
    aws.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        alias_change(config, config["primaryTarget"], evaluate=True)]})
    ctx, calls = recorded(make_ctx("failover"))
    assert [f.ok for f in alias_adapter.preflight(ctx, unit("R53AliasRecord", config))] == [True]
    assert calls.where("elasticloadbalancing:DescribeLoadBalancers") == [(None, "us-west-2")]  # the DR side only

    converge(alias_adapter, Phase.ACTIVATE, ctx, unit("R53AliasRecord", config), delay=0)
    (record,) = stored(aws, zone)
    assert record["AliasTarget"]["DNSName"].rstrip(".") == load_balancers["dr"]["DNSName"]
    assert record["AliasTarget"]["EvaluateTargetHealth"] is True
    (check,) = alias_adapter.validate(ctx, unit("R53AliasRecord", config))
    assert check.status is Health.HEALTHY  # Route 53 answers the load balancer's addresses

    again = make_ctx("failover")
    converge(alias_adapter, Phase.ACTIVATE, again, unit("R53AliasRecord", config), delay=0)
    assert again.changes == []


def test_a_missing_or_misconfigured_dr_load_balancer_fails_preflight(aws, zone, load_balancers, make_ctx):
    config = alias_config(zone, load_balancers)
    aws.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        alias_change(config, config["primaryTarget"])]})
    wrong_zone = alias_config(zone, load_balancers, drTarget={**config["drTarget"], "hostedZoneId": "Z1H1FL5HABSF5"})
    (finding,) = alias_adapter.preflight(make_ctx("failover"), unit("R53AliasRecord", wrong_zone))
    assert not finding.ok and "Z1H1FL5HABSF5" in finding.message

    elbv2 = aws.client("elbv2", region_name="us-west-2")
    elbv2.delete_load_balancer(LoadBalancerArn=load_balancers["dr"]["LoadBalancerArn"])
    ctx = make_ctx("drill")
    (finding,) = alias_adapter.preflight(ctx, unit("R53AliasRecord", config))
    assert not finding.ok and "not found in us-west-2" in finding.message
    with pytest.raises(AdapterError, match="not found"):
        alias_adapter.activate(make_ctx("failover"), unit("R53AliasRecord", config))


def test_an_alias_changed_by_hand_is_left_alone(aws, zone, make_ctx):
    r53 = aws.client("route53")
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"{side}.example.com.", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": ip}]}}
        for side, ip in (("use1", "10.0.0.1"), ("usw2", "10.1.0.1"), ("other", "10.2.0.1"))]})
    config = {"hostedZoneId": zone, "recordName": NAME,
              "primaryTarget": {"hostedZoneId": zone, "dnsName": "use1.example.com."},
              "drTarget": {"hostedZoneId": zone, "dnsName": "usw2.example.com."}}
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        alias_change(config, {"hostedZoneId": zone, "dnsName": "other.example.com."})]})
    ctx = make_ctx("failover")
    (finding,) = alias_adapter.preflight(ctx, unit("R53AliasRecord", config))
    assert not finding.ok and "neither primaryTarget nor drTarget" in finding.message
    with pytest.raises(AdapterError, match="by hand"):
        alias_adapter.activate(ctx, unit("R53AliasRecord", config))
    assert ctx.changes == []


# -- weighted ---------------------------------------------------------------------------------------
WEIGHTS = {"primaryWeights": {"use1": 100, "usw2": 0}, "drWeights": {"use1": 0, "usw2": 100}}
VALUES = {"use1": "app-use1.example.net", "usw2": "app-usw2.example.net"}


def weighted(aws, zone_id, **weights):
    config = {"hostedZoneId": zone_id, "recordName": NAME, **WEIGHTS, **weights}
    aws.client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
        "Changes": weighted_changes(config, VALUES)})
    return config


def weights(aws, zone_id):
    return {s["SetIdentifier"]: s["Weight"] for s in stored(aws, zone_id, "CNAME")}


def test_weights_move_in_one_atomic_batch_and_back(aws, zone, make_ctx):
    config = weighted(aws, zone)
    ctx = make_ctx("failover")
    converge(weighted_adapter, Phase.ACTIVATE, ctx, unit("R53WeightedRecord", config), delay=0)
    assert weights(aws, zone) == {"use1": 0, "usw2": 100}
    (change,) = ctx.changes
    assert [c["Action"] for c in change["args"]["ChangeBatch"]["Changes"]] == ["UPSERT", "UPSERT"]
    assert route53_dns.dns_answer("123456789012", zone, NAME, "CNAME")[1] == [VALUES["usw2"]]
    assert [c.status for c in weighted_adapter.validate(ctx, unit("R53WeightedRecord", config))] == [Health.HEALTHY]

    back = make_ctx("failback")
    converge(weighted_adapter, Phase.ACTIVATE, back, unit("R53WeightedRecord", config), delay=0)
    assert weights(aws, zone) == {"use1": 100, "usw2": 0}


def test_only_the_weights_that_differ_are_upserted(aws, zone, make_ctx):
    config = weighted(aws, zone, primaryWeights={"use1": 100, "usw2": 100}, drWeights={"use1": 0, "usw2": 100})
    ctx = make_ctx("failover")
    converge(weighted_adapter, Phase.ACTIVATE, ctx, unit("R53WeightedRecord", config), delay=0)
    (change,) = ctx.changes
    (upsert,) = change["args"]["ChangeBatch"]["Changes"]
    assert upsert["ResourceRecordSet"]["SetIdentifier"] == "use1" and upsert["ResourceRecordSet"]["TTL"] == 60


def test_a_weighted_record_the_manifest_does_not_name_is_refused(aws, zone, make_ctx):
    config = weighted(aws, zone)
    aws.client("route53").change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": NAME, "Type": "CNAME", "TTL": 60, "SetIdentifier": "euw1",
                                                   "Weight": 50, "ResourceRecords": [{"Value": "app-euw1.example.net"}]}}]})
    ctx = make_ctx("failover")
    (finding,) = weighted_adapter.preflight(ctx, unit("R53WeightedRecord", config))
    assert not finding.ok and "['euw1']" in finding.message and "share of traffic" in finding.message
    with pytest.raises(AdapterError, match="euw1"):
        weighted_adapter.activate(ctx, unit("R53WeightedRecord", config))
    assert ctx.changes == []


def test_split_weights_validate_on_any_answer_of_the_weighted_side(aws, zone, make_ctx):
    """70/30 answers either side at random on AWS (the simulator: the heavier); validate accepts either."""
    config = weighted(aws, zone, primaryWeights={"use1": 100, "usw2": 0}, drWeights={"use1": 30, "usw2": 70})
    ctx = make_ctx("failover")
    converge(weighted_adapter, Phase.ACTIVATE, ctx, unit("R53WeightedRecord", config), delay=0)
    assert [c.status for c in weighted_adapter.validate(ctx, unit("R53WeightedRecord", config))] == [Health.HEALTHY]


@pytest.mark.parametrize("weights, error", [
    ({"primaryWeights": {"a": 100}, "drWeights": {"b": 100}}, "same SetIdentifiers"),
    ({"primaryWeights": {"a": 100, "b": 0}, "drWeights": {"a": 0, "b": 0}}, "above 0"),
    ({"primaryWeights": {"a": 300, "b": 0}, "drWeights": {"a": 0, "b": 1}}, "0 to 255"),
    ({"primaryWeights": {"a": 1, "b": 0}, "drWeights": {"a": 1, "b": 0}}, "move nothing"),
])
def test_weights_are_checked_when_the_manifest_loads(weights, error):
    with pytest.raises(ValidationError, match=error):
        R53WeightedRecordConfig.model_validate({"hostedZoneId": "Z1", "recordName": NAME, **weights})
