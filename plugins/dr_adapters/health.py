"""A work unit's health after activation (FR-3.3): its adapter's checks plus each resource's optional
``healthCheckUrl`` (tag ``dr:health-check-url``), where an HTTP GET must answer 2xx.

Validation keeps checking until the unit is ``settled`` (every resource HEALTHY, or in a state waiting
cannot change) or its wave's timeout runs out; then an UNHEALTHY resource blocks the next wave.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from dr_adapters.adapters.base import HealthCheck
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.plan.types import Health

if TYPE_CHECKING:
    from dr_adapters.adapters.base import RunContext
    from dr_adapters.plan.model import WorkUnit

TIMEOUT_SECONDS = 10


def check_url(resource_id: str, url: str) -> HealthCheck:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only, by schema
            status = response.status
    except urllib.error.HTTPError as exc:
        return HealthCheck(resource_id, Health.UNHEALTHY, f"{url} answered HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return HealthCheck(resource_id, Health.UNHEALTHY, f"{url} unreachable: {exc}")
    if 200 <= status < 300:
        return HealthCheck(resource_id, Health.HEALTHY, f"{url} answered HTTP {status}")
    return HealthCheck(resource_id, Health.DEGRADED, f"{url} answered HTTP {status}")


def unit_health(ctx: RunContext, unit: WorkUnit) -> list[dict[str, Any]]:
    """Every check of the unit, JSON-safe (as records and trigger events carry them)."""
    checks = [c.to_dict() for c in adapter_for(unit.action).validate(ctx, unit)]
    for resource in unit.resources:
        if resource.health_check_url:
            checks.append(check_url(resource.resource_id, resource.health_check_url).to_dict())
    return checks


def settled(checks: list[dict[str, Any]]) -> bool:
    """Nothing left worth waiting for: every check HEALTHY, or one waiting cannot change."""
    return all(c["status"] == Health.HEALTHY.value or c.get("final") for c in checks)


def unhealthy(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if c["status"] == Health.UNHEALTHY.value]
