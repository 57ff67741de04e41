"""Amazon Route 53 failover records (``R53FailoverRecord``): a PRIMARY/SECONDARY pair moved by a health check.

AWS's mechanism, not the seeds' "update the DNS record": Route 53 answers a failover pair's PRIMARY
record while its health check is healthy, else the SECONDARY (while that one is healthy). So nothing
here changes a record. A failover *holds the PRIMARY's health check unhealthy* with
``UpdateHealthCheck(Disabled=true, Inverted=true)``; a failback releases it (``Disabled=false,
Inverted=false``), and Route 53 answers the PRIMARY again as soon as its endpoint passes the check.
Both flags, because neither alone is safe: AWS counts a *disabled* check as healthy (disabling alone
never moves traffic), and *inverting* alone turns a dead endpoint's failure into "healthy" -- in a
real outage it would send traffic back into the dark region. Disabled and inverted is unhealthy
whatever the endpoint does. (A failback therefore leaves the PRIMARY's check enabled and not inverted.)
The PRIMARY record is the primary region's, the SECONDARY the DR region's.

Why this is the action for the day us-east-1 fails: every Route 53 API call is its control plane, in
us-east-1, but its health checkers and name servers (the data plane) keep working without it. When
the region being left is us-east-1, or us-east-1 does not answer, an unplanned run makes no call:
the PRIMARY's check fails with its region and Route 53 answers the SECONDARY by itself. ACTIVATE says
so, validate reports DEGRADED (not confirmable without the API), and CLEANUP -- deferred to
``operation=reprotect`` -- holds the PRIMARY's check down once us-east-1 answers, so the recovered
primary takes no traffic back before a failback. In planned runs ACTIVATE holds it and CLEANUP finds
it done. ``validate`` confirms the answer (``TestDNSAnswer``), not only the flags. There is no
waiter for a health check's status: Route 53 applies the flags at its next evaluation (seconds), and
validate, which Airflow retries, confirms the answer.
"""

from __future__ import annotations

from typing import Any

from dr_adapters.adapters.base import PhaseOutcome, RunContext
from dr_adapters.adapters.route53 import (
    BASE_IAM,
    ROUTE53_REGION,
    RecordAdapter,
    RecordConfig,
    ZoneRecord,
    answers,
    control_plane,
    record_sets,
)
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.types import Phase

PRIMARY, SECONDARY = "PRIMARY", "SECONDARY"
HEALTHY_SHARE = 0.18  # AWS: healthy when more than 18% of its health checkers report it healthy


def counted_healthy(r53: Any, check_id: str, config: dict[str, Any]) -> tuple[bool, str]:
    """Whether Route 53 counts a health check (its ``HealthCheckConfig``) healthy now, and why: disabled counts
    as healthy, inverted flips; otherwise what its checkers report (GetHealthCheckStatus: the endpoint as each
    one saw it). What Route 53 routes by, for failover records and EventBridge global endpoints alike."""
    if config.get("Disabled"):
        ok, why = True, "disabled (counted healthy)"
    else:
        seen = r53.get_health_check_status(HealthCheckId=check_id)["HealthCheckObservations"]
        passed = sum(o["StatusReport"]["Status"].startswith("Success") for o in seen)
        ok, why = passed > HEALTHY_SHARE * len(seen), f"{passed} of {len(seen)} checkers report success"
    if config.get("Inverted"):
        ok, why = not ok, why + ", inverted"
    return ok, f"health check {check_id}: {why}"


class R53FailoverRecordConfig(RecordConfig):
    """A failover pair is named by its name and type: Route 53 allows one PRIMARY and one SECONDARY."""


