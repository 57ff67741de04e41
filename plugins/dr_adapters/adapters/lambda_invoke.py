"""AWS Lambda invoked as a runbook step (``LambdaInvoke``): a function of one's own, with a payload built
from the run's context, as AWS Region switch's custom Lambda block.

The step invokes the function synchronously (``Invoke``, ``RequestResponse``) in the region the run moves to
(or leaves), with the config's ``payload`` -- ``failbackPayload`` on the way back -- its placeholders filled
from the run (``custom_steps.PLACEHOLDERS``), and a ``ClientContext`` saying which run, resource, phase and
operation call it (``context.client_context.custom`` in the function). A ``FunctionError`` in the reply fails
the unit with the function's own error (``errorType: errorMessage``); otherwise the status code and the
returned payload (truncated) go to the task's notes and the report.

A synchronous Invoke holds its connection until the function returns (up to its timeout, 15 minutes at most):
the call is made with a read timeout of the function's timeout plus a margin, so a slow function is not
mistaken for a lost reply. Work longer than that belongs in an ``SsmAutomation`` step (waited for deferrably).

Idempotency: the function must be idempotent, as Region switch requires of its Lambda blocks -- botocore
retries an Invoke whose reply was lost, and a person may clear a task whose function did its work but timed
out. What the product adds: a success is recorded on the function, as a tag whose key names the resource and
phase (``dr:invoked:<phase>:<resourceId>``) and whose value names the run (``<operation> <run id>``), so a
second run of the phase in the same run (a retry, a cleared task) finds it and does not invoke again; a
failed invocation records nothing, so a retry invokes again. Each resource and phase keeps one such tag
(Lambda allows 50 per function).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field, JsonValue, field_validator

from dr_adapters.adapters.base import AdapterError, HealthCheck, PhaseOutcome, RunContext, ServiceSide
from dr_adapters.adapters.custom_steps import CustomStepAdapter, Step, StepConfig, check_placeholders, fill, tag_value
from dr_adapters.plan.model import ResourceSpec
from dr_adapters.plan.types import Health, Phase, Regions

SCOPE_FIX = "tag the function with this estate's Customer/Environment, or remove it from the manifest"
RESULT_CHARS = 500  # of the returned payload kept in the notes and the report
READ_MARGIN_SECONDS = 30  # beyond the function's own timeout: its reply is late, not lost
MAX_TAG_KEY = 128


class LambdaInvokeConfig(StepConfig):
    function_name: str = Field(
        alias="functionName", pattern=r"^[a-zA-Z0-9_-]{1,64}$",
        description="The function's name, the same in both regions (a failback invokes it in the other); it must "
                    "carry the estate's Customer/Environment tags.")
    qualifier: str | None = Field(
        None, pattern=r"^[a-zA-Z0-9$_-]{1,128}$", description="Version or alias to invoke (default: $LATEST).")
    payload: JsonValue = Field(
        default={},
        description="The event (any JSON), its strings' placeholders such as {target_region} or {operation} "
                    "filled from the run (README: Runbook steps).")
    failback_payload: JsonValue | None = Field(
        None, alias="failbackPayload",
        description="The event of a failback (and of a drill of one): the rollback of what the failover's "
                    "invocation did (default: payload).")

    @field_validator("payload", "failback_payload")
    @classmethod
    def _placeholders(cls, payload: Any) -> Any:
        check_placeholders(payload)
        return payload


def record_key(rid: str, phase: Phase) -> str:
    """The function tag recording this resource's successful invocation in ``phase``."""
    key = f"dr:invoked:{phase.value}:{rid}"
    return key if len(key) <= MAX_TAG_KEY else f"dr:invoked:{phase.value}:{hashlib.sha256(rid.encode()).hexdigest()[:32]}"


def record_value(ctx: RunContext) -> str:
    """Names the run (and which way it went) in that tag."""
    text = f"{ctx.operation.value} {ctx.run_id}"
    return tag_value(text) if len(text) <= 256 else f"{ctx.operation.value} {hashlib.sha256(text.encode()).hexdigest()}"


