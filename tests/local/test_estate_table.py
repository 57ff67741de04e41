"""The estate table ``make demo`` prints: regions by name, wave order, no Python reprs."""

from __future__ import annotations

from awssim.seed import plan_estate, seed_estate
from awssim.snapshot import serving_roles
from awssim.synthetic import synthetic_manifest
from drlocal.estate_table import estate_table

from dr_adapters.sources.loader import validate_data
from dr_adapters.sources.planner import build_plan

REGIONS = {"primary": "eu-west-3", "dr": "ap-southeast-1"}


def test_a_seeded_estate_reads_as_a_table_of_serving_regions(aws):
    plan = build_plan(validate_data(synthetic_manifest("hooli", 12, 3, REGIONS), "synthetic"), "synthetic")
    seed_estate(plan)
    roles = serving_roles(plan, plan_estate(plan))
    lines = estate_table(plan, roles).splitlines()
    assert lines[0].split() == ["wave", "resource", "action", "account", "serving", "before"]
    rows = [line.split() for line in lines[2:]]
    assert [row[1] for row in rows] == [rid for w in plan.waves for rid in w.resource_ids]
    assert {row[-1] for row in rows} == {"eu-west-3"}
    assert not any(ch in "\n".join(lines) for ch in "{}[]'")

    # a server half-way (replicating neither way, as between a recovery and its reverse replication)
    # is named, not hidden
    half = dict(roles)
    first = next(row[1] for row in rows if row[2] == "DRS")
    half[first] = {"replicating_into": []}
    table = estate_table(plan, roles, half)
    assert f"{first} " in table and "half-way (check it)" in table
    assert table.splitlines()[-1] == f"1 of {len(rows)} resources changed serving region"
