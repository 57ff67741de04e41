"""Every try of a task instance, kept across Airflow's automatic retries and a person's clears.

The report is the run's evidence: it must show a failed attempt and its repair (which unit failed,
when, with what error, and that it was cleared), and measure RTO from the run's *first* start. Airflow
erases both: a task instance's XCom (where its ``record`` lives) is deleted when it runs again, and
clearing a finished run resets the run's ``start_date`` (and ``queued_at``) to the clear. Its own
history of tries (``task_instance_history``) is not readable from a worker, which talks only to the
execution API.

Airflow 3.3's task state store is: values kept per task instance across tries and clears (AIP-103,
``context["task_state_store"]``). Each try writes its record there, without its bulk, when it starts
(so a try whose worker was lost is still known) and again when it ends; and each try carries the
earlier ones in its own record (``earlier_tries``), which is how they reach the report. Nothing here
ever fails a task: without a store (an older runner), a record simply has no earlier tries.
"""

from __future__ import annotations

import logging
from typing import Any

from dr_adapters.report.records import TriedRecord

log = logging.getLogger(__name__)

KEY = "dr_tries"
# Left out of the copy kept per try: only the newest try's details matter, and the store is meant
# for small values (64 KB by default).
BULK = ("changes", "notes", "health", "findings", "earlier_tries")


def begin(context: Any, record: TriedRecord) -> None:
    """At the start of a try: stamp the record with the try, take the earlier tries onto it, and
    keep this one (still running) in the store."""
    ti, dag_run = context["ti"], context["dag_run"]
    record.try_number = getattr(ti, "try_number", None)
    record.clear_number = getattr(dag_run, "clear_number", None) or 0
    started = getattr(dag_run, "start_date", None)
    record.run_start_date = started.isoformat() if started else None
    store = context.get("task_state_store")
    kept: list[dict[str, Any]] = []
    if store is not None:
        try:
            kept = list(store.get(KEY) or [])
        except Exception:  # noqa: BLE001 - the report then lacks earlier tries; the task goes on
            log.warning("cannot read this task's earlier tries from the task state store", exc_info=True)
    record.earlier_tries = [t for t in kept if t.get("try_number") != record.try_number]
    keep(context, record)


def keep(context: Any, record: TriedRecord) -> None:
    """Save this try's record (as it is now) after the earlier ones."""
    store = context.get("task_state_store")
    if store is None:
        return
    summary = {k: v for k, v in record.to_dict().items() if k not in BULK}
    try:
        store.set(KEY, [*(record.earlier_tries or []), summary])
    except Exception:  # noqa: BLE001 - as in begin: never fail a DR task over its bookkeeping
        log.warning("cannot keep this try in the task state store", exc_info=True)
