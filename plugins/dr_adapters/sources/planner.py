"""Manifest -> plan: waves in priority order, dependency steps inside a wave, work units per step.

A work unit is what an adapter acts on in one call: resources of the same action and account,
up to the adapter's ``max_batch`` (200 for DRS StartRecovery, 1 for most others).
"""

from __future__ import annotations

from itertools import groupby

from dr_adapters.adapters.registry import adapter_for
from dr_adapters.sources.manifest import Manifest, dag_id_for
from dr_adapters.plan.model import Plan, ResourceSpec, Wave, WorkUnit
from dr_adapters.plan.types import AccountAccess, Regions, Scope


def build_plan(manifest: Manifest, source: str = "") -> Plan:
    waves = _unique_unit_ids(tuple(
        Wave(number=layer.priority, layer_id=layer.layer_id, steps=_steps([_spec(r) for r in layer.resources]),
             validation_timeout_minutes=layer.validation_timeout_minutes,
             approval_before_activate=manifest.approval_before_activate if layer.approval_before_activate is None
             else layer.approval_before_activate)
        for layer in sorted(manifest.layers, key=lambda layer: layer.priority)
    ))
    return Plan(
        dag_id=dag_id_for(manifest.customer, manifest.environment),
        manifest_id=manifest.manifest_id,
        scope=Scope(manifest.customer, manifest.environment),
        regions=Regions(primary=manifest.regions.primary, dr=manifest.regions.dr),
        accounts=tuple(AccountAccess(a.account_id, a.role_arn, a.external_id) for a in manifest.accounts),
        phases=tuple(manifest.phases),
        approval_required=manifest.approval_required,
        approvers=tuple(a.strip() for a in manifest.approvers),
        separation_of_duties=manifest.separation_of_duties,
        waves=waves,
        rto_minutes=manifest.sla_targets.rto,
        rpo_minutes=manifest.sla_targets.rpo,
        drill_schedule=manifest.drill.schedule if manifest.drill else None,
        sns_topic_arn=manifest.notifications.sns_topic_arn if manifest.notifications else None,
        fallback_topic_arns=tuple(manifest.notifications.fallback_topic_arns) if manifest.notifications else (),
        report_bucket=manifest.report.s3_bucket,
        report_bucket_region=manifest.report.s3_bucket_region,
        fallback_buckets=tuple((b.s3_bucket, b.region) for b in manifest.report.fallback_buckets),
        report_prefix=manifest.report.s3_prefix,
        hub_account_id=manifest.hub_account_id,
        hub_role_arn=manifest.hub_role_arn,
        source=source,
        description=manifest.description,
        discovery=manifest.discovery.model_dump(mode="json", exclude_unset=False) if manifest.discovery else None,
        discovered_at=manifest.inventory.discovered_at if manifest.inventory else None,
        unprotected=manifest.unprotected_resources,
    )


def _unique_unit_ids(waves: tuple[Wave, ...]) -> tuple[Wave, ...]:
    """A unit id names one unit in the whole plan: tasks, records and the report key on it. A batch id
    (``drs-hub-batch1``) recurs when a technology appears in several waves or dependency steps: the
    first keeps it, the later ones carry their wave and step (``drs-hub-w2-s1-batch1``)."""
    seen: set[str] = set()
    out = []
    for wave in waves:
        steps = []
        for s, step in enumerate(wave.steps, start=1):
            units = []
            for unit in step:
                unit_id = unit.unit_id
                if unit_id in seen:
                    head, _, batch = unit_id.rpartition("-batch")
                    unit_id = f"{head}-w{wave.number}-s{s}-batch{batch}" if head else f"{unit_id}-w{wave.number}-s{s}"
                seen.add(unit_id)
                units.append(unit if unit_id == unit.unit_id else WorkUnit(unit_id, unit.action, unit.account_id,
                                                                             unit.resources))
            steps.append(tuple(units))
        out.append(Wave(wave.number, wave.layer_id, tuple(steps), wave.validation_timeout_minutes,
                        wave.approval_before_activate))
    return tuple(out)


def _spec(resource) -> ResourceSpec:
    return ResourceSpec(
        resource_id=resource.resource_id,
        action=resource.action,
        config=resource.config.model_dump(by_alias=True, exclude_unset=True),
        account_id=resource.account_id,
        dependencies=tuple(resource.dependencies),
        health_check_url=resource.health_check_url,
        priority=resource.priority,
        discovered_from=resource.discovered_from,
    )


PRIORITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _steps(resources: list[ResourceSpec]) -> tuple[tuple[WorkUnit, ...], ...]:
    """Split a wave into steps that run one after the other: dependency levels (a resource runs one
    level after its same-wave dependencies) and, inside a level, priorities (FR-1.3: critical first;
    resources of one priority run in parallel). Resources without a priority are not ordered: they
    run with the level's first priority."""
    in_wave = {r.resource_id: r for r in resources}
    level: dict[str, int] = {}

    def level_of(rid: str) -> int:
        if rid not in level:
            deps = [d for d in in_wave[rid].dependencies if d in in_wave]
            level[rid] = 1 + max((level_of(d) for d in deps), default=-1)
        return level[rid]

    by_step: dict[tuple[int, int], list[ResourceSpec]] = {}
    for n in sorted({level_of(r.resource_id) for r in resources}):
        members = [r for r in resources if level[r.resource_id] == n]
        ranks = sorted({PRIORITY_RANK[r.priority] for r in members if r.priority})
        first = ranks[0] if ranks else 0
        for r in members:
            by_step.setdefault((n, PRIORITY_RANK[r.priority] if r.priority else first), []).append(r)
    return tuple(_units(by_step[key]) for key in sorted(by_step))


def _units(resources: list[ResourceSpec]) -> tuple[WorkUnit, ...]:
    units: list[WorkUnit] = []

    def key(r: ResourceSpec) -> tuple[str, str]:
        return (type(adapter_for(r.action)).__name__, r.account_id or "")

    for (_, account), group in groupby(sorted(resources, key=key), key=key):
        members = list(group)
        adapter = adapter_for(members[0].action)
        chunks = [members[i : i + adapter.max_batch] for i in range(0, len(members), adapter.max_batch)]
        for n, chunk in enumerate(chunks, start=1):
            if adapter.max_batch == 1:
                unit_id = chunk[0].resource_id
            else:
                unit_id = f"{adapter.actions[0].lower()}-{account or 'hub'}-batch{n}"
            units.append(WorkUnit(unit_id, chunk[0].action, chunk[0].account_id, tuple(chunk)))
    return tuple(units)
