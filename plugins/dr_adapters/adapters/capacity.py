"""What a run consumes of each account's quotas: declared by the adapters, checked once by preflight.

The usual reason a recovery fails half-way is capacity, not configuration: the DR region's EC2 vCPU quota
refuses the DRS launches of wave 2 after wave 1 already moved. So each adapter says, read-only, what its
phases will take (``Adapter.capacity_needs(ctx, unit) -> list[Need]``): so many vCPUs of an EC2 On-Demand
family for the instance types its launch templates name, DB instances, reserved Lambda concurrency, Fargate
vCPUs, DRS jobs.
Preflight (``dr_adapters.preflight.capacity_findings``) sums the needs per account, region and ``Quota`` (the
peak wave for what a wave holds only while it runs, such as DRS jobs), reads each quota once --
Service Quotas ``GetServiceQuota``, or ``GetAWSDefaultServiceQuota`` when the account has no value applied
(AWS answers ``NoSuchResourceException`` then) -- and its usage once per account and region (``Quota.usage``),
and classifies (in use + needed) / quota:

=========  ============  ==================================================================================
level      share         what preflight does
=========  ============  ==================================================================================
OK         below 80 %    notes it
INFO       80 - 89 %     notes it
WARNING    90 - 99 %     notes it as a warning, with the value to raise it to
CRITICAL   100 % or more fails preflight (no change made), naming the quota, the number needed and the value
                         to raise it to
=========  ============  ==================================================================================

Limits AWS documents without a Service Quotas code (DRS: 300 replicating source servers per account and region,
20 concurrent jobs) are ``Quota.limit``: not read, and raised by other means (``Quota.remedy``).

The usage readers make their calls with the account's own role, so an adapter declaring a need declares their
IAM actions too (``iam_actions``); the Service Quotas reads are every account's (``dr_adapters.iam``).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dr_adapters.plan.types import Phase

if TYPE_CHECKING:
    from dr_adapters.adapters.base import RunContext

UsageReader = Callable[["RunContext", "str | None", str], dict[str, float]]
"""``(ctx, account_id, region) -> {quota key: in use}`` for every quota it reads (one listing, several quotas)."""

LEVELS = ((100.0, "CRITICAL"), (90.0, "WARNING"), (80.0, "INFO"), (0.0, "OK"))
HEADROOM = 0.8  # the value suggested keeps the run under this share of the quota (OK)


@dataclass(frozen=True)
class Quota:
    """One quota a run may consume, per account and region."""

    key: str  # stable, unique: "ec2/L-1216C47A", "drs/concurrent-jobs"
    name: str  # as AWS names it
    unit: str  # what the numbers count: "vCPUs", "DB instances"
    usage: UsageReader
    service_code: str | None = None  # Service Quotas; None: a documented limit (``limit``)
    quota_code: str | None = None
    limit: float | None = None
    per_wave: bool = False  # held only while a wave runs (jobs): the peak wave counts, not the sum of waves
    remedy: str = ""  # for a documented limit: what to do instead of raising it

    def label(self) -> str:
        code = f"{self.service_code} quota {self.quota_code}" if self.quota_code else "AWS limit"
        return f"{self.name} ({code})"


@dataclass(frozen=True)
class Need:
    """What one work unit's phases will take of a quota in one region."""

    quota: Quota
    amount: float
    region: str
    phases: tuple[Phase, ...]  # the phases that take it: a run selecting none of them needs none of it
    resource_ids: tuple[str, ...]
    detail: str = ""  # how it adds up, e.g. "8 x t3.medium (2 vCPUs)"


def level_of(percent: float) -> str:
    return next(name for floor, name in LEVELS if percent >= floor)


def suggested_value(total: float) -> int:
    """The smallest whole quota under which ``total`` stays below ``HEADROOM`` (OK)."""
    return math.floor(total / HEADROOM) + 1


# -- EC2 On-Demand instances: vCPUs per instance family ------------------------------------------------
def _ec2_usage(ctx: RunContext, account_id: str | None, region: str) -> dict[str, float]:
    """vCPUs of the account's pending and running On-Demand instances in ``region``, by family quota."""
    ec2 = ctx.client("ec2", region, account_id)
    types: Counter[str] = Counter()
    state = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=state):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                if instance.get("InstanceLifecycle") != "spot":  # Spot requests have quotas of their own
                    types[instance["InstanceType"]] += 1
    vcpus = instance_vcpus(ctx, account_id, region, types)
    usage: dict[str, float] = defaultdict(float)
    for instance_type, count in types.items():
        quota = on_demand_quota(instance_type)
        if quota is not None and instance_type in vcpus:
            usage[quota.key] += count * vcpus[instance_type]
    return usage


def _ec2(code: str, name: str) -> Quota:
    return Quota(f"ec2/{code}", name, "vCPUs", _ec2_usage, service_code="ec2", quota_code=code)


