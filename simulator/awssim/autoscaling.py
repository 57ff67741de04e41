"""Auto Scaling groups whose instances take time, that honour suspended processes and refuse what AWS
refuses, on top of moto's Auto Scaling (moto 5.2 has the groups, not these behaviours).

What moto does, and what we change:

* **Instance lifecycle.** moto's instances are ``InService`` the moment the desired capacity rises and
  gone the moment it falls. Here a launched instance is ``Pending`` for ``AWSSIM_DELAY_SECONDS`` (read
  at call time), then ``InService`` and ``Healthy``; an instance scaled in is ``Terminating`` that long,
  then terminated and gone from the group. ``Pending`` and ``InService`` instances count towards the
  desired capacity, so asking again for the capacity a group is reaching launches nothing more (moto
  counted only ``InService`` ones and launched a second batch). Transitions complete lazily: every
  Auto Scaling request first settles the account's due ones, as if AWS had worked in the background.
* **Suspended processes.** moto records SuspendProcesses and still launches and terminates. As on AWS,
  a group with ``Launch`` suspended does not scale out (its desired capacity is set, nothing launches),
  one with ``Terminate`` suspended does not scale in, and ResumeProcesses catches up at once.
* **What AWS refuses** (``ValidationError``), where moto accepted it or answered a 500:
  a desired capacity outside [min, max] (CreateAutoScalingGroup, UpdateAutoScalingGroup,
  SetDesiredCapacity), a min size above the max size, an unknown group in UpdateAutoScalingGroup,
  SetDesiredCapacity, SuspendProcesses and ResumeProcesses, an unknown scaling process name, and a
  launch template (or version) that does not exist.
* **UpdateAutoScalingGroup semantics**: a new MinSize above the current desired capacity raises it, a
  new MaxSize below it lowers it (AWS's documented behaviour; moto compared with the instance count);
  a group's MixedInstancesPolicy is kept when the update does not mention it (moto erased it).
* **Discovery**: Resource Explorer indexes Auto Scaling groups (``autoscaling:autoScalingGroup``), while
  the Resource Groups Tagging API's GetResources lists none (AWS documents it so; moto's backend
  follows). ``iter_explorer_only_resources`` gives our Resource Explorer the groups, with their tags.

Not modelled: health checks that fail (SetInstanceHealth still marks an instance, nothing replaces
it), warm pools' own lifecycle, instance refreshes, launches that fail for want of capacity.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from typing import Any

from moto.autoscaling import models as asg_models
from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup, InstanceState
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.exceptions import EC2ClientError

SCALING_PROCESSES = frozenset({"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
                               "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"})
LIVE = ("Pending", "InService")  # the states that count towards a group's desired capacity
RESOURCE_TYPE = "autoscaling:autoScalingGroup"  # as Resource Explorer names it


def _delay() -> float:
    return float(os.environ.get("AWSSIM_DELAY_SECONDS", "1.0"))


# -- the group's instances ---------------------------------------------------------------------
def settle(account_id: str) -> None:
    """Complete every instance transition of the account whose time has come."""
    now = time.time()
    for backend in list(asg_models.autoscaling_backends[account_id].values()):
        for group in backend.autoscaling_groups.values():
            gone = []
            for state in group.instance_states:
                due = getattr(state, "awssim_due", None)
                if due is None or due > now:
                    continue
                state.awssim_due = None
                if state.lifecycle_state == "Pending":
                    state.lifecycle_state = "InService"
                elif state.lifecycle_state == "Terminating":
                    gone.append(state)
            if gone:
                _remove(group, gone)


def _remove(group: FakeAutoScalingGroup, states: list[InstanceState]) -> None:
    group.autoscaling_backend.ec2_backend.terminate_instances([s.instance.id for s in states])
    group.instance_states = [s for s in group.instance_states if s not in states]


def _instances_wanted(group: FakeAutoScalingGroup) -> int:
    """How many instances the desired capacity means: units of capacity, weighted in a mixed group
    (moto's rule for a ``prioritized`` strategy: the first override's weight, On-Demand base first)."""
    capacity = group.desired_capacity or 0
    overrides = ((group.mixed_instances_policy or {}).get("LaunchTemplate") or {}).get("Overrides") or []
    if not overrides:
        return capacity
    distribution = group.mixed_instances_policy.get("InstancesDistribution", {})
    base = int(distribution.get("OnDemandBaseCapacity", 0))
    percent = int(distribution.get("OnDemandPercentageAboveBaseCapacity", 100))
    weight = str(overrides[0].get("WeightedCapacity", "1"))
    weight_n = int(weight) if weight.isdigit() and int(weight) else 1
    if base >= capacity:
        on_demand, spot = capacity, 0
    else:
        above = capacity - base
        on_demand = int(base + above * percent / 100.0)
        spot = int(above - above * percent / 100.0)
    return math.ceil(on_demand / weight_n) + math.ceil(spot / weight_n)


def converge(group: FakeAutoScalingGroup) -> None:
    """Launch or terminate towards the desired capacity, as far as the suspended processes allow."""
    suspended = set(group._suspended_processes)
    live = [s for s in group.instance_states if s.lifecycle_state in LIVE]
    wanted = _instances_wanted(group)
    delay = _delay()
    if len(live) < wanted and "Launch" not in suspended:
        before = len(group.instance_states)
        group.replace_autoscaling_group_instances(wanted - len(live), group.get_propagated_tags())
        if delay > 0:
            for state in group.instance_states[before:]:
                state.lifecycle_state, state.awssim_due = "Pending", time.time() + delay
    elif len(live) > wanted and "Terminate" not in suspended:
        # Instances still launching go first, then the oldest; scale-in protection is honoured.
        candidates = sorted((s for s in live if not s.protected_from_scale_in),
                            key=lambda s: s.lifecycle_state != "Pending")
        leaving = candidates[:len(live) - wanted]
        if delay > 0:
            for state in leaving:
                state.lifecycle_state, state.awssim_due = "Terminating", time.time() + delay
        else:
            _remove(group, leaving)
    backend = group.autoscaling_backend
    if group.name in backend.autoscaling_groups:
        backend.update_attached_elbs(group.name)
        backend.update_attached_target_groups(group.name)


def set_desired_capacity(self: FakeAutoScalingGroup, new_capacity: int | None) -> None:
    """moto's FakeAutoScalingGroup.set_desired_capacity, with lifecycle and suspended processes."""
    self.desired_capacity = self.min_size if new_capacity is None else new_capacity
    converge(self)


