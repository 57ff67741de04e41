"""Who serves where: a snapshot of an estate's serving roles, read with plain describe calls.

Deliberately independent of the adapters (tests compare snapshots to judge the adapters). Ids of
resources created along the way (recovery instances, versions) are left out; roles are kept:
DNS answers, the writer region of each database, desired counts, alias targets and parking,
and in which region each DRS server replicates.
"""

from __future__ import annotations

from typing import Any

import boto3


def _drs_servers(session: boto3.Session, region: str) -> list[dict[str, Any]]:
    drs = session.client("drs", region_name=region)
    return [s for page in drs.get_paginator("describe_source_servers").paginate(filters={}) for s in page["items"]]


def serving_roles(plan: Any, sessions: dict[str | None, boto3.Session]) -> dict[str, Any]:
    primary, dr = plan.regions.primary, plan.regions.dr
    region_name = {primary: "primary", dr: "dr"}
    roles: dict[str, Any] = {}
    drs_cache: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for r in plan.resources.values():
        s = sessions[r.account_id]
        c = r.config
        if r.action == "R53Record":
            records = s.client("route53").list_resource_record_sets(
                HostedZoneId=c["hostedZoneId"], StartRecordName=c["recordName"],
                StartRecordType=c.get("recordType", "CNAME"), MaxItems="1")["ResourceRecordSets"]
            roles[r.resource_id] = sorted(v["Value"] for v in records[0]["ResourceRecords"])
        elif r.action in ("AuroraMySQL", "AuroraPostgreSQL"):
            gc = s.client("rds", region_name=primary).describe_global_clusters(
                GlobalClusterIdentifier=c["globalClusterIdentifier"])["GlobalClusters"][0]
            writer = next(m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"])
            roles[r.resource_id] = {"writer": region_name[writer.split(":")[3]], "members": len(gc["GlobalClusterMembers"])}
        elif r.action == "EcsService":
            counts = {}
            for region, cluster, service in ((primary, c["cluster"], c["service"]),
                                             (dr, c.get("drCluster") or c["cluster"], c.get("drService") or c["service"])):
                svc = s.client("ecs", region_name=region).describe_services(cluster=cluster, services=[service])["services"]
                counts[region_name[region]] = svc[0]["desiredCount"] if svc else None
            roles[r.resource_id] = counts
        elif r.action == "LambdaFunction":
            state = {}
            for region, name in ((primary, c["functionName"]), (dr, c.get("drFunctionName") or c["functionName"])):
                lam = s.client("lambda", region_name=region)
                alias = lam.get_alias(FunctionName=name, Name=c.get("alias", "live"))
                reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
                state[region_name[region]] = {"alias_has_version": alias["FunctionVersion"] != "$LATEST",
                                              "parked": reserved == 0, "reserved": reserved}
            roles[r.resource_id] = state
        elif r.action == "DRS":
            replicating = []
            for region in (primary, dr):
                servers = drs_cache.setdefault((r.account_id, region), _drs_servers(s, region))
                for server in servers:
                    hints = server.get("sourceProperties", {}).get("identificationHints", {})
                    if hints.get("hostname") == r.resource_id or server["sourceServerID"] == c["sourceServerId"]:
                        if server.get("dataReplicationInfo", {}).get("dataReplicationState") == "CONTINUOUS":
                            replicating.append((region_name[region], server["sourceServerID"] == c["sourceServerId"]))
            roles[r.resource_id] = {"replicating_into": sorted(replicating)}
    return roles


def running_instances(session: boto3.Session, region: str) -> int:
    ec2 = session.client("ec2", region_name=region)
    reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    return sum(len(r["Instances"]) for r in reservations["Reservations"])
