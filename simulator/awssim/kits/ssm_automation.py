"""SsmAutomation kit: the step's Automation document in both regions (a failback runs it in the other), declaring
exactly the parameters the config passes, with three steps, tagged with the resource's scope and ``Name``.

Not its ``dr:`` tags: a runbook step is hand-listed (its parameters, phases and rollback are decisions of the
runbook's author, and AWS tag values cannot hold the placeholders' braces), and a document tagged
``dr:enabled`` would be reported by discovery as a resource nothing protects.

Who serves: the direction of the last successful execution of the document, in either region, that was not a
drill -- its ``{operation}`` parameter (or, when the config passes none, the execution's ``dr:operation`` tag):
after a failover the DR side, after a failback (or before any run) the primary side.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from awssim.kits import DR, PRIMARY, Estate, Kit, Seed
from awssim.ssm_automation import TERMINAL

STEPS = [
    {"name": "checkPrerequisites", "action": "aws:executeScript"},
    {"name": "switchTraffic", "action": "aws:executeAwsApi"},
    {"name": "verifyTarget", "action": "aws:assertAwsResourceProperty"},
]


def _name(config: dict[str, Any]) -> str:
    return config["documentName"].rsplit("/", 1)[-1]


def document_content(config: dict[str, Any]) -> dict[str, Any]:
    """An Automation runbook taking exactly the config's parameters: single-valued ones as String, the others
    as StringList; a parameter only one direction passes has a default."""
    given = [config.get("parameters") or {}, config.get("failbackParameters") or config.get("parameters") or {}]
    parameters: dict[str, Any] = {}
    for name in sorted(set(given[0]) | set(given[1])):
        single = all(len(p[name]) == 1 for p in given if name in p)
        spec: dict[str, Any] = {"type": "String" if single else "StringList", "description": f"DR step input {name}"}
        if not all(name in p for p in given):
            spec["default"] = "" if single else []
        parameters[name] = spec
    return {"schemaVersion": "0.3", "description": "A DR runbook step (simulated)", "parameters": parameters,
            "mainSteps": [{**s, "inputs": {}} for s in STEPS]}


def seed_document(session: boto3.Session, region: str, config: dict[str, Any], tags: dict[str, str]) -> None:
    session.client("ssm", region_name=region).create_document(
        Name=_name(config), Content=json.dumps(document_content(config)), DocumentType="Automation",
        DocumentFormat="JSON", Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def _operation_parameter(config: dict[str, Any]) -> str | None:
    """The parameter the config fills with ``{operation}``, if any."""
    for params in (config.get("parameters") or {}, config.get("failbackParameters") or {}):
        for name, values in params.items():
            if values == ["{operation}"]:
                return name
    return None


def successes(session: boto3.Session, region: str, config: dict[str, Any]) -> list[tuple[Any, str]]:
    """(end time, operation) of every successful execution of the config's document in ``region``."""
    ssm, name, out = session.client("ssm", region_name=region), _name(config), []
    parameter = _operation_parameter(config)
    pages = ssm.get_paginator("describe_automation_executions").paginate(Filters=[
        {"Key": "DocumentNamePrefix", "Values": [name]}, {"Key": "ExecutionStatus", "Values": ["Success"]}])
    for page in pages:
        for e in page["AutomationExecutionMetadataList"]:
            if e["DocumentName"] != name:
                continue
            if parameter:
                execution = ssm.get_automation_execution(AutomationExecutionId=e["AutomationExecutionId"])
                operation = (execution["AutomationExecution"]["Parameters"].get(parameter) or [""])[0]
            else:
                tags = ssm.list_tags_for_resource(ResourceType="Automation", ResourceId=e["AutomationExecutionId"])
                operation = {t["Key"]: t["Value"] for t in tags["TagList"]}.get("dr:operation", "")
            out.append((e["ExecutionEndTime"], operation))
    return out[::-1]  # listed newest first


def steered_to(runs: list[tuple[Any, str]]) -> str:
    """The side the last successful run that was not a drill moved the estate to (none yet: the primary)."""
    moves = sorted(((at, operation) for at, operation in runs if operation in ("failover", "failback")),
                   key=lambda run: run[0])  # stable: runs listed oldest first keep their order on a tie
    return DR if moves and moves[-1][1] == "failover" else PRIMARY


class SsmAutomationKit(Kit):
    actions = ("SsmAutomation",)
    services = ("ssm",)
    acts = {"failover": frozenset({"ACTIVATE"}), "failback": frozenset({"ACTIVATE"})}
    kind, rank = "runbook", 70  # a step after the technologies it completes; not in synthetic estates (share 0)

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        config: dict[str, Any] = {"documentName": f"{customer}-dr-runbook-{n}", "parameters": {
            "Operation": ["{operation}"], "TargetRegion": ["{target_region}"], "RunId": ["{run_id}"]}}
        if n % 2:  # the way back runs the rollback
            config["failbackParameters"] = {**config["parameters"], "Rollback": ["true"]}
        return config

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            tags = {k: v for k, v in item.tags.items() if not k.startswith("dr:")}
            for region in (estate.primary, estate.dr):
                seed_document(estate.session(item.resource.account_id), region, item.resource.config, tags)

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        session = estate.session(resource.account_id)
        runs = [r for region in (estate.primary, estate.dr) for r in successes(session, region, resource.config)]
        return {"moved_to": steered_to(runs)}

    def serves_from(self, resource: Any, role: Any) -> str | None:
        return role["moved_to"]

    def state(self, session: boto3.Session, region: str) -> Any:
        ssm = session.client("ssm", region_name=region)
        documents = {}
        for page in ssm.get_paginator("list_documents").paginate(Filters=[{"Key": "Owner", "Values": ["Self"]}]):
            for d in page["DocumentIdentifiers"]:
                tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=d["Name"])["TagList"]
                documents[d["Name"]] = (d.get("DocumentVersion"), sorted((t["Key"], t["Value"]) for t in tags))
        executions = sorted((e["AutomationExecutionId"], e["DocumentName"], e["AutomationExecutionStatus"])
                            for page in ssm.get_paginator("describe_automation_executions").paginate()
                            for e in page["AutomationExecutionMetadataList"])
        return {"documents": documents, "executions": executions}

    def leftovers(self, estate: Estate) -> list[str]:
        """Executions still running (a drill that ran a step must have waited for it)."""
        out = []
        for account in estate.accounts():
            for region in (estate.primary, estate.dr):
                ssm = estate.sessions[account].client("ssm", region_name=region)
                out += [f"{account or 'hub'}/{region}: automation {e['DocumentName']} {e['AutomationExecutionId']} "
                        f"{e['AutomationExecutionStatus']}"
                        for page in ssm.get_paginator("describe_automation_executions").paginate()
                        for e in page["AutomationExecutionMetadataList"] if e["AutomationExecutionStatus"] not in TERMINAL]
        return out

    def break_resource(self, estate: Estate, resource: Any) -> str:
        estate.session(resource.account_id).client("ssm", region_name=estate.dr).delete_document(
            Name=_name(resource.config))
        return "does not exist"
