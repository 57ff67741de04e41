"""Helpers for whole runs of the demo DAG (dag.test): run, end state, report; Airflow's REST API and CLI
to clear a run, and the scheduler's part after a clear."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import yaml

CONFIRM = "acme/production"
SPOKE = "222222222222"
DEMO = yaml.safe_load((Path(__file__).resolve().parents[2] / "include" / "manifests" / "acme-production.yaml").read_text())


def demo_resource(rid: str, **changes) -> dict:
    """A resource of the demo manifest, with ``changes`` to its entry."""
    found = next(r for layer in DEMO["layers"] for r in layer["resources"] if r["resourceId"] == rid)
    return {**found, **changes}


def write_demo_subset(folder: Path, layers: dict[str, list[dict]], **header) -> Path:
    """A manifest of the demo's header (plus ``header``) with these layers (waves, in order: id -> resources),
    in ``folder``. The rest of the demo estate, seeded whole by the ``estate`` fixture, is tagged too: not
    such a test's matter."""
    data = {k: v for k, v in DEMO.items() if k != "layers"}
    data["unprotectedResources"] = "ignore"
    data["layers"] = [{"layerId": layer_id, "priority": n, "resources": resources}
                      for n, (layer_id, resources) in enumerate(layers.items(), start=1)]
    data.update(header)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "acme-production.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def demo_subset_dag(folder: Path, monkeypatch, layers: dict[str, list[dict]], **header):
    """The DAG of ``write_demo_subset``; the DAG folder builds it too (dag.test stores what the DAG folder
    parses to, and the REST API acts on that)."""
    from dr_adapters.orchestration.factory import build_dags

    write_demo_subset(folder, layers, **header)
    monkeypatch.setenv("DR_MANIFEST_DIR", str(folder))
    return build_dags(folder)["dr_acme_production"]


def run(dag, conf, **kwargs):
    from drlocal.dag_runner import run_dag

    dag_run = run_dag(dag, conf, **kwargs)
    return dag_run, states_of(dag_run)


def states_of(dag_run) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}


def report_of(dag_run) -> dict:
    return json.loads((report_folder(dag_run) / "report.json").read_text())


def report_in_xcom(dag_run) -> dict:
    """The report as the report task left it in the metadata database (XCom ``report``)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids="report",
                                                 key="report")).first()
        assert row is not None, f"no report in XCom for {dag_run.run_id}"
        return XComModel.deserialize_value(row)


def xcom_of(dag_run, task_id: str, key: str, map_index: int = -1):
    """What a task of the run left in XCom under ``key`` (None if nothing)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id,
                                                 map_indexes=map_index, key=key)).first()
        return XComModel.deserialize_value(row) if row is not None else None


def report_folder(dag_run):
    from dr_adapters.report.render import report_dir

    return report_dir() / dag_run.dag_id / dag_run.run_id.replace(":", "_").replace("+", "_")


def recovery_instances(session: boto3.Session, region: str) -> list[dict]:
    return session.client("drs", region_name=region).describe_recovery_instances(filters={})["items"]


def rest_api(user: str = "oncall"):
    """Airflow's public REST API (the API server's own app, in this process, on the test database),
    signed in as ``user``: what a script calling the API server gets."""
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    app = create_app("core")
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=user, role="admin"))
    return TestClient(app, base_url="http://localhost", headers={"Authorization": f"Bearer {token}"})


def airflow_cli(command: str) -> str:
    """Run an ``airflow ...`` command line as printed (its own process, on the test database)."""
    import os
    import shlex
    import subprocess
    import sys

    argv = shlex.split(command)
    assert argv[0] == "airflow", command
    done = subprocess.run([sys.executable, "-m", "airflow", *argv[1:]], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def resume(dag, dag_run, *, decide=None, user: str = "demo-approver"):
    """The scheduler's part after a clear: start the re-queued run and run its tasks until it ends.

    The loop of ``dag.test`` (which cannot resume an existing run: it clears every task of its
    logical date first), on the same DAG run, with the same in-process task runner."""
    import time

    from airflow import settings
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils import timezone
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    from drlocal.dag_runner import GateAnswerer, default_decision

    answerer = GateAnswerer(dag.dag_id, decide or default_decision, user=user)
    answerer.start()
    session = settings.Session()
    try:
        dr = session.scalar(select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.run_id == dag_run.run_id))
        dr.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        dr.state, dr.start_date = DagRunState.RUNNING, dr.start_date or timezone.utcnow()
        session.commit()
        while dr.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = dr.update_state(session=session)
            for ti in schedulable:
                if ti.state != TaskInstanceState.UP_FOR_RESCHEDULE:
                    ti.try_number += 1
                ti.state, ti.scheduled_dttm = TaskInstanceState.SCHEDULED, timezone.utcnow()
            session.commit()
            scheduled = [ti for ti in dr.get_task_instances(session=session) if ti.state == TaskInstanceState.SCHEDULED]
            if not scheduled:
                time.sleep(0.5)
            for ti in scheduled:
                try:
                    _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
                except Exception:  # noqa: BLE001 - a failed task is a state, as in dag.test
                    pass
        return dr
    finally:
        session.close()
        answerer.stop()
