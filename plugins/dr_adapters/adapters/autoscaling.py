"""Amazon EC2 Auto Scaling groups, pilot light: a group in each region, the one not serving parked.

A *parked* group has min/max/desired 0 and, optionally, some scaling processes suspended (``parkedProcesses``,
e.g. AlarmNotification and ScheduledActions, so that no alarm or schedule scales it up unasked). Each
phase reads one region's copy, checks its ``Customer``/``Environment`` tags, and converges:

* INSTANTIATE raises the target group to ``prewarm`` capacity (never lowers it), resuming ``Launch`` and
  ``AddToLoadBalancer`` first if parking suspended them (without Launch no instance starts; an instance
  launched while AddToLoadBalancer is suspended never joins the load balancer: AWS does not add it when
  the process resumes), and waits until the prewarmed instances are InService, so ACTIVATE only adds
  the difference.
* ACTIVATE resumes the parked processes still suspended on the target, sets ``production`` min/max/desired
  (and ``launchTemplateVersion`` when given) in one UpdateAutoScalingGroup call, and waits until
  InService, Healthy instances >= desired (our ``GroupInService`` waiter: botocore has no Auto Scaling
  waiter).
* CLEANUP scales the group left to min/max/desired 0, waits until its instances are gone (``GroupDrained``)
  and then suspends ``parkedProcesses`` (after the drain: a suspended Terminate would stop the scale-in).
* REPLICATE checks the group left still exists with a launch template that resolves, so a failback can
  scale it up again. An Auto Scaling group holds no data: there is nothing to replicate.

Where this follows AWS rather than the seeds' wording (SRS SI-2.8 lists SetDesiredCapacity):
capacity changes go through UpdateAutoScalingGroup, never SetDesiredCapacity, because a parked group
has MaxSize 0 and SetDesiredCapacity cannot go above MaxSize (nor below MinSize when scaling in); one
UpdateAutoScalingGroup sets all three bounds atomically. Processes are resumed by name, only those
the manifest says parking suspended: a process suspended for another reason stays its owner's. A
process whose suspension would stop the group serving (Launch, AddToLoadBalancer) but that is not
listed is refused by preflight and ACTIVATE with the fix, rather than resumed behind the owner's back.

Drill: read-only. The DR group exists and is in scope, its launch template version resolves, and the
instance types it launches are offered in each of its Availability Zones (DescribeInstanceTypeOfferings:
what can be proved without launching; only an On-Demand Capacity Reservation guarantees capacity).
A prewarm-then-restore drill would spend money and could meet a scaling policy mid-way; read-only is
enough to prove the failover would start.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from botocore.exceptions import ClientError
from pydantic import Field, field_validator, model_validator

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
from dr_adapters.adapters.capacity import Need, ec2_needs
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.regional import RegionalCopyAdapter
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.types import Health, Phase

ScalingProcess = Literal["Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
                         "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"]
SERVING_PROCESSES = {
    "Launch": "no instance would start",
    "AddToLoadBalancer": "instances launched meanwhile never join the group's load balancers",
}
"""Suspended processes that stop a group serving, with why."""
DR_NAME_TAG = "dr:dr-auto-scaling-group-name"


class Capacity(ActionConfig):
    """An Auto Scaling group's bounds: ``{min, max, desired}``; as a ``dr:`` tag ``min=2 max=4 desired=2``."""

    min_size: int = Field(alias="min", ge=0, description="MinSize.")
    max_size: int = Field(alias="max", ge=0, description="MaxSize.")
    desired: int = Field(ge=0, description="DesiredCapacity, between min and max.")

    @model_validator(mode="before")
    @classmethod
    def _from_tag(cls, value: Any) -> Any:
        """``min=2 max=4 desired=2`` (how a ``dr:production`` / ``dr:prewarm`` tag writes it)."""
        if not isinstance(value, str):
            return value
        parts = [p.partition("=") for p in value.replace(",", " ").split()]
        if not parts or any(not sep for _, sep, _ in parts):
            raise ValueError(f"{value!r} is not 'min=<n> max=<n> desired=<n>'")
        return {k.strip(): v.strip() for k, _, v in parts}

    @model_validator(mode="after")
    def _bounds(self) -> Capacity:
        if not self.min_size <= self.desired <= self.max_size:
            raise ValueError(f"desired {self.desired} must be between min {self.min_size} and max {self.max_size} "
                             "(AWS refuses anything else)")
        return self

    @classmethod
    def of(cls, group: dict[str, Any]) -> Capacity:
        return cls(min=group["MinSize"], max=group["MaxSize"], desired=group["DesiredCapacity"])

    def at_least(self, other: Capacity) -> Capacity:
        """Each bound raised to ``other``'s where it is lower (prewarm never scales a group down)."""
        return Capacity(min=max(self.min_size, other.min_size), max=max(self.max_size, other.max_size),
                        desired=max(self.desired, other.desired))

    def serving(self, now: Capacity) -> Capacity:
        """These production bounds, keeping a desired capacity that a scaling policy has raised within them since
        (a second ACTIVATE, or a retry, must not scale a group in that is busier than production)."""
        same_bounds = (now.min_size, now.max_size) == (self.min_size, self.max_size)
        return now if same_bounds and now.desired >= self.desired else self

    def args(self) -> dict[str, int]:
        return {"MinSize": self.min_size, "MaxSize": self.max_size, "DesiredCapacity": self.desired}

    def __str__(self) -> str:
        return f"min {self.min_size}/max {self.max_size}/desired {self.desired}"


