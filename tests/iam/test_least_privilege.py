"""Least privilege, proven by recording: every AWS call each adapter makes is granted by its shipped
policy, and every action the policy grants for our own calls is made at least once.

Each adapter is driven, in-process against moto + the simulator extension, through every step of a
run (preflight, INSTANTIATE, ACTIVATE, validate, CLEANUP, REPLICATE) for a failover, then a
failback, then a drill, over the demo estate (hub and spoke accounts), plus the variants the demo
estate does not reach (Aurora in mode failover, an ECS service INSTANTIATE must create, DRS
terminating its source instance, ...). Every call goes through ``tests/aws_calls.py``'s botocore
recorder, waiters' polls included (e.g. route53:GetChange for ``resource_record_sets_changed``).

The service-side actions (``Adapter.service_side_actions``: what AWS needs on our behalf) are not
our calls: the test also proves the adapter never makes them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from awssim.demo import demo_plan, seed_estate
from awssim.estate.aurora import seed_aurora_global
from awssim.estate.drs import seed_drs_servers
from awssim.estate.ecs import seed_service
from awssim.estate.lambda_function import seed_function

from aws_calls import Calls
from dr_adapters.adapters.aurora import AuroraAdapter
from dr_adapters.adapters.base import Adapter, RunContext
from dr_adapters.adapters.drs import DrsAdapter
from dr_adapters.adapters.ecs import EcsServiceAdapter
from dr_adapters.adapters.lambda_function import LambdaFunctionAdapter
from dr_adapters.adapters.registry import ADAPTER_CLASSES
from dr_adapters.adapters.route53 import Route53RecordAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.aws.sessions import AccountSessions
from dr_adapters.iam import HUB_ACTIONS, adapter_name, service_side
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import AccountAccess, Health, Operation, Phase, Regions, Scope

ROOT = Path(__file__).resolve().parents[2]
HUB, SPOKE = "123456789012", "222222222222"  # the demo manifest's accounts
PRIMARY, DR = "us-east-1", "us-west-2"
SPOKE_ROLE = f"arn:aws:iam::{SPOKE}:role/dr-orchestration"
SCOPE_TAGS = {"Customer": "acme", "Environment": "production"}
SCOPE_TAGS_KW = {"customer": "acme", "environment": "production"}
STEPS = ("preflight", Phase.INSTANTIATE, Phase.ACTIVATE, "validate", Phase.CLEANUP, Phase.REPLICATE)
LIFECYCLE = ("failover", "failback", "drill")


class Recorder:
    """One ``Calls`` per adapter; each run context gets a hub session of its own, so a recorder
    never hears another context's calls (botocore handlers live on the session)."""

    def __init__(self) -> None:
        self.calls = Calls()

    def ctx(self, operation: str) -> RunContext:
        sessions = AccountSessions(
            boto3.Session(region_name=PRIMARY),
            [AccountAccess(SPOKE, SPOKE_ROLE, "acme-dr-7f3a")],
            session_name="dr-iam-test-run",
            hub_account_id=HUB,
        )
        sessions.register_event("before-call", self.calls)
        return RunContext(operation=Operation(operation), regions=Regions(primary=PRIMARY, dr=DR),
                          scope=Scope("acme", "production"), aws=sessions, rpo_minutes=30,
                          run_id=f"iam-{operation}", log=logging.getLogger("dr.test.iam"))


def drive(adapter: Adapter, ctx: RunContext, units: list[WorkUnit], steps=STEPS,
          between: Callable[[object], None] | None = None) -> None:
    """Every step of a run, as the DAG orders them; the checks must pass (no error path shortcuts)."""
    for step in steps:
        for unit in units:
            if step == "preflight":
                bad = [f for f in adapter.preflight(ctx, unit) if not f.ok]
                assert not bad, f"{ctx.operation.value} preflight of {unit.unit_id}: {bad}"
            elif step == "validate":
                bad = [h for h in adapter.validate(ctx, unit) if h.status is not Health.HEALTHY]
                assert not bad, f"{ctx.operation.value} validate of {unit.unit_id}: {bad}"
            else:
                converge(adapter, step, ctx, unit, delay=0)
        if between:
            between(step)


