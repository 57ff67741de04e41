"""A failover never waits behind a drill (orchestration.preemption), through Airflow (dag.test) against the
simulator server.

dag.test runs one DAG run at a time in this process, so the *other* run of each scenario is played by the
test where Airflow would have it: its DagRun row (queued or running) and its registration, written as its
preflight writes them, or the failover's request to a drill to stand down, written while the drill waits
on AWS. The real interleaving of two runs under a scheduler is tests/e2e/test_standalone.py's.

* A drill asked to stand down while its DRS launch waits on AWS stops at its next step: its wave tasks
  after the wait are skipped, its CLEANUP terminates every drill instance (read back from the simulator),
  its report says "preempted by failover run ..." with what it cleaned up, and the run succeeds.
* A failover finding a live drill asks it to stand down and waits, deferred, until the drill run ends;
  its report names the drill run and how long it waited.
* A drill finding a live failover does not start (everything but preflight and report skipped, nothing
  launched), and says for whom it gave way.
* A failover finding another live failover stops in preflight naming it, with nothing changed.
"""

from __future__ import annotations

import threading
import time

import pytest
from awssim.drs import set_replication
from awssim.snapshot import serving_roles

from dag_run_helpers import CONFIRM, SPOKE, recovery_instances, report_of, run, xcom_of

pytestmark = pytest.mark.airflow

DAG_ID = "dr_acme_production"
FAILOVER = {"operation": "failover", "confirm": CONFIRM, "approval_mode": "automatic"}


def _no_guard_state() -> None:
    """No run guard Variable and no live run of the demo DAG: what a test starts from and leaves behind. Whole
    runs of other modules in this process leave theirs (a failover that did not succeed keeps its
    registration, rightly: cleared, it goes on)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Variable).filter(Variable.key.like("dr_%")).delete(synchronize_session=False)
        session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.state.in_(("queued", "running"))).update(
            {"state": "failed"}, synchronize_session=False)


@pytest.fixture(autouse=True)
def quick_guard(monkeypatch, airflow_db):
    monkeypatch.setenv("DR_PREEMPT_POLL_SECONDS", "0.5")
    _no_guard_state()
    yield
    _no_guard_state()


def stand_in_run(run_id: str, state: str = "running", run_type: str = "manual"):
    """The other run: a DagRun row of the demo DAG, as the scheduler has it while that run is active."""
    from airflow.models.dagrun import DagRun
    from airflow.utils import timezone
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(DagRun(dag_id=DAG_ID, run_id=run_id, run_type=run_type, state=state, conf={},
                           start_date=timezone.utcnow(), run_after=timezone.utcnow()))


def set_run_state(run_id: str, state: str) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id).update(
            {"state": state}, synchronize_session=False)


def put_variable(key: str, value: dict) -> None:
    """Straight into the metadata database. Not ``Variable.set``: while dag.test runs a task in this process,
    airflow.models' Variable talks through that task's supervisor channel, which a second thread corrupts."""
    import json

    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Variable).filter(Variable.key == key).delete(synchronize_session=False)
        session.add(Variable(key=key, val=json.dumps(value)))


def has_variable(key: str) -> bool:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(Variable.key).filter(Variable.key == key).first() is not None


def register(run_id: str, kind: str, operation: str) -> None:
    """What the other run's preflight wrote (preemption.register)."""
    from dr_adapters.orchestration.preemption import registration_key

    put_variable(registration_key(DAG_ID, kind, run_id), {"dag_id": DAG_ID, "run_id": run_id, "kind": kind,
                 "operation": operation, "registered_at": "2026-01-01T00:00:00+00:00"})


def guard_variables() -> list[str]:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        return sorted(k for (k,) in session.query(Variable.key).filter(Variable.key.like("dr_%")))


def drill_instances(sessions, region: str) -> list[dict]:
    """Drill recovery instances DRS still has, in both accounts (each one an EC2 instance left running)."""
    return [i for s in (sessions[None], sessions[SPOKE]) for i in recovery_instances(s, region) if i.get("isDrill")]


