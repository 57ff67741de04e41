"""Amazon Route 53: point a record at the target region's endpoints (ACTIVATE only).

The record is UPSERTed to the target values only when its current answers differ, so a second
ACTIVATE makes no call; the wait is botocore's ``resource_record_sets_changed`` (INSYNC).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field

from dr_adapters.adapters.base import (
    ActionConfig,
    Adapter,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    Wait,
)
from dr_adapters.aws.sessions import DEAD_ENDPOINT_ERRORS
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

ROUTE53_REGION = "us-east-1"  # Route 53 is global; its control plane answers in us-east-1
CONTROL_PLANE_FIX = (
    "a record change needs Route 53's control plane in us-east-1: to move traffic while us-east-1 is "
    "down, rely on what Route 53's data plane does by itself -- failover or weighted records with health "
    "checks, or Application Recovery Controller routing controls -- rather than changing a record"
)


class R53RecordConfig(ActionConfig):
    hosted_zone_id: str = Field(alias="hostedZoneId", description="Hosted zone ID, e.g. Z0123456789ABC.")
    record_name: str = Field(alias="recordName", description="Fully qualified record name, e.g. app.example.com.")
    record_type: Literal["A", "AAAA", "CNAME"] = Field("CNAME", alias="recordType", description="Record type (simple routing records only).")
    ttl: int = Field(60, ge=0, le=86400, description="TTL written with the new answers, seconds.")
    primary_values: list[str] = Field(alias="primaryValues", min_length=1, description="Answers when primary serves.")
    dr_values: list[str] = Field(alias="drValues", min_length=1, description="Answers when DR serves.")


def _name(name: str) -> str:
    return name.rstrip(".").lower()


def _answers(values: list[str]) -> set[str]:
    """Values compared as DNS does: case-insensitive, trailing dot optional, order irrelevant."""
    return {_name(v) for v in values}


@contextmanager
def control_plane(rid: str) -> Iterator[None]:
    """A dead us-east-1 endpoint is Route 53's control plane down: say so, and what to use instead."""
    try:
        yield
    except DEAD_ENDPOINT_ERRORS as err:
        raise AdapterError(rid, f"Route 53's control plane (us-east-1) does not answer: {err}", CONTROL_PLANE_FIX) from None


class _Record:
    """One manifest record resolved for this run: its zone, its current answers, the wanted ones."""

    def __init__(self, adapter: Route53RecordAdapter, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec):
        cfg: R53RecordConfig = adapter.config(resource)
        self.rid, self.cfg = resource.resource_id, cfg
        self.zone_id = cfg.hosted_zone_id.split("/")[-1]  # accept "/hostedzone/Z..." too
        if ctx.unplanned and ctx.source_region == ROUTE53_REGION:
            raise AdapterError(self.rid, "Route 53's control plane is in us-east-1, the region this unplanned "
                               "failover leaves: no record change can be relied on", CONTROL_PLANE_FIX)
        # Fail fast: wherever the run goes, a dark us-east-1 must be named in seconds, not retried for minutes.
        self.r53 = ctx.aws.client("route53", ROUTE53_REGION, unit.account_id, fail_fast=True)
        self.source, self.target = ctx.source_and_target(cfg.primary_values, cfg.dr_values)
        self.zone_tags: dict[str, str] | None = None
        self.current: list[str] | None = None  # None: no such record
        with control_plane(self.rid):
            self._read(cfg)

    def _read(self, cfg: R53RecordConfig) -> None:
        try:
            self.r53.get_hosted_zone(Id=self.zone_id)
        except ClientError as err:
            if err.response["Error"]["Code"] == "NoSuchHostedZone":
                return
            raise
        tag_set = self.r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=self.zone_id)
        self.zone_tags = {t["Key"]: t["Value"] for t in tag_set["ResourceTagSet"].get("Tags", [])}
        found = self.r53.list_resource_record_sets(
            HostedZoneId=self.zone_id, StartRecordName=cfg.record_name, StartRecordType=cfg.record_type, MaxItems="1"
        )["ResourceRecordSets"]
        self.special = False  # alias or routing-policy record: not a plain value list we may UPSERT
        if found and _name(found[0]["Name"]) == _name(cfg.record_name) and found[0]["Type"] == cfg.record_type:
            self.current = [rr["Value"] for rr in found[0].get("ResourceRecords", [])]
            self.special = bool(found[0].get("AliasTarget") or found[0].get("SetIdentifier"))

    @property
    def label(self) -> str:
        return f"{self.cfg.record_type} {self.cfg.record_name} in zone {self.zone_id}"

    @property
    def at_target(self) -> bool:
        return self.current is not None and _answers(self.current) == _answers(self.target)

    def require(self, ctx: RunContext) -> None:
        if self.zone_tags is None:
            raise AdapterError(self.rid, f"hosted zone {self.zone_id} not found", "check hostedZoneId and accountId")
        reason = ctx.scope.mismatch(self.zone_tags)
        if reason:
            raise AdapterError(
                self.rid,
                f"hosted zone {self.zone_id} is outside this run's scope: {reason}",
                "tag the hosted zone with this estate's Customer/Environment, or remove it from the manifest",
            )
        if self.current is None:
            # Creating a record that should exist could publish a typo; make the operator look.
            raise AdapterError(self.rid, f"record {self.label} not found", "check recordName/recordType")
        if self.special:
            # UPSERTing plain values would silently replace an alias / weighted / failover policy.
            raise AdapterError(self.rid, f"record {self.label} is an alias or routing-policy record",
                               "R53Record manages simple records only; point it at a simple record")

    def upsert(self) -> dict[str, Any]:
        return {
            "HostedZoneId": self.zone_id,
            "ChangeBatch": {
                "Comment": f"DR: point {self.cfg.record_name} at {', '.join(self.target)}",
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": self.cfg.record_name,
                            "Type": self.cfg.record_type,
                            "TTL": self.cfg.ttl,
                            "ResourceRecords": [{"Value": v} for v in self.target],
                        },
                    }
                ],
            },
        }


