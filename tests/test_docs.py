"""The docs tell a new user what the code does: generated sections stay in step, cited tests exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dr_adapters.cli import ACTIONS_END, ACTIONS_START, actions_reference
from dr_adapters.plan.run_request import ALIASES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CITED = re.compile(r"`?(tests/[\w/]+\.py)::(\w+)")


def test_action_reference_is_current():
    block = README.split(ACTIONS_START, 1)[1].split(ACTIONS_END, 1)[0]
    assert block.strip() == actions_reference().strip(), "run `make docs` to regenerate the README action reference"


def test_every_run_parameter_and_alias_is_documented():
    for name in set(ALIASES) | set(ALIASES.values()) - {"customer", "environment", "primary_region", "dr_region"}:
        assert f"`{name}`" in README, name


def test_the_two_commands_are_documented():
    assert "make demo" in README and "make test" in README


def functions_in(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


@pytest.mark.parametrize("doc", ["SECURITY.md", "BENCHMARKS.md"])
def test_every_cited_test_exists(doc):
    """A guarantee or figure is only as good as the test it names: each ``file::test`` must be one."""
    path = ROOT / doc
    if not path.exists():
        pytest.skip(f"{doc} not written yet")
    cited = CITED.findall(path.read_text())
    missing = [f"{f}::{t}" for f, t in cited if not (ROOT / f).exists() or t not in functions_in(ROOT / f)]
    assert cited and missing == [], f"{doc} cites tests that do not exist: {missing}"
