"""The optional per-resource ``healthCheckUrl`` (tag ``dr:health-check-url``): an HTTP GET must answer 2xx."""

from __future__ import annotations

import urllib.error
import urllib.request

from dr_adapters.adapters.base import HealthCheck
from dr_adapters.plan.types import Health

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
