"""Server mode's control endpoints: ``POST /_awssim/...`` handles on what AWS has no API for.

A test driving a real Airflow talks to the simulator server in another process; what a test sets
in-process (a DRS launch that fails, an applied quota value) it sends there over HTTP instead. Each
endpoint is one path, a function applying a JSON body, and the usage its errors quote.
"""

from __future__ import annotations

import json
from typing import Any, Callable


class ControlMiddleware:
    """WSGI middleware in front of the simulator's app: answers ``path`` with ``apply(body)``, passes the
    rest on. 405 for anything but POST, 404 for a LookupError (what the body names does not exist), 400
    for a ValueError or TypeError (a body it cannot use), each quoting ``usage``."""

    def __init__(self, app: Any, *, path: str, apply: Callable[[Any], dict[str, Any]], usage: str):
        self.app, self.path, self.apply, self.usage = app, path, apply, usage

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != self.path:
            return self.app(environ, start_response)
        status, payload = "200 OK", None
        if environ.get("REQUEST_METHOD") != "POST":
            status, payload = "405 Method Not Allowed", {"error": self.usage}
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                payload = self.apply(json.loads(environ["wsgi.input"].read(length) or b"{}"))
            except LookupError as exc:
                status, payload = "404 Not Found", {"error": str(exc)}
            except (ValueError, TypeError) as exc:
                status, payload = "400 Bad Request", {"error": f"{exc} -- {self.usage}"}
        data = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
