"""The local AWS simulator: moto plus our extension for what moto 5.2 lacks.

``install()`` registers the extension with moto, so it serves both moto modes:
in-process (``moto.mock_aws``) and server mode (``python -m awssim serve``). It adds

* DRS (``drs``) - a whole service backend (``awssim.drs``), registered as moto registers its own,
  whose source servers the Resource Groups Tagging API lists (``drs:source-server``);
* Resource Explorer (``resource-explorer-2``) - a whole service backend (``awssim.resource_explorer``):
  indexes, views and Search over moto's taggable resources, for tag discovery;
* ElastiCache global datastores (``CreateGlobalReplicationGroup``, ``FailoverGlobalReplicationGroup``,
  ``DisassociateGlobalReplicationGroup`` ...) and ``IncreaseReplicaCount`` on moto's ElastiCache backend,
  taggable and discoverable (``elasticache:globalreplicationgroup``) (``awssim.elasticache_global``);
* OpenSearch cross-cluster connections (create, accept, reject, describe, delete), domain configuration
  changes that keep a domain ``Processing`` a while, and taggable domains (``es:domain``)
  (``awssim.opensearch``);
* RDS ``SwitchoverGlobalCluster`` / ``FailoverGlobalCluster`` on moto's RDS backend, and taggable,
  discoverable global clusters (``rds:global-cluster``) (``awssim.rds_global``);
* MemoryDB Multi-Region clusters, cluster changes that take time, and taggable, discoverable MemoryDB
  clusters (``memorydb:cluster``) on moto's MemoryDB (``awssim.memorydb``);
* Route 53's data plane: ``TestDNSAnswer`` computed from record sets, failover pairs, weights, alias
  targets and health checks' state, health-check status, changes PENDING then INSYNC, and the record
  sets AWS refuses (``awssim.route53_dns``);
* RDS DB-instance read replicas across regions: creation from a source ARN, promotion, Oracle
  ``SwitchoverReadReplica``, stop and delete taking time and refused as on AWS (``awssim.rds_replicas``);
* ECS services refused where AWS refuses them: created or scaled in a deleted (``INACTIVE``) cluster, of an
  ``INACTIVE`` task definition, ``awsvpc`` without a network configuration; a cluster deleted while it
  still runs services (``awssim.ecs_clusters``);
* regional outages: a dark region's requests fail like a dead endpoint's (``awssim.outage``).

State is kept per account and region, like moto's own backends, and replies follow botocore's
service models so an adapter written against the simulator works against AWS.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Register the extension with moto (idempotent)."""
    global _installed
    if _installed:
        return
    from awssim import (drs, ecs_clusters, elasticache_global, memorydb, opensearch, outage, rds_global,
                        rds_replicas, resource_explorer, route53_dns)

    drs.register()
    resource_explorer.register()
    rds_global.register()
    rds_replicas.register()  # after rds_global: chains its settle
    memorydb.register()
    elasticache_global.register()
    opensearch.register()
    route53_dns.register()
    ecs_clusters.register()
    outage.install_in_process()
    _installed = True
