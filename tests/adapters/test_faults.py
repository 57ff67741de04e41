"""Faults: throttling, 5xx and connection errors injected into every AWS call each adapter makes.

Each adapter fails its part of the demo estate over twice, in a fresh simulator each time: once
with no fault, once with *every* call's first HTTP attempt failing (the kinds rotate call by call:
ThrottlingException, TooManyRequestsException, 500, 503, connection refused) and the first attempt
of each mutating call reaching AWS but its reply lost (the dangerous case: a retry could act twice).
botocore's retries (``CLIENT_CONFIG``: adaptive mode, 10 attempts) carry the phases through, and
the run with faults ends in the same state with exactly the same number of launches, promotions,
DNS changes, service updates and alias moves as the run without.
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext

import pytest
import requests
from awssim.demo import _sessions, demo_plan, seed_estate
from awssim.snapshot import serving_roles

from dr_adapters.adapters.registry import adapter_for
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.types import Phase
from aws_calls import recorded
from aws_faults import KINDS, Faults, fast_retries, inject_faults

ADAPTERS = {
    "drs": ("DRS",),
    "aurora": ("AuroraMySQL", "AuroraPostgreSQL"),
    "ecs": ("EcsService",),
    "lambda": ("LambdaFunction",),
    "route53": ("R53Record",),
}
# The calls that must never happen twice: launches, promotions, DNS changes, scaling, alias moves.
ONCE = ("drs:StartRecovery", "rds:SwitchoverGlobalCluster", "rds:FailoverGlobalCluster",
        "route53:ChangeResourceRecordSets", "ecs:UpdateService", "lambda:UpdateAlias")
SPOKE = "222222222222"
PHASES = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)


def reset_simulator():
    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10).raise_for_status()


def fail_over(make_ctx, actions, faults=None):
    """Seed the demo estate and fail the adapter's resources over through all four phases.

    Returns the calls made (a copy: the recorder stays on the shared hub session), the end state of
    those resources, and the DRS launch jobs in the DR region."""
    plan = demo_plan()
    seed_estate(plan)
    ctx, calls = recorded(make_ctx("failover"))
    units = [u for w in plan.waves for u in w.units if u.action in actions]
    with inject_faults(faults, ctx.aws.hub_session) if faults else nullcontext():  # spokes: made inside
        for phase in PHASES:
            for unit in units:
                converge(adapter_for(unit.action), phase, ctx, unit, delay=0.05)
    reader = _sessions(plan)
    roles = {r: v for r, v in serving_roles(plan, reader).items() if plan.resources[r].action in actions}
    jobs = [j for account in (None, SPOKE)
            for j in reader[account].client("drs", region_name=plan.regions.dr).describe_jobs(filters={})["items"]
            if j["type"] == "LAUNCH"]
    return list(calls), roles, jobs


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_phases_converge_through_faults_without_acting_twice(aws, make_ctx, monkeypatch, name):
    fast_retries(monkeypatch)  # botocore's retry decisions, with shorter pauses
    actions = ADAPTERS[name]
    clean_calls, clean_roles, clean_jobs = fail_over(make_ctx, actions)
    changes = Counter(c for c in clean_calls if c.mutating)
    assert changes  # every adapter changes something in a failover of the demo estate

    reset_simulator()
    # AWS stays busy a while after a launch or switchover (minutes, really): a retry of a call
    # whose reply was lost arrives while the first attempt's work is still in progress.
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "1.5")
    faults = Faults(lost=changes)
    calls, roles, jobs = fail_over(make_ctx, actions, faults)

    assert faults.kinds_injected() == {*KINDS, "lost"}, faults.injected
    assert len(faults.injected) >= len(calls)  # every call's first attempt failed ...
    assert set(faults.delivered) == set(changes)  # ... and every kind of change reached AWS, reply lost
    assert roles == clean_roles  # the same end state
    # exactly the same changes: not one launch, promotion, DNS change, scaling or alias move more
    assert Counter(c for c in calls if c.mutating) == changes
    assert {c: calls.count(c) for c in ONCE} == {c: clean_calls.count(c) for c in ONCE}
    assert len(jobs) == len(clean_jobs) == changes["drs:StartRecovery"]  # DRS: one launch job per call
