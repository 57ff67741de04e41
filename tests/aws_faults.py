"""Inject AWS faults with botocore event hooks, to prove the product rides them out.

``Faults`` is a ``before-send`` handler (registered *first*, ahead of moto's in-process stubber):
for each API call it fails the first ``attempts`` HTTP attempts with one kind of fault, rotating
through the kinds call by call, and lets later attempts through. What happens next is botocore's
own retry logic with the product's client config (``dr_adapters.aws.sessions.CLIENT_CONFIG``).

Kinds:

* ``throttling`` - HTTP 400 ``ThrottlingException``;
* ``too_many_requests`` - HTTP 429 ``TooManyRequestsException`` (Lambda's throttle);
* ``server_error`` / ``unavailable`` - HTTP 500 ``InternalFailure`` / 503 ``ServiceUnavailable``;
* ``connection`` - ``EndpointConnectionError`` (the request never reached AWS).

``lost`` names calls whose *first* attempt does reach AWS (it is forwarded to the simulator and
AWS acts on it) but whose response is lost (``ReadTimeoutError``): the dangerous case, where a
retry of a non-idempotent call could act twice.

    faults = Faults()
    with inject_faults(faults, ctx.aws.hub_session):
        converge(...)
    assert faults.injected
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import boto3
import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from aws_calls import hooked_sessions, iam_name

KINDS = ("throttling", "too_many_requests", "server_error", "unavailable", "connection")
ERRORS = {  # kind -> (HTTP status, error code)
    "throttling": (400, "ThrottlingException"),
    "too_many_requests": (429, "TooManyRequestsException"),
    "server_error": (500, "InternalFailure"),
    "unavailable": (503, "ServiceUnavailable"),
}


class _Raw(io.BytesIO):
    """The ``raw`` an AWSResponse reads its body from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(65536):
            yield chunk


SERVICE_NAMES = {"eventbridge": "events"}
"""botocore event service ids (hyphens dropped) that are not the service's model name: EventBridge's is ``events``."""


@lru_cache(maxsize=None)
def protocol(service_id: str) -> str:
    """The wire protocol botocore uses for a service (``route-53`` -> ``rest-xml``)."""
    service = service_id.replace("-", "")
    model = botocore.session.get_session().get_service_model(SERVICE_NAMES.get(service, service))
    return getattr(model, "resolved_protocol", model.protocol)


def error_response(url: str, service_id: str, status: int, code: str) -> AWSResponse:
    """An error reply in the service's own protocol, as botocore's parsers read it."""
    message = f"injected fault: {code}"
    wire = protocol(service_id)
    if wire in ("json", "rest-json"):
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
        body = json.dumps({"__type": code, "message": message}).encode()
    elif wire == "ec2":
        headers = {"Content-Type": "text/xml"}
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>fault</RequestID></Response>").encode()
    else:  # query, rest-xml
        headers = {"Content-Type": "text/xml"}
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>fault</RequestId></ErrorResponse>").encode()
    return AWSResponse(url, status, headers, _Raw(body))


def forward(event_name: str, request: AWSPreparedRequest) -> AWSResponse:
    """Let AWS (the simulator) act on the request: moto's in-process stubber, else over HTTP."""
    from moto.core.models import botocore_stubber

    if botocore_stubber.enabled:
        response = botocore_stubber(event_name=event_name, request=request)
        if response is not None:
            return response
    from botocore.httpsession import URLLib3Session

    return URLLib3Session().send(request)


class Faults:
    """before-send handler: fail the first ``attempts`` attempts of each matching call."""

    def __init__(self, *, kinds: Iterable[str] = KINDS, attempts: int = 1, only: Iterable[str] | None = None,
                 lost: Iterable[str] = ()):
        self.kinds = tuple(kinds)
        self.attempts = attempts
        self.only = set(only) if only is not None else None  # IAM-style names; None = every call
        self.lost = set(lost)
        self.injected: list[tuple[str, str]] = []  # (call, kind) per failed attempt
        self.delivered: list[str] = []  # lost calls AWS did act on
        self._attempts: dict[str, tuple[str, int]] = {}  # invocation id -> (kind, failures so far)
        self._calls = 0
        self._lock = threading.Lock()

    def __call__(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        _, service_id, operation = event_name.split(".", 2)
        name = iam_name(service_id, operation)
        if self.only is not None and name not in self.only and name not in self.lost:
            return None
        invocation = request.headers.get("amz-sdk-invocation-id") or str(id(request))
        if isinstance(invocation, bytes):
            invocation = invocation.decode()
        with self._lock:
            if invocation in self._attempts:
                kind, failed = self._attempts[invocation]
            else:
                kind = "lost" if name in self.lost else self.kinds[self._calls % len(self.kinds)]
                failed = 0
                self._calls += 1
            if failed >= (1 if kind == "lost" else self.attempts):
                return None
            self._attempts[invocation] = (kind, failed + 1)
            self.injected.append((name, kind))
        if kind == "lost":
            forward(event_name, request)  # AWS acts on it ...
            with self._lock:
                self.delivered.append(name)
            raise ReadTimeoutError(endpoint_url=request.url)  # ... and the reply never arrives
        if kind == "connection":
            raise EndpointConnectionError(endpoint_url=request.url)
        status, code = ERRORS[kind]
        return error_response(request.url, service_id, status, code)

    def hook(self, events: Any) -> None:
        events.register_first("before-send", self)

    def kinds_injected(self) -> set[str]:
        return {kind for _, kind in self.injected}


def fast_retries(monkeypatch: Any) -> None:
    """Keep botocore's retry decisions (which errors, how many attempts, the retry quota: the
    product's CLIENT_CONFIG) but shorten its pacing, to keep tests short: the backoff after a
    throttle scaled like after a 5xx (<= 50 ms instead of <= 1 s), and adaptive mode's client-side
    rate limiter (which slows a throttled client to about a request a second) never pausing."""
    from botocore.retries.adaptive import ClientRateLimiter
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.05)
    monkeypatch.setattr(ClientRateLimiter, "on_sending_request", lambda self, **kwargs: None)


@contextmanager
def inject_faults(faults: Faults, *sessions: boto3.Session) -> Iterator[Faults]:
    """Inject into ``sessions`` and every boto3 session created inside the block."""
    try:
        with hooked_sessions(faults.hook, *sessions):
            yield faults
    finally:
        for session in sessions:
            session.events.unregister("before-send", faults)
