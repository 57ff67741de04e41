"""Amazon Route 53: simple records (``R53Record``), and what every Route 53 record action shares.

Four actions move DNS, one per kind of record, because each needs its own config, its own lever in
AWS and its own IAM (a customer with simple records only grants no health-check update):

* ``R53Record`` (here): a simple record UPSERTed from ``primaryValues`` to ``drValues``;
* ``R53AliasRecord`` (``route53_alias``): an alias moved from one target to the other;
* ``R53WeightedRecord`` (``route53_weighted``): weights moved (100/0 -> 0/100) in one change batch;
* ``R53FailoverRecord`` (``route53_failover``): a PRIMARY/SECONDARY pair, moved by the PRIMARY's
  health check -- the only one that keeps working when us-east-1 itself is dark.

All of them read the record sets of one name and type, refuse a hosted zone whose Customer/Environment
tags are not the run's, change nothing in a drill, and ``validate`` confirms the answer Route 53 now
gives (``TestDNSAnswer``), not only what is stored. A record change is UPSERTed only when the stored
state differs, so a second ACTIVATE makes no call; the wait is botocore's ``resource_record_sets_changed``
(INSYNC). Route 53's control plane (every API call) is in us-east-1: with us-east-1 dark, no record can
be changed, and the simple, alias and weighted actions say so in seconds (``CONTROL_PLANE_FIX``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Literal

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
    "down, rely on what Route 53's data plane does by itself -- an R53FailoverRecord, a PRIMARY/SECONDARY "
    "pair Route 53 answers by its health checks (the PRIMARY's fails with its region) -- or on Application "
    "Recovery Controller routing controls, rather than changing a record"
)
BASE_IAM = ("route53:GetHostedZone", "route53:ListTagsForResource", "route53:ListResourceRecordSets",
            "route53:TestDNSAnswer")
CHANGE_IAM = ("route53:ChangeResourceRecordSets", "route53:GetChange")  # GetChange: the INSYNC waiter


class RecordConfig(ActionConfig):
    """What names a record in every Route 53 action."""

    hosted_zone_id: str = Field(alias="hostedZoneId", description="Hosted zone ID, e.g. Z0123456789ABC.")
    record_name: str = Field(alias="recordName", description="Fully qualified record name, e.g. app.example.com.")
    record_type: Literal["A", "AAAA", "CNAME"] = Field("CNAME", alias="recordType", description="Record type.")


class R53RecordConfig(RecordConfig):
    ttl: int = Field(60, ge=0, le=86400, description="TTL written with the new answers, seconds.")
    primary_values: list[str] = Field(alias="primaryValues", min_length=1, description="Answers when primary serves.")
    dr_values: list[str] = Field(alias="drValues", min_length=1, description="Answers when DR serves.")


def dns_name(name: str) -> str:
    return name.rstrip(".").lower()


def answers(values: list[str]) -> set[str]:
    """Values compared as DNS does: case-insensitive, trailing dot optional, order irrelevant."""
    return {dns_name(v) for v in values}


@contextmanager
def control_plane(rid: str) -> Iterator[None]:
    """A dead us-east-1 endpoint is Route 53's control plane down: say so, and what to use instead."""
    try:
        yield
    except DEAD_ENDPOINT_ERRORS as err:
        raise AdapterError(rid, f"Route 53's control plane (us-east-1) does not answer: {err}", CONTROL_PLANE_FIX) from None


def record_sets(r53: Any, zone_id: str, name: str, rtype: str) -> list[dict[str, Any]]:
    """Every record set of one name and type (a failover pair, a weighted group), paging as needed."""
    found: list[dict[str, Any]] = []
    start = {"StartRecordName": name, "StartRecordType": rtype}
    while True:
        page = r53.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="100", **start)
        for rrset in page["ResourceRecordSets"]:
            if dns_name(rrset["Name"]) != dns_name(name) or rrset["Type"] != rtype:
                return found
            found.append(rrset)
        if not page.get("IsTruncated"):
            return found
        start = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
        if page.get("NextRecordIdentifier"):
            start["StartRecordIdentifier"] = page["NextRecordIdentifier"]


