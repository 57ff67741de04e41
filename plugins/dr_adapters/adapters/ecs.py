"""Amazon ECS services: scale the target region's service to production count, the old one to zero."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from botocore.exceptions import ClientError
from pydantic import Field

from dr_adapters.adapters.base import (
    ActionConfig,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    ServiceSide,
    Wait,
)
from dr_adapters.adapters.capacity import FARGATE_VCPUS, Need
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.prerequisites import iam_client, missing_roles, network_problems
from dr_adapters.adapters.regional import RegionalCopyAdapter
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.types import Health, Phase


class EcsServiceConfig(ActionConfig):
    cluster: str = Field(description="ECS cluster name in the primary region.")
    service: str = Field(description="ECS service name in the primary region.")
    dr_cluster: str | None = Field(None, alias="drCluster", description="Cluster in the DR region (default: cluster).")
    dr_service: str | None = Field(None, alias="drService", description="Service in the DR region (default: service).")
    desired_count: int = Field(alias="desiredCount", ge=0, description="Production task count.")
    task_definition: str | None = Field(
        None,
        alias="taskDefinition",
        description="INSTANTIATE: task definition to create the DR service with (desired count 0) if it is missing.",
    )
    launch_type: Literal["EC2", "FARGATE", "EXTERNAL"] | None = Field(
        None, alias="launchType", description="INSTANTIATE: launch type of a created service (default: the cluster's)."
    )
    subnets: list[str] | None = Field(
        None, description="INSTANTIATE: awsvpc subnet IDs of a created service (in the region it is created in)."
    )
    security_groups: list[str] | None = Field(
        None, alias="securityGroups", description="INSTANTIATE: awsvpc security groups of a created service."
    )


class _Side(NamedTuple):
    """One region's copy of the service."""

    region: str
    cluster: str
    service: str

    def __str__(self) -> str:
        return f"ECS service {self.cluster}/{self.service} in {self.region}"


def _stable(svc: dict[str, Any]) -> bool:
    """The condition of botocore's ``services_stable`` waiter, checked without waiting."""
    return len(svc.get("deployments", [])) <= 1 and svc["runningCount"] == svc["desiredCount"]