ON_DEMAND: dict[str, Quota] = {
    **dict.fromkeys("acdhimrtz", _ec2("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")),
    **dict.fromkeys(("g", "vt"), _ec2("L-DB2E81BA", "Running On-Demand G and VT instances")),
    "p": _ec2("L-417A185B", "Running On-Demand P instances"),
    "x": _ec2("L-7295265B", "Running On-Demand X instances"),
    "f": _ec2("L-74FC7D96", "Running On-Demand F instances"),
    "inf": _ec2("L-1945791B", "Running On-Demand Inf instances"),
    "dl": _ec2("L-6E869C2A", "Running On-Demand DL instances"),
    "trn": _ec2("L-2C3B7624", "Running On-Demand Trn instances"),
    "hpc": _ec2("L-F7808C92", "Running On-Demand HPC instances"),
    "u": _ec2("L-43DA4232", "Running On-Demand High Memory instances"),
}
"""Instance family -> the On-Demand vCPU quota it counts against (EC2's quota families)."""
_LONG_FAMILIES = ("inf", "trn", "hpc", "dl", "vt")  # their first letter alone would be a Standard family


def on_demand_quota(instance_type: str) -> Quota | None:
    """The On-Demand vCPU quota an instance type counts against: ``m5.large`` Standard, ``inf2.xlarge`` Inf,
    ``im4gn.large`` Standard, ``u-6tb1.metal`` High Memory; None for Mac instances (Dedicated Hosts only)."""
    letters = re.match(r"[a-z]+", instance_type or "")
    family = letters.group() if letters else ""
    if not family or family == "mac":
        return None
    return ON_DEMAND.get(next((f for f in _LONG_FAMILIES if family.startswith(f)), family[0]))


def instance_vcpus(ctx: RunContext, account_id: str | None, region: str, types: Iterable[str]) -> dict[str, int]:
    """Default vCPUs per instance type (EC2 ``DescribeInstanceTypes``, 100 a call), the vCPUs EC2's On-Demand
    quotas count whatever CPU options an instance runs with; read once per account and region and run. A type
    EC2 does not know in ``region`` is left out."""
    known: dict[str, int] = ctx.memo.setdefault(("instance-vcpus", account_id, region), {})
    wanted = sorted({t for t in types if t and t not in known})
    ec2 = ctx.client("ec2", region, account_id)
    for start in range(0, len(wanted), 100):
        chunk = wanted[start:start + 100]
        try:
            found = ec2.describe_instance_types(InstanceTypes=chunk)["InstanceTypes"]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "InvalidInstanceType":
                raise
            found = []  # one unknown type refuses the whole call: ask for each alone
            for instance_type in chunk:
                try:
                    found += ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
                except ClientError:
                    continue
        known.update({t["InstanceType"]: int(t["VCpuInfo"]["DefaultVCpus"]) for t in found})
    return {t: known[t] for t in types if t in known}


def ec2_needs(ctx: RunContext, account_id: str | None, region: str, launches: dict[str, str], phases: tuple[Phase, ...],
              what: str, counts: dict[str, int] | None = None) -> list[Need]:
    """The vCPU needs of launching ``counts[rid]`` instances (default one) of ``launches[rid]``'s instance type per
    resource, one Need per family quota; ``what`` says what launches them ("DRS recovery instances")."""
    vcpus = instance_vcpus(ctx, account_id, region, set(launches.values()))
    by_quota: dict[Quota, list[tuple[str, str, int]]] = defaultdict(list)
    for rid, instance_type in launches.items():
        quota = on_demand_quota(instance_type)
        if quota is not None and instance_type in vcpus:
            by_quota[quota].append((rid, instance_type, (counts or {}).get(rid, 1)))
    needs = []
    for quota, items in by_quota.items():
        count: Counter[str] = Counter()
        for _, instance_type, n in items:
            count[instance_type] += n
        detail = ", ".join(f"{n} x {t} ({vcpus[t]} vCPUs)" for t, n in sorted(count.items()))
        needs.append(Need(quota, sum(n * vcpus[t] for _, t, n in items), region, phases,
                          tuple(r for r, _, _ in items), f"{what}: {detail}"))
    return needs


# -- DRS: documented limits, not in Service Quotas ---------------------------------------------------
def _drs_replicating(ctx: RunContext, account_id: str | None, region: str) -> dict[str, float]:
    pages = ctx.client("drs", region, account_id).get_paginator("describe_source_servers").paginate(filters={})
    return {DRS_REPLICATING.key: sum(
        ((s.get("dataReplicationInfo") or {}).get("dataReplicationState") not in ("DISCONNECTED", "STOPPED"))
        for page in pages for s in page["items"])}


def _drs_jobs(ctx: RunContext, account_id: str | None, region: str) -> dict[str, float]:
    pages = ctx.client("drs", region, account_id).get_paginator("describe_jobs").paginate(filters={})
    return {DRS_JOBS.key: sum(job.get("status") in ("PENDING", "STARTED") for page in pages for job in page["items"])}


