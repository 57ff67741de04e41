"""DAG integrity: every manifest yields its DAG, shaped as SPEC 5; broken manifests never take others down."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dr_adapters.orchestration.factory import build_dags

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "manifests"


@pytest.fixture
def demo_dag():
    return build_dags(ROOT / "include" / "manifests")["dr_acme_production"]


def test_every_bundled_manifest_yields_its_dag():
    manifests = sorted((ROOT / "include" / "manifests").glob("*.y*ml"))
    dags = build_dags(ROOT / "include" / "manifests")
    assert len(dags) == len(manifests) >= 1
    assert all("invalid-manifest" not in d.tags for d in dags.values())


def test_demo_dag_shape(demo_dag):
    ids = set(demo_dag.task_ids)
    # preflight -> wave groups holding phase tasks -> gates -> cleanup -> replicate -> report
    assert {"preflight", "approve_wave_2", "approve_wave_3", "approve_cleanup", "cleanup", "replicate", "report"} <= ids
    assert {"wave_1.instantiate", "wave_1.activate", "wave_1.validate"} <= ids
    assert {"wave_2.instantiate_1", "wave_2.activate_1", "wave_2.instantiate_2", "wave_2.activate_2", "wave_2.validate"} <= ids
    assert "wave_3.activate" in ids and "wave_3.instantiate" not in ids  # Route 53 acts in ACTIVATE only
    down = lambda t: demo_dag.get_task(t).downstream_task_ids  # noqa: E731
    assert down("preflight") == {"wave_1.instantiate"}
    assert down("wave_1.validate") == {"approve_wave_2"}
    assert down("approve_wave_2") == {"wave_2.instantiate_1"}
    assert down("wave_3.validate") == {"approve_cleanup"}
    assert down("approve_cleanup") == {"cleanup"}
    assert down("cleanup") == {"replicate"}
    # then operation=rollback's own tasks, last wave first with a gate between two (preflight skips them in
    # any other run, and everything else in a rollback)
    # the report waits for both ends: the run's own chain decides the run's state, the other is skipped
    assert down("replicate") == {"rollback_wave_3.undo", "report"}
    assert down("rollback_wave_3.undo") == {"approve_rollback_wave_2"}
    assert down("approve_rollback_wave_2") == {"rollback_wave_2.undo"}
    assert down("rollback_wave_2.undo") == {"approve_rollback_wave_1"}
    assert down("rollback_wave_1.undo") == {"report"}
    assert demo_dag.get_task("rollback_wave_2.undo").expand_input.value["unit_id"] == \
        demo_dag.get_task("wave_2.activate_1").expand_input.value["unit_id"] + \
        demo_dag.get_task("wave_2.activate_2").expand_input.value["unit_id"]
    # the report runs whatever happened, even when a person cancels the run (a teardown is never skipped),
    # and its failure fails the run
    report = demo_dag.get_task("report")
    assert report.trigger_rule == "all_done_setup_success" and report.is_teardown and report.on_failure_fail_dagrun
    assert demo_dag.max_active_runs == 2  # a failover and the drill it preempts; preflight guards the rest
    assert demo_dag.task_group_dict.keys() >= {"wave_1", "wave_2", "wave_3"}


def test_phase_tasks_are_mapped_over_work_units(demo_dag):
    activate = demo_dag.get_task("wave_2.activate_1")
    ids = activate.expand_input.value["unit_id"]  # mapped over ids; the units are given once
    assert "drs-hub-batch1" in ids and "web-frontend" not in ids  # web-frontend waits for orders-api: step 2
    units = activate.partial_kwargs["units"]
    assert list(units) == ids and all(units[i]["unit_id"] == i for i in ids)
    assert len(units["drs-hub-batch1"]["resources"]) == 8


def test_params_render_the_trigger_form(demo_dag):
    params = demo_dag.params
    assert params["operation"] == "drill"  # a scheduled run can never fail anything over
    assert params.get_param("operation").schema["enum"] == ["failover", "failback", "drill", "readiness", "reprotect",
                                                           "rollback"]
    assert params["rollback_of"] is None  # a rollback undoes the latest failover/failback that did not succeed
    assert params["failover_mode"] == "planned"  # unplanned only when a person says the source is dark
    assert params.get_param("failover_mode").schema["enum"] == ["planned", "unplanned"]
    assert params["direction"] == "failover"
    assert params["approval_mode"] == "required"
    assert params["waves"] == "all" and params["dry_run"] is False
    assert "acme/production" in params.get_param("confirm").description
    assert demo_dag.timetable.expression == "0 6 * * 1"  # the manifest's scheduled drill


def test_unpausing_does_not_start_a_catch_up_drill(demo_dag):
    from datetime import datetime, timezone

    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = coerce_to_core_timetable(demo_dag.timetable)
    first = timetable.next_dagrun_info(last_automated_data_interval=None,
                                       restriction=TimeRestriction(earliest=demo_dag.start_date, latest=None, catchup=False))
    assert first.run_after > datetime.now(timezone.utc)  # the next Monday 06:00, not the last one


def test_broken_manifests_are_visible_and_do_not_stop_others(tmp_path):
    shutil.copy(ROOT / "include" / "manifests" / "acme-production.yaml", tmp_path)
    shutil.copy(FIXTURES / "valid-minimal.yaml", tmp_path)
    invalid = sorted((FIXTURES / "invalid").iterdir())
    for path in invalid:
        shutil.copy(path, tmp_path)
    dags = build_dags(tmp_path)
    assert "dr_acme_production" in dags and "dr_globex_staging" in dags
    assert "invalid-manifest" not in dags["dr_acme_production"].tags
    broken = [d for d in dags.values() if "invalid-manifest" in d.tags]
    assert len(broken) == len(invalid)
    cycle = next(d for d in broken if "dependency-cycle.yaml" in d.doc_md)
    assert "dependency cycle: a -> b -> a" in cycle.doc_md
    assert cycle.dag_id == "dr_acme_production" or cycle.dag_id.startswith("dr_invalid")


def test_manifests_are_found_inside_the_dags_folder_on_mwaa(tmp_path, monkeypatch):
    from dr_adapters.orchestration.factory import default_manifest_dir

    (tmp_path / "dags" / "include" / "manifests").mkdir(parents=True)
    monkeypatch.delenv("DR_MANIFEST_DIR")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "dags"))
    assert default_manifest_dir() == tmp_path / "dags" / "include" / "manifests"


def test_a_missing_manifest_folder_is_a_warning_not_silence(tmp_path, caplog):
    assert build_dags(tmp_path / "nowhere") == {}
    assert "is not a folder (set DR_MANIFEST_DIR)" in caplog.text


def test_a_tag_driven_scope_builds_from_its_snapshot_never_from_aws(tmp_path, monkeypatch):
    import yaml

    from dr_adapters.orchestration.factory import build_dags

    manifests = tmp_path / "include" / "manifests"
    manifests.mkdir(parents=True)
    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    snapshot = {**data, "discovery": {}, "inventory": {"discoveredAt": "2026-11-29T03:00:00+00:00",
                                                       "scope": "include/manifests/acme.yaml"}}
    scope = {k: v for k, v in data.items() if k != "layers"} | {"discovery": {}}
    (manifests / "acme.yaml").write_text(yaml.safe_dump(scope))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call at parse time would fail

    alone = build_dags(manifests)["dr_acme_production"]  # no snapshot yet: visible, saying what to do
    assert "invalid-manifest" in alone.tags and "run `python -m dr_adapters discover" in alone.doc_md

    (tmp_path / "include" / "inventory").mkdir()
    (tmp_path / "include" / "inventory" / "acme-production.yaml").write_text(yaml.safe_dump(snapshot))
    dags = build_dags(manifests)
    assert set(dags) == {"dr_acme_production"} and "invalid-manifest" not in dags["dr_acme_production"].tags
    assert "wave_3.validate" in dags["dr_acme_production"].task_ids


def test_a_gate_before_each_activate_sits_between_the_prewarm_and_the_switch(tmp_path):
    """approvalBeforeActivate: in each wave's TaskGroup, after the phases before ACTIVATE, before ACTIVATE;
    a layer may opt out. Each gate knows what follows it (the evidence it shows)."""
    import yaml

    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    data["approvalBeforeActivate"] = True
    data["layers"][0]["approvalBeforeActivate"] = False
    (tmp_path / "acme-production.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    dag = build_dags(tmp_path)["dr_acme_production"]
    down = lambda t: dag.get_task(t).downstream_task_ids  # noqa: E731
    assert "wave_1.approve_activate" not in dag.task_ids and down("wave_1.instantiate") == {"wave_1.activate"}
    # wave 2 has two dependency steps: the gate comes before the first switch, after the first prewarm
    assert down("wave_2.instantiate_1") == {"wave_2.approve_activate"}
    assert down("wave_2.approve_activate") == {"wave_2.activate_1"}
    # wave 3 (Route 53) prewarms nothing: its gate opens right after wave 3's own gate
    assert down("approve_wave_3") == {"wave_3.approve_activate"} and down("wave_3.approve_activate") == {"wave_3.activate"}
    gate = dag.get_task("wave_2.approve_activate")
    assert gate.before_activate and gate.next_wave == 2 and gate.completed_wave is None
    assert gate.prewarmed_wave["tasks"] == ["wave_2.instantiate_1"]
    assert {p for u in gate.next_units for p in u["phases"]} == {"ACTIVATE"}
    assert "drs-hub-batch1" in {u["unit_id"] for u in gate.next_units}
    # the report lists it among the gates, and a Continue unplanned answered there is found
    assert {"wave_2.approve_activate", "wave_3.approve_activate"} <= set(dag.get_task("report").gate_tasks)
    from dr_adapters.orchestration.operators import gate_task_ids
    from dr_adapters.plan.model import plan_from_dict

    assert gate_task_ids(plan_from_dict(gate.plan))[-2:] == ["wave_2.approve_activate", "wave_3.approve_activate"]
    # the gates between waves name what comes next too: the next wave's prewarm and switch, or the cleanup
    wave_gate = dag.get_task("approve_wave_2")
    assert {p for u in wave_gate.next_units for p in u["phases"]} == {"INSTANTIATE", "ACTIVATE"}
    cleanup = dag.get_task("approve_cleanup")
    assert {p for u in cleanup.next_units for p in u["phases"]} == {"CLEANUP", "REPLICATE"}
    assert all(u["wave"] in (1, 2, 3) for u in cleanup.next_units)
