"""Lambda ``Invoke`` without Docker, on top of moto's Lambda (moto runs a function's code in a Docker container,
which these machines do not have: every invocation came back as an error).

A function created in moto answers ``Invoke`` with a *simulated handler* chosen by its environment variable
``AWSSIM_HANDLER`` (of the version invoked: an alias pointing at a published version keeps the value that
version was published with, as its code would be) -- settable over the AWS API, so in server mode too:

* absent or ``echo`` -- succeeds and returns ``{"ok": true, "echo": <the event>}``;
* ``fail:<message>`` -- the handler raises: ``FunctionError: Unhandled`` and the payload
  ``{"errorMessage": <message>, "errorType": "Exception", "stackTrace": []}``, status 200, as Lambda answers a
  function error.

Every invocation is recorded where a real one leaves its trace, the function's CloudWatch Logs group
(``/aws/lambda/<name>``, one stream per invocation: ``START``, one ``AWSSIM_INVOCATION {json}`` line with the
request id, time, region, account, version, payload, client context and outcome, ``END``, ``REPORT``), so a
test or a kit reads it back with ``logs:FilterLogEvents`` from either simulator mode; in-process,
``invocations()`` lists the same records. ``LogType=Tail`` returns the log's last 4 KB, base64, as Lambda does.

What Lambda refuses, refused: a payload that is not JSON (InvalidRequestContentException), larger than 6 MB
(RequestTooLargeException), a ``ClientContext`` that is not base64-encoded JSON or longer than 3,583 bytes
(InvalidRequestContentException), and a function whose reserved concurrency is 0 -- a parked copy
(TooManyRequestsException, reason ReservedFunctionConcurrentInvocationLimitExceeded). ``GetFunction`` shows a
reserved concurrency of 0 (moto left it out), and ``Invoke`` honours its ``Qualifier`` (moto invoked $LATEST).
``InvocationType=DryRun`` checks and runs nothing.

Not modelled: function code itself (the handler is simulated), timeouts, cold starts, asynchronous retries and
destinations (``Event`` invocations run at once, once).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.awslambda.responses import LambdaResponse
from moto.core.utils import unix_time_millis

HANDLER_VARIABLE = "AWSSIM_HANDLER"
RECORD_PREFIX = "AWSSIM_INVOCATION "
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_CLIENT_CONTEXT_BYTES = 3583
TAIL_BYTES = 4096
_lock = threading.Lock()


class InvalidRequestContentException(LambdaClientError):
    def __init__(self, message: str):
        super().__init__("InvalidRequestContentException", message)


class RequestTooLargeException(LambdaClientError):
    code = 413

    def __init__(self, message: str):
        super().__init__("RequestTooLargeException", message)


class TooManyRequestsException(LambdaClientError):
    code = 429

    def __init__(self, message: str, reason: str):
        super().__init__("TooManyRequestsException", message)
        self.description = json.dumps({"__type": "TooManyRequestsException", "Type": "User", "message": message,
                                       "Reason": reason})


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) or headers.get(name.lower())
    return value.decode() if isinstance(value, bytes) else value


def _client_context(encoded: str | None) -> Any:
    if not encoded:
        return None
    if len(encoded) > MAX_CLIENT_CONTEXT_BYTES:
        raise InvalidRequestContentException(f"Client context is longer than {MAX_CLIENT_CONTEXT_BYTES} bytes.")
    try:
        return json.loads(base64.b64decode(encoded, validate=True))
    except ValueError:
        raise InvalidRequestContentException("Client context must be a valid Base64-encoded JSON object.") from None


def _handle(fn: LambdaFunction, event: Any) -> tuple[dict[str, Any], str | None]:
    """(returned payload, error message or None) of the simulated handler."""
    handler = (fn.environment_vars or {}).get(HANDLER_VARIABLE, "echo")
    if handler.startswith("fail"):
        message = handler.partition(":")[2] or "the function failed"
        return {"errorMessage": message, "errorType": "Exception", "stackTrace": []}, message
    return {"ok": True, "echo": event}, None


def _log(fn: LambdaFunction, request_id: str, record: dict[str, Any]) -> str:
    """Write the invocation's log stream, as Lambda does; returns the log text."""
    now = datetime.now(timezone.utc)
    lines = [f"START RequestId: {request_id} Version: {fn.version}", RECORD_PREFIX + json.dumps(record, default=str)]
    if record["outcome"] == "error":
        lines.append(f"[ERROR] Exception: {record['error']}")
    lines += [f"END RequestId: {request_id}",
              f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: {fn.memory_size} "
              "MB\tMax Memory Used: 32 MB"]
    stream = f"{now:%Y/%m/%d}/[{fn.version}]{request_id.replace('-', '')}"
    logs = fn.logs_backend
    logs.ensure_log_group(fn.logs_group_name)
    logs.create_log_stream(fn.logs_group_name, stream)
    logs.put_log_events(fn.logs_group_name, stream, [{"timestamp": unix_time_millis(), "message": line}
                                                      for line in lines])
    return "\n".join(lines)


