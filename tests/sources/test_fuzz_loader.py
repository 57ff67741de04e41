"""Fuzzing the manifest loader: whatever the input, it answers a manifest or its own ManifestError."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dr_adapters.sources.loader import ManifestError, parse_text, validate_data

ROOT = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
json_like = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                         max_leaves=20)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def accepts_or_explains(data, source="fuzz.yaml"):
    try:
        validate_data(data, source)
    except ManifestError as exc:
        assert source in str(exc) and exc.problems


@FUZZ
@given(json_like)
def test_any_data(data):
    accepts_or_explains(data)


@FUZZ
@given(st.text(max_size=200))
def test_any_text(text):
    for source in ("fuzz.yaml", "fuzz.json"):
        try:
            accepts_or_explains(parse_text(text, source), source)
        except ManifestError as exc:
            assert source in str(exc)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


ALL_PATHS = [p for p in paths(DEMO) if p]


@FUZZ
@given(st.sampled_from(ALL_PATHS), json_like)
def test_the_demo_manifest_with_one_value_replaced(path, value):
    data = copy.deepcopy(DEMO)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    accepts_or_explains(data)
