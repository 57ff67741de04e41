"""Run parameters: checked before any AWS call, aliases accepted, errors say what to pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan
from dr_adapters.plan.run_request import RunRequestError, parse_run_request
from dr_adapters.plan.types import Operation, Phase

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))


def test_defaults_are_a_drill_with_the_manifest_settings(plan):
    request = parse_run_request(plan, {})
    assert request.operation is Operation.DRILL
    assert request.waves == (1, 2, 3) and request.phases == tuple(Phase)
    assert request.approval_required and not request.dry_run
    assert not request.gates_wait  # a drill never waits for a person


def test_srs_cli_keys_are_aliases(plan):
    request = parse_run_request(plan, {"Operation": "Failover", "Confirm": "acme/production", "Customer": "acme",
                                       "Environment": "production", "PrimaryRegion": "us-east-1",
                                       "DRRegion": "us-west-2", "ApprovalMode": "automatic", "Waves": [2, 1]})
    assert request.operation is Operation.FAILOVER and request.waves == (1, 2)
    assert not request.approval_required and not request.gates_wait


def test_emergency_failover_runs_activate_only(plan):
    request = parse_run_request(plan, {"operation": "failover", "confirm": "acme/production", "phases": ["ACTIVATE"]})
    assert request.phases == (Phase.ACTIVATE,)


@pytest.mark.parametrize(
    ("conf", "words"),
    [
        ({"operation": "teleport"}, "operation='teleport' is not an operation; use one of: failover"),
        ({"operation": "failover"}, "pass confirm='acme/production'"),
        ({"operation": "failback", "confirm": "acme/staging"}, "pass confirm='acme/production' (got 'acme/staging')"),
        ({"Customer": "globex"}, "customer='globex' does not match this DAG"),
        ({"Environment": "staging"}, "environment='staging' does not match"),
        ({"DRRegion": "eu-west-1"}, "dr_region='eu-west-1' does not match"),
        ({"waves": [7]}, "has waves [1, 2, 3]"),
        ({"waves": "first"}, "pass 'all' or a list of wave numbers"),
        ({"phases": ["WARP"]}, "use a subset of"),
        ({"approval_mode": "sometimes"}, "use 'required' or 'automatic'"),
        ({"dry_run": "maybe"}, "pass true or false"),
        ({"opertion": "failover"}, "unknown run parameter 'opertion'"),
        ({"Operation": "drill", "operation": "failover"}, "disagree"),
    ],
)
def test_bad_run_parameters_are_named(plan, conf, words):
    with pytest.raises(RunRequestError) as caught:
        parse_run_request(plan, conf)
    assert words in str(caught.value)


def test_failover_mode_and_its_alias(plan):
    assert parse_run_request(plan, {"operation": "failover", "confirm": "acme/production"}).unplanned is False
    request = parse_run_request(plan, {"Operation": "failover", "Confirm": "acme/production", "FailoverMode": "unplanned"})
    assert request.unplanned and request.acting_as is Operation.FAILOVER
    with pytest.raises(RunRequestError, match="failover_mode='sideways': use 'planned'"):
        parse_run_request(plan, {"operation": "failover", "confirm": "acme/production", "failover_mode": "sideways"})
    with pytest.raises(RunRequestError, match="failover_mode=unplanned applies to failover and failback, not drill"):
        parse_run_request(plan, {"operation": "drill", "failover_mode": "unplanned"})


def test_reprotect_runs_only_the_deferred_phases_in_the_direction_it_completes(plan):
    request = parse_run_request(plan, {"operation": "reprotect", "confirm": "acme/production"})
    assert request.phases == (Phase.CLEANUP, Phase.REPLICATE) and request.acting_as is Operation.FAILOVER
    back = parse_run_request(plan, {"operation": "reprotect", "confirm": "acme/production", "Direction": "failback"})
    assert back.acting_as is Operation.FAILBACK
    with pytest.raises(RunRequestError, match="changes production: pass confirm"):
        parse_run_request(plan, {"operation": "reprotect"})
    with pytest.raises(RunRequestError, match="cannot be unplanned"):
        parse_run_request(plan, {"operation": "reprotect", "confirm": "acme/production", "failover_mode": "unplanned"})
    assert parse_run_request(plan, {"operation": "drill", "direction": "failback"}).reverse_drill
    with pytest.raises(RunRequestError, match="direction applies to operation=reprotect and drill only"):
        parse_run_request(plan, {"operation": "failover", "confirm": "acme/production", "direction": "failback"})
    with pytest.raises(RunRequestError, match="include at least one"):
        parse_run_request(plan, {"operation": "reprotect", "confirm": "acme/production", "phases": ["ACTIVATE"]})


def test_validation_timeout_comes_from_the_run_else_the_layer_else_five_minutes(plan):
    assert parse_run_request(plan, {}).validation_timeout(None) == 5
    assert parse_run_request(plan, {}).validation_timeout(0.5) == 0.5  # the layer's validationTimeoutMinutes
    request = parse_run_request(plan, {"validation_timeout_minutes": "0"})
    assert request.validation_timeout_minutes == 0 and request.validation_timeout(0.5) == 0  # 0: check once
    assert parse_run_request(plan, {"ValidationTimeoutMinutes": 12}).validation_timeout(None) == 12


@pytest.mark.parametrize("value", [-1, "soon", 721, True])
def test_a_bad_validation_timeout_says_what_to_pass(plan, value):
    with pytest.raises(RunRequestError, match=r"validation_timeout_minutes=.*pass a number of minutes from 0"):
        parse_run_request(plan, {"validation_timeout_minutes": value})