def running_drill_ec2(sessions, region: str, ids: set[str]) -> list[str]:
    found = []
    for s in (sessions[None], sessions[SPOKE]):
        for r in s.client("ec2", region_name=region).describe_instances()["Reservations"]:
            found += [i["InstanceId"] for i in r["Instances"] if i["InstanceId"] in ids
                      and i["State"]["Name"] not in ("terminated", "shutting-down")]
    return found


def test_a_drill_waiting_on_aws_stands_down_and_cleans_up(dag, estate):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from dr_adapters.orchestration.preemption import preemption_key

    plan, sessions = estate
    dr = plan.regions.dr
    before = serving_roles(plan, sessions)
    for account, session in ((plan.hub_account_id, sessions[None]), (SPOKE, sessions[SPOKE])):
        for server in session.client("drs", region_name=dr).describe_source_servers(filters={})["items"]:
            set_replication(account, dr, server["sourceServerID"], launch_seconds=6)  # the drill waits on AWS
    asked: dict[str, object] = {}
    launched: set[str] = set()  # the drill instances' EC2 ids, as seen while the drill ran
    drill_over = threading.Event()

    def failover_arrives() -> None:
        """Stands in for a failover's preflight: once a drill launch waits on AWS, ask the drill to give way."""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not drill_over.is_set():
            launched.update(i["ec2InstanceID"] for i in drill_instances(sessions, dr))
            if asked:
                time.sleep(0.3)
                continue
            jobs = sessions[None].client("drs", region_name=dr).describe_jobs(filters={})["items"]
            if any(j.get("status") != "COMPLETED" and j.get("type") == "LAUNCH" for j in jobs):
                with create_session() as session:
                    drill = session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.state == "running") \
                        .order_by(DagRun.id.desc()).first()
                    run_id = drill.run_id
                put_variable(preemption_key(DAG_ID, run_id), {
                    "drill_run_id": run_id, "by_run_id": "manual__failover-at-3am", "by_operation": "failover",
                    "requested_at": "2026-01-01T03:00:00+00:00"})
                asked.update(run_id=run_id, at=time.monotonic())
            time.sleep(0.3)

    watcher = threading.Thread(target=failover_arrives, daemon=True)
    watcher.start()
    dag_run, states = run(dag, {"operation": "drill"})
    drill_over.set()
    watcher.join(timeout=5)
    assert asked.get("run_id") == dag_run.run_id, "the drill never waited on a DRS launch"

    # It stopped at its next step: after the wait, nothing of the drill but its cleanup and report ran.
    assert dag_run.state == "success", states
    instantiate = {k: v for k, v in states.items() if k[0].startswith("wave_2.instantiate")}
    assert "success" in instantiate.values(), states  # the launch it waited for completed
    after_wait = {k: v for k, v in states.items()
                  if k[0].startswith(("wave_2.activate", "wave_2.validate", "approve_wave_3", "wave_3.",
                                      "approve_cleanup", "replicate"))}
    assert after_wait and set(after_wait.values()) == {"skipped"}, states
    assert {v for k, v in states.items() if k[0] == "cleanup"} == {"success"}, states
    for (task, index), state in after_wait.items():
        mark = xcom_of(dag_run, task, "skipped", index)
        assert mark and mark["reason"].startswith("preempted by failover run manual__failover-at-3am"), (task, mark)

    # No drill instance left: DRS has none, and the EC2 instances it launched are terminated.
    assert launched, "no drill instance was seen while the drill ran"
    assert drill_instances(sessions, dr) == [] and running_drill_ec2(sessions, dr, launched) == []
    assert serving_roles(plan, sessions) == before  # non-disruptive, even when stopped half-way

    # Its report says for whom it gave way, what it stopped and what its cleanup removed.
    report = report_of(dag_run)
    assert report["outcome"] == "preempted", report["outcome"]
    preempted = report["preempted"]
    assert preempted["by_run_id"] == "manual__failover-at-3am" and preempted["by_operation"] == "failover"
    assert preempted["message"].startswith("preempted by failover run manual__failover-at-3am")
    assert set(preempted["stopped"]) >= {task for task, _ in after_wait}, preempted  # and the units not launched
    removed = [c for unit in preempted["cleaned_up"] for c in unit["changes"]]
    assert "drs.terminate_recovery_instances" in removed, preempted["cleaned_up"]
    assert report["failures"] == []
    assert guard_variables() == []  # its registration and the request to it are gone


