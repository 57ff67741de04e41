"""The plan: what a DAG run works through. Built from a manifest (or discovery); plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dr_adapters.plan.types import AccountAccess, Phase, Regions, Scope


@dataclass(frozen=True)
class ResourceSpec:
    """One manifest resource: an action (technology) plus its validated config."""

    resource_id: str
    action: str
    config: dict[str, Any]
    account_id: str | None = None  # None: the hub account
    dependencies: tuple[str, ...] = ()
    health_check_url: str | None = None
    priority: str | None = None  # critical | high | medium | low: order inside the wave; None: unordered
    discovered_from: str | None = None  # the ARN whose DR tags made it (tag discovery); None: hand-listed

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource_id": self.resource_id,
            "action": self.action,
            "config": self.config,
            "account_id": self.account_id,
            "dependencies": list(self.dependencies),
            "health_check_url": self.health_check_url,
            "priority": self.priority,
            "discovered_from": self.discovered_from,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceSpec:
        return cls(
            resource_id=data["resource_id"],
            action=data["action"],
            config=data["config"],
            account_id=data.get("account_id"),
            dependencies=tuple(data.get("dependencies") or ()),
            health_check_url=data.get("health_check_url"),
            priority=data.get("priority"),
            discovered_from=data.get("discovered_from"),
        )


@dataclass(frozen=True)
class WorkUnit:
    """Resources an adapter acts on together, in one call where the API allows (e.g. 200 DRS servers)."""

    unit_id: str
    action: str
    account_id: str | None
    resources: tuple[ResourceSpec, ...]

    @property
    def resource_ids(self) -> list[str]:
        return [r.resource_id for r in self.resources]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: what a mapped Airflow task receives."""
        return {
            "unit_id": self.unit_id,
            "action": self.action,
            "account_id": self.account_id,
            "resources": [r.to_dict() for r in self.resources],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkUnit:
        return cls(
            unit_id=data["unit_id"],
            action=data["action"],
            account_id=data.get("account_id"),
            resources=tuple(ResourceSpec.from_dict(r) for r in data["resources"]),
        )


@dataclass(frozen=True)
class Wave:
    """A manifest layer. ``steps`` are dependency levels: step k+1 starts after step k finishes."""

    number: int
    layer_id: str
    steps: tuple[tuple[WorkUnit, ...], ...]
    validation_timeout_minutes: float | None = None  # how long VALIDATE waits for health; None: the default
    approval_before_activate: bool = False  # a gate between the wave's prewarm and its ACTIVATE

    @property
    def units(self) -> list[WorkUnit]:
        return [u for step in self.steps for u in step]

    @property
    def resource_ids(self) -> list[str]:
        return [rid for u in self.units for rid in u.resource_ids]


@dataclass(frozen=True)
class Plan:
    dag_id: str
    manifest_id: str
    scope: Scope
    regions: Regions
    accounts: tuple[AccountAccess, ...]
    phases: tuple[Phase, ...]
    approval_required: bool
    waves: tuple[Wave, ...]
    rto_minutes: int | None = None
    rpo_minutes: int | None = None
    drill_schedule: str | None = None
    sns_topic_arn: str | None = None
    fallback_topic_arns: tuple[str, ...] = ()
    report_bucket: str | None = None
    report_bucket_region: str | None = None  # None: the primary region
    report_prefix: str = "dr-reports"
    fallback_buckets: tuple[tuple[str, str], ...] = ()  # (bucket, region), tried in order
    hub_account_id: str | None = None
    hub_role_arn: str | None = None  # assumed by every run (named after it) before any other call
    source: str = ""
    description: str = ""
    # A header-only plan (plan_to_dict with_waves=False) keeps its wave numbers without the waves,
    # and which of them have a gate before their ACTIVATE.
    header_wave_numbers: tuple[int, ...] = ()
    header_activate_gate_waves: tuple[int, ...] = ()
    discovery: dict[str, Any] | None = None  # a tag-driven estate: where its resources are found (sources.discovery)
    discovered_at: str | None = None  # when the snapshot this plan was built from was taken
    unprotected: str = "warn"  # tagged resources the plan does not hold: warn | error | ignore
    approvers: tuple[str, ...] = ()  # who may answer the gates (Airflow user ids); empty: anyone Airflow lets
    separation_of_duties: bool = False  # whoever triggered a failover/failback cannot approve it

    @property
    def wave_numbers(self) -> list[int]:
        return [w.number for w in self.waves] or list(self.header_wave_numbers)

    @property
    def activate_gate_waves(self) -> list[int]:
        """The waves with a gate before their ACTIVATE (``approvalBeforeActivate``)."""
        if self.waves:
            return [w.number for w in self.waves if w.approval_before_activate]
        return list(self.header_activate_gate_waves)

    @property
    def units(self) -> list[WorkUnit]:
        return [u for w in self.waves for u in w.units]

    @property
    def topic_arns(self) -> tuple[str, ...]:
        """Notification topics in the order to try them: one in a live region is enough."""
        return ((self.sns_topic_arn,) if self.sns_topic_arn else ()) + self.fallback_topic_arns

    @property
    def report_buckets(self) -> tuple[tuple[str, str], ...]:
        """(bucket, region) in the order to try them."""
        first = ((self.report_bucket, self.report_bucket_region or self.regions.primary),) if self.report_bucket else ()
        return first + self.fallback_buckets

    @property
    def resources(self) -> dict[str, ResourceSpec]:
        return {r.resource_id: r for u in self.units for r in u.resources}

    def wave(self, number: int) -> Wave:
        for w in self.waves:
            if w.number == number:
                return w
        raise KeyError(f"plan {self.dag_id} has no wave {number} (waves: {self.wave_numbers})")

    def account(self, account_id: str | None) -> AccountAccess | None:
        for a in self.accounts:
            if a.account_id == account_id:
                return a
        return None


def plan_to_dict(plan: Plan, *, with_waves: bool = True) -> dict[str, Any]:
    """JSON-safe form for Airflow operator arguments; ``with_waves=False`` gives the small header
    mapped tasks carry (they get their own work unit separately)."""
    return {
        "dag_id": plan.dag_id,
        "manifest_id": plan.manifest_id,
        "scope": {"customer": plan.scope.customer, "environment": plan.scope.environment},
        "regions": {"primary": plan.regions.primary, "dr": plan.regions.dr},
        "accounts": [
            {"account_id": a.account_id, "role_arn": a.role_arn, "external_id": a.external_id} for a in plan.accounts
        ],
        "phases": [p.value for p in plan.phases],
        "approval_required": plan.approval_required,
        "wave_numbers": plan.wave_numbers,
        "activate_gate_waves": plan.activate_gate_waves,
        "waves": [
            {"number": w.number, "layer_id": w.layer_id, "steps": [[u.to_dict() for u in step] for step in w.steps],
             "validation_timeout_minutes": w.validation_timeout_minutes,
             "approval_before_activate": w.approval_before_activate}
            for w in plan.waves
        ]
        if with_waves
        else [],
        "rto_minutes": plan.rto_minutes,
        "rpo_minutes": plan.rpo_minutes,
        "drill_schedule": plan.drill_schedule,
        "sns_topic_arn": plan.sns_topic_arn,
        "fallback_topic_arns": list(plan.fallback_topic_arns),
        "report_bucket": plan.report_bucket,
        "report_bucket_region": plan.report_bucket_region,
        "report_prefix": plan.report_prefix,
        "fallback_buckets": [list(b) for b in plan.fallback_buckets],
        "hub_account_id": plan.hub_account_id,
        "hub_role_arn": plan.hub_role_arn,
        "source": plan.source,
        "description": plan.description,
        "discovery": plan.discovery,
        "discovered_at": plan.discovered_at,
        "unprotected": plan.unprotected,
        "approvers": list(plan.approvers),
        "separation_of_duties": plan.separation_of_duties,
    }


def plan_from_dict(data: dict[str, Any]) -> Plan:
    waves = tuple(
        Wave(
            number=w["number"],
            layer_id=w["layer_id"],
            steps=tuple(tuple(WorkUnit.from_dict(u) for u in step) for step in w["steps"]),
            validation_timeout_minutes=w.get("validation_timeout_minutes"),
            approval_before_activate=bool(w.get("approval_before_activate")),
        )
        for w in data.get("waves") or []
    )
    return Plan(
        dag_id=data["dag_id"],
        manifest_id=data["manifest_id"],
        scope=Scope(**data["scope"]),
        regions=Regions(**data["regions"]),
        accounts=tuple(AccountAccess(**a) for a in data["accounts"]),
        phases=tuple(Phase(p) for p in data["phases"]),
        approval_required=data["approval_required"],
        waves=waves,
        rto_minutes=data.get("rto_minutes"),
        rpo_minutes=data.get("rpo_minutes"),
        drill_schedule=data.get("drill_schedule"),
        sns_topic_arn=data.get("sns_topic_arn"),
        fallback_topic_arns=tuple(data.get("fallback_topic_arns") or ()),
        report_bucket=data.get("report_bucket"),
        report_bucket_region=data.get("report_bucket_region"),
        report_prefix=data.get("report_prefix") or "dr-reports",
        fallback_buckets=tuple((b[0], b[1]) for b in data.get("fallback_buckets") or ()),
        hub_account_id=data.get("hub_account_id"),
        hub_role_arn=data.get("hub_role_arn"),
        source=data.get("source", ""),
        description=data.get("description", ""),
        header_wave_numbers=tuple(data.get("wave_numbers") or [w.number for w in waves]),
        header_activate_gate_waves=tuple(data.get("activate_gate_waves") or ()),
        discovery=data.get("discovery"),
        discovered_at=data.get("discovered_at"),
        unprotected=data.get("unprotected", "warn"),
        approvers=tuple(data.get("approvers") or ()),
        separation_of_duties=bool(data.get("separation_of_duties")),
    )