def active_instances(self: FakeAutoScalingGroup) -> list[InstanceState]:
    """Instances that count towards the capacity (moto: InService only)."""
    return [s for s in self.instance_states if s.lifecycle_state in LIVE]


# -- validation, as AWS answers ------------------------------------------------------------------
def _group(backend: AutoScalingBackend, name: str | None) -> FakeAutoScalingGroup:
    group = backend.autoscaling_groups.get(name or "")
    if group is None:
        raise ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return group


def _check_bounds(min_size: int, max_size: int, desired: int) -> None:
    if min_size > max_size:
        raise ValidationError(f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}")
    if not min_size <= desired <= max_size:
        raise ValidationError(f"Desired capacity:{desired} must be between the specified min size:{min_size} "
                              f"and max size:{max_size}")


def _check_launch_template(backend: AutoScalingBackend, spec: dict[str, Any] | None) -> None:
    """A launch template (and version) the group could launch from, else ValidationError as AWS says."""
    if not spec:
        return
    ec2 = backend.ec2_backend
    try:
        template = (ec2.get_launch_template(spec["LaunchTemplateId"]) if spec.get("LaunchTemplateId")
                    else ec2.get_launch_template_by_name(spec.get("LaunchTemplateName") or ""))
        version = spec.get("Version")
        if version:
            if not (version in ("$Latest", "$Default") or (version.isdigit() and int(version) > 0)):
                raise ValidationError(f"The launch template version {version!r} is not valid: use $Latest, "
                                      "$Default or a version number.")
            template.get_version(version)
    except EC2ClientError as exc:
        raise ValidationError(f"You must use a valid fully-formed launch template. {exc}") from None


def _check_processes(processes: list[str]) -> None:
    unknown = sorted(set(processes) - SCALING_PROCESSES)
    if unknown:
        raise ValidationError(f"Invalid scaling process name(s) {', '.join(unknown)}: valid names are "
                              f"{', '.join(sorted(SCALING_PROCESSES))}.")


# -- response methods replacing moto's ------------------------------------------------------------
_moto_create = AutoScalingResponse.create_auto_scaling_group
_moto_set_desired = AutoScalingResponse.set_desired_capacity
_moto_suspend = AutoScalingResponse.suspend_processes
_moto_resume = AutoScalingResponse.resume_processes
_moto_call_action = AutoScalingResponse.call_action


def call_action(self: AutoScalingResponse) -> Any:
    settle(self.current_account)
    return _moto_call_action(self)


