"""DRS adapter: what only DRS has (200 servers per StartRecovery, replication lag and quota, reversed
replication, launch failures, drill instances).

The contract every adapter keeps is proven in test_contract.py on the DRS kit's mini-estate.
"""

from __future__ import annotations

import json

import pytest
from awssim.drs import seed_source_server, set_replication
from awssim.kits.drs import seed_drs_servers
from botocore.exceptions import WaiterError

from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.drs import DrsAdapter, lag_seconds
from dr_adapters.adapters.runner import converge
from dr_adapters.sources.loader import validate_data
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.sources.planner import build_plan
from dr_adapters.preflight import capacity_findings
from dr_adapters.plan.types import ALL_PHASES, Health, Phase
from aws_calls import recorded

HUB, SPOKE = "123456789012", "222222222222"
PRIMARY, DR = "us-east-1", "us-west-2"
TAGS = {"Customer": "acme", "Environment": "production"}
adapter = DrsAdapter()


def unit_for(server_ids, account_id=None, **config):
    specs = tuple(
        ResourceSpec(f"app-{n:03}", "DRS", {"sourceServerId": sid, **config}, account_id=account_id)
        for n, sid in enumerate(server_ids, start=1)
    )
    return WorkUnit("drs-batch1", "DRS", account_id, specs)


def seed(n=3, account_id=HUB, tags=TAGS):
    return seed_drs_servers(account_id, PRIMARY, DR, [f"app-{i:03}" for i in range(1, n + 1)], tags)


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)


def run_twice(make_ctx, operation, unit, phases=ALL_PHASES):
    """Each phase converges, and a second run of the finished phase makes no change at all."""
    for phase in phases:
        converge(adapter, phase, make_ctx(operation), unit, delay=0)
        again = make_ctx(operation)
        converge(adapter, phase, again, unit, delay=0)
        assert again.changes == [], f"second {phase.value} of {operation} changed {again.changes}"


def servers(session, region, ids=None):
    drs = session.client("drs", region_name=region)
    kwargs = {"filters": {"sourceServerIDs": ids}} if ids else {}
    pages = drs.get_paginator("describe_source_servers").paginate(**kwargs)
    return {s["sourceServerID"]: s for p in pages for s in p["items"]}


def recovery_instances(session, region):
    drs = session.client("drs", region_name=region)
    return [ri for p in drs.get_paginator("describe_recovery_instances").paginate() for ri in p["items"]]


def ec2_states(session, region, ids):
    found = session.client("ec2", region_name=region).describe_instances(InstanceIds=list(ids))["Reservations"]
    return {i["InstanceId"]: i["State"]["Name"] for r in found for i in r["Instances"]}


def origin(server):
    return server["sourceProperties"]["identificationHints"]["awsInstanceID"]


def state(server):
    return server["dataReplicationInfo"]["dataReplicationState"]


def test_a_wave_of_250_servers_is_two_units_and_two_start_recovery_calls(aws, make_ctx):
    ids = seed(250)
    manifest = validate_data({
        "manifestId": "acme-production", "customer": "acme", "environment": "production",
        "regions": {"primary": PRIMARY, "dr": DR},
        "layers": [{"layerId": "app-tier", "priority": 1, "resources": [
            {"resourceId": f"app-{n:03}", "action": "DRS", "config": {"sourceServerId": sid}}
            for n, sid in enumerate(ids)]}],
    }, "test")
    units = build_plan(manifest).units
    assert [len(u.resources) for u in units] == [200, 50]

    ctx = make_ctx("failover")
    start_recovery_calls = []
    ctx.aws.register_event(  # params is the serialized request: its JSON body carries the servers
        "before-call.drs.StartRecovery", lambda params, **_: start_recovery_calls.append(json.loads(params["body"])))
    for unit in units:
        converge(adapter, Phase.INSTANTIATE, ctx, unit, delay=0)

    assert [len(c["sourceServers"]) for c in start_recovery_calls] == [200, 50]
    launched = recovery_instances(aws, DR)
    assert len(launched) == 250 and {ri["sourceServerID"] for ri in launched} == set(ids)
    assert set(ec2_states(aws, DR, [ri["ec2InstanceID"] for ri in launched]).values()) == {"running"}
    for unit in units:  # done: converging again launches nothing
        converge(adapter, Phase.INSTANTIATE, ctx, unit, delay=0)
    assert len(start_recovery_calls) == 2


