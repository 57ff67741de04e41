"""Cross-account sessions (SPEC 7): ExternalId always sent, 900 s, session named after the run, cached, refreshed."""

from __future__ import annotations

import boto3

from dr_adapters.aws.sessions import REFRESH_MARGIN_SECONDS, SESSION_SECONDS, AccountSessions, role_session_name
from dr_adapters.plan.types import AccountAccess

SPOKES = [AccountAccess("222222222222", "arn:aws:iam::222222222222:role/dr-orchestration", "acme-dr-7f3a"),
          AccountAccess("333333333333", "arn:aws:iam::333333333333:role/dr-orchestration", "acme-dr-9b1c")]


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def sessions_with_recorder(aws, clock):
    sessions = AccountSessions(aws, SPOKES, session_name=role_session_name("dr_acme_production-manual__2026-11-22T06:16:12+00:00"),
                               hub_account_id="123456789012", clock=clock)
    assumed = []
    sessions.register_event("provide-client-params.sts.AssumeRole", lambda params, **_: assumed.append(dict(params)))
    return sessions, assumed


def test_assume_role_sends_external_id_duration_and_run_name(aws):
    sessions, assumed = sessions_with_recorder(aws, Clock())
    identity = sessions.client("sts", "us-east-1", "222222222222").get_caller_identity()
    assert identity["Account"] == "222222222222"
    assert assumed == [{
        "RoleArn": "arn:aws:iam::222222222222:role/dr-orchestration",
        "RoleSessionName": "dr-dr_acme_production-manual__2026-11-22T06-16-12+00-00",
        "ExternalId": "acme-dr-7f3a",
        "DurationSeconds": 900,
    }]


def test_sessions_are_cached_per_account_and_the_hub_needs_none(aws):
    sessions, assumed = sessions_with_recorder(aws, Clock())
    for service, region in (("ecs", "us-east-1"), ("ecs", "us-west-2"), ("drs", "us-west-2")):
        sessions.client(service, region, "222222222222")
    sessions.client("ecs", "us-east-1", "333333333333")
    sessions.client("ecs", "us-east-1")  # hub
    sessions.client("ecs", "us-east-1", "123456789012")  # hub, named
    assert [a["RoleArn"].split(":")[4] for a in assumed] == ["222222222222", "333333333333"]


def test_sessions_are_refreshed_before_they_expire(aws):
    clock = Clock()
    sessions, assumed = sessions_with_recorder(aws, clock)
    first = sessions.client("ecs", "us-east-1", "222222222222")
    clock.now += SESSION_SECONDS - REFRESH_MARGIN_SECONDS - 1
    assert sessions.client("ecs", "us-east-1", "222222222222") is first and len(assumed) == 1
    clock.now += 2  # inside the refresh margin: new credentials before the old ones lapse
    assert sessions.client("ecs", "us-east-1", "222222222222") is not first and len(assumed) == 2


def test_role_session_name_is_valid_for_sts():
    name = role_session_name("x" * 100 + " with spaces/and:colons")
    assert len(name) <= 64 and all(c.isalnum() or c in "_+=,.@-" for c in name)


def test_hub_session_is_the_connection_session(aws):
    sessions, _ = sessions_with_recorder(aws, Clock())
    assert sessions.session(None)[0] is aws and isinstance(aws, boto3.Session)


HUB_ROLE = "arn:aws:iam::123456789012:role/dr-orchestrator-hub"


def test_with_a_hub_role_every_call_is_made_as_that_role_named_after_the_run(aws):
    """The hub's own calls and the spokes' AssumeRole go out as the hub role, assumed under the run's name,
    so CloudTrail in the hub account ties each call to the run as it does in the spokes."""
    name = role_session_name("dr_globex_production-manual__2026-11-29T03:12:00+00:00")
    clock = Clock()
    sessions = AccountSessions(aws, SPOKES, session_name=name, hub_account_id="123456789012", clock=clock,
                               hub_role_arn=HUB_ROLE, sts_region="eu-central-1")
    assumed = []
    aws.events.register("provide-client-params.sts.AssumeRole", lambda params, **_: assumed.append(dict(params)))
    hub = sessions.client("sts", "eu-central-1").get_caller_identity()
    assert hub["Arn"] == f"arn:aws:sts::123456789012:assumed-role/dr-orchestrator-hub/{name}"
    assert assumed == [{"RoleArn": HUB_ROLE, "RoleSessionName": name, "DurationSeconds": 900}]  # no ExternalId: own account

    spoke_calls = []
    sessions.session(None)[0].events.register("provide-client-params.sts.AssumeRole",
                                              lambda params, **_: spoke_calls.append(params["RoleArn"]))
    spoke = sessions.client("sts", "eu-central-1", "222222222222").get_caller_identity()
    assert spoke["Arn"] == f"arn:aws:sts::222222222222:assumed-role/dr-orchestration/{name}"
    assert spoke_calls == [SPOKES[0].role_arn]  # chained from the hub role, not from the connection's identity
    assert len(assumed) == 1  # the connection's identity assumed only the hub role

    clock.now += SESSION_SECONDS - REFRESH_MARGIN_SECONDS + 1  # the hub role's credentials are refreshed too
    sessions.client("ecs", "eu-central-1")
    assert len(assumed) == 2


def test_without_a_hub_role_the_hub_is_the_connection_and_nothing_is_assumed_for_it(aws):
    sessions = AccountSessions(aws, SPOKES, session_name="dr-x", hub_account_id="123456789012")
    assert sessions.client("sts", "us-east-1").get_caller_identity()["Arn"].endswith(":user/moto")