def create_auto_scaling_group(self: AutoScalingResponse) -> ActionResult:
    min_size, max_size = self._get_int_param("MinSize"), self._get_int_param("MaxSize")
    desired = self._get_int_param("DesiredCapacity")
    _check_bounds(min_size, max_size, min_size if desired is None else desired)
    _check_launch_template(self.autoscaling_backend, self._get_param("LaunchTemplate"))
    return _moto_create(self)


def update_auto_scaling_group(self: AutoScalingResponse) -> ActionResult:
    backend = self.autoscaling_backend
    group = _group(backend, self._get_param("AutoScalingGroupName"))
    min_size, max_size = self._get_int_param("MinSize"), self._get_int_param("MaxSize")
    desired = self._get_int_param("DesiredCapacity")
    new_min = group.min_size if min_size is None else min_size
    new_max = group.max_size if max_size is None else max_size
    if desired is None:  # AWS: a new min above (a new max below) the desired capacity moves it
        desired = min(max(group.desired_capacity or 0, new_min), new_max)
    _check_bounds(new_min, new_max, desired)
    launch_template = self._get_param("LaunchTemplate", {})
    launch_config = self._get_param("LaunchConfigurationName")
    _check_launch_template(backend, launch_template)
    mixed = self._get_param("MixedInstancesPolicy")
    # kept when the update does not replace it, as on AWS (moto erased it; given back, moto refuses the
    # spec it wrote itself, so it is put back after moto's update)
    kept = group.mixed_instances_policy if mixed is None and not (launch_template or launch_config) else None
    backend.update_auto_scaling_group(
        name=group.name,
        availability_zones=self._get_param("AvailabilityZones", []),
        desired_capacity=desired,
        max_size=new_max,
        min_size=new_min,
        launch_config_name=launch_config,
        launch_template=launch_template,
        vpc_zone_identifier=self._get_param("VPCZoneIdentifier"),
        health_check_period=self._get_int_param("HealthCheckGracePeriod"),
        health_check_type=self._get_param("HealthCheckType"),
        new_instances_protected_from_scale_in=self._get_bool_param("NewInstancesProtectedFromScaleIn", None),
        mixed_instances_policy=mixed,
    )
    if kept:
        group.mixed_instances_policy = kept
        converge(group)  # the capacity counted in the policy's weighted units again
    return EmptyResult()


def set_desired_capacity_response(self: AutoScalingResponse) -> ActionResult:
    group = _group(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
    desired = self._get_int_param("DesiredCapacity")
    if desired > (group.max_size or 0):
        raise ValidationError(f"New SetDesiredCapacity value {desired} is above max value {group.max_size} "
                              "for the AutoScalingGroup.")
    if desired < (group.min_size or 0):
        raise ValidationError(f"New SetDesiredCapacity value {desired} is below min value {group.min_size} "
                              "for the AutoScalingGroup.")
    return _moto_set_desired(self)


def suspend_processes(self: AutoScalingResponse) -> ActionResult:
    _group(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
    _check_processes(self._get_param("ScalingProcesses", []))
    return _moto_suspend(self)


def resume_processes(self: AutoScalingResponse) -> ActionResult:
    group = _group(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
    _check_processes(self._get_param("ScalingProcesses", []))
    result = _moto_resume(self)
    converge(group)  # a resumed Launch (or Terminate) catches up with the desired capacity at once
    return result


# -- Resource Explorer --------------------------------------------------------------------------
def iter_explorer_only_resources(self: AutoScalingBackend) -> Iterator[TaggedResource]:
    """The region's groups with their tags, for Resource Explorer only (the Tagging API lists none)."""
    for group in self.autoscaling_groups.values():
        yield TaggedResource(arn=group.arn, tags={t["Key"]: t["Value"] for t in group.tags},
                             resource_type=RESOURCE_TYPE)


def register() -> None:
    """Patch moto's Auto Scaling (idempotent)."""
    InstanceState.awssim_due = None  # epoch seconds when a Pending / Terminating instance moves on
    FakeAutoScalingGroup.set_desired_capacity = set_desired_capacity
    FakeAutoScalingGroup.active_instances = active_instances
    AutoScalingResponse.call_action = call_action
    AutoScalingResponse.create_auto_scaling_group = create_auto_scaling_group
    AutoScalingResponse.update_auto_scaling_group = update_auto_scaling_group
    AutoScalingResponse.set_desired_capacity = set_desired_capacity_response
    AutoScalingResponse.suspend_processes = suspend_processes
    AutoScalingResponse.resume_processes = resume_processes
    AutoScalingBackend.iter_explorer_only_resources = iter_explorer_only_resources
