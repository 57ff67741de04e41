"""OpenSearch adapter: what only OpenSearch has (shapes that take a blue/green deployment, a follower that
stops following by losing its connection, the connection back created, validated and accepted).

The contract every adapter keeps is proven in test_contract.py on the OpenSearch kit's mini-estate.
"""

from __future__ import annotations

import pytest
from awssim.kits.opensearch import seed_pair

from aws_calls import recorded
from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.discovery import DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.opensearch import OpenSearchAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

PRIMARY, DR, HUB = "us-east-1", "us-west-2", "123456789012"
TAGS = {"Customer": "acme", "Environment": "production"}
CONFIG = {"domainName": "orders-search", "drDomainName": "orders-search-dr", "instanceType": "r6g.large.search",
          "instanceCount": 3, "pilotInstanceType": "m6g.large.search", "connectionAlias": "orders-leader"}
PHASES = [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE]
adapter = OpenSearchAdapter()


def unit_for(**config):
    spec = ResourceSpec("orders-search", "OpenSearchService", {**CONFIG, **config})
    return WorkUnit("search-orders", "OpenSearchService", None, (spec,))


@pytest.fixture
def estate(aws):
    seed_pair(aws, PRIMARY, DR, CONFIG, TAGS)
    return aws


def shape(session, region, name):
    (domain,) = session.client("opensearch", region_name=region).describe_domains(DomainNames=[name])["DomainStatusList"]
    return domain["ClusterConfig"]["InstanceCount"], domain["ClusterConfig"]["InstanceType"], domain["Processing"]


def follows(session, region, name):
    """{remote domain: (alias, status)} of the domain's outbound connections."""
    listed = session.client("opensearch", region_name=region).describe_outbound_connections(
        Filters=[{"Name": "local-domain-info.domain-name", "Values": [name]}])["Connections"]
    return {c["RemoteDomainInfo"]["AWSDomainInformation"]["DomainName"]: (c["ConnectionAlias"],
                                                                          c["ConnectionStatus"]["StatusCode"])
            for c in listed}


def run(ctx, unit, phases, delay=0):
    return [converge(adapter, phase, ctx, unit, delay=delay) for phase in phases]


def test_failover_scales_up_stops_following_scales_down_and_connects_back(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for()
    assert all(f.ok for f in adapter.preflight(ctx, unit))

    run(ctx, unit, [Phase.INSTANTIATE])
    assert shape(estate, DR, "orders-search-dr") == (3, "r6g.large.search", False)
    assert follows(estate, DR, "orders-search-dr") == {"orders-search": ("orders-leader", "ACTIVE")}  # still following

    run(ctx, unit, [Phase.ACTIVATE])
    assert follows(estate, DR, "orders-search-dr") == {"orders-search": ("orders-leader", "DELETED")}
    assert [h.status for h in adapter.validate(ctx, unit)] == [Health.HEALTHY]
    assert shape(estate, PRIMARY, "orders-search")[:2] == (3, "r6g.large.search")  # untouched until CLEANUP

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert shape(estate, PRIMARY, "orders-search") == (1, "m6g.large.search", False)
    assert follows(estate, PRIMARY, "orders-search") == {"orders-search-dr": ("orders-leader", "ACTIVE")}
    # the follower's region opens the connection, the leader's accepts it; the DR domain stops following at home
    assert calls.where("es:CreateOutboundConnection") == [(None, PRIMARY)]
    assert calls.where("es:AcceptInboundConnection") == [(None, DR)]
    assert calls.where("es:DeleteOutboundConnection") == [(None, DR)]
    assert [c for c in calls if c == "es:UpdateDomainConfig"] and set(calls) <= set(adapter.iam_actions)


def test_phases_wait_while_aws_deploys_and_validates(estate, make_ctx, monkeypatch):
    monkeypatch.setenv("AWSSIM_DELAY_SECONDS", "0.3")
    ctx, unit = make_ctx("failover"), unit_for()
    instantiate, activate, cleanup, replicate = run(ctx, unit, PHASES, delay=0.05)
    assert [w.waiter for w in instantiate[0].waits] == ["DomainNotProcessing"]
    assert [w.waiter for w in activate[0].waits] == ["OutboundConnectionDeleted"]
    assert [w.waiter for w in cleanup[0].waits] == ["DomainNotProcessing"]
    # created (VALIDATING) -> validated -> accepted -> ACTIVE
    assert [[w.waiter for w in o.waits] for o in replicate] == [
        ["OutboundConnectionPendingAcceptance"], ["InboundConnectionActive"], []]
    assert follows(estate, PRIMARY, "orders-search") == {"orders-search-dr": ("orders-leader", "ACTIVE")}


def test_cleanup_and_replicate_refuse_while_dr_still_follows_the_serving_domain(estate, make_ctx):
    ctx, unit = make_ctx("failover"), unit_for()
    for phase in (Phase.CLEANUP, Phase.REPLICATE):
        with pytest.raises(AdapterError, match="still follows") as refused:
            adapter.run_phase(phase, ctx, unit)
        assert "complete ACTIVATE" in refused.value.remediation
    assert shape(estate, PRIMARY, "orders-search")[:2] == (3, "r6g.large.search")
    # a dry run says what it would do instead of refusing
    dry = make_ctx("failover", dry_run=True)
    run(dry, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert [c["operation"] for c in dry.changes] == ["update_domain_config", "create_outbound_connection"]


def test_preflight_names_a_follower_without_connection_and_knows_a_finished_failover(estate, make_ctx):
    ctx, unit = make_ctx("failover"), unit_for()
    dr = estate.client("opensearch", region_name=DR)
    (cid,) = [c["ConnectionId"] for c in dr.describe_outbound_connections()["Connections"]]
    dr.delete_outbound_connection(ConnectionId=cid)
    target, source = adapter.preflight(ctx, unit)
    assert not target.ok and "does not follow" in target.message and "DELETED" in target.message
    assert source.ok and target.tags == TAGS

    with pytest.raises(AdapterError, match="drill: .* does not follow"):
        adapter.run_phase(Phase.ACTIVATE, make_ctx("drill"), unit)
    assert [h.status for h in adapter.validate(make_ctx("drill"), unit)] == [Health.UNHEALTHY]


def test_a_failed_over_estate_passes_preflight_and_an_unplanned_one_states_its_exposure(estate, make_ctx):
    unit = unit_for()
    ctx = make_ctx("failover")
    findings = adapter.preflight(ctx, unit)
    assert all(f.ok for f in findings) and findings[0].exposure is None
    ctx.unplanned = True
    target, source = adapter.preflight(ctx, unit)
    assert target.ok and "replication pulled" in target.exposure and "not read" in source.message
    run(make_ctx("failover"), unit, PHASES)
    target, _ = adapter.preflight(make_ctx("failover"), unit)
    assert target.ok and target.message.startswith("already failed over")


def test_activate_on_a_pilot_light_shape_serves_degraded(estate, make_ctx):
    """phases=[ACTIVATE] (emergency failover, no prewarm): the DR domain writes at its pilot-light shape."""
    ctx, unit = make_ctx("failover"), unit_for()
    run(ctx, unit, [Phase.ACTIVATE])
    (check,) = adapter.validate(ctx, unit)
    assert check.status is Health.DEGRADED and "1 x m6g.large.search" in check.reason


def test_replicate_names_what_aws_refused_to_validate(estate, make_ctx):
    ctx, unit = make_ctx("failover"), unit_for()
    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP])
    estate.client("opensearch", region_name=PRIMARY).update_domain_config(
        DomainName="orders-search", AdvancedSecurityOptions={"Enabled": False})
    with pytest.raises(AdapterError, match="VALIDATION_FAILED.*fine-grained access control") as refused:
        run(ctx, unit, [Phase.REPLICATE])
    assert "re-run REPLICATE" in refused.value.remediation
    # what the report says when a wait on it fails (AWS validates after the call returns)
    assert "VALIDATION_FAILED: Domain orders-search must have fine-grained" in adapter.explain_failure(ctx, unit)


