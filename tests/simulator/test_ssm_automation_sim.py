"""awssim.ssm_automation: SSM Automation executions (moto 5.2 has documents only) -- Pending, InProgress, then the
outcome the document's ``awssim:outcome`` tag says, answered in botocore's shapes, per account and region,
refused where AWS refuses."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import botocore.session
import pytest
from awssim.ssm_automation import OUTCOME_TAG, outcome_tag
from botocore.exceptions import ClientError

REGION, OTHER, HUB = "eu-west-1", "ap-southeast-2", "123456789012"
MODEL = botocore.session.get_session().get_service_model("ssm")
CONTENT = {"schemaVersion": "0.3", "parameters": {
    "Operation": {"type": "String", "allowedValues": ["failover", "failback", "drill"]},
    "Targets": {"type": "StringList", "default": []},
    "Count": {"type": "Integer", "default": 1},
    "Force": {"type": "Boolean", "default": False},
    "Cluster": {"type": "String", "default": "orders", "allowedPattern": "^[a-z-]+$"}},
    "mainSteps": [{"name": "check", "action": "aws:executeScript"}, {"name": "switch", "action": "aws:executeAwsApi"},
                  {"name": "verify", "action": "aws:assertAwsResourceProperty"}]}


def members_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"]


def ssm(session, region=REGION):
    return session.client("ssm", region_name=region)


@pytest.fixture
def document(aws):
    ssm(aws).create_document(Name="runbook", Content=json.dumps(CONTENT), DocumentType="Automation")
    return aws


def start(session, region=REGION, **extra):
    args = {"DocumentName": "runbook", "Parameters": {"Operation": ["failover"]}, **extra}
    return ssm(session, region).start_automation_execution(**args)["AutomationExecutionId"]


def test_an_execution_is_pending_then_in_progress_then_succeeds(document, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    execution_id = start(document)
    uuid.UUID(execution_id)
    got = ssm(document).get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert set(got) <= members_of("AutomationExecution")
    assert got["AutomationExecutionStatus"] == "InProgress" and got["CurrentStepName"] == "check"
    assert [s["StepStatus"] for s in got["StepExecutions"]] == ["InProgress"]
    time.sleep(0.35)
    done = ssm(document).get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert done["AutomationExecutionStatus"] == "Success" and "ExecutionEndTime" in done
    assert [(s["StepName"], s["Action"], s["StepStatus"]) for s in done["StepExecutions"]] == [
        ("check", "aws:executeScript", "Success"), ("switch", "aws:executeAwsApi", "Success"),
        ("verify", "aws:assertAwsResourceProperty", "Success")]
    assert all(set(s) <= members_of("StepExecution") for s in done["StepExecutions"])
    # the defaults fill what was not given, as strings
    assert done["Parameters"] == {"Operation": ["failover"], "Targets": [], "Count": ["1"], "Force": ["false"],
                                  "Cluster": ["orders"]}


def test_the_document_tag_fails_an_execution_at_its_step(document, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0")
    ssm(document).add_tags_to_resource(ResourceType="Document", ResourceId="runbook",
                                       Tags=[outcome_tag("switch", "orders-cache is not ready")])
    failed = ssm(document).get_automation_execution(AutomationExecutionId=start(document))["AutomationExecution"]
    assert failed["AutomationExecutionStatus"] == "Failed"
    assert "orders-cache is not ready" in failed["FailureMessage"] and "switch" not in failed["FailureMessage"]
    steps = failed["StepExecutions"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("check", "Success"), ("switch", "Failed")]
    assert steps[1]["FailureMessage"] == "orders-cache is not ready"
    assert set(steps[1]["FailureDetails"]) <= members_of("FailureDetails")
    ssm(document).add_tags_to_resource(ResourceType="Document", ResourceId="runbook",
                                       Tags=[outcome_tag("verify", status="TimedOut")])
    timed_out = ssm(document).get_automation_execution(AutomationExecutionId=start(document))["AutomationExecution"]
    assert timed_out["AutomationExecutionStatus"] == "TimedOut" and timed_out["StepExecutions"][-1]["StepName"] == "verify"
    ssm(document).remove_tags_from_resource(ResourceType="Document", ResourceId="runbook", TagKeys=[OUTCOME_TAG])
    ok = ssm(document).get_automation_execution(AutomationExecutionId=start(document))["AutomationExecution"]
    assert ok["AutomationExecutionStatus"] == "Success"


def test_the_outcome_is_read_when_the_execution_ends(document, monkeypatch):
    """A test may flip the outcome while an execution runs."""
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    execution_id = start(document)
    ssm(document).add_tags_to_resource(ResourceType="Document", ResourceId="runbook",
                                       Tags=[outcome_tag("check", "late failure")])
    time.sleep(0.35)
    got = ssm(document).get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert got["AutomationExecutionStatus"] == "Failed" and got["StepExecutions"][0]["FailureMessage"] == "late failure"


def test_a_client_token_gives_the_same_execution_back_and_refuses_another_request(document):
    token = str(uuid.uuid4())
    first = start(document, ClientToken=token)
    assert start(document, ClientToken=token.upper()) == first  # case-insensitive, as documented
    assert code_of(start, document, ClientToken=token, Parameters={"Operation": ["failback"]}) == \
        "IdempotentParameterMismatch"
    assert code_of(start, document, ClientToken="x" * 36) == "ValidationException"  # not a UUID
    assert len(ssm(document).describe_automation_executions()["AutomationExecutionMetadataList"]) == 1


@pytest.mark.parametrize("args, code", [
    ({"DocumentName": "nope"}, "AutomationDefinitionNotFoundException"),
    ({"DocumentName": f"arn:aws:ssm:{REGION}:444455556666:document/runbook"}, "AutomationDefinitionNotFoundException"),
    ({"DocumentName": "shell"}, "AutomationDefinitionNotFoundException"),  # a Command document
    ({"DocumentVersion": "7"}, "AutomationDefinitionVersionNotFoundException"),
    ({"Parameters": {}}, "InvalidAutomationExecutionParametersException"),  # Operation is required
    ({"Parameters": {"Operation": ["failover"], "Extra": ["x"]}}, "InvalidAutomationExecutionParametersException"),
    ({"Parameters": {"Operation": ["failover", "failback"]}}, "InvalidAutomationExecutionParametersException"),
    ({"Parameters": {"Operation": ["sideways"]}}, "InvalidAutomationExecutionParametersException"),
    ({"Parameters": {"Operation": ["drill"], "Count": ["two"]}}, "InvalidAutomationExecutionParametersException"),
    ({"Parameters": {"Operation": ["drill"], "Force": ["yes"]}}, "InvalidAutomationExecutionParametersException"),
    ({"Parameters": {"Operation": ["drill"], "Cluster": ["Orders_1"]}}, "InvalidAutomationExecutionParametersException"),
    ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(6)]}, "ValidationException"),
])
def test_what_aws_refuses_of_a_start(document, args, code):
    ssm(document).create_document(Name="shell", DocumentType="Command", Content=json.dumps(
        {"schemaVersion": "2.2", "mainSteps": [{"name": "run", "action": "aws:runShellScript"}]}))
    call = {"DocumentName": "runbook", "Parameters": {"Operation": ["failover"]}, **args}
    assert code_of(ssm(document).start_automation_execution, **call) == code
    assert ssm(document).describe_automation_executions()["AutomationExecutionMetadataList"] == []


def test_a_document_is_started_by_its_arn_and_version(document):
    arn = f"arn:aws:ssm:{REGION}:{HUB}:document/runbook"
    execution_id = start(document, DocumentName=arn, DocumentVersion="$LATEST")
    got = ssm(document).get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert (got["DocumentName"], got["DocumentVersion"]) == ("runbook", "1")


def test_describe_filters_by_tag_key_status_prefix_and_time_newest_first_paginated(document):
    tagged = start(document, Tags=[{"Key": "dr:run:abc", "Value": "run-1"}])
    before = time.time()
    time.sleep(0.01)
    plain = [start(document) for _ in range(3)]

    def ids(*filters, **extra):
        reply = ssm(document).describe_automation_executions(Filters=list(filters), **extra)
        assert all(set(m) <= members_of("AutomationExecutionMetadata") for m in reply["AutomationExecutionMetadataList"])
        return [m["AutomationExecutionId"] for m in reply["AutomationExecutionMetadataList"]]

    assert ids({"Key": "TagKey", "Values": ["dr:run:abc"]}) == [tagged]
    assert ids({"Key": "TagKey", "Values": ["dr:run:other"]}) == []
    assert ids({"Key": "DocumentNamePrefix", "Values": ["run"]}) == plain[::-1] + [tagged]  # newest first
    assert ids({"Key": "ExecutionStatus", "Values": ["Success"]}, {"Key": "DocumentNamePrefix", "Values": ["x"]}) == []
    after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before - 3600))
    assert len(ids({"Key": "StartTimeAfter", "Values": [after]})) == 4
    page = ssm(document).describe_automation_executions(MaxResults=3)
    assert len(page["AutomationExecutionMetadataList"]) == 3 and page["NextToken"]
    rest = ssm(document).describe_automation_executions(MaxResults=3, NextToken=page["NextToken"])
    assert [m["AutomationExecutionId"] for m in rest["AutomationExecutionMetadataList"]] == [tagged]
    assert code_of(ssm(document).describe_automation_executions,
                   Filters=[{"Key": "ExecutionStatus", "Values": ["Sideways"]}]) == "InvalidFilterValue"
    assert code_of(ssm(document).describe_automation_executions,
                   Filters=[{"Key": "StartTimeAfter", "Values": ["yesterday"]}]) == "InvalidFilterValue"
    # the execution's tags, as a resource of type Automation
    tags = ssm(document).list_tags_for_resource(ResourceType="Automation", ResourceId=tagged)["TagList"]
    assert tags == [{"Key": "dr:run:abc", "Value": "run-1"}]
    assert code_of(ssm(document).list_tags_for_resource, ResourceType="Automation",
                   ResourceId=str(uuid.uuid4())) == "InvalidResourceId"


def test_a_stopped_execution_is_cancelling_then_cancelled_and_a_finished_one_cannot_be_stopped(document, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    execution_id = start(document)
    ssm(document).stop_automation_execution(AutomationExecutionId=execution_id, Type="Cancel")
    got = ssm(document).get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert got["AutomationExecutionStatus"] == "Cancelling"
    time.sleep(0.35)
    got = ssm(document).get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert got["AutomationExecutionStatus"] == "Cancelled"
    assert code_of(ssm(document).stop_automation_execution, AutomationExecutionId=execution_id) == \
        "InvalidAutomationStatusUpdateException"
    assert code_of(ssm(document).stop_automation_execution, AutomationExecutionId=str(uuid.uuid4())) == \
        "AutomationExecutionNotFoundException"
    assert code_of(ssm(document).get_automation_execution, AutomationExecutionId=str(uuid.uuid4())) == \
        "AutomationExecutionNotFoundException"


def test_executions_are_per_account_and_region(document):
    execution_id = start(document)
    assert code_of(start, document, OTHER) == "AutomationDefinitionNotFoundException"  # no document there
    assert code_of(ssm(document, OTHER).get_automation_execution, AutomationExecutionId=execution_id) == \
        "AutomationExecutionNotFoundException"
    creds = document.client("sts").assume_role(RoleArn="arn:aws:iam::444455556666:role/x", RoleSessionName="sim")
    spoke = boto3.Session(aws_access_key_id=creds["Credentials"]["AccessKeyId"],
                          aws_secret_access_key=creds["Credentials"]["SecretAccessKey"],
                          aws_session_token=creds["Credentials"]["SessionToken"])
    assert ssm(spoke).describe_automation_executions()["AutomationExecutionMetadataList"] == []


def test_the_extension_answers_in_server_mode(server_url):
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=REGION)
    client = session.client("ssm", endpoint_url=server_url)
    client.create_document(Name="runbook", Content=json.dumps(CONTENT), DocumentType="Automation",
                           Tags=[outcome_tag("verify", "checks failed")])  # the outcome, set over the API
    execution_id = client.start_automation_execution(DocumentName="runbook", Parameters={"Operation": ["drill"]},
                                                     Tags=[{"Key": "dr:run:k", "Value": "v"}])["AutomationExecutionId"]
    got = client.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    assert got["AutomationExecutionStatus"] == "Failed" and got["StepExecutions"][-1]["StepName"] == "verify"
    listed = client.describe_automation_executions(Filters=[{"Key": "TagKey", "Values": ["dr:run:k"]}])
    assert [m["AutomationExecutionId"] for m in listed["AutomationExecutionMetadataList"]] == [execution_id]
