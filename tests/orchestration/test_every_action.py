"""Every technology in one estate, through Airflow (dag.test) against the simulator server: a failover,
then a failback, returns every resource to its starting snapshot.

One resource per kit (so a new technology joins by having a kit), in four waves by the kits' rank
(databases and caches first, DNS last), half of them in the spoke account; Europe -> Asia-Pacific.
"""

from __future__ import annotations

import pytest
import yaml
from awssim.kits import DR, PRIMARY, all_kits
from awssim.seed import seed_estate
from awssim.snapshot import serving_roles, serving_sides
from awssim.synthetic import every_kit_manifest

from dag_run_helpers import run
from drlocal.estate_table import estate_table

pytestmark = pytest.mark.airflow

CUSTOMER = "vandelay"
REGIONS = {"primary": "eu-west-1", "dr": "ap-southeast-2"}
WAVES = 4


def test_every_action_fails_over_and_back_to_its_starting_snapshot(sim, monkeypatch, tmp_path):
    from dr_adapters.orchestration.factory import build_dags
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)
    sim.reset()
    path = tmp_path / f"{CUSTOMER}.yaml"
    path.write_text(yaml.safe_dump(every_kit_manifest(CUSTOMER, REGIONS, WAVES), sort_keys=False))
    monkeypatch.setenv("DR_MANIFEST_DIR", str(tmp_path))
    plan = build_plan(load_manifest(path), str(path))
    assert {r.action for r in plan.resources.values()} == {k.actions[0] for k in all_kits()}
    assert len(plan.waves) == WAVES
    estate = seed_estate(plan)
    before = serving_roles(plan, estate)
    assert set(serving_sides(plan, estate).values()) == {PRIMARY}

    dag_run, states = run(build_dags(tmp_path)[plan.dag_id], {"operation": "failover", "confirm": f"{CUSTOMER}/production"})
    assert str(dag_run.state) == "success", {k: s for k, s in states.items() if s != "success"}
    assert set(serving_sides(plan, estate).values()) == {DR}, serving_roles(plan, estate)
    table = estate_table(plan, before, serving_roles(plan, estate))  # what make demo prints
    assert f"{len(plan.resources)} of {len(plan.resources)} resources changed serving region" in table
    assert all(line.split()[-2:] == [REGIONS["primary"], REGIONS["dr"]] for line in table.splitlines()[2:-1])

    dag_run, states = run(build_dags(tmp_path)[plan.dag_id], {"operation": "failback", "confirm": f"{CUSTOMER}/production"})
    assert str(dag_run.state) == "success", {k: s for k, s in states.items() if s != "success"}
    assert serving_roles(plan, estate) == before