def test_failover_then_failback_round_trip(aws, make_ctx):
    ids = seed(3)
    unit = unit_for(ids)
    sources = {sid: origin(s) for sid, s in servers(aws, DR, ids).items()}
    ctx = make_ctx("failover")
    findings = adapter.preflight(ctx, unit)
    assert [f.ok for f in findings] == [True] * 3 and findings[0].tags == TAGS

    run_twice(make_ctx, "failover", unit)

    # Recovered in DR: one running recovery instance per server; the source instances stopped.
    recovered = {ri["sourceServerID"]: ri["ec2InstanceID"] for ri in recovery_instances(aws, DR) if not ri["isDrill"]}
    assert set(recovered) == set(ids)
    assert set(ec2_states(aws, DR, recovered.values()).values()) == {"running"}
    assert set(ec2_states(aws, PRIMARY, sources.values()).values()) == {"stopped"}
    assert {c.status for c in adapter.validate(make_ctx("failover"), unit)} == {Health.HEALTHY}
    # Replication reversed: servers in primary replicate from the DR instances; originals stopped.
    reversed_servers = servers(aws, PRIMARY)
    assert sorted(origin(s) for s in reversed_servers.values()) == sorted(recovered.values())
    assert {(state(s), s["replicationDirection"]) for s in reversed_servers.values()} == {("CONTINUOUS", "FAILBACK")}
    assert {state(s) for s in servers(aws, DR, ids).values()} == {"STOPPED"}

    failback = make_ctx("failback")
    assert all(f.ok for f in adapter.preflight(failback, unit))
    run_twice(make_ctx, "failback", unit)

    # Back home: the original servers replicate CONTINUOUS into DR from instances running in primary.
    originals = servers(aws, DR, ids)
    assert {(state(s), s["replicationDirection"]) for s in originals.values()} == {("CONTINUOUS", "FAILOVER")}
    assert {s["sourceCloudProperties"]["originRegion"] for s in originals.values()} == {PRIMARY}
    assert set(ec2_states(aws, PRIMARY, [origin(s) for s in originals.values()]).values()) == {"running"}
    assert set(ec2_states(aws, DR, recovered.values()).values()) == {"stopped"}
    assert {state(s) for s in servers(aws, PRIMARY).values()} == {"STOPPED"}
    assert {c.status for c in adapter.validate(make_ctx("failback"), unit)} == {Health.HEALTHY}
    assert all(f.ok for f in adapter.preflight(make_ctx("failover"), unit))  # ready for the next failover

    # A second failover launches fresh instances in DR and reuses the reversed servers in primary.
    run_twice(make_ctx, "failover", unit)
    fresh = {ri["ec2InstanceID"] for ri in recovery_instances(aws, DR)} - set(recovered.values())
    assert len(fresh) == 3 and set(ec2_states(aws, DR, fresh).values()) == {"running"}
    assert sorted(servers(aws, PRIMARY)) == sorted(reversed_servers)


