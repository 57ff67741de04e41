"""Parse time: no AWS, network or database access; a worker builds only its task's DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from awssim.synthetic import write_manifests

from dr_adapters.orchestration import factory

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "manifests" / "acme-production.yaml"

# Runs in a fresh interpreter: every socket connection, name lookup and sqlite database open
# (Airflow's metadata database here) raises, from before Airflow is imported. Then the DAG
# processor's own parse step (load the file into a DagBag, serialize each DAG) over dags/.
ISOLATED_PARSE = r"""
import json, sys
BLOCKED = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto", "sqlite3.connect")
attempts = []
def refuse(event, args):
    if event in BLOCKED:
        attempts.append(f"{event} {args!r}"[:200])
        raise RuntimeError(f"parse-time access refused: {event}")
sys.addaudithook(refuse)
from pathlib import Path
import structlog
import airflow.dag_processing.processor as processor
from airflow.dag_processing.dagbag import BundleDagBag
dags_folder = Path(sys.argv[1])
bag = BundleDagBag(dag_folder=str(dags_folder / "dr_dags.py"), bundle_path=dags_folder, bundle_name="dags-folder",
                   load_op_links=False)
serialized, errors = processor._serialize_dags(bag, structlog.get_logger())
print(json.dumps({"dags": sorted(bag.dags), "import_errors": bag.import_errors, "serialized": len(serialized),
                  "serialize_errors": errors, "attempts": attempts}))
"""


def test_the_dag_folder_parses_with_no_network_and_no_database(tmp_path):
    manifests = tmp_path / "manifests"
    write_manifests(manifests, 20, resources=50, waves=5)
    # the demo with a gate before each ACTIVATE too: those gates serialize like the others
    (manifests / DEMO.name).write_text(DEMO.read_text().replace("\napprovalRequired: true\n",
                                                                "\napprovalRequired: true\napprovalBeforeActivate: true\n"))
    assert "approvalBeforeActivate" in (manifests / DEMO.name).read_text()
    env = {**os.environ, "DR_MANIFEST_DIR": str(manifests), "AIRFLOW_HOME": str(tmp_path / "home"),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'never-created.db'}"}
    done = subprocess.run([sys.executable, "-c", ISOLATED_PARSE, str(ROOT / "dags")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["attempts"] == [] and result["import_errors"] == {} and result["serialize_errors"] == {}
    assert len(result["dags"]) == result["serialized"] == 21 and "dr_acme_production" in result["dags"]
    assert not (tmp_path / "never-created.db").exists()


def test_a_worker_builds_and_validates_only_its_dag(tmp_path, monkeypatch):
    write_manifests(tmp_path, 6, resources=10, waves=2)
    loaded = []
    real_load = factory.load_manifest
    monkeypatch.setattr(factory, "load_manifest", lambda path: loaded.append(Path(path).name) or real_load(path))
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "dr_c0004_production")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "wave_1.instantiate")

    dags = factory.build_dags(tmp_path)

    assert list(dags) == ["dr_c0004_production"] and loaded == ["c0004-production.yaml"]


def test_a_worker_still_finds_a_dag_its_manifest_does_not_declare(tmp_path, monkeypatch):
    """The cheap look can be wrong (a broken manifest's DAG is dr_invalid_<file>): then every manifest is loaded."""
    write_manifests(tmp_path, 2, resources=10, waves=2)
    (tmp_path / "c0001-production.yaml").write_text((tmp_path / "c0000-production.yaml").read_text())  # same DAG id
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "dr_invalid_c0001_production")

    dags = factory.build_dags(tmp_path)

    assert list(dags) == ["dr_invalid_c0001_production"]
    assert "same customer and environment" in dags["dr_invalid_c0001_production"].doc_md
