"""The DR tag schema (SRS H.1): every bad tag named with the resource's ARN, the tag, its value and the fix."""

from __future__ import annotations

import pytest

from dr_adapters.sources.tags import parse_dr_tags, unknown_dependencies

ARN = "arn:aws:rds:eu-west-1:123456789012:cluster:orders"
GOOD = {"dr:enabled": "true", "dr:wave": "2", "Customer": "globex", "Environment": "staging"}


def test_a_well_tagged_resource():
    tags = parse_dr_tags(ARN, {**GOOD, "dr:priority": "Critical", "dr:recovery-strategy": "failover",
                               "dr:rto-target": "60", "dr:rpo-target": "5", "dr:health-check-url": "https://x/health",
                               "dr:dependencies": "vpc-core, orders-db"}, strategies=("switchover", "failover"))
    assert tags.problems == ()
    assert (tags.enabled, tags.wave, tags.priority, tags.recovery_strategy) == (True, 2, "critical", "failover")
    assert (tags.rto_minutes, tags.rpo_minutes, tags.dependencies) == (60, 5, ("vpc-core", "orders-db"))
    assert (tags.customer, tags.environment) == ("globex", "staging")


def test_missing_priority_is_low_and_not_enabled_is_out_of_scope():
    assert parse_dr_tags(ARN, GOOD).priority == "low"
    assert parse_dr_tags(ARN, {**GOOD, "dr:enabled": "yes"}).enabled is False


@pytest.mark.parametrize("tag, value, words", [
    ("dr:wave", "0", "not a wave number from 1 to 10"),
    ("dr:wave", "11", "not a wave number from 1 to 10"),
    ("dr:wave", "two", "not a wave number from 1 to 10"),
    ("dr:recovery-strategy", "teleport", "not a recovery strategy"),
    ("dr:rto-target", "-5", "not a whole number of minutes"),
    ("dr:health-check-url", "ftp://x", "not an http(s) URL"),
])
def test_each_bad_tag_is_an_error_naming_arn_tag_value_and_fix(tag, value, words):
    tags = parse_dr_tags(ARN, {**GOOD, tag: value}, strategies=("switchover", "failover"))
    (problem,) = tags.errors
    text = str(problem)
    assert problem.tag == tag and problem.value == value and words in problem.problem and problem.fix
    assert ARN in text and tag in text and repr(value) in text and " -- " in text


def test_a_missing_wave_is_an_error_for_an_enabled_resource():
    (problem,) = parse_dr_tags(ARN, {"dr:enabled": "true"}).errors
    assert problem.tag == "dr:wave" and "missing" in problem.problem


def test_an_invalid_priority_becomes_medium_with_a_warning():
    tags = parse_dr_tags(ARN, {**GOOD, "dr:priority": "urgent"})
    assert tags.priority == "medium" and tags.errors == []
    (warning,) = tags.warnings
    assert str(warning).startswith(f"warning: {ARN}: tag dr:priority='urgent'") and "critical, high, medium or low" in warning.fix


def test_a_strategy_on_a_technology_with_one_is_an_error():
    (problem,) = parse_dr_tags(ARN, {**GOOD, "dr:recovery-strategy": "failover"}).errors
    assert "absent" in problem.fix


def test_a_dependency_on_an_unknown_resource_is_named():
    found = {"orders-db": parse_dr_tags(ARN, GOOD),
             "orders-api": parse_dr_tags("arn:aws:ecs:eu-west-1:123456789012:service/web/orders-api",
                                         {**GOOD, "dr:dependencies": "orders-db,ghost-db"})}
    (problem,) = unknown_dependencies(found, names={})
    assert problem.arn.endswith("orders-api") and "'ghost-db'" in problem.problem and "dr:enabled=true" in problem.fix


def test_lists_take_the_separators_every_service_allows():
    # RDS, Lambda and ECS refuse commas in tag values: spaces and '+' separate lists too
    for value in ("vpc-core orders-db", "vpc-core+orders-db", "vpc-core, orders-db", " vpc-core  orders-db "):
        assert parse_dr_tags("arn:aws:ecs:eu-west-1:1:service/c/s", {**GOOD, "dr:dependencies": value}).dependencies \
            == ("vpc-core", "orders-db")