class _Function:
    """The function a step invokes, as GetFunction tells it."""

    def __init__(self, reply: dict[str, Any]):
        self.configuration, self.tags = reply["Configuration"], reply.get("Tags") or {}
        self.reserved = (reply.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
        self.invoked: dict[str, Any] | None = self.configuration  # the version invoked (None: its qualifier is missing)

    @property
    def arn(self) -> str:
        """The unqualified ARN (what carries tags)."""
        return ":".join(self.configuration["FunctionArn"].split(":")[:7])

    @property
    def timeout(self) -> int:
        """The invoked version's timeout (seconds)."""
        return int((self.invoked or self.configuration).get("Timeout") or 3)


class LambdaInvokeAdapter(CustomStepAdapter):
    """Invokes a Lambda function of one's own (RequestResponse) with a payload built from the run's context, in
    the phases its config names; a function error fails the unit with the function's message."""

    actions = ("LambdaInvoke",)
    config_model = LambdaInvokeConfig
    drill_behaviour = ("inDrill: skip (default): checks the function exists, is in scope and is not parked; "
                       "inDrill: run: invokes it with {operation} = drill")
    unplanned_behaviour = ("invokes in the target region as in a planned run; a step whose region is source is refused "
                           "(preflight), unless it runs in CLEANUP/REPLICATE only, which wait for reprotect")
    phase_summaries = {
        Phase.INSTANTIATE: "when named in phases: invoke the function (Invoke, RequestResponse) and record the "
                           "success on it (TagResource)",
        Phase.ACTIVATE: "the same, when named in phases (the default: [ACTIVATE]); a second run of the phase in the "
                        "same run finds the recorded success and does not invoke again",
        Phase.CLEANUP: "the same, when named in phases",
        Phase.REPLICATE: "the same, when named in phases",
    }
    iam_actions = (
        "lambda:GetFunction",  # exists, timeout, reserved concurrency, tags (scope and this run's record)
        "lambda:InvokeFunction",  # the Invoke API
        "lambda:TagResource",  # the record of a successful invocation
    )
    service_side_actions = (
        ServiceSide("TagsInGetFunction", ("lambda:ListTags",),
                    "GetFunction returns the function's tags (scope, this run's record) only to a caller allowed "
                    "lambda:ListTags"),
    )

    # -- reads -----------------------------------------------------------------------------------------
    def _read(self, ctx: RunContext, step: Step) -> _Function | None:
        lam, name, qualifier = ctx.client("lambda", step.region, step.account_id), step.config.function_name, \
            step.config.qualifier
        try:
            fn = _Function(lam.get_function(FunctionName=name))
        except ClientError as err:
            if err.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        if qualifier:  # the version or alias invoked: its own timeout (tags and concurrency are the function's)
            try:
                fn.invoked = lam.get_function(FunctionName=name, Qualifier=qualifier)["Configuration"]
            except ClientError as err:
                if err.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                fn.invoked = None
        return fn

    def _problems(self, ctx: RunContext, step: Step, fn: _Function | None) -> tuple[str | None, str]:
        name, where = step.config.function_name, f"in {step.region}"
        if fn is None:
            return f"Lambda function {name} does not exist {where}", \
                f"deploy it {where} (both regions: a failback invokes it in the other), or fix functionName"
        mismatch = ctx.scope.mismatch(fn.tags)
        if mismatch:
            return f"Lambda function {name} {where} is out of scope: {mismatch}", SCOPE_FIX
        if fn.invoked is None:
            return f"version or alias {step.config.qualifier} of Lambda function {name} does not exist {where}", \
                "publish it (and point the alias) in both regions, or fix qualifier"
        if fn.reserved == 0:
            return f"Lambda function {name} {where} is parked (reserved concurrency 0): every Invoke is throttled", \
                "give it concurrency, or invoke the copy that serves"
        return None, f"Lambda function {name} {where} is ready"

    def check(self, ctx: RunContext, step: Step) -> _Function:
        fn = self._read(ctx, step)
        problem, fix = self._problems(ctx, step, fn)
        if problem:
            raise AdapterError(step.rid, problem, fix)
        return fn

    def _payload(self, ctx: RunContext, step: Step, phase: Phase) -> Any:
        cfg = step.config
        chosen = cfg.failback_payload if ctx.is_failback and cfg.failback_payload is not None else cfg.payload
        account = step.account_id or ctx.aws.hub_account_id
        return fill(chosen, self.values(ctx, step, phase, lambda: account or ctx.client(
            "sts", step.region).get_caller_identity()["Account"]))

    # -- the phases ------------------------------------------------------------------------------------
    def run_step(self, ctx: RunContext, step: Step, phase: Phase, target: Any, out: PhaseOutcome) -> None:
        fn: _Function = target
        name, key, value = step.config.function_name, record_key(step.rid, phase), record_value(ctx)
        if fn.tags.get(key) == value:
            out.notes.append(f"{step.rid}: {name} already invoked in {step.region} ({phase.value} of this run)")
            return
        context = {"custom": {"dr:run-id": ctx.run_id, "dr:resource-id": step.rid, "dr:phase": phase.value,
                              "dr:operation": ctx.operation.value}}
        args: dict[str, Any] = {
            "FunctionName": name, "InvocationType": "RequestResponse",
            "Payload": json.dumps(self._payload(ctx, step, phase)).encode(),
            "ClientContext": base64.b64encode(json.dumps(context).encode()).decode()}
        if step.config.qualifier:
            args["Qualifier"] = step.config.qualifier
        lam = ctx.client("lambda", step.region, step.account_id, read_timeout=fn.timeout + READ_MARGIN_SECONDS)
        reply = ctx.mutate(lam, "invoke", **args)
        if reply is None:
            out.notes.append(f"{step.rid}: would invoke {name} in {step.region}")
            return
        returned = reply["Payload"].read().decode(errors="replace")
        if reply.get("FunctionError"):
            raise AdapterError(step.rid, f"Lambda function {name} failed in {step.region} ({reply['FunctionError']}): "
                               f"{self._error(returned)}",
                               "fix the function (or its input), then clear this task: it is invoked again")
        shown = returned if len(returned) <= RESULT_CHARS else returned[:RESULT_CHARS] + "..."
        out.notes.append(f"{step.rid}: invoked {name} in {step.region}: StatusCode {reply['StatusCode']}, returned "
                         f"{shown}")
        out.data[step.rid] = {"function": name, "region": step.region, "phase": phase.value,
                              "status_code": reply["StatusCode"], "payload": shown,
                              "executed_version": reply.get("ExecutedVersion")}
        ctx.mutate(ctx.client("lambda", step.region, step.account_id), "tag_resource", Resource=fn.arn,
                   Tags={key: value})

    @staticmethod
    def _error(returned: str) -> str:
        """``errorType: errorMessage`` of a function error's payload (as Lambda's runtimes write it)."""
        try:
            error = json.loads(returned)
        except ValueError:
            return returned[:RESULT_CHARS]
        if not isinstance(error, dict):
            return returned[:RESULT_CHARS]
        return ": ".join(str(error[k]) for k in ("errorType", "errorMessage") if error.get(k)) or returned[:RESULT_CHARS]

    # -- read-only ---------------------------------------------------------------------------------------
    verb = "invoked"

    def target_name(self, config: Any) -> str:
        return config.function_name

    def activated_health(self, ctx: RunContext, step: Step, name: str) -> HealthCheck:
        fn = self._read(ctx, step)
        if fn is not None and fn.tags.get(record_key(step.rid, Phase.ACTIVATE)) == record_value(ctx):
            return HealthCheck(step.rid, Health.HEALTHY, f"{name} invoked successfully in {step.region}")
        return HealthCheck(step.rid, Health.UNHEALTHY,
                           f"{name} in {step.region}: no successful invocation by this run's ACTIVATE")

    # -- least privilege per manifest -----------------------------------------------------------------
    def iam_resources(self, resource: ResourceSpec, account_id: str, regions: Regions) -> dict[str, list[str]]:
        """The function named (and its versions and aliases), in the account and both regions."""
        name = self.config(resource).function_name
        arns = [f"arn:aws:lambda:{r}:{account_id}:function:{name}{q}" for r in (regions.primary, regions.dr)
                for q in ("", ":*")]
        return {"lambda:InvokeFunction": arns, "lambda:GetFunction": arns, "lambda:TagResource": arns[::2]}
