"""Run a DR DAG in this process with ``dag.test`` and answer its approval gates and manual steps.

For the demo, the test suite and anyone trying the product without a scheduler. Gates and manual
steps are answered exactly as the HITL REST endpoint answers them (the response is written to the
task's HITL detail and the parked task is resumed), so the run records who answered and when.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# task_id -> the option ("Approve" / "Reject" at a gate, "Done" / "Failed" at a manual step), or
# (option, who answers) to answer as someone else than the answerer's user, or None (leave waiting)
Decision = Callable[[str], "str | tuple[str, str] | None"]


def default_decision(task_id: str) -> str:
    """Approve every gate, confirm every manual step."""
    from dr_adapters.orchestration.manual_steps import DONE, is_manual_step_task

    return DONE if is_manual_step_task(task_id) else "Approve"


class NotARespondent(PermissionError):
    """The user is not among the task's assigned respondents: the HITL REST endpoint answers 403."""


def respond_to_gate(dag_id: str, run_id: str, task_id: str, option: str, user: str) -> bool:
    """Answer one waiting gate or manual step; False if it is not waiting (yet). Raises
    NotARespondent, and answers nothing, when the task names its respondents and ``user`` is not one
    (the check of the REST endpoint and of Airflow's base auth manager)."""
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
        assigned = {u["id"] for u in detail.assigned_users or []}
        if assigned and user not in assigned:
            raise NotARespondent(f"User={user} (id={user}) is not a respondent for the task.")
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
    """Watches a run's gates and manual steps and answers each one as ``decide(task_id)`` says, as
    ``user`` unless ``decide`` names who; also does the scheduler's sweep of those whose alert
    interval has passed."""

    def __init__(self, dag_id: str, decide: Decision, user: str = "demo-approver", delay: float = 0.5):
        # Imported here, in the caller's thread: imported first inside this thread, the scheduler's
        # module (which defines ORM models) can deadlock against the caller configuring SQLAlchemy's
        # mappers at the same moment (this thread holds the import lock, the caller the mapper lock).
        for module in ("airflow.jobs.scheduler_job_runner", "airflow.models.hitl", "airflow.models.taskinstance"):
            importlib.import_module(module)

        super().__init__(daemon=True, name="gate-answerer")
        self.dag_id = dag_id
        self.decide = decide
        self.user = user
        self.delay = delay
        self.answered: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str, str]] = []  # (task_id, option, user) refused as not a respondent
        self._halt = threading.Event()

    def start(self) -> None:
        # Import what the thread uses here, in the caller's thread. Imported first from the thread, the
        # scheduler's models take Python's import lock while they wait for SQLAlchemy's mapper lock,
        # which the caller's dag.test may hold while it imports the same models: both wait forever.
        for module in ("airflow.jobs.scheduler_job_runner", "airflow.models.hitl", "airflow.models.trigger",
                       "airflow.models.taskinstance", "airflow.triggers.base"):
            importlib.import_module(module)
        importlib.import_module("airflow.models").import_all_models()
        super().start()

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
                    answer = self.decide(task_id)
                    option, user = answer if isinstance(answer, tuple) else (answer, self.user)
                    try:
                        if option and respond_to_gate(self.dag_id, run_id, task_id, option, user):
                            self.answered.append((task_id, option))
                    except NotARespondent:
                        if (task_id, option, user) not in self.refused:
                            log.info("%s may not answer %s: refused", user, task_id)
                            self.refused.append((task_id, option, user))
            except Exception:  # noqa: BLE001 - a busy sqlite database: try again next tick
                log.debug("gate answerer retrying", exc_info=True)


def run_dag(dag: Any, conf: dict[str, Any], *, decide: Decision | None = None, user: str = "demo-approver",
            mark_success_pattern: str | None = None) -> Any:
    """``dag.test`` with gates and manual steps answered by ``decide`` (default: approve every gate,
    confirm every manual step)."""
    answerer = GateAnswerer(dag.dag_id, decide or default_decision, user=user)
    answerer.start()
    started = time.monotonic()
    try:
        return dag.test(run_conf=conf, mark_success_pattern=mark_success_pattern)
    finally:
        answerer.stop()
        log.info("run of %s took %.1fs; gates answered: %s", dag.dag_id, time.monotonic() - started, answerer.answered)
