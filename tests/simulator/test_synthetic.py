"""Synthetic estates: valid manifests of the asked size, deterministic, and seedable in the simulator."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml
from awssim.kits import all_kits
from awssim.synthetic import synthetic_manifest, write_manifests

from dr_adapters.sources.loader import load_manifest, validate_data
from dr_adapters.sources.planner import build_plan

SHARED = [kit for kit in all_kits() if kit.share > 0]  # the kits synthetic estates take (Kit.share > 0)


@pytest.mark.parametrize("resources, waves", [(len(SHARED), 1), (50, 5), (1000, 5)])  # the fewest: one per kit
def test_manifests_validate_with_the_asked_size(resources, waves):
    plan = build_plan(validate_data(synthetic_manifest("c0007", resources, waves), "synthetic"), "synthetic")
    assert len(plan.resources) == resources and len(plan.waves) == waves
    actions = Counter(r.action for r in plan.resources.values())
    assert set(actions) == {kit.actions[0] for kit in SHARED}  # every technology with a share, through its kit
    # DRS allows 300 replicating servers per account and region: the mix stays within it
    drs = Counter(r.account_id for r in plan.resources.values() if r.action == "DRS")
    assert max(drs.values()) <= 300


def test_written_manifests_are_deterministic_and_distinct(tmp_path):
    first = write_manifests(tmp_path / "a", 3, resources=12, waves=3)
    again = write_manifests(tmp_path / "b", 3, resources=12, waves=3)
    assert [p.read_text() for p in first] == [p.read_text() for p in again]
    plans = [build_plan(load_manifest(p), str(p)) for p in first]
    assert len({p.dag_id for p in plans}) == 3
    servers = [r.config["sourceServerId"] for p in plans for r in p.resources.values() if r.action == "DRS"]
    assert len(servers) == len(set(servers))  # customers never share a server, zone or cluster id
    assert yaml.safe_load(first[0].read_text())["customer"] == "c0000"


@pytest.mark.parametrize("args, message", [
    (("Acme Corp", 10, 2), "synthetic customers are lower-case letters"),
    (("c0001", len(SHARED) - 1, 1), f"needs at least {len(SHARED)}"),
    (("c0001", 10, 11), "waves=11"),
])
def test_bad_arguments_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        synthetic_manifest(*args)


def test_seeded_estates_serve_from_the_primary_region(aws, tmp_path):
    from awssim.seed import plan_sessions, seed_manifests
    from awssim.snapshot import serving_roles

    write_manifests(tmp_path, 2, resources=10, waves=2)
    assert seed_manifests(tmp_path) == ["dr_c0000_production", "dr_c0001_production"]
    for path in sorted(tmp_path.iterdir()):
        plan = build_plan(load_manifest(path), str(path))
        roles = serving_roles(plan, plan_sessions(plan))
        assert len(roles) == 10
        assert all(roles[r]["writer"] == "primary" for r in roles if "-db-" in r)
        assert all(roles[r] == {"replicating_into": [("dr", True)]} for r in roles if "-srv-" in r)


def test_any_customer_name_and_regions(aws):
    """Not only c<digits> in us-east-1: another name, Europe -> Asia-Pacific, seeded and serving."""
    from awssim.seed import plan_estate, seed_estate
    from awssim.snapshot import serving_sides

    regions = {"primary": "eu-central-1", "dr": "ap-northeast-1"}
    plan = build_plan(validate_data(synthetic_manifest("initech", 12, 3, regions), "synthetic"), "synthetic")
    assert plan.regions.primary == "eu-central-1" and plan.sns_topic_arn.split(":")[3] == "ap-northeast-1"
    seed_estate(plan)
    assert set(serving_sides(plan, plan_estate(plan)).values()) == {"primary"}
