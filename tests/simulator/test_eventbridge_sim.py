"""awssim.eventbridge: EventBridge global endpoints (moto 5.2 has none), rules listed for tag discovery and tagged
by exact ARN, managed rules refused -- answered in botocore's shapes, refused where AWS refuses."""

from __future__ import annotations

import time
import uuid

import boto3
import botocore.session
import pytest
from awssim import eventbridge as sim
from botocore.exceptions import ClientError
from moto.events.models import events_backends

HOME, SECONDARY, OTHER, HUB = "eu-west-1", "ap-southeast-2", "us-west-2", "123456789012"
MODEL = botocore.session.get_session().get_service_model("events")


def members_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"]


def events(session, region):
    return session.client("events", region_name=region)


def bus_arn(region, name="orders", account=HUB):
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def health_check(session, region_in_name=HOME) -> str:
    return session.client("route53").create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": f"health.{region_in_name}.example", "Port": 443})["HealthCheck"]["Id"]


def endpoint_args(check, name="orders-ge", secondary=SECONDARY, buses=None, **extra):
    return {"Name": name, "RoutingConfig": {"FailoverConfig": {
        "Primary": {"HealthCheck": f"arn:aws:route53:::healthcheck/{check}"}, "Secondary": {"Route": secondary}}},
        "ReplicationConfig": {"State": "DISABLED"},
        "EventBuses": buses or [{"EventBusArn": bus_arn(HOME)}, {"EventBusArn": bus_arn(secondary)}], **extra}


@pytest.fixture
def buses(aws):
    for region in (HOME, SECONDARY, OTHER):
        events(aws, region).create_event_bus(Name="orders")
    return aws