DRS_REPLICATING = Quota(
    "drs/replicating-source-servers", "DRS replicating source servers", "source servers", _drs_replicating, limit=300,
    remedy="DRS replicates at most 300 source servers per account and region: replicate the excess into another "
           "staging account (AWS DRS user guide, 'Using multiple staging accounts')")
DRS_JOBS = Quota(
    "drs/concurrent-jobs", "DRS concurrent jobs in progress", "jobs", _drs_jobs, limit=20, per_wave=True,
    remedy="DRS runs at most 20 jobs at once per account and region: let the jobs in progress finish, or spread "
           "the wave's servers over fewer work units (200 per StartRecovery)")


# -- RDS, Lambda, Fargate ------------------------------------------------------------------------------
def _rds_usage(ctx: RunContext, account_id: str | None, region: str) -> dict[str, float]:
    pages = ctx.client("rds", region, account_id).get_paginator("describe_db_instances").paginate()
    return {RDS_INSTANCES.key: sum(len(page["DBInstances"]) for page in pages)}


RDS_INSTANCES = Quota("rds/L-7B6409FD", "DB instances", "DB instances", _rds_usage, service_code="rds",
                      quota_code="L-7B6409FD")

LAMBDA_UNRESERVED_MINIMUM = 100  # Lambda keeps this many concurrent executions unreserved per account and region


def _lambda_usage(ctx: RunContext, account_id: str | None, region: str) -> dict[str, float]:
    """Concurrency the region's functions reserve, plus the 100 Lambda keeps unreserved (a reservation that
    would leave fewer is refused)."""
    limit = ctx.client("lambda", region, account_id).get_account_settings()["AccountLimit"]
    reserved = limit["ConcurrentExecutions"] - limit["UnreservedConcurrentExecutions"]
    return {LAMBDA_CONCURRENCY.key: reserved + LAMBDA_UNRESERVED_MINIMUM}


LAMBDA_CONCURRENCY = Quota("lambda/L-B99A9384", "Concurrent executions", "concurrent executions", _lambda_usage,
                           service_code="lambda", quota_code="L-B99A9384")


def _fargate_usage(ctx: RunContext, account_id: str | None, region: str) -> dict[str, float]:
    """vCPUs of the region's starting and running Fargate tasks (On-Demand), in every cluster."""
    ecs = ctx.client("ecs", region, account_id)
    total = 0.0
    for page in ecs.get_paginator("list_clusters").paginate():
        for cluster in page["clusterArns"]:
            arns = [arn for status in ("RUNNING", "PENDING")
                    for tasks in ecs.get_paginator("list_tasks").paginate(cluster=cluster, launchType="FARGATE",
                                                                          desiredStatus=status)
                    for arn in tasks["taskArns"]]
            for start in range(0, len(arns), 100):
                tasks = ecs.describe_tasks(cluster=cluster, tasks=arns[start:start + 100])["tasks"]
                total += sum(float(t.get("cpu") or 0) / 1024 for t in tasks)
    return {FARGATE_VCPUS.key: total}


FARGATE_VCPUS = Quota("fargate/L-3032A538", "Fargate On-Demand vCPU resource count", "vCPUs", _fargate_usage,
                      service_code="fargate", quota_code="L-3032A538")


# -- reading a quota's value ---------------------------------------------------------------------------
@dataclass(frozen=True)
class QuotaValue:
    value: float
    source: str  # "applied to the account", "AWS default, none applied to the account", "documented limit"


def read_quota(ctx: RunContext, account_id: str | None, region: str, quota: Quota) -> QuotaValue:
    """The quota's value for the account in ``region``: a documented limit as is; else the value applied to the
    account (``GetServiceQuota``), or AWS's default when none is (``GetAWSDefaultServiceQuota``)."""
    if quota.limit is not None:
        return QuotaValue(quota.limit, "documented limit")
    client = ctx.client("service-quotas", region, account_id)
    codes = {"ServiceCode": quota.service_code, "QuotaCode": quota.quota_code}
    try:
        return QuotaValue(float(client.get_service_quota(**codes)["Quota"]["Value"]), "applied to the account")
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "NoSuchResourceException":
            raise
    value = float(client.get_aws_default_service_quota(**codes)["Quota"]["Value"])
    return QuotaValue(value, "AWS default, none applied to the account")


def increase_command(quota: Quota, region: str, value: int) -> str:
    return (f"aws service-quotas request-service-quota-increase --service-code {quota.service_code} "
            f"--quota-code {quota.quota_code} --desired-value {value} --region {region}")


def summary(quota: Quota, needed: float, in_use: float, value: float) -> tuple[str, float]:
    """(level, percent) of ``in_use + needed`` against ``value`` (a quota of 0 with anything needed: CRITICAL)."""
    total = in_use + needed
    percent = 100.0 * total / value if value else (0.0 if total == 0 else math.inf)
    return level_of(percent), percent


def as_number(value: Any) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
