"""awssim.autoscaling: Auto Scaling groups whose instances take time, that honour suspended processes,
refuse what AWS refuses, answer in botocore's shapes, and are found by Resource Explorer (not the Tagging API)."""

from __future__ import annotations

import time

import boto3
import botocore.session
import pytest
from awssim.kits.autoscaling import seed_group
from awssim.resource_explorer import enable_explorer
from botocore.exceptions import ClientError

REGION = "eu-west-1"
TAGS = {"Customer": "acme", "Environment": "production", "dr:enabled": "true"}
MODEL = botocore.session.get_session().get_service_model("autoscaling")


def members_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def asg(session):
    return session.client("autoscaling", region_name=REGION)


def group(session, name="web"):
    return asg(session).describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def states(session, name="web"):
    return sorted(i["LifecycleState"] for i in group(session, name)["Instances"])


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"]


@pytest.fixture
def slow(monkeypatch):
    """Transitions that take 0.3 s, as AWS's take minutes."""
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")


def test_instances_are_pending_then_in_service_and_a_repeated_request_launches_nothing_more(aws, slow):
    seed_group(aws, REGION, name="web", capacity={"min": 0, "max": 4, "desired": 0}, tags=TAGS)
    asg(aws).update_auto_scaling_group(AutoScalingGroupName="web", DesiredCapacity=2)
    asg(aws).update_auto_scaling_group(AutoScalingGroupName="web", DesiredCapacity=2)  # a retry, say
    assert states(aws) == ["Pending", "Pending"]
    time.sleep(0.4)
    assert states(aws) == ["InService", "InService"]
    assert {i["HealthStatus"] for i in group(aws)["Instances"]} == {"Healthy"}
    ec2 = aws.client("ec2", region_name=REGION)
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    assert sum(len(r["Instances"]) for r in running["Reservations"]) == 2


def test_scaled_in_instances_terminate_then_leave_the_group(aws, slow):
    seed_group(aws, REGION, name="web", capacity={"min": 0, "max": 4, "desired": 2}, tags=TAGS)
    time.sleep(0.4)
    ids = [i["InstanceId"] for i in group(aws)["Instances"]]
    asg(aws).update_auto_scaling_group(AutoScalingGroupName="web", MinSize=0, MaxSize=0, DesiredCapacity=0)
    assert states(aws) == ["Terminating", "Terminating"]
    time.sleep(0.4)
    assert group(aws)["Instances"] == []
    reservations = aws.client("ec2", region_name=REGION).describe_instances(InstanceIds=ids)["Reservations"]
    assert {i["State"]["Name"] for r in reservations for i in r["Instances"]} == {"terminated"}


def test_suspended_launch_and_terminate_hold_the_group_until_resumed(aws):
    seed_group(aws, REGION, name="web", capacity={"min": 0, "max": 4, "desired": 1}, suspended=["Launch"], tags=TAGS)
    asg(aws).update_auto_scaling_group(AutoScalingGroupName="web", DesiredCapacity=3)
    assert group(aws)["DesiredCapacity"] == 3 and states(aws) == ["InService"]  # set, nothing launched
    asg(aws).resume_processes(AutoScalingGroupName="web", ScalingProcesses=["Launch"])
    assert states(aws) == ["InService"] * 3  # caught up at once

    asg(aws).suspend_processes(AutoScalingGroupName="web", ScalingProcesses=["Terminate"])
    asg(aws).set_desired_capacity(AutoScalingGroupName="web", DesiredCapacity=0)
    assert len(group(aws)["Instances"]) == 3
    asg(aws).resume_processes(AutoScalingGroupName="web")  # all of them
    assert group(aws)["Instances"] == [] and group(aws)["SuspendedProcesses"] == []


def test_what_aws_refuses(aws):
    lt = seed_group(aws, REGION, name="web", capacity={"min": 1, "max": 4, "desired": 2}, tags=TAGS)
    client = asg(aws)
    assert code_of(client.update_auto_scaling_group, AutoScalingGroupName="web", MinSize=5, MaxSize=4) == \
        "ValidationError"
    assert code_of(client.update_auto_scaling_group, AutoScalingGroupName="web", DesiredCapacity=9) == \
        "ValidationError"
    assert code_of(client.set_desired_capacity, AutoScalingGroupName="web", DesiredCapacity=5) == "ValidationError"
    assert code_of(client.set_desired_capacity, AutoScalingGroupName="web", DesiredCapacity=0) == "ValidationError"
    for call in (client.update_auto_scaling_group, client.suspend_processes, client.resume_processes):
        assert code_of(call, AutoScalingGroupName="nope") == "ValidationError"
    assert code_of(client.set_desired_capacity, AutoScalingGroupName="nope", DesiredCapacity=1) == "ValidationError"
    assert code_of(client.suspend_processes, AutoScalingGroupName="web", ScalingProcesses=["Lunch"]) == \
        "ValidationError"
    for version in ("9", "0", "latest"):
        assert code_of(client.update_auto_scaling_group, AutoScalingGroupName="web",
                       LaunchTemplate={"LaunchTemplateId": lt, "Version": version}) == "ValidationError"
    assert code_of(client.create_auto_scaling_group, AutoScalingGroupName="other", MinSize=2, MaxSize=1,
                   LaunchTemplate={"LaunchTemplateId": lt}, AvailabilityZones=[f"{REGION}a"]) == "ValidationError"
    assert code_of(client.create_auto_scaling_group, AutoScalingGroupName="other", MinSize=0, MaxSize=1,
                   LaunchTemplate={"LaunchTemplateName": "no-such-lt"}, AvailabilityZones=[f"{REGION}a"]) == \
        "ValidationError"
    g = group(aws)
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"], g["SuspendedProcesses"]) == (1, 4, 2, [])


