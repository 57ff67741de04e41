"""Least privilege of the hub's own calls (sessions, notifications, reports), proven by recording.

Each adapter's policy is proven in tests/adapters/test_contract.py
(``test_calls_across_failover_failback_drill_and_variants_match_the_policy``): every call of a whole
lifecycle on its kit's mini-estate, plus the kit's variants, is granted by the shipped policy, and
every granted action is called.
"""

from __future__ import annotations

import boto3
from awssim.seed import demo_plan, seed_estate

from aws_calls import Calls
from dr_adapters.aws.sessions import AccountSessions
from dr_adapters.iam import HUB_ACTIONS
from dr_adapters.plan.types import AccountAccess

HUB, SPOKE = "123456789012", "222222222222"  # the demo manifest's accounts
PRIMARY, DR = "us-east-1", "us-west-2"


def test_hub_calls_are_exactly_the_hub_policy(aws, tmp_path):
    """The hub's own calls (sessions, notifications, reports) are the hub policy's actions."""
    from dr_adapters.orchestration.notify import notify
    from dr_adapters.report.render import write_report

    plan = demo_plan()
    seed_estate(plan)
    aws.client("s3", region_name=PRIMARY).create_bucket(Bucket="acme-dr-reports")
    calls = Calls()
    sessions = AccountSessions(boto3.Session(region_name=PRIMARY),
                               [AccountAccess(SPOKE, f"arn:aws:iam::{SPOKE}:role/dr-orchestration", "acme-dr-7f3a")],
                               session_name="dr-iam-test-run", hub_account_id=HUB)
    sessions.register_event("before-call", calls)
    sessions.client("drs", DR, SPOKE)  # a spoke session: AssumeRole
    notify(plan, sessions, "run_started", "DR failover started", {"run_id": "iam"})
    write_report({"dag_id": plan.dag_id, "run_id": "iam"}, "report", prefix="dr-reports",
                 buckets=[("acme-dr-reports", sessions.client("s3", PRIMARY))])
    assert set(calls) == set(HUB_ACTIONS)