class ZoneRecord:
    """One manifest entry resolved for this run: its zone and tags, the record sets of its name and type.

    Kinds override ``read`` (parse ``sets``), ``problems`` (why it cannot be acted on), ``is_at`` (is
    the stored state that of a side), ``expected`` (what the name must answer when a side serves) and
    ``move`` (the mutating call). A side is the config of the primary or the DR region (``source`` /
    ``target`` order them for this run).
    """

    data_plane_fails_over: ClassVar[bool] = False
    """Route 53's data plane moves this kind by itself when the primary's region is dark (failover records)."""

    def __init__(self, adapter: Adapter, ctx: RunContext, unit: WorkUnit, resource: ResourceSpec):
        self.cfg = adapter.config(resource)
        self.rid, self.ctx, self.account_id = resource.resource_id, ctx, unit.account_id
        self.zone_id = self.cfg.hosted_zone_id.split("/")[-1]  # accept "/hostedzone/Z..." too
        self.zone_tags: dict[str, str] | None = None
        self.sets: list[dict[str, Any]] = []
        self.dark = False  # Route 53's control plane unreachable in an unplanned run (failover records only)
        self.source, self.target = self.sides(ctx)
        if ctx.unplanned and ctx.source_region == ROUTE53_REGION:
            if not self.data_plane_fails_over:
                raise AdapterError(self.rid, "Route 53's control plane is in us-east-1, the region this unplanned "
                                   "failover leaves: no record change can be relied on", CONTROL_PLANE_FIX)
            self.dark = True  # no call to the region being left, Route 53's API included
            return
        # Fail fast: wherever the run goes, a dark us-east-1 must be named in seconds, not retried for minutes.
        self.r53 = ctx.aws.client("route53", ROUTE53_REGION, unit.account_id, fail_fast=True)
        try:
            with control_plane(self.rid):
                self._read_zone()
        except AdapterError:
            if not (ctx.unplanned and self.data_plane_fails_over):
                raise
            self.dark = True

    def sides(self, ctx: RunContext) -> tuple[Any, Any]:
        raise NotImplementedError

    def _read_zone(self) -> None:
        try:
            self.r53.get_hosted_zone(Id=self.zone_id)
        except ClientError as err:
            if err.response["Error"]["Code"] == "NoSuchHostedZone":
                return
            raise
        tag_set = self.r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=self.zone_id)
        self.zone_tags = {t["Key"]: t["Value"] for t in tag_set["ResourceTagSet"].get("Tags", [])}
        self.sets = record_sets(self.r53, self.zone_id, self.cfg.record_name, self.cfg.record_type)
        self.read()

    def read(self) -> None:
        """Parse ``self.sets`` (and read what else the kind needs)."""

    def health_check(self, check_id: str) -> dict[str, Any] | None:
        """A health check's config, None when it does not exist (Route 53 lets one be deleted while records
        still name it; an UPSERT of such a record is then refused: NoSuchHealthCheck)."""
        try:
            return self.r53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]
        except ClientError as err:
            if err.response["Error"]["Code"] == "NoSuchHealthCheck":
                return None
            raise

    @property
    def label(self) -> str:
        return f"{self.cfg.record_type} {self.cfg.record_name} in zone {self.zone_id}"

    def zone_problem(self) -> str | None:
        if self.zone_tags is None:
            return f"hosted zone {self.zone_id} not found"
        mismatch = self.ctx.scope.mismatch(self.zone_tags)
        return f"hosted zone {self.zone_id} is outside this run's scope: {mismatch}" if mismatch else None

    def problems(self) -> list[str]:
        """Why the record cannot be moved, read-only (the drill's checks: the target exists ...)."""
        return []

    def require(self) -> None:
        """Refuse, naming the fix, a zone out of scope or a record that cannot be moved."""
        problem = self.zone_problem()
        if problem:
            fix = ("check hostedZoneId and accountId" if self.zone_tags is None else
                   "tag the hosted zone with this estate's Customer/Environment, or remove it from the manifest")
            raise AdapterError(self.rid, problem, fix)
        found = self.problems()
        if found:
            raise AdapterError(self.rid, "; ".join(found), self.fix)

    fix: ClassVar[str] = "check recordName/recordType and the record in Route 53"

    def is_at(self, side: Any) -> bool:
        raise NotImplementedError

    @property
    def at_target(self) -> bool:
        return self.is_at(self.target)

    def now(self) -> str:
        """The stored state, for messages."""
        raise NotImplementedError

    def wanted(self, side: Any) -> str:
        raise NotImplementedError

    def move(self, outcome: PhaseOutcome, unit: WorkUnit) -> None:
        """Bring the stored state to the target: one mutating call through ``ctx.mutate``."""
        with control_plane(self.rid):
            reply = self.ctx.mutate(self.r53, "change_resource_record_sets", **self.change_batch())
        if reply is not None:  # None in a dry run
            outcome.waits.append(Wait(
                service="route53", region=ROUTE53_REGION, account_id=unit.account_id,
                waiter="resource_record_sets_changed", args={"Id": reply["ChangeInfo"]["Id"]},
                description=f"{self.label} in sync", delay=10, max_attempts=60,
            ))

    def change_batch(self) -> dict[str, Any]:
        raise NotImplementedError

    def upsert(self, rrsets: list[dict[str, Any]], comment: str) -> dict[str, Any]:
        return {"HostedZoneId": self.zone_id, "ChangeBatch": {
            "Comment": comment, "Changes": [{"Action": "UPSERT", "ResourceRecordSet": r} for r in rrsets]}}

    # -- the answer, as a resolver gets it ------------------------------------------------------------
    def dns_answer(self, name: str | None = None) -> tuple[str, set[str]]:
        reply = self.r53.test_dns_answer(HostedZoneId=self.zone_id, RecordName=name or self.cfg.record_name,
                                         RecordType=self.cfg.record_type)
        return reply["ResponseCode"], answers(reply.get("RecordData") or [])

    def expected(self, side: Any) -> set[str] | None:
        """What the name answers when ``side`` serves; None: any answer (an alias to an AWS resource
        answers that resource's current addresses)."""
        raise NotImplementedError

    def answer_problem(self, side: Any) -> str | None:
        code, data = self.answered = self.dns_answer()
        want = self.expected(side)
        if code != "NOERROR" or not data:
            return f"Route 53 answers {code} {sorted(data)} for {self.cfg.record_name}"
        if want is not None and not data <= want:
            return f"Route 53 answers {sorted(data)} for {self.cfg.record_name}, expected {sorted(want)}"
        return None