def test_drill_launches_then_terminates_drill_instances_only(aws, make_ctx):
    ids = seed(2)
    unit = unit_for(ids)
    sources = [origin(s) for s in servers(aws, DR, ids).values()]
    ctx, calls = recorded(make_ctx("drill"))

    converge(adapter, Phase.INSTANTIATE, ctx, unit, delay=0)
    again = make_ctx("drill")
    converge(adapter, Phase.INSTANTIATE, again, unit, delay=0)
    assert again.changes == []
    drills = recovery_instances(aws, DR)
    assert len(drills) == 2 and all(ri["isDrill"] for ri in drills)
    assert set(ec2_states(aws, DR, [ri["ec2InstanceID"] for ri in drills]).values()) == {"running"}
    assert {c.status for c in adapter.validate(ctx, unit)} == {Health.HEALTHY}
    before = len(ctx.changes)
    converge(adapter, Phase.ACTIVATE, ctx, unit, delay=0)
    assert len(ctx.changes) == before  # a drill's ACTIVATE is read-only

    run_twice(make_ctx, "drill", unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert recovery_instances(aws, DR) == []
    assert set(ec2_states(aws, DR, [ri["ec2InstanceID"] for ri in drills]).values()) == {"terminated"}
    assert set(ec2_states(aws, PRIMARY, sources).values()) == {"running"}  # production untouched
    assert {state(s) for s in servers(aws, DR, ids).values()} == {"CONTINUOUS"}
    assert servers(aws, PRIMARY) == {}  # nothing reversed
    assert "drs:ReverseReplication" not in calls and "ec2:StopInstances" not in calls


def test_drill_refuses_a_failed_over_estate(aws, make_ctx):
    ids = seed(1)
    unit = unit_for(ids)
    run(make_ctx("failover"), unit, [Phase.INSTANTIATE])
    ctx, calls = recorded(make_ctx("drill"))
    with pytest.raises(AdapterError, match="failed over"):
        converge(adapter, Phase.INSTANTIATE, ctx, unit, delay=0)
    converge(adapter, Phase.CLEANUP, ctx, unit, delay=0)  # never touches the recovery instance
    assert calls.mutating == []
    (ri,) = recovery_instances(aws, DR)
    assert not ri["isDrill"] and ri["ec2InstanceState"] == "RUNNING"


def test_preflight_reports_replication_lag(aws, make_ctx):
    ids = seed(3)
    set_replication(HUB, DR, ids[0], lag_seconds=3600)
    set_replication(HUB, DR, ids[1], state="STALLED")
    findings = adapter.preflight(make_ctx("failover", rpo_minutes=30), unit_for(ids))
    assert [f.ok for f in findings] == [False, False, True]
    assert "lag 3600s exceeds RPO 30 min" in findings[0].message and "STALLED" in findings[1].message


def test_the_300_replicating_servers_limit_is_checked_where_reverse_replication_adds_them(aws, make_ctx):
    """REPLICATE reverses each recovered server into the region left: one more replicating source server there
    each, against DRS's 300 per account and region (a documented limit: the remedy is another staging account)."""
    ids = seed(2)
    for n in range(299):  # 299 servers of other estates already replicate into the primary region
        seed_source_server(HUB, PRIMARY, f"extra-{n}", f"i-{n:017x}", DR, TAGS)
    found = capacity_findings(make_ctx("failover"), [(1, unit_for(ids))], list(Phase))
    (limit,) = [f for f in found if f["quota"]["key"] == "drs/replicating-source-servers"]
    assert not limit["ok"] and limit["level"] == "CRITICAL" and limit["quota"]["region"] == PRIMARY
    assert "301 of 300 (documented limit)" in limit["message"] and "another staging account" in limit["message"]
    # a drill reverses nothing, and neither does a run that does not select REPLICATE
    for operation, phases in (("drill", list(Phase)), ("failover", [Phase.INSTANTIATE, Phase.ACTIVATE])):
        found = capacity_findings(make_ctx(operation), [(1, unit_for(ids))], phases)
        assert found and all(f["quota"]["key"] != limit["quota"]["key"] for f in found)


def test_failback_needs_reversed_replication(aws, make_ctx):
    unit = unit_for(seed(1))
    ctx, calls = recorded(make_ctx("failback"))
    (finding,) = adapter.preflight(ctx, unit)
    assert not finding.ok and "never reversed" in finding.message
    with pytest.raises(AdapterError, match="never reversed") as caught:
        converge(adapter, Phase.INSTANTIATE, ctx, unit, delay=0)
    assert "REPLICATE" in caught.value.remediation
    assert calls.mutating == []


def test_emergency_activate_launches_and_starts_stopped_instances(aws, make_ctx):
    ids = seed(2)
    drs = aws.client("drs", region_name=DR)
    for sid in ids:  # prewarmed instances come up stopped
        drs.update_launch_configuration(sourceServerID=sid, launchDisposition="STOPPED")
    unit = unit_for(ids)
    ctx, calls = recorded(make_ctx("failover"))
    converge(adapter, Phase.ACTIVATE, ctx, unit, delay=0)  # INSTANTIATE skipped
    assert calls.count("drs:StartRecovery") == 1 and calls.count("ec2:StartInstances") == 1
    launched = [ri["ec2InstanceID"] for ri in recovery_instances(aws, DR)]
    assert len(launched) == 2 and set(ec2_states(aws, DR, launched).values()) == {"running"}


def test_validate_reports_degraded_and_unhealthy(aws, make_ctx):
    ids = seed(3)
    unit = unit_for(ids)
    ctx = make_ctx("failover")
    converge(adapter, Phase.INSTANTIATE, ctx, unit_for(ids[:2]), delay=0)
    by_server = {ri["sourceServerID"]: ri["ec2InstanceID"] for ri in recovery_instances(aws, DR)}
    aws.client("ec2", region_name=DR).stop_instances(InstanceIds=[by_server[ids[1]]])
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY, Health.DEGRADED, Health.UNHEALTHY]