def demo_units(cls: type[Adapter]) -> list[WorkUnit]:
    units = [u for u in demo_plan().units if u.action in cls.actions]
    assert units and any(u.account_id == SPOKE for u in units), "the demo estate has hub and spoke resources"
    return units


def lifecycle(adapter: Adapter, rec: Recorder, units: list[WorkUnit]) -> None:
    for operation in LIFECYCLE:
        drive(adapter, rec.ctx(operation), units)


def unit(action: str, rid: str, config: dict, account_id: str | None = None) -> WorkUnit:
    return WorkUnit(f"iam-{rid}", action, account_id, (ResourceSpec(rid, action, config, account_id=account_id),))


# -- variants: branches the demo estate does not reach ------------------------------------------
def drs_variants(aws: boto3.Session, adapter: Adapter, rec: Recorder) -> None:
    # CLEANUP with sourceInstanceAction terminate: ec2:TerminateInstances on the source instance.
    (terminated,) = seed_drs_servers(HUB, PRIMARY, DR, ["iam-terminate"], SCOPE_TAGS)
    drive(adapter, rec.ctx("failover"), [unit("DRS", "iam-terminate", {"sourceServerId": terminated,
                                                                        "sourceInstanceAction": "terminate"})])
    # A recovery instance found stopped (someone stopped it after INSTANTIATE): ACTIVATE starts it.
    (stopped,) = seed_drs_servers(HUB, PRIMARY, DR, ["iam-stopped"], SCOPE_TAGS)
    ctx = rec.ctx("failover")

    def stop_recovery_instance(step):
        if step is Phase.INSTANTIATE:  # out of band: not through the recorded context
            drs = aws.client("drs", region_name=DR)
            (ri,) = drs.describe_recovery_instances(filters={"sourceServerIDs": [stopped]})["items"]
            aws.client("ec2", region_name=DR).stop_instances(InstanceIds=[ri["ec2InstanceID"]])

    drive(adapter, ctx, [unit("DRS", "iam-stopped", {"sourceServerId": stopped})], between=stop_recovery_instance)
    assert any(c["operation"] == "start_instances" for c in ctx.changes)


def aurora_variants(aws: boto3.Session, adapter: Adapter, rec: Recorder) -> None:
    # mode failover: FailoverGlobalCluster (the old writer region impaired).
    seed_aurora_global(aws, "iam-fo-global", PRIMARY, "iam-fo-use1", DR, "iam-fo-usw2", SCOPE_TAGS)
    config = {"globalClusterIdentifier": "iam-fo-global", "primaryClusterIdentifier": "iam-fo-use1",
              "drClusterIdentifier": "iam-fo-usw2", "mode": "failover"}
    ctx = rec.ctx("failover")
    drive(adapter, ctx, [unit("AuroraMySQL", "iam-fo-db", config)])
    assert any(c["operation"] == "failover_global_cluster" for c in ctx.changes)


def ecs_variants(aws: boto3.Session, adapter: Adapter, rec: Recorder) -> None:
    # The DR service does not exist yet: INSTANTIATE creates it from taskDefinition (CreateService).
    seed_service(aws, PRIMARY, cluster="iam-web", service="iam-front", desired_count=2)
    dr = aws.client("ecs", region_name=DR)
    dr.create_cluster(clusterName="iam-web")
    dr.register_task_definition(family="iam-front", containerDefinitions=[{"name": "f", "image": "x", "memory": 64}])
    ctx = rec.ctx("failover")
    drive(adapter, ctx, [unit("EcsService", "iam-front", {"cluster": "iam-web", "service": "iam-front",
                                                          "desiredCount": 2, "taskDefinition": "iam-front:1"})])
    assert any(c["operation"] == "create_service" for c in ctx.changes)