def test_failback_returns_the_estate_and_the_alias_is_the_same_both_ways(estate, make_ctx):
    unit = unit_for()
    run(make_ctx("failover"), unit, PHASES)
    run(make_ctx("failback"), unit, PHASES)
    assert shape(estate, PRIMARY, "orders-search") == (3, "r6g.large.search", False)
    assert shape(estate, DR, "orders-search-dr") == (1, "m6g.large.search", False)
    assert follows(estate, DR, "orders-search-dr")["orders-search"] == ("orders-leader", "ACTIVE")
    assert follows(estate, PRIMARY, "orders-search") == {"orders-search-dr": ("orders-leader", "DELETED")}


def _read(session):
    return DiscoveryRead(lambda service, region: session.client(service, region_name=region), HUB, PRIMARY, DR)


def test_discovery_reads_the_pair_whichever_side_leads(estate, make_ctx):
    tagged = [Tagged(f"arn:aws:es:{region}:{HUB}:domain/{name}", HUB, region, "es:domain", TAGS)
              for region, name in ((PRIMARY, "orders-search"), (DR, "orders-search-dr"))]
    (first, second) = adapter.derive(tagged, _read(estate))
    assert first.config == second.config == CONFIG and (first.secondary, second.secondary) == (False, True)
    assert first.identity == second.identity == adapter.identity(CONFIG, HUB)
    run(make_ctx("failover"), unit_for(), PHASES)
    assert [d.config for d in adapter.derive(tagged, _read(estate))] == [CONFIG, CONFIG]  # the leader is production


def test_discovery_says_why_a_lone_domain_is_not_protected(aws):
    aws.client("opensearch", region_name=PRIMARY).create_domain(DomainName="lonely", TagList=[
        {"Key": k, "Value": v} for k, v in TAGS.items()])
    (result,) = adapter.derive([Tagged(f"arn:aws:es:{PRIMARY}:{HUB}:domain/lonely", HUB, PRIMARY, "es:domain", TAGS)],
                               _read(aws))
    assert isinstance(result, NotDerived) and "no cross-cluster connection" in result.message


def test_discovery_with_a_region_dark_reads_connections_from_the_other(estate):
    from awssim import outage

    tagged = [Tagged(f"arn:aws:es:{DR}:{HUB}:domain/orders-search-dr", HUB, DR, "es:domain", TAGS)]
    with outage.outage(PRIMARY):
        (result,) = adapter.derive(tagged, _read(estate))
    # the pair is found from DR's listing; the leader's production shape is in the dark region
    assert isinstance(result, NotDerived) and f"{PRIMARY} does not answer" in result.message


@pytest.mark.parametrize("key, value", [("instanceType", "t3.medium.search"), ("pilotInstanceType", "m3.large.search"),
                                        ("instanceType", "r6g.large"), ("domainName", "Orders")])
def test_config_refuses_what_cross_cluster_replication_cannot_use(key, value):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=key):
        adapter.config_model.model_validate({**CONFIG, key: value})
