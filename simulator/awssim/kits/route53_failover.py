"""Route 53 failover kit: tagged zones holding PRIMARY/SECONDARY pairs, each record with its health check.

The PRIMARY answers ``<label>-primary.<rest>`` and the SECONDARY ``<label>-dr.<rest>`` (``side_values``);
each has an HTTPS health check on its endpoint, tagged with the scope (never ``dr:*``, like the zone:
a health check is not failed over). Who serves is what Route 53 answers (TestDNSAnswer), with the
PRIMARY check's Disabled/Inverted flags, which a failback must restore exactly.
"""

from __future__ import annotations

import uuid
import zlib
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Estate, Kit, Seed
from awssim.kits.route53 import create_zone, dns_answer, record_sets, route53_state, shared_tags, side_values, zones


def seed_failover_pair(session: boto3.Session, zone_id: str, config: dict[str, Any], tags: dict[str, str],
                       values: tuple[str, str] | None = None) -> tuple[str, str]:
    """A PRIMARY/SECONDARY pair of ``config``'s name in the zone, each with a tagged health check on its
    endpoint; returns the two health check ids (primary, secondary)."""
    r53 = session.client("route53")
    checks, changes = [], []
    for role, value in zip(("PRIMARY", "SECONDARY"), values or side_values(config)):
        check = r53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig={
            "Type": "HTTPS", "FullyQualifiedDomainName": value, "Port": 443, "ResourcePath": "/health"})["HealthCheck"]["Id"]
        r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check,
                                     AddTags=[{"Key": k, "Value": v} for k, v in tags.items()])
        checks.append(check)
        changes.append({"Action": "CREATE", "ResourceRecordSet": {
            "Name": config["recordName"], "Type": config.get("recordType", "CNAME"), "TTL": 60,
            "SetIdentifier": f"{config['recordName'].split('.')[0]}-{role.lower()}", "Failover": role,
            "HealthCheckId": check, "ResourceRecords": [{"Value": value}]}})
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return checks[0], checks[1]


class Route53FailoverRecordKit(Kit):
    actions = ("R53FailoverRecord",)
    acts = {"failover": frozenset({"ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, rank = "dns-failover", 90  # not in synthetic estates (share 0)

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        zone = f"Z{zlib.crc32(customer.encode()):08X}FAIL{'S' if spoke else 'H'}"
        return {"hostedZoneId": zone, "recordName": f"f{n}.failover.{customer}.example."}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for (account_id, zone_id), records in zones(estate, items).items():
            session = estate.session(records[0].resource.account_id)
            first = records[0].resource.config["recordName"].rstrip(".")
            create_zone(session, account_id, zone_id, first.split(".", 1)[1] + ".", records)
            for item in records:
                seed_failover_pair(session, zone_id, item.resource.config, shared_tags([item]))

    def _pair(self, estate: Estate, resource: Any) -> dict[str, dict[str, Any]]:
        c = resource.config
        sets = record_sets(estate.session(resource.account_id), c["hostedZoneId"], c["recordName"],
                           c.get("recordType", "CNAME"))
        return {s["Failover"]: s for s in sets if s.get("Failover")}

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        session = estate.session(resource.account_id)
        pair = self._pair(estate, resource)
        if "PRIMARY" not in pair:
            return None
        check = session.client("route53").get_health_check(HealthCheckId=pair["PRIMARY"]["HealthCheckId"])
        config = check["HealthCheck"]["HealthCheckConfig"]
        return {"answer": dns_answer(session, resource.config),
                "primary_check": {"Disabled": config.get("Disabled"), "Inverted": config.get("Inverted")}}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        primary, dr = side_values(resource.config)
        answer = (role or {}).get("answer")
        return {(primary,): PRIMARY, (dr,): DR}.get(tuple(answer or ()))

    def state(self, session: boto3.Session, region: str) -> Any:
        return route53_state(session)

    def break_resource(self, estate: Estate, resource: Any) -> str:
        secondary = self._pair(estate, resource)["SECONDARY"]
        estate.session(resource.account_id).client("route53").change_resource_record_sets(
            HostedZoneId=resource.config["hostedZoneId"],
            ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": secondary}]})
        return "SECONDARY"
