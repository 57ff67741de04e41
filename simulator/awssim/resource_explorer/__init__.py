"""AWS Resource Explorer (``resource-explorer-2``) for moto, which has none (see ``models``).

Tag discovery searches Resource Explorer first and falls back to the Resource Groups Tagging API
where a region is not set up, so the simulator answers both. ``register()`` plugs Resource Explorer
into moto the way moto's own services are wired (as ``awssim.drs`` does): in-process, moto's
botocore stubber matches ``backend_index.backend_url_patterns`` and imports
``moto.resourceexplorer2``; in server mode the werkzeug app maps the SigV4 scope
``resource-explorer-2`` to the host ``resource-explorer-2.<region>.amazonaws.com`` and through the
same patterns. Search reads moto's taggable backends live, so there is nothing to sync.

``enable_explorer`` turns Resource Explorer on in one account and region the way an administrator
does (index, aggregator promotion, a default view with the ``tags`` property), through boto3, so it
works in-process and against a simulator server alike; ``awssim.seed.seed_estate`` uses it.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import boto3

from .models import ResourceExplorerBackend, resourceexplorer2_backends

__all__ = ["ResourceExplorerBackend", "resourceexplorer2_backends", "register", "enable_explorer", "DEFAULT_VIEW"]

SERVICE = "resource-explorer-2"
URL_PATTERN = re.compile(r"https?://resource-explorer-2(?:-fips)?\.(.+)\.(?:amazonaws\.com|api\.aws)")
DEFAULT_VIEW = "all-resources-with-tags"


def register() -> None:
    """Make moto serve Resource Explorer (idempotent)."""
    import moto.backend_index as backend_index

    if not any(service == SERVICE for service, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append((SERVICE, URL_PATTERN))
    # moto.backends.get_backend("resource-explorer-2") imports "moto.resourceexplorer2" and reads
    # resourceexplorer2_backends from it.
    sys.modules.setdefault("moto.resourceexplorer2", sys.modules[__name__])


def enable_explorer(session: boto3.Session, region: str, *, aggregator: bool = False,
                    view_name: str = DEFAULT_VIEW, endpoint_url: str | None = None) -> dict[str, Any]:
    """Turn Resource Explorer on in ``region`` for the session's account; idempotent.

    Creates the region's index unless there is one; with ``aggregator`` promotes it to the account's
    AGGREGATOR unless another region already holds that role (then it stays LOCAL: AWS allows one);
    and, unless the region has a default view, creates ``view_name`` (no filter, ``tags`` included)
    and makes it the default. Returns ``{"index": ARN, "type": LOCAL|AGGREGATOR, "default_view": ARN}``.
    """
    client: Any = session.client(SERVICE, region_name=region, endpoint_url=endpoint_url)
    try:
        index = client.get_index()
    except client.exceptions.ResourceNotFoundException:
        client.create_index()
        index = client.get_index()
    index_type = index["Type"]
    if aggregator and index_type != "AGGREGATOR" and not client.list_indexes(Type="AGGREGATOR")["Indexes"]:
        index_type = client.update_index_type(Arn=index["Arn"], Type="AGGREGATOR")["Type"]
    default = client.get_default_view().get("ViewArn")
    if not default:
        views = [arn for page in client.get_paginator("list_views").paginate() for arn in page["Views"]]
        named = [arn for arn in views if arn.split(":", 5)[5].split("/")[1] == view_name]
        default = named[0] if named else client.create_view(
            ViewName=view_name, IncludedProperties=[{"Name": "tags"}])["View"]["ViewArn"]
        client.associate_default_view(ViewArn=default)
    return {"index": index["Arn"], "type": index_type, "default_view": default}