def test_failed_launch_fails_the_phase(aws, make_ctx):
    ids = seed(1)
    set_replication(HUB, DR, ids[0], launch_fails=True)
    with pytest.raises(WaiterError, match="failure state"):
        converge(adapter, Phase.INSTANTIATE, make_ctx("failover"), unit_for(ids), delay=0)


def test_a_launch_template_that_is_gone_fails_preflight_by_name(aws, make_ctx):
    """StartRecovery launches from each server's EC2 launch template: without it (or what it names) the
    launch job fails mid-failover, so preflight names it first; the other servers pass."""
    ids = seed(3)
    drs, ec2 = aws.client("drs", region_name=DR), aws.client("ec2", region_name=DR)
    gone = drs.get_launch_configuration(sourceServerID=ids[0])["ec2LaunchTemplateID"]
    ec2.delete_launch_template(LaunchTemplateId=gone)
    group = ec2.create_security_group(GroupName="recovery", Description="recovery")["GroupId"]
    template = drs.get_launch_configuration(sourceServerID=ids[1])["ec2LaunchTemplateID"]
    version = ec2.create_launch_template_version(LaunchTemplateId=template, LaunchTemplateData={
        "SecurityGroupIds": [group]})["LaunchTemplateVersion"]["VersionNumber"]
    ec2.modify_launch_template(LaunchTemplateId=template, DefaultVersion=str(version))
    ec2.delete_security_group(GroupId=group)
    ctx, unit = make_ctx("failover"), unit_for(ids)

    failed = {f.resource_id: f.message for f in adapter.preflight(ctx, unit) if not f.ok}
    assert set(failed) == {"app-001", "app-002"}, failed
    assert f"launch template {gone} does not exist in {DR}" in failed["app-001"]
    assert f"security group {group}" in failed["app-002"] and template in failed["app-002"]
    assert all(" -- " in m for m in failed.values())  # and what to do

    with pytest.raises(WaiterError, match="failure state"):  # what the failover would meet without preflight
        converge(adapter, Phase.INSTANTIATE, ctx, unit, delay=0)


def test_cleanup_refuses_to_stop_a_source_without_recovery(aws, make_ctx):
    ids = seed(1)
    ctx, calls = recorded(make_ctx("failover"))
    with pytest.raises(AdapterError, match="no recovery instance"):
        converge(adapter, Phase.CLEANUP, ctx, unit_for(ids), delay=0)
    assert calls.mutating == []
    assert set(ec2_states(aws, PRIMARY, [origin(s) for s in servers(aws, DR, ids).values()]).values()) == {"running"}


def test_terminate_action_and_none(aws, make_ctx):
    (kill, keep) = seed(2)
    sources = {sid: origin(s) for sid, s in servers(aws, DR, [kill, keep]).items()}
    units = [unit_for([kill], sourceInstanceAction="terminate"), unit_for([keep], sourceInstanceAction="none")]
    for unit in units:
        run_twice(make_ctx, "failover", unit, [Phase.INSTANTIATE, Phase.CLEANUP])
    assert ec2_states(aws, PRIMARY, sources.values()) == {sources[kill]: "terminated", sources[keep]: "running"}


def test_lag_durations():
    assert lag_seconds("PT5S") == 5 and lag_seconds("PT1H2M3S") == 3723 and lag_seconds("P1DT1H") == 90000
    assert lag_seconds("PT0.5S") == 0.5 and lag_seconds(None) is None and lag_seconds("bogus") is None


def test_replicate_waits_until_the_reversed_servers_replicate(aws, make_ctx, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.5")  # jobs and initial syncs take half a second
    ids = seed(2)
    unit = unit_for(ids)
    for phase in (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP):
        converge(adapter, phase, make_ctx("failover"), unit, delay=0.1)

    ctx = make_ctx("failover")
    first = adapter.replicate(ctx, unit)
    assert [(w.waiter, w.region) for w in first.waits] == [("ReplicationContinuous", PRIMARY)]
    assert {state(s) for s in servers(aws, PRIMARY).values()} == {"INITIAL_SYNC"}
    again = make_ctx("failover")
    assert adapter.replicate(again, unit).waits and again.changes == []  # still syncing: wait, call nothing
    converge(adapter, Phase.REPLICATE, ctx, unit, delay=0.1)
    assert {state(s) for s in servers(aws, PRIMARY).values()} == {"CONTINUOUS"}
    assert len([c for c in ctx.changes if c["operation"] == "reverse_replication"]) == 2
