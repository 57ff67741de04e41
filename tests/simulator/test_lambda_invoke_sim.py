"""awssim.lambda_invoke: Lambda Invoke without Docker -- a simulated handler chosen by the function's
``AWSSIM_HANDLER`` variable, every invocation in the function's CloudWatch Logs, refused where Lambda refuses."""

from __future__ import annotations

import base64
import json

import boto3
import botocore.session
import pytest
from awssim.kits.lambda_function import seed_function
from awssim.lambda_invoke import invocations, read_invocations
from botocore.config import Config
from botocore.exceptions import ClientError

REGION, OTHER, HUB = "eu-west-1", "ap-southeast-2", "123456789012"
MODEL = botocore.session.get_session().get_service_model("lambda")
ONCE = Config(retries={"max_attempts": 1})  # a throttle is the answer under test, not something to retry


def members_of(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    return err.value.response["Error"]["Code"]


@pytest.fixture
def function(aws):
    seed_function(aws, REGION, name="hook", tags={"Customer": "acme", "Environment": "production"})
    return aws


def lam(session, region=REGION):
    return session.client("lambda", region_name=region, config=ONCE)


def test_the_echo_handler_answers_and_the_invocation_is_logged(function):
    context = base64.b64encode(json.dumps({"custom": {"run": "r1"}}).encode()).decode()
    reply = lam(function).invoke(FunctionName="hook", Payload=json.dumps({"region": REGION}), ClientContext=context,
                                 LogType="Tail")
    assert set(reply) - {"ResponseMetadata"} <= members_of("InvocationResponse")
    assert reply["StatusCode"] == 200 and "FunctionError" not in reply and reply["ExecutedVersion"] == "$LATEST"
    assert json.loads(reply["Payload"].read()) == {"ok": True, "echo": {"region": REGION}}
    assert "START RequestId" in base64.b64decode(reply["LogResult"]).decode()
    (record,) = read_invocations(function.client("logs", region_name=REGION), "hook")
    assert record == invocations(HUB, REGION, "hook")[0]
    assert (record["payload"], record["clientContext"], record["outcome"]) == ({"region": REGION},
                                                                                {"custom": {"run": "r1"}}, "success")
    assert invocations(HUB, OTHER) == [] and read_invocations(function.client("logs", region_name=OTHER), "hook") == []


def test_a_failing_handler_returns_a_function_error(function):
    lam(function).update_function_configuration(FunctionName="hook", Environment={"Variables": {
        "AWSSIM_HANDLER": "fail:orders-cache is cold"}})
    reply = lam(function).invoke(FunctionName="hook", Payload=b"{}")
    assert (reply["StatusCode"], reply["FunctionError"]) == (200, "Unhandled")
    assert json.loads(reply["Payload"].read()) == {"errorMessage": "orders-cache is cold", "errorType": "Exception",
                                                   "stackTrace": []}
    assert invocations(HUB, REGION)[-1]["outcome"] == "error"


def test_a_qualifier_invokes_the_version_it_names(function):
    lam(function).update_function_configuration(FunctionName="hook", Environment={"Variables": {
        "AWSSIM_HANDLER": "fail:unreleased"}})
    reply = lam(function).invoke(FunctionName="hook", Qualifier="live", Payload=b"{}")  # alias live -> version 1
    assert "FunctionError" not in reply and reply["ExecutedVersion"] == "1"
    assert lam(function).invoke(FunctionName="hook", Payload=b"{}")["FunctionError"] == "Unhandled"


def test_a_dry_run_checks_and_runs_nothing(function):
    reply = lam(function).invoke(FunctionName="hook", InvocationType="DryRun", Payload=b"{}")
    assert reply["StatusCode"] == 204 and invocations(HUB, REGION) == []


@pytest.mark.parametrize("args, code", [
    ({"Payload": b"{not json"}, "InvalidRequestContentException"),
    ({"ClientContext": "%%%not-base64"}, "InvalidRequestContentException"),
    ({"ClientContext": base64.b64encode(b"x" * 3000).decode()}, "InvalidRequestContentException"),  # > 3583 bytes
    ({"FunctionName": "nope"}, "ResourceNotFoundException"),
])
def test_what_lambda_refuses_of_an_invoke(function, args, code):
    assert code_of(lam(function).invoke, **{"FunctionName": "hook", "Payload": b"{}", **args}) == code
    assert invocations(HUB, REGION) == []


def test_a_parked_function_is_throttled_and_get_function_shows_it(function):
    lam(function).put_function_concurrency(FunctionName="hook", ReservedConcurrentExecutions=0)
    assert lam(function).get_function(FunctionName="hook")["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    with pytest.raises(ClientError) as throttled:
        lam(function).invoke(FunctionName="hook", Payload=b"{}")
    error = throttled.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert invocations(HUB, REGION) == []


def test_the_extension_answers_in_server_mode(server_url):
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=REGION)
    iam = session.client("iam", endpoint_url=server_url)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    from awssim.kits.lambda_function import _code

    client = session.client("lambda", endpoint_url=server_url, config=ONCE)
    client.create_function(FunctionName="hook", Runtime="python3.12", Role=role, Handler="app.handler",
                           Code={"ZipFile": _code("def handler(e, c): pass\n")},
                           Environment={"Variables": {"AWSSIM_HANDLER": "fail:over HTTP"}})
    reply = client.invoke(FunctionName="hook", Payload=json.dumps({"a": 1}))
    assert reply["FunctionError"] == "Unhandled"
    (record,) = read_invocations(session.client("logs", endpoint_url=server_url), "hook")
    assert record["payload"] == {"a": 1} and record["error"] == "over HTTP"
