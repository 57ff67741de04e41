"""AutoScaling adapter: what only a pilot-light Auto Scaling group has (prewarm, parked processes, launch
template versions, instance type offerings, draining before parking, deriving capacity from AWS).

The contract every adapter keeps is proven in test_contract.py on the AutoScaling kit's mini-estate.
"""

from __future__ import annotations

import time

import pytest
from awssim.kits.autoscaling import seed_group
from pydantic import ValidationError

from aws_calls import recorded
from dr_adapters.adapters.autoscaling import AutoScalingAdapter, AutoScalingConfig, Capacity
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.discovery import DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase

PRIMARY, DR, HUB = "us-east-1", "us-west-2", "123456789012"
PARKED = ["AlarmNotification", "Launch", "ScheduledActions"]
PRODUCTION = {"min": 2, "max": 6, "desired": 3}
SCOPE = {"Customer": "acme", "Environment": "production"}
adapter = AutoScalingAdapter()


def unit_for(**config):
    config = {"autoScalingGroupName": "web", "production": PRODUCTION, "prewarm": {"min": 1, "max": 1, "desired": 1},
              "parkedProcesses": PARKED, **config}
    spec = ResourceSpec("web-asg", "AutoScaling", config)
    return WorkUnit("asg-web", "AutoScaling", None, (spec,))


@pytest.fixture
def estate(aws):
    seed_group(aws, PRIMARY, name="web", capacity=PRODUCTION)
    seed_group(aws, DR, name="web", capacity={"min": 0, "max": 0, "desired": 0}, suspended=PARKED)
    return aws


def group(session, region, name="web"):
    return session.client("autoscaling", region_name=region).describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def shape(session, region, name="web"):
    """(min, max, desired), the InService instances and the suspended processes, as AWS reports them."""
    g = group(session, region, name)
    in_service = sum(1 for i in g["Instances"] if i["LifecycleState"] == "InService")
    return ((g["MinSize"], g["MaxSize"], g["DesiredCapacity"]), in_service,
            sorted(p["ProcessName"] for p in g["SuspendedProcesses"]))


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)


