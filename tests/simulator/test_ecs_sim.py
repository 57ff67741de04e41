"""awssim.ecs_clusters: ECS services refused where AWS refuses them (moto 5.2 creates and scales services
in a deleted cluster, and deletes a cluster that still runs services)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

REGION = "ap-southeast-2"
CONTAINERS = [{"name": "web", "image": "public.ecr.aws/nginx/nginx:latest", "memory": 128}]


@pytest.fixture
def ecs(aws):
    client = aws.client("ecs", region_name=REGION)
    client.create_cluster(clusterName="shop")
    client.register_task_definition(family="web", containerDefinitions=CONTAINERS)
    return client


def refused(call, **kwargs):
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_create_and_update_service_are_refused_in_a_deleted_cluster(ecs):
    ecs.create_service(cluster="shop", serviceName="web", taskDefinition="web", desiredCount=0)
    ecs.delete_service(cluster="shop", service="web", force=True)
    ecs.delete_cluster(cluster="shop")
    assert ecs.describe_clusters(clusters=["shop"])["clusters"][0]["status"] == "INACTIVE"

    assert refused(ecs.create_service, cluster="shop", serviceName="web", taskDefinition="web", desiredCount=0) == (
        "ClusterNotFoundException", "The referenced cluster was inactive.")
    assert refused(ecs.update_service, cluster="shop", service="web", desiredCount=2) == (
        "ClusterNotFoundException", "The referenced cluster was inactive.")
    # nothing was created in it
    assert [s["status"] for s in ecs.describe_services(cluster="shop", services=["web"])["services"]] == ["INACTIVE"]


def test_create_service_is_refused_in_a_cluster_that_never_existed(ecs):
    code, _ = refused(ecs.create_service, cluster="nowhere", serviceName="web", taskDefinition="web", desiredCount=0)
    assert code == "ClusterNotFoundException"
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):  # botocore's modelled exception
        ecs.create_service(cluster="nowhere", serviceName="web", taskDefinition="web", desiredCount=0)


def test_a_cluster_with_active_services_cannot_be_deleted(ecs):
    ecs.create_service(cluster="shop", serviceName="web", taskDefinition="web", desiredCount=0)
    with pytest.raises(ecs.exceptions.ClusterContainsServicesException):
        ecs.delete_cluster(cluster="shop")
    assert ecs.describe_clusters(clusters=["shop"])["clusters"][0]["status"] == "ACTIVE"
    ecs.delete_service(cluster="shop", service="web", force=True)
    assert ecs.delete_cluster(cluster="shop")["cluster"]["status"] == "INACTIVE"


def test_a_service_of_an_inactive_or_awsvpc_task_definition_is_refused_as_on_aws(ecs):
    ecs.deregister_task_definition(taskDefinition="web:1")
    assert refused(ecs.create_service, cluster="shop", serviceName="web", taskDefinition="web:1", desiredCount=0) == (
        "ClientException", "TaskDefinition is inactive")

    ecs.register_task_definition(family="api", containerDefinitions=CONTAINERS, networkMode="awsvpc")
    assert refused(ecs.create_service, cluster="shop", serviceName="api", taskDefinition="api", desiredCount=0) == (
        "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")

    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="api", Description="api")["GroupId"]
    for _ in range(5):  # moto alone names any listed subnet (a set's order): the missing one, every time
        assert refused(ecs.create_service, cluster="shop", serviceName="api", taskDefinition="api", desiredCount=0,
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet, "subnet-0123456789abcdef0"]}}
                       ) == ("InvalidParameterException", f"Error retrieving subnet information for [{subnet}, "
                             "subnet-0123456789abcdef0]: The subnet ID 'subnet-0123456789abcdef0' does not exist "
                             "(ErrorCode: InvalidSubnetID.NotFound)")
    code, message = refused(ecs.create_service, cluster="shop", serviceName="api", taskDefinition="api", desiredCount=0,
                            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet],
                                                                          "securityGroups": [group, "sg-0123456789abcdef0"]}})
    assert code == "InvalidParameterException" and "security group 'sg-0123456789abcdef0' does not exist" in message
    ecs.create_service(cluster="shop", serviceName="api", taskDefinition="api", desiredCount=0,
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})


def test_fargate_tasks_run_with_their_task_definitions_cpu_and_list_by_launch_type(ecs, aws):
    """What preflight reads to count the Fargate vCPUs in use: moto's RunTask of an awsvpc task failed inside moto."""
    ec2 = aws.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="batch", Description="batch")["GroupId"]
    ecs.register_task_definition(family="batch", networkMode="awsvpc", cpu="512", memory="1024",
                                 requiresCompatibilities=["FARGATE"], containerDefinitions=CONTAINERS)
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    tasks = ecs.run_task(cluster="shop", taskDefinition="batch", launchType="FARGATE", count=2,
                         networkConfiguration=network)["tasks"]
    assert [(t["cpu"], t["memory"], t["launchType"]) for t in tasks] == [("512", "1024", "FARGATE")] * 2
    details = {d["name"]: d["value"] for d in tasks[0]["attachments"][0]["details"]}
    assert details["privateDnsName"] == f"ip-{details['privateIPv4Address'].replace('.', '-')}.{REGION}.compute.internal"
    fargate = ecs.list_tasks(cluster="shop", launchType="FARGATE", desiredStatus="RUNNING")["taskArns"]
    assert sorted(fargate) == sorted(t["taskArn"] for t in tasks)
    assert ecs.list_tasks(cluster="shop", launchType="EC2")["taskArns"] == []
    assert [t["cpu"] for t in ecs.describe_tasks(cluster="shop", tasks=fargate)["tasks"]] == ["512", "512"]


def test_server_mode(server_url):
    ecs = boto3.Session(region_name=REGION).client("ecs", region_name=REGION, endpoint_url=server_url)
    ecs.create_cluster(clusterName="srv")
    ecs.register_task_definition(family="web", containerDefinitions=CONTAINERS)
    ecs.delete_cluster(cluster="srv")
    with pytest.raises(ecs.exceptions.ClusterNotFoundException, match="inactive"):
        ecs.create_service(cluster="srv", serviceName="web", taskDefinition="web", desiredCount=0)
