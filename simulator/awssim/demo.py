"""The demo estate, seeded from the demo manifest, and ``make demo``: a full failover through Airflow.

``seed_estate(plan)`` creates in the simulator exactly what a manifest names (both regions, hub and
spoke accounts, every resource tagged Customer/Environment/dr:*), serving from the primary region
with DR replicas standing by. It runs in the simulator's own process (in-process moto, or the
thread of ``SimulatorServer``), because DRS source servers and pinned ids are seeded directly.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]
DEMO_MANIFEST = ROOT / "include" / "manifests" / "acme-production.yaml"


def _sessions(plan: Any) -> dict[str | None, boto3.Session]:
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


def seed_estate(plan: Any) -> dict[str, Any]:
    """Create every resource of ``plan`` in the simulator; returns ids worth knowing."""
    from awssim.estate.aurora import seed_aurora_global
    from awssim.estate.drs import seed_drs_servers
    from awssim.estate.ecs import seed_service
    from awssim.estate.lambda_function import seed_function

    sessions = _sessions(plan)
    hub_account = sessions[None].client("sts").get_caller_identity()["Account"]
    primary, dr = plan.regions.primary, plan.regions.dr
    base_tags = {"Customer": plan.scope.customer, "Environment": plan.scope.environment, "dr:enabled": "true"}
    seeded: dict[str, Any] = {"drs": {}, "zones": {}}
    drs_by_account: dict[str, list[Any]] = {}
    zones: dict[tuple[str | None, str], list[Any]] = {}

    for wave in plan.waves:
        tags = {**base_tags, "dr:wave": str(wave.number)}
        for unit in wave.units:
            session = sessions[unit.account_id]
            for r in unit.resources:
                c = r.config
                if r.action in ("AuroraMySQL", "AuroraPostgreSQL"):
                    seed_aurora_global(
                        session, c["globalClusterIdentifier"], primary, c["primaryClusterIdentifier"], dr,
                        c["drClusterIdentifier"], tags, dr_instances=0,
                        engine="aurora-mysql" if r.action == "AuroraMySQL" else "aurora-postgresql",
                    )
                elif r.action == "DRS":
                    drs_by_account.setdefault(unit.account_id or hub_account, []).append((r, tags))
                elif r.action == "EcsService":
                    seed_service(session, primary, cluster=c["cluster"], service=c["service"],
                                 desired_count=c["desiredCount"], customer=plan.scope.customer,
                                 environment=plan.scope.environment)
                    seed_service(session, dr, cluster=c.get("drCluster") or c["cluster"],
                                 service=c.get("drService") or c["service"], desired_count=0,
                                 customer=plan.scope.customer, environment=plan.scope.environment)
                elif r.action == "LambdaFunction":
                    seed_function(session, primary, name=c["functionName"], alias=c.get("alias", "live"),
                                  customer=plan.scope.customer, environment=plan.scope.environment)
                    if c.get("reservedConcurrency"):  # production as the manifest describes it
                        session.client("lambda", region_name=primary).put_function_concurrency(
                            FunctionName=c["functionName"], ReservedConcurrentExecutions=c["reservedConcurrency"])
                    seed_function(session, dr, name=c.get("drFunctionName") or c["functionName"],
                                  alias=c.get("alias", "live"), parked=True,
                                  customer=plan.scope.customer, environment=plan.scope.environment)
                elif r.action == "R53Record":
                    zones.setdefault((unit.account_id, c["hostedZoneId"]), []).append((r, tags))
                else:
                    raise ValueError(f"the demo estate cannot seed action {r.action!r}")

    for account_id, items in drs_by_account.items():
        seeded["drs"][account_id] = seed_drs_servers(
            account_id, primary, dr, [r.resource_id for r, _ in items], items[0][1],
            server_ids=[r.config["sourceServerId"] for r, _ in items],
        )
    for (account_id, zone_id), records in zones.items():
        seeded["zones"][zone_id] = _seed_zone(sessions[account_id], account_id or hub_account, zone_id, records)
    if plan.sns_topic_arn:
        _, _, _, region, account, name = plan.sns_topic_arn.split(":")
        sessions[account if account != hub_account else None].client("sns", region_name=region).create_topic(Name=name)
    return seeded


def _seed_zone(session: boto3.Session, account_id: str, zone_id: str, records: list[Any]) -> str:
    """A hosted zone with the manifest's id (moto's custom-id hook) holding the records, on primary."""
    from moto.route53.models import HostedZoneIdentifier
    from moto.utilities.id_generator import moto_id_manager

    first = records[0][0].config["recordName"].rstrip(".")
    zone_name = first.split(".", 1)[1] + "."
    moto_id_manager.set_custom_id(HostedZoneIdentifier(account_id, zone_name, None), zone_id)
    r53 = session.client("route53")
    created = r53.create_hosted_zone(Name=zone_name, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    assert created.endswith(zone_id), f"simulator gave zone {created}, manifest wants {zone_id}"
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id,
                                 AddTags=[{"Key": k, "Value": v} for k, v in records[0][1].items()])
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": r.config["recordName"], "Type": r.config.get("recordType", "CNAME"), "TTL": r.config.get("ttl", 60),
            "ResourceRecords": [{"Value": v} for v in r.config["primaryValues"]]}}
        for r, _ in records
    ]})
    return zone_id


def demo_plan() -> Any:
    from dr_adapters.plan.loader import load_manifest
    from dr_adapters.plan.planner import build_plan

    return build_plan(load_manifest(DEMO_MANIFEST), str(DEMO_MANIFEST))


def seed_demo_estate(endpoint_url: str | None = None) -> dict[str, Any]:
    """Seed the demo manifest's estate (against ``endpoint_url`` when the simulator is a server)."""
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    return seed_estate(demo_plan())


