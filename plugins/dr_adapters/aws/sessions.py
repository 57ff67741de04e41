"""AWS sessions for a run: the hub account, and spoke accounts reached by STS AssumeRole.

Spoke sessions are made with the manifest's ExternalId (always sent), ``DurationSeconds=900``
and a ``RoleSessionName`` naming the DAG run, so CloudTrail in every account shows which DR run
made each call. They are cached per account and refreshed before they expire.

With a hub role (``hubRoleArn``) the hub's own calls are made as that role, assumed from the
connection's identity under the same run-named session, so CloudTrail in the hub account ties them
to the run too; the spokes are then assumed from the hub role (role chaining, within its 1-hour cap).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError

from dr_adapters.plan.types import AccountAccess

SESSION_SECONDS = 900
REFRESH_MARGIN_SECONDS = 120

# Throttling and transient errors are retried by botocore itself (adaptive mode backs off on
# throttles); Airflow task retries sit on top for anything longer.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=10, read_timeout=60)
# For a region that may be dark (the one being left, a region being probed): a dead endpoint is known
# in seconds, not after minutes of retries; a throttle or a lost reply is still retried.
FAIL_FAST_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 3}, connect_timeout=3, read_timeout=20)
# What botocore raises, once its retries are spent, when a regional endpoint is gone (a dark region).
DEAD_ENDPOINT_ERRORS = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError)


def role_session_name(run_id: str, prefix: str = "dr") -> str:
    """A RoleSessionName (<= 64 chars of [\\w+=,.@-]) that names the DAG run."""
    cleaned = re.sub(r"[^\w+=,.@-]", "-", f"{prefix}-{run_id}")
    return cleaned[:64]


class AccountSessions:
    """boto3 sessions and clients per account; the hub's comes from the Airflow connection."""

    def __init__(
        self,
        hub_session: boto3.Session,
        accounts: Iterable[AccountAccess] = (),
        *,
        session_name: str = "dr-manual",
        endpoint_url: str | None = None,
        hub_account_id: str | None = None,
        clock: Callable[[], float] = time.time,
        client_config: Config = CLIENT_CONFIG,
        sts_region: str | None = None,
        hub_role_arn: str | None = None,
    ):
        self.hub_session = hub_session  # the connection's identity
        self.hub_role_arn = hub_role_arn
        self.accounts = {a.account_id: a for a in accounts}
        self.session_name = session_name
        self.endpoint_url = endpoint_url
        self.hub_account_id = hub_account_id
        self.clock = clock
        self.client_config = client_config
        # STS is regional: spokes are reached through the STS endpoint of a region that is up (the
        # one the orchestrator runs in), never through the region being escaped.
        self.sts_region = sts_region
        self._sessions: dict[str, tuple[boto3.Session, float]] = {}
        self._clients: dict[tuple[str, str, str | None], tuple[Any, float]] = {}
        self._lock = threading.RLock()
        self._event_handlers: list[tuple[str, Callable[..., Any]]] = []

    def register_event(self, event_name: str, handler: Callable[..., Any]) -> None:
        """Register a botocore event handler on the hub session and every spoke session, now and later.

        Tests use it to record calls (``before-call.drs.StartRecovery``) whichever account makes them.
        """
        with self._lock:
            self._event_handlers.append((event_name, handler))
            self.hub_session.events.register(event_name, handler)
            for session, _ in self._sessions.values():
                session.events.register(event_name, handler)

    def _is_hub(self, account_id: str | None) -> bool:
        return account_id is None or account_id == self.hub_account_id or account_id not in self.accounts

    def session(self, account_id: str | None = None) -> tuple[boto3.Session, float]:
        """The session for an account and when it expires (``inf`` for the connection's own identity)."""
        if self._is_hub(account_id):
            if not self.hub_role_arn:
                return self.hub_session, float("inf")
            return self._assumed("hub", self.hub_session, self.hub_role_arn, None)
        access = self.accounts[account_id]
        caller, _ = self.session(None)
        return self._assumed(account_id, caller, access.role_arn, access.external_id)

    def _assumed(self, key: str, caller: boto3.Session, role_arn: str, external_id: str | None
                 ) -> tuple[boto3.Session, float]:
        with self._lock:
            cached = self._sessions.get(key)
            if cached and cached[1] - REFRESH_MARGIN_SECONDS > self.clock():
                return cached
            sts = caller.client("sts", region_name=self.sts_region, endpoint_url=self.endpoint_url,
                                config=self.client_config)
            params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": self.session_name,
                                      "DurationSeconds": SESSION_SECONDS}
            if external_id is not None:
                params["ExternalId"] = external_id
            creds = sts.assume_role(**params)["Credentials"]
            session = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
            for event_name, handler in self._event_handlers:
                session.events.register(event_name, handler)
            expires = self.clock() + SESSION_SECONDS
            self._sessions[key] = (session, expires)
            return session, expires

    def client(self, service: str, region: str, account_id: str | None = None, *, fail_fast: bool = False,
               read_timeout: int | None = None) -> Any:
        """A cached client; ``fail_fast`` (a region that may be dark) gives up in seconds on a dead endpoint;
        ``read_timeout`` (seconds) for calls that hold their reply longer than the default allows."""
        key = (service, region, "hub" if self._is_hub(account_id) else account_id, fail_fast, read_timeout)
        with self._lock:
            session, expires = self.session(account_id)
            cached = self._clients.get(key)
            if cached and cached[1] == expires:
                return cached[0]
            config = FAIL_FAST_CONFIG if fail_fast else self.client_config
            if read_timeout is not None:
                config = config.merge(Config(read_timeout=read_timeout))
            client = session.client(service, region_name=region, endpoint_url=self.endpoint_url, config=config)
            self._clients[key] = (client, expires)
            return client
