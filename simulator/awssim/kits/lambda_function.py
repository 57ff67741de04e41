"""Lambda kit: the function in both regions (tiny zip, version 1, alias "live" -> 1, the resource's tags),
the region that does not serve parked at reserved concurrency 0."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3

from awssim.kits import Drive, Estate, Kit, Seed

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
    tags: dict[str, str] | None = None,
) -> str:
    """Create the function (tagged with ``tags``, default just Customer and Environment), publish
    version 1 and point ``alias`` at it; return the function ARN."""
    lam: Any = session.client("lambda", region_name=region)
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=_execution_role(session),
        Handler="app.handler",
        Code={"ZipFile": _code(source)},
        Tags=dict(tags or {"Customer": customer, "Environment": environment}),
    )["FunctionArn"]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
    if parked:
        # Reserved concurrency 0: the standby region's copy takes no traffic until a failover.
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    return arn


def code_zip(marker: str) -> bytes:
    """A new release of the handler, distinguishable by ``marker``."""
    return _code(f"def handler(event, context):\n    return {{'release': {marker!r}}}\n")


def _sides(estate: Estate, config: dict[str, Any]) -> tuple[tuple[str, str], tuple[str, str]]:
    return ((estate.primary, config["functionName"]), (estate.dr, config.get("drFunctionName") or config["functionName"]))


class LambdaFunctionKit(Kit):
    actions = ("LambdaFunction",)
    services = ("lambda",)
    acts = {"failover": frozenset({"ACTIVATE", "CLEANUP"}), "failback": frozenset({"ACTIVATE", "CLEANUP"})}
    kind, share, rank = "fn", 0.20, 40
    config_tags = {"drFunctionName": "dr:dr-function-name", "alias": "dr:alias", "version": "dr:version",
                   "reservedConcurrency": "dr:reserved-concurrency"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        return {"functionName": f"{customer}-fn-{n}", "alias": "live"}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c, session = item.resource.config, estate.session(item.resource.account_id)
            (primary, name), (dr, dr_name) = _sides(estate, c)
            seed_function(session, primary, name=name, alias=c.get("alias", "live"), tags=item.tags)
            if c.get("reservedConcurrency"):  # production as the manifest describes it
                session.client("lambda", region_name=primary).put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=c["reservedConcurrency"])
            seed_function(session, dr, name=dr_name, alias=c.get("alias", "live"), parked=True, tags=item.tags)

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        state = {}
        for region, name in _sides(estate, resource.config):
            lam = estate.session(resource.account_id).client("lambda", region_name=region)
            alias = lam.get_alias(FunctionName=name, Name=resource.config.get("alias", "live"))
            reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
            state[estate.side(region)] = {"alias_has_version": alias["FunctionVersion"] != "$LATEST",
                                          "parked": reserved == 0, "reserved": reserved}
        return state

    def serves_from(self, resource: Any, role: Any) -> str | None:
        serving = {side for side, s in role.items() if not s["parked"] and s["alias_has_version"]}
        return next(iter(serving)) if len(serving) == 1 else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        role = self.serving_role(estate, resource)[side]
        return role["alias_has_version"] and not role["parked"]

    def state(self, session: boto3.Session, region: str) -> Any:
        lam = session.client("lambda", region_name=region)
        return {
            fn["FunctionName"]: (
                [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn["FunctionName"])["Versions"]],
                sorted((a["Name"], a["FunctionVersion"]) for a in lam.list_aliases(FunctionName=fn["FunctionName"])["Aliases"]),
                lam.get_function_concurrency(FunctionName=fn["FunctionName"]).get("ReservedConcurrentExecutions"),
            )
            for fn in lam.list_functions()["Functions"]
        }

    def break_resource(self, estate: Estate, resource: Any) -> str:
        _, (dr, name) = _sides(estate, resource.config)
        estate.session(resource.account_id).client("lambda", region_name=dr).delete_function(FunctionName=name)
        return "does not exist"

    prerequisites = ("execution role",)

    def break_prerequisite(self, estate: Estate, resource: Any, which: str) -> str:
        # IAM is global: the account's execution role, deleted, fails every invocation in either region
        estate.session(resource.account_id).client("iam").delete_role(RoleName=ROLE_NAME)
        return ROLE_NAME

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        # A release deployed to the primary but never published: the failover's REPLICATE publishes it
        # (PublishVersion, then the published_version_active waiter: GetFunctionConfiguration) and the
        # failback's ACTIVATE points the alias at it (UpdateAlias). Its reserved concurrency is what preflight
        # checks against the region's concurrency quota (GetAccountSettings: what the region reserves).
        session, scope = estate.sessions[None], {"customer": estate.customer, "environment": estate.environment}
        seed_function(session, estate.primary, name="iam-fn", **scope)
        seed_function(session, estate.dr, name="iam-fn", parked=True, **scope)
        session.client("lambda", region_name=estate.primary).update_function_code(FunctionName="iam-fn",
                                                                                  ZipFile=code_zip("v2"))
        resources = [{"resourceId": "iam-fn", "action": "LambdaFunction",
                      "config": {"functionName": "iam-fn", "alias": "live", "reservedConcurrency": 5}}]
        operations = [c["operation"] for c in drive("failover", resources) + drive("failback", resources)]
        assert "publish_version" in operations and "update_alias" in operations