def test_failover_prewarms_then_serves_from_dr_and_parks_the_primary(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for()
    assert all(f.ok for f in adapter.preflight(ctx, unit))

    run(ctx, unit, [Phase.INSTANTIATE])  # prewarm: Launch resumed (it must be, to launch), the rest still parked
    assert shape(estate, DR) == ((1, 1, 1), 1, ["AlarmNotification", "ScheduledActions"])
    run(ctx, unit, [Phase.ACTIVATE])
    assert shape(estate, DR) == ((2, 6, 3), 3, [])
    assert shape(estate, PRIMARY) == ((2, 6, 3), 3, [])  # still serving until cleanup
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert shape(estate, PRIMARY) == ((0, 0, 0), 0, PARKED)  # drained, then parked
    assert group(estate, PRIMARY)["Instances"] == []
    assert shape(estate, DR) == ((2, 6, 3), 3, [])
    assert set(calls) <= set(adapter.iam_actions)


def test_prewarm_never_scales_a_larger_group_down(estate, make_ctx):
    estate.client("autoscaling", region_name=DR).resume_processes(AutoScalingGroupName="web")
    estate.client("autoscaling", region_name=DR).update_auto_scaling_group(
        AutoScalingGroupName="web", MinSize=0, MaxSize=8, DesiredCapacity=4)
    run(make_ctx("failover"), unit_for(), [Phase.INSTANTIATE])
    assert shape(estate, DR) == ((1, 8, 4), 4, [])  # min raised to prewarm's; max and desired kept
    again, calls = recorded(make_ctx("failover"))
    run(again, unit_for(), [Phase.INSTANTIATE])
    assert calls.mutating == []


def test_prewarm_resumes_add_to_load_balancer_so_its_instances_join_the_load_balancer(aws, make_ctx):
    parked = ["AddToLoadBalancer", "AlarmNotification", "Launch"]
    seed_group(aws, PRIMARY, name="web", capacity=PRODUCTION)
    seed_group(aws, DR, name="web", capacity={"min": 0, "max": 0, "desired": 0}, suspended=parked)
    run(make_ctx("failover"), unit_for(parkedProcesses=parked), [Phase.INSTANTIATE])
    assert shape(aws, DR) == ((1, 1, 1), 1, ["AlarmNotification"])


def test_without_prewarm_instantiate_only_checks_the_group(estate, make_ctx):
    unit = unit_for(prewarm=None)
    ctx, calls = recorded(make_ctx("failover"))
    run(ctx, unit, [Phase.INSTANTIATE])
    assert calls.mutating == []
    run(ctx, unit, [Phase.ACTIVATE])  # Launch is resumed here with the rest of the parked processes
    assert shape(estate, DR) == ((2, 6, 3), 3, [])


def test_a_second_activate_leaves_a_group_a_policy_scaled_out_within_production_bounds(estate, make_ctx):
    run(make_ctx("failover"), unit_for(), [Phase.INSTANTIATE, Phase.ACTIVATE])
    estate.client("autoscaling", region_name=DR).set_desired_capacity(AutoScalingGroupName="web", DesiredCapacity=5)
    ctx, calls = recorded(make_ctx("failover"))
    run(ctx, unit_for(), [Phase.ACTIVATE])
    assert calls.mutating == []
    assert shape(estate, DR) == ((2, 6, 5), 5, [])
    assert [c.status for c in adapter.validate(ctx, unit_for())] == [Health.HEALTHY]


def test_activate_sets_the_launch_template_version(estate, make_ctx):
    ec2 = estate.client("ec2", region_name=DR)
    ec2.create_launch_template_version(LaunchTemplateName="web-lt", SourceVersion="1",
                                       LaunchTemplateData={"InstanceType": "t3.small"})
    unit = unit_for(launchTemplateVersion="2")
    ctx = make_ctx("failover")
    assert all(f.ok for f in adapter.preflight(ctx, unit))
    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert group(estate, DR)["LaunchTemplate"]["Version"] == "2"
    again, calls = recorded(make_ctx("failover"))
    run(again, unit, [Phase.ACTIVATE])
    assert calls.mutating == []


def test_a_launch_template_version_that_does_not_resolve_fails_preflight_and_drill(estate, make_ctx):
    unit = unit_for(launchTemplateVersion="7")
    bad = [f for f in adapter.preflight(make_ctx("failover"), unit) if not f.ok]
    assert bad and "version 7 does not resolve" in bad[0].message and DR in bad[0].message
    with pytest.raises(AdapterError, match="does not resolve") as err:
        converge(adapter, Phase.ACTIVATE, make_ctx("drill"), unit)
    assert err.value.remediation


def test_instance_types_not_offered_in_a_zone_fail_the_capacity_check(aws, make_ctx):
    # moto's offerings: x2iezn.12xlarge is offered in us-west-2a but not in us-west-2d
    seed_group(aws, PRIMARY, name="web", capacity=PRODUCTION)
    seed_group(aws, DR, name="web", capacity={"min": 0, "max": 0, "desired": 0}, instance_type="x2iezn.12xlarge",
               zones=[f"{DR}a", f"{DR}d"])
    unit = unit_for(parkedProcesses=[])
    bad = [f for f in adapter.preflight(make_ctx("failover"), unit) if not f.ok]
    assert len(bad) == 1 and "no capacity for x2iezn.12xlarge in us-west-2d" in bad[0].message
    with pytest.raises(AdapterError, match="us-west-2d"):
        converge(adapter, Phase.ACTIVATE, make_ctx("drill"), unit)


def test_a_suspended_launch_that_parking_did_not_suspend_is_refused_not_resumed(estate, make_ctx):
    unit = unit_for(parkedProcesses=["AlarmNotification"])
    bad = [f for f in adapter.preflight(make_ctx("failover"), unit) if not f.ok]
    assert bad and "Launch" in bad[0].message and "parkedProcesses" in bad[0].message
    ctx, calls = recorded(make_ctx("failover"))
    for phase in (Phase.INSTANTIATE, Phase.ACTIVATE):
        with pytest.raises(AdapterError, match="Launch: no instance would start") as err:
            converge(adapter, phase, ctx, unit)
        assert "parkedProcesses" in err.value.remediation
    assert calls.mutating == []
    assert shape(estate, DR) == ((0, 0, 0), 0, PARKED)


def test_degraded_while_instances_are_pending_and_cleanup_parks_only_once_drained(estate, make_ctx, monkeypatch):
    ctx = make_ctx("failover")
    unit = unit_for()
    run(ctx, unit, [Phase.INSTANTIATE])
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.5")
    first = adapter.activate(ctx, unit)
    assert [w.waiter for w in first.waits] == ["GroupInService"]
    check = adapter.validate(ctx, unit)[0]
    assert check.status is Health.DEGRADED and "1 InService" in check.reason  # the prewarmed instance

    scaled = adapter.cleanup(ctx, unit)
    assert [w.waiter for w in scaled.waits] == ["GroupDrained"]
    draining, calls = recorded(make_ctx("failover"))
    assert [w.waiter for w in adapter.cleanup(draining, unit).waits] == ["GroupDrained"]
    assert calls.mutating == []  # not suspended while instances are still terminating
    assert {i["LifecycleState"] for i in group(estate, PRIMARY)["Instances"]} == {"Terminating"}
    time.sleep(0.6)
    assert adapter.cleanup(ctx, unit).waits == []
    assert shape(estate, PRIMARY) == ((0, 0, 0), 0, PARKED)
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]


def test_cleanup_refuses_a_group_that_cannot_scale_in(estate, make_ctx):
    estate.client("autoscaling", region_name=PRIMARY).suspend_processes(
        AutoScalingGroupName="web", ScalingProcesses=["Terminate"])
    ctx, calls = recorded(make_ctx("failover"))
    with pytest.raises(AdapterError, match="Terminate suspended") as err:
        converge(adapter, Phase.CLEANUP, ctx, unit_for())
    assert "ResumeProcesses" in err.value.remediation
    assert calls.mutating == []