class RecordAdapter(Adapter):
    """The phase loop of every Route 53 record action (ACTIVATE only; failover records add CLEANUP)."""

    record_class: ClassVar[type[ZoneRecord]]
    phases = (Phase.ACTIVATE,)

    def _records(self, ctx: RunContext, unit: WorkUnit) -> list[ZoneRecord]:
        return [self.record_class(self, ctx, unit, r) for r in unit.resources]

    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for resource in unit.resources:
            try:
                rec = self.record_class(self, ctx, unit, resource)
            except AdapterError as err:  # the control plane is down: a finding, named, in seconds
                findings.append(Finding(resource.resource_id, False, str(err)))
                continue
            if rec.dark:
                findings.append(Finding(rec.rid, True, self.dark_note(rec)))
                continue
            problems = [p for p in [rec.zone_problem()] if p] or rec.problems()
            if problems:
                findings.append(Finding(rec.rid, False, "; ".join(problems), tags=rec.zone_tags))
            elif rec.at_target:
                findings.append(Finding(rec.rid, True, f"{rec.label} already {rec.now()}", tags=rec.zone_tags))
            else:
                findings.append(Finding(rec.rid, True, f"{rec.label} {rec.now()}; failover would "
                                        f"{rec.wanted(rec.target)}", tags=rec.zone_tags))
        return findings

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        outcome = PhaseOutcome()
        for rec in self._records(ctx, unit):
            if rec.dark:
                outcome.notes.append(f"{rec.rid}: {self.dark_note(rec)}")
                continue
            rec.require()
            if rec.at_target:
                outcome.notes.append(f"{rec.rid}: {rec.label} already {rec.now()}")
            elif ctx.is_drill:  # never change DNS in a drill
                outcome.notes.append(f"{rec.rid}: drill, read-only; {rec.label} {rec.now()}, a failover would "
                                     f"{rec.wanted(rec.target)}")
            else:
                rec.move(outcome, unit)
                outcome.notes.append(f"{rec.rid}: {rec.label}: {rec.wanted(rec.target)}")
        return outcome

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for rec in self._records(ctx, unit):
            if rec.dark:
                checks.append(HealthCheck(rec.rid, Health.DEGRADED, self.dark_note(rec), final=True))
                continue
            problem = rec.zone_problem() or "; ".join(rec.problems())
            # A drill leaves DNS alone: the source side still answering is the expected state.
            side = rec.target if rec.at_target or not ctx.is_drill else rec.source
            if not problem and not rec.is_at(side):
                problem = f"{rec.label} {rec.now()}, expected it to {rec.wanted(side)}"
            with control_plane(rec.rid):
                problem = problem or rec.answer_problem(side)
            if problem:
                checks.append(HealthCheck(rec.rid, Health.UNHEALTHY, problem))
            else:
                drill = "drill: unchanged, " if side is rec.source and side is not rec.target else ""
                checks.append(HealthCheck(rec.rid, Health.HEALTHY, f"{drill}{rec.label} {rec.now()}; "
                                          f"Route 53 answers {sorted(rec.answered[1])}"))
        return checks

    def dark_note(self, rec: ZoneRecord) -> str:
        return f"{rec.label}: Route 53's control plane (us-east-1) is not reachable"


