"""Import from the DR Orchestrator Framework: its payloads become a manifest that validates once the
listed placeholders are filled; nothing it cannot map is dropped silently."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dr_adapters.sources import dof
from dr_adapters.sources.loader import ManifestError, validate_data

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ROOT / "tests" / "fixtures" / "dof"
SCOPE = {"customer": "initech", "environment": "production", "primary": "us-east-1", "dr": "us-west-2"}


def load(*names: str) -> list[tuple[str, dict]]:
    return [(name, json.loads((PAYLOADS / name).read_text())) for name in names]


def fill(data: dict, imported: dof.Imported) -> dict:
    """What the user does with the list: a real value for every placeholder."""
    text = json.dumps(data)
    for n, value in enumerate(sorted({p.split(": ", 1)[1].rsplit(" (from ", 1)[0] for p in imported.placeholders})):
        text = text.replace(json.dumps(value), json.dumps(f"filled-{n}"))
    return json.loads(text)


@pytest.mark.parametrize("names", [("failover-planned.json", "failback.json"), ("failover-unplanned.json",),
                                   ("failover-planned.json",), ("failback.json",)])
def test_each_documented_payload_becomes_a_manifest_that_validates_once_filled(names):
    imported = dof.import_payloads(load(*names), **SCOPE)
    data = imported.manifest
    supported = {t for t, m in dof.TYPES.items()}
    kinds = {r["resourceType"] for _, p in load(*names) for layer in p["StatePayload"] for r in layer["resources"]}
    assert [p for p in imported.problems if "has no equivalent" in p] == [
        p for p in imported.problems if any(f"'{k}'" in p for k in kinds - supported)]
    if not data["layers"]:
        return
    if imported.placeholders:
        with pytest.raises(ManifestError, match="is a placeholder"):
            validate_data(data, "imported.yaml")
    manifest = validate_data(fill(data, imported), "imported.yaml")
    assert [layer.priority for layer in manifest.layers] == sorted({p["layer"] for _, x in load(*names)
                                                                    for p in x["StatePayload"]})


def test_failover_and_failback_of_one_database_are_one_entry_keeping_its_layer():
    imported = dof.import_payloads(load("failover-planned.json", "failback.json"), **SCOPE)
    aurora = [r for layer in imported.manifest["layers"] for r in layer["resources"] if r["action"] == "AuroraMySQL"]
    assert len(aurora) == 1
    config = aurora[0]["config"]
    assert config["mode"] == "switchover"
    assert config["globalClusterIdentifier"] == "!Import dr-globaldb-cluster-mysql-global-identifier"
    assert config["primaryClusterIdentifier"] == "!Import dr-globaldb-cluster-mysql-cluster-name"  # from the failback
    assert config["drInstanceClass"] == "db.r6g.large"
    placeholders = "\n".join(imported.placeholders)
    assert "config.globalClusterIdentifier: !Import dr-globaldb-cluster-mysql-global-identifier" in placeholders
    unmapped = "\n".join(imported.unmapped)
    for name in ("DBSubnetGroupName", "KmsKeyId", "MonitoringRoleArn"):
        assert f".parameters.{name} (CreateAuroraSecondaryDBCluster): no config key of AuroraMySQL" in unmapped


def test_an_unplanned_failover_keeps_its_engine_mode_and_names():
    imported = dof.import_payloads(load("failover-unplanned.json"), **SCOPE)
    (entry,) = imported.manifest["layers"][0]["resources"]
    assert entry["resourceId"] == "orders-global" and entry["config"]["mode"] == "failover"
    assert entry["config"]["drClusterIdentifier"] == "orders-usw2"
    assert entry["config"]["primaryClusterIdentifier"] == "<fill: the Aurora member cluster in us-east-1>"
    assert any("ClusterRegion" in u for u in imported.unmapped)


def test_cli_writes_the_manifest_with_what_is_left_to_do(tmp_path):
    out = tmp_path / "imported.yaml"
    done = subprocess.run([sys.executable, "-m", "dr_adapters", "import", "dof", str(PAYLOADS / "failover-unplanned.json"),
                           "--customer", "initech", "--environment", "production", "--regions", "us-east-1:us-west-2",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1, done.stderr  # written, with a placeholder to fill
    assert "1 placeholder(s) to fill" in done.stdout
    text = out.read_text()
    assert re.search(r"# placeholders to fill \(1\):\n#   layers\[0\].resources\[0\] \(orders-global\)"
                     r"\.config\.primaryClusterIdentifier: <fill: the Aurora member cluster in us-east-1>", text)
    filled = text.replace("<fill: the Aurora member cluster in us-east-1>", "orders-use1")
    assert validate_data(yaml.safe_load(filled), "filled.yaml").layers[0].resources[0].config.primary_cluster_identifier \
        == "orders-use1"


@pytest.mark.parametrize("payload, words", [
    ({"Layers": []}, "not a DR Orchestrator Framework payload"),
    ({"StatePayload": [{"layer": 0, "resources": []}]}, "StatePayload[0].layer: 0 is not a layer number"),
    ({"StatePayload": [{"layer": 1, "resources": ["x"]}]}, "StatePayload[0].resources[0]: not a resource"),
])
def test_a_payload_in_another_format_is_refused_naming_where(payload, words):
    with pytest.raises(dof.DofError, match=re.escape(words)):
        dof.import_payloads([("p.json", payload)], **SCOPE)


def test_an_unknown_resource_type_is_listed_not_dropped():
    payload = {"StatePayload": [{"layer": 2, "resources": [{"resourceType": "FailoverMainframe", "resourceName": "m",
                                                            "parameters": {}}]}]}
    imported = dof.import_payloads([("p.json", payload)], **SCOPE)
    assert imported.manifest["layers"] == []
    assert imported.problems == [f"p.json: StatePayload[0].resources[0]: resourceType 'FailoverMainframe' has no "
                                 f"equivalent here -- map it by hand (known: {', '.join(sorted(dof.TYPES))}) or remove it"]
