"""The adapter contract, proven for every registered action on its kit's own hub + spoke mini-estate.

Each test is parametrized over ``supported_actions()``: a new adapter is held to all of it the
moment it registers, and an action without a kit fails here by name. What is checked (AWS end state
read back by the kit, never by the adapter; calls recorded with botocore event hooks):

* failover: preflight passes (and so do the quotas the adapter declares it consumes), every resource serves
  from DR and validates HEALTHY, the spoke resource is acted on with the spoke account's credentials, every
  call is a declared IAM action (or one of preflight's quota reads);
* failover then failback returns the starting snapshot exactly;
* drill: no serving role changes and nothing is left behind;
* dry run: zero mutating calls, every change recorded as a dry run, nothing changed;
* scope: an estate tagged for another customer is refused by preflight and by every phase it acts in;
* idempotency: a second run of each finished phase (failover, failback, drill) makes zero mutating
  calls and changes nothing, and the phases that act are exactly the kit's ``acts``;
* faults on every call (throttling, 5xx, dropped connections, lost replies) converge to the same end
  state with exactly the same mutating calls;
* least privilege: every call made across failover, failback, drill and the kit's variants is in the
  adapter's shipped policy, and every granted action is called;
* a resource broken on purpose fails preflight by name while its sibling passes.

Actions that act on nothing in AWS are outside this suite, each named with its reason in
``NOT_AWS`` (and proven to make no AWS call); their own tests prove them.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

import pytest
import requests
from awssim import outage
from awssim.kits import DR as DR_SIDE
from awssim.kits import PRIMARY as PRIMARY_SIDE
from awssim.kits import NO_AWS_STATE, all_kits, kit_actions

from aws_calls import Calls, recorded
from aws_faults import KINDS, Faults, fast_retries, inject_faults
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.registry import ADAPTER_CLASSES, adapter_for, supported_actions
from dr_adapters.iam import CAPACITY_ACTIONS, adapter_name, service_side
from dr_adapters.plan.types import ALL_PHASES, Health, Phase
from mini_estate import PRIMARY, SPOKE, mini_estate, units_of

ROOT = Path(__file__).resolve().parents[2]
NOT_AWS = {
    "ManualStep": "a person performs and confirms it (Airflow human-in-the-loop, one task per step): no AWS "
                  "resource to fail over, no call to record, no simulator kit; proven on whole runs by "
                  "tests/orchestration/test_manual_steps.py and on its own by tests/adapters/test_manual_step.py",
}
"""Registered actions this suite cannot hold to an AWS end state, and why."""
ACTIONS = [a for a in supported_actions() if a not in NOT_AWS]
AWS_ADAPTER_CLASSES = [cls for cls in ADAPTER_CLASSES if not set(cls.actions) & set(NOT_AWS)]


def test_the_actions_outside_the_suite_make_no_aws_call():
    """An exclusion is not a loophole: what this suite leaves out declares no AWS call, grants nothing,
    has no kit, and the simulator passes over it for the same reason."""
    assert set(NOT_AWS) <= set(supported_actions()) and set(NOT_AWS) == NO_AWS_STATE
    for action in NOT_AWS:
        adapter = adapter_for(action)
        assert adapter.iam_actions == () and service_side(type(adapter)) == set() and adapter.discovery_types == ()
        assert adapter.phases == () and action not in kit_actions()


def test_every_registered_action_has_a_kit():
    """A kit per action, covering exactly its adapter's actions (else the suite would skip it)."""
    kits = kit_actions()
    missing = [a for a in ACTIONS if a not in kits]
    assert not missing, (f"registered action(s) {missing} have no simulator kit: add simulator/awssim/kits/"
                         "<adapter module>.py (docs/adding-an-adapter.md)")
    for action in ACTIONS:
        assert set(kits[action].actions) == set(adapter_for(action).actions), (
            f"kit {type(kits[action]).__name__} covers {kits[action].actions}, its adapter "
            f"{type(adapter_for(action)).__name__} {adapter_for(action).actions}")
    orphans = [a for kit in all_kits() for a in kit.actions if a not in ACTIONS]
    assert not orphans, f"kits for actions no adapter registers: {orphans}"


@pytest.mark.parametrize("action", ACTIONS)
def test_failover_serves_from_dr(aws, action):
    mini = mini_estate(action)
    assert set(mini.sides().values()) == {PRIMARY_SIDE}
    for unit in mini.units:  # each account's unit with its own recorder: whose credentials acted
        ctx, calls = recorded(mini.ctx("failover"))
        mini.drive(ctx, [unit])
        assert {h.status for h in mini.adapter.validate(ctx, unit)} == {Health.HEALTHY}
        # the hub's resource with the hub's own credentials; the spoke's through STS, with the spoke's
        assert calls.mutating and {c.account for c in calls if not c.startswith("sts:")} == {unit.account_id}
        assert ("sts:AssumeRole" in calls) == (unit.account_id == SPOKE)
        assert set(calls) - {"sts:AssumeRole"} <= set(mini.adapter.iam_actions) | set(CAPACITY_ACTIONS)
    assert set(mini.sides().values()) == {DR_SIDE}, mini.roles()