class Route53RecordAdapter(Adapter):
    actions = ("R53Record",)
    unplanned_behaviour = (
        "as planned, through Route 53's control plane in us-east-1; when us-east-1 is the region being left "
        "no record change can be relied on, and preflight says so at once (use failover/weighted records "
        "with health checks, or ARC routing controls, for such a DNS cut-over)"
    )
    config_model = R53RecordConfig
    phases = (Phase.ACTIVATE,)
    drill_behaviour = "read-only: checks the record exists and reports the change a failover would make"
    phase_summaries = {
        Phase.INSTANTIATE: "no-op",
        Phase.ACTIVATE: "UPSERT the record to the target region's values and wait until INSYNC",
        Phase.CLEANUP: "no-op",
        Phase.REPLICATE: "no-op",
    }
    iam_actions = (
        "route53:GetHostedZone",
        "route53:ListTagsForResource",
        "route53:ListResourceRecordSets",
        "route53:ChangeResourceRecordSets",
        "route53:GetChange",
    )

    def _records(self, ctx: RunContext, unit: WorkUnit) -> list[_Record]:
        return [_Record(self, ctx, unit, r) for r in unit.resources]

    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        records = []
        for resource in unit.resources:
            try:
                records.append(_Record(self, ctx, unit, resource))
            except AdapterError as err:  # the control plane is down: a finding, named, in seconds
                findings.append(Finding(resource.resource_id, False, str(err)))
        for rec in records:
            if rec.zone_tags is None:
                findings.append(Finding(rec.rid, False, f"hosted zone {rec.zone_id} not found"))
                continue
            mismatch = ctx.scope.mismatch(rec.zone_tags)
            if mismatch:
                message, ok = f"hosted zone {rec.zone_id} is outside this run's scope: {mismatch}", False
            elif rec.current is None:
                message, ok = f"record {rec.label} not found", False
            elif rec.special:
                message, ok = f"{rec.label} is an alias or routing-policy record (not supported)", False
            elif rec.at_target:
                message, ok = f"{rec.label} already answers {rec.current}", True
            else:
                message, ok = f"{rec.label} answers {rec.current}; failover would set {rec.target}", True
            findings.append(Finding(rec.rid, ok, message, tags=rec.zone_tags))
        return findings

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        outcome = PhaseOutcome()
        for rec in self._records(ctx, unit):
            rec.require(ctx)
            if rec.at_target:
                outcome.notes.append(f"{rec.rid}: {rec.label} already answers {rec.current}")
            elif ctx.is_drill:  # never change DNS in a drill
                outcome.notes.append(f"{rec.rid}: drill, read-only; would change {rec.label} "
                                     f"from {rec.current} to {rec.target}")
            else:
                with control_plane(rec.rid):
                    reply = ctx.mutate(rec.r53, "change_resource_record_sets", **rec.upsert())
                outcome.notes.append(f"{rec.rid}: {rec.label} -> {rec.target}")
                if reply is not None:  # None in a dry run
                    outcome.waits.append(Wait(
                        service="route53", region=ROUTE53_REGION, account_id=unit.account_id,
                        waiter="resource_record_sets_changed", args={"Id": reply["ChangeInfo"]["Id"]},
                        description=f"{rec.label} in sync", delay=10, max_attempts=60,
                    ))
        return outcome

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for rec in self._records(ctx, unit):
            if rec.current is None:
                checks.append(HealthCheck(rec.rid, Health.UNHEALTHY, f"record {rec.label} not found"))
            elif rec.at_target:
                checks.append(HealthCheck(rec.rid, Health.HEALTHY, f"{rec.label} answers {rec.current}"))
            elif ctx.is_drill and _answers(rec.current) == _answers(rec.source):
                # A drill leaves DNS alone: serving the source values is the expected state.
                checks.append(HealthCheck(rec.rid, Health.HEALTHY, f"drill: {rec.label} unchanged, {rec.current}"))
            else:
                checks.append(HealthCheck(rec.rid, Health.UNHEALTHY,
                                          f"{rec.label} answers {rec.current}, expected {rec.target}"))
        return checks