class FailoverPair(ZoneRecord):
    cfg: R53FailoverRecordConfig
    data_plane_fails_over = True
    fix = ("R53FailoverRecord needs a PRIMARY and a SECONDARY record of the name and type, the PRIMARY with a "
           "health check; the SECONDARY healthy before failing over to it")

    def sides(self, ctx: RunContext) -> tuple[str, str]:
        return ctx.source_and_target(PRIMARY, SECONDARY)

    def read(self) -> None:
        self.records = {s.get("Failover"): s for s in self.sets}
        self.check_id = (self.records.get(PRIMARY) or {}).get("HealthCheckId")
        self.check: dict[str, Any] | None = None
        if self.check_id:
            self.check = self.health_check(self.check_id)

    @property
    def held(self) -> bool:
        """The PRIMARY's check is held unhealthy (disabled and inverted): Route 53 answers the SECONDARY."""
        return bool(self.check and self.check.get("Disabled") and self.check.get("Inverted"))

    def healthy(self, check_id: str) -> tuple[bool, str]:
        config = self.health_check(check_id)
        if config is None:
            return False, f"health check {check_id} not found"
        return counted_healthy(self.r53, check_id, config)

    def problems(self) -> list[str]:
        others = sorted({str(s.get("Failover") or s.get("SetIdentifier") or "simple") for s in self.sets} -
                        {PRIMARY, SECONDARY})
        if others or not self.sets:
            return [f"{self.label} is not a failover pair" + (f" (found {others})" if others else " (not found)")]
        missing = [r for r in (PRIMARY, SECONDARY) if r not in self.records]
        if missing:
            return [f"failover record {self.label}: no {' or '.join(missing)} record"]
        if not self.check_id:
            return [f"the PRIMARY record of {self.label} has no health check: attach one (it is how Route 53 "
                    "moves the pair)"]
        if self.check is None:
            return [f"health check {self.check_id} of the PRIMARY record of {self.label} not found"]
        moving_to = self.records[self.target]
        if self.target == SECONDARY and moving_to.get("HealthCheckId"):
            ok, why = self.healthy(moving_to["HealthCheckId"])
            if not ok:  # both unhealthy: Route 53 answers the PRIMARY, the region being left
                return [f"the SECONDARY record of {self.label} is unhealthy ({why}): Route 53 would keep "
                        "answering the PRIMARY"]
        if self.target == PRIMARY and not self.held:
            ok, why = self.healthy(self.check_id)
            if not ok:
                return [f"the PRIMARY record of {self.label} is unhealthy ({why}): Route 53 answers the SECONDARY"]
        return []

    def is_at(self, side: str) -> bool:
        return self.check is not None and self.held == (side == SECONDARY)

    def now(self) -> str:
        if self.check is None:
            return "has no PRIMARY health check"
        state = "held unhealthy (disabled, inverted)" if self.held else "live"
        return f"PRIMARY health check {self.check_id} is {state}"

    def wanted(self, side: str) -> str:
        if side == SECONDARY:
            return f"hold the PRIMARY health check {self.check_id} unhealthy (Route 53 answers the SECONDARY)"
        return f"release the PRIMARY health check {self.check_id} (Route 53 answers the PRIMARY while it is healthy)"

    def expected(self, side: str) -> set[str] | None:
        record = self.records[side]
        alias = record.get("AliasTarget")
        if not alias:
            return answers([r["Value"] for r in record.get("ResourceRecords", [])])
        if alias["HostedZoneId"].split("/")[-1] == self.zone_id and record_sets(
                self.r53, self.zone_id, alias["DNSName"], self.cfg.record_type):
            return self.dns_answer(alias["DNSName"])[1]  # an alias to a record of this zone answers as it does
        return None  # an alias to an AWS resource answers its current addresses

    def move(self, outcome: PhaseOutcome, unit: WorkUnit) -> None:
        hold = self.target == SECONDARY
        with control_plane(self.rid):
            self.ctx.mutate(self.r53, "update_health_check", HealthCheckId=self.check_id, Disabled=hold, Inverted=hold)


class Route53FailoverRecordAdapter(RecordAdapter):
    actions = ("R53FailoverRecord",)
    record_class = FailoverPair
    config_model = R53FailoverRecordConfig
    phases = (Phase.ACTIVATE, Phase.CLEANUP)
    unplanned_behaviour = (
        "Route 53's data plane fails the pair over by itself: with the control plane reachable, ACTIVATE holds "
        "the PRIMARY's health check down as planned; when us-east-1 is the region being left (or dark) no call "
        "is made -- the PRIMARY's check fails with its region and Route 53 answers the SECONDARY -- validate "
        "reports DEGRADED, and reprotect's CLEANUP holds the PRIMARY down once us-east-1 answers"
    )
    drill_behaviour = ("read-only: checks the pair, the PRIMARY's health check, the SECONDARY's health (its check) "
                       "and that Route 53 answers the PRIMARY (TestDNSAnswer)")
    phase_summaries = {
        Phase.INSTANTIATE: "no-op",
        Phase.ACTIVATE: "hold the PRIMARY record's health check unhealthy (UpdateHealthCheck Disabled+Inverted) "
                        "so Route 53 answers the SECONDARY; failback releases it",
        Phase.CLEANUP: "the same, once Route 53's control plane answers (after an unplanned run: reprotect), so "
                       "a recovered primary takes no traffic back before failback",
        Phase.REPLICATE: "no-op",
    }
    iam_actions = BASE_IAM + ("route53:GetHealthCheck", "route53:GetHealthCheckStatus", "route53:UpdateHealthCheck")

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        """ACTIVATE's convergence again: a no-op after a planned ACTIVATE, the hold after an unplanned one."""
        return self.activate(ctx, unit)

    def dark_note(self, rec: ZoneRecord) -> str:
        why = ("is the region being left" if rec.ctx.source_region == ROUTE53_REGION else "does not answer")
        return (f"{rec.label}: no call made -- Route 53's control plane ({ROUTE53_REGION}) {why}; its data plane "
                f"answers the SECONDARY once the PRIMARY's health check fails with its region (not confirmed "
                "without the API); run operation=reprotect once us-east-1 answers: its CLEANUP holds the PRIMARY "
                "down, so the recovered primary takes no traffic back before a failback")
