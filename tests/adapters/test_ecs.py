"""ECS adapter: what only ECS has (creating a missing DR service, task definitions, tasks still starting).

The contract every adapter keeps is proven in test_contract.py on the ECS kit's mini-estate.
"""

from __future__ import annotations

import pytest
from awssim.kits.ecs import seed_service
from botocore.exceptions import ClientError

from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.ecs import EcsServiceAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase
from aws_calls import recorded

PRIMARY, DR, SPOKE = "us-east-1", "us-west-2", "222222222222"
PROD = 4
adapter = EcsServiceAdapter()


def unit_for(account_id=None, **config):
    config = {"cluster": "web", "service": "frontend", "drCluster": "web-dr", "desiredCount": PROD, **config}
    spec = ResourceSpec("frontend-svc", "EcsService", config, account_id=account_id)
    return WorkUnit("ecs-frontend", "EcsService", account_id, (spec,))


@pytest.fixture
def estate(aws):
    seed_service(aws, PRIMARY, cluster="web", service="frontend", desired_count=PROD)
    seed_service(aws, DR, cluster="web-dr", service="frontend", desired_count=0)
    return aws


def counts(session, region, cluster):
    svc = session.client("ecs", region_name=region).describe_services(cluster=cluster, services=["frontend"])
    svc = svc["services"][0]
    return svc["desiredCount"], svc["runningCount"]


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)