class EcsServiceAdapter(RegionalCopyAdapter[_Side]):
    actions = ("EcsService",)
    unplanned_behaviour = (
        "creates (if configured) and scales the target service to desiredCount without reading the source; "
        "CLEANUP (scale the source to 0) and REPLICATE wait for reprotect"
    )
    config_model = EcsServiceConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    drill_behaviour = (
        "Read-only: checks the DR service exists with an ACTIVE task definition; scales nothing "
        "(production is never scaled down)."
    )
    phase_summaries = {
        Phase.INSTANTIATE: "Ensure the target region's service exists (created at count 0 from taskDefinition).",
        Phase.ACTIVATE: "Scale the target region's service to desiredCount and wait until it is stable.",
        Phase.CLEANUP: "Scale the source region's service to 0.",
        Phase.REPLICATE: "Check the source region's service still exists (at 0) so traffic can move back.",
    }
    iam_actions = (
        "ec2:DescribeSecurityGroups",  # preflight: the network a created service names exists
        "ec2:DescribeSubnets",
        "ecs:CreateService",
        "ecs:DescribeClusters",  # preflight: the target cluster is ACTIVE
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecs:DescribeTasks",  # preflight: the region's Fargate vCPUs in use (capacity)
        "ecs:ListClusters",  # likewise
        "ecs:ListTagsForResource",
        "ecs:ListTasks",  # likewise
        "ecs:UpdateService",
        "iam:GetRole",  # preflight: the roles the task definition names exist
    )
    service_side_actions = (
        ServiceSide(
            "CreateServiceTagsOnCreate", ("ecs:TagResource",),
            "CreateService is called with tags (Customer/Environment): tags given on create are authorised "
            "as ecs:TagResource."),
    )
    scope_fix = "fix its Customer/Environment tags (services need the long ARN format) or remove it from the manifest"
    retire_label, retired_label = "scale down", "scaled down"

    # -- AWS reads -----------------------------------------------------------------------------
    def _sides(self, ctx: RunContext, cfg: EcsServiceConfig) -> tuple[_Side, _Side]:
        """(source, target): failback moves from the DR copy back to the primary one."""
        primary = _Side(ctx.regions.primary, cfg.cluster, cfg.service)
        dr = _Side(ctx.regions.dr, cfg.dr_cluster or cfg.cluster, cfg.dr_service or cfg.service)
        return ctx.source_and_target(primary, dr)

    @staticmethod
    def _ecs(ctx: RunContext, unit: WorkUnit, side: _Side) -> Any:
        return ctx.client("ecs", side.region, unit.account_id)

    def _read(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> dict[str, Any] | None:
        """The service, or None when it (or its cluster) is missing or deleted (INACTIVE/DRAINING)."""
        ecs = self._ecs(ctx, unit, side)
        try:
            services = ecs.describe_services(cluster=side.cluster, services=[side.service])["services"]
        except ecs.exceptions.ClusterNotFoundException:
            return None
        return next((s for s in services if s["status"] == "ACTIVE"), None)

    def _tags(self, ctx: RunContext, unit: WorkUnit, side: _Side, svc: dict[str, Any]) -> dict[str, str]:
        ecs = self._ecs(ctx, unit, side)
        try:
            tags = ecs.list_tags_for_resource(resourceArn=svc["serviceArn"])["tags"]
        except ecs.exceptions.InvalidParameterException:
            return {}  # an old short-ARN-format service cannot carry tags, so it is out of every scope
        return {t["key"]: t["value"] for t in tags}

    def _task_definition(self, ctx: RunContext, unit: WorkUnit, side: _Side, task_def: str) -> dict[str, Any] | None:
        """The task definition (revision, or the family's latest ACTIVE one) if it exists and is ACTIVE."""
        try:
            td = self._ecs(ctx, unit, side).describe_task_definition(taskDefinition=task_def)["taskDefinition"]
        except ClientError:
            return None
        return td if td["status"] == "ACTIVE" else None

    def _task_definition_active(self, ctx: RunContext, unit: WorkUnit, side: _Side, task_def: str) -> bool:
        return self._task_definition(ctx, unit, side, task_def) is not None

    def _cluster_problem(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> str | None:
        """Why the cluster cannot take the service (AWS refuses CreateService and UpdateService in a
        deleted, INACTIVE cluster: ClusterNotFoundException), or None when it is ACTIVE."""
        found = self._ecs(ctx, unit, side).describe_clusters(clusters=[side.cluster])["clusters"]
        status = found[0]["status"] if found else "missing"
        if status == "ACTIVE":
            return None
        state = "does not exist" if status == "missing" else f"is {status}" + (" (deleted)" if status == "INACTIVE" else "")
        return (f"ECS cluster {side.cluster} in {side.region} {state}: AWS refuses to create or scale {side} in it "
                f"-- create the cluster in {side.region} (or set drCluster to a live one) before failing over")

    def _prerequisites(self, ctx: RunContext, unit: WorkUnit, cfg: EcsServiceConfig, target: _Side,
                       svc: dict[str, Any] | None) -> list[str]:
        """What INSTANTIATE and ACTIVATE need in the target region besides the service: its cluster ACTIVE,
        the task definition ACTIVE with the roles it names, and for a service still to be created the
        network it is created in. One line per thing missing, naming it and the fix."""
        problems = [p for p in [self._cluster_problem(ctx, unit, target)] if p]
        task_def = svc["taskDefinition"] if svc else cfg.task_definition
        if not task_def:
            return problems
        td = self._task_definition(ctx, unit, target, task_def)
        if td is None:
            return problems + [f"task definition {task_def} is not ACTIVE in {target.region} -- register it there "
                               "(or fix taskDefinition)"]
        iam = iam_client(ctx, unit.account_id)
        roles = [td.get("taskRoleArn"), td.get("executionRoleArn")]
        missing = missing_roles(iam, [r for r in roles if r]) if iam is not None else []
        if missing:
            problems.append(f"IAM role(s) {', '.join(missing)} named by task definition {task_def} do not exist: its "
                            "tasks cannot start -- create them, or register a revision naming roles that exist")
        if svc is None:  # INSTANTIATE creates it (a drill: a failover would): CreateService's network must exist
            if (td.get("networkMode") == "awsvpc" or cfg.launch_type == "FARGATE") and not cfg.subnets:
                problems.append(f"task definition {task_def} runs in awsvpc mode: creating {target} needs subnets "
                                "-- set subnets (and securityGroups) of the DR region in the config")
            where = f"the config of {target}"
            problems += [f"{p} -- fix subnets/securityGroups in the config"
                         for p in network_problems(ctx.client("ec2", target.region, unit.account_id), target.region,
                                                   cfg.subnets or [], cfg.security_groups or [], where)]
        return problems

    # -- read-only -----------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for rid, cfg, source, target in self._each(ctx, unit):
            svc = self._read(ctx, unit, target)
            if svc is not None:
                findings.append(self._exists_finding(ctx, unit, rid, target, svc))
            elif cfg.task_definition:
                findings.append(Finding(rid, True, f"{target} is missing; INSTANTIATE creates it at desired count 0"))
            else:
                findings.append(Finding(rid, False, f"{target} does not exist and no taskDefinition to create it"))
            missing = self._prerequisites(ctx, unit, cfg, target, svc)
            findings += [Finding(rid, False, p) for p in missing]
            # The target can serve: it exists, or INSTANTIATE can create it (all it needs exists).
            ready = (svc is not None or bool(cfg.task_definition)) and not missing
            findings.append(self._source_finding(ctx, unit, rid, source, target_ok=ready))
        return findings

    def capacity_needs(self, ctx: RunContext, unit: WorkUnit) -> list[Need]:
        """ACTIVATE scales the target service up to desiredCount: the tasks a Fargate service adds take their task
        definition's vCPUs of the region's Fargate On-Demand quota (on EC2 capacity they use the cluster's instances,
        running already: no quota of their own; a service on the cluster's default capacity providers is not
        counted). A drill scales nothing."""
        if ctx.is_drill:
            return []
        needs = []
        for rid, cfg, _, target in self._each(ctx, unit):
            svc = self._read(ctx, unit, target)
            providers = {p.get("capacityProvider") for p in (svc or {}).get("capacityProviderStrategy") or []}
            fargate = (svc.get("launchType") if svc else cfg.launch_type) == "FARGATE" or "FARGATE" in providers
            task_def = svc["taskDefinition"] if svc else cfg.task_definition
            more = cfg.desired_count - (svc["desiredCount"] if svc else 0)
            if not fargate or more <= 0 or not task_def:
                continue
            cpu = float((self._task_definition(ctx, unit, target, task_def) or {}).get("cpu") or 0) / 1024
            if cpu:
                needs.append(Need(FARGATE_VCPUS, more * cpu, target.region, (Phase.ACTIVATE,), (rid,),
                                  f"{target}: {more} more task(s) of {cpu:g} vCPU"))
        return needs

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for rid, cfg, _, target in self._each(ctx, unit):
            svc = self._read(ctx, unit, target)
            if svc is None:
                checks.append(HealthCheck(rid, Health.UNHEALTHY, f"{target} does not exist"))
                continue
            running, desired = svc["runningCount"], svc["desiredCount"]
            counts = f"{target}: {running} running of {desired} desired (production {cfg.desired_count})"
            if ctx.is_drill:
                status = Health.HEALTHY  # a drill scales nothing: existing and ACTIVE is all we expect
            elif desired == cfg.desired_count and running >= desired:
                status = Health.HEALTHY
            elif 0 < running < desired:
                status = Health.DEGRADED
            else:
                status = Health.UNHEALTHY
            checks.append(HealthCheck(rid, status, counts))
        return checks

    # -- phases --------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            svc = self._read(ctx, unit, target)
            if svc is not None:
                self._guard(ctx, unit, rid, target, svc)
                out.notes.append(f"{rid}: {target} exists")
            elif not cfg.task_definition:
                fix = "deploy it at desired count 0, or set taskDefinition so INSTANTIATE creates it"
                raise AdapterError(rid, f"{target} does not exist", fix)
            elif ctx.is_drill:
                out.notes.append(f"{rid}: {target} is missing; a failover would create it from {cfg.task_definition}")
            else:
                ctx.mutate(self._ecs(ctx, unit, target), "create_service", **self._create_args(ctx, cfg, target))
                out.notes.append(f"{rid}: {'would create' if ctx.dry_run else 'created'} {target} at desired count 0")
        return out

    @staticmethod
    def _create_args(ctx: RunContext, cfg: EcsServiceConfig, target: _Side) -> dict[str, Any]:
        # Created at 0 so INSTANTIATE costs nothing and serves nothing; ACTIVATE scales it.
        args: dict[str, Any] = {
            "cluster": target.cluster,
            "serviceName": target.service,
            "taskDefinition": cfg.task_definition,
            "desiredCount": 0,
            # Tagged with the run's scope so later phases (and runs) recognise it as this customer's.
            "tags": [
                {"key": "Customer", "value": ctx.scope.customer},
                {"key": "Environment", "value": ctx.scope.environment},
            ],
        }
        if cfg.launch_type:
            args["launchType"] = cfg.launch_type
        if cfg.subnets:
            vpc: dict[str, Any] = {"subnets": cfg.subnets}
            if cfg.security_groups:
                vpc["securityGroups"] = cfg.security_groups
            args["networkConfiguration"] = {"awsvpcConfiguration": vpc}
        return args

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            svc = self._read(ctx, unit, target)
            if svc is None and ctx.dry_run and cfg.task_definition and not ctx.is_drill:
                # A dry INSTANTIATE only pretended to create it; there is nothing to scale yet.
                out.notes.append(f"{rid}: {target} would be created by INSTANTIATE, then scaled to {cfg.desired_count}")
                continue
            fix = "deploy it (a drill creates nothing)" if ctx.is_drill else "run INSTANTIATE (with taskDefinition)"
            svc = self._in_scope(ctx, unit, rid, target, svc, fix)
            if ctx.is_drill:
                if not self._task_definition_active(ctx, unit, target, svc["taskDefinition"]):
                    raise AdapterError(rid, f"{target} runs {svc['taskDefinition']}, which is not ACTIVE",
                                       "register an ACTIVE task definition revision in the DR region")
                out.notes.append(f"{rid}: drill: {target} is ready (not scaled)")
                continue
            scaled = svc["desiredCount"] != cfg.desired_count
            if scaled:
                ctx.mutate(self._ecs(ctx, unit, target), "update_service", cluster=target.cluster,
                           service=target.service, desiredCount=cfg.desired_count)
                out.notes.append(f"{rid}: {target} desired count {svc['desiredCount']} -> {cfg.desired_count}")
            # Waiting on a change a dry run did not make would only time out.
            if (scaled and not ctx.dry_run) or (not scaled and not _stable(svc)):
                out.waits.append(Wait("ecs", target.region, unit.account_id, "services_stable",
                                      {"cluster": target.cluster, "services": [target.service]},
                                      f"{target} reaching {cfg.desired_count} running tasks"))
        return out

    def _retire(self, ctx: RunContext, unit: WorkUnit, rid: str, source: _Side, svc: dict[str, Any],
                out: PhaseOutcome) -> None:
        if svc["desiredCount"] != 0:
            ctx.mutate(self._ecs(ctx, unit, source), "update_service", cluster=source.cluster,
                       service=source.service, desiredCount=0)
            out.notes.append(f"{rid}: {source} desired count {svc['desiredCount']} -> 0")

    def restore_point(self, ctx: RunContext, unit: WorkUnit) -> dict[str, Any] | None:
        """The desired count each target service runs at before the run (None: it does not exist yet)."""
        return {rid: (svc["desiredCount"] if (svc := self._read(ctx, unit, target)) else None)
                for rid, _, _, target in self._each(ctx, unit)}

    def rollback(self, ctx: RunContext, unit: WorkUnit, before: dict[str, Any] | None = None) -> PhaseOutcome:
        """The service left serves at production count again (ACTIVATE the other way), then the one the run
        scaled up goes back to the desired count recorded before the run (0 when none was, or it was created)."""
        out = self.activate(ctx, unit)
        out.notes = [f"ACTIVATE back: {n}" for n in out.notes]
        if out.waits:
            return out
        for rid, _, moved_to, _ in self._each(ctx, unit):  # the way back's source: where the run moved to
            svc = self._read(ctx, unit, moved_to)
            if svc is None:
                out.notes.append(f"{rid}: {moved_to} does not exist; nothing to scale back")
                continue
            self._guard(ctx, unit, rid, moved_to, svc)
            was = (before or {}).get(rid) or 0
            if svc["desiredCount"] != was:
                ctx.mutate(self._ecs(ctx, unit, moved_to), "update_service", cluster=moved_to.cluster,
                           service=moved_to.service, desiredCount=was)
                out.notes.append(f"{rid}: {moved_to} desired count {svc['desiredCount']} -> {was} (as before the run)")
        return out

    def rollback_summary(self) -> str:
        return ("the service left serves at desiredCount again (ACTIVATE back); the one the run scaled up returns "
                "to the desired count it had before the run, read in that run's preflight (0 if it had none)")

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: nothing to replicate"])
        for rid, cfg, source, _ in self._each(ctx, unit):
            fix = f"recreate it at desired count 0 in {source.region} so the service can move back"
            svc = self._in_scope(ctx, unit, rid, source, self._read(ctx, unit, source), fix)
            out.notes.append(f"{rid}: {source} is standing by at desired count {svc['desiredCount']}")
        return out

    # -- tag discovery ---------------------------------------------------------------------------
    discovery_types = ("ecs:service",)

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"ecs/{account_id}/{config['cluster']}/{config['service']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        """cluster and service from the ARN, the production count from whichever copy runs (both read:
        after a failover the DR copy is the one at production count); a missing DR copy gets the
        primary's task definition family to be created from."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for f in found:
            cluster, _, service = f.name.partition("/")
            for region in (read.primary, read.dr):
                wanted.setdefault((region, cluster), set()).add(service)
        described: dict[tuple[str, str, str], dict[str, Any]] = {}
        for (region, cluster), services in wanted.items():
            names = sorted(services)
            for i in range(0, len(names), 10):  # DescribeServices takes at most 10 services
                reply = read.client("ecs", region).describe_services(cluster=cluster, services=names[i:i + 10])
                for svc in reply["services"]:
                    if svc.get("status") != "INACTIVE":
                        described[(region, cluster, svc["serviceName"])] = svc
        out: list[Derived | NotDerived] = []
        for f in found:
            cluster, _, service = f.name.partition("/")
            if not service:
                out.append(NotDerived(f.arn, "a service ARN without its cluster (the old ARN format) -- opt in to "
                                             "the long ARN format (serviceLongArnFormat) and re-create the service"))
                continue
            primary, dr = (described.get((r, cluster, service)) for r in (read.primary, read.dr))
            desired = max((s["desiredCount"] for s in (primary, dr) if s), default=0)
            if not desired and "dr:desired-count" not in f.tags:
                out.append(NotDerived(f.arn, "runs no task in either region -- tag it dr:desired-count=<production "
                                             "task count>"))
                continue
            config: dict[str, Any] = {"cluster": cluster, "service": service, "desiredCount": desired}
            if dr is None and primary is not None:
                config["taskDefinition"] = primary["taskDefinition"].split("/")[-1].split(":")[0]
            out.append(Derived(self.identity(config, read.account_id), self.actions[0], service, config, f.arn,
                               f.tags, secondary=f.region != read.primary))
        return out