def test_replicate_fails_when_the_source_launch_template_is_gone(estate, make_ctx):
    ctx = make_ctx("failover")
    run(ctx, unit_for(), [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP])
    estate.client("ec2", region_name=PRIMARY).delete_launch_template(LaunchTemplateName="web-lt")
    with pytest.raises(AdapterError, match="does not resolve") as err:
        converge(adapter, Phase.REPLICATE, ctx, unit_for())
    assert PRIMARY in err.value.remediation


def test_launch_template_version_needs_a_launch_template_group(aws, make_ctx):
    ec2 = aws.client("ec2", region_name=DR)
    lt = ec2.create_launch_template(LaunchTemplateName="mixed-lt",
                                    LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})
    aws.client("autoscaling", region_name=DR).create_auto_scaling_group(
        AutoScalingGroupName="web", MinSize=0, MaxSize=0, DesiredCapacity=0, AvailabilityZones=[f"{DR}a"],
        MixedInstancesPolicy={"LaunchTemplate": {
            "LaunchTemplateSpecification": {"LaunchTemplateId": lt["LaunchTemplate"]["LaunchTemplateId"]},
            "Overrides": [{"InstanceType": "t3.micro"}, {"InstanceType": "t3.small"}]}},
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False} for k, v in SCOPE.items()])
    seed_group(aws, PRIMARY, name="web", capacity=PRODUCTION)
    plain = unit_for(parkedProcesses=[], prewarm=None)
    assert all(f.ok for f in adapter.preflight(make_ctx("failover"), plain))  # overrides' types are offered
    pinned = unit_for(parkedProcesses=[], prewarm=None, launchTemplateVersion="1")
    assert any("mixed instances policy" in f.message for f in adapter.preflight(make_ctx("failover"), pinned))
    with pytest.raises(AdapterError, match="launchTemplateVersion cannot apply"):
        converge(adapter, Phase.ACTIVATE, make_ctx("failover"), pinned)
    run(make_ctx("failover"), plain, [Phase.ACTIVATE])
    assert shape(aws, DR)[0] == (2, 6, 3)
    assert group(aws, DR)["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]  # kept by the update


def test_capacity_config_reads_a_tag_and_refuses_what_aws_refuses():
    assert Capacity.model_validate("min=1 max=3 desired=2") == Capacity(min=1, max=3, desired=2)
    cfg = AutoScalingConfig.model_validate({"autoScalingGroupName": "web", "production": "min=2 max=4 desired=2",
                                            "parkedProcesses": ["Launch", "AZRebalance", "Launch"]})
    assert cfg.production == Capacity(min=2, max=4, desired=2) and cfg.parked_processes == ["AZRebalance", "Launch"]
    for production in ({"min": 3, "max": 2, "desired": 2}, {"min": 0, "max": 2, "desired": 3},
                       {"min": 0, "max": 0, "desired": 0}, "min=1 max"):
        with pytest.raises(ValidationError):
            AutoScalingConfig.model_validate({"autoScalingGroupName": "web", "production": production})
    with pytest.raises(ValidationError):
        AutoScalingConfig.model_validate({"autoScalingGroupName": "web", "production": PRODUCTION,
                                          "parkedProcesses": ["Lunch"]})


def _found(session, region, name="web", tags=None):
    g = group(session, region, name)
    return Tagged(g["AutoScalingGroupARN"], HUB, region, "autoscaling:autoScalingGroup",
                  {**SCOPE, "dr:enabled": "true", **(tags or {})})


def _read(session):
    return DiscoveryRead(lambda service, region: session.client(service, region_name=region), HUB, PRIMARY, DR)


def test_discovery_reads_production_from_whichever_copy_runs_and_parking_from_the_other(estate, make_ctx):
    (before,) = adapter.derive([_found(estate, PRIMARY)], _read(estate))
    assert before.config == {"autoScalingGroupName": "web", "production": PRODUCTION, "parkedProcesses": PARKED}
    assert before.identity == adapter.identity(before.config, HUB) == f"autoscaling/{HUB}/web"
    run(make_ctx("failover"), unit_for(), [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP])
    (after,) = adapter.derive([_found(estate, DR)], _read(estate))  # found through its DR copy
    assert after.config == before.config and after.secondary


def test_discovery_names_a_group_that_runs_nowhere(aws):
    seed_group(aws, PRIMARY, name="idle", capacity={"min": 0, "max": 2, "desired": 0})
    (left_out,) = adapter.derive([_found(aws, PRIMARY, "idle")], _read(aws))
    assert isinstance(left_out, NotDerived) and "dr:production" in left_out.message
    (tagged,) = adapter.derive([_found(aws, PRIMARY, "idle", {"dr:production": "min=1 max=2 desired=1"})], _read(aws))
    assert tagged.config["autoScalingGroupName"] == "idle"  # dr:production then sets the capacity
