"""Seed DRS-protected servers: source EC2 instances in the primary region, replicating into DR.

Seeding goes through moto's backends directly (the replication agent has no API), so it must
run in the process that holds the simulator's state: the test process with ``mock_aws``, or the
simulator server's process before it serves.
"""

from __future__ import annotations

from moto.ec2.models import ec2_backends

from awssim.drs import seed_source_server

SOURCE_AMI = "ami-12c6146b"  # moto accepts any AMI id unless MOTO_ENABLE_AMI_VALIDATION is set


def seed_drs_servers(
    account_id: str,
    primary: str,
    dr: str,
    hostnames: list[str],
    tags: dict[str, str],
    *,
    instance_type: str = "t3.medium",
    lag_seconds: int = 5,
    server_ids: list[str] | None = None,
) -> list[str]:
    """Launch one running EC2 instance per hostname in ``primary`` and its DRS source server in
    ``dr``; both carry ``tags`` (plus ``Name``). ``server_ids`` fixes the source server IDs (as a
    manifest names them); otherwise they are random. Returns the source server IDs, in order."""
    if server_ids is not None and len(server_ids) != len(hostnames):
        raise ValueError("server_ids must name one ID per hostname")
    ec2 = ec2_backends[account_id][primary]
    created = []
    for n, hostname in enumerate(hostnames):
        reservation = ec2.run_instances(
            SOURCE_AMI, 1, None, [],
            instance_type=instance_type, is_instance_type_default=False, region_name=primary,
            tags={"instance": {**tags, "Name": hostname}},
        )
        instance_id = reservation.instances[0].id
        created.append(
            seed_source_server(
                account_id, dr, hostname, instance_id, primary, tags,
                lag_seconds=lag_seconds, instance_type=instance_type,
                server_id=server_ids[n] if server_ids else None,
            )
        )
    return created
