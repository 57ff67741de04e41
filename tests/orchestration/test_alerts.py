"""What the alerts say, without a run (orchestration.alerts): a wave's health from its tasks' records, how
to clear just one unit, and the remediation a failed unit carries. The alerts on whole runs are in
test_dag_runs.py, test_safety_runs.py and test_who_did_what.py; under a real scheduler, in
tests/e2e/test_approval_alert.py."""

from __future__ import annotations

from dr_adapters.orchestration.alerts import MAX_LISTED, _remediation, clear_one_unit, wave_health


def validate(unit: str, *statuses: str, outcome: str = "succeeded") -> dict:
    return {"task": "wave_1.validate", "phase": "VALIDATE", "unit_id": unit, "outcome": outcome,
            "health": [{"resource_id": f"{unit}-{i}", "status": s, "reason": s.lower()} for i, s in enumerate(statuses)]}


def test_a_wave_is_as_healthy_as_its_least_healthy_resource():
    records = [{"task": "wave_1.activate", "phase": "ACTIVATE", "unit_id": "db", "outcome": "succeeded"},
               validate("db", "HEALTHY"), validate("api", "HEALTHY", "DEGRADED"),
               {"task": "wave_1.manual_dba", "phase": "VALIDATE", "unit_id": "dba", "title": "DBA checked",
                "decision": "confirmed", "responded_by": "dana", "outcome": "succeeded"}]
    health = wave_health(records)
    assert health["health"] == "DEGRADED" and health["counts"] == {"HEALTHY": 2, "DEGRADED": 1}
    assert health["resources"][0] == {"resource_id": "api-1", "status": "DEGRADED", "reason": "degraded"}
    assert health["units"] == 3 and health["failed_units"] == []
    assert health["manual_steps"] == [{"title": "DBA checked", "answer": "confirmed", "by": "dana"}]
    assert wave_health([validate("db", "UNHEALTHY", outcome="failed")])["failed_units"] == ["db"]
    assert wave_health([{"task": "t", "phase": "ACTIVATE", "unit_id": "x", "outcome": "succeeded"}])["health"] == (
        "NOT VALIDATED")  # a dry run, or ACTIVATE not selected


def test_a_large_wave_lists_the_worst_resources_first_and_counts_the_rest():
    many = validate("drs", *(["HEALTHY"] * (MAX_LISTED + 20) + ["UNHEALTHY"]), outcome="failed")
    health = wave_health([many])
    assert len(health["resources"]) == MAX_LISTED and health["resources_not_listed"] == 21
    assert health["resources"][0]["status"] == "UNHEALTHY"


def test_clearing_just_one_unit_with_what_it_blocked():
    mapped = clear_one_unit("dr_acme_production", "manual__1", "wave_2.instantiate_1", 3)
    assert mapped["rest"] == {"method": "POST", "path": "/api/v2/dags/dr_acme_production/clearTaskInstances", "body": {
        "dag_run_id": "manual__1", "dry_run": False, "task_ids": [["wave_2.instantiate_1", 3]],
        "include_downstream": True, "only_failed": True, "reset_dag_runs": True}}
    assert "map index 3 of wave_2.instantiate_1 -> Clear with Downstream ticked" in mapped["how"]
    assert "airflow dags clear dr_acme_production --run-id manual__1 --only-failed --yes" in mapped["how"]
    single = clear_one_unit("dr_acme_production", "manual__1", "preflight", -1)
    assert single["rest"]["body"]["task_ids"] == ["preflight"]


def test_a_failed_unit_carries_the_adapters_fix_when_it_gave_one():
    assert _remediation("orders-api: svc is out of scope: tag Customer='x' -- fix: fix its tags", False) == "fix its tags"
    assert "clear this unit" in _remediation("ThrottlingException: slow down", False)
    assert "mark it success" in _remediation("orders-api UNHEALTHY: 0 running", True)
