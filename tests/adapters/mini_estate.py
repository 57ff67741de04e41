"""A small hub + spoke estate of one action, made from its kit, and the run contexts that act on it.

Not the demo: another customer, environment, regions (Europe -> Asia-Pacific) and spoke account,
so the conformance suite proves nothing by the demo's names. Two resources: one in the hub
account, one in the spoke account reached through STS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import boto3
from awssim.kits import Estate, Kit, kit_for
from awssim.seed import plan_estate, seed_estate

from dr_adapters.adapters.base import Adapter, RunContext
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.adapters.runner import MAX_ROUNDS, converge, wait_for
from dr_adapters.aws.sessions import AccountSessions
from dr_adapters.plan.model import Plan, ResourceSpec, WorkUnit
from dr_adapters.plan.types import AccountAccess, Health, Operation, Phase
from dr_adapters.preflight import DEFERRED_WHEN_UNPLANNED, capacity_findings
from dr_adapters.sources.loader import validate_data
from dr_adapters.sources.planner import build_plan

HUB, SPOKE = "123456789012", "444455556666"
PRIMARY, DR = "eu-west-1", "ap-southeast-2"
CUSTOMER, ENVIRONMENT = "globex", "staging"
EXTERNAL_ID = "globex-dr-contract"
STEPS = ("preflight", Phase.INSTANTIATE, Phase.ACTIVATE, "validate", Phase.CLEANUP, Phase.REPLICATE)


def manifest(action: str, kit: Kit, resources: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if resources is None:
        resources = [{"resourceId": f"{kit.kind}-{n}", "action": action,
                      "config": kit.synthetic_config(CUSTOMER, n, spoke=bool(n)), **({"accountId": SPOKE} if n else {})}
                     for n in range(2)]
    return {
        "manifestId": f"{CUSTOMER}-{ENVIRONMENT}", "customer": CUSTOMER, "environment": ENVIRONMENT,
        "regions": {"primary": PRIMARY, "dr": DR}, "hubAccountId": HUB,
        "accounts": [{"accountId": SPOKE, "roleArn": f"arn:aws:iam::{SPOKE}:role/dr-orchestration",
                      "externalId": EXTERNAL_ID}],
        "slaTargets": {"rto": 60, "rpo": 30},
        "layers": [{"layerId": "only", "priority": 1, "resources": resources}],
    }


def plan_of(data: dict[str, Any]) -> Plan:
    return build_plan(validate_data(data, "mini-estate"), "mini-estate")


@dataclass
class MiniEstate:
    action: str
    kit: Kit
    adapter: Adapter
    plan: Plan
    estate: Estate  # the oracle's view: its own sessions, never the run's

    @property
    def units(self) -> list[WorkUnit]:
        return self.plan.units

    def ctx(self, operation: str, *, dry_run: bool = False, customer: str = CUSTOMER, unplanned: bool = False,
            reverse_drill: bool = False) -> RunContext:
        """A run context of its own hub session (recorders hooked on it hear only this run)."""
        # STS from the region moved to, as the orchestrator does: never through the region being left
        sessions = AccountSessions(boto3.Session(region_name=PRIMARY),
                                   [AccountAccess(SPOKE, f"arn:aws:iam::{SPOKE}:role/dr-orchestration", EXTERNAL_ID)],
                                   session_name=f"dr-contract-{operation}", hub_account_id=HUB,
                                   sts_region=self.plan.regions.target(Operation(operation)))
        return RunContext(operation=Operation(operation), regions=self.plan.regions, scope=self.plan.scope.__class__(
            customer, ENVIRONMENT), aws=sessions, dry_run=dry_run, rpo_minutes=30, run_id=f"contract-{operation}",
            log=logging.getLogger("dr.test.contract"), unplanned=unplanned, reverse_drill=reverse_drill)

    def run(self, ctx: RunContext, phases=tuple(Phase), units: list[WorkUnit] | None = None,
            delay: float = 0) -> RunContext:
        """Each phase converged for every unit (``delay``: the waiters' poll interval)."""
        for phase in phases:
            for unit in units or self.units:
                converge(self.adapter, phase, ctx, unit, delay=delay)
        return ctx

    def restore_points(self, ctx: RunContext, units: list[WorkUnit] | None = None) -> dict[str, Any]:
        """What a failover's preflight records for a later rollback, by unit id (``Adapter.restore_point``)."""
        return {u.unit_id: self.adapter.restore_point(ctx, u) for u in units or self.units}

    def roll_back(self, ctx: RunContext, units: list[WorkUnit] | None = None,
                  before: dict[str, Any] | None = None) -> RunContext:
        """The rollback task's loop (call, wait, call again) for each unit, last unit first; ``before``: the
        restore points read before the run undone, by unit id."""
        for unit in reversed(units or self.units):
            for _ in range(MAX_ROUNDS):
                outcome = self.adapter.rollback(ctx, unit, (before or {}).get(unit.unit_id))
                if outcome.done:
                    break
                for wait in outcome.waits:
                    wait_for(ctx, wait, 0)
            else:
                raise AssertionError(f"rollback of {unit.unit_id} did not converge")
        return ctx

    def drive(self, ctx: RunContext, units: list[WorkUnit] | None = None, steps=STEPS, between=None) -> RunContext:
        """Every step of a run, as the DAG orders them; the checks must pass (no error path shortcuts)."""
        for step in steps:
            for unit in units or self.units:
                if step == "preflight":  # the adapter's checks, then the quotas it declares it consumes
                    bad = [f for f in self.adapter.preflight(ctx, unit) if not f.ok]
                    assert not bad, f"{ctx.operation.value} preflight of {unit.unit_id}: {bad}"
                    phases = [p for p in Phase if not (ctx.unplanned and p in DEFERRED_WHEN_UNPLANNED)]
                    quotas = capacity_findings(ctx, [(1, unit)], phases)
                    bad = [f for f in quotas if not f["ok"] or f.get("level") == "UNKNOWN"]
                    assert not bad, f"{ctx.operation.value} capacity of {unit.unit_id}: {bad}"
                elif step == "validate":
                    bad = [h for h in self.adapter.validate(ctx, unit) if h.status is not Health.HEALTHY]
                    assert not bad, f"{ctx.operation.value} validate of {unit.unit_id}: {bad}"
                else:
                    converge(self.adapter, step, ctx, unit, delay=0)
            if between:
                between(step.value if isinstance(step, Phase) else step)
        return ctx

    def roles(self) -> dict[str, Any]:
        from awssim.snapshot import serving_roles

        return serving_roles(self.plan, self.estate)

    def sides(self) -> dict[str, str | None]:
        from awssim.snapshot import serving_sides

        return serving_sides(self.plan, self.estate)

    def state(self) -> dict[str, Any]:
        """What the adapter could change: serving roles, and its services in each account and region."""
        state: dict[str, Any] = {"roles": self.roles()}
        for account in self.estate.accounts():
            for region in (PRIMARY, DR):
                state[f"{account or 'hub'}/{region}"] = self.kit.state(self.estate.sessions[account], region)
        return state


def mini_estate(action: str, *, scope: tuple[str, str] | None = None) -> MiniEstate:
    """Seed the action's mini-estate in the (in-process) simulator, tagged for ``scope`` if given."""
    kit = kit_for(action)
    plan = plan_of(manifest(action, kit))
    seed_estate(plan, scope=scope)
    return MiniEstate(action, kit, adapter_for(action), plan, plan_estate(plan))


def units_of(action: str, resources: list[dict[str, Any]]) -> list[WorkUnit]:
    """Work units for ad-hoc manifest entries (a kit's least-privilege variants)."""
    return [WorkUnit(f"variant-{r['resourceId']}", action, r.get("accountId"),
                     (ResourceSpec(r["resourceId"], r["action"], r["config"], account_id=r.get("accountId")),))
            for r in resources]