def test_an_endpoint_is_created_then_active_answered_from_home_and_from_its_secondary(buses, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    check = health_check(buses)
    created = events(buses, HOME).create_endpoint(**endpoint_args(check))
    assert set(created) - {"ResponseMetadata"} <= members_of("CreateEndpointResponse")
    assert (created["State"], created["Arn"]) == ("CREATING", f"arn:aws:events:{HOME}:{HUB}:endpoint/orders-ge")
    described = events(buses, HOME).describe_endpoint(Name="orders-ge")
    assert set(described) - {"ResponseMetadata"} <= members_of("DescribeEndpointResponse")
    assert described["State"] == "CREATING" and described["EndpointUrl"].endswith(".endpoint.events.amazonaws.com")
    time.sleep(0.35)
    assert events(buses, HOME).describe_endpoint(Name="orders-ge")["State"] == "ACTIVE"
    # the secondary answers for it when asked with its home region; a third region does not
    (listed,) = events(buses, SECONDARY).list_endpoints(HomeRegion=HOME)["Endpoints"]
    assert set(listed) <= members_of("Endpoint") and listed["EndpointId"] == described["EndpointId"]
    assert events(buses, SECONDARY).describe_endpoint(Name="orders-ge", HomeRegion=HOME)["Name"] == "orders-ge"
    assert events(buses, SECONDARY).list_endpoints()["Endpoints"] == []  # homed elsewhere
    assert code_of(events(buses, OTHER).describe_endpoint, Name="orders-ge", HomeRegion=HOME) == "ResourceNotFoundException"
    assert events(buses, HOME).list_endpoints(NamePrefix="nope")["Endpoints"] == []


def test_an_endpoint_is_changed_only_from_home_and_not_while_busy(buses, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    check, other = health_check(buses), health_check(buses)
    home = events(buses, HOME)
    home.create_endpoint(**endpoint_args(check))
    assert code_of(home.update_endpoint, Name="orders-ge", Description="x") == "ConcurrentModificationException"
    time.sleep(0.35)
    arn = f"arn:aws:route53:::healthcheck/{other}"
    routing = {"FailoverConfig": {"Primary": {"HealthCheck": arn}, "Secondary": {"Route": SECONDARY}}}
    assert code_of(events(buses, SECONDARY).update_endpoint, Name="orders-ge", RoutingConfig=routing) == \
        "ResourceNotFoundException"
    updated = home.update_endpoint(Name="orders-ge", RoutingConfig=routing)
    assert set(updated) - {"ResponseMetadata"} <= members_of("UpdateEndpointResponse") and updated["State"] == "UPDATING"
    assert code_of(home.delete_endpoint, Name="orders-ge") == "ConcurrentModificationException"
    time.sleep(0.35)
    described = home.describe_endpoint(Name="orders-ge")
    assert described["RoutingConfig"]["FailoverConfig"]["Primary"]["HealthCheck"] == arn and described["State"] == "ACTIVE"
    home.delete_endpoint(Name="orders-ge")
    assert home.describe_endpoint(Name="orders-ge")["State"] == "DELETING"
    time.sleep(0.35)
    assert code_of(home.describe_endpoint, Name="orders-ge") == "ResourceNotFoundException"
    assert code_of(home.delete_endpoint, Name="orders-ge") == "ResourceNotFoundException"


@pytest.mark.parametrize("change, code", [
    ({"secondary": HOME}, "ValidationException"),  # the secondary must be another region
    ({"buses": [{"EventBusArn": bus_arn(HOME)}, {"EventBusArn": bus_arn(OTHER)}]}, "ValidationException"),
    ({"buses": [{"EventBusArn": bus_arn(HOME)}, {"EventBusArn": bus_arn(SECONDARY, "other")}]}, "ValidationException"),
    ({"buses": [{"EventBusArn": bus_arn(HOME)}, {"EventBusArn": bus_arn(SECONDARY, account="444455556666")}]},
     "ValidationException"),
    ({"secondary": "eu-central-1", "buses": [{"EventBusArn": bus_arn(HOME)}, {"EventBusArn": bus_arn("eu-central-1")}]},
     "ValidationException"),  # no such bus there
    ({"ReplicationConfig": {"State": "ENABLED"}}, "ValidationException"),  # replication needs a role
    ({"RoutingConfig": {"FailoverConfig": {"Primary": {"HealthCheck": "arn:aws:route53:::healthcheck/nope"},
                                           "Secondary": {"Route": SECONDARY}}}}, "ValidationException"),
    ({"RoutingConfig": {"FailoverConfig": {"Primary": {"HealthCheck": "not-an-arn"},
                                           "Secondary": {"Route": SECONDARY}}}}, "ValidationException"),
])
def test_what_aws_refuses_of_an_endpoint(buses, change, code):
    args = endpoint_args(health_check(buses), **{k: v for k, v in change.items() if k in ("secondary", "buses")})
    args.update({k: v for k, v in change.items() if k not in ("secondary", "buses")})
    assert code_of(events(buses, HOME).create_endpoint, **args) == code
    assert events(buses, HOME).list_endpoints()["Endpoints"] == []


def test_a_name_taken_is_refused_and_a_role_allows_replication(buses):
    check = health_check(buses)
    home = events(buses, HOME)
    home.create_endpoint(**endpoint_args(check, ReplicationConfig={"State": "ENABLED"},
                                         RoleArn=f"arn:aws:iam::{HUB}:role/replication"))
    assert code_of(home.create_endpoint, **endpoint_args(check)) == "ResourceAlreadyExistsException"


def test_endpoints_take_no_tags(buses):
    events(buses, HOME).create_endpoint(**endpoint_args(health_check(buses)))
    arn = f"arn:aws:events:{HOME}:{HUB}:endpoint/orders-ge"
    assert code_of(events(buses, HOME).tag_resource, ResourceARN=arn, Tags=[{"Key": "a", "Value": "b"}]) == \
        "ResourceNotFoundException"


def test_the_endpoint_routes_by_its_health_check(buses):
    """Home while the check counts healthy; the secondary when it fails, or is held (disabled and inverted)."""
    from awssim import outage

    check = health_check(buses)
    events(buses, HOME).create_endpoint(**endpoint_args(check))
    assert sim.routes_to(HUB, HOME, "orders-ge") == HOME
    with outage.outage(HOME):  # the probe of a name in the dark region fails
        assert sim.routes_to(HUB, HOME, "orders-ge") == SECONDARY
    r53 = buses.client("route53")
    r53.update_health_check(HealthCheckId=check, Disabled=True, Inverted=True)
    assert sim.routes_to(HUB, HOME, "orders-ge") == SECONDARY
    r53.update_health_check(HealthCheckId=check, Disabled=False, Inverted=False)
    assert sim.routes_to(HUB, HOME, "orders-ge") == HOME


def test_rules_are_listed_for_discovery_and_tagged_by_their_exact_arn(buses):
    client = events(buses, HOME)
    on_default = client.put_rule(Name="nightly", ScheduleExpression="rate(1 day)",
                                 Tags=[{"Key": "dr:enabled", "Value": "true"}])["RuleArn"]
    on_orders = client.put_rule(Name="nightly", EventBusName="orders", EventPattern='{"source": ["app"]}')["RuleArn"]
    assert on_default.endswith(":rule/nightly") and on_orders.endswith(":rule/orders/nightly")
    client.tag_resource(ResourceARN=on_orders, Tags=[{"Key": "Name", "Value": "orders-nightly"}])
    assert client.list_tags_for_resource(ResourceARN=on_default)["Tags"] == [{"Key": "dr:enabled", "Value": "true"}]
    assert client.list_tags_for_resource(ResourceARN=on_orders)["Tags"] == [{"Key": "Name", "Value": "orders-nightly"}]
    client.untag_resource(ResourceARN=on_orders, TagKeys=["Name"])
    assert client.list_tags_for_resource(ResourceARN=on_orders)["Tags"] == []
    assert code_of(client.list_tags_for_resource, ResourceARN=on_orders.replace("nightly", "daily")) == \
        "ResourceNotFoundException"
    assert code_of(client.list_tags_for_resource, ResourceARN=on_orders.replace(HOME, SECONDARY)) == \
        "ResourceNotFoundException"
    client.tag_resource(ResourceARN=on_orders, Tags=[{"Key": "dr:enabled", "Value": "false"}])
    tagging = buses.client("resourcegroupstaggingapi", region_name=HOME)
    mapped = tagging.get_resources(ResourceTypeFilters=["events:rule"])["ResourceTagMappingList"]
    assert {m["ResourceARN"] for m in mapped} == {on_default, on_orders}
    found = tagging.get_resources(TagFilters=[{"Key": "dr:enabled", "Values": ["true"]}])["ResourceTagMappingList"]
    assert [m["ResourceARN"] for m in found] == [on_default]


def test_a_managed_rule_cannot_be_enabled_or_disabled(buses):
    backend = events_backends[HUB][HOME]
    backend.put_rule("replication-rule", event_pattern='{"source": ["x"]}', managed_by="events.amazonaws.com")
    client = events(buses, HOME)
    assert code_of(client.disable_rule, Name="replication-rule") == "ManagedRuleException"
    assert code_of(client.enable_rule, Name="replication-rule") == "ManagedRuleException"
    assert code_of(client.enable_rule, Name="missing") == "ResourceNotFoundException"


def test_the_extension_answers_in_server_mode(server_url):
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=HOME)
    for region in (HOME, SECONDARY):
        session.client("events", region_name=region, endpoint_url=server_url).create_event_bus(Name="orders")
    check = session.client("route53", endpoint_url=server_url).create_health_check(
        CallerReference="s", HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "h.example",
                                                "Port": 443})["HealthCheck"]["Id"]
    home = session.client("events", region_name=HOME, endpoint_url=server_url)
    assert home.create_endpoint(**endpoint_args(check))["State"] == "CREATING"
    remote = session.client("events", region_name=SECONDARY, endpoint_url=server_url)
    assert remote.describe_endpoint(Name="orders-ge", HomeRegion=HOME)["State"] == "ACTIVE"  # delay 0 here
    arn = home.put_rule(Name="r", EventBusName="orders", EventPattern='{"source": ["a"]}')["RuleArn"]
    assert arn.endswith(":rule/orders/r")
