"""What a rollback undoes (plan.rollback) and its run parameters: plain Python, no Airflow, no AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr_adapters.plan.rollback import NothingToRollBack, RunSummary, UndoPlan, choose_run, undo_plan
from dr_adapters.plan.run_request import RunRequestError, parse_run_request
from dr_adapters.plan.types import Operation
from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]
DAG = "dr_acme_production"


@pytest.fixture(scope="module")
def plan():
    return build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))


def summary(run_id, operation, outcome, started, **kw):
    return RunSummary(run_id=run_id, operation=operation, outcome=outcome, started_at=started, **kw)


def test_the_latest_failover_or_failback_is_undone_when_it_did_not_succeed():
    runs = [summary("fo1", "failover", "rejected", "2026-01-01T10:00:00+00:00"),
            summary("drill", "drill", "succeeded", "2026-01-02T10:00:00+00:00"),
            summary("dry", "failover", "succeeded", "2026-01-03T10:00:00+00:00", dry_run=True)]
    assert choose_run(runs, None, DAG).run_id == "fo1"  # drills and dry runs changed nothing: not the latest
    runs.append(summary("fo2", "failover", "failed", "2026-01-04T10:00:00+00:00"))
    assert choose_run(runs, None, DAG).run_id == "fo2"
    assert choose_run(runs, "fo1", DAG).run_id == "fo1"  # rollback_of names it


@pytest.mark.parametrize("runs, rollback_of, says", [
    ([], None, f"nothing to roll back: no failover or failback of {DAG} failed or was rejected"),
    ([summary("drill", "drill", "failed", "2026-01-01T10:00:00+00:00")], None, "no failover or failback"),
    ([summary("fo1", "failover", "failed", "2026-01-01T10:00:00+00:00"),
      summary("fo2", "failover", "succeeded", "2026-01-02T10:00:00+00:00")], None,
     f"the latest failover of {DAG} (fo2) succeeded -- to move back, run failback"),
    ([summary("fb", "failback", "succeeded", "2026-01-02T10:00:00+00:00")], "fb", "to move back, run failover"),
    ([summary("d", "drill", "failed", "2026-01-02T10:00:00+00:00")], "d", "d is operation=drill"),
    ([], "nope", "rollback_of='nope': no report of such a run"),
    ([summary("u", "failover", "failed", "2026-01-02T10:00:00+00:00", failover_mode="unplanned")], None,
     "finish it with operation=reprotect"),
])
def test_nothing_to_roll_back_says_why_and_what_to_do(runs, rollback_of, says):
    with pytest.raises(NothingToRollBack) as err:
        choose_run(runs, rollback_of, DAG)
    assert says in str(err.value)


def record(unit_id, phase, outcome="succeeded", wave=None, changes=None):
    return {"task": f"t-{phase}", "unit_id": unit_id, "phase": phase, "wave": wave, "outcome": outcome,
            "changes": changes or []}


def test_undo_plan_holds_the_units_the_run_started_last_wave_first(plan):
    run = summary("fo", "failover", "failed", "2026-01-01T10:00:00+00:00")
    wave_1, wave_2 = plan.waves[0].units, plan.waves[1].units
    records = [record(u.unit_id, "INSTANTIATE") for u in wave_1] + [record(u.unit_id, "ACTIVATE") for u in wave_1]
    records += [record(wave_2[0].unit_id, "INSTANTIATE", "failed"), record(wave_2[0].unit_id, "VALIDATE")]
    undo = undo_plan(plan, run, records)
    assert list(undo.waves) == [2, 1]
    assert undo.waves[2] == [wave_2[0].unit_id]  # its siblings never started: not touched
    assert undo.waves[1] == [u.unit_id for u in wave_1]
    assert undo.direction is Operation.FAILBACK and undo.undone_before(1) and not undo.undone_before(2)
    assert UndoPlan.from_dict(undo.to_dict()) == undo
    # a unit without an undo is listed as left, with why
    left = undo_plan(plan, run, records, lambda unit: "a runbook step" if unit.unit_id == wave_2[0].unit_id else None)
    assert list(left.waves) == [1] and left.left == {wave_2[0].unit_id: "a runbook step"}


def test_a_run_past_its_waves_or_that_changed_nothing_is_not_rolled_back(plan):
    run = summary("fo", "failover", "failed", "2026-01-01T10:00:00+00:00")
    unit = plan.waves[0].units[0].unit_id
    with pytest.raises(NothingToRollBack, match="got past its waves \\(CLEANUP ran\\).*run failback instead"):
        undo_plan(plan, run, [record(unit, "ACTIVATE"), record(unit, "CLEANUP", "failed", changes=[{"call": "x"}])])
    with pytest.raises(NothingToRollBack, match="changed nothing"):
        undo_plan(plan, run, [record(unit, "ACTIVATE", "skipped")])


def test_rollback_parameters(plan):
    request = parse_run_request(plan, {"operation": "rollback", "confirm": "acme/production"})
    assert request.operation is Operation.ROLLBACK and request.gates_wait and request.rollback_of is None
    named = parse_run_request(plan, {"Operation": "rollback", "Confirm": "acme/production", "RollbackOf": "manual__x"})
    assert named.rollback_of == "manual__x"
    with pytest.raises(RunRequestError, match="operation=rollback changes production: pass confirm='acme/production'"):
        parse_run_request(plan, {"operation": "rollback"})
    with pytest.raises(RunRequestError, match="cannot be unplanned"):
        parse_run_request(plan, {"operation": "rollback", "confirm": "acme/production", "failover_mode": "unplanned"})
    with pytest.raises(RunRequestError, match="rollback_of applies to operation=rollback only"):
        parse_run_request(plan, {"operation": "failover", "confirm": "acme/production", "rollback_of": "x"})
    with pytest.raises(RunRequestError, match="leave waves at 'all'"):
        parse_run_request(plan, {"operation": "rollback", "confirm": "acme/production", "waves": [1]})
