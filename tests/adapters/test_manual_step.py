"""ManualStep as an action: its config, where the manifest may place it, and that it makes no AWS call.

The conformance suite leaves it out by name (it has no AWS end state); its runs through Airflow are
in tests/orchestration/test_manual_steps.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from aws_calls import recorded
from dr_adapters.adapters.manual_step import ManualStepAdapter, ManualStepConfig
from dr_adapters.adapters.registry import adapter_for, supported_actions
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health
from dr_adapters.sources.loader import ManifestError, load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "manifests" / "acme-production.yaml"


def step(rid: str, phase: str = "ACTIVATE", **more) -> dict:
    return {"resourceId": rid, "action": "ManualStep",
            "config": {"title": f"Confirm {rid}", "instructions": "Ask [the provider](https://status.example.com).",
                       "phase": phase, **more.pop("config", {})}, **more}


def manifest(tmp_path: Path, *steps: dict, wave: int = 2, **top) -> Path:
    data = yaml.safe_load(DEMO.read_text())
    data["layers"][wave - 1]["resources"] += list(steps)
    data.update(top)
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def unit(*configs: dict) -> WorkUnit:
    return WorkUnit("m", "ManualStep", None, tuple(ResourceSpec(f"m{i}", "ManualStep", c) for i, c in enumerate(configs)))


def test_it_is_a_registered_action_that_needs_nothing_in_aws():
    adapter = adapter_for("ManualStep")
    assert "ManualStep" in supported_actions() and isinstance(adapter, ManualStepAdapter)
    assert adapter.phases == () and adapter.iam_actions == () and adapter.service_side_actions == ()
    assert adapter.discovery_types == () and adapter.max_batch == 1


def test_config_defaults_and_strictness():
    cfg = ManualStepConfig.model_validate({"title": "Switch the allow-list", "instructions": "Call the provider."})
    assert (cfg.phase, cfg.in_drill, cfg.timeout_minutes, cfg.failback_instructions) == ("ACTIVATE", "skip", None, None)
    assert cfg.instructions_for(failback=True) == "Call the provider."  # no way-back text: the same
    back = ManualStepConfig.model_validate({"title": "t", "instructions": "there", "failbackInstructions": "back"})
    assert (back.instructions_for(False), back.instructions_for(True)) == ("there", "back")
    for bad in ({"title": "t"},  # instructions are required
                {"title": "two\nlines", "instructions": "x"},  # a title is a subject line
                {"title": "t", "instructions": "x", "phase": "LATER"},
                {"title": "t", "instructions": "x", "inDrill": "maybe"},
                {"title": "t", "instructions": "x", "timeoutMinutes": 0},
                {"title": "t", "instructions": "x", "assignee": "bob"}):  # unknown keys are errors
        with pytest.raises(ValidationError):
            ManualStepConfig.model_validate(bad)


def test_preflight_and_validate_make_no_aws_call(make_ctx):
    adapter = adapter_for("ManualStep")
    steps = unit({"title": "Switch the allow-list", "instructions": "x", "phase": "VALIDATE"},
                 {"title": "Warm the caches", "instructions": "x", "inDrill": "ask"})
    ctx, calls = recorded(make_ctx("failover"))
    findings = adapter.preflight(ctx, steps)
    assert [f.ok for f in findings] == [True, True] and all(f.tags is None for f in findings)
    assert findings[0].message == "manual step 'Switch the allow-list': a person confirms it after the wave's validation"
    assert {h.status for h in adapter.validate(ctx, steps)} == {Health.HEALTHY}
    drill, drill_calls = recorded(make_ctx("drill"))
    assert [f.message for f in adapter.preflight(drill, steps)] == [
        "manual step 'Switch the allow-list': not asked in a drill (inDrill: skip)",
        "manual step 'Warm the caches': a person confirms it after ACTIVATE"]
    for phase in ("instantiate", "activate", "cleanup", "replicate"):  # the base no-ops: its task asks a person
        assert getattr(adapter, phase)(ctx, steps).waits == []
    assert list(calls) == [] and list(drill_calls) == [] and ctx.changes == []


def test_the_planner_orders_it_by_its_dependencies(tmp_path):
    plan = build_plan(load_manifest(manifest(tmp_path, step("call-provider", dependencies=["orders-api"]),
                                             step("tell-support"))))
    wave = plan.wave(2)
    step_of = {u.unit_id: s for s, units in enumerate(wave.steps, start=1) for u in units}
    assert step_of["tell-support"] == 1 and step_of["call-provider"] == step_of["web-frontend"] == 2
    assert plan.resources["call-provider"].config["phase"] == "ACTIVATE"


def test_a_step_after_a_phase_the_manifest_does_not_run_is_refused(tmp_path):
    path = manifest(tmp_path, step("re-enable-vpn", "CLEANUP"), phases=["INSTANTIATE", "ACTIVATE"])
    with pytest.raises(ManifestError, match=r"'re-enable-vpn' \(ManualStep\) is placed after CLEANUP, which the "
                                            r"manifest's phases \['INSTANTIATE', 'ACTIVATE'\] do not include"):
        load_manifest(path)
    load_manifest(manifest(tmp_path, step("smoke-test", "VALIDATE"), phases=["ACTIVATE"]))  # VALIDATE always runs


@pytest.mark.parametrize("placed, dependent, wave, refused", [
    ("VALIDATE", {"action": "EcsService", "config": {"cluster": "c", "service": "s", "desiredCount": 1}}, 2, True),
    ("VALIDATE", {"action": "EcsService", "config": {"cluster": "c", "service": "s", "desiredCount": 1}}, 3, False),
    ("VALIDATE", step("x", "VALIDATE"), 2, True),  # side by side with it, not after
    ("VALIDATE", step("x", "CLEANUP"), 2, False),
    ("CLEANUP", step("x", "REPLICATE"), 3, False),
    ("CLEANUP", step("x", "CLEANUP"), 3, True),
    ("CLEANUP", {"action": "EcsService", "config": {"cluster": "c", "service": "s", "desiredCount": 1}}, 3, True),
    ("ACTIVATE", {"action": "EcsService", "config": {"cluster": "c", "service": "s", "desiredCount": 1}}, 2, False),
])
def test_nothing_may_depend_on_a_step_asked_after_it_runs(tmp_path, placed, dependent, wave, refused):
    data = yaml.safe_load(DEMO.read_text())
    data["layers"][1]["resources"].append(step("confirm-dns", placed))
    data["layers"][wave - 1]["resources"].append({**dependent, "resourceId": "after-it", "dependencies": ["confirm-dns"]})
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    if refused:
        with pytest.raises(ManifestError, match=r"'after-it' depends on the manual step 'confirm-dns', which is asked "
                                                r"after .*place 'confirm-dns' earlier"):
            load_manifest(path)
    else:
        load_manifest(path)


def test_the_simulator_seeds_and_snapshots_an_estate_around_it(aws, tmp_path):
    """An estate with a manual step seeds, snapshots and tabulates (nothing of it is in AWS)."""
    from awssim.seed import seed_estate
    from awssim.snapshot import serving_roles, serving_sides
    from drlocal.estate_table import estate_table

    plan = build_plan(load_manifest(manifest(tmp_path, step("call-provider"))))
    estate = seed_estate(plan, explorer=False)
    before = serving_roles(plan, estate)
    assert "call-provider" not in before and set(before) == set(plan.resources) - {"call-provider"}
    assert set(serving_sides(plan, estate).values()) == {"primary"}
    assert "call-provider" not in estate_table(plan, before)
