"""Route 53 weighted kit: tagged zones holding a weighted pair per record, 100 on primary, 0 on DR.

The ``primary`` set answers ``<label>-primary.<rest>``, the ``dr`` set ``<label>-dr.<rest>``
(``side_values``). Who serves is the weights of the group and what Route 53 answers (TestDNSAnswer).
"""

from __future__ import annotations

import uuid
import zlib
from types import SimpleNamespace
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Drive, Estate, Kit, Seed
from awssim.kits.route53 import create_zone, dns_answer, record_sets, route53_state, side_values, zones


def weighted_changes(config: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    """CREATE the weighted sets of ``config`` at its primaryWeights, ``values``: SetIdentifier -> answer."""
    return [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": config["recordName"], "Type": config.get("recordType", "CNAME"), "TTL": 60, "SetIdentifier": set_id,
        "Weight": weight, "ResourceRecords": [{"Value": values[set_id]}]}}
        for set_id, weight in config["primaryWeights"].items()]


class Route53WeightedRecordKit(Kit):
    actions = ("R53WeightedRecord",)
    acts = {"failover": frozenset({"ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, rank = "dns-weighted", 90  # not in synthetic estates (share 0)

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        zone = f"Z{zlib.crc32(customer.encode()):08X}WGHT{'S' if spoke else 'H'}"
        return {"hostedZoneId": zone, "recordName": f"w{n}.weighted.{customer}.example.",
                "primaryWeights": {"primary": 100, "dr": 0}, "drWeights": {"primary": 0, "dr": 100}}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for (account_id, zone_id), records in zones(estate, items).items():
            session = estate.session(records[0].resource.account_id)
            create_zone(session, account_id, zone_id, records[0].resource.config["recordName"].split(".", 1)[1], records)
            changes = []
            for item in records:
                primary, dr = side_values(item.resource.config)
                changes += weighted_changes(item.resource.config, {"primary": primary, "dr": dr})
            session.client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})

    def _group(self, estate: Estate, resource: Any) -> dict[str, dict[str, Any]]:
        c = resource.config
        sets = record_sets(estate.session(resource.account_id), c["hostedZoneId"], c["recordName"],
                           c.get("recordType", "CNAME"))
        return {s["SetIdentifier"]: s for s in sets if s.get("Weight") is not None}

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        group = self._group(estate, resource)
        return {"weights": {k: s["Weight"] for k, s in sorted(group.items())},
                "answer": dns_answer(estate.session(resource.account_id), resource.config)} if group else None

    def serves_from(self, resource: Any, role: Any) -> str | None:
        weights = (role or {}).get("weights")
        sides = {PRIMARY: resource.config["primaryWeights"], DR: resource.config["drWeights"]}
        return next((side for side, wanted in sides.items() if wanted == weights), None)

    def state(self, session: boto3.Session, region: str) -> Any:
        return route53_state(session)

    def _check_dr_record(self, estate: Estate, resource: Any) -> str:
        """Give the group's ``dr`` record a health check (out of band); returns its id."""
        r53 = estate.session(resource.account_id).client("route53")
        check = r53.create_health_check(CallerReference=str(uuid.uuid4()), HealthCheckConfig={
            "Type": "HTTPS", "FullyQualifiedDomainName": side_values(resource.config)[1], "Port": 443})["HealthCheck"]["Id"]
        r53.change_resource_record_sets(HostedZoneId=resource.config["hostedZoneId"], ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {**self._group(estate, resource)["dr"], "HealthCheckId": check}}]})
        return check

    prerequisites = ("health check",)

    def break_prerequisite(self, estate: Estate, resource: Any, which: str) -> str:
        # Route 53 deletes a health check that records still name (AWS: their status is then unpredictable)
        check = self._check_dr_record(estate, resource)
        estate.session(resource.account_id).client("route53").delete_health_check(HealthCheckId=check)
        return check

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        # The DR record has a health check: preflight reads it (route53:GetHealthCheck) before moving weights.
        config = self.synthetic_config(estate.customer, 0, spoke=False)  # the mini-estate's hub group
        self._check_dr_record(estate, SimpleNamespace(account_id=None, config=config))
        drive("failover", [{"resourceId": "iam-weighted", "action": "R53WeightedRecord", "config": config}])

    def break_resource(self, estate: Estate, resource: Any) -> str:
        dr = self._group(estate, resource)["dr"]
        estate.session(resource.account_id).client("route53").change_resource_record_sets(
            HostedZoneId=resource.config["hostedZoneId"],
            ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": dr}]})
        return "['dr']"
