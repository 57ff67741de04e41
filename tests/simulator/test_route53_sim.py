"""The simulator's Route 53 data plane and change checks (awssim.route53_dns): answers, health, refusals, shapes."""

from __future__ import annotations

import socket
import time

import boto3
import botocore.session
import pytest
from awssim import outage, route53_dns
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
NAME = "app.example.com."


@pytest.fixture
def r53(aws):
    return aws.client("route53")


@pytest.fixture
def zone(r53):
    return r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"].split("/")[-1]


def change(r53, zone, *rrsets, action="CREATE"):
    return r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": action, "ResourceRecordSet": r} for r in rrsets]})


def cname(value, name=NAME, **extra):
    return {"Name": name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": value}], **extra}


def check(r53, fqdn, **extra):
    return r53.create_health_check(CallerReference=fqdn + str(time.time()), HealthCheckConfig={
        "Type": "HTTPS", "FullyQualifiedDomainName": fqdn, "Port": 443, **extra})["HealthCheck"]["Id"]


def answer(r53, zone, name=NAME, rtype="CNAME"):
    reply = r53.test_dns_answer(HostedZoneId=zone, RecordName=name, RecordType=rtype)
    return reply["ResponseCode"], reply["RecordData"]


def refused(call, code):
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == code, err.value
    return str(err.value)


def test_test_dns_answer_has_botocore_shape(r53, zone):
    change(r53, zone, cname("a.example.net"))
    reply = r53.test_dns_answer(HostedZoneId=zone, RecordName="app.example.com", RecordType="CNAME")
    shape = botocore.session.get_session().get_service_model("route53").operation_model("TestDNSAnswer").output_shape
    assert set(shape.required_members) <= set(reply) - {"ResponseMetadata"}
    assert reply["RecordName"] == NAME and reply["RecordData"] == ["a.example.net"] and reply["Protocol"] == "UDP"
    assert answer(r53, zone, "nope.example.com.") == ("NXDOMAIN", [])
    assert answer(r53, zone, NAME, "A") == ("NOERROR", [])
    refused(lambda: answer(r53, "Z0000NOPE"), "NoSuchHostedZone")
    refused(lambda: answer(r53, zone, NAME, "BOGUS"), "InvalidInput")


def failover_pair(r53, zone, primary_fqdn="p.us-east-1.elb.example.net", secondary_fqdn="s.us-west-2.elb.example.net"):
    hp, hs = check(r53, primary_fqdn), check(r53, secondary_fqdn)
    change(r53, zone, cname(primary_fqdn, SetIdentifier="p", Failover="PRIMARY", HealthCheckId=hp),
           cname(secondary_fqdn, SetIdentifier="s", Failover="SECONDARY", HealthCheckId=hs))
    return hp, hs


def test_failover_answers_by_health_with_aws_disabled_and_inverted_rules(r53, zone):
    hp, hs = failover_pair(r53, zone)
    primary, secondary = ["p.us-east-1.elb.example.net"], ["s.us-west-2.elb.example.net"]
    assert answer(r53, zone)[1] == primary
    r53.update_health_check(HealthCheckId=hp, Inverted=True)
    assert answer(r53, zone)[1] == secondary
    r53.update_health_check(HealthCheckId=hp, Inverted=False, Disabled=True)
    assert answer(r53, zone)[1] == primary  # a disabled check counts as healthy
    r53.update_health_check(HealthCheckId=hp, Inverted=True)
    assert answer(r53, zone)[1] == secondary  # disabled + inverted: unhealthy
    r53.update_health_check(HealthCheckId=hs, Inverted=True)
    assert answer(r53, zone)[1] == primary  # both unhealthy: Route 53 answers the PRIMARY


def test_a_dark_region_fails_its_endpoints_checks_and_the_data_plane_keeps_answering(r53, zone):
    hp, _ = failover_pair(r53, zone)
    with outage.outage("us-east-1"):
        # the API is us-east-1 (dark); the name servers and checkers are not
        assert route53_dns.dns_answer(ACCOUNT, zone, NAME, "CNAME") == ("NOERROR", ["s.us-west-2.elb.example.net"])
        with pytest.raises(Exception, match="Connection was closed"):
            answer(r53, zone)
    assert answer(r53, zone)[1] == ["p.us-east-1.elb.example.net"]  # back: the primary passes again


def test_health_check_status_reports_the_raw_probe_per_checker_region(r53, zone):
    hc = check(r53, "p.example.net", Inverted=True, Regions=["us-east-1", "eu-west-1", "ap-southeast-2"])
    observations = r53.get_health_check_status(HealthCheckId=hc)["HealthCheckObservations"]
    assert [o["Region"] for o in observations] == ["us-east-1", "eu-west-1", "ap-southeast-2"]
    assert all(o["StatusReport"]["Status"].startswith("Success") for o in observations)  # inversion not applied
    route53_dns.set_endpoint_health("p.example.net", False)
    try:
        observations = r53.get_health_check_status(HealthCheckId=hc)["HealthCheckObservations"]
        assert all(o["StatusReport"]["Status"].startswith("Failure") for o in observations)
    finally:
        route53_dns.set_endpoint_health("p.example.net", True)
    refused(lambda: r53.get_health_check_status(HealthCheckId="nope"), "NoSuchHealthCheck")


def test_update_health_check_bumps_the_version_refuses_a_stale_one_and_keeps_regions(r53):
    hc = check(r53, "p.example.net", Regions=["us-east-1", "eu-west-1", "ap-southeast-2"])
    reply = r53.update_health_check(HealthCheckId=hc, HealthCheckVersion=1, Inverted=True)["HealthCheck"]
    assert reply["HealthCheckVersion"] == 2 and reply["HealthCheckConfig"]["Regions"] == [
        "us-east-1", "eu-west-1", "ap-southeast-2"]
    assert r53.update_health_check(HealthCheckId=hc, Inverted=True)["HealthCheck"]["HealthCheckVersion"] == 2
    refused(lambda: r53.update_health_check(HealthCheckId=hc, HealthCheckVersion=1, Inverted=False),
            "HealthCheckVersionMismatch")
    refused(lambda: r53.update_health_check(HealthCheckId="nope", Inverted=True), "NoSuchHealthCheck")


def test_weighted_answers_the_heaviest_healthy_record(r53, zone):
    hb = check(r53, "b.example.net")
    change(r53, zone, cname("a.example.net", SetIdentifier="a", Weight=0),
           cname("b.example.net", SetIdentifier="b", Weight=100, HealthCheckId=hb),
           cname("c.example.net", SetIdentifier="c", Weight=40))
    assert answer(r53, zone)[1] == ["b.example.net"]
    r53.update_health_check(HealthCheckId=hb, Inverted=True)
    assert answer(r53, zone)[1] == ["c.example.net"]  # weight 0 only when nothing else is healthy


def test_alias_answers_its_target(r53, zone, aws):
    change(r53, zone, {"Name": "use1.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]})
    change(r53, zone, {"Name": NAME, "Type": "A", "AliasTarget": {
        "HostedZoneId": zone, "DNSName": "use1.example.com.", "EvaluateTargetHealth": False}})
    assert answer(r53, zone, rtype="A") == ("NOERROR", ["10.0.0.1"])
    change(r53, zone, {"Name": "cdn.example.com.", "Type": "A", "AliasTarget": {
        "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d111111abcdef8.cloudfront.net.", "EvaluateTargetHealth": False}})
    code, data = answer(r53, zone, "cdn.example.com.", "A")
    assert code == "NOERROR" and len(data) == 1 and data[0].startswith("198.1")


def test_an_alias_to_a_missing_target_or_under_another_zone_is_refused(r53, zone, aws):
    from awssim.kits.route53_alias import seed_load_balancer

    lb = seed_load_balancer(aws, "us-west-2", "app")
    alias = {"Name": NAME, "Type": "A", "AliasTarget": {"HostedZoneId": zone, "DNSName": "nope.example.com.",
                                                       "EvaluateTargetHealth": False}}
    assert "target was not found" in refused(lambda: change(r53, zone, alias), "InvalidChangeBatch")
    alias["AliasTarget"] = {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": "gone-1.us-west-2.elb.amazonaws.com",
                            "EvaluateTargetHealth": False}
    assert "target was not found" in refused(lambda: change(r53, zone, alias), "InvalidChangeBatch")
    alias["AliasTarget"] = {"HostedZoneId": "Z1H1FL5HABSF5", "DNSName": lb["DNSName"], "EvaluateTargetHealth": False}
    assert "does not lie within the target zone" in refused(lambda: change(r53, zone, alias), "InvalidChangeBatch")
    alias["AliasTarget"]["HostedZoneId"] = lb["CanonicalHostedZoneId"]
    change(r53, zone, alias)


@pytest.mark.parametrize("rrsets, code, words", [
    ([{"Name": NAME, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}], "AliasTarget": {
        "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d1.cloudfront.net", "EvaluateTargetHealth": False}}],
     "InvalidInput", "found more than one"),
    ([cname("a.example.net", SetIdentifier="a")], "InvalidInput", "routing policy"),
    ([cname("a.example.net", Weight=10)], "InvalidInput", "routing policy"),
    ([cname("a.example.net", SetIdentifier="a", Weight=256)], "InvalidInput", "0 and 255"),
    ([cname("a.example.net", SetIdentifier="a", Failover="TERTIARY")], "InvalidInput", "PRIMARY, SECONDARY"),
    ([cname("a.example.net", SetIdentifier="a", Failover="PRIMARY", HealthCheckId="nope")], "NoSuchHealthCheck", ""),
    ([cname("a.example.net", SetIdentifier="a", Failover="PRIMARY"),
      cname("b.example.net", SetIdentifier="b", Failover="PRIMARY")], "InvalidChangeBatch", "only one PRIMARY"),
    ([cname("a.example.net"), cname("b.example.net", SetIdentifier="b", Weight=1)], "InvalidChangeBatch", "non-"),
    ([cname("a.example.net"), {"Name": NAME, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]}],
     "InvalidChangeBatch", "CNAME"),
    ([cname("a.example.net", name="app.example.org.")], "InvalidChangeBatch", "not permitted in zone"),
])
def test_record_sets_aws_refuses_are_refused_and_the_batch_is_not_applied(r53, zone, rrsets, code, words):
    message = refused(lambda: change(r53, zone, *rrsets), code)
    assert words in message
    assert answer(r53, zone) == ("NXDOMAIN", [])  # all or nothing


