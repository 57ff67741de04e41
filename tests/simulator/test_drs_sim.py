"""awssim.drs: the DRS service moto 5.2 lacks, answering in botocore's shapes, in-process and as a server."""

from __future__ import annotations

import time

import boto3
import pytest
import requests
from awssim.drs import seed_source_server, set_replication
from awssim.kits.drs import seed_drs_servers
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError
from botocore.validate import ParamValidator

from dr_adapters.aws.waiters import get_waiter

HUB, SPOKE = "123456789012", "222222222222"
PRIMARY, DR = "us-east-1", "us-west-2"
TAGS = {"Customer": "acme", "Environment": "production"}


def assert_shape(client, operation, response):
    """The reply satisfies the operation's output shape: required members, types, lengths, enums."""
    shape = client.meta.service_model.operation_model(operation).output_shape
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, shape)  # types, required members, minimum lengths
    assert not report.has_errors(), report.generate_report()
    _check_limits(body, shape, operation)


def _check_limits(value, shape, path):
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                _check_limits(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        assert len(value) <= shape.metadata.get("max", len(value)), path
        for n, item in enumerate(value):
            _check_limits(item, shape.member, f"{path}[{n}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            _check_limits(item, shape.value, f"{path}.{key}")
    elif shape.type_name == "string":
        assert not shape.enum or value in shape.enum, f"{path}={value!r} not in {shape.enum}"
        assert len(value) <= shape.metadata.get("max", len(value)), f"{path}={value!r} too long"


@pytest.fixture(params=["in-process", "server"])
def drs_env(request, monkeypatch):
    """(client factory, mode): clients reach the simulator in-process (mock_aws) or over HTTP."""
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")
    if request.param == "in-process":
        session = request.getfixturevalue("aws")
        yield (lambda service, region, **kw: session.client(service, region_name=region, **kw)), request.param
        return
    import awssim
    from moto.core.base_backend import BackendDict
    from moto.server import ThreadedMotoServer

    awssim.install()
    BackendDict.reset()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield (lambda service, region, **kw: boto3.client(
            service, region_name=region, endpoint_url=f"http://{host}:{port}", **kw)), request.param
    finally:
        server.stop()
        BackendDict.reset()


def describe(drs, *ids):
    return {s["sourceServerID"]: s for s in drs.describe_source_servers(filters={"sourceServerIDs": list(ids)})["items"]}


def test_every_operation_answers_in_botocore_shapes(drs_env):
    client, _ = drs_env
    drs, ec2 = client("drs", DR), client("ec2", DR)
    (sid,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)

    reply = drs.describe_source_servers(filters={"sourceServerIDs": [sid]})
    assert_shape(drs, "DescribeSourceServers", reply)
    server = reply["items"][0]
    assert server["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    assert server["dataReplicationInfo"]["lagDuration"] == "PT5S"
    assert server["sourceCloudProperties"]["originRegion"] == PRIMARY
    assert server["replicationDirection"] == "FAILOVER" and server["tags"] == TAGS
    config = drs.get_launch_configuration(sourceServerID=sid)
    assert_shape(drs, "GetLaunchConfiguration", config)
    updated = drs.update_launch_configuration(sourceServerID=sid, launchDisposition="STOPPED", copyTags=True)
    assert_shape(drs, "UpdateLaunchConfiguration", updated)
    assert updated["launchDisposition"] == "STOPPED" and updated["ec2LaunchTemplateID"] == config["ec2LaunchTemplateID"]

    started = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], tags={"dr:run-id": "r1"})
    assert_shape(drs, "StartRecovery", started)
    job_id = started["job"]["jobID"]
    assert started["job"]["status"] == "PENDING" and started["job"]["initiatedBy"] == "START_RECOVERY"
    jobs = drs.describe_jobs(filters={"jobIDs": [job_id]})
    assert_shape(drs, "DescribeJobs", jobs)
    (job,) = jobs["items"]
    assert job["status"] == "COMPLETED" and job["type"] == "LAUNCH"
    (participant,) = job["participatingServers"]
    assert participant["launchStatus"] == "LAUNCHED"
    logs = drs.describe_job_log_items(jobID=job_id)
    assert_shape(drs, "DescribeJobLogItems", logs)
    assert [i["event"] for i in logs["items"]] == ["JOB_START", "LAUNCH_START", "JOB_END"]

    instances = drs.describe_recovery_instances(filters={"sourceServerIDs": [sid]})
    assert_shape(drs, "DescribeRecoveryInstances", instances)
    (ri,) = instances["items"]
    assert ri["recoveryInstanceID"] == ri["ec2InstanceID"] == participant["recoveryInstanceID"]
    assert ri["ec2InstanceState"] == "STOPPED" and ri["isDrill"] is False  # launchDisposition STOPPED
    (ec2_instance,) = ec2.describe_instances(InstanceIds=[ri["ec2InstanceID"]])["Reservations"][0]["Instances"]
    assert ec2_instance["State"]["Name"] == "stopped"
    assert {"Key": "Customer", "Value": "acme"} in ec2_instance["Tags"]  # copyTags

    reversed_ = drs.reverse_replication(recoveryInstanceID=ri["recoveryInstanceID"])
    assert_shape(drs, "ReverseReplication", reversed_)
    assert reversed_["reversedDirectionSourceServerArn"].startswith(f"arn:aws:drs:{PRIMARY}:{HUB}:source-server/s-")

    for op, reply in (("StopReplication", drs.stop_replication(sourceServerID=sid)),
                      ("StartReplication", drs.start_replication(sourceServerID=sid))):
        assert_shape(drs, op, reply)
    assert reply["sourceServer"]["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"  # no sync delay

    arn = server["arn"]
    drs.tag_resource(resourceArn=arn, tags={"Owner": "sre"})
    drs.untag_resource(resourceArn=arn, tagKeys=["Customer"])
    tags = drs.list_tags_for_resource(resourceArn=arn)
    assert_shape(drs, "ListTagsForResource", tags)
    assert tags["tags"] == {"Environment": "production", "Owner": "sre"}

    terminated = drs.terminate_recovery_instances(recoveryInstanceIDs=[ri["recoveryInstanceID"]])
    assert_shape(drs, "TerminateRecoveryInstances", terminated)
    assert terminated["job"]["type"] == "TERMINATE"
    assert drs.describe_recovery_instances(filters={"sourceServerIDs": [sid]})["items"] == []
    state = ec2.describe_instances(InstanceIds=[ri["ec2InstanceID"]])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "terminated"


def test_errors_use_the_service_error_shapes(drs_env):
    client, _ = drs_env
    drs = client("drs", DR)
    unchecked = client("drs", DR, config=Config(parameter_validation=False))
    (sid,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)

    def error(call):
        with pytest.raises(ClientError) as caught:
            call()
        return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]

    too_many = [{"sourceServerID": sid}] * 201
    assert error(lambda: unchecked.start_recovery(sourceServers=too_many)) == ("ValidationException", 400)
    assert error(lambda: drs.start_recovery(sourceServers=[{"sourceServerID": "s-00000000000000000"}]))[0] == "ResourceNotFoundException"
    assert error(lambda: drs.start_replication(sourceServerID=sid)) == ("ConflictException", 409)
    assert error(lambda: drs.reverse_replication(recoveryInstanceID="i-00000000000000000")) == ("ResourceNotFoundException", 404)
    assert error(lambda: drs.describe_source_servers(nextToken="bogus")) == ("ValidationException", 400)


def test_paging_and_filters(drs_env):
    client, _ = drs_env
    drs = client("drs", DR)
    ids = [seed_source_server(HUB, DR, f"h{n}", f"i-0000000000000000{n}", PRIMARY, TAGS) for n in range(5)]
    pages = list(drs.get_paginator("describe_source_servers").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert [s["sourceServerID"] for p in pages for s in p["items"]] == ids
    assert list(describe(drs, ids[1], ids[3])) == [ids[1], ids[3]]
    assert client("drs", PRIMARY).describe_source_servers()["items"] == []  # state is per region


def test_job_moves_pending_started_completed_with_time(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "2")
    (sid,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)
    drs = aws.client("drs", region_name=DR)
    job_id = drs.start_recovery(sourceServers=[{"sourceServerID": sid}])["job"]["jobID"]

    def status():
        return drs.describe_jobs(filters={"jobIDs": [job_id]})["items"][0]["status"]

    assert status() == "PENDING"
    assert describe(drs, sid)[sid]["lifeCycle"]["lastLaunch"]["status"] == "PENDING"
    with pytest.raises(ClientError, match="ConflictException"):  # one launch at a time per server
        drs.start_recovery(sourceServers=[{"sourceServerID": sid}])
    time.sleep(1.2)
    assert status() == "STARTED"
    assert drs.describe_recovery_instances()["items"] == []
    time.sleep(1.0)
    assert status() == "COMPLETED"
    server = describe(drs, sid)[sid]
    assert server["lastLaunchResult"] == "SUCCEEDED" and server["lifeCycle"]["lastLaunch"]["status"] == "LAUNCHED"
    assert server["recoveryInstanceId"] == drs.describe_recovery_instances()["items"][0]["recoveryInstanceID"]


def test_drill_and_recovery_instances_coexist_and_terminate_separately(aws):
    (sid,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)
    drs, ec2 = aws.client("drs", region_name=DR), aws.client("ec2", region_name=DR)
    drill = drs.start_recovery(sourceServers=[{"sourceServerID": sid}], isDrill=True)["job"]
    assert drill["initiatedBy"] == "START_DRILL"
    drs.start_recovery(sourceServers=[{"sourceServerID": sid}])
    by_kind = {ri["isDrill"]: ri for ri in drs.describe_recovery_instances()["items"]}
    assert set(by_kind) == {True, False}
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    assert {i["InstanceId"] for r in running["Reservations"] for i in r["Instances"]} == {
        ri["ec2InstanceID"] for ri in by_kind.values()}

    drs.terminate_recovery_instances(recoveryInstanceIDs=[by_kind[True]["recoveryInstanceID"]])
    (left,) = drs.describe_recovery_instances()["items"]
    assert left["recoveryInstanceID"] == by_kind[False]["recoveryInstanceID"] and left["ec2InstanceState"] == "RUNNING"


def test_a_failed_launch_fails_the_job_waiter(aws):
    (sid,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)
    set_replication(HUB, DR, sid, launch_fails=True)
    drs = aws.client("drs", region_name=DR)
    job_id = drs.start_recovery(sourceServers=[{"sourceServerID": sid}])["job"]["jobID"]
    with pytest.raises(WaiterError, match="failure state"):
        get_waiter(drs, "JobCompleted").wait(filters={"jobIDs": [job_id]}, WaiterConfig={"Delay": 0, "MaxAttempts": 3})
    assert describe(drs, sid)[sid]["lastLaunchResult"] == "FAILED"
    assert "LAUNCH_FAILED" in [i["event"] for i in drs.describe_job_log_items(jobID=job_id)["items"]]
    with pytest.raises(WaiterError, match="failure state"):  # an unknown job fails fast, not after an hour
        get_waiter(drs, "JobCompleted").wait(filters={"jobIDs": ["drsjob-00000000000000000"]}, WaiterConfig={"Delay": 0})


def test_a_slow_launch_holds_its_job(aws, monkeypatch):
    """launch_seconds: a server whose launches take that long keeps its whole LAUNCH job going (what lets a
    test catch a drill while it waits on AWS); terminations are not slowed."""
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")
    slow, quick = seed_drs_servers(HUB, PRIMARY, DR, ["web-1", "web-2"], TAGS)
    set_replication(HUB, DR, slow, launch_seconds=2)
    drs = aws.client("drs", region_name=DR)
    alone = drs.start_recovery(sourceServers=[{"sourceServerID": quick}], isDrill=True)["job"]["jobID"]
    both = drs.start_recovery(sourceServers=[{"sourceServerID": slow}], isDrill=True)["job"]["jobID"]
    jobs = {j["jobID"]: j["status"] for j in drs.describe_jobs(filters={"jobIDs": [alone, both]})["items"]}
    assert jobs[alone] == "COMPLETED" and jobs[both] in ("PENDING", "STARTED"), jobs
    time.sleep(2.1)
    assert drs.describe_jobs(filters={"jobIDs": [both]})["items"][0]["status"] == "COMPLETED"
    instances = drs.describe_recovery_instances(filters={})["items"]
    assert len(instances) == 2
    terminate = drs.terminate_recovery_instances(recoveryInstanceIDs=[i["recoveryInstanceID"] for i in instances])
    assert drs.describe_jobs(filters={"jobIDs": [terminate["job"]["jobID"]]})["items"][0]["status"] == "COMPLETED"


def test_server_mode_breaks_and_repairs_a_launch_over_http(server_url):
    """What set_replication does in-process, a test in another process does over the control endpoint."""
    from awssim.drs.control import CONTROL_PATH

    (sid,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)  # the server runs in this process
    drs = boto3.client("drs", region_name=DR, endpoint_url=server_url, aws_access_key_id=HUB,
                       aws_secret_access_key="x")
    control = f"{server_url}{CONTROL_PATH}"
    broken = requests.post(control, json={"account_id": HUB, "region": DR, "source_server_id": sid,
                                          "launch_fails": True}, timeout=10)
    assert broken.status_code == 200 and broken.json()["launch_fails"] is True
    job_id = drs.start_recovery(sourceServers=[{"sourceServerID": sid}])["job"]["jobID"]
    with pytest.raises(WaiterError, match="failure state"):
        get_waiter(drs, "JobCompleted").wait(filters={"jobIDs": [job_id]}, WaiterConfig={"Delay": 0, "MaxAttempts": 3})
    assert describe(drs, sid)[sid]["lastLaunchResult"] == "FAILED"

    repaired = requests.post(control, json={"account_id": HUB, "region": DR, "source_server_id": sid,
                                            "launch_fails": False}, timeout=10).json()
    assert repaired["launch_fails"] is False and repaired["state"] is None
    job_id = drs.start_recovery(sourceServers=[{"sourceServerID": sid}])["job"]["jobID"]
    get_waiter(drs, "JobCompleted").wait(filters={"jobIDs": [job_id]}, WaiterConfig={"Delay": 0, "MaxAttempts": 3})
    assert describe(drs, sid)[sid]["lastLaunchResult"] == "SUCCEEDED"
    slowed = requests.post(control, json={"account_id": HUB, "region": DR, "source_server_id": sid,
                                          "launch_seconds": 30}, timeout=10).json()
    assert slowed["launch_seconds"] == 30 and slowed["launch_fails"] is False
    assert requests.post(control, json={"account_id": HUB, "region": DR, "source_server_id": sid,
                                        "launch_seconds": -1}, timeout=10).status_code == 400

    # Bad requests name what is wrong and what to send.
    missing = requests.post(control, json={"account_id": HUB, "region": DR, "source_server_id": "s-0a000000000000099",
                                           "launch_fails": True}, timeout=10)
    assert missing.status_code == 404 and "no source server s-0a000000000000099 in account" in missing.json()["error"]
    bad = requests.post(control, json={"account_id": HUB, "region": DR, "source_server_id": sid, "launch_fails": "yes"},
                        timeout=10)
    assert bad.status_code == 400 and "launch_fails must be true or false" in bad.json()["error"]
    assert "POST {" in bad.json()["error"]
    assert requests.get(control, timeout=10).status_code == 405


def test_a_launch_from_a_template_that_is_gone_fails_as_on_aws(aws):
    """Each server's launch configuration names a real EC2 launch template (default subnet and security
    group); with the template, or what its default version names, gone, the launch fails."""
    a, b, c = seed_drs_servers(HUB, PRIMARY, DR, ["web-1", "web-2", "web-3"], TAGS)
    drs, ec2 = aws.client("drs", region_name=DR), aws.client("ec2", region_name=DR)
    templates = {sid: drs.get_launch_configuration(sourceServerID=sid)["ec2LaunchTemplateID"] for sid in (a, b, c)}
    (data,) = [v["LaunchTemplateData"] for v in ec2.describe_launch_template_versions(
        LaunchTemplateId=templates[a], Versions=["$Default"])["LaunchTemplateVersions"]]
    (subnet,) = ec2.describe_subnets(SubnetIds=[data["NetworkInterfaces"][0]["SubnetId"]])["Subnets"]
    assert subnet["DefaultForAz"] and data["NetworkInterfaces"][0]["Groups"]

    ec2.delete_launch_template(LaunchTemplateId=templates[a])
    version = ec2.create_launch_template_version(LaunchTemplateId=templates[b], LaunchTemplateData={
        "IamInstanceProfile": {"Name": "recovery-profile-gone"}})["LaunchTemplateVersion"]["VersionNumber"]
    ec2.modify_launch_template(LaunchTemplateId=templates[b], DefaultVersion=str(version))
    job_id = drs.start_recovery(sourceServers=[{"sourceServerID": s} for s in (a, b, c)])["job"]["jobID"]
    with pytest.raises(WaiterError, match="failure state"):
        get_waiter(drs, "JobCompleted").wait(filters={"jobIDs": [job_id]}, WaiterConfig={"Delay": 0, "MaxAttempts": 3})
    results = {sid: server["lastLaunchResult"] for sid, server in describe(drs, a, b, c).items()}
    assert results == {a: "FAILED", b: "FAILED", c: "SUCCEEDED"}
    errors = {i["eventData"]["sourceServerID"]: i["eventData"].get("rawError")
              for i in drs.describe_job_log_items(jobID=job_id)["items"] if i["event"] == "LAUNCH_FAILED"}
    assert templates[a] in errors[a] and "recovery-profile-gone" in errors[b]


def test_replication_follows_the_origin_instance(aws):
    (sid,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)
    drs = aws.client("drs", region_name=DR)
    origin = describe(drs, sid)[sid]["sourceProperties"]["identificationHints"]["awsInstanceID"]
    aws.client("ec2", region_name=PRIMARY).stop_instances(InstanceIds=[origin])
    assert describe(drs, sid)[sid]["dataReplicationInfo"]["dataReplicationState"] == "DISCONNECTED"
    aws.client("ec2", region_name=PRIMARY).start_instances(InstanceIds=[origin])
    assert describe(drs, sid)[sid]["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    set_replication(HUB, DR, sid, state="STALLED", lag_seconds=7200)
    info = describe(drs, sid)[sid]["dataReplicationInfo"]
    assert (info["dataReplicationState"], info["lagDuration"]) == ("STALLED", "PT7200S")


def test_reverse_replication_round_trip_returns_to_the_original_servers(aws):
    """failover -> ReverseReplication -> failback -> ReverseReplication: same source server IDs in DR."""
    (original,) = seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)
    dr, primary = aws.client("drs", region_name=DR), aws.client("drs", region_name=PRIMARY)

    def recover(drs, sid):
        drs.start_recovery(sourceServers=[{"sourceServerID": sid}])
        return drs.describe_recovery_instances(filters={"sourceServerIDs": [sid]})["items"][-1]["recoveryInstanceID"]

    r1 = recover(dr, original)  # failover: running in DR
    back_arn = dr.reverse_replication(recoveryInstanceID=r1)["reversedDirectionSourceServerArn"]
    back_id = back_arn.split("/")[-1]
    old, back = describe(dr, original)[original], describe(primary, back_id)[back_id]
    assert old["dataReplicationInfo"]["dataReplicationState"] == "STOPPED"
    assert old["reversedDirectionSourceServerArn"] == back_arn and back["reversedDirectionSourceServerArn"] == old["arn"]
    assert back["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    assert back["replicationDirection"] == "FAILBACK"
    assert back["sourceProperties"]["identificationHints"]["awsInstanceID"] == r1
    assert back["sourceCloudProperties"]["originRegion"] == DR
    assert dr.reverse_replication(recoveryInstanceID=r1)["reversedDirectionSourceServerArn"] == back_arn  # idempotent

    r2 = recover(primary, back_id)  # failback: running in primary again
    assert primary.reverse_replication(recoveryInstanceID=r2)["reversedDirectionSourceServerArn"] == old["arn"]
    old, back = describe(dr, original)[original], describe(primary, back_id)[back_id]
    assert old["dataReplicationInfo"]["dataReplicationState"] == "CONTINUOUS"
    assert old["replicationDirection"] == "FAILOVER"
    assert old["sourceProperties"]["identificationHints"]["awsInstanceID"] == r2
    assert old["sourceCloudProperties"]["originRegion"] == PRIMARY
    assert back["dataReplicationInfo"]["dataReplicationState"] == "STOPPED"
    (ri1,) = dr.describe_recovery_instances(filters={"recoveryInstanceIDs": [r1]})["items"]
    assert ri1["failback"]["state"] == "FAILBACK_COMPLETED"

    r3 = recover(dr, original)  # a second failover reuses the reversed server in primary
    assert dr.reverse_replication(recoveryInstanceID=r3)["reversedDirectionSourceServerArn"] == back_arn
    assert [s["sourceServerID"] for s in primary.describe_source_servers()["items"]] == [back_id]


def test_state_is_kept_per_account(aws):
    seed_drs_servers(HUB, PRIMARY, DR, ["web-1"], TAGS)
    (spoke_sid,) = seed_drs_servers(SPOKE, PRIMARY, DR, ["web-2"], TAGS)
    creds = aws.client("sts").assume_role(RoleArn=f"arn:aws:iam::{SPOKE}:role/dr", RoleSessionName="test")["Credentials"]
    spoke = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"])
    drs = spoke.client("drs", region_name=DR)
    assert [s["sourceServerID"] for s in drs.describe_source_servers()["items"]] == [spoke_sid]
    drs.start_recovery(sourceServers=[{"sourceServerID": spoke_sid}])
    (ri,) = drs.describe_recovery_instances()["items"]
    assert ri["arn"].startswith(f"arn:aws:drs:{DR}:{SPOKE}:recovery-instance/")
    assert spoke.client("ec2", region_name=DR).describe_instances(InstanceIds=[ri["ec2InstanceID"]])["Reservations"]
    assert aws.client("drs", region_name=DR).describe_recovery_instances()["items"] == []


def test_replication_waiter_follows_initial_sync(aws, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.5")
    ids = seed_drs_servers(HUB, PRIMARY, DR, ["web-1", "web-2"], TAGS)
    drs = aws.client("drs", region_name=DR)
    drs.stop_replication(sourceServerID=ids[0])
    drs.start_replication(sourceServerID=ids[0])
    assert describe(drs, ids[0])[ids[0]]["dataReplicationInfo"]["dataReplicationState"] == "INITIAL_SYNC"
    waiter = get_waiter(drs, "ReplicationContinuous")
    waiter.wait(filters={"sourceServerIDs": ids}, WaiterConfig={"Delay": 0.1, "MaxAttempts": 20})
    assert {s["dataReplicationInfo"]["dataReplicationState"] for s in describe(drs, *ids).values()} == {"CONTINUOUS"}
    set_replication(HUB, DR, ids[1], state="STALLED")
    with pytest.raises(WaiterError, match="failure state"):
        waiter.wait(filters={"sourceServerIDs": ids}, WaiterConfig={"Delay": 0.1, "MaxAttempts": 20})