@pytest.mark.parametrize("action", ACTIONS)
def test_failover_then_failback_returns_the_starting_snapshot(aws, action):
    mini = mini_estate(action)
    before = mini.roles()
    mini.drive(mini.ctx("failover"))
    assert mini.roles() != before
    mini.drive(mini.ctx("failback"))
    assert mini.roles() == before
    assert set(mini.sides().values()) == {PRIMARY_SIDE}


@pytest.mark.parametrize("action", ACTIONS)
def test_drill_changes_no_serving_role_and_leaves_nothing_behind(aws, action):
    mini = mini_estate(action)
    before = mini.roles()
    ctx, calls = recorded(mini.ctx("drill"))
    mini.drive(ctx)
    assert mini.roles() == before
    assert mini.kit.leftovers(mini.estate) == []
    if not mini.kit.acts.get("drill"):
        assert calls.mutating == [] and ctx.changes == []


@pytest.mark.parametrize("action", ACTIONS)
def test_dry_run_makes_no_mutating_call(aws, action):
    mini = mini_estate(action)
    before = mini.state()
    announced = {}
    for operation in ("failover", "drill"):
        ctx, calls = recorded(mini.ctx(operation, dry_run=True))
        mini.run(ctx)
        for unit in mini.units:
            mini.adapter.validate(ctx, unit)
        assert calls.mutating == [], operation
        assert all(c["dry_run"] for c in ctx.changes)
        announced[operation] = {(c["service"], c["operation"], c["region"]) for c in ctx.changes}
    assert announced["failover"], "a dry-run failover records the changes it would make"
    assert mini.state() == before
    # what the dry runs announced, the real runs then do (each kind of call, in its region); a real run
    # may do more: a phase that reads what an earlier one made (DRS REPLICATE reverses the servers
    # INSTANTIATE launched) finds nothing to act on in a dry run
    for operation in ("drill", "failover"):  # the drill first: it leaves the estate as it found it
        real = mini.run(mini.ctx(operation))
        assert announced[operation] <= {(c["service"], c["operation"], c["region"]) for c in real.changes}, operation


@pytest.mark.parametrize("action", ACTIONS)
def test_scope_mismatch_is_refused_by_every_phase(aws, action):
    mini = mini_estate(action, scope=("initech", "staging"))
    before = mini.state()
    ctx, calls = recorded(mini.ctx("failover"))
    for unit in mini.units:
        findings = mini.adapter.preflight(ctx, unit)
        for rid in unit.resource_ids:
            bad = [f for f in findings if f.resource_id == rid and not f.ok]
            assert bad and "initech" in bad[0].message, findings
            assert bad[0].tags and bad[0].tags.get("Customer") == "initech"
        for phase in mini.adapter.phases:
            with pytest.raises(AdapterError, match="initech") as refused:
                mini.adapter.run_phase(phase, ctx, unit)
            assert refused.value.resource_id in unit.resource_ids and refused.value.remediation
    assert calls.mutating == [] and ctx.changes == []
    assert mini.state() == before


@pytest.mark.parametrize("operation", ["failover", "failback", "drill"])
@pytest.mark.parametrize("action", ACTIONS)
def test_a_second_run_of_each_phase_changes_nothing(aws, action, operation):
    mini = mini_estate(action)
    if operation == "failback":  # fail over first, through every phase (REPLICATE reverses replication)
        mini.run(mini.ctx("failover"))
    acted = set()
    for phase in ALL_PHASES:
        first = mini.run(mini.ctx(operation), [phase])
        acted |= {phase.value} if first.changes else set()
        after_first = mini.state()

        again, calls = recorded(mini.ctx(operation))
        mini.run(again, [phase])
        assert calls.mutating == [], f"second {phase.value} of {operation} called {calls.mutating}"
        assert again.changes == [], f"second {phase.value} of {operation} recorded {again.changes}"
        assert mini.state() == after_first, f"second {phase.value} of {operation} changed the estate"
    assert acted == set(mini.kit.acts.get(operation, ()))
    assert acted <= {p.value for p in mini.adapter.phases}


def _fail_over(action, faults=None):
    mini = mini_estate(action)
    ctx, calls = recorded(mini.ctx("failover"))
    with inject_faults(faults, ctx.aws.hub_session) if faults else nullcontext():  # spokes: made inside
        mini.run(ctx, ALL_PHASES, delay=0.05)
    return list(calls), mini.roles()


