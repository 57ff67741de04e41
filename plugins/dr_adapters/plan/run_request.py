"""A run's parameters (SPEC 5), from DAG params / trigger conf, checked before any AWS call.

Accepts the SRS CLI keys (``Customer``, ``Operation``, ...) as aliases of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dr_adapters.plan.model import Plan
from dr_adapters.plan.types import FailoverMode, Operation, Phase

ALIASES = {
    "Operation": "operation",
    "ApprovalMode": "approval_mode",
    "Waves": "waves",
    "Phases": "phases",
    "DryRun": "dry_run",
    "Confirm": "confirm",
    "Customer": "customer",
    "Environment": "environment",
    "PrimaryRegion": "primary_region",
    "DRRegion": "dr_region",
    "FailoverMode": "failover_mode",
    "Direction": "direction",
    "ValidationTimeoutMinutes": "validation_timeout_minutes",
    "RollbackOf": "rollback_of",
}
KNOWN_KEYS = set(ALIASES.values())
DEFAULT_VALIDATION_TIMEOUT_MINUTES = 5.0  # SRS FR-3.3: "health check timeout configurable (default: 5 minutes)"


class RunRequestError(ValueError):
    """Bad run parameters: the message names the parameter and what to pass instead."""


@dataclass(frozen=True)
class RunRequest:
    operation: Operation
    approval_required: bool
    waves: tuple[int, ...]
    phases: tuple[Phase, ...]
    dry_run: bool
    failover_mode: FailoverMode = FailoverMode.PLANNED
    direction: Operation = Operation.FAILOVER
    """For a reprotect: which unplanned run it completes (failover or failback). For a drill: which
    way it rehearses (failback: DR -> primary, once an estate is failed over and reprotected)."""
    validation_timeout_minutes: float | None = None
    """How long each wave's validation waits for health, for every wave of this run; None: each layer's
    ``validationTimeoutMinutes``, else ``DEFAULT_VALIDATION_TIMEOUT_MINUTES``."""
    rollback_of: str | None = None
    """For a rollback: the run id of the failover/failback to undo; None: the latest one of this DAG that
    did not succeed (found by preflight, ``orchestration.rollback``)."""

    @property
    def reverse_drill(self) -> bool:
        return self.operation is Operation.DRILL and self.direction is Operation.FAILBACK

    @property
    def acting_as(self) -> Operation:
        """The operation adapters act out: a reprotect completes the CLEANUP and REPLICATE of a failover
        (or failback), so it moves the same way; a rollback moves back the way the run it undoes came
        (its ``direction``: failback when it undoes a failover, set once preflight found that run);
        anything else is itself."""
        return self.direction if self.operation in (Operation.REPROTECT, Operation.ROLLBACK) else self.operation

    @property
    def unplanned(self) -> bool:
        return self.failover_mode is FailoverMode.UNPLANNED

    def validation_timeout(self, layer_minutes: float | None) -> float:
        """Minutes a wave's validation keeps checking until every resource is healthy (FR-3.3): this run's
        parameter, else the layer's ``validationTimeoutMinutes``, else the default."""
        if self.validation_timeout_minutes is not None:
            return self.validation_timeout_minutes
        return DEFAULT_VALIDATION_TIMEOUT_MINUTES if layer_minutes is None else layer_minutes

    def wave_selected(self, number: int) -> bool:
        return number in self.waves

    def phase_selected(self, phase: Phase) -> bool:
        return phase in self.phases

    @property
    def gates_wait(self) -> bool:
        """Only a real failover/failback waits for a human: drills and readiness checks never do."""
        return self.approval_required and self.operation.is_disruptive and not self.dry_run


def confirm_token(plan: Plan) -> str:
    return f"{plan.scope.customer}/{plan.scope.environment}"


def parse_run_request(plan: Plan, params: dict[str, Any]) -> RunRequest:
    raw = _canonical_keys(params)
    _check_scope(plan, raw)

    try:
        operation = Operation(str(raw.get("operation") or Operation.DRILL.value).lower())
    except ValueError:
        raise RunRequestError(
            f"operation={raw.get('operation')!r} is not an operation; use one of: "
            + ", ".join(o.value for o in Operation)
        ) from None

    if operation.is_disruptive and raw.get("confirm") != confirm_token(plan):
        raise RunRequestError(
            f"operation={operation.value} changes production: pass confirm={confirm_token(plan)!r} "
            f"(got {raw.get('confirm')!r})"
        )

    mode = raw.get("approval_mode")
    if mode in (None, ""):
        approval_required = plan.approval_required
    elif str(mode).lower() in ("required", "automatic"):
        approval_required = str(mode).lower() == "required"
    else:
        raise RunRequestError(f"approval_mode={mode!r}: use 'required' or 'automatic'")

    phases = _phases(plan, raw.get("phases"))
    direction = _direction(operation, raw.get("direction"))
    if operation is Operation.REPROTECT:
        # what an unplanned run deferred: nothing else runs, so the estate keeps serving where it is
        phases = tuple(p for p in phases if p in (Phase.CLEANUP, Phase.REPLICATE))
        if not phases:
            raise RunRequestError("operation=reprotect runs CLEANUP and REPLICATE: include at least one in phases")
    failover_mode = _failover_mode(operation, raw.get("failover_mode"))
    if operation is Operation.REPROTECT and failover_mode is FailoverMode.UNPLANNED:
        raise RunRequestError("operation=reprotect needs the old region back: it cannot be unplanned "
                              "(run it once the region answers; preflight checks that it does)")
    if operation is Operation.ROLLBACK and failover_mode is FailoverMode.UNPLANNED:
        raise RunRequestError("operation=rollback moves the estate back to where it served before the run it undoes: "
                              "it needs both regions and cannot be unplanned (run it once both answer)")
    rollback_of = raw.get("rollback_of") or None
    if rollback_of is not None and operation is not Operation.ROLLBACK:
        raise RunRequestError(f"rollback_of applies to operation=rollback only, not {operation.value}")
    if operation is Operation.ROLLBACK and raw.get("waves", "all") not in (None, "", "all", ["all"]):
        raise RunRequestError("operation=rollback undoes every wave the run it undoes started, in reverse order: "
                              "leave waves at 'all'")
    return RunRequest(
        operation=operation,
        approval_required=approval_required,
        waves=_waves(plan, raw.get("waves", "all")),
        phases=phases,
        dry_run=_bool("dry_run", raw.get("dry_run", False)),
        failover_mode=failover_mode,
        direction=direction,
        validation_timeout_minutes=_minutes("validation_timeout_minutes", raw.get("validation_timeout_minutes")),
        rollback_of=str(rollback_of) if rollback_of is not None else None,
    )


