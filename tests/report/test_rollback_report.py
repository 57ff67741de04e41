"""A rollback's report: which run it undid, each wave it undid (last first) and what it left as it was."""

from __future__ import annotations

from pathlib import Path

from dr_adapters.report.build import build_report
from dr_adapters.report.records import TaskRecord
from dr_adapters.report.render import render_text
from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]
T0 = "2026-01-01T00:00:00+00:00"


def test_the_report_names_the_run_undone_and_each_wave_undone_last_first():
    plan = build_plan(load_manifest(ROOT / "include" / "manifests" / "acme-production.yaml"))
    wave_2 = [u.unit_id for u in plan.waves[1].units]
    wave_1 = [u.unit_id for u in plan.waves[0].units]
    records = [TaskRecord(task="rollback_wave_2.undo", phase="ROLLBACK", wave=2, unit_id=u, started_at=T0,
                          ended_at="2026-01-01T00:01:00+00:00", outcome="succeeded", changes=[{"call": "x"}])
               for u in wave_2[:1]]
    records += [TaskRecord(task="rollback_wave_1.undo", phase="ROLLBACK", wave=1, unit_id=wave_1[0],
                           started_at="2026-01-01T00:02:00+00:00", ended_at="2026-01-01T00:03:00+00:00",
                           outcome="failed", error="boom", changes=[])]
    undo = {"of": "manual__fo", "operation": "failover", "outcome": "rejected",
            "waves": [{"number": 2, "units": wave_2[:1]}, {"number": 1, "units": wave_1}],
            "left": {"step-x": "a manual step: what a person did is undone by a person"}}
    report = build_report(plan, run_id="manual__rb", operation="rollback", dry_run=False, run_started_at=T0,
                          preflight=None, records=records, gates=[], failed_tasks=["rollback_wave_1.undo"],
                          ended_at="2026-01-01T00:04:00+00:00", rollback=undo)
    assert report["operation"] == "rollback" and report["outcome"] == "failed"
    rollback = report["rollback"]
    assert (rollback["of"], rollback["undid"], rollback["its_outcome"]) == ("manual__fo", "failover", "rejected")
    assert [(w["number"], w["outcome"]) for w in rollback["waves"]] == [(2, "succeeded"), (1, "failed")]
    assert rollback["waves"][1]["not_run"] == sorted(wave_1[1:])  # units listed but not reached (yet)
    assert report["aws_changes"] == 1
    assert {r["state"] for r in report["resources"] if r["resource_id"] in plan.waves[1].units[0].resource_ids} \
        == {"ROLLBACK succeeded"}
    text = render_text(report)
    assert "rolled back: manual__fo (failover, rejected)" in text
    assert f"FAILED {wave_1[0]}: boom" in text and "left as it is: step-x: a manual step" in text