@pytest.mark.parametrize("action", ACTIONS)
def test_phases_converge_through_faults_without_acting_twice(aws, monkeypatch, action):
    fast_retries(monkeypatch)  # botocore's retry decisions, with shorter pauses
    clean_calls, clean_roles = _fail_over(action)
    changes = Counter(c for c in clean_calls if c.mutating)
    assert changes  # every adapter changes something in a failover

    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10).raise_for_status()
    # AWS stays busy a while after a launch or switchover (minutes, really): a retry of a call
    # whose reply was lost arrives while the first attempt's work is still in progress.
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "1.5")
    faults = Faults(lost=changes)
    calls, roles = _fail_over(action, faults)

    assert faults.kinds_injected() == {*KINDS, "lost"}, faults.injected
    assert len(faults.injected) >= len(calls)  # every call's first attempt failed ...
    assert set(faults.delivered) == set(changes)  # ... and every kind of change reached AWS, reply lost
    assert roles == clean_roles  # the same end state
    # exactly the same changes: not one launch, promotion, DNS change, scaling or alias move more
    assert Counter(c for c in calls if c.mutating) == changes


def _allowed_unconditionally(statements: list[dict], action: str) -> bool:
    from fnmatch import fnmatchcase

    for s in statements:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        if s["Effect"] == "Allow" and "Condition" not in s and s["Resource"] == "*" \
                and any(fnmatchcase(action.lower(), a.lower()) for a in actions):
            return True
    return False


@pytest.mark.parametrize("cls", AWS_ADAPTER_CLASSES, ids=adapter_name)
def test_calls_across_failover_failback_drill_and_variants_match_the_policy(aws, cls):
    """Every call of a whole lifecycle (and of a rollback) is granted by the shipped policy; every granted
    action is called.
    Waiters' polls are calls too (e.g. route53:GetChange); service-side actions never are ours."""
    calls = Calls()
    mini = None
    for action in cls.actions:  # each action's mini-estate (Aurora: MySQL and PostgreSQL)
        mini = mini_estate(action)
        for operation in ("failover", "failback", "drill"):
            ctx = mini.ctx(operation)
            ctx.aws.register_event("before-call", calls)
            ctx.aws.register_event("after-call.sts.AssumeRole", calls._assumed)
            mini.drive(ctx)
        requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10).raise_for_status()
        if cls.rollback_phases:  # a failover stopped after its waves, rolled back (what operation=rollback calls)
            mini = mini_estate(action)
            ctx, back = mini.ctx("failover"), mini.ctx("failback")
            for run in (ctx, back):
                run.aws.register_event("before-call", calls)
            before = mini.restore_points(ctx)
            mini.run(ctx, (Phase.INSTANTIATE, Phase.ACTIVATE))
            mini.roll_back(back, before=before)
            requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10).raise_for_status()

    mini = mini_estate(cls.actions[0])

    def drive(operation, resources, between=None):
        ctx = mini.ctx(operation)
        ctx.aws.register_event("before-call", calls)
        return mini.drive(ctx, units_of(cls.actions[0], resources), between=between).changes

    mini.kit.iam_variants(mini.estate, drive)

    sts = {c for c in calls if c.startswith("sts:")}
    # preflight's quota reads are every account's (include/iam/capacity.json); the usage reads, the adapter's
    called = {c for c in calls if not c.startswith("sts:")} - set(CAPACITY_ACTIONS)
    declared = set(cls.iam_actions)
    assert sts == {"sts:AssumeRole"}, "the hub reaches the spoke account with AssumeRole only (hub policy)"
    assert called - declared == set(), f"{cls.__name__} calls actions missing from iam_actions: {sorted(called - declared)}"
    assert declared - called == set(), f"{cls.__name__} declares actions it never calls: {sorted(declared - called)}"
    assert called & (service_side(cls) - declared) == set()  # what AWS does on our behalf is never our call
    policy = json.loads((ROOT / "include" / "iam" / "adapters" / f"{adapter_name(cls)}.json").read_text())["Statement"]
    assert [c for c in sorted(called) if not _allowed_unconditionally(policy, c)] == []


@pytest.mark.parametrize("action", ACTIONS)
def test_a_broken_resource_fails_preflight_by_name(aws, action):
    mini = mini_estate(action)
    broken, sibling = (u.resources[0] for u in mini.units)
    word = mini.kit.break_resource(mini.estate, broken)
    ctx = mini.ctx("failover")
    findings = [f for u in mini.units for f in mini.adapter.preflight(ctx, u)]
    failed = [f for f in findings if not f.ok]
    assert failed and all(f.resource_id == broken.resource_id for f in failed), findings
    assert any(word in f.message for f in failed), findings
    assert any(f.resource_id == sibling.resource_id for f in findings)


