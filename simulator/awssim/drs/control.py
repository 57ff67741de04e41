"""Server mode's handle on DRS replication: ``POST /_awssim/drs/replication``.

``set_replication`` breaks or repairs a source server in-process (a launch that fails, a stalled
replication, a lag). A test driving a real Airflow talks to the simulator server in another process,
and DRS has no API that makes a launch fail, so the server takes the same settings over HTTP::

    POST /_awssim/drs/replication
    {"account_id": "123456789012", "region": "us-west-2", "source_server_id": "s-...",
     "launch_fails": true}                       # and/or "state": "STALLED" | null, "lag_seconds": 60,
                                                 # "launch_seconds": 120 (its launch jobs take that long)

It answers the server's settings afterwards, 404 for a server that does not exist there and 400
for a body it cannot use (each naming what to send).
"""

from __future__ import annotations

from typing import Any

from . import set_replication
from .models import ResourceNotFoundException, drs_backends

CONTROL_PATH = "/_awssim/drs/replication"
SETTINGS = ("launch_fails", "state", "lag_seconds", "launch_seconds")
USAGE = ('POST {"account_id": "123456789012", "region": "us-west-2", "source_server_id": "s-...", '
         '"launch_fails": true|false, "state": "STALLED"|null, "lag_seconds": N, "launch_seconds": N}')


def apply(body: dict[str, Any]) -> dict[str, Any]:
    """Apply one request's settings; ValueError names what is wrong with the body."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    missing = [k for k in ("account_id", "region", "source_server_id") if not body.get(k)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    unknown = set(body) - {"account_id", "region", "source_server_id", *SETTINGS}
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    if "launch_fails" in body and not isinstance(body["launch_fails"], bool):
        raise ValueError("launch_fails must be true or false")
    if "lag_seconds" in body and (not isinstance(body["lag_seconds"], int) or body["lag_seconds"] < 0):
        raise ValueError("lag_seconds must be a whole number of seconds >= 0")
    if "launch_seconds" in body and (isinstance(body["launch_seconds"], bool)
                                     or not isinstance(body["launch_seconds"], (int, float)) or body["launch_seconds"] < 0):
        raise ValueError("launch_seconds must be a number of seconds >= 0")
    account, region, server_id = body["account_id"], body["region"], body["source_server_id"]
    try:
        current = drs_backends[account][region].get_server(server_id)
    except ResourceNotFoundException:
        raise LookupError(f"no source server {server_id} in account {account}, {region}: seed it first") from None
    # set_replication takes state=None as "derive it again": keep the forced state unless one is sent.
    server = set_replication(account, region, server_id, state=body.get("state", current.forced_state),
                             **{k: body[k] for k in ("launch_fails", "lag_seconds", "launch_seconds") if k in body})
    return {"account_id": body["account_id"], "region": body["region"], "source_server_id": server.source_server_id,
            "launch_fails": server.launch_fails, "state": server.forced_state, "lag_seconds": server.lag_seconds,
            "launch_seconds": server.launch_seconds}


