"""Amazon Route 53 alias records (``R53AliasRecord``): point an alias at the target region's endpoint.

An alias answers what its target answers (a load balancer's addresses, a CloudFront distribution, an
API Gateway domain, or another record of the zone), so failing it over is one UPSERT of the same
record with the other ``AliasTarget`` (HostedZoneId + DNSName); ``EvaluateTargetHealth`` is kept as
the record has it. Only a simple alias is moved here: weighted and failover aliases belong to
``R53WeightedRecord`` / ``R53FailoverRecord``. An alias pointing at neither configured target is
refused (someone changed it by hand: overwriting it could undo their fix).

The drill and preflight check that the target the run moves to exists, where its permissions allow:
a record of this zone (ListResourceRecordSets) or a load balancer named by its DNS name (ALB/NLB via
elbv2, then Classic; ``elasticloadbalancing:DescribeLoadBalancers`` in the region the name carries,
never the region being left in an unplanned run), whose canonical hosted zone must be the configured
``hostedZoneId`` (AWS refuses the alias otherwise). Other targets (CloudFront, API Gateway, S3) are
not verifiable without their own permissions: Route 53 refuses the change if they are gone.
``validate`` confirms the answer (``TestDNSAnswer``): for a record of the zone, the target's own
answer; for an AWS resource, a NOERROR answer with addresses (they are the resource's own).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from dr_adapters.adapters.base import ActionConfig, RunContext
from dr_adapters.adapters.route53 import (
    BASE_IAM,
    CHANGE_IAM,
    RecordAdapter,
    RecordConfig,
    ZoneRecord,
    dns_name,
    record_sets,
)
from dr_adapters.plan.types import Phase

REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-\d"
# ALB/Classic: name-123.us-east-1.elb.amazonaws.com; NLB: name-abc.elb.us-east-1.amazonaws.com
ELB_DNS = re.compile(rf"\.(?:(?P<a>{REGION})\.elb|elb\.(?P<b>{REGION}))\.amazonaws\.com$")


class AliasTarget(ActionConfig):
    hosted_zone_id: str = Field(alias="hostedZoneId", description=(
        "The target's hosted zone ID: a load balancer's CanonicalHostedZoneId, Z2FDTNDATAQYW2 for CloudFront, an "
        "API Gateway domain's regional hosted zone ID, or this zone's own ID for a record in it."))
    dns_name: str = Field(alias="dnsName", description="The target's DNS name, e.g. my-alb-1234.us-east-1.elb.amazonaws.com.")


class R53AliasRecordConfig(RecordConfig):
    record_type: Literal["A", "AAAA", "CNAME"] = Field("A", alias="recordType", description="Record type.")
    primary_target: AliasTarget = Field(alias="primaryTarget", description=(
        "Alias target when primary serves: {hostedZoneId, dnsName}, e.g. {hostedZoneId: Z35SXDOTRQ7X7K, "
        "dnsName: app-1234.us-east-1.elb.amazonaws.com}."))
    dr_target: AliasTarget = Field(alias="drTarget", description=(
        "Alias target when DR serves: {hostedZoneId, dnsName}, e.g. {hostedZoneId: Z1H1FL5HABSF5, "
        "dnsName: app-5678.us-west-2.elb.amazonaws.com}."))


def _zone(zone_id: str) -> str:
    return zone_id.split("/")[-1]


class AliasRecord(ZoneRecord):
    cfg: R53AliasRecordConfig
    fix = ("R53AliasRecord moves a simple alias record between primaryTarget and drTarget: check the record, "
           "and that the target exists")

    def sides(self, ctx: RunContext) -> tuple[AliasTarget, AliasTarget]:
        return ctx.source_and_target(self.cfg.primary_target, self.cfg.dr_target)

    def read(self) -> None:
        simple = [s for s in self.sets if s.get("AliasTarget") and not s.get("SetIdentifier")]
        self.current: dict[str, Any] | None = simple[0]["AliasTarget"] if simple else None

    @staticmethod
    def points_at(alias: dict[str, Any] | None, side: AliasTarget) -> bool:
        return bool(alias) and _zone(alias["HostedZoneId"]) == _zone(side.hosted_zone_id) and \
            dns_name(alias["DNSName"]) == dns_name(side.dns_name)

    def problems(self) -> list[str]:
        if self.sets and self.current is None:
            return [f"record {self.label} is not a simple alias record"]
        if self.current is None:
            return [f"alias record {self.label} not found"]
        if not any(self.points_at(self.current, side) for side in (self.source, self.target)):
            return [f"alias {self.label} points at {self.current['DNSName']}, neither primaryTarget nor drTarget "
                    "(changed by hand? set it back, or fix the manifest)"]
        problem = self.target_problem(self.target)
        return [problem] if problem else []

    def target_problem(self, side: AliasTarget) -> str | None:
        """Why the alias target the run moves to cannot be used, where its existence can be read."""
        if _zone(side.hosted_zone_id) == self.zone_id:
            if not record_sets(self.r53, self.zone_id, side.dns_name, self.cfg.record_type):
                return f"alias target {side.dns_name} ({self.cfg.record_type}) not found in zone {self.zone_id}"
            return None
        found = ELB_DNS.search(dns_name(side.dns_name))
        region = found and (found.group("a") or found.group("b"))
        if not region or (self.ctx.unplanned and region == self.ctx.source_region):
            return None  # not a load balancer (or in the dark region): Route 53 refuses the change if it is gone
        zone = self.load_balancer_zone(region, side.dns_name)
        if zone is None:
            return f"alias target load balancer {side.dns_name} not found in {region}"
        if zone != _zone(side.hosted_zone_id):
            return (f"alias target {side.dns_name} is in hosted zone {zone}, not {side.hosted_zone_id}: Route 53 "
                    "refuses the alias; fix hostedZoneId in the manifest")
        return None

    def load_balancer_zone(self, region: str, name: str) -> str | None:
        """The canonical hosted zone id of the load balancer with this DNS name, None if there is none."""
        wanted = dns_name(name).removeprefix("dualstack.")
        for service, key, zone_key in (("elbv2", "LoadBalancers", "CanonicalHostedZoneId"),
                                       ("elb", "LoadBalancerDescriptions", "CanonicalHostedZoneNameID")):
            client = self.ctx.client(service, region, self.account_id)
            for page in client.get_paginator("describe_load_balancers").paginate():
                for lb in page[key]:
                    if dns_name(lb["DNSName"]) == wanted:
                        return lb[zone_key]
        return None

    def is_at(self, side: AliasTarget) -> bool:
        return self.points_at(self.current, side)

    def now(self) -> str:
        return f"aliases {self.current['DNSName'] if self.current else None}"

    def wanted(self, side: AliasTarget) -> str:
        return f"alias {side.dns_name}"

    def expected(self, side: AliasTarget) -> set[str] | None:
        if _zone(side.hosted_zone_id) == self.zone_id:
            return self.dns_answer(side.dns_name)[1]  # the target record's own answer
        return None  # an AWS resource answers its current addresses

    def change_batch(self) -> dict[str, Any]:
        target = {"HostedZoneId": _zone(self.target.hosted_zone_id), "DNSName": self.target.dns_name,
                  "EvaluateTargetHealth": bool((self.current or {}).get("EvaluateTargetHealth", False))}
        return self.upsert([{"Name": self.cfg.record_name, "Type": self.cfg.record_type, "AliasTarget": target}],
                           f"DR: alias {self.cfg.record_name} to {self.target.dns_name}")


class Route53AliasRecordAdapter(RecordAdapter):
    actions = ("R53AliasRecord",)
    record_class = AliasRecord
    config_model = R53AliasRecordConfig
    unplanned_behaviour = (
        "as planned, through Route 53's control plane in us-east-1 (the target checked in the region moved to "
        "only); when us-east-1 is the region being left no record change can be relied on and preflight says "
        "so at once (use R53FailoverRecord, or ARC routing controls)"
    )
    drill_behaviour = ("read-only: checks the alias, that the DR target exists (a record of the zone, or a load "
                       "balancer) and that Route 53 answers the primary target (TestDNSAnswer)")
    phase_summaries = {
        Phase.INSTANTIATE: "no-op",
        Phase.ACTIVATE: "UPSERT the alias to the target region's AliasTarget (EvaluateTargetHealth kept), wait INSYNC",
        Phase.CLEANUP: "no-op",
        Phase.REPLICATE: "no-op",
    }
    iam_actions = BASE_IAM + CHANGE_IAM + ("elasticloadbalancing:DescribeLoadBalancers",)