def seed_manifests(path: Path, endpoint_url: str | None = None) -> list[str]:
    """Seed the estate of every manifest in a folder (or of one manifest file); returns their DAG ids."""
    from dr_adapters.plan.loader import discover_manifests, load_manifest
    from dr_adapters.plan.planner import build_plan

    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    seeded = []
    for manifest in discover_manifests(path) if path.is_dir() else [path]:
        plan = build_plan(load_manifest(manifest), str(manifest))
        seed_estate(plan)
        seeded.append(plan.dag_id)
    return seeded


def _print_roles(title: str, roles: dict[str, Any]) -> None:
    print(f"\n{title}")
    for resource_id, role in roles.items():
        print(f"  {resource_id:<18} {role}")


def main() -> int:
    """``make demo``: start the simulator, seed the demo estate, fail it over through Airflow, show the report."""
    import json
    import logging
    import subprocess
    import sys

    from awssim.server import SimulatorServer
    from awssim.snapshot import serving_roles

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWSSIM_DELAY_SECONDS", "1")
    os.environ.setdefault("DR_RETRY_DELAY_SECONDS", "5")
    os.environ.setdefault("DR_WAIT_POLL_SECONDS", "1")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    server = SimulatorServer().start()
    print(f"AWS simulator (moto + DRS/global-cluster extension) on {server.url}")
    os.environ["AWS_ENDPOINT_URL"] = server.url
    # The hub credentials come from the aws_default connection, pointed at the simulator.
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps({
        "conn_type": "aws", "login": "demo", "password": "demo",
        "extra": {"region_name": "us-east-1", "endpoint_url": server.url},
    })
    try:
        plan = demo_plan()
        seed_estate(plan)
        sessions = _sessions(plan)
        _print_roles(f"estate before: {len(plan.resources)} resources serving from {plan.regions.primary}",
                     serving_roles(plan, sessions))

        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        from dr_adapters.orchestration.factory import build_dags
        from dr_adapters.orchestration.local_run import run_dag

        logging.getLogger("dr_adapters.orchestration.local_run").setLevel(logging.INFO)
        dag = build_dags()[plan.dag_id]
        conf = {"operation": "failover", "confirm": f"{plan.scope.customer}/{plan.scope.environment}"}
        print(f"\nairflow: running {plan.dag_id} with conf {json.dumps(conf)}; "
              "each approval gate is answered 'Approve' by demo-approver")
        dag_run = run_dag(dag, conf)

        _print_roles(f"estate after: serving from {plan.regions.dr}", serving_roles(plan, sessions))
        from dr_adapters.report.render import report_dir

        reports = sorted((report_dir() / plan.dag_id).glob("*/report.txt"), key=lambda p: p.stat().st_mtime)
        if reports:
            print(f"\nreport ({reports[-1].parent}):\n")
            print(reports[-1].read_text())
        print(f"DAG run {dag_run.run_id}: {dag_run.state}")
        return 0 if str(dag_run.state) in ("success", "DagRunState.SUCCESS") else 1
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