class SimpleRecord(ZoneRecord):
    cfg: R53RecordConfig

    @property  # type: ignore[override]
    def fix(self) -> str:
        if self.special:
            return ("R53Record manages simple records only: use R53AliasRecord, R53WeightedRecord or "
                    "R53FailoverRecord for the others")
        return "check recordName/recordType"

    def sides(self, ctx: RunContext) -> tuple[Any, Any]:
        return ctx.source_and_target(self.cfg.primary_values, self.cfg.dr_values)

    def read(self) -> None:
        simple = [s for s in self.sets if not (s.get("AliasTarget") or s.get("SetIdentifier"))]
        self.current = [rr["Value"] for rr in simple[0].get("ResourceRecords", [])] if simple else None
        self.special = bool(self.sets) and not simple  # alias or routing-policy record: not a value list

    def problems(self) -> list[str]:
        if self.special:
            # UPSERTing plain values would silently replace an alias / weighted / failover policy.
            return [f"record {self.label} is an alias or routing-policy record"]
        if self.current is None:
            # Creating a record that should exist could publish a typo; make the operator look.
            return [f"record {self.label} not found"]
        return []

    def is_at(self, side: list[str]) -> bool:
        return self.current is not None and not self.special and answers(self.current) == answers(side)

    def now(self) -> str:
        return f"answers {self.current}"

    def wanted(self, side: list[str]) -> str:
        return f"answer {side}"

    def expected(self, side: list[str]) -> set[str]:
        return answers(side)

    def change_batch(self) -> dict[str, Any]:
        return self.upsert([{"Name": self.cfg.record_name, "Type": self.cfg.record_type, "TTL": self.cfg.ttl,
                             "ResourceRecords": [{"Value": v} for v in self.target]}],
                           f"DR: point {self.cfg.record_name} at {', '.join(self.target)}")


class Route53RecordAdapter(RecordAdapter):
    actions = ("R53Record",)
    record_class = SimpleRecord
    unplanned_behaviour = (
        "as planned, through Route 53's control plane in us-east-1; when us-east-1 is the region being left "
        "no record change can be relied on, and preflight says so at once (use R53FailoverRecord, whose "
        "PRIMARY health check fails with its region, or ARC routing controls, for such a DNS cut-over)"
    )
    config_model = R53RecordConfig
    drill_behaviour = "read-only: checks the record exists and answers the primary values (TestDNSAnswer)"
    phase_summaries = {
        Phase.INSTANTIATE: "no-op",
        Phase.ACTIVATE: "UPSERT the record to the target region's values and wait until INSYNC",
        Phase.CLEANUP: "no-op",
        Phase.REPLICATE: "no-op",
    }
    iam_actions = BASE_IAM + CHANGE_IAM
