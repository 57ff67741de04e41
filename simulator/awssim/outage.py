"""A regional outage: every request to a dark region fails the way a dead regional endpoint does.

The region of a request is the one it is signed for (the SigV4 credential scope,
``Credential=AKID/20261129/eu-west-1/rds/aws4_request``), whatever the service and endpoint: the
simulator serves every region on one port, so the signature is what says where a request went.
Global control planes are signed where AWS hosts them (Route 53 and IAM in us-east-1), so a dark
us-east-1 also refuses Route 53 and IAM changes, as on AWS.

* server mode: the connection is dropped without an answer (botocore sees ``ConnectionClosedError``
  and retries it like any dead endpoint); ``GET /_awssim/outage`` shows the dark regions and how many
  requests each region was served and refused, ``POST /_awssim/outage {"regions": [...]}`` sets
  them (an empty list restores), and ``python -m awssim serve --outage REGION[,REGION]`` starts dark;
* in-process (``moto.mock_aws``): ``set_dark([...])``, or ``with outage("eu-west-1"):``; a
  ``before-send`` handler ahead of moto's raises ``ConnectionClosedError`` for a dark region.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

CONTROL_PATH = "/_awssim/outage"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/")
REFUSED_LOG_SIZE = 1000

_lock = threading.Lock()
_dark: set[str] = set()
_served: Counter[str] = Counter()
_refused: Counter[str] = Counter()
_refused_log: list[tuple[float, str, str]] = []  # (epoch seconds, region, service) of the latest refusals


def scope_of(authorization: str | bytes | None, query: str = "") -> tuple[str | None, str | None]:
    """(region, service) a request is signed for (Authorization header, or a presigned URL's query)."""
    if isinstance(authorization, bytes):
        authorization = authorization.decode(errors="replace")
    found = _SCOPE.search(authorization or "") or re.search(
        r"X-Amz-Credential=[^%/]+(?:%2F|/)\d{8}(?:%2F|/)([a-z0-9-]+)(?:%2F|/)([a-z0-9-]+)", query)
    return (found.group(1), found.group(2)) if found else (None, None)


def region_of(authorization: str | bytes | None, query: str = "") -> str | None:
    return scope_of(authorization, query)[0]


def set_dark(regions: Iterable[str]) -> list[str]:
    """Take exactly ``regions`` dark (an empty list restores every region); returns them sorted."""
    regions = {r.strip() for r in regions if r and r.strip()}
    bad = [r for r in regions if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", r)]
    if bad:
        raise ValueError(f"not a region name: {', '.join(sorted(bad))} -- write e.g. us-east-1,eu-west-1")
    with _lock:
        _dark.clear()
        _dark.update(regions)
        return sorted(_dark)


def dark() -> list[str]:
    with _lock:
        return sorted(_dark)


def state() -> dict[str, Any]:
    """What ``GET /_awssim/outage`` answers: the dark regions, requests served/refused per region, and
    the latest refusals as [epoch seconds, region, service] (to tell a probe from a later call)."""
    with _lock:
        return {"regions": sorted(_dark), "served": dict(_served), "refused": dict(_refused),
                "refused_log": [list(entry) for entry in _refused_log]}


def admit(region: str | None, service: str | None = None) -> bool:
    """Count one request for ``region``; False when that region is dark (refuse it)."""
    key = region or "unsigned"
    with _lock:
        if region in _dark:
            _refused[key] += 1
            _refused_log.append((time.time(), key, service or "?"))
            del _refused_log[:-REFUSED_LOG_SIZE]
            return False
        _served[key] += 1
        return True


def reset_counts() -> None:
    with _lock:
        _served.clear()
        _refused.clear()
        _refused_log.clear()


@contextmanager
def outage(*regions: str) -> Iterator[None]:
    """In-process: these regions dark inside the block, the previous state restored after it."""
    before = dark()
    set_dark(regions)
    try:
        yield
    finally:
        set_dark(before)


# -- in-process: ahead of moto's botocore stubber ---------------------------------------------------
def _before_send(request: Any, **_: Any) -> None:
    from botocore.exceptions import ConnectionClosedError

    if not admit(*scope_of(request.headers.get("Authorization"), request.url.partition("?")[2])):
        raise ConnectionClosedError(endpoint_url=request.url)


def install_in_process() -> None:
    """Put the outage check first among botocore's built-in ``before-send`` handlers (sessions made
    afterwards get it; moto's stubber comes after it, so a dark region never reaches moto)."""
    from botocore.handlers import BUILTIN_HANDLERS

    if ("before-send", _before_send) not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.insert(0, ("before-send", _before_send))


# -- server mode: WSGI middleware in front of moto's app --------------------------------------------
class OutageMiddleware:
    def __init__(self, app: Any):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == CONTROL_PATH:
            return self._control(environ, start_response)
        if admit(*scope_of(environ.get("HTTP_AUTHORIZATION"), environ.get("QUERY_STRING", ""))):
            return self.app(environ, start_response)
        # A dead endpoint: the connection goes away without an answer. Shutting the socket down
        # makes werkzeug's own write fail as a dropped connection, which it handles quietly.
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        start_response("503 Service Unavailable", [("Content-Length", "0")])
        return [b""]

    def _control(self, environ: dict[str, Any], start_response: Any) -> Any:
        status = "200 OK"
        if environ.get("REQUEST_METHOD") == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                set_dark(body.get("regions") or [])
                if body.get("reset_counts"):
                    reset_counts()
            except (ValueError, TypeError, AttributeError) as exc:
                status, payload = "400 Bad Request", {"error": f"{exc} -- POST {{\"regions\": [\"us-east-1\"]}}"}
                data = json.dumps(payload).encode()
                start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
                return [data]
        data = json.dumps(state()).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