def test_a_failover_waits_for_the_drill_it_preempts(dag, estate):
    from dr_adapters.orchestration.preemption import registration_key

    plan, sessions = estate
    drill_run = "scheduled__2026-11-30T06:00:00+00:00"
    stand_in_run(drill_run, run_type="scheduled")
    register(drill_run, "drill", "drill")
    ended: dict[str, float] = {}

    def drill_cleans_up_and_ends() -> None:
        from dr_adapters.orchestration.preemption import preemption_key

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the drill notices the request at its next step ...
            if has_variable(preemption_key(DAG_ID, drill_run)):
                time.sleep(3)  # ... its cleanup takes a while ...
                set_run_state(drill_run, "success")  # ... then its report ends the run
                ended["at"] = time.monotonic()
                return
            time.sleep(0.2)

    ender = threading.Thread(target=drill_cleans_up_and_ends, daemon=True)
    ender.start()
    dag_run, states = run(dag, {**FAILOVER, "waves": [1], "phases": ["INSTANTIATE", "ACTIVATE"]})
    ender.join(timeout=5)
    assert ended, "the failover never asked the drill to stand down"
    assert dag_run.state == "success", states

    record = xcom_of(dag_run, "preflight", "record")
    assert record["guard"]["preempted"] == [{"run_id": drill_run, "operation": "drill"}]
    assert record["guard"]["drill_states"] == {drill_run: "success"}
    assert record["guard"]["waited_seconds"] >= 2.5
    assert record["findings"] and record["outcome"] == "succeeded"  # the checks ran after the wait
    report = report_of(dag_run)
    (drill,) = report["preempted_drills"]
    assert drill["run_id"] == drill_run and drill["waited_seconds"] >= 2.5
    assert drill["message"].startswith(f"preempted drill run {drill_run}: waited")
    assert report["outcome"] == "succeeded"
    assert serving_roles(plan, sessions)["orders-db"]["writer"] == "dr"  # wave 1 failed over after the wait
    assert registration_key(DAG_ID, "change", dag_run.run_id) not in guard_variables()


def test_a_drill_does_not_start_while_a_failover_runs(dag, estate):
    plan, sessions = estate
    failover_run = "manual__failover-already-running"
    stand_in_run(failover_run)
    register(failover_run, "change", "failover")
    before = serving_roles(plan, sessions)

    dag_run, states = run(dag, {"operation": "drill"})
    assert dag_run.state == "success", states
    ran = {k: v for k, v in states.items() if v != "skipped"}
    assert ran == {("preflight", -1): "success", ("report", -1): "success"}, ran
    assert drill_instances(sessions, plan.regions.dr) == [] and serving_roles(plan, sessions) == before

    report = report_of(dag_run)
    assert report["outcome"] == "preempted"
    assert report["preempted"]["by_run_id"] == failover_run and report["preempted"]["before_start"] is True
    assert "preempted by failover run manual__failover-already-running" in report["preempted"]["message"]
    assert report.get("cancelled") is None  # skipped by its guard, not by a person
    assert [k for k in guard_variables() if "drill" in k] == []


def test_a_failover_stops_while_another_failover_runs(dag, estate):
    plan, sessions = estate
    other = "manual__failback-in-progress"
    stand_in_run(other)
    register(other, "change", "failback")
    before = serving_roles(plan, sessions)

    dag_run, states = run(dag, FAILOVER)
    assert dag_run.state == "failed" and states[("preflight", -1)] == "failed", states
    assert serving_roles(plan, sessions) == before  # nothing changed
    record = xcom_of(dag_run, "preflight", "record")
    (problem,) = record["problems"]
    assert problem["resource_id"] == "run guard"
    assert f"failback run {other} is already changing this estate" in problem["message"]
    report = report_of(dag_run)
    assert report["failures"][0]["task"] == "preflight" and other in report["failures"][0]["error"]
    assert report["aws_changes"] == 0
    # the refused run holds nothing up; the other one's registration is still there
    assert len(guard_variables()) == 1