def test_create_existing_and_delete_must_match_exactly(r53, zone):
    change(r53, zone, cname("a.example.net", SetIdentifier="a", Weight=1), cname("b.example.net", SetIdentifier="b", Weight=0))
    change(r53, zone, cname("x.example.net", name="other.example.com.", SetIdentifier="a", Weight=1))
    assert "already exists" in refused(lambda: change(r53, zone, cname("a.example.net", SetIdentifier="a", Weight=1)),
                                       "InvalidChangeBatch")
    assert "do not match" in refused(lambda: change(r53, zone, cname("a.example.net", SetIdentifier="a", Weight=2),
                                                    action="DELETE"), "InvalidChangeBatch")
    change(r53, zone, cname("a.example.net", SetIdentifier="a", Weight=1), action="DELETE")
    names = {(s["Name"], s.get("SetIdentifier")) for s in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]}
    assert (NAME, "b") in names and ("other.example.com.", "a") in names and (NAME, "a") not in names
    assert "not found" in refused(lambda: change(r53, zone, cname("a.example.net", SetIdentifier="a", Weight=1),
                                                 action="DELETE"), "InvalidChangeBatch")


def test_a_change_is_pending_then_insync(r53, zone, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    info = change(r53, zone, cname("a.example.net"))["ChangeInfo"]
    assert info["Status"] == "PENDING" and info["Id"].startswith("/change/C")
    assert r53.get_change(Id=info["Id"])["ChangeInfo"]["Status"] == "PENDING"
    r53.get_waiter("resource_record_sets_changed").wait(Id=info["Id"], WaiterConfig={"Delay": 0.1, "MaxAttempts": 20})
    assert r53.get_change(Id=info["Id"].split("/")[-1])["ChangeInfo"]["Status"] == "INSYNC"
    refused(lambda: r53.get_change(Id="/change/CNOSUCHCHANGE"), "NoSuchChange")


def test_server_mode(monkeypatch):
    import awssim
    from moto.server import ThreadedMotoServer

    awssim.install()
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        r53 = boto3.Session(region_name="us-east-1").client("route53", endpoint_url=f"http://127.0.0.1:{port}")
        zone_id = r53.create_hosted_zone(Name="example.com", CallerReference="s")["HostedZone"]["Id"].split("/")[-1]
        hp, _ = failover_pair(r53, zone_id)
        r53.update_health_check(HealthCheckId=hp, Disabled=True, Inverted=True)
        assert answer(r53, zone_id) == ("NOERROR", ["s.us-west-2.elb.example.net"])
    finally:
        server.stop()
