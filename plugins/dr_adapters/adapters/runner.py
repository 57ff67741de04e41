"""Run a phase to completion synchronously: call, wait with botocore waiters, call again.

Airflow does the same with deferral (``orchestration.operators``); this is for the CLI, tests
and in-process benchmarks.
"""

from __future__ import annotations

from dr_adapters.adapters.base import Adapter, PhaseOutcome, RunContext, Wait
from dr_adapters.aws.waiters import get_waiter
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.types import Phase

MAX_ROUNDS = 10


class PhaseDidNotConverge(RuntimeError):
    pass


def wait_for(ctx: RunContext, wait: Wait, delay: float | None = None) -> None:
    client = ctx.client(wait.service, wait.region, wait.account_id)
    get_waiter(client, wait.waiter).wait(
        **wait.args,
        WaiterConfig={"Delay": wait.delay if delay is None else delay, "MaxAttempts": wait.max_attempts},
    )


def converge(
    adapter: Adapter, phase: Phase, ctx: RunContext, unit: WorkUnit, *, delay: float | None = None
) -> list[PhaseOutcome]:
    """Call the phase until it returns no waits; returns every round's outcome."""
    outcomes = []
    for _ in range(MAX_ROUNDS):
        outcome = adapter.run_phase(phase, ctx, unit)
        outcomes.append(outcome)
        if outcome.done or ctx.dry_run:
            return outcomes
        for wait in outcome.waits:
            wait_for(ctx, wait, delay)
    raise PhaseDidNotConverge(f"{phase.value} of {unit.unit_id} still waiting after {MAX_ROUNDS} rounds")
