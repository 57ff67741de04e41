"""Preflight (SPEC 5): read-only checks of every resource of the selected waves, before any change.

Accounts are checked in parallel; one account that cannot be reached (its role cannot be assumed,
its API refuses) is reported for its resources without stopping the other accounts' checks. A
resource whose Customer/Environment tags do not match the run's scope is a failing finding: the
scope guard that keeps one customer's run off another customer's resources.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dr_adapters.adapters.base import RunContext
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.plan.model import Plan, WorkUnit
from dr_adapters.plan.run_request import RunRequest

MAX_ACCOUNTS_IN_PARALLEL = 8


def run_preflight(plan: Plan, request: RunRequest, ctx: RunContext) -> list[dict[str, Any]]:
    """One finding per check: ``{"resource_id", "ok", "message"}``."""
    by_account: dict[str | None, list[WorkUnit]] = {}
    for wave in plan.waves:
        if request.wave_selected(wave.number):
            for unit in wave.units:
                by_account.setdefault(unit.account_id, []).append(unit)

    def check_account(units: list[WorkUnit]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for unit in units:
            try:
                findings = adapter_for(unit.action).preflight(ctx, unit)
            except Exception as exc:  # noqa: BLE001 - an unreachable account or resource is a finding
                where = f"account {unit.account_id}" if unit.account_id else "the hub account"
                found += [{"resource_id": r, "ok": False, "message": f"cannot check in {where}: {exc}"}
                          for r in unit.resource_ids]
                continue
            for f in findings:
                item = f.to_dict()
                mismatch = plan.scope.mismatch(f.tags) if f.tags is not None else None
                if mismatch:
                    scope_tags = ", ".join(f"{k}={f.tags.get(k)!r}" for k in ("Customer", "Environment"))
                    item.update(ok=False, message=f"out of scope for {plan.dag_id}: {mismatch} (its tags: {scope_tags})")
                found.append(item)
        return found

    workers = max(1, min(MAX_ACCOUNTS_IN_PARALLEL, len(by_account)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [f for chunk in pool.map(check_account, by_account.values()) for f in chunk]
