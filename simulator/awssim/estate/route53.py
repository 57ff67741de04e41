"""Seed a tagged public hosted zone with one record pointing at the primary region."""

from __future__ import annotations

import uuid

import boto3


def seed_route53_record(
    session: boto3.Session,
    zone_name: str,
    record_name: str,
    values: list[str],
    tags: dict[str, str],
    *,
    record_type: str = "CNAME",
    ttl: int = 60,
    endpoint_url: str | None = None,
) -> str:
    """Create the zone (tagged Customer/Environment) and the record; returns the bare zone id."""
    r53 = session.client("route53", region_name="us-east-1", endpoint_url=endpoint_url)
    zone_id = r53.create_hosted_zone(Name=zone_name, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    zone_id = zone_id.split("/")[-1]
    r53.change_tags_for_resource(
        ResourceType="hostedzone",
        ResourceId=zone_id,
        AddTags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": record_name,
                        "Type": record_type,
                        "TTL": ttl,
                        "ResourceRecords": [{"Value": v} for v in values],
                    },
                }
            ]
        },
    )
    return zone_id
