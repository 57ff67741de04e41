"""SSM Automation executions on top of moto's Systems Manager (moto 5.2 has documents, not executions).

Added as methods of moto's ``SimpleSystemManagerResponse`` (so they serve in-process and in server mode),
answered in botocore's shapes:

* ``StartAutomationExecution`` -- of an ``Automation`` document of the account and region called (by name,
  or by its ARN in that account and region), at ``DocumentVersion`` (``$DEFAULT``, ``$LATEST`` or a number),
  with ``Parameters`` checked against the document's declared ones, ``Tags`` (the execution's, listed by
  ``ListTagsForResource(ResourceType=Automation)``) and ``ClientToken`` (the same token and request give the
  same execution back, as a retried call must; the same token with another request is refused).
* ``GetAutomationExecution`` (with ``StepExecutions`` from the document's ``mainSteps``),
  ``DescribeAutomationExecutions`` (filters ``DocumentNamePrefix``, ``ExecutionStatus``, ``ExecutionId``,
  ``StartTimeBefore`` / ``StartTimeAfter``, ``CurrentAction``, ``AutomationType``, ``TagKey``; newest first,
  paginated) and ``StopAutomationExecution``.

An execution is ``Pending`` when started, ``InProgress`` (its first step running) from the next request on,
and finishes ``AWSSIM_DELAY_SECONDS`` (read at call time) after its start; a stopped one is ``Cancelling``
that long, then ``Cancelled``. Transitions complete lazily, when an execution of the account and region is
next read, as if AWS had worked in the background.

How it ends is the test's to say, read from the document when the execution finishes (so a test can flip it
while one runs): the document's tag ``awssim:outcome`` (settable over the AWS API, so in server mode too):

* absent or ``Success`` -- every step ``Success``;
* ``Failed:<stepName>:<message>`` -- the steps before ``stepName`` succeed, that one is ``Failed`` with
  ``FailureMessage`` and ``FailureDetails`` (the execution's own ``FailureMessage`` does not name the step,
  as on AWS: the step is read from ``StepExecutions``); an unknown step name fails the first step;
* ``TimedOut:<stepName>`` -- that step and the execution ``TimedOut``.

What AWS refuses, refused: an unknown document or one that is not an Automation document
(AutomationDefinitionNotFoundException), an unknown version (AutomationDefinitionVersionNotFoundException),
parameters the document does not declare, required ones missing, a single-valued type given several values,
an Integer or Boolean that is not one, values outside ``allowedValues`` or ``allowedPattern``
(InvalidAutomationExecutionParametersException), a ``ClientToken`` that is not a UUID (ValidationException)
or reused for another request (IdempotentParameterMismatch), more than five tags (ValidationException), an
unknown execution (AutomationExecutionNotFoundException), stopping a finished one
(InvalidAutomationStatusUpdateException), unknown filter keys or bad filter values (InvalidFilterKey,
InvalidFilterValue).

Not modelled: what the steps do (no step acts on AWS), documents shared from other accounts, rate control
(``Targets``, ``TargetLocations``: multi-account and multi-region executions), approvals and ``Interactive``
mode, the concurrency quota and its queue.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.ssm.exceptions import InvalidFilterKey, InvalidFilterValue, SSMException, ValidationException
from moto.ssm.models import SimpleSystemManagerBackend, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

OUTCOME_TAG = "awssim:outcome"
TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled", "CompletedWithSuccess", "CompletedWithFailure",
                      "Rejected", "Exited"})
STATUSES = frozenset(TERMINAL | {"Pending", "InProgress", "Waiting", "Cancelling", "PendingApproval", "Approved",
                                 "Scheduled", "RunbookInProgress"})
FILTER_KEYS = frozenset({"DocumentNamePrefix", "ExecutionStatus", "ExecutionId", "ParentExecutionId", "CurrentAction",
                         "StartTimeBefore", "StartTimeAfter", "AutomationType", "TagKey", "TargetResourceGroup",
                         "AutomationSubtype", "OpsItemId"})
DOCUMENT_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):document/(?P<name>.+)$")
UUID = re.compile(r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$")
SINGLE_VALUED = ("String", "Integer", "Boolean")
MAX_TAGS = 5  # "You can specify a maximum of five tags for an automation."
_lock = threading.RLock()


class AutomationDefinitionNotFoundException(SSMException):
    def __init__(self, message: str):
        super().__init__("AutomationDefinitionNotFoundException", message)


class AutomationDefinitionVersionNotFoundException(SSMException):
    def __init__(self, message: str):
        super().__init__("AutomationDefinitionVersionNotFoundException", message)


class InvalidAutomationExecutionParametersException(SSMException):
    def __init__(self, message: str):
        super().__init__("InvalidAutomationExecutionParametersException", message)


class IdempotentParameterMismatch(SSMException):
    def __init__(self, message: str):
        super().__init__("IdempotentParameterMismatch", message)


class AutomationExecutionNotFoundException(SSMException):
    def __init__(self, execution_id: str):
        super().__init__("AutomationExecutionNotFoundException",
                         f"Automation execution {execution_id} was not found.")


class InvalidAutomationStatusUpdateException(SSMException):
    def __init__(self, message: str):
        super().__init__("InvalidAutomationStatusUpdateException", message)


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Execution:
    """One automation execution, kept on the moto backend of its account and region."""

    execution_id: str
    account_id: str
    region: str
    document: str
    version: str
    parameters: dict[str, list[str]]
    steps: list[dict[str, str]]  # the document's mainSteps: name and action
    started: datetime = field(default_factory=_now)
    ended: datetime | None = None
    status: str = "Pending"
    step_executions: list[dict[str, Any]] = field(default_factory=list)
    failure_message: str | None = None
    stopping: datetime | None = None  # when a stop was asked (Cancelling until it takes effect)

    def current(self) -> dict[str, Any] | None:
        return next((s for s in self.step_executions if s["StepStatus"] == "InProgress"), None)

    def metadata(self) -> dict[str, Any]:
        """An AutomationExecutionMetadata (DescribeAutomationExecutions)."""
        out: dict[str, Any] = {
            "AutomationExecutionId": self.execution_id, "DocumentName": self.document, "DocumentVersion": self.version,
            "AutomationExecutionStatus": self.status, "ExecutionStartTime": self.started,
            "ExecutedBy": f"arn:aws:iam::{self.account_id}:root", "Mode": "Auto", "AutomationType": "Local",
            "Outputs": {}}
        if self.ended:
            out["ExecutionEndTime"] = self.ended
        if self.failure_message:
            out["FailureMessage"] = self.failure_message
        step = self.current()
        if step:
            out["CurrentStepName"], out["CurrentAction"] = step["StepName"], step["Action"]
        return out

    def describe(self) -> dict[str, Any]:
        """An AutomationExecution (GetAutomationExecution)."""
        out = {k: v for k, v in self.metadata().items() if k not in ("AutomationType",)}
        out.update({"Parameters": self.parameters, "StepExecutions": self.step_executions,
                    "StepExecutionsTruncated": False})
        return out


def _executions(backend: SimpleSystemManagerBackend) -> dict[str, Execution]:
    """The executions of one account and region (on moto's backend, so a moto reset clears them)."""
    if not hasattr(backend, "awssim_automations"):
        backend.awssim_automations = {}
        backend.awssim_client_tokens = {}
    return backend.awssim_automations


def _outcome(backend: SimpleSystemManagerBackend, ex: Execution) -> tuple[str, str | None, str]:
    """(status, failing step, message) as the document's ``awssim:outcome`` tag says now."""
    tags = backend._resource_tags.get("Document", {}).get(ex.document, {})
    kind, _, rest = (tags.get(OUTCOME_TAG) or "Success").partition(":")
    step, _, message = rest.partition(":")
    if kind == "Failed":
        return "Failed", step, message or "the step failed"
    if kind == "TimedOut":
        return "TimedOut", step, f"Step timed out after {step or 'its'} timeoutSeconds"
    return "Success", None, ""


def _step(ex: Execution, spec: dict[str, str], status: str, at: datetime) -> dict[str, Any]:
    return {"StepName": spec["name"], "Action": spec["action"], "StepStatus": status, "ExecutionStartTime": at,
            "StepExecutionId": str(uuid.uuid5(uuid.UUID(ex.execution_id), spec["name"])), "OnFailure": "Abort",
            "MaxAttempts": 1, "IsCritical": True, "Inputs": {}, "Outputs": {}}


def _finish(backend: SimpleSystemManagerBackend, ex: Execution, now: datetime) -> None:
    status, failing, message = _outcome(backend, ex)
    names = [s["name"] for s in ex.steps]
    stop_at = names.index(failing) if failing in names else (0 if status != "Success" else len(names))
    ex.step_executions = []
    for i, spec in enumerate(ex.steps[:stop_at + 1] if status != "Success" else ex.steps):
        step = _step(ex, spec, "Success", ex.started)
        step["ExecutionEndTime"] = now
        if i == stop_at and status != "Success":
            step["StepStatus"] = status
            step["FailureMessage"] = message
            step["FailureDetails"] = {"FailureStage": "Execution", "FailureType": "Verification",
                                      "Details": {"ExceptionMessage": [message]}}
        ex.step_executions.append(step)
    if status != "Success":
        # As on AWS, the execution's message says what failed, not which step: that is in StepExecutions.
        ex.failure_message = (f"Step fails when it is Execute action. {message}. Please refer to Automation Service "
                              "Troubleshooting Guide for more diagnosis details.")
    ex.status, ex.ended = status, now


def settle(backend: SimpleSystemManagerBackend) -> None:
    """Complete every transition of the account and region whose time has come."""
    now, delay = _now(), _delay()
    with _lock:
        for ex in _executions(backend).values():
            if ex.status == "Pending":
                ex.status = "InProgress"
                if ex.steps:
                    ex.step_executions = [_step(ex, ex.steps[0], "InProgress", now)]
            if ex.status == "InProgress" and (now - ex.started).total_seconds() >= delay:
                _finish(backend, ex, now)
            if ex.status == "Cancelling" and ex.stopping and (now - ex.stopping).total_seconds() >= delay:
                for step in ex.step_executions:
                    if step["StepStatus"] == "InProgress":
                        step.update(StepStatus="Cancelled", ExecutionEndTime=now)
                ex.status, ex.ended = "Cancelled", now


# -- what AWS refuses --------------------------------------------------------------------------------
def _document(backend: SimpleSystemManagerBackend, name_or_arn: str, version: str | None) -> Any:
    """The moto Document to run (of the account and region called), refused as AWS refuses."""
    name = name_or_arn
    found = DOCUMENT_ARN.match(name_or_arn or "")
    if found:
        if (found["account"], found["region"]) != (backend.account_id, backend.region_name):
            raise AutomationDefinitionNotFoundException(f"Document {name_or_arn} does not exist in this account and "
                                                        "Region (documents shared from other accounts: not simulated)")
        name = found["name"]
    documents = backend._documents.get(name)
    if documents is None:
        raise AutomationDefinitionNotFoundException(f"Document with name {name} does not exist.")
    if version in (None, "", "$DEFAULT"):
        doc = documents.get_default_version()
    elif version == "$LATEST":
        doc = documents.get_latest_version()
    else:
        doc = documents.find_by_version(version)
        if doc is None:
            raise AutomationDefinitionVersionNotFoundException(f"Document {name} does not have version {version}.")
    if doc.document_type != "Automation":
        raise AutomationDefinitionNotFoundException(f"Document {name} is a {doc.document_type} document, not an "
                                                    "Automation runbook.")
    return doc


def _resolved(doc: Any, given: dict[str, list[str]]) -> dict[str, list[str]]:
    """The execution's parameters: the given ones checked against the document's, then its defaults."""
    declared: dict[str, Any] = doc.content_json.get("parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InvalidAutomationExecutionParametersException(
            f"Parameter(s) {', '.join(unknown)} not defined in the document {doc.name}.")
    out: dict[str, list[str]] = {}
    for name, spec in declared.items():
        kind = spec.get("type", "String")
        if name not in given:
            if "default" not in spec:
                raise InvalidAutomationExecutionParametersException(
                    f"Parameter {name} is required, but was not provided.")
            default = spec["default"]
            out[name] = [str(v) for v in default] if isinstance(default, list) else \
                ([json.dumps(default)] if isinstance(default, dict) else [str(default).lower()
                                                                         if isinstance(default, bool) else str(default)])
            continue
        values = given[name]
        if kind in SINGLE_VALUED and len(values) != 1:
            raise InvalidAutomationExecutionParametersException(
                f"Parameter {name} of type {kind} takes exactly one value, got {len(values)}.")
        for value in values:
            if kind == "Integer" and not re.fullmatch(r"-?\d+", value):
                raise InvalidAutomationExecutionParametersException(f"Parameter {name} is not an Integer: {value!r}.")
            if kind == "Boolean" and value not in ("true", "false"):
                raise InvalidAutomationExecutionParametersException(f"Parameter {name} is not a Boolean: {value!r}.")
            if spec.get("allowedValues") and value not in [str(v) for v in spec["allowedValues"]]:
                raise InvalidAutomationExecutionParametersException(
                    f"Parameter {name} value {value!r} is not one of its allowedValues.")
            if spec.get("allowedPattern") and not re.fullmatch(spec["allowedPattern"], value):
                raise InvalidAutomationExecutionParametersException(
                    f"Parameter {name} value {value!r} does not match its allowedPattern {spec['allowedPattern']}.")
        out[name] = list(values)
    return out


# -- response methods added to moto's SimpleSystemManagerResponse --------------------------------------
def start_automation_execution(self: SimpleSystemManagerResponse) -> ActionResult:
    backend = self.ssm_backend
    name, version = self._get_param("DocumentName"), self._get_param("DocumentVersion")
    given = self._get_param("Parameters") or {}
    token, tags = self._get_param("ClientToken"), self._get_param("Tags") or []
    if token is not None and not UUID.match(token):
        raise ValidationException(f"ClientToken {token!r} is not a UUID.")
    if len(tags) > MAX_TAGS:
        raise ValidationException(f"An automation takes at most {MAX_TAGS} tags, got {len(tags)}.")
    request = hashlib.sha256(json.dumps([name, version, given, self._get_param("Mode")], sort_keys=True).encode())
    with _lock:
        executions = _executions(backend)
        if token is not None:
            token = token.lower()  # case-insensitive, as documented
            known = backend.awssim_client_tokens.get(token)
            if known is not None:
                if known[1] != request.hexdigest():
                    raise IdempotentParameterMismatch(f"ClientToken {token} was used with other parameters.")
                return ActionResult({"AutomationExecutionId": known[0]})
        doc = _document(backend, name, version)
        ex = Execution(str(uuid.uuid4()), backend.account_id, backend.region_name, doc.name, doc.document_version,
                       _resolved(doc, given), [{"name": s.get("name", f"step{i}"), "action": s.get("action", "")}
                                               for i, s in enumerate(doc.content_json.get("mainSteps") or [])])
        executions[ex.execution_id] = ex
        backend._resource_tags["Automation"][ex.execution_id].update({t["Key"]: t["Value"] for t in tags})
        if token is not None:
            backend.awssim_client_tokens[token] = (ex.execution_id, request.hexdigest())
    return ActionResult({"AutomationExecutionId": ex.execution_id})


def _execution(self: SimpleSystemManagerResponse, execution_id: str | None) -> Execution:
    settle(self.ssm_backend)
    ex = _executions(self.ssm_backend).get(execution_id or "")
    if ex is None:
        raise AutomationExecutionNotFoundException(execution_id or "")
    return ex


def get_automation_execution(self: SimpleSystemManagerResponse) -> ActionResult:
    return ActionResult({"AutomationExecution": _execution(self, self._get_param("AutomationExecutionId")).describe()})


def _time_filter(key: str, value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise InvalidFilterValue(f"The {key} filter value {value!r} is not a time (yyyy-MM-ddTHH:mm:ssZ).") from None


def _matches(backend: SimpleSystemManagerBackend, ex: Execution, key: str, values: list[str]) -> bool:
    if key == "DocumentNamePrefix":
        return any(ex.document.startswith(v) for v in values)
    if key == "ExecutionStatus":
        bad = [v for v in values if v not in STATUSES]
        if bad:
            raise InvalidFilterValue(f"{', '.join(bad)}: not an automation execution status.")
        return ex.status in values
    if key == "ExecutionId":
        return ex.execution_id in values
    if key == "StartTimeBefore":
        return all(ex.started < _time_filter(key, v) for v in values)
    if key == "StartTimeAfter":
        return all(ex.started > _time_filter(key, v) for v in values)
    if key == "CurrentAction":
        step = ex.current()
        return bool(step) and step["Action"] in values
    if key == "AutomationType":
        return "Local" in values
    if key == "TagKey":
        tags = backend._resource_tags.get("Automation", {}).get(ex.execution_id, {})
        return any(v in tags for v in values)
    return False  # ParentExecutionId, TargetResourceGroup, AutomationSubtype, OpsItemId: none simulated


def describe_automation_executions(self: SimpleSystemManagerResponse) -> ActionResult:
    settle(self.ssm_backend)
    filters = self._get_param("Filters") or []
    for f in filters:
        if f.get("Key") not in FILTER_KEYS:
            raise InvalidFilterKey(f"{f.get('Key')} is not a valid filter key.")
        if not f.get("Values"):
            raise InvalidFilterValue(f"The {f['Key']} filter needs at least one value.")
    limit = int(self._get_param("MaxResults") or 50)
    if not 1 <= limit <= 50:
        raise ValidationException("MaxResults must be between 1 and 50.")
    with _lock:
        found = [ex for ex in _executions(self.ssm_backend).values()
                 if all(_matches(self.ssm_backend, ex, f["Key"], f["Values"]) for f in filters)]
    found.sort(key=lambda ex: ex.started, reverse=True)  # newest first
    token = self._get_param("NextToken")
    start = int(token) if token and token.isdigit() else 0
    body: dict[str, Any] = {"AutomationExecutionMetadataList": [ex.metadata() for ex in found[start:start + limit]]}
    if start + limit < len(found):
        body["NextToken"] = str(start + limit)
    return ActionResult(body)


def stop_automation_execution(self: SimpleSystemManagerResponse) -> EmptyResult:
    kind = self._get_param("Type") or "Cancel"
    with _lock:
        ex = _execution(self, self._get_param("AutomationExecutionId"))
        if ex.status in TERMINAL or ex.status == "Cancelling":
            raise InvalidAutomationStatusUpdateException(
                f"Automation execution {ex.execution_id} is {ex.status}: it cannot be stopped.")
        if kind not in ("Cancel", "Complete"):
            raise ValidationException(f"Type {kind!r} is not Cancel or Complete.")
        ex.status, ex.stopping = "Cancelling", _now()
    return EmptyResult()


# -- the execution as a taggable resource (ResourceType=Automation) -------------------------------------
_moto_validate = SimpleSystemManagerBackend._validate_resource_type_and_id


def _validate_resource_type_and_id(self: SimpleSystemManagerBackend, resource_type: str, resource_id: str) -> str:
    if resource_type == "Automation":
        from moto.ssm.exceptions import InvalidResourceId

        if resource_id not in _executions(self):
            raise InvalidResourceId()
        return resource_id
    return _moto_validate(self, resource_type, resource_id)


# -- for tests ------------------------------------------------------------------------------------------
def executions(account_id: str, region: str) -> list[dict[str, Any]]:
    """In-process: every execution of an account and region, as GetAutomationExecution describes it."""
    backend = ssm_backends[account_id][region]
    settle(backend)
    return [ex.describe() for ex in sorted(_executions(backend).values(), key=lambda ex: ex.started)]


def outcome_tag(step: str | None = None, message: str = "", *, status: str = "Failed") -> dict[str, str]:
    """The document tag that makes its next executions end so (``{"Key": ..., "Value": ...}``): ``Success``
    without a step, else ``status`` (Failed, TimedOut) at ``step`` with ``message``."""
    value = "Success" if step is None else f"{status}:{step}:{message}"
    return {"Key": OUTCOME_TAG, "Value": value}


def register() -> None:
    """Serve the additions from moto's Systems Manager (idempotent)."""
    for fn in (start_automation_execution, get_automation_execution, describe_automation_executions,
               stop_automation_execution):
        setattr(SimpleSystemManagerResponse, fn.__name__, fn)
    SimpleSystemManagerBackend._validate_resource_type_and_id = _validate_resource_type_and_id