def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """moto's ``LambdaFunction.invoke``, answered by the simulated handler instead of a Docker container."""
    raw = body if isinstance(body, str) else (body.decode() if isinstance(body, bytes) else json.dumps(body))
    if len(raw.encode()) > MAX_PAYLOAD_BYTES:
        raise RequestTooLargeException(f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the Invoke "
                                       "operation")
    try:
        event = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
    context = _client_context(_header(request_headers, "X-Amz-Client-Context"))
    if self.reserved_concurrency is not None and int(self.reserved_concurrency) == 0:
        raise TooManyRequestsException("Rate Exceeded.", "ReservedFunctionConcurrentInvocationLimitExceeded")
    kind = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if kind == "DryRun":
        return b""
    result, error = _handle(self, event)
    request_id = str(uuid.uuid4())
    record = {"requestId": request_id, "function": self.function_name, "version": str(self.version),
              "region": self.region, "account": self.account_id, "time": datetime.now(timezone.utc).isoformat(),
              "invocationType": kind, "payload": event, "clientContext": context,
              "outcome": "error" if error else "success", "error": error}
    text = _log(self, request_id, record)
    with _lock:
        backend = lambda_backends[self.account_id][self.region]
        if not hasattr(backend, "awssim_invocations"):
            backend.awssim_invocations = []
        backend.awssim_invocations.append(record)
    if error:
        response_headers["x-amz-function-error"] = "Unhandled"
    response_headers["x-amz-executed-version"] = str(self.version)
    response_headers["x-amz-log-result"] = base64.b64encode(text.encode()[-TAIL_BYTES:]).decode()
    return json.dumps(result).encode()


_moto_get_code = LambdaFunction.get_code


def get_code(self: LambdaFunction) -> dict[str, Any]:
    """GetFunction's reply, with a reserved concurrency of 0 shown (moto leaves a falsy one out)."""
    out = _moto_get_code(self)
    if self.reserved_concurrency is not None and int(self.reserved_concurrency) == 0:
        out["Concurrency"] = {"ReservedConcurrentExecutions": 0}
    return out


_moto_invoke_response = LambdaResponse.invoke


def invoke_response(self: LambdaResponse) -> Any:
    """moto's Invoke, with the ``Qualifier`` botocore sends (moto read only ``qualifier`` and invoked $LATEST)."""
    if not self._get_param("qualifier") and self._get_param("Qualifier"):
        self.querystring["qualifier"] = self.querystring["Qualifier"]
    return _moto_invoke_response(self)


def invocations(account_id: str, region: str, function: str | None = None) -> list[dict[str, Any]]:
    """In-process: every invocation in an account and region (of one function), oldest first."""
    records = getattr(lambda_backends[account_id][region], "awssim_invocations", [])
    return [r for r in records if function is None or r["function"] == function]


def read_invocations(logs: Any, function: str) -> list[dict[str, Any]]:
    """A function's invocations read back from its CloudWatch Logs group with ``logs`` (a boto3 client of the
    function's account and region), oldest first; none when it was never invoked."""
    group, args, out = f"/aws/lambda/{function}", {}, []
    try:
        while True:
            page = logs.filter_log_events(logGroupName=group, **args)
            out += [json.loads(e["message"][len(RECORD_PREFIX):]) for e in page["events"]
                    if e["message"].startswith(RECORD_PREFIX)]
            if not page.get("nextToken"):
                break
            args["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return sorted(out, key=lambda r: r["time"])


def register() -> None:
    """Answer Invoke from moto's Lambda without Docker (idempotent)."""
    LambdaFunction.invoke = invoke
    if LambdaResponse.invoke is not invoke_response:
        LambdaResponse.invoke = invoke_response
    LambdaFunction.get_code = get_code
