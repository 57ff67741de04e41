"""The README tells a new user what the code does: generated sections stay in step."""

from __future__ import annotations

from pathlib import Path

from dr_adapters.cli import ACTIONS_END, ACTIONS_START, actions_reference
from dr_adapters.plan.run_request import ALIASES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_action_reference_is_current():
    block = README.split(ACTIONS_START, 1)[1].split(ACTIONS_END, 1)[0]
    assert block.strip() == actions_reference().strip(), "run `make docs` to regenerate the README action reference"


def test_every_run_parameter_and_alias_is_documented():
    for name in set(ALIASES) | set(ALIASES.values()) - {"customer", "environment", "primary_region", "dr_region"}:
        assert f"`{name}`" in README, name


def test_the_two_commands_are_documented():
    assert "make demo" in README and "make test" in README