def test_new_bounds_move_the_desired_capacity_as_aws_documents(aws):
    seed_group(aws, REGION, name="web", capacity={"min": 0, "max": 4, "desired": 1}, tags=TAGS)
    asg(aws).update_auto_scaling_group(AutoScalingGroupName="web", MinSize=3)
    assert group(aws)["DesiredCapacity"] == 3 and len(group(aws)["Instances"]) == 3
    asg(aws).update_auto_scaling_group(AutoScalingGroupName="web", MinSize=0, MaxSize=2)
    assert group(aws)["DesiredCapacity"] == 2 and len(group(aws)["Instances"]) == 2


def test_groups_answer_in_botocore_shapes(aws, slow):
    seed_group(aws, REGION, name="web", capacity={"min": 0, "max": 2, "desired": 1}, suspended=["AZRebalance"],
               tags=TAGS)
    g = group(aws)
    assert set(g) <= members_of("AutoScalingGroup")
    assert all(set(i) <= members_of("Instance") for i in g["Instances"])
    assert g["SuspendedProcesses"][0]["ProcessName"] == "AZRebalance"
    assert set(g["SuspendedProcesses"][0]) <= members_of("SuspendedProcess")
    assert {t["Key"]: t["Value"] for t in g["Tags"]} == TAGS


def test_resource_explorer_finds_groups_the_tagging_api_does_not_list(aws):
    seed_group(aws, REGION, name="web", capacity={"min": 0, "max": 0, "desired": 0}, tags=TAGS)
    enable_explorer(aws, REGION, aggregator=True)
    found = aws.client("resource-explorer-2", region_name=REGION).search(
        QueryString="resourcetype:autoscaling:autoScalingGroup tag:dr:enabled=true")["Resources"]
    assert [(r["ResourceType"], r["Arn"]) for r in found] == [("autoscaling:autoScalingGroup",
                                                               group(aws)["AutoScalingGroupARN"])]
    tags = {t["Key"]: t["Value"] for p in found[0]["Properties"] if p["Name"] == "tags" for t in p["Data"]}
    assert tags == TAGS
    tagging = aws.client("resourcegroupstaggingapi", region_name=REGION)
    assert tagging.get_resources(TagFilters=[{"Key": "dr:enabled", "Values": ["true"]}])["ResourceTagMappingList"] == []


def test_the_extension_answers_in_server_mode(server_url):
    session = boto3.Session(region_name=REGION)
    client = session.client("autoscaling", endpoint_url=server_url)
    ec2 = session.client("ec2", endpoint_url=server_url)
    lt = ec2.create_launch_template(LaunchTemplateName="srv-lt", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})["LaunchTemplate"]["LaunchTemplateId"]
    client.create_auto_scaling_group(AutoScalingGroupName="srv", MinSize=0, MaxSize=2, DesiredCapacity=0,
                                     LaunchTemplate={"LaunchTemplateId": lt}, AvailabilityZones=[f"{REGION}a"])
    client.suspend_processes(AutoScalingGroupName="srv", ScalingProcesses=["Launch"])
    client.update_auto_scaling_group(AutoScalingGroupName="srv", DesiredCapacity=2)
    assert client.describe_auto_scaling_groups(AutoScalingGroupNames=["srv"])["AutoScalingGroups"][0]["Instances"] == []
    assert code_of(client.suspend_processes, AutoScalingGroupName="nope") == "ValidationError"
    client.resume_processes(AutoScalingGroupName="srv", ScalingProcesses=["Launch"])
    instances = client.describe_auto_scaling_groups(AutoScalingGroupNames=["srv"])["AutoScalingGroups"][0]["Instances"]
    assert [i["LifecycleState"] for i in instances] == ["InService", "InService"]
