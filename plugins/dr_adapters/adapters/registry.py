"""Maps a manifest ``action`` to the adapter that implements it."""

from __future__ import annotations

from functools import lru_cache

from dr_adapters.adapters.aurora import AuroraAdapter
from dr_adapters.adapters.base import ActionConfig, Adapter
from dr_adapters.adapters.drs import DrsAdapter
from dr_adapters.adapters.ecs import EcsServiceAdapter
from dr_adapters.adapters.lambda_function import LambdaFunctionAdapter
from dr_adapters.adapters.route53 import Route53RecordAdapter

ADAPTER_CLASSES: tuple[type[Adapter], ...] = (
    DrsAdapter,
    AuroraAdapter,
    EcsServiceAdapter,
    LambdaFunctionAdapter,
    Route53RecordAdapter,
)

PLANNED_ACTIONS = (
    "ElastiCache",
    "OpenSearchService",
    "AutoScaling",
    "MemoryDB",
    "EventBridge",
    "EFS",
    "FSx",
    "RDS",
)
"""Actions of the manifest format that this version does not implement yet (rejected clearly)."""


@lru_cache(maxsize=None)
def _by_action() -> dict[str, Adapter]:
    table: dict[str, Adapter] = {}
    for cls in ADAPTER_CLASSES:
        adapter = cls()
        for action in cls.actions:
            table[action] = adapter
    return table


def supported_actions() -> list[str]:
    return list(_by_action())


def adapter_for(action: str) -> Adapter:
    try:
        return _by_action()[action]
    except KeyError:
        raise KeyError(f"unknown action {action!r}; supported: {', '.join(supported_actions())}") from None


def config_models() -> dict[str, type[ActionConfig]]:
    return {action: adapter.config_model for action, adapter in _by_action().items()}
