"""Service Quotas for the quotas a DR run consumes, on top of moto's (which knows only Amazon VPC's), and the
limits behind them enforced where AWS enforces them.

moto 5.2 answers ``GetServiceQuota`` with VPC's defaults only, and has no ``GetAWSDefaultServiceQuota``. We
answer both, per account and region as AWS does, in botocore's ``ServiceQuota`` shape, for the quotas of
``CATALOGUE`` (EC2's On-Demand vCPU families, RDS DB instances, Lambda concurrent executions, Fargate
On-Demand vCPUs; VPC stays moto's):

* ``GetAWSDefaultServiceQuota``: AWS's published default (Running On-Demand Standard instances: 5 vCPUs);
* ``GetServiceQuota``: the value *applied* to the account, when it has one -- a test sets it with
  ``set_quota(account, region, service_code, quota_code, value)`` (in-process), or over HTTP in server mode
  (``POST /_awssim/service-quotas``, ``CONTROL_PATH``); EC2's On-Demand families always have one, as every
  real account does (``ESTABLISHED``: what the simulator stands in for an established account; AWS raises a
  new account's 5 vCPUs with use). Without an applied value AWS answers ``NoSuchResourceException`` and a
  caller falls back to the default, as the orchestrator does;
* an unknown service or quota code: ``NoSuchResourceException``.

What the quotas limit, refused as AWS refuses it: ``RunInstances`` (and so a DRS recovery launch, an Auto
Scaling launch) past the applied vCPU quota of the instance type's family, counting the account's running and
pending instances of that family in the region: ``VcpuLimitExceeded`` with EC2's message; and Lambda
``PutFunctionConcurrency`` that would leave fewer than 100 unreserved concurrent executions under the
account's ``Concurrent executions`` quota (``InvalidParameterValueException``, Lambda's message). Lambda's
``GetAccountSettings`` (which moto lacks) answers that quota and what is left unreserved.

Not modelled: Spot quotas, resource-level quotas, increase requests (``RequestServiceQuotaIncrease``), the
CloudWatch usage metrics AWS publishes for each quota.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.core.exceptions import JsonRESTError
from moto.awslambda.models import LambdaBackend, lambda_backends
from moto.awslambda.responses import LambdaResponse
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import EC2Backend, ec2_backends
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.servicequotas.models import ServiceQuotasBackend, servicequotas_backends
from moto.servicequotas.responses import ServiceQuotasResponse

CONTROL_PATH = "/_awssim/service-quotas"
EC2 = "ec2"
STANDARD = "L-1216C47A"
LAMBDA_CONCURRENCY = "L-B99A9384"
LAMBDA_MIN_UNRESERVED = 100  # Lambda keeps this many concurrent executions unreserved in every account and region


@dataclass(frozen=True)
class QuotaSpec:
    service_code: str
    service_name: str
    quota_code: str
    name: str
    default: float
    unit: str = "None"
    families: tuple[str, ...] = ()  # EC2: the instance families whose vCPUs count against it


EC2_NAME = "Amazon Elastic Compute Cloud (Amazon EC2)"
CATALOGUE: tuple[QuotaSpec, ...] = (
    QuotaSpec(EC2, EC2_NAME, STANDARD, "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 5.0,
              families=("a", "c", "d", "h", "i", "m", "r", "t", "z")),
    QuotaSpec(EC2, EC2_NAME, "L-DB2E81BA", "Running On-Demand G and VT instances", 0.0, families=("g", "vt")),
    QuotaSpec(EC2, EC2_NAME, "L-417A185B", "Running On-Demand P instances", 0.0, families=("p",)),
    QuotaSpec(EC2, EC2_NAME, "L-7295265B", "Running On-Demand X instances", 0.0, families=("x",)),
    QuotaSpec(EC2, EC2_NAME, "L-74FC7D96", "Running On-Demand F instances", 0.0, families=("f",)),
    QuotaSpec(EC2, EC2_NAME, "L-1945791B", "Running On-Demand Inf instances", 0.0, families=("inf",)),
    QuotaSpec(EC2, EC2_NAME, "L-6E869C2A", "Running On-Demand DL instances", 0.0, families=("dl",)),
    QuotaSpec(EC2, EC2_NAME, "L-2C3B7624", "Running On-Demand Trn instances", 0.0, families=("trn",)),
    QuotaSpec(EC2, EC2_NAME, "L-F7808C92", "Running On-Demand HPC instances", 0.0, families=("hpc",)),
    QuotaSpec(EC2, EC2_NAME, "L-43DA4232", "Running On-Demand High Memory instances", 0.0, families=("u",)),
    QuotaSpec("rds", "Amazon Relational Database Service (Amazon RDS)", "L-7B6409FD", "DB instances", 40.0),
    QuotaSpec("lambda", "AWS Lambda", LAMBDA_CONCURRENCY, "Concurrent executions", 1000.0),
    QuotaSpec("fargate", "AWS Fargate", "L-3032A538", "Fargate On-Demand vCPU resource count", 4000.0),
)
BY_CODE = {(q.service_code, q.quota_code): q for q in CATALOGUE}
ESTABLISHED: dict[tuple[str, str], float] = {(q.service_code, q.quota_code): 2048.0 if q.quota_code == STANDARD
                                             else 64.0 for q in CATALOGUE if q.service_code == EC2}
"""Applied values every account has in the simulator unless a test sets its own: EC2's On-Demand vCPU quotas,
which AWS applies to every account (here as an established account might have them, so synthetic estates of
hundreds of servers fit)."""

_lock = threading.Lock()


def _applied(backend: ServiceQuotasBackend) -> dict[tuple[str, str], float]:
    if not hasattr(backend, "awssim_applied"):
        backend.awssim_applied = {}  # type: ignore[attr-defined]  # moto's reset makes a fresh backend
    return backend.awssim_applied  # type: ignore[attr-defined]


def set_quota(account_id: str, region: str, service_code: str, quota_code: str, value: float | None) -> None:
    """Apply ``value`` to a quota of one account and region (None: back to the simulator's standing value:
    ``ESTABLISHED`` for EC2's families, else none applied). Unknown codes are a ValueError naming them."""
    if (service_code, quota_code) not in BY_CODE:
        known = ", ".join(f"{s}/{q}" for s, q in BY_CODE)
        raise ValueError(f"unknown quota {service_code}/{quota_code}: the simulator knows {known}")
    if value is not None and (not isinstance(value, (int, float)) or value < 0 or math.isnan(value)):
        raise ValueError(f"quota value {value!r} must be a number >= 0")
    applied = _applied(servicequotas_backends[account_id][region])
    with _lock:
        if value is None:
            applied.pop((service_code, quota_code), None)
        else:
            applied[(service_code, quota_code)] = float(value)


def applied_value(account_id: str, region: str, service_code: str, quota_code: str) -> float | None:
    """The value applied to the account in ``region``, or None when it has none (AWS's default holds)."""
    applied = _applied(servicequotas_backends[account_id][region])
    return applied.get((service_code, quota_code), ESTABLISHED.get((service_code, quota_code)))


def effective_value(account_id: str, region: str, service_code: str, quota_code: str) -> float:
    value = applied_value(account_id, region, service_code, quota_code)
    return BY_CODE[(service_code, quota_code)].default if value is None else value


def _shape(backend: ServiceQuotasBackend, spec: QuotaSpec, value: float, applied: bool) -> dict[str, Any]:
    """botocore's ServiceQuota: the applied value carries the account in its ARN, the default does not."""
    account = backend.account_id if applied else ""
    arn = f"arn:aws:servicequotas:{backend.region_name}:{account}:{spec.service_code}/{spec.quota_code}"
    quota: dict[str, Any] = {
        "ServiceCode": spec.service_code, "ServiceName": spec.service_name, "QuotaArn": arn,
        "QuotaCode": spec.quota_code, "QuotaName": spec.name, "Value": value, "Unit": spec.unit,
        "Adjustable": True, "GlobalQuota": False,
    }
    if applied:
        quota["QuotaAppliedAtLevel"] = "ACCOUNT"
    return quota


class NoSuchQuota(JsonRESTError):
    def __init__(self, service_code: str, quota_code: str, why: str) -> None:
        super().__init__("NoSuchResourceException", f"{why} ({service_code}/{quota_code})")


def get_service_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
    spec = BY_CODE.get((service_code, quota_code))
    if spec is None:
        return _moto_get_service_quota(self, service_code, quota_code)  # VPC's defaults, or moto's refusal
    value = applied_value(self.account_id, self.region_name, service_code, quota_code)
    if value is None:  # AWS has no applied value to answer with: the caller reads the default instead
        raise NoSuchQuota(service_code, quota_code, "No applied quota value exists for this account")
    return _shape(self, spec, value, applied=True)


def get_aws_default_service_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
    spec = BY_CODE.get((service_code, quota_code))
    if spec is None:
        if service_code == "vpc":
            return _moto_get_service_quota(self, service_code, quota_code)
        raise NoSuchQuota(service_code, quota_code, "The request failed because the specified quota does not exist")
    return _shape(self, spec, spec.default, applied=False)


def get_aws_default_service_quota_response(self: ServiceQuotasResponse) -> str:
    params = json.loads(self.body)
    quota = self.backend.get_aws_default_service_quota(str(params.get("ServiceCode")), str(params.get("QuotaCode")))
    return json.dumps({"Quota": quota})


# -- what the quotas limit ------------------------------------------------------------------------
SPECIAL_FAMILIES = ("inf", "trn", "hpc", "dl", "vt")  # their first letter alone names a Standard family


def family_of(instance_type: str) -> str | None:
    """The family letters an On-Demand quota counts by: ``inf2.xlarge`` -> inf, ``im4gn.large`` -> i (Standard),
    ``u-6tb1.metal`` -> u (High Memory); None for Mac instances (Dedicated Hosts only, no vCPU quota)."""
    letters = re.match(r"[a-z]+", instance_type or "")
    family = letters.group() if letters else ""
    if not family or family == "mac":
        return None
    special = next((f for f in SPECIAL_FAMILIES if family.startswith(f)), None)
    return special or family[0]


def quota_of_instance_type(instance_type: str) -> QuotaSpec | None:
    """The On-Demand vCPU quota an instance type's family counts against (None: none of ours)."""
    family = family_of(instance_type)
    return next((s for s in CATALOGUE if family in s.families), None)


def vcpus(instance_type: str) -> int:
    info = INSTANCE_TYPES.get(instance_type) or {}
    return int((info.get("VCpuInfo") or {}).get("DefaultVCpus") or 1)


def _vcpus_in_use(backend: EC2Backend, spec: QuotaSpec) -> int:
    return sum(vcpus(i.instance_type) for i in backend.all_instances()
               if i.state in ("pending", "running") and quota_of_instance_type(i.instance_type) == spec)


def run_instances(self: EC2Backend, image_id: str, count: int, user_data: Any, security_group_names: list[str],
                  **kwargs: Any) -> Any:
    instance_type = kwargs.get("instance_type") or "m1.small"
    if kwargs.get("launch_template") and kwargs.get("is_instance_type_default"):
        template_type = self._get_template_from_args(kwargs["launch_template"]).data.get("InstanceType")
        instance_type = template_type or instance_type
    spec = quota_of_instance_type(instance_type)
    if spec is not None:
        limit = effective_value(self.account_id, self.region_name, spec.service_code, spec.quota_code)
        if _vcpus_in_use(self, spec) + int(count) * vcpus(instance_type) > limit:
            raise EC2ClientError(
                "VcpuLimitExceeded",
                f"You have requested more vCPU capacity than your current vCPU limit of {limit:g} allows for the "
                "instance bucket that the specified instance type belongs to. Please visit "
                "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.")
    return _moto_run_instances(self, image_id, count, user_data, security_group_names, **kwargs)


def _reserved(backend: LambdaBackend, but: str | None = None) -> int:
    return sum(int(f.reserved_concurrency or 0) for f in backend.list_functions() if f.function_name != but)


def put_function_concurrency(self: LambdaBackend, function_name: str, reserved_concurrency: str) -> str:
    limit = effective_value(self.account_id, self.region_name, "lambda", LAMBDA_CONCURRENCY)
    name = self.get_function(function_name).function_name
    if limit - _reserved(self, but=name) - int(reserved_concurrency) < LAMBDA_MIN_UNRESERVED:
        raise InvalidParameterValueException(
            "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution "
            f"below its minimum value of [{LAMBDA_MIN_UNRESERVED}].")
    return _moto_put_function_concurrency(self, function_name, reserved_concurrency)


def get_account_settings(self: LambdaResponse) -> Any:
    """Lambda GetAccountSettings: the concurrency quota, and what the functions' reservations leave unreserved."""
    backend = self.backend
    limit = effective_value(backend.account_id, backend.region_name, "lambda", LAMBDA_CONCURRENCY)
    functions = list(backend.list_functions())
    body = {
        "AccountLimit": {
            "TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": int(limit), "UnreservedConcurrentExecutions": int(limit) - _reserved(backend)},
        "AccountUsage": {"TotalCodeSize": sum(int(f.code_size or 0) for f in functions),
                         "FunctionCount": len(functions)},
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


# -- server mode: a test's handle on the applied values ---------------------------------------------
USAGE = ('POST {"account_id": "123456789012", "region": "us-west-2", "service_code": "ec2", '
         '"quota_code": "L-1216C47A", "value": 8}   (value null: back to the standing value)')


def apply(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    missing = [k for k in ("account_id", "region", "service_code", "quota_code") if not body.get(k)]
    if missing or "value" not in body:
        raise ValueError(f"missing {', '.join(missing + ([] if 'value' in body else ['value']))}")
    set_quota(body["account_id"], body["region"], body["service_code"], body["quota_code"], body["value"])
    value = applied_value(body["account_id"], body["region"], body["service_code"], body["quota_code"])
    return {**{k: body[k] for k in ("account_id", "region", "service_code", "quota_code")}, "applied": value}


_moto_get_service_quota = ServiceQuotasBackend.get_service_quota
_moto_run_instances = EC2Backend.run_instances
_moto_put_function_concurrency = LambdaBackend.put_function_concurrency
ACCOUNT_SETTINGS_URL = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"


def register() -> None:
    """Answer the quotas of ``CATALOGUE`` and enforce them (idempotent)."""
    from moto.awslambda import urls as lambda_urls

    ServiceQuotasBackend.get_service_quota = get_service_quota
    ServiceQuotasBackend.get_aws_default_service_quota = get_aws_default_service_quota
    ServiceQuotasResponse.get_aws_default_service_quota = get_aws_default_service_quota_response
    EC2Backend.run_instances = run_instances
    LambdaBackend.put_function_concurrency = put_function_concurrency
    LambdaResponse.get_account_settings = get_account_settings
    if ACCOUNT_SETTINGS_URL not in lambda_urls.url_paths:
        lambda_urls.url_paths[ACCOUNT_SETTINGS_URL] = LambdaResponse.dispatch
    _ = (ec2_backends, lambda_backends)  # the backends these methods serve, per account and region
