"""Record every AWS call a run makes (botocore event hooks), classified read-only or mutating.

For one adapter run context (its hub and spoke sessions)::

    ctx, calls = recorded(make_ctx("failover"))
    ...
    assert calls.mutating == []

For whole DAG runs (``dag.test`` runs every task, and the triggers, in this process): every boto3
session created while the block is active gets the recorder on its event system, so the calls
Airflow tasks and triggers make are recorded too, with the account and region they went to::

    with record_aws_calls() as calls:
        run(dag, {...})
    assert calls.mutating == [] and calls.count("drs:StartRecovery") == 2

Calls are counted once per API call (``before-call``), not per HTTP attempt: botocore's retries
of one call are the same call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3

READ_PREFIXES = ("Describe", "List", "Get", "Search")  # Search: Resource Explorer's read
READ_OPERATIONS = frozenset({"TestDNSAnswer"})  # Route 53's query of its own name servers: reads only
IAM_PREFIXES = {"efs": "elasticfilesystem", "opensearch": "es", "elasticloadbalancingv2": "elasticloadbalancing", "eventbridge": "events",
                "resourceexplorer2": "resource-explorer-2", "resourcegroupstaggingapi": "tag"}
"""botocore event service ids (hyphens dropped) whose IAM service prefix differs: OpenSearch's is ``es``."""


IAM_OPERATIONS = {"lambda:Invoke": "lambda:InvokeFunction"}
"""API operations whose IAM action has another name: Lambda's ``Invoke`` is authorised as ``lambda:InvokeFunction``."""


def is_mutating(call: str) -> bool:
    """Does ``service:Operation`` change anything? (STS sessions and reads do not.) The one classification
    the tests, the end-to-end recorder and the benchmarks share."""
    service, operation = call.split(":", 1)
    return service != "sts" and not operation.startswith(READ_PREFIXES) and operation not in READ_OPERATIONS


def iam_name(service_id: str, operation: str) -> str:
    """The IAM action of a botocore event's ``<service-id>.<Operation>``: ``opensearch`` -> ``es:...``."""
    service = service_id.replace("-", "")  # event ids are hyphenated: route-53
    name = f"{IAM_PREFIXES.get(service, service)}:{operation}"
    return IAM_OPERATIONS.get(name, name)


class Call(str):
    """``service:Operation`` (compares equal to that string), with where it went.

    ``account`` is the spoke account whose assumed-role credentials signed the call, or None for
    the hub's own credentials; ``region`` the client's region.
    """

    account: str | None = None
    region: str | None = None

    @property
    def mutating(self) -> bool:
        return is_mutating(self)


class Calls(list):
    """Every AWS call, as IAM-style ``service:Operation`` (e.g. ``route53:ChangeResourceRecordSets``).

    Also keeps the temporary credentials STS issued (``issued``): the secrets tests look for in logs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.issued: list[dict[str, Any]] = []  # AssumeRole's Credentials, as returned
        self._account_of_key: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, event_name: str, request_signer: Any = None, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        call = Call(iam_name(service, operation))
        if request_signer is not None:
            call.region = getattr(request_signer, "_region_name", None)
            credentials = getattr(request_signer, "_credentials", None)
            key = getattr(credentials, "access_key", None) if credentials is not None else None
            call.account = self._account_of_key.get(key) if key else None
        with self._lock:
            self.append(call)

    def _assumed(self, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        """after-call.sts.AssumeRole: remember which account the new keys belong to."""
        creds = (parsed or {}).get("Credentials")
        if not creds:
            return
        account = (parsed.get("AssumedRoleUser") or {}).get("Arn", "").split(":")[4:5]
        with self._lock:
            self.issued.append(dict(creds))
            if account:
                self._account_of_key[creds["AccessKeyId"]] = account[0]

    def hook(self, events: Any) -> None:
        """Register on a botocore event system (a session's or a client's)."""
        events.register("before-call", self)
        events.register("after-call.sts.AssumeRole", self._assumed)

    @property
    def mutating(self) -> list[str]:
        return [c for c in self if Call(c).mutating]

    def where(self, name: str) -> list[tuple[str | None, str | None]]:
        """(account, region) of each call named ``name``."""
        return [(c.account, c.region) for c in self if c == name]

    def clear(self) -> None:
        with self._lock:
            super().clear()


def recorded(ctx):
    """Hook a call recorder into every client of ``ctx`` (hub and spokes, made now or later)."""
    calls = Calls()
    ctx.aws.register_event("before-call", calls)
    ctx.aws.register_event("after-call.sts.AssumeRole", calls._assumed)
    return ctx, calls


@contextmanager
def record_aws_calls(*sessions: boto3.Session) -> Iterator[Calls]:
    """Record the calls of every boto3 session created inside the block (and of ``sessions``).

    ``boto3.session.Session.__init__`` is wrapped to register the recorder on the new session's
    event system; clients copy their session's handlers when created, so every client of such a
    session records too. Sessions made before the block (e.g. the test's own, for reading the end
    state) are not recorded unless passed in.
    """
    calls = Calls()
    with hooked_sessions(calls.hook, *sessions):
        yield calls


@contextmanager
def hooked_sessions(hook: Callable[[Any], None], *sessions: boto3.Session) -> Iterator[None]:
    """Call ``hook(events)`` with the event system of ``sessions`` and of every boto3 session
    created inside the block (``Session.__init__`` wrapped): how the tests reach the sessions Airflow
    tasks and triggers make for themselves."""
    original = boto3.session.Session.__init__

    def init(self: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        hook(self.events)

    for session in sessions:
        hook(session.events)
    with mock.patch.object(boto3.session.Session, "__init__", init):
        yield