PARKED = Capacity(min=0, max=0, desired=0)


class AutoScalingConfig(ActionConfig):
    auto_scaling_group_name: str = Field(alias="autoScalingGroupName",
                                         description="Auto Scaling group name in the primary region.")
    dr_auto_scaling_group_name: str | None = Field(
        None, alias="drAutoScalingGroupName",
        description="Group name in the DR region (default: autoScalingGroupName).")
    production: Capacity = Field(description=(
        "Production bounds {min, max, desired} ACTIVATE sets on the target group, e.g. {min: 2, max: 6, desired: 3}."))
    prewarm: Capacity | None = Field(None, description=(
        "Pilot-light bounds {min, max, desired} INSTANTIATE raises the target group to (never lowering it) and waits "
        "for; default: none, INSTANTIATE only checks the group."))
    launch_template_version: str | None = Field(
        None, alias="launchTemplateVersion", pattern=r"^(\$Latest|\$Default|[1-9][0-9]*)$",
        description=("ACTIVATE: launch template version the target group launches ($Latest, $Default or a number; "
                     "default: the group's own). Groups launched from a launch template only."))
    parked_processes: list[ScalingProcess] = Field([], alias="parkedProcesses", description=(
        "Scaling processes suspended while a group stands by: ACTIVATE resumes them on the target (INSTANTIATE "
        "resumes Launch and AddToLoadBalancer to prewarm), CLEANUP suspends them on the group left once drained. "
        "Discovery reads them from the standing-by group's suspended processes."))

    @field_validator("production")
    @classmethod
    def _serves(cls, value: Capacity) -> Capacity:
        if value.desired < 1:
            raise ValueError("production desired must be at least 1: a group that runs nothing serves nothing")
        return value

    @field_validator("parked_processes")
    @classmethod
    def _sorted(cls, value: list[str]) -> list[str]:
        return sorted(set(value))  # a set in AWS: the same list however it is written


class _Side(NamedTuple):
    """One region's copy of the group."""

    region: str
    name: str

    def __str__(self) -> str:
        return f"Auto Scaling group {self.name} in {self.region}"


def _suspended(group: dict[str, Any]) -> set[str]:
    return {p["ProcessName"] for p in group.get("SuspendedProcesses", [])}


