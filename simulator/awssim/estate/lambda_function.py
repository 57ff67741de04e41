"""Seed a Lambda function: tiny zip, version 1 published, alias "live" -> 1, scope tags, optionally parked."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3

ROLE_NAME = "dr-demo-lambda"
HANDLER_SOURCE = "def handler(event, context):\n    return {'statusCode': 200}\n"


def _code(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", source)
    return buf.getvalue()


def _execution_role(session: boto3.Session) -> str:
    """The function's execution role; moto (like Lambda) wants it to exist in the same account."""
    iam: Any = session.client("iam")
    try:
        return iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        return iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def seed_function(
    session: boto3.Session,
    region: str,
    *,
    name: str,
    alias: str = "live",
    parked: bool = False,
    customer: str = "acme",
    environment: str = "production",
    source: str = HANDLER_SOURCE,
) -> str:
    """Create the function, publish version 1 and point ``alias`` at it; return the function ARN."""
    lam: Any = session.client("lambda", region_name=region)
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=_execution_role(session),
        Handler="app.handler",
        Code={"ZipFile": _code(source)},
        Tags={"Customer": customer, "Environment": environment},
    )["FunctionArn"]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
    if parked:
        # Reserved concurrency 0: the standby region's copy takes no traffic until a failover.
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    return arn
