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
* Auto Scaling groups whose instances are Pending, then InService (and Terminating, then gone), that
  honour suspended Launch / Terminate processes, refuse capacities outside [min, max], unknown groups,
  processes and launch template versions, and that Resource Explorer finds
  (``autoscaling:autoScalingGroup``) while the Tagging API does not, as on AWS (``awssim.autoscaling``);
* EventBridge global endpoints (``CreateEndpoint`` ... ``DeleteEndpoint``, answered from the home region and,
  with ``HomeRegion``, from the secondary), rules listed for tag discovery (``events:rule``) and tagged by
  exact ARN, and managed rules refused (``awssim.eventbridge``);
* EFS replication (``CreateReplicationConfiguration``, ``DescribeReplicationConfigurations``,
  ``DeleteReplicationConfiguration`` with its deletion modes) and replication overwrite protection
  (``UpdateFileSystemProtection``, ``FileSystemProtection`` in DescribeFileSystems), transitions taking time,
  each configuration held by both regions it spans and refused as on AWS; file systems are taggable and
  discoverable (``elasticfilesystem:file-system``) as moto has them (``awssim.efs_replication``);
* FSx file systems and backups with lifecycles that take time, ``CopyBackup`` across regions,
  ``CreateFileSystemFromBackup``, idempotency tokens, final backups on delete and what AWS refuses of them,
  listed for tag discovery (``fsx:file-system``, ``fsx:backup``) (``awssim.fsx_backups``);
* ECS services refused where AWS refuses them: created or scaled in a deleted (``INACTIVE``) cluster, of an
  ``INACTIVE`` task definition, ``awsvpc`` without a network configuration; a cluster deleted while it
  still runs services; Fargate tasks that run (moto's failed), with their CPU, listed by launch type
  (``awssim.ecs_clusters``);
* SSM Automation executions (``StartAutomationExecution``, ``GetAutomationExecution``,
  ``DescribeAutomationExecutions``, ``StopAutomationExecution``) of moto's documents, Pending, then InProgress,
  then Success or Failed at a step as the document's ``awssim:outcome`` tag says (``awssim.ssm_automation``);
* Lambda ``Invoke`` without Docker: a simulated handler (echo, or fail with a message) chosen by the
  function's ``AWSSIM_HANDLER`` variable, each invocation logged to the function's CloudWatch Logs group
  (``awssim.lambda_invoke``);
* Service Quotas for what a DR run consumes (EC2 On-Demand vCPU families, RDS DB instances, Lambda concurrent
  executions, Fargate vCPUs): ``GetServiceQuota`` (the value applied to the account, set by a test) and
  ``GetAWSDefaultServiceQuota``, ``RunInstances`` refused past the vCPU quota (``VcpuLimitExceeded``), Lambda
  reservations past the concurrency quota, and Lambda ``GetAccountSettings`` (``awssim.service_quotas``);
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
    from awssim import (autoscaling, drs, ecs_clusters, efs_replication, elasticache_global, eventbridge, fsx_backups,
                        lambda_invoke, memorydb, opensearch, outage, rds_global, rds_replicas, resource_explorer,
                        route53_dns, service_quotas, ssm_automation)

    drs.register()
    resource_explorer.register()
    rds_global.register()
    rds_replicas.register()  # after rds_global: chains its settle
    memorydb.register()
    elasticache_global.register()
    opensearch.register()
    route53_dns.register()
    autoscaling.register()
    eventbridge.register()
    efs_replication.register()
    fsx_backups.register()
    ecs_clusters.register()
    ssm_automation.register()
    lambda_invoke.register()
    service_quotas.register()
    outage.install_in_process()
    _installed = True
