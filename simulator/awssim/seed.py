"""Seed a plan's estate in the simulator: every resource a manifest names, through its technology's kit.

``seed_estate(plan)`` creates exactly what a manifest names (both regions, hub and spoke accounts),
serving from the primary region with DR replicas standing by. It runs in the simulator's own process
(in-process moto, or the thread of ``SimulatorServer``), because some kits (DRS source servers,
pinned zone ids) seed moto directly.

The estate is tagged so that tag discovery can rebuild the manifest from it (``resource_tags``):
every resource the kits create carries the scope, the ``dr:`` schema tags and the kit's config
overrides (``Kit.config_tags``). With ``explorer`` (the default) Resource Explorer is on in every
account of the plan, as a discovery-ready estate would have it: the account's AGGREGATOR index in
the primary region, a LOCAL index in DR, and a default view with the ``tags`` property in both.
``explorer=False`` leaves it off, so discovery must fall back to the Resource Groups Tagging API.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3

from awssim.kits import Estate, Kit, Seed, in_aws, kit_for
from awssim.resource_explorer import enable_explorer

ROOT = Path(__file__).resolve().parents[2]
DEMO_MANIFEST = ROOT / "include" / "manifests" / "acme-production.yaml"


def plan_sessions(plan: Any) -> dict[str | None, boto3.Session]:
    """A boto3 session per account of the plan: the hub's, and the spokes' via STS like the product."""
    hub = boto3.Session(region_name=plan.regions.primary)
    sessions: dict[str | None, boto3.Session] = {None: hub}
    for account in plan.accounts:
        creds = hub.client("sts").assume_role(
            RoleArn=account.role_arn, RoleSessionName="awssim-seed", ExternalId=account.external_id
        )["Credentials"]
        sessions[account.account_id] = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name=plan.regions.primary,
        )
    if plan.hub_account_id:
        sessions[plan.hub_account_id] = hub
    return sessions


def plan_estate(plan: Any, sessions: dict[str | None, boto3.Session] | None = None,
                scope: tuple[str, str] | None = None) -> Estate:
    """The kits' view of ``plan``'s estate; ``scope`` (customer, environment) overrides the plan's
    (to seed an estate tagged for someone else)."""
    customer, environment = scope or (plan.scope.customer, plan.scope.environment)
    return Estate(plan.regions.primary, plan.regions.dr, customer, environment, sessions or plan_sessions(plan),
                  plan.hub_account_id)


LIST_SEPARATOR = " "
"""How list values are joined in one tag (``dr:dependencies``, ``dr:subnets``), as the tag schema
(``dr_adapters.sources.tags``) reads them: a space, because RDS, Lambda and ECS refuse commas in tag
values on AWS (allowed: letters, digits, spaces and ``_.:/=+-@``); moto does not check."""


def _tag_value(value: Any) -> str:
    if isinstance(value, dict):  # {min: 1, max: 2} -> "min=1 max=2" (AutoScaling's dr:prewarm)
        return LIST_SEPARATOR.join(f"{k}={_tag_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def resource_tags(scope_tags: dict[str, str], wave: int, resource: Any, kit: Kit) -> dict[str, str]:
    """The tags that say what the manifest says about ``resource``: the scope, ``dr:enabled``,
    ``dr:wave``, ``Name`` (the resource id), ``dr:priority`` and ``dr:dependencies`` when set, and
    the kit's ``config_tags`` for the config keys the resource has (lists joined, numbers as text)."""
    tags = {**scope_tags, "dr:enabled": "true", "dr:wave": str(wave), "Name": resource.resource_id}
    if resource.priority:
        tags["dr:priority"] = resource.priority
    if resource.dependencies:
        tags["dr:dependencies"] = _tag_value(resource.dependencies)
    if resource.health_check_url:
        tags["dr:health-check-url"] = resource.health_check_url
    for key, tag in kit.config_tags.items():
        if resource.config.get(key) is not None:
            tags[tag] = _tag_value(resource.config[key])
    return tags


def seed_explorer(estate: Estate) -> None:
    """Turn Resource Explorer on in every account of the estate: the AGGREGATOR index in the primary
    region (unless the account already has one elsewhere), a LOCAL one in DR, a default view with
    tags in both. Idempotent, so estates that share accounts can be seeded one after the other."""
    for account in estate.accounts():
        session = estate.sessions[account]
        enable_explorer(session, estate.primary, aggregator=True)
        enable_explorer(session, estate.dr)


def seed_estate(plan: Any, *, scope: tuple[str, str] | None = None, explorer: bool = True) -> Estate:
    """Create every resource of ``plan`` in the simulator (tagged for ``scope``, default the plan's);
    ``explorer``: turn Resource Explorer on in its accounts (``seed_explorer``), else leave it off."""
    estate = plan_estate(plan, scope=scope)
    by_kit: dict[Any, list[Seed]] = defaultdict(list)
    for wave in plan.waves:
        for unit in wave.units:
            for resource in filter(in_aws, unit.resources):  # a ManualStep has nothing to seed
                kit = kit_for(resource.action)
                by_kit[kit].append(Seed(resource, resource_tags(estate.scope_tags, wave.number, resource, kit)))
    for kit, items in by_kit.items():
        kit.seed(estate, items)
    if explorer:
        seed_explorer(estate)
    for arn in plan.topic_arns:
        _, _, _, region, account, name = arn.split(":")
        estate.session(account).client("sns", region_name=region).create_topic(Name=name)
    for bucket, region in plan.report_buckets:  # the customer's report buckets, one per region
        s3 = estate.sessions[None].client("s3", region_name=region)
        s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else
                                           {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    return estate


def demo_plan() -> Any:
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    return build_plan(load_manifest(DEMO_MANIFEST), str(DEMO_MANIFEST))


def seed_demo_estate(endpoint_url: str | None = None, *, explorer: bool = True) -> Estate:
    """Seed the demo manifest's estate (against ``endpoint_url`` when the simulator is a server)."""
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    return seed_estate(demo_plan(), explorer=explorer)


def seed_manifests(path: Path, endpoint_url: str | None = None, *, explorer: bool = True) -> list[str]:
    """Seed the estate of every manifest in a folder (or of one manifest file); returns their DAG ids."""
    from dr_adapters.sources.loader import discover_manifests, load_manifest
    from dr_adapters.sources.planner import build_plan

    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    seeded = []
    for manifest in discover_manifests(path) if path.is_dir() else [path]:
        plan = build_plan(load_manifest(manifest), str(manifest))
        seed_estate(plan, explorer=explorer)
        seeded.append(plan.dag_id)
    return seeded
