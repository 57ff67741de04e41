"""Lambda adapter: what only Lambda has (publishing versions, the alias, parking by reserved concurrency).

The contract every adapter keeps is proven in test_contract.py on the Lambda kit's mini-estate.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from awssim.kits.lambda_function import seed_function

from dr_adapters.adapters.base import AdapterError
from dr_adapters.adapters.lambda_function import LambdaFunctionAdapter
from dr_adapters.adapters.runner import converge
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import ALL_PHASES, Health, Phase
from aws_calls import recorded

PRIMARY, DR, SPOKE = "us-east-1", "us-west-2", "222222222222"
adapter = LambdaFunctionAdapter()


def unit_for(account_id=None, **config):
    config = {"functionName": "orders-api", "drFunctionName": "orders-api-dr", "alias": "live", **config}
    spec = ResourceSpec("orders-fn", "LambdaFunction", config, account_id=account_id)
    return WorkUnit("lambda-orders", "LambdaFunction", account_id, (spec,))


def seed_estate(session, **kwargs):
    seed_function(session, PRIMARY, name="orders-api", **kwargs)
    seed_function(session, DR, name="orders-api-dr", parked=True, **kwargs)


@pytest.fixture
def estate(aws):
    seed_estate(aws)
    return aws


def state(session, region, name, alias="live"):
    """(alias version, reserved concurrency or None): who serves, and whether it is parked."""
    lam = session.client("lambda", region_name=region)
    conc = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
    return lam.get_alias(FunctionName=name, Name=alias)["FunctionVersion"], conc


def run(ctx, unit, phases=ALL_PHASES):
    for phase in phases:
        converge(adapter, phase, ctx, unit, delay=0)


def new_code(session, region, name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 201}\n")
    session.client("lambda", region_name=region).update_function_code(FunctionName=name, ZipFile=buf.getvalue())


def test_failover_serves_from_dr_and_parks_primary(estate, make_ctx):
    ctx, calls = recorded(make_ctx("failover"))
    unit = unit_for(reservedConcurrency=50)
    assert all(f.ok for f in adapter.preflight(ctx, unit))

    run(ctx, unit, [Phase.INSTANTIATE, Phase.ACTIVATE])
    assert state(estate, DR, "orders-api-dr") == ("1", 50)
    assert state(estate, PRIMARY, "orders-api") == ("1", None)  # still serving until cleanup
    assert [c.status for c in adapter.validate(ctx, unit)] == [Health.HEALTHY]

    run(ctx, unit, [Phase.CLEANUP, Phase.REPLICATE])
    assert state(estate, PRIMARY, "orders-api") == ("1", 0)
    assert state(estate, DR, "orders-api-dr") == ("1", 50)
    assert set(calls) - {"sts:AssumeRole"} <= set(adapter.iam_actions)


def unpublished_dr(session):
    """The primary serves; DR got a deployment that was never published (its alias serves $LATEST)."""
    seed_function(session, PRIMARY, name="orders-api")
    seed_function(session, DR, name="orders-api-dr", parked=True)
    new_code(session, DR, "orders-api-dr")
    lam = session.client("lambda", region_name=DR)
    lam.update_alias(FunctionName="orders-api-dr", Name="live", FunctionVersion="$LATEST")
    lam.delete_function(FunctionName="orders-api-dr", Qualifier="1")  # no published version left
    return lam


def test_instantiate_publishes_a_version_and_activate_points_alias_at_it(aws, make_ctx):
    lam = unpublished_dr(aws)
    ctx = make_ctx("failover")
    unit = unit_for()

    converge(adapter, Phase.INSTANTIATE, ctx, unit)
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName="orders-api-dr")["Versions"]]
    assert versions[-1] != "$LATEST" and len(versions) == 2
    assert state(aws, DR, "orders-api-dr")[1] == 0  # still parked: INSTANTIATE serves nothing

    converge(adapter, Phase.ACTIVATE, ctx, unit)
    assert state(aws, DR, "orders-api-dr") == (versions[-1], None)


def test_dry_run_of_a_failover_that_would_publish(aws, make_ctx):
    lam = unpublished_dr(aws)
    ctx, calls = recorded(make_ctx("failover", dry_run=True))
    run(ctx, unit_for())
    assert calls.mutating == []
    assert [(c["operation"], c["region"]) for c in ctx.changes] == [
        ("publish_version", DR),
        ("delete_function_concurrency", DR),
        ("put_function_concurrency", PRIMARY),
    ]
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="orders-api-dr")["Versions"]] == ["$LATEST"]
    assert state(aws, DR, "orders-api-dr") == ("$LATEST", 0)


def test_configured_version_is_served(estate, make_ctx):
    new_code(estate, DR, "orders-api-dr")
    estate.client("lambda", region_name=DR).publish_version(FunctionName="orders-api-dr")  # version 2
    ctx = make_ctx("failover")
    run(ctx, unit_for(version="1"), [Phase.ACTIVATE])
    assert state(estate, DR, "orders-api-dr") == ("1", None)
    run(ctx, unit_for(), [Phase.ACTIVATE])  # no version configured: the newest published one
    assert state(estate, DR, "orders-api-dr") == ("2", None)
    with pytest.raises(AdapterError, match="no version 7"):
        converge(adapter, Phase.ACTIVATE, ctx, unit_for(version="7"))


def test_replicate_publishes_source_latest_for_failback(estate, make_ctx):
    ctx = make_ctx("failover")
    run(ctx, unit_for(), [Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP])
    new_code(estate, PRIMARY, "orders-api")  # the primary got a fix while DR served
    converge(adapter, Phase.REPLICATE, ctx, unit_for())
    lam = estate.client("lambda", region_name=PRIMARY)
    versions = lam.list_versions_by_function(FunctionName="orders-api")["Versions"]
    latest = lam.get_function(FunctionName="orders-api")["Configuration"]["CodeSha256"]
    assert [v["Version"] for v in versions if v["CodeSha256"] == latest and v["Version"] != "$LATEST"] == ["2"]
    assert state(estate, PRIMARY, "orders-api") == ("1", 0)  # still parked, alias untouched


def test_drill_fails_when_dr_alias_is_missing(estate, make_ctx):
    estate.client("lambda", region_name=DR).delete_alias(FunctionName="orders-api-dr", Name="live")
    ctx = make_ctx("drill")
    assert not all(f.ok for f in adapter.preflight(ctx, unit_for()))
    with pytest.raises(AdapterError, match="no alias 'live'"):
        converge(adapter, Phase.ACTIVATE, ctx, unit_for())
    assert [c.status for c in adapter.validate(ctx, unit_for())] == [Health.UNHEALTHY]


def test_missing_source_is_only_a_warning_when_target_exists(aws, make_ctx):
    seed_function(aws, DR, name="orders-api-dr", parked=True)
    findings = adapter.preflight(make_ctx("failover"), unit_for())
    assert all(f.ok for f in findings)
    assert any("warning" in f.message and PRIMARY in f.message for f in findings)


def test_validate_unhealthy_while_parked(estate, make_ctx):
    ctx = make_ctx("failover")
    [check] = adapter.validate(ctx, unit_for())
    assert check.status is Health.UNHEALTHY and "parked" in check.reason
