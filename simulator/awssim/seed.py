"""Seed a plan's estate in the simulator: every resource a manifest names, through its technology's kit.

``seed_estate(plan)`` creates exactly what a manifest names (both regions, hub and spoke accounts,
every resource tagged Customer/Environment/dr:*), serving from the primary region with DR replicas
standing by. It runs in the simulator's own process (in-process moto, or the thread of
``SimulatorServer``), because some kits (DRS source servers, pinned zone ids) seed moto directly.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3

from awssim.kits import Estate, Seed, kit_for

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


def seed_estate(plan: Any, *, scope: tuple[str, str] | None = None) -> Estate:
    """Create every resource of ``plan`` in the simulator (tagged for ``scope``, default the plan's)."""
    estate = plan_estate(plan, scope=scope)
    by_kit: dict[Any, list[Seed]] = defaultdict(list)
    for wave in plan.waves:
        tags = {**estate.scope_tags, "dr:enabled": "true", "dr:wave": str(wave.number)}
        for unit in wave.units:
            for resource in unit.resources:
                by_kit[kit_for(resource.action)].append(Seed(resource, tags))
    for kit, items in by_kit.items():
        kit.seed(estate, items)
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


def seed_demo_estate(endpoint_url: str | None = None) -> Estate:
    """Seed the demo manifest's estate (against ``endpoint_url`` when the simulator is a server)."""
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    return seed_estate(demo_plan())


def seed_manifests(path: Path, endpoint_url: str | None = None) -> list[str]:
    """Seed the estate of every manifest in a folder (or of one manifest file); returns their DAG ids."""
    from dr_adapters.sources.loader import discover_manifests, load_manifest
    from dr_adapters.sources.planner import build_plan

    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    seeded = []
    for manifest in discover_manifests(path) if path.is_dir() else [path]:
        plan = build_plan(load_manifest(manifest), str(manifest))
        seed_estate(plan)
        seeded.append(plan.dag_id)
    return seeded
