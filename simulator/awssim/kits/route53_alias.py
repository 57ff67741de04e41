"""Route 53 alias kit: tagged zones whose alias records target a record of the zone per region.

The mini-estate's targets are records of the alias's own zone (``<label>-primary.<rest>`` A 10.0.n.1 and
``<label>-dr.<rest>`` A 10.1.n.1): a manifest entry cannot name a load balancer's DNS name without its
region, which a synthetic config does not know. The load-balancer targets (ALBs in both regions, the
DR one checked with elasticloadbalancing:DescribeLoadBalancers) are driven by ``iam_variants``.
"""

from __future__ import annotations

import uuid
import zlib
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Drive, Estate, Kit, Seed
from awssim.kits.route53 import create_zone, dns_answer, record_sets, route53_state, zones


def alias_change(config: dict[str, Any], target: dict[str, str], evaluate: bool = False) -> dict[str, Any]:
    return {"Action": "CREATE", "ResourceRecordSet": {
        "Name": config["recordName"], "Type": config.get("recordType", "A"),
        "AliasTarget": {"HostedZoneId": target["hostedZoneId"], "DNSName": target["dnsName"],
                        "EvaluateTargetHealth": evaluate}}}


def seed_load_balancer(session: boto3.Session, region: str, name: str) -> dict[str, Any]:
    """An internet-facing ALB in two subnets of a new VPC; returns its description (DNSName, zone id)."""
    ec2 = session.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    zones_ = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
               for n, az in enumerate(zones_)]
    return session.client("elbv2", region_name=region).create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]


class Route53AliasRecordKit(Kit):
    actions = ("R53AliasRecord",)
    acts = {"failover": frozenset({"ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, rank = "dns-alias", 90  # not in synthetic estates (share 0)

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        zone = f"Z{zlib.crc32(customer.encode()):08X}ALIAS{'S' if spoke else 'H'}"
        rest = f"alias.{customer}.example."
        return {"hostedZoneId": zone, "recordName": f"a{n}.{rest}", "recordType": "A",
                "primaryTarget": {"hostedZoneId": zone, "dnsName": f"a{n}-primary.{rest}"},
                "drTarget": {"hostedZoneId": zone, "dnsName": f"a{n}-dr.{rest}"}}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for (account_id, zone_id), records in zones(estate, items).items():
            session = estate.session(records[0].resource.account_id)
            create_zone(session, account_id, zone_id, records[0].resource.config["recordName"].split(".", 1)[1], records)
            r53 = session.client("route53")
            targets = []
            for n, item in enumerate(records):
                c = item.resource.config
                for side, net in (("primaryTarget", 0), ("drTarget", 1)):
                    if c[side]["hostedZoneId"] == zone_id:  # a target of the zone: the record it names
                        targets.append({"Action": "CREATE", "ResourceRecordSet": {
                            "Name": c[side]["dnsName"], "Type": c.get("recordType", "A"), "TTL": 60,
                            "ResourceRecords": [{"Value": f"10.{net}.{n}.1"}]}})
            if targets:
                r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": targets})
            r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
                alias_change(item.resource.config, item.resource.config["primaryTarget"]) for item in records]})

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        c = resource.config
        session = estate.session(resource.account_id)
        sets = record_sets(session, c["hostedZoneId"], c["recordName"], c.get("recordType", "A"))
        if not sets:
            return None
        return {"alias": sets[0]["AliasTarget"]["DNSName"].rstrip(".").lower(), "answer": dns_answer(session, c)}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        sides = {PRIMARY: resource.config["primaryTarget"], DR: resource.config["drTarget"]}
        alias = (role or {}).get("alias")
        return next((s for s, t in sides.items() if t["dnsName"].rstrip(".").lower() == alias), None)

    def state(self, session: boto3.Session, region: str) -> Any:
        return route53_state(session)

    def break_resource(self, estate: Estate, resource: Any) -> str:
        c = resource.config
        target = c["drTarget"]["dnsName"]
        found = record_sets(estate.session(resource.account_id), c["hostedZoneId"], target, c.get("recordType", "A"))
        estate.session(resource.account_id).client("route53").change_resource_record_sets(
            HostedZoneId=c["hostedZoneId"], ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": found[0]}]})
        return target.rstrip(".")

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        # Load-balancer targets: the DR one is looked up by its DNS name (elasticloadbalancing:DescribeLoadBalancers).
        session = estate.sessions[None]
        lbs = {side: seed_load_balancer(session, region, f"iam-{side}")
               for side, region in (("primary", estate.primary), ("dr", estate.dr))}
        r53 = session.client("route53")
        zone = r53.create_hosted_zone(Name="lb.iam.example.", CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
        zone = zone.split("/")[-1]
        r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone, AddTags=[
            {"Key": k, "Value": v} for k, v in estate.scope_tags.items()])
        config = {"hostedZoneId": zone, "recordName": "app.lb.iam.example.", "recordType": "A", **{
            f"{side}Target": {"hostedZoneId": lb["CanonicalHostedZoneId"], "dnsName": lb["DNSName"]}
            for side, lb in lbs.items()}}
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
            alias_change(config, config["primaryTarget"], evaluate=True)]})
        changes = drive("failover", [{"resourceId": "iam-alias-lb", "action": "R53AliasRecord", "config": config}])
        upsert = changes[0]["args"]["ChangeBatch"]["Changes"][0]["ResourceRecordSet"]["AliasTarget"]
        assert upsert["DNSName"] == lbs["dr"]["DNSName"] and upsert["EvaluateTargetHealth"] is True
