"""AWS Elastic Disaster Recovery (DRS) for moto, which has none (see ``models`` for the model).

``register()`` plugs it into moto the way moto's own services are wired, so it serves both
in-process (``mock_aws``: botocore_stubber matches ``backend_index.backend_url_patterns`` and
imports ``moto.drs``) and server mode (the werkzeug app maps the SigV4 scope ``drs`` through the
same patterns). Seeding helpers stand in for the replication agent, which real DRS relies on to
create source servers.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from .models import DrsBackend, SourceServer, drs_backends

__all__ = ["DrsBackend", "drs_backends", "register", "seed_source_server", "set_replication"]

URL_PATTERN = re.compile(r"https?://drs\.(.+)\.amazonaws\.com")


def register() -> None:
    """Make moto serve DRS (idempotent)."""
    import moto.backend_index as backend_index

    if not any(service == "drs" for service, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(("drs", URL_PATTERN))
    # moto.backends.get_backend("drs") imports "moto.drs" and reads drs_backends from it.
    sys.modules.setdefault("moto.drs", sys.modules[__name__])


def seed_source_server(
    account_id: str,
    region: str,
    hostname: str,
    source_instance_id: str,
    origin_region: str,
    tags: dict[str, str] | None = None,
    lag_seconds: int = 5,
    **kwargs: Any,
) -> str:
    """Register a replicating source server in ``region`` for an EC2 instance in ``origin_region``.

    Extra keyword arguments: ``origin_account_id``, ``instance_type``, ``launch_disposition``,
    ``server_id`` (a fixed ID such as ``s-0a000000000000001``, for demo manifests).
    Returns the source server ID.
    """
    server = drs_backends[account_id][region].add_source_server(
        hostname, source_instance_id, origin_region, tags=tags, lag_seconds=lag_seconds, **kwargs
    )
    return server.source_server_id


def set_replication(
    account_id: str,
    region: str,
    source_server_id: str,
    *,
    state: str | None = None,
    lag_seconds: int | None = None,
    launch_fails: bool | None = None,
    launch_seconds: float | None = None,
) -> SourceServer:
    """Test hook: force a replication state (``None`` = derive it again), lag, launch failures or how long
    a launch job of the server takes (at least)."""
    server = drs_backends[account_id][region].get_server(source_server_id)
    server.forced_state = state
    if lag_seconds is not None:
        server.lag_seconds = lag_seconds
    if launch_fails is not None:
        server.launch_fails = launch_fails
    if launch_seconds is not None:
        server.launch_seconds = float(launch_seconds)
    return server
