"""LambdaInvoke kit: the step's function in both regions (a failback invokes it in the other), answering with the
simulator's echo handler, tagged with the resource's scope and ``Name``.

Not its ``dr:`` tags: a runbook step is hand-listed (its payload, phases and rollback are decisions of the
runbook's author), and a function tagged ``dr:enabled`` would be taken by discovery for a ``LambdaFunction``
to fail over.

Who serves: the direction of the last successful invocation, in either region, that was not a drill, read
back from the functions' CloudWatch Logs (``awssim.lambda_invoke``): the payload's ``{operation}`` value (or,
when the config's payload has none, the client context's ``dr:operation``). After a failover the DR side,
after a failback (or before any run) the primary side.
"""

from __future__ import annotations

from typing import Any

import boto3

from awssim.kits import Estate, Kit, Seed
from awssim.kits.lambda_function import seed_function
from awssim.kits.ssm_automation import steered_to
from awssim.lambda_invoke import read_invocations


def _operation_key(payload: Any) -> str | None:
    """The top-level payload key the config fills with ``{operation}``, if any."""
    if isinstance(payload, dict):
        return next((k for k, v in payload.items() if v == "{operation}"), None)
    return None


def _operation(record: dict[str, Any], config: dict[str, Any]) -> str:
    key = _operation_key(config.get("payload")) or _operation_key(config.get("failbackPayload"))
    if key and isinstance(record.get("payload"), dict) and key in record["payload"]:
        return str(record["payload"][key])
    return str(((record.get("clientContext") or {}).get("custom") or {}).get("dr:operation", ""))


class LambdaInvokeKit(Kit):
    actions = ("LambdaInvoke",)
    services = ("lambda", "logs")
    acts = {"failover": frozenset({"ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, rank = "hook", 70  # a step after the technologies it completes; not in synthetic estates (share 0)

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        config: dict[str, Any] = {"functionName": f"{customer}-dr-hook-{n}", "payload": {
            "operation": "{operation}", "targetRegion": "{target_region}", "runId": "{run_id}",
            "steps": [{"warm": "{customer}-cache"}]}}
        if n % 2:  # the way back sends the rollback
            config["failbackPayload"] = {**config["payload"], "rollback": True}
        return config

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            tags = {k: v for k, v in item.tags.items() if not k.startswith("dr:")}
            for region in (estate.primary, estate.dr):
                seed_function(estate.session(item.resource.account_id), region,
                              name=item.resource.config["functionName"], tags=tags)

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        session, config = estate.session(resource.account_id), resource.config
        runs = [(r["time"], _operation(r, config)) for region in (estate.primary, estate.dr)
                for r in read_invocations(session.client("logs", region_name=region), config["functionName"])
                if r["outcome"] == "success"]
        return {"moved_to": steered_to(runs)}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        return role["moved_to"]

    def state(self, session: boto3.Session, region: str) -> Any:
        lam, logs = session.client("lambda", region_name=region), session.client("logs", region_name=region)
        return {fn["FunctionName"]: (sorted(lam.list_tags(Resource=fn["FunctionArn"])["Tags"].items()),
                                     len(read_invocations(logs, fn["FunctionName"])))
                for fn in lam.list_functions()["Functions"]}

    def break_resource(self, estate: Estate, resource: Any) -> str:
        estate.session(resource.account_id).client("lambda", region_name=estate.dr).delete_function(
            FunctionName=resource.config["functionName"])
        return "does not exist"