def lambda_variants(aws: boto3.Session, adapter: Adapter, rec: Recorder) -> None:
    # A release deployed to the primary but never published: the failover's REPLICATE publishes it
    # (PublishVersion, then the published_version_active waiter: GetFunctionConfiguration) and the
    # failback's ACTIVATE points the alias at it (UpdateAlias).
    seed_function(aws, PRIMARY, name="iam-fn", **SCOPE_TAGS_KW)
    seed_function(aws, DR, name="iam-fn", parked=True, **SCOPE_TAGS_KW)
    aws.client("lambda", region_name=PRIMARY).update_function_code(FunctionName="iam-fn", ZipFile=_zip("v2"))
    units = [unit("LambdaFunction", "iam-fn", {"functionName": "iam-fn", "alias": "live"})]
    failover, failback = rec.ctx("failover"), rec.ctx("failback")
    drive(adapter, failover, units)
    drive(adapter, failback, units)
    operations = [c["operation"] for c in failover.changes + failback.changes]
    assert "publish_version" in operations and "update_alias" in operations


def _zip(marker: str) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", f"def handler(event, context):\n    return {{'release': {marker!r}}}\n")
    return buf.getvalue()


VARIANTS = {
    DrsAdapter: drs_variants,
    AuroraAdapter: aurora_variants,
    EcsServiceAdapter: ecs_variants,
    LambdaFunctionAdapter: lambda_variants,
    Route53RecordAdapter: None,  # the demo estate reaches every call: UPSERT + GetChange (INSYNC waiter)
}


def test_every_adapter_is_covered():
    assert set(VARIANTS) == set(ADAPTER_CLASSES)


def shipped_policy(cls: type[Adapter]) -> list[dict]:
    return json.loads((ROOT / "include" / "iam" / "adapters" / f"{adapter_name(cls)}.json").read_text())["Statement"]


def allowed_unconditionally(statements: list[dict], action: str) -> bool:
    from fnmatch import fnmatchcase

    for s in statements:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        if s["Effect"] == "Allow" and "Condition" not in s and s["Resource"] == "*" \
                and any(fnmatchcase(action.lower(), a.lower()) for a in actions):
            return True
    return False


@pytest.mark.parametrize("cls", ADAPTER_CLASSES, ids=adapter_name)
def test_calls_across_failover_failback_and_drill_match_the_policy(aws, cls):
    seed_estate(demo_plan())
    adapter, rec = cls(), Recorder()
    lifecycle(adapter, rec, demo_units(cls))
    if VARIANTS[cls]:
        VARIANTS[cls](aws, adapter, rec)

    sts = {c for c in rec.calls if c.startswith("sts:")}
    called = {c for c in rec.calls if not c.startswith("sts:")}
    declared = set(cls.iam_actions)
    assert sts == {"sts:AssumeRole"}, "the hub reaches the spoke account with AssumeRole only (hub policy)"
    assert called - declared == set(), f"{cls.__name__} calls actions missing from iam_actions: {sorted(called - declared)}"
    assert declared - called == set(), f"{cls.__name__} declares actions it never calls: {sorted(declared - called)}"
    # The service-side actions are what AWS does on our behalf: never one of our calls.
    assert called & (service_side(cls) - declared) == set()
    # And the file we ship grants each call without conditions.
    policy = shipped_policy(cls)
    assert [c for c in sorted(called) if not allowed_unconditionally(policy, c)] == []


def test_hub_calls_are_exactly_the_hub_policy(aws, tmp_path):
    """The hub's own calls (sessions, notifications, reports) are the hub policy's actions."""
    from dr_adapters.orchestration.notify import notify
    from dr_adapters.report.render import write_report

    plan = demo_plan()
    seed_estate(plan)
    aws.client("s3", region_name=PRIMARY).create_bucket(Bucket="acme-dr-reports")
    rec = Recorder()
    sessions = rec.ctx("failover").aws
    sessions.client("drs", DR, SPOKE)  # a spoke session: AssumeRole
    notify(plan, sessions, "run_started", "DR failover started", {"run_id": "iam"})
    write_report({"dag_id": plan.dag_id, "run_id": "iam"}, "report", bucket="acme-dr-reports", prefix="dr-reports",
                 s3_client=sessions.client("s3", PRIMARY))
    assert set(rec.calls) == set(HUB_ACTIONS)
