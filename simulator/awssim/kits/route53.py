"""Route 53 kit: tagged public hosted zones holding simple records that answer with the primary region.

Also what the other Route 53 kits (``route53_alias``, ``route53_failover``, ``route53_weighted``) share:
zones with the manifest's ids, their tags, reading record sets and the answer Route 53 gives.
"""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Estate, Kit, Seed


def seed_route53_record(
    session: boto3.Session,
    zone_name: str,
    record_name: str,
    values: list[str],
    tags: dict[str, str],
    *,
    record_type: str = "CNAME",
    ttl: int = 60,
    endpoint_url: str | None = None,
) -> str:
    """Create the zone (tagged Customer/Environment) and the record; returns the bare zone id."""
    r53 = session.client("route53", region_name="us-east-1", endpoint_url=endpoint_url)
    zone_id = r53.create_hosted_zone(Name=zone_name, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    zone_id = zone_id.split("/")[-1]
    r53.change_tags_for_resource(
        ResourceType="hostedzone",
        ResourceId=zone_id,
        AddTags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": record_name,
                        "Type": record_type,
                        "TTL": ttl,
                        "ResourceRecords": [{"Value": v} for v in values],
                    },
                }
            ]
        },
    )
    return zone_id


def create_zone(session: boto3.Session, account_id: str, zone_id: str, zone_name: str, records: list[Seed]) -> str:
    """A hosted zone with the manifest's id (moto's custom-id hook), tagged with what its records share."""
    from moto.route53.models import HostedZoneIdentifier
    from moto.utilities.id_generator import moto_id_manager

    moto_id_manager.set_custom_id(HostedZoneIdentifier(account_id, zone_name, None), zone_id)
    r53 = session.client("route53")
    created = r53.create_hosted_zone(Name=zone_name, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    assert created.endswith(zone_id), f"simulator gave zone {created}, manifest wants {zone_id}"
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id,
                                 AddTags=[{"Key": k, "Value": v} for k, v in shared_tags(records).items()])
    return zone_id


def shared_tags(records: list[Seed]) -> dict[str, str]:
    """The zone holds several records: it carries the scope tags they share, never dr:* ones (a zone is
    not failed over; tagged dr:enabled, discovery would rightly call it unprotected). Health checks too."""
    return {k: v for k, v in records[0].tags.items()
            if all(r.tags.get(k) == v for r in records) and not k.startswith("dr:") and k != "Name"}


def zone_name_of(record_name: str) -> str:
    return record_name.rstrip(".").split(".", 1)[1] + "."


def zones(estate: Estate, items: list[Seed]) -> dict[tuple[str, str], list[Seed]]:
    """The items grouped by (account id, hosted zone id): one zone per group."""
    grouped: dict[tuple[str, str], list[Seed]] = defaultdict(list)
    for item in items:
        grouped[(estate.account(item.resource.account_id), item.resource.config["hostedZoneId"])].append(item)
    return grouped


def seed_zone(session: boto3.Session, account_id: str, zone_id: str, records: list[Seed]) -> str:
    """A hosted zone with the manifest's id holding the (simple) records, on primary."""
    create_zone(session, account_id, zone_id, zone_name_of(records[0].resource.config["recordName"]), records)
    session.client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": _record_set(item.resource.config, "primaryValues")}
        for item in records
    ]})
    return zone_id


def record_sets(session: boto3.Session, zone_id: str, name: str, rtype: str) -> list[dict[str, Any]]:
    """Every record set of one name and type (a zone of the mini-estate fits one page)."""
    found = session.client("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [r for r in found if r["Name"].rstrip(".").lower() == name.rstrip(".").lower() and r["Type"] == rtype]


def dns_answer(session: boto3.Session, config: dict[str, Any]) -> list[str]:
    """What Route 53's name servers answer for the record now (TestDNSAnswer), sorted, without trailing dots."""
    reply = session.client("route53").test_dns_answer(
        HostedZoneId=config["hostedZoneId"], RecordName=config["recordName"],
        RecordType=config.get("recordType", "CNAME"))
    return sorted(v.rstrip(".") for v in reply["RecordData"])


def route53_state(session: boto3.Session) -> dict[str, Any]:
    """Every record set and health check of the account (Route 53 is global: the same from any region)."""
    r53 = session.client("route53")
    zone_ids = [z["Id"].split("/")[-1] for z in r53.list_hosted_zones()["HostedZones"]]
    checks = r53.list_health_checks()["HealthChecks"]
    return {"zones": {z: r53.list_resource_record_sets(HostedZoneId=z)["ResourceRecordSets"] for z in zone_ids},
            "health_checks": {c["Id"]: (c["HealthCheckVersion"], c["HealthCheckConfig"]) for c in checks}}


def side_values(config: dict[str, Any]) -> tuple[str, str]:
    """The endpoints a routed record's sets answer in each region, made from its name: ``f0.x.example.``
    -> ``f0-primary.x.example.``, ``f0-dr.x.example.`` (its manifest entry names no value)."""
    first, rest = config["recordName"].rstrip(".").split(".", 1)
    return f"{first}-primary.{rest}", f"{first}-dr.{rest}"


def _record_set(config: dict[str, Any], values: str) -> dict[str, Any]:
    return {"Name": config["recordName"], "Type": config.get("recordType", "CNAME"), "TTL": config.get("ttl", 60),
            "ResourceRecords": [{"Value": v} for v in config[values]]}


class Route53RecordKit(Kit):
    actions = ("R53Record",)
    acts = {"failover": frozenset({"ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, share, rank = "dns", 0.12, 90  # DNS moves last, once what it points at serves

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        zone = f"Z{zlib.crc32(customer.encode()):08X}SYNTH{'S' if spoke else 'H'}"  # one zone per account
        return {"hostedZoneId": zone, "recordName": f"r{n}.{customer}.example.",
                "primaryValues": [f"r{n}-primary.{customer}.example."], "drValues": [f"r{n}-dr.{customer}.example."]}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for (account_id, zone_id), records in zones(estate, items).items():
            seed_zone(estate.session(account_id), account_id, zone_id, records)

    def _record(self, estate: Estate, resource: Any) -> dict[str, Any] | None:
        c = resource.config
        found = estate.session(resource.account_id).client("route53").list_resource_record_sets(
            HostedZoneId=c["hostedZoneId"], StartRecordName=c["recordName"],
            StartRecordType=c.get("recordType", "CNAME"), MaxItems="1")["ResourceRecordSets"]
        same = found and found[0]["Name"].rstrip(".") == c["recordName"].rstrip(".")
        return found[0] if same else None

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        record = self._record(estate, resource)
        return sorted(v["Value"] for v in record["ResourceRecords"]) if record else None

    def serves_from(self, resource: Any, role: Any) -> str | None:
        sides = {PRIMARY: resource.config["primaryValues"], DR: resource.config["drValues"]}
        return next((side for side, values in sides.items() if sorted(values) == role), None)

    def break_resource(self, estate: Estate, resource: Any) -> str:
        record = self._record(estate, resource)
        estate.session(resource.account_id).client("route53").change_resource_record_sets(
            HostedZoneId=resource.config["hostedZoneId"],
            ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]})
        return resource.config["recordName"].rstrip(".")
