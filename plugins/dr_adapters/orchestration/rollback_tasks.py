"""The tasks of ``operation=rollback``: per wave, highest first, one task mapped over the wave's units
that undoes what the undone run started (``Adapter.rollback``), moving back the other way.

They are the wave's phase task in all but what they call: the same records (phase ``ROLLBACK``), retries,
deferrable waits and failure alerts. A unit the undone run never reached skips; in any other operation
preflight skips them all in one step (and they skip themselves when cleared).
"""

from __future__ import annotations

from typing import Any

from dr_adapters.adapters.base import PhaseOutcome, RunContext
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.orchestration.operators import PhaseOperator, skip
from dr_adapters.orchestration.rollback import undo_of
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.run_request import RunRequest
from dr_adapters.plan.types import Operation

ROLLBACK_PHASE = "ROLLBACK"  # the phase name its records carry


class RollbackOperator(PhaseOperator):
    ui_color = "#fde2e1"

    def __init__(self, **kwargs: Any):
        super().__init__(phase=ROLLBACK_PHASE, units={}, **kwargs)

    @property
    def unit(self) -> dict[str, Any]:
        """Its unit, read from the preflight task's full plan in the DAG it runs in: not carried by the task
        itself, so that a rollback's tasks add their unit ids, not another copy of every unit, to each DAG
        Airflow parses and serializes (every customer's DAG has them)."""
        for wave in self.dag.get_task("preflight").plan["waves"]:
            for step in wave["steps"]:
                for unit in step:
                    if unit["unit_id"] == self.unit_id:
                        return unit
        raise KeyError(f"{self.task_id}: no unit {self.unit_id} in {self.dag_id}'s plan")

    def skip_reason(self, request: RunRequest, stand_down: dict[str, Any] | None = None) -> str | None:
        # stand_down: a drill's request to give way (PhaseOperator); a rollback is no drill, none comes here
        if request.operation is not Operation.ROLLBACK:
            return f"operation={request.operation.value}: only a rollback undoes waves"
        return None

    def execute(self, context: Any) -> dict[str, Any]:
        _, request = self.load(context)
        if request.operation is Operation.ROLLBACK:
            undo = undo_of(context)
            if undo is None or self.unit_id not in undo.units_of(self.wave):
                run = undo.run_id if undo else "the undone run"
                skip(context, f"{run} did not start {self.unit_id}: nothing to undo, not touched")
            self._before = undo.before.get(self.unit_id)
        return super().execute(context)

    def resume(self, context: Any, event: dict[str, Any], record: dict[str, Any] | None = None) -> dict[str, Any]:
        undo = undo_of(context)
        self._before = undo.before.get(self.unit_id) if undo else None
        return super().resume(context, event, record)

    def act(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        # what the undone run's preflight read of this unit before it changed anything, if its adapter keeps that
        return adapter_for(unit.action).rollback(ctx, unit, getattr(self, "_before", None))