def _in_service(group: dict[str, Any]) -> int:
    return sum(1 for i in group.get("Instances", [])
               if i["LifecycleState"] == "InService" and i["HealthStatus"] == "Healthy")


def _template_spec(group: dict[str, Any]) -> dict[str, Any] | None:
    """The launch template the group launches from (its own, or its mixed instances policy's)."""
    if group.get("LaunchTemplate"):
        return group["LaunchTemplate"]
    mixed = group.get("MixedInstancesPolicy") or {}
    return (mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification")


def _template_ref(spec: dict[str, Any]) -> dict[str, str]:
    """How DescribeLaunchTemplateVersions names a group's template: by id when the group has it, else by name."""
    if spec.get("LaunchTemplateId"):
        return {"LaunchTemplateId": spec["LaunchTemplateId"]}
    return {"LaunchTemplateName": spec["LaunchTemplateName"]}


class AutoScalingAdapter(RegionalCopyAdapter[_Side]):
    actions = ("AutoScaling",)
    config_model = AutoScalingConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    unplanned_behaviour = (
        "prewarms and scales the target group to production (resuming its parked processes) without reading the "
        "source; CLEANUP (scale the source to 0) and REPLICATE wait for reprotect"
    )
    drill_behaviour = (
        "Read-only: checks the DR group exists, its launch template version resolves and its instance types are "
        "offered in its Availability Zones; scales nothing (production is never scaled down)."
    )
    phase_summaries = {
        Phase.INSTANTIATE: "Raise the target group to prewarm capacity (resuming a parked Launch and "
                           "AddToLoadBalancer) and wait until InService.",
        Phase.ACTIVATE: "Resume the target's parked processes, set production min/max/desired (and launch template "
                        "version), wait until InService and Healthy.",
        Phase.CLEANUP: "Scale the source group to min/max/desired 0, wait until drained, suspend parkedProcesses.",
        Phase.REPLICATE: "Check the source group still exists with a launch template that resolves, for failback.",
    }
    iam_actions = (
        "autoscaling:DescribeAutoScalingGroups",  # waiters GroupInService and GroupDrained too
        "autoscaling:ResumeProcesses",
        "autoscaling:SuspendProcesses",
        "autoscaling:UpdateAutoScalingGroup",
        "ec2:DescribeInstanceTypeOfferings",
        "ec2:DescribeInstanceTypes",  # preflight: vCPUs of what it launches and of what runs (capacity)
        "ec2:DescribeInstances",  # preflight: the region's running On-Demand vCPUs (capacity)
        "ec2:DescribeLaunchTemplateVersions",
    )
    service_side_actions = (
        ServiceSide(
            "UpdateGroupUsesLaunchTemplate", ("ec2:RunInstances", "ec2:CreateTags"),
            "UpdateAutoScalingGroup with a LaunchTemplate (launchTemplateVersion): AWS checks that the caller may "
            "launch from the template (and tag what it launches)."),
        ServiceSide(
            "UpdateGroupPassesInstanceRole", ("iam:PassRole",),
            "UpdateAutoScalingGroup with a LaunchTemplate whose instance profile role is passed to EC2, and only to "
            "EC2.",
            {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
    )
    retire_label, retired_label = "scale in", "scaled in"

    # -- AWS reads -----------------------------------------------------------------------------
    def _sides(self, ctx: RunContext, cfg: AutoScalingConfig) -> tuple[_Side, _Side]:
        """(source, target): failback moves from the DR copy back to the primary one."""
        primary = _Side(ctx.regions.primary, cfg.auto_scaling_group_name)
        dr = _Side(ctx.regions.dr, cfg.dr_auto_scaling_group_name or cfg.auto_scaling_group_name)
        return ctx.source_and_target(primary, dr)

    @staticmethod
    def _asg(ctx: RunContext, unit: WorkUnit, side: _Side) -> Any:
        return ctx.client("autoscaling", side.region, unit.account_id)

    def _read(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> dict[str, Any] | None:
        """The group, or None when it does not exist (or is being deleted)."""
        groups = self._asg(ctx, unit, side).describe_auto_scaling_groups(
            AutoScalingGroupNames=[side.name])["AutoScalingGroups"]
        return next((g for g in groups if g.get("Status") != "Delete in progress"), None)

    def _tags(self, ctx: RunContext, unit: WorkUnit, side: _Side, group: dict[str, Any]) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in group.get("Tags", [])}

    def _launch_problems(self, ctx: RunContext, unit: WorkUnit, cfg: AutoScalingConfig, side: _Side,
                         group: dict[str, Any]) -> list[str]:
        """Why the group could not launch what a failover asks of it: a launch template (version) that does
        not resolve, or instance types not offered in its Availability Zones. Empty: it could."""
        spec = _template_spec(group)
        if spec is None:
            if cfg.launch_template_version:
                return [f"{side} launches from launch configuration {group.get('LaunchConfigurationName')}, "
                        "not a launch template: launchTemplateVersion cannot apply"]
            return []  # a launch configuration (deprecated by AWS): nothing to resolve it against here
        if cfg.launch_template_version and not group.get("LaunchTemplate"):
            return [f"{side} launches from a mixed instances policy: set the version there, not launchTemplateVersion"]
        version = cfg.launch_template_version or spec.get("Version") or "$Default"
        template = spec.get("LaunchTemplateId") or spec.get("LaunchTemplateName")
        ec2 = ctx.client("ec2", side.region, unit.account_id)
        try:
            data = ec2.describe_launch_template_versions(**_template_ref(spec), Versions=[version])[
                "LaunchTemplateVersions"][0]["LaunchTemplateData"]
        except ClientError as exc:
            return [f"launch template {template} version {version} does not resolve in {side.region}: "
                    f"{exc.response['Error']['Code']}"]
        overrides = ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get("Overrides") or []
        types = sorted({o["InstanceType"] for o in overrides if o.get("InstanceType")}
                       or ({data["InstanceType"]} if data.get("InstanceType") else set()))
        zones = sorted(group.get("AvailabilityZones", []))
        if not types or not zones:
            return []  # attribute-based instance selection: AWS picks the types
        pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": types}, {"Name": "location", "Values": zones}])
        offered = {o["Location"] for page in pages for o in page["InstanceTypeOfferings"]}
        missing = [z for z in zones if z not in offered]
        if missing:
            return [f"{side}: no capacity for {', '.join(types)} in {', '.join(missing)} (not offered there)"]
        return []

    def capacity_needs(self, ctx: RunContext, unit: WorkUnit) -> list[Need]:
        """The instances the target group launches above what it runs now (INSTANTIATE's prewarm, then ACTIVATE's
        production desired): their vCPUs by EC2 On-Demand family, of the instance type it launches (a mixed
        instances policy: its first override, the type Auto Scaling prefers; counted On-Demand). A drill launches
        nothing; a group launching from a launch configuration is not counted."""
        if ctx.is_drill:
            return []
        launches, counts = {}, {}
        for rid, cfg, _, target in self._each(ctx, unit):
            group = self._read(ctx, unit, target)
            wanted = max(cfg.production.desired, cfg.prewarm.desired if cfg.prewarm else 0)
            more = wanted - (group or {}).get("DesiredCapacity", wanted)
            spec = _template_spec(group) if group else None
            if more <= 0 or spec is None:
                continue
            overrides = ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get("Overrides") or []
            instance_type = next((o["InstanceType"] for o in overrides if o.get("InstanceType")), None)
            if instance_type is None:
                version = cfg.launch_template_version or spec.get("Version") or "$Default"
                try:
                    data = ctx.client("ec2", target.region, unit.account_id).describe_launch_template_versions(
                        **_template_ref(spec), Versions=[version])["LaunchTemplateVersions"][0]
                except ClientError:
                    continue  # preflight fails the group for it already
                instance_type = data["LaunchTemplateData"].get("InstanceType")
            if instance_type:
                launches[rid], counts[rid] = instance_type, more
        return ec2_needs(ctx, unit.account_id, ctx.target_region, launches, (Phase.INSTANTIATE, Phase.ACTIVATE),
                         "Auto Scaling instances", counts) if launches else []

    @staticmethod
    def _blocked(cfg: AutoScalingConfig, group: dict[str, Any], side: _Side) -> str | None:
        """A suspended process that stops the group serving and that parking did not suspend (not ours)."""
        blocking = sorted((_suspended(group) & set(SERVING_PROCESSES)) - set(cfg.parked_processes))
        if not blocking:
            return None
        why = "; ".join(f"{p}: {SERVING_PROCESSES[p]}" for p in blocking)
        return f"{side} has {', '.join(blocking)} suspended ({why})"

    @staticmethod
    def _wait(unit: WorkUnit, side: _Side, waiter: str, what: str) -> Wait:
        return Wait("autoscaling", side.region, unit.account_id, waiter, {"AutoScalingGroupNames": [side.name]},
                    f"{side} {what}", delay=15.0, max_attempts=120)

    # -- read-only -----------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for rid, cfg, source, target in self._each(ctx, unit):
            group = self._read(ctx, unit, target)
            if group is None:
                findings.append(Finding(rid, False, f"{target} does not exist"))
            else:
                findings.append(self._exists_finding(ctx, unit, rid, target, group))
                findings += [Finding(rid, False, p) for p in self._launch_problems(ctx, unit, cfg, target, group)]
                blocked = self._blocked(cfg, group, target)
                if blocked:
                    findings.append(Finding(rid, False, f"{blocked} -- resume it, or list it under parkedProcesses"))
            findings.append(self._source_finding(ctx, unit, rid, source, target_ok=group is not None))
        return findings

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for rid, cfg, _, target in self._each(ctx, unit):
            group = self._read(ctx, unit, target)
            if group is None:
                checks.append(HealthCheck(rid, Health.UNHEALTHY, f"{target} does not exist"))
                continue
            ready, now = _in_service(group), Capacity.of(group)
            text = f"{target}: {ready} InService and Healthy, {now} (production {cfg.production})"
            still_parked = sorted(_suspended(group) & set(cfg.parked_processes))
            if ctx.is_drill:
                status = Health.HEALTHY  # a drill scales nothing: the group existing is all we expect
            elif cfg.production.serving(now) != now or ready == 0:
                status = Health.UNHEALTHY
            elif ready < now.desired or still_parked:
                status = Health.DEGRADED
                text += f"; still suspended: {', '.join(still_parked)}" if still_parked else ""
            else:
                status = Health.HEALTHY
            checks.append(HealthCheck(rid, status, text))
        return checks

    # -- phases --------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            group = self._require(ctx, unit, rid, target,
                                  f"create it in {target.region} parked (min/max/desired 0) from its launch template")
            if cfg.prewarm is None:
                out.notes.append(f"{rid}: {target} exists (no prewarm configured)")
                continue
            now = Capacity.of(group)
            wanted = now.at_least(cfg.prewarm)
            if ctx.is_drill:
                out.notes.append(f"{rid}: drill: {target} at {now}; a failover would prewarm it to {wanted}")
                continue
            blocked = self._blocked(cfg, group, target) if wanted.desired else None
            if blocked:
                raise AdapterError(rid, blocked, "resume it (ResumeProcesses), or list it under parkedProcesses")
            # Launch, or nothing starts; AddToLoadBalancer, or what starts never joins the load balancer.
            serving = set(SERVING_PROCESSES) if wanted.desired else set()
            resumed = self._resume(ctx, unit, rid, cfg, target, group, serving, out)
            changed = self._scale(ctx, unit, rid, target, now, wanted, {}, out)
            self._await(ctx, unit, target, group, changed or resumed, out)
        return out

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            group = self._require(ctx, unit, rid, target,
                                  f"create it in {target.region} parked (min/max/desired 0) from its launch template")
            blocked = self._blocked(cfg, group, target)
            if blocked:
                raise AdapterError(rid, blocked, "resume it (ResumeProcesses), or list it under parkedProcesses so "
                                                 "ACTIVATE resumes it")
            if ctx.is_drill:
                problems = self._launch_problems(ctx, unit, cfg, target, group)
                if problems:
                    raise AdapterError(rid, "; ".join(problems), "fix the DR group's launch template or Availability "
                                                                 "Zones, or launchTemplateVersion")
                out.notes.append(f"{rid}: drill: {target} could launch {cfg.production} (not scaled)")
                continue
            template = self._template_update(rid, cfg, target, group)
            resumed = self._resume(ctx, unit, rid, cfg, target, group, set(cfg.parked_processes), out)
            now = Capacity.of(group)
            changed = self._scale(ctx, unit, rid, target, now, cfg.production.serving(now), template, out)
            self._await(ctx, unit, target, group, changed or resumed, out)
        return out

    @staticmethod
    def _template_update(rid: str, cfg: AutoScalingConfig, target: _Side, group: dict[str, Any]) -> dict[str, Any]:
        """The UpdateAutoScalingGroup arguments that set ``launchTemplateVersion`` ({} when nothing to set)."""
        if not cfg.launch_template_version:
            return {}
        spec = group.get("LaunchTemplate")
        if not spec:
            raise AdapterError(rid, f"{target} does not launch from a launch template (a launch configuration or "
                                    "a mixed instances policy): launchTemplateVersion cannot apply",
                               "drop launchTemplateVersion, or set the version in the group's mixed instances policy")
        if spec.get("Version") == cfg.launch_template_version:
            return {}
        return {"LaunchTemplate": {"LaunchTemplateId": spec["LaunchTemplateId"],
                                   "Version": cfg.launch_template_version}}

    def _resume(self, ctx: RunContext, unit: WorkUnit, rid: str, cfg: AutoScalingConfig, target: _Side,
                group: dict[str, Any], wanted: set[str], out: PhaseOutcome) -> bool:
        """Resume the parked processes among ``wanted`` still suspended on the target; whether it did."""
        resume = sorted(_suspended(group) & wanted & set(cfg.parked_processes))
        if not resume:
            return False
        ctx.mutate(self._asg(ctx, unit, target), "resume_processes", AutoScalingGroupName=target.name,
                   ScalingProcesses=resume)
        out.notes.append(f"{rid}: {target} resumed {', '.join(resume)}")
        return True

    def _scale(self, ctx: RunContext, unit: WorkUnit, rid: str, side: _Side, now: Capacity, wanted: Capacity,
               extra: dict[str, Any], out: PhaseOutcome) -> bool:
        """Set the group's bounds (and ``extra``) in one UpdateAutoScalingGroup call if they differ; whether it did."""
        if now == wanted and not extra:
            return False
        ctx.mutate(self._asg(ctx, unit, side), "update_auto_scaling_group", AutoScalingGroupName=side.name,
                   **wanted.args(), **extra)
        version = f", launch template version {extra['LaunchTemplate']['Version']}" if extra else ""
        out.notes.append(f"{rid}: {side} {now} -> {wanted}{version}")
        return True

    def _await(self, ctx: RunContext, unit: WorkUnit, side: _Side, group: dict[str, Any], changed: bool,
               out: PhaseOutcome) -> None:
        # Waiting on a change a dry run did not make would only time out.
        if (changed and not ctx.dry_run) or (not changed and _in_service(group) < group["DesiredCapacity"]):
            out.waits.append(self._wait(unit, side, "GroupInService", "reaching its desired capacity InService"))

    def _retire(self, ctx: RunContext, unit: WorkUnit, rid: str, source: _Side, group: dict[str, Any],
                out: PhaseOutcome) -> None:
        cfg = self.config(next(r for r in unit.resources if r.resource_id == rid))
        if Capacity.of(group) != PARKED:
            if group.get("Instances") and "Terminate" in _suspended(group):
                raise AdapterError(rid, f"{source} has Terminate suspended: it cannot scale in",
                                   "resume Terminate (ResumeProcesses) and run CLEANUP again")
            self._scale(ctx, unit, rid, source, Capacity.of(group), PARKED, {}, out)
            if not ctx.dry_run:
                out.waits.append(self._wait(unit, source, "GroupDrained", "terminating its instances"))
            return
        if group.get("Instances"):  # scaled in, instances still terminating: suspend once they are gone
            out.waits.append(self._wait(unit, source, "GroupDrained", "terminating its instances"))
            return
        suspend = sorted(set(cfg.parked_processes) - _suspended(group))
        if suspend:
            ctx.mutate(self._asg(ctx, unit, source), "suspend_processes", AutoScalingGroupName=source.name,
                       ScalingProcesses=suspend)
            out.notes.append(f"{rid}: {source} parked: suspended {', '.join(suspend)}")

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: nothing to replicate"])
        for rid, cfg, source, _ in self._each(ctx, unit):
            fix = f"recreate it in {source.region} parked (min/max/desired 0) so the group can move back"
            group = self._require(ctx, unit, rid, source, fix)
            problems = self._launch_problems(ctx, unit, cfg, source, group)
            if problems:
                raise AdapterError(rid, "; ".join(problems), f"fix its launch template in {source.region} so a "
                                                             "failback can launch")
            out.notes.append(f"{rid}: {source} is standing by at {Capacity.of(group)}")
        return out

    # -- tag discovery ---------------------------------------------------------------------------
    discovery_types = ("autoscaling:autoScalingGroup",)

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"autoscaling/{account_id}/{config['autoScalingGroupName']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        """The group's name from its ARN; production capacity from whichever copy runs more (after a failover
        the DR copy is the one at production); parkedProcesses from the other copy's suspended processes.
        prewarm (nothing in AWS says it) comes from a ``dr:prewarm`` tag."""
        wanted = {read.primary: {f.name for f in found},
                  read.dr: {f.tags.get(DR_NAME_TAG) or f.name for f in found}}
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for region, names in wanted.items():
            paginator = read.client("autoscaling", region).get_paginator("describe_auto_scaling_groups")
            ordered = sorted(names)
            for i in range(0, len(ordered), 100):  # at most MaxRecords (100) names per request
                for page in paginator.paginate(AutoScalingGroupNames=ordered[i:i + 100], MaxRecords=100):
                    groups.update({(region, g["AutoScalingGroupName"]): g for g in page["AutoScalingGroups"]})
        out: list[Derived | NotDerived] = []
        for f in found:
            primary = groups.get((read.primary, f.name))
            dr = groups.get((read.dr, f.tags.get(DR_NAME_TAG) or f.name))
            copies = [g for g in (primary, dr) if g]
            serving = max(copies, key=lambda g: g["DesiredCapacity"], default=None)
            if serving is None or (not serving["DesiredCapacity"] and "dr:production" not in f.tags):
                out.append(NotDerived(f.arn, "runs no instance in either region -- tag it dr:production="
                                             "'min=<n> max=<n> desired=<n>' (its production capacity)"))
                continue
            config: dict[str, Any] = {"autoScalingGroupName": f.name,
                                      "production": Capacity.of(serving).model_dump(by_alias=True)}
            standby = next((g for g in copies if g is not serving), None)
            parked = sorted(_suspended(standby)) if standby else []
            if parked:
                config["parkedProcesses"] = parked
            out.append(Derived(self.identity(config, read.account_id), self.actions[0], f.name, config, f.arn,
                               f.tags, secondary=f.region != read.primary))
        return out
