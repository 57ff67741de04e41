"""The local AWS simulator: moto plus our extension for what moto 5.2 lacks.

``install()`` registers the extension with moto, so it serves both moto modes:
in-process (``moto.mock_aws``) and server mode (``python -m awssim serve``). It adds

* DRS (``drs``) - a whole service backend (``awssim.drs``), registered as moto registers its own,
  whose source servers the Resource Groups Tagging API lists (``drs:source-server``);
* Resource Explorer (``resource-explorer-2``) - a whole service backend (``awssim.resource_explorer``):
  indexes, views and Search over moto's taggable resources, for tag discovery;
* RDS ``SwitchoverGlobalCluster`` / ``FailoverGlobalCluster`` on moto's RDS backend, and taggable,
  discoverable global clusters (``rds:global-cluster``) (``awssim.rds_global``);
* RDS DB-instance read replicas across regions: creation from a source ARN, promotion, Oracle
  ``SwitchoverReadReplica``, stop and delete taking time and refused as on AWS (``awssim.rds_replicas``);
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
    from awssim import drs, outage, rds_global, rds_replicas, resource_explorer

    drs.register()
    resource_explorer.register()
    rds_global.register()
    rds_replicas.register()  # after rds_global: chains its settle
    outage.install_in_process()
    _installed = True
