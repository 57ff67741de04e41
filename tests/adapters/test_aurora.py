"""Aurora global-database adapter: what only Aurora has (switchover vs failover, lag vs RPO, detached members).

The contract every adapter keeps (end state, round trip, idempotency, drill, dry run, spoke, scope, faults,
least privilege) is proven in test_contract.py on the Aurora kit's mini-estate.
"""

from __future__ import annotations

import pytest
from awssim.kits.aurora import put_replication_lag, seed_aurora_global

from dr_adapters.adapters.aurora import AuroraAdapter
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase
from aws_calls import recorded

PRIMARY, DR, SPOKE = "us-east-1", "us-west-2", "222222222222"
TAGS = {"Customer": "acme", "Environment": "production"}
adapter = AuroraAdapter()


def unit_for(account_id=None, **config):
    config = {"globalClusterIdentifier": "orders-global", "primaryClusterIdentifier": "orders-use1",
              "drClusterIdentifier": "orders-usw2", **config}
    spec = ResourceSpec("orders-db", "AuroraMySQL", config, account_id=account_id)
    return WorkUnit("aurora-orders", "AuroraMySQL", account_id, (spec,))


def seed(session, **kwargs):
    return seed_aurora_global(session, "orders-global", PRIMARY, "orders-use1", DR, "orders-usw2",
                              kwargs.pop("tags", TAGS), **kwargs)


@pytest.fixture
def estate(aws):
    seed(aws)
    return aws


def writer(session):
    """Which member cluster writes, from AWS's own view of the global database."""
    gc = session.client("rds", region_name=DR).describe_global_clusters(GlobalClusterIdentifier="orders-global")
    (member,) = [m for m in gc["GlobalClusters"][0]["GlobalClusterMembers"] if m["IsWriter"]]
    return member["DBClusterArn"].split(":")[-1]


def instances(session, region, cluster_id):
    found = session.client("rds", region_name=region).describe_db_instances(
        Filters=[{"Name": "db-cluster-id", "Values": [cluster_id]}])["DBInstances"]
    return sorted(i["DBInstanceIdentifier"] for i in found)


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)


def test_failover_makes_dr_the_writer(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for()
    findings = adapter.preflight(ctx, unit)
    assert [f.ok for f in findings] == [True] and findings[0].tags == TAGS
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.UNHEALTHY]

    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert writer(estate) == "orders-usw2"
    assert instances(estate, DR, "orders-usw2") == ["orders-usw2-dr-1"]
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]
    assert [c["operation"] for c in ctx.changes] == ["create_db_instance", "switchover_global_cluster"]
    assert ctx.changes[1]["args"]["TargetDbClusterIdentifier"] == f"arn:aws:rds:{DR}:123456789012:cluster:orders-usw2"

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert writer(estate) == "orders-usw2"
    assert set(calls) <= set(adapter.iam_actions), set(calls) - set(adapter.iam_actions)


def test_failover_mode_allows_data_loss(estate, make_ctx):
    ctx = make_ctx("failover")
    run(ctx, unit_for(mode="failover"), [Phase.ACTIVATE])
    assert writer(estate) == "orders-usw2"
    (change,) = ctx.changes
    assert change["operation"] == "failover_global_cluster" and change["args"]["AllowDataLoss"] is True


def test_activate_waits_for_the_switchover_with_our_waiter(estate, make_ctx, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    ctx = make_ctx("failover")
    outcomes = converge(adapter, Phase.ACTIVATE, ctx, unit_for(), delay=0.1)
    assert [w.waiter for w in outcomes[0].waits] == ["GlobalClusterAvailable"]
    assert outcomes[-1].done and writer(estate) == "orders-usw2"
    assert len(ctx.changes) == 1  # re-entering while switching-over made no second call


def test_preflight_after_failover_says_already_failed_over(estate, make_ctx):
    run(make_ctx("failover"), unit_for(), [Phase.ACTIVATE])
    (finding,) = adapter.preflight(make_ctx("failover"), unit_for())
    assert finding.ok and "already failed over" in finding.message


@pytest.mark.parametrize("lag_ms, ok", [(1200, True), (45 * 60_000, False)])
def test_replication_lag_is_checked_against_rpo(aws, make_ctx, lag_ms, ok):
    seed(aws, replication_lag_ms=lag_ms)
    (finding,) = adapter.preflight(make_ctx("failover", rpo_minutes=30), unit_for())
    assert finding.ok is ok and f"{lag_ms} ms" in finding.message
    assert ok or "exceeds RPO" in finding.message


def test_lag_is_the_worst_of_the_latest_minute(aws, make_ctx):
    seed(aws, replication_lag_ms=1200)
    put_replication_lag(aws, DR, "orders-usw2", 45 * 60_000)  # a spike just now counts
    (finding,) = adapter.preflight(make_ctx("failover", rpo_minutes=30), unit_for())
    assert not finding.ok


def test_missing_lag_data_is_a_note(aws, make_ctx):
    seed(aws, replication_lag_ms=None)
    (finding,) = adapter.preflight(make_ctx("failover"), unit_for())
    assert finding.ok and "not checked" in finding.message


def test_missing_clusters_fail_preflight_and_phases(estate, make_ctx):
    ctx = make_ctx("failover")
    (finding,) = adapter.preflight(ctx, unit_for(drClusterIdentifier="nope"))
    assert not finding.ok and "nope not found" in finding.message
    (finding,) = adapter.preflight(ctx, unit_for(globalClusterIdentifier="nope"))
    assert not finding.ok
    with pytest.raises(AdapterError, match="not found"):
        converge(adapter, Phase.ACTIVATE, ctx, unit_for(drClusterIdentifier="nope"))


def test_replicate_names_the_fix_when_old_writer_was_detached(estate, make_ctx):
    ctx = make_ctx("failover")
    run(ctx, unit_for(mode="failover"), [Phase.ACTIVATE])
    old_writer = f"arn:aws:rds:{PRIMARY}:123456789012:cluster:orders-use1"
    estate.client("rds", region_name=PRIMARY).remove_from_global_cluster(
        GlobalClusterIdentifier="orders-global", DbClusterIdentifier=old_writer)
    with pytest.raises(AdapterError, match="no longer a member") as err:
        converge(adapter, Phase.REPLICATE, ctx, unit_for(mode="failover"))
    assert "--global-cluster-identifier orders-global" in err.value.remediation


def test_replicate_before_activate_is_an_error(estate, make_ctx):
    with pytest.raises(AdapterError, match="not the writer"):
        converge(adapter, Phase.REPLICATE, make_ctx("failover"), unit_for())


@pytest.mark.parametrize("mode, ok", [("failover", True), ("switchover", False)])
def test_unreachable_source_region_only_blocks_a_switchover(estate, make_ctx, mode, ok):
    from botocore.exceptions import EndpointConnectionError

    class Down:
        def describe_db_clusters(self, **_):
            raise EndpointConnectionError(endpoint_url=f"https://rds.{PRIMARY}.amazonaws.com/")

    ctx = make_ctx("failover")
    real = ctx.client
    ctx.client = lambda service, region, account_id=None: Down() if region == PRIMARY else real(
        service, region, account_id)
    (finding,) = adapter.preflight(ctx, unit_for(mode=mode))
    assert finding.ok is ok and f"{PRIMARY} unreachable" in finding.message
