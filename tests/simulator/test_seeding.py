"""``python -m awssim serve --seed <folder>`` seeds any manifest folder: every action, in the hub and
in spoke accounts, for any pair of regions (not only the demo's us-east-1 -> us-west-2).

moto keeps an Aurora global cluster on one regional backend and looked the source cluster up
there, so a global database outside us-east-1 could not be seeded (issue 9.1); every kind is seeded
twice here, once in the hub and once in a spoke, so a spoke-account Aurora is covered too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from awssim.kits import PRIMARY, all_kits
from awssim.seed import plan_estate, seed_manifests
from awssim.server import free_port
from awssim.snapshot import serving_roles, serving_sides
from awssim.synthetic import every_kit_manifest

from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan

REGION_PAIRS = [
    {"primary": "eu-west-1", "dr": "eu-central-1"},  # the pair the issue reported
    {"primary": "ap-southeast-1", "dr": "ap-northeast-1"},
    {"primary": "eu-west-2", "dr": "ap-south-1"},  # (MemoryDB Multi-Region exists in both)
    {"primary": "us-west-2", "dr": "us-east-1"},  # the demo's pair the other way round
]
ROOT = Path(__file__).resolve().parents[2]


def write_estate(folder: Path, customer: str, regions: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{customer}-production.yaml"
    path.write_text(yaml.safe_dump(every_kit_manifest(customer, regions, waves=5, spokes=2, copies=2),
                                   sort_keys=False))
    return path


@pytest.mark.parametrize("regions", REGION_PAIRS, ids=lambda r: f"{r['primary']}->{r['dr']}")
def test_every_action_seeds_in_hub_and_spokes_for_any_region_pair(aws, tmp_path, regions):
    path = write_estate(tmp_path / "manifests", "globex", regions)
    assert seed_manifests(tmp_path / "manifests") == ["dr_globex_production"]

    plan = build_plan(load_manifest(path), str(path))
    kinds = {kit.actions[0] for kit in all_kits()}
    spoke_actions = {r.action for r in plan.resources.values() if r.account_id != plan.hub_account_id}
    assert spoke_actions == kinds  # every technology has a resource in a spoke account, Aurora among them
    estate = plan_estate(plan)
    sides = serving_sides(plan, estate)
    assert sides == {rid: PRIMARY for rid in plan.resources}, serving_roles(plan, estate)
    aurora = [r for r in plan.resources.values() if r.action.startswith("Aurora")]
    roles = serving_roles(plan, estate)
    assert {roles[r.resource_id]["members"] for r in aurora} == {2}  # a member in each region, hub and spoke


def test_the_serve_command_seeds_a_folder_outside_the_demo_regions(tmp_path):
    """The command the README prints, as a process: it seeds, listens, and says so."""
    write_estate(tmp_path / "manifests", "umbrella", REGION_PAIRS[0])
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT / 'simulator'}",
           "AWSSIM_DELAY_SECONDS": "0", "HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "awssim", "serve", "--port", str(free_port()), "--seed",
                                str(tmp_path / "manifests")], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "listening on" in line or len(lines) > 200:
                break
        output = "".join(lines)
        assert "seeded the estates of 1 manifests" in output, output
        assert "listening on http://127.0.0.1:" in output, output
    finally:
        process.terminate()
        process.wait(timeout=30)
