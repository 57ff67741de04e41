"""The loader's cheap look at a manifest: the DAG id it declares, without parsing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr_adapters.sources.loader import declared_dag_id

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_manifest_declares_its_dag():
    assert declared_dag_id(ROOT / "include" / "manifests" / "acme-production.yaml") == "dr_acme_production"


@pytest.mark.parametrize("text, expected", [
    ("customer: acme\nenvironment: staging\n", "dr_acme_staging"),
    ("customer: 'acme'   # quoted\nenvironment: \"production\"\n", "dr_acme_production"),
    ("customer: Big-Co\nenvironment: production\n", "dr_big_co_production"),
    # not certain: flow style, a key given twice, a nested key only, a value that is not a plain id
    ("{customer: acme, environment: production}\n", None),
    ("customer: acme\ncustomer: other\nenvironment: production\n", None),
    ("meta:\n  customer: acme\nenvironment: production\n", None),
    ("customer: &c acme\nenvironment: production\n", None),
    ("customer: acme\n", None),
])
def test_declared_dag_id_is_given_only_when_certain(tmp_path, text, expected):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    assert declared_dag_id(path) == expected


def test_json_and_unreadable_files_are_left_to_the_full_load(tmp_path):
    (tmp_path / "m.json").write_text('{"customer": "acme", "environment": "production"}')
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe customer: acme")
    assert declared_dag_id(tmp_path / "m.json") is None
    assert declared_dag_id(tmp_path / "bad.yaml") is None
    assert declared_dag_id(tmp_path / "missing.yaml") is None
