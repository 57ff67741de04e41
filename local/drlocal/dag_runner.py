"""Run a DR DAG in this process with ``dag.test`` and answer its approval gates.

For the demo, the test suite and anyone trying the product without a scheduler. Gates are
answered exactly as the HITL REST endpoint answers them (the response is written to the gate's
HITL detail and the parked task is resumed), so the run records who approved and when.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Decision = Callable[[str], str | None]  # gate task_id -> "Approve" / "Reject" / None (leave waiting)


def respond_to_gate(dag_id: str, run_id: str, task_id: str, option: str, user: str) -> bool:
    """Answer one waiting gate; False if it is not waiting (yet)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from airflow.utils import timezone
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id
            )
        )
        if ti is None or ti.state != TaskInstanceState.AWAITING_INPUT:
            return False
        detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
        if detail is None or detail.response_received:
            return False
        detail.responded_by = {"id": user, "name": user}
        detail.responded_at = timezone.utcnow()
        detail.chosen_options = [option]
        detail.params_input = {}
        session.add(detail)
        handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
    log.info("%s answered %s on %s", user, option, task_id)
    return True


class _SweepHost:
    log = log


def sweep_gate_timeouts() -> None:
    """What the scheduler does every ``trigger_timeout_check_interval``: resume the gates whose HITL
    response timeout has passed (the approval-overdue alert, see ``gates``). ``dag.test`` runs no
    scheduler, so the local runner does it with the scheduler's own code."""
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    SchedulerJobRunner.check_awaiting_input_timeouts(_SweepHost(), max_retries=1)  # type: ignore[arg-type]


class GateAnswerer(threading.Thread):
    """Watches a run's gates and answers each one as ``decide(task_id)`` says; also does the
    scheduler's sweep of gates whose alert interval has passed."""

    def __init__(self, dag_id: str, decide: Decision, user: str = "demo-approver", delay: float = 0.5):
        super().__init__(daemon=True, name="gate-answerer")
        self.dag_id = dag_id
        self.decide = decide
        self.user = user
        self.delay = delay
        self.answered: list[tuple[str, str]] = []
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import select

        while not self._halt.wait(self.delay):
            try:
                sweep_gate_timeouts()
                with create_session() as session:
                    waiting = session.execute(
                        select(TaskInstance.run_id, TaskInstance.task_id).where(
                            TaskInstance.dag_id == self.dag_id, TaskInstance.state == TaskInstanceState.AWAITING_INPUT
                        )
                    ).all()
                for run_id, task_id in waiting:
                    option = self.decide(task_id)
                    if option and respond_to_gate(self.dag_id, run_id, task_id, option, self.user):
                        self.answered.append((task_id, option))
            except Exception:  # noqa: BLE001 - a busy sqlite database: try again next tick
                log.debug("gate answerer retrying", exc_info=True)


def run_dag(dag: Any, conf: dict[str, Any], *, decide: Decision | None = None, user: str = "demo-approver",
            mark_success_pattern: str | None = None) -> Any:
    """``dag.test`` with gates answered by ``decide`` (default: approve every gate)."""
    # Imported here, before the answerer's thread does it: two threads importing airflow's models at once (the
    # answerer's sweep, dag.test's first queries) can deadlock on Python's import locks, and the run hangs.
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner  # noqa: F401

    answerer = GateAnswerer(dag.dag_id, decide or (lambda task_id: "Approve"), user=user)
    answerer.start()
    started = time.monotonic()
    try:
        return dag.test(run_conf=conf, mark_success_pattern=mark_success_pattern)
    finally:
        answerer.stop()
        log.info("run of %s took %.1fs; gates answered: %s", dag.dag_id, time.monotonic() - started, answerer.answered)
