"""AWS Systems Manager Automation (``SsmAutomation``): run a runbook document as a step of a wave.

The step starts the document (``StartAutomationExecution``) in the account and region of the run, with its
parameters filled from the run's context (``custom_steps.PLACEHOLDERS``), and waits for the outcome
*deferrably*: a ``Wait`` on our waiter ``AutomationExecutionSucceeded`` (GetAutomationExecution; botocore and
the Amazon provider have no Automation waiter), so a runbook that takes an hour holds no worker slot. A
failed, timed-out or cancelled execution fails the unit with the step that failed: ``explain_failure`` reads
``StepExecutions`` (the step whose ``StepStatus`` is Failed: its name, action, ``FailureMessage`` and
``FailureDetails``), as the execution's own ``FailureMessage`` does not name the step.

Idempotency, as Automation allows it:

* each execution is tagged with the run's key for this resource, phase and direction (``dr:run:<key>``), and a
  phase first looks its executions up with ``DescribeAutomationExecutions`` (filters ``DocumentNamePrefix`` and
  ``TagKey``): one that succeeded is done (a second run starts nothing), one still running is waited for;
* only failed, timed-out or cancelled ones are there: the phase starts a new execution -- that is how an operator
  repairs the cause (or the document) and clears the task;
* ``ClientToken`` is derived from the key and the attempt, so a start whose reply was lost and is retried by
  botocore gets the same execution back instead of a second one.

Automation keeps an execution's history, tags included, for 30 days: a task cleared later than that starts the
document again. The tags also say which resource, phase and operation started it (``dr:resource-id``,
``dr:phase``, ``dr:operation``) to whoever reads the execution in the console; Automation takes five at most.
The document's own steps decide what it changes: it must be safe to run again after a failure (it is, on a
clear), and drill-safe when ``inDrill: run``.
"""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field, field_validator

from dr_adapters.adapters.base import (
    AdapterError,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    ServiceSide,
    Wait,
)
from dr_adapters.adapters.custom_steps import CustomStepAdapter, Step, StepConfig, check_placeholders, fill, run_key, \
    tag_value
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase, Regions

DOCUMENT = r"^([a-zA-Z0-9_\-.]{3,128}|arn:aws[a-z-]*:ssm:[a-z0-9-]*:[0-9]{12}:document/[a-zA-Z0-9_\-.]{3,128})$"
SUCCEEDED = ("Success", "CompletedWithSuccess")
FAILED = ("Failed", "TimedOut", "Cancelled", "CompletedWithFailure", "Rejected", "Exited",
          "ChangeCalendarOverrideRejected")
POLL_SECONDS = 15
SCOPE_FIX = "tag the document with this estate's Customer/Environment, or remove it from the manifest"
TOKEN_NAMESPACE = uuid.UUID("5b0c6d0e-3f0a-4c59-9a52-7c1f0d2a9e41")  # ClientTokens of this product