def _minutes(name: str, value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        minutes = -1.0
    if not 0 <= minutes <= 720 or isinstance(value, bool):
        raise RunRequestError(f"{name}={value!r}: pass a number of minutes from 0 (check once) to 720, "
                              "or leave it empty for each layer's validationTimeoutMinutes (default 5)")
    return minutes


def _direction(operation: Operation, value: Any) -> Operation:
    if value in (None, ""):
        return Operation.FAILOVER
    if str(value).lower() not in (Operation.FAILOVER.value, Operation.FAILBACK.value):
        raise RunRequestError(f"direction={value!r}: use 'failover' (the default) or 'failback' -- for a reprotect, "
                              "the unplanned run it completes; for a drill, the way it rehearses")
    direction = Operation(str(value).lower())
    # The trigger form always sends the param's default (failover): only another value is a mistake.
    if operation not in (Operation.REPROTECT, Operation.DRILL) and direction is not Operation.FAILOVER:
        raise RunRequestError(f"direction applies to operation=reprotect and drill only, not {operation.value}")
    return direction


def _failover_mode(operation: Operation, value: Any) -> FailoverMode:
    if value in (None, ""):
        return FailoverMode.PLANNED
    try:
        mode = FailoverMode(str(value).lower())
    except ValueError:
        raise RunRequestError(f"failover_mode={value!r}: use 'planned' (both regions answer) or 'unplanned' "
                              "(the region being left is dark)") from None
    if mode is FailoverMode.UNPLANNED and not operation.is_disruptive:
        raise RunRequestError(f"failover_mode=unplanned applies to failover and failback, not {operation.value}: "
                              "a drill or readiness check never acts without the region it rehearses leaving")
    return mode


def _canonical_keys(params: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key, value in (params or {}).items():
        name = ALIASES.get(key, key)
        if name not in KNOWN_KEYS:
            raise RunRequestError(f"unknown run parameter {key!r}; known: {', '.join(sorted(KNOWN_KEYS))}")
        if name in raw and raw[name] not in (None, "") and value not in (None, "") and raw[name] != value:
            raise RunRequestError(f"{key!r} and its alias disagree ({raw[name]!r} vs {value!r}); pass one")
        if value not in (None, "") or name not in raw:
            raw[name] = value
    return raw


def _check_scope(plan: Plan, raw: dict[str, Any]) -> None:
    expected = {
        "customer": plan.scope.customer,
        "environment": plan.scope.environment,
        "primary_region": plan.regions.primary,
        "dr_region": plan.regions.dr,
    }
    for key, want in expected.items():
        got = raw.get(key)
        if got not in (None, "") and got != want:
            raise RunRequestError(
                f"{key}={got!r} does not match this DAG ({plan.dag_id} is {key}={want!r}); "
                f"trigger the DAG of {got!r} instead"
            )


def _waves(plan: Plan, value: Any) -> tuple[int, ...]:
    if value in (None, "", "all", ["all"]):
        return tuple(plan.wave_numbers)
    if isinstance(value, (int, str)):
        value = [value]
    try:
        numbers = [int(v) for v in value]
    except (TypeError, ValueError):
        raise RunRequestError(f"waves={value!r}: pass 'all' or a list of wave numbers like [1, 2]") from None
    unknown = sorted(set(numbers) - set(plan.wave_numbers))
    if unknown or not numbers:
        raise RunRequestError(f"waves={value!r}: {plan.dag_id} has waves {plan.wave_numbers}")
    return tuple(sorted(set(numbers)))


def _phases(plan: Plan, value: Any) -> tuple[Phase, ...]:
    if value in (None, "", []):
        return plan.phases
    if isinstance(value, str):
        value = [value]
    try:
        phases = {Phase(str(v).upper()) for v in value}
    except ValueError:
        raise RunRequestError(f"phases={value!r}: use a subset of {[p.value for p in Phase]}") from None
    not_in_manifest = sorted(p.value for p in phases - set(plan.phases))
    if not_in_manifest:
        raise RunRequestError(f"phases {not_in_manifest} are not enabled in the manifest (it has {[p.value for p in plan.phases]})")
    return tuple(p for p in Phase if p in phases)


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no", "none", ""):
        return False
    raise RunRequestError(f"{name}={value!r}: pass true or false")
