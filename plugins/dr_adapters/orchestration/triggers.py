"""Deferrable waits: a task hands its botocore waiters to the triggerer and holds no worker slot.

The polling loop is the Amazon provider's ``async_wait``; botocore waiters are synchronous, so each
attempt runs in a thread. Spoke-account credentials are rebuilt here from the same connection and
role (the triggerer shares no memory with the worker).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.amazon.aws.utils.waiter_with_logging import async_wait
from airflow.triggers.base import BaseTrigger, TriggerEvent

from dr_adapters.adapters.base import Wait
from dr_adapters.aws.waiters import get_waiter
from dr_adapters.orchestration.aws_access import home_region, sessions_for
from dr_adapters.plan.model import plan_from_dict


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
