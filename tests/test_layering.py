"""Data flows one way: sources -> plan -> DAG factory -> operators -> adapters -> AWS.

Checked on the import statements of every module (static, so a lazy import inside a function counts):
the plan vocabulary imports nothing above it; adapters know AWS, nothing of Airflow or of where
plans come from; the simulator and its kits (the tests' oracle) never import an adapter or the
orchestrator; the package shipped as plugins.zip holds only the product.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "plugins" / "dr_adapters"


def imports(folder: Path) -> dict[str, set[str]]:
    """module file (relative to the repo) -> every module it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offending(folder: Path, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    return {module: sorted(n for n in names if n.startswith(forbidden))
            for module, names in imports(folder).items() if any(n.startswith(forbidden) for n in names)}


@pytest.mark.parametrize("layer, forbidden", [
    ("plan", ("dr_adapters.sources", "dr_adapters.adapters", "dr_adapters.orchestration", "dr_adapters.report",
              "dr_adapters.aws", "airflow", "boto3", "botocore")),
    ("adapters", ("dr_adapters.sources", "dr_adapters.orchestration", "dr_adapters.report", "airflow")),
    ("sources", ("dr_adapters.orchestration", "dr_adapters.report", "airflow")),
    ("report", ("dr_adapters.orchestration", "dr_adapters.adapters", "airflow")),
])
def test_each_layer_imports_nothing_above_it(layer, forbidden):
    assert offending(PACKAGE / layer, forbidden) == {}


def test_the_simulator_and_its_kits_never_import_an_adapter_or_the_orchestrator():
    assert offending(ROOT / "simulator", ("dr_adapters.adapters", "dr_adapters.orchestration", "drlocal")) == {}


def test_the_shipped_package_holds_only_the_product():
    assert offending(PACKAGE, ("awssim", "drlocal", "moto")) == {}
    assert not list(PACKAGE.rglob("local_run.py")) and not list(PACKAGE.rglob("demo.py"))