def test_failover_serves_from_dr_and_scales_primary_to_zero(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for()
    assert all(f.ok for f in adapter.preflight(ctx, unit))

    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert counts(estate, DR, "web-dr") == (PROD, PROD)
    assert counts(estate, PRIMARY, "web") == (PROD, PROD)  # still serving until cleanup
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert counts(estate, PRIMARY, "web") == (0, 0)
    assert counts(estate, DR, "web-dr") == (PROD, PROD)
    assert set(calls) - {"sts:AssumeRole"} <= set(adapter.iam_actions)


def test_drill_fails_when_dr_service_is_missing(aws, make_ctx):
    seed_service(aws, PRIMARY, cluster="web", service="frontend", desired_count=PROD)
    ctx = make_ctx("drill")
    with pytest.raises(AdapterError, match="frontend-svc.*does not exist"):
        converge(adapter, Phase.ACTIVATE, ctx, unit_for())
    assert [c.status for c in adapter.validate(ctx, unit_for())] == [Health.UNHEALTHY]


def without_dr_service(session):
    """The primary serves; DR has a cluster and a task definition but no service yet."""
    seed_service(session, PRIMARY, cluster="web", service="frontend", desired_count=PROD)
    dr = session.client("ecs", region_name=DR)
    dr.create_cluster(clusterName="web-dr")
    dr.register_task_definition(family="frontend", containerDefinitions=[{"name": "f", "image": "x", "memory": 64}])
    return dr


def test_instantiate_creates_missing_dr_service_at_zero(aws, make_ctx):
    dr = without_dr_service(aws)
    ctx = make_ctx("failover")
    unit = unit_for(taskDefinition="frontend:1")
    assert all(f.ok for f in adapter.preflight(ctx, unit))

    converge(adapter, Phase.INSTANTIATE, ctx, unit)
    assert counts(aws, DR, "web-dr") == (0, 0)
    arn = dr.describe_services(cluster="web-dr", services=["frontend"])["services"][0]["serviceArn"]
    tags = {t["key"]: t["value"] for t in dr.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"Customer": "acme", "Environment": "production"}

    run(ctx, unit, [Phase.ACTIVATE, Phase.CLEANUP])
    assert counts(aws, DR, "web-dr") == (PROD, PROD)


def test_dry_run_of_a_failover_that_would_create_the_dr_service(aws, make_ctx):
    dr = without_dr_service(aws)
    ctx, calls = recorded(make_ctx("failover", dry_run=True))
    run(ctx, unit_for(taskDefinition="frontend:1"))
    assert calls.mutating == []
    assert [(c["operation"], c["region"]) for c in ctx.changes] == [("create_service", DR), ("update_service", PRIMARY)]
    assert dr.describe_services(cluster="web-dr", services=["frontend"])["services"] == []


def failing(findings):
    return [f.message for f in findings if not f.ok]


@pytest.mark.parametrize("gone", ["deleted", "never created"])
def test_a_missing_dr_cluster_fails_preflight_by_name_and_aws_refuses_the_service(aws, make_ctx, gone):
    """The DR service is missing but has a taskDefinition: INSTANTIATE would create it -- in a cluster that
    must be ACTIVE. AWS refuses CreateService in a deleted (INACTIVE) or unknown cluster, mid-failover."""
    dr = without_dr_service(aws)
    if gone == "deleted":
        dr.delete_cluster(cluster="web-dr")
        assert dr.describe_clusters(clusters=["web-dr"])["clusters"][0]["status"] == "INACTIVE"
    ctx, unit = make_ctx("failover"), unit_for(drCluster="web-dr" if gone == "deleted" else "web-gone",
                                               taskDefinition="frontend:1")
    cluster = "web-dr" if gone == "deleted" else "web-gone"
    problems = failing(adapter.preflight(ctx, unit))
    assert any(f"ECS cluster {cluster} in {DR}" in p and "create the cluster" in p for p in problems), problems

    with pytest.raises(ClientError) as refused:  # what the failover would have met without preflight
        converge(adapter, Phase.INSTANTIATE, ctx, unit)
    assert refused.value.response["Error"]["Code"] == "ClusterNotFoundException"
    assert dr.list_services(cluster="web-dr")["serviceArns"] == []


def test_a_created_service_needs_its_network_and_its_task_definition_s_roles(aws, make_ctx):
    dr = without_dr_service(aws)
    ec2, iam = aws.client("ec2", region_name=DR), aws.client("iam")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="frontend", Description="frontend")["GroupId"]
    role = iam.create_role(RoleName="frontend-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ghost = role.replace("frontend-exec", "frontend-task-gone")
    dr.register_task_definition(family="frontend-vpc", networkMode="awsvpc", executionRoleArn=role, taskRoleArn=ghost,
                                containerDefinitions=[{"name": "f", "image": "x", "memory": 64}])
    ctx = make_ctx("failover")

    problems = failing(adapter.preflight(ctx, unit_for(taskDefinition="frontend-vpc")))
    assert any("awsvpc" in p and "needs subnets" in p for p in problems), problems
    assert any("frontend-task-gone" in p and "frontend-exec" not in p for p in problems), problems

    iam.create_role(RoleName="frontend-task-gone", AssumeRolePolicyDocument="{}")
    unit = unit_for(taskDefinition="frontend-vpc", subnets=[subnet, "subnet-0deadbeef0000000a"],
                    securityGroups=[group, "sg-0deadbeef0000000b"])
    problems = failing(adapter.preflight(ctx, unit))
    assert len(problems) == 2 and "subnet-0deadbeef0000000a" in problems[0] and subnet not in problems[0]
    assert "sg-0deadbeef0000000b" in problems[1] and group not in problems[1], problems
    with pytest.raises(ClientError, match="subnet-0deadbeef0000000a"):  # AWS refuses the network too
        converge(adapter, Phase.INSTANTIATE, ctx, unit)

    unit = unit_for(taskDefinition="frontend-vpc", subnets=[subnet], securityGroups=[group])
    assert failing(adapter.preflight(ctx, unit)) == []
    converge(adapter, Phase.INSTANTIATE, ctx, unit)
    assert counts(aws, DR, "web-dr") == (0, 0)


def test_an_unplanned_failover_leaving_us_east_1_reads_no_role(aws, make_ctx):
    """IAM answers in us-east-1 only: an unplanned run leaving it makes no call there."""
    dr = without_dr_service(aws)
    dr.register_task_definition(family="frontend", executionRoleArn="arn:aws:iam::123456789012:role/frontend-exec",
                                containerDefinitions=[{"name": "f", "image": "x", "memory": 64}])
    unit = unit_for(taskDefinition="frontend:2")
    assert any("frontend-exec" in m for m in failing(adapter.preflight(make_ctx("failover"), unit)))  # planned: read
    ctx, calls = recorded(make_ctx("failover"))
    ctx.unplanned = True
    assert failing(adapter.preflight(ctx, unit)) == []
    assert "iam:GetRole" not in calls and all(c.region != PRIMARY for c in calls)


def test_instantiate_without_task_definition_names_the_fix(aws, make_ctx):
    seed_service(aws, PRIMARY, cluster="web", service="frontend", desired_count=PROD)
    ctx = make_ctx("failover")
    assert not all(f.ok for f in adapter.preflight(ctx, unit_for()))
    with pytest.raises(AdapterError, match="taskDefinition") as err:
        converge(adapter, Phase.INSTANTIATE, ctx, unit_for())
    assert err.value.remediation


def test_missing_source_is_only_a_warning_when_target_exists(aws, make_ctx):
    seed_service(aws, DR, cluster="web-dr", service="frontend", desired_count=0)
    findings = adapter.preflight(make_ctx("failover"), unit_for())
    assert all(f.ok for f in findings)
    assert any("warning" in f.message and PRIMARY in f.message for f in findings)


def test_replicate_fails_when_source_service_is_gone(estate, make_ctx):
    ctx = make_ctx("failover")
    unit = unit_for()
    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP])
    estate.client("ecs", region_name=PRIMARY).delete_service(cluster="web", service="frontend")
    with pytest.raises(AdapterError, match="does not exist") as err:
        converge(adapter, Phase.REPLICATE, ctx, unit)
    assert "desired count 0" in err.value.remediation


def test_validate_degraded_while_tasks_are_starting(aws, make_ctx, monkeypatch):
    seed_service(aws, DR, cluster="web-dr", service="frontend", desired_count=0)
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")  # moto starts a new service with this many running
    aws.client("ecs", region_name=DR).create_service(
        cluster="web-dr", serviceName="frontend-2", taskDefinition="frontend:1", desiredCount=PROD,
        tags=[{"key": "Customer", "value": "acme"}, {"key": "Environment", "value": "production"}],
    )
    unit = unit_for(drService="frontend-2")
    assert [c.status for c in adapter.validate(make_ctx("failover"), unit)] == [Health.DEGRADED]