PREREQUISITES = [(action, which) for action in ACTIONS for which in kit_actions()[action].prerequisites]


@pytest.mark.parametrize(("action", "prerequisite"), PREREQUISITES, ids=[f"{a}-{w}" for a, w in PREREQUISITES])
def test_a_missing_prerequisite_fails_preflight_by_name(aws, action, prerequisite):
    """What a phase needs besides the resource (the cluster it is created in, the roles its tasks assume ...),
    removed out of band: preflight -- and so readiness -- fails that resource alone, naming what is missing,
    before a wave moves anything."""
    mini = mini_estate(action)
    broken, sibling = (u.resources[0] for u in mini.units)
    name = mini.kit.break_prerequisite(mini.estate, broken, prerequisite)
    findings = [f for u in mini.units for f in mini.adapter.preflight(mini.ctx("failover"), u)]
    failed = [f for f in findings if not f.ok]
    assert failed and all(f.resource_id == broken.resource_id for f in failed), findings
    assert any(name in f.message and " -- " in f.message for f in failed), failed  # named, with what to do
    assert any(f.resource_id == sibling.resource_id for f in findings)


@pytest.mark.parametrize("action", ACTIONS)
def test_unplanned_failover_serves_from_dr_without_a_call_to_the_dark_source(aws, action):
    """The primary region dark: preflight, INSTANTIATE, ACTIVATE and validate succeed with no call to it;
    CLEANUP and REPLICATE are deferred (not attempted) until it returns."""
    mini = mini_estate(action)
    ctx, calls = recorded(mini.ctx("failover", unplanned=True))
    outage.reset_counts()
    with outage.outage(PRIMARY):
        mini.drive(ctx)
        refused = outage.state()["refused"]
    assert refused.get(PRIMARY, 0) == 0, refused  # not one request reached for the dark region
    assert [c for c in calls if c.region == PRIMARY] == []
    assert all(c["region"] != PRIMARY for c in ctx.changes)
    assert {h.status for u in mini.units for h in mini.adapter.validate(ctx, u)} == {Health.HEALTHY}
    # once the region is back (to read it), the DR side serves every resource
    assert all(mini.kit.serves_in(mini.estate, r, DR_SIDE) for r in mini.plan.resources.values()), mini.roles()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_drill_of_the_way_back_after_a_failover_changes_nothing(aws, action):
    """Failed over and reprotected (REPLICATE reversed replication): a drill in the new direction
    (DR -> primary) passes, changes no serving role and leaves nothing behind."""
    mini = mini_estate(action)
    mini.drive(mini.ctx("failover"))
    before = mini.roles()
    ctx, calls = recorded(mini.ctx("drill", reverse_drill=True))
    assert (ctx.source_region, ctx.target_region) == (mini.plan.regions.dr, mini.plan.regions.primary)
    mini.drive(ctx)
    assert mini.roles() == before
    assert mini.kit.leftovers(mini.estate) == []
    if not mini.kit.acts.get("drill"):
        assert calls.mutating == []


@pytest.mark.parametrize("action", ACTIONS)
def test_tag_discovery_finds_the_estate_the_manifest_lists(aws, action):
    """Each adapter derives, from its kit's tagged mini-estate alone, the entries the manifest lists (same
    identity, same config with defaults), reading only what its policy grants; one that discovers nothing
    (Route 53 records take no tags) finds nothing and leaves nothing out."""
    from dr_adapters.iam import DISCOVERY_ACTIONS
    from dr_adapters.sources.discovery import discover, scope_of

    mini = mini_estate(action)
    ctx, calls = recorded(mini.ctx("drill"))
    result = discover(scope_of(mini.plan), ctx.aws, hub_account=mini.plan.hub_account_id)
    adapter = mini.adapter
    assert result.errors == [] and not result.failed_accounts

    def normal(action_name, config):
        return action_name, adapter.config_model.model_validate(config).model_dump()

    found = {f.identity: normal(f.action, f.config) for f in result.resources}
    if not adapter.discovery_types:
        assert found == {}
        return
    listed = {adapter.identity(r.config, r.account_id or mini.plan.hub_account_id): normal(r.action, r.config)
              for r in mini.plan.resources.values()}
    assert found == listed
    assert {f.resource_id for f in result.resources} == set(mini.plan.resources)  # the Name tag
    assert set(calls) - {"sts:AssumeRole", "sts:GetCallerIdentity"} <= set(adapter.iam_actions) | set(DISCOVERY_ACTIONS)
