"""Resolve a waiter name to a botocore waiter: the service's own, else ours in ``dr_adapters/waiters``.

botocore has no waiters for DRS jobs or Aurora global-cluster switchover; we ship them as
botocore waiter models (same JSON format as botocore's ``waiters-2.json``) so the same
``Waiter.wait`` machinery - and the Airflow trigger built on it - serves every service.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from botocore.waiter import Waiter, WaiterModel, create_waiter_with_client

# Read as package data, so it also works when dr_adapters is imported straight from plugins.zip.
WAITER_DIR = resources.files("dr_adapters") / "waiters"


@lru_cache(maxsize=None)
def custom_waiter_model(service: str) -> WaiterModel | None:
    path = WAITER_DIR / f"{service}.json"
    if not path.is_file():
        return None
    return WaiterModel(json.loads(path.read_text(encoding="utf-8")))


def get_waiter(client: Any, name: str) -> Waiter:
    service = client.meta.service_model.service_name
    if name in client.waiter_names:
        return client.get_waiter(name)
    model = custom_waiter_model(service)
    if model is None or name not in model.waiter_names:
        raise ValueError(f"no waiter {name!r} for {service}: not in botocore nor in {WAITER_DIR}")
    return create_waiter_with_client(name, model, client)
