"""Deferrable waits: a task hands its botocore waiters (or its health checks) to the triggerer and holds
no worker slot.

The polling loop is the Amazon provider's ``async_wait``; botocore waiters are synchronous, so each
attempt runs in a thread. Spoke-account credentials are rebuilt here from the same connection and
role (the triggerer shares no memory with the worker).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.providers.amazon.aws.utils.waiter_with_logging import async_wait
from airflow.triggers.base import BaseTrigger, TriggerEvent

from dr_adapters.adapters.base import RunContext, Wait
from dr_adapters.aws.waiters import get_waiter
from dr_adapters.health import settled, unit_health
from dr_adapters.orchestration.aws_access import home_region, orchestrator_region, sessions_for
from dr_adapters.plan.model import WorkUnit, plan_from_dict
from dr_adapters.plan.types import Operation


def poll_seconds(wait: Wait) -> float:
    """The wait's own poll interval; DR_WAIT_POLL_SECONDS overrides it (the simulator answers in seconds)."""
    return float(os.environ.get("DR_WAIT_POLL_SECONDS") or wait.delay)


class _ThreadedWaiter:
    """Gives a botocore waiter the async ``wait`` that ``async_wait`` expects."""

    def __init__(self, waiter: Any):
        self._waiter = waiter

    async def wait(self, **kwargs: Any) -> None:
        await asyncio.to_thread(self._waiter.wait, **kwargs)


class AwsWaitTrigger(BaseTrigger):
    def __init__(self, waits: list[dict[str, Any]], plan: dict[str, Any], run_id: str, aws_conn_id: str):
        super().__init__()
        self.waits = waits
        self.plan = plan
        self.run_id = run_id
        self.aws_conn_id = aws_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__name__}",
            {"waits": self.waits, "plan": self.plan, "run_id": self.run_id, "aws_conn_id": self.aws_conn_id},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # STS through the region being waited on: it answers, or the wait could not go on anyway.
        sessions = await asyncio.to_thread(sessions_for, plan_from_dict(self.plan), self.run_id, self.aws_conn_id,
                                           home_region=home_region(self.waits[0]["region"]))
        for data in self.waits:
            wait = Wait.from_dict(data)
            try:
                client = await asyncio.to_thread(sessions.client, wait.service, wait.region, wait.account_id)
                await async_wait(
                    waiter=_ThreadedWaiter(get_waiter(client, wait.waiter)),
                    waiter_delay=poll_seconds(wait),
                    waiter_max_attempts=wait.max_attempts,
                    args=wait.args,
                    failure_message=f"AWS reports failure while waiting: {wait.description}",
                    status_message=wait.description,
                    status_args=[],
                )
            except Exception as exc:  # reported to the task, which fails with it
                yield TriggerEvent({"status": "error", "wait": wait.description, "message": str(exc)})
                return
        yield TriggerEvent({"status": "success", "waited_for": [w["description"] for w in self.waits]})


def health_poll_seconds() -> float:
    """How often a wave's validation re-checks while it waits for health (DR_HEALTH_POLL_SECONDS, default 15)."""
    return float(os.environ.get("DR_HEALTH_POLL_SECONDS") or 15)


class HealthWaitTrigger(BaseTrigger):
    """Re-checks a work unit's health in the triggerer until it is settled (every resource HEALTHY, or in a
    state waiting cannot change) or ``deadline`` passes; the task resumes with the last checks.

    The checks are the validate task's own (the adapter's ``validate`` and the ``healthCheckUrl``s), run
    in a thread: botocore and urllib are synchronous. A check that raises counts as UNHEALTHY for that
    round (AWS throttling, a URL timing out) and the wait goes on."""

    def __init__(self, plan: dict[str, Any], unit: dict[str, Any], run: dict[str, Any], run_id: str,
                 aws_conn_id: str, deadline: str, interval: float, stand_down_key: str | None = None):
        super().__init__()
        self.stand_down_key = stand_down_key  # a drill's: the Variable that asks it to give way (preemption)
        self.plan = plan
        self.unit = unit
        self.run_params = run  # operation (the one adapters act out), unplanned, reverse_drill
        self.run_id = run_id
        self.aws_conn_id = aws_conn_id
        self.deadline = deadline
        self.interval = interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__name__}",
            {"plan": self.plan, "unit": self.unit, "run": self.run_params, "run_id": self.run_id,
             "aws_conn_id": self.aws_conn_id, "deadline": self.deadline, "interval": self.interval,
             "stand_down_key": self.stand_down_key},
        )

    def _context(self) -> RunContext:
        plan = plan_from_dict(self.plan)
        operation = Operation(self.run_params["operation"])
        return RunContext(
            operation=operation, regions=plan.regions, scope=plan.scope,
            aws=sessions_for(plan, self.run_id, self.aws_conn_id, home_region=orchestrator_region(plan, operation)),
            rpo_minutes=plan.rpo_minutes, run_id=self.run_id, log=self.log,
            unplanned=bool(self.run_params.get("unplanned")), reverse_drill=bool(self.run_params.get("reverse_drill")),
        )

    async def _asked_to_stand_down(self) -> dict[str, Any] | None:
        from asgiref.sync import sync_to_async
        from airflow.sdk import Variable

        try:
            found = await sync_to_async(Variable.get)(self.stand_down_key, default=None, deserialize_json=True)
        except Exception:  # noqa: BLE001 - unreadable now: asked again at the next check
            self.log.warning("cannot read whether this drill must stand down", exc_info=True)
            return None
        return found if isinstance(found, dict) else None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        unit = WorkUnit.from_dict(self.unit)
        deadline = datetime.fromisoformat(self.deadline)
        ctx: RunContext | None = None
        rounds = 0
        while True:
            rounds += 1
            if self.stand_down_key and (asked := await self._asked_to_stand_down()):
                yield TriggerEvent({"status": "stand_down", "request": asked, "rounds": rounds - 1})
                return
            try:
                ctx = ctx or await asyncio.to_thread(self._context)
                checks = await asyncio.to_thread(unit_health, ctx, unit)
            except Exception as exc:  # noqa: BLE001 - a failed check is not yet healthy; the deadline decides
                checks = [{"resource_id": rid, "status": "UNHEALTHY", "reason": f"health check failed: "
                           f"{type(exc).__name__}: {exc}"} for rid in unit.resource_ids]
            left = (deadline - datetime.now(timezone.utc)).total_seconds()
            if settled(checks) or left <= 0:
                yield TriggerEvent({"status": "settled" if settled(checks) else "timeout", "checks": checks,
                                    "rounds": rounds})
                return
            waiting = ", ".join(f"{c['resource_id']} {c['status']}" for c in checks if c["status"] != "HEALTHY")
            self.log.info("not healthy yet (%s); checking again in %.0fs, %.0fs left", waiting,
                          min(self.interval, left), left)
            await asyncio.sleep(min(self.interval, left))