class SsmAutomationConfig(StepConfig):
    document_name: str = Field(
        alias="documentName", pattern=DOCUMENT,
        description="The Automation document (runbook): its name, in the account and region the step runs in (yours, "
                    "tagged with the estate's Customer/Environment, or Amazon's), or the ARN of one shared with it "
                    "(its region is the one the step runs in).")
    document_version: str | None = Field(
        None, alias="documentVersion", pattern=r"^(\$DEFAULT|\$LATEST|[0-9]+)$",
        description="Version to run: a number, $LATEST or $DEFAULT (default: the document's default version).")
    parameters: dict[str, list[str]] = Field(
        default={},
        description="Input parameters, as Automation takes them (name: list of strings); placeholders such as "
                    "{target_region} or {operation} are filled from the run (README: Runbook steps).")
    failback_parameters: dict[str, list[str]] | None = Field(
        None, alias="failbackParameters",
        description="Parameters of a failback (and of a drill of one): the rollback of what the failover's run "
                    "did (default: parameters).")
    timeout_minutes: int = Field(
        60, alias="timeoutMinutes", ge=1, le=1440,
        description="How long the run waits for the execution (deferred, no worker slot held) before failing the "
                    "unit; the execution itself goes on (a retry waits for it).")

    @field_validator("parameters", "failback_parameters")
    @classmethod
    def _placeholders_and_sizes(cls, params: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for name, values in (params or {}).items():
            if not 1 <= len(name) <= 50:
                raise ValueError(f"parameter name {name!r} must be 1 to 50 characters")
            if len(values) > 50:
                raise ValueError(f"{name}: at most 50 values")
            check_placeholders(name, f"parameter name {name!r}")
            check_placeholders(values, name)
        return params

    def name(self) -> str:
        return self.document_name.rsplit("/", 1)[-1]


def _document_arn(cfg: SsmAutomationConfig, region: str) -> str:
    """The name to start: a plain name, or the shared document's ARN in the region the step runs in."""
    if not cfg.document_name.startswith("arn:"):
        return cfg.document_name
    parts = cfg.document_name.split(":", 5)
    parts[3] = region
    return ":".join(parts)


class _Document:
    """The document a step runs, as DescribeDocument tells it, with its tags when it is the account's."""

    def __init__(self, description: dict[str, Any], tags: dict[str, str] | None):
        self.description, self.tags = description, tags

    @property
    def declared(self) -> dict[str, dict[str, Any]]:
        return {p["Name"]: p for p in self.description.get("Parameters") or []}


class SsmAutomationAdapter(CustomStepAdapter):
    """Runs an SSM Automation document (runbook) in the phases its config names, in the region the run moves to
    (or leaves), and waits deferrably for it: a failed execution fails the unit with the step that failed."""

    actions = ("SsmAutomation",)
    config_model = SsmAutomationConfig
    drill_behaviour = ("inDrill: skip (default): checks the document exists, is an Automation runbook in scope and "
                       "takes the parameters; inDrill: run: runs it with {operation} = drill")
    unplanned_behaviour = ("runs in the target region as in a planned run; a step whose region is source is refused "
                           "(preflight), unless it runs in CLEANUP/REPLICATE only, which wait for reprotect")
    phase_summaries = {
        Phase.INSTANTIATE: "when named in phases: start the document (StartAutomationExecution, tagged with the "
                           "run's key) and wait deferrably for it (GetAutomationExecution)",
        Phase.ACTIVATE: "the same, when named in phases (the default: [ACTIVATE]); a second run finds the "
                        "execution that succeeded and starts nothing, a failed one is started again",
        Phase.CLEANUP: "the same, when named in phases",
        Phase.REPLICATE: "the same, when named in phases",
    }
    iam_actions = (
        "ssm:DescribeDocument",  # exists, is an Automation runbook, which parameters it declares
        "ssm:ListTagsForResource",  # the document's scope tags
        "ssm:DescribeAutomationExecutions",  # this run's executions of the step (TagKey filter)
        "ssm:StartAutomationExecution",
        "ssm:GetAutomationExecution",  # the waiter's poll, and the failed step
    )
    service_side_actions = (
        ServiceSide("TagOnStart", ("ssm:AddTagsToResource",),
                    "StartAutomationExecution with Tags is also authorised as AddTagsToResource on the execution"),
        ServiceSide("PassAutomationRole", ("iam:PassRole",),
                    "a document run with an AutomationAssumeRole parameter: Systems Manager acts as that role",
                    {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}),
    )

    # -- reads -----------------------------------------------------------------------------------------
    def _ssm(self, ctx: RunContext, step: Step) -> Any:
        return ctx.client("ssm", step.region, step.account_id)

    def _read(self, ctx: RunContext, step: Step) -> _Document | None:
        """The document (None when it does not exist), its tags read when the account owns it."""
        ssm, cfg = self._ssm(ctx, step), step.config
        args = {"Name": _document_arn(cfg, step.region)}
        if cfg.document_version:
            args["DocumentVersion"] = cfg.document_version
        try:
            description = ssm.describe_document(**args)["Document"]
        except ClientError as err:
            if err.response["Error"]["Code"] in ("InvalidDocument", "InvalidDocumentVersion"):
                return None
            raise
        tags = None
        if description.get("Owner") not in ("Amazon",) and not cfg.document_name.startswith("arn:"):
            tags = {t["Key"]: t["Value"] for t in ssm.list_tags_for_resource(
                ResourceType="Document", ResourceId=description["Name"])["TagList"]}
        return _Document(description, tags)

    def _problems(self, ctx: RunContext, step: Step, doc: _Document | None) -> tuple[str | None, str]:
        """(what stops the step, the fix), or (None, a note) when it is ready; the scope problem comes first."""
        name, where = step.config.name(), f"in {step.region}"
        if doc is None:
            version = f" version {step.config.document_version}" if step.config.document_version else ""
            return f"automation document {name}{version} does not exist {where}", \
                f"create it {where} (both regions: a failback runs it in the other), or fix documentName"
        if doc.tags is not None:
            mismatch = ctx.scope.mismatch(doc.tags)
            if mismatch:
                return f"automation document {name} {where} is out of scope: {mismatch}", SCOPE_FIX
        kind, status = doc.description.get("DocumentType"), doc.description.get("Status")
        if kind != "Automation":
            return f"document {name} {where} is a {kind} document, not an Automation runbook", \
                "name an Automation document (Command documents run through an Automation's aws:runCommand step)"
        if status != "Active":
            return f"automation document {name} {where} is {status}", "wait until it is Active, or fix it"
        declared = doc.declared
        params = self._parameters(ctx, step, Phase.ACTIVATE)
        unknown = sorted(set(params) - set(declared))
        missing = sorted(n for n, p in declared.items() if "DefaultValue" not in p and n not in params)
        if unknown or missing:
            said = ([f"{', '.join(unknown)} not declared by it"] if unknown else []) + \
                   ([f"{', '.join(missing)} required and not given"] if missing else [])
            return f"automation document {name} {where}: parameter(s) " + "; ".join(said), \
                "make the parameters match the document's (names are case-sensitive)"
        owner = "" if doc.tags is not None else f" (owned by {doc.description.get('Owner')}: scope tags not ours)"
        return None, f"automation document {name} {where} is ready{owner}"

    def check(self, ctx: RunContext, step: Step) -> _Document:
        doc = self._read(ctx, step)
        problem, fix = self._problems(ctx, step, doc)
        if problem:
            raise AdapterError(step.rid, problem, fix)
        return doc

    def _parameters(self, ctx: RunContext, step: Step, phase: Phase) -> dict[str, list[str]]:
        cfg = step.config
        chosen = cfg.failback_parameters if ctx.is_failback and cfg.failback_parameters is not None else cfg.parameters
        return fill(chosen, self.values(ctx, step, phase, lambda: self._account(ctx, step)))

    @staticmethod
    def _account(ctx: RunContext, step: Step) -> str:
        return step.account_id or ctx.aws.hub_account_id or \
            ctx.client("sts", step.region).get_caller_identity()["Account"]

    def _executions(self, ctx: RunContext, step: Step, phase: Phase) -> list[dict[str, Any]]:
        """This run's executions of the step in ``phase``, oldest first."""
        ssm, found, args = self._ssm(ctx, step), [], {"Filters": [
            {"Key": "DocumentNamePrefix", "Values": [step.config.name()]},
            {"Key": "TagKey", "Values": [f"dr:run:{run_key(ctx, step.rid, phase)}"]}]}
        while True:
            page = ssm.describe_automation_executions(**args)
            found += [e for e in page["AutomationExecutionMetadataList"] if e["DocumentName"] == step.config.name()]
            if not page.get("NextToken"):
                return sorted(found, key=lambda e: e["ExecutionStartTime"])
            args["NextToken"] = page["NextToken"]

    def _wait(self, step: Step, execution_id: str) -> Wait:
        return Wait("ssm", step.region, step.account_id, "AutomationExecutionSucceeded",
                    {"AutomationExecutionId": execution_id},
                    f"{step.rid}: automation {step.config.name()} ({execution_id}) in {step.region}",
                    delay=POLL_SECONDS, max_attempts=max(1, step.config.timeout_minutes * 60 // POLL_SECONDS))

    # -- the phases ------------------------------------------------------------------------------------
    def run_step(self, ctx: RunContext, step: Step, phase: Phase, target: Any, out: PhaseOutcome) -> None:
        name, executions = step.config.name(), self._executions(ctx, step, phase)
        done = [e for e in executions if e["AutomationExecutionStatus"] in SUCCEEDED]
        if done:
            out.notes.append(f"{step.rid}: automation {name} {done[-1]['AutomationExecutionId']} succeeded in "
                             f"{step.region} ({phase.value} of this run)")
            return
        running = [e for e in executions if e["AutomationExecutionStatus"] not in FAILED]
        if running:
            out.waits.append(self._wait(step, running[-1]["AutomationExecutionId"]))
            return
        key, attempt = run_key(ctx, step.rid, phase), len(executions)  # a failed attempt is started again
        args: dict[str, Any] = {
            "DocumentName": _document_arn(step.config, step.region), "Parameters": self._parameters(ctx, step, phase),
            "ClientToken": str(uuid.uuid5(TOKEN_NAMESPACE, f"{key}#{attempt}")),
            "Tags": [{"Key": f"dr:run:{key}", "Value": tag_value(ctx.run_id)},
                     {"Key": "dr:resource-id", "Value": step.rid}, {"Key": "dr:phase", "Value": phase.value},
                     {"Key": "dr:operation", "Value": ctx.operation.value}]}
        if step.config.document_version:
            args["DocumentVersion"] = step.config.document_version
        started = ctx.mutate(self._ssm(ctx, step), "start_automation_execution", **args)
        again = f" (attempt {attempt + 1}: the earlier one(s) failed)" if attempt else ""
        if started is None:
            out.notes.append(f"{step.rid}: would start automation {name} in {step.region}{again}")
            return
        execution_id = started["AutomationExecutionId"]
        out.notes.append(f"{step.rid}: started automation {name} {execution_id} in {step.region}{again}")
        out.waits.append(self._wait(step, execution_id))

    def explain_failure(self, ctx: RunContext, unit: WorkUnit) -> str | None:
        """After a failed wait: the latest execution of this run's step -- which step of the document failed and
        why, or that it still runs after ``timeoutMinutes``."""
        said = []
        for resource in unit.resources:
            step = self.step(ctx, unit, resource)
            if step.region is None:
                continue
            latest = sorted((e for p in step.phases for e in self._executions(ctx, step, p)[-1:]),
                            key=lambda e: e["ExecutionStartTime"])[-1:]
            for e in latest:
                status, execution_id = e["AutomationExecutionStatus"], e["AutomationExecutionId"]
                if status in FAILED:
                    said.append(self._failure(ctx, step, execution_id))
                elif status not in SUCCEEDED:
                    said.append(f"{step.rid}: automation {step.config.name()} {execution_id} is still {status} in "
                                f"{step.region} after timeoutMinutes={step.config.timeout_minutes} (at step "
                                f"{e.get('CurrentStepName', '?')}) -- fix: see why (an approval waiting?), let it "
                                "finish or stop it, then clear this task: a retry waits for it, never starts another")
        return "; ".join(said) or None

    def _failure(self, ctx: RunContext, step: Step, execution_id: str) -> str:
        execution = self._ssm(ctx, step).get_automation_execution(
            AutomationExecutionId=execution_id)["AutomationExecution"]
        status = execution["AutomationExecutionStatus"]
        bad = [s for s in execution.get("StepExecutions") or [] if s.get("StepStatus") in FAILED]
        if bad:
            s = bad[0]
            details = s.get("FailureDetails") or {}
            kind = "/".join(v for v in (details.get("FailureStage"), details.get("FailureType")) if v)
            why = f"step {s['StepName']} ({s.get('Action', '?')}) {s['StepStatus']}: {s.get('FailureMessage') or '?'}" \
                + (f" [{kind}]" if kind else "")
        else:
            why = execution.get("FailureMessage") or "no step failed (stopped?)"
        return (f"{step.rid}: automation {step.config.name()} {execution_id} {status} in {step.region}: {why} -- fix: "
                "repair the cause (or the document), then clear this task: a failed execution is started again")

    # -- read-only ---------------------------------------------------------------------------------------
    def target_name(self, config: Any) -> str:
        return config.name()

    def activated_health(self, ctx: RunContext, step: Step, name: str) -> HealthCheck:
        latest = self._executions(ctx, step, Phase.ACTIVATE)[-1:]
        status = latest[0]["AutomationExecutionStatus"] if latest else None
        if status in SUCCEEDED:
            return HealthCheck(step.rid, Health.HEALTHY, f"automation {name} "
                               f"{latest[0]['AutomationExecutionId']} succeeded in {step.region}")
        if status in FAILED:
            return HealthCheck(step.rid, Health.UNHEALTHY, self._failure(ctx, step, latest[0]["AutomationExecutionId"]))
        return HealthCheck(step.rid, Health.UNHEALTHY, f"automation {name} in {step.region}: "
                           + (f"still {status}" if status else "not started by this run's ACTIVATE"))

    # -- least privilege per manifest -----------------------------------------------------------------
    def iam_resources(self, resource: ResourceSpec, account_id: str, regions: Regions) -> dict[str, list[str]]:
        """The document named, in both regions (a failback runs it in the other); any owner (yours, Amazon's or
        one shared with the account): the name is what narrows it."""
        name, both = self.config(resource).name(), (regions.primary, regions.dr)
        docs = [f"arn:aws:ssm:{r}:*:document/{name}" for r in both]
        return {"ssm:StartAutomationExecution": [f"arn:aws:ssm:{r}:*:automation-definition/{name}:*" for r in both],
                "ssm:DescribeDocument": docs, "ssm:ListTagsForResource": docs,
                "ssm:GetAutomationExecution": [f"arn:aws:ssm:{r}:{account_id}:automation-execution/*" for r in both],
                "ssm:AddTagsToResource": [f"arn:aws:ssm:{r}:{account_id}:automation-execution/*" for r in both]}
