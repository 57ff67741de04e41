"""What an adapter needs to turn DR-tagged AWS resources into manifest entries (tag discovery, SPEC 4).

Discovery (``dr_adapters.sources.discovery``) finds every resource tagged ``dr:enabled=true`` for a
scope, with Resource Explorer or the Tagging API, and hands each adapter the ones of its
``discovery_types``, one account at a time. The adapter reads what it needs from AWS and returns
``Derived`` entries: the manifest ``config`` it would have been written with by hand, and an
``identity`` that names the DR resource whichever of its parts was tagged (both Aurora member
clusters and their instances are one global database; an ECS service in each region is one
service). The same ``identity`` read from a hand-written entry (``Adapter.identity``) is how a
manifest's resources are matched with what is tagged (the unprotected-resource check).

Everything here is plain data; the adapters know AWS, the discovery module knows the scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tagged:
    """One resource a tag search found."""

    arn: str
    account_id: str
    region: str  # the region it lives in ("global" for a global resource such as an Aurora global cluster)
    resource_type: str  # "ecs:service", "rds:cluster", "drs:source-server" ...
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The last part of the ARN: a cluster id, a function name, ``cluster/service``."""
        resource = self.arn.split(":", 5)[5]
        for sep in ("/", ":"):
            if sep in resource:
                return resource.split(sep, 1)[1]
        return resource


@dataclass(frozen=True)
class Derived:
    """A DR resource as a manifest would list it, read from AWS."""

    identity: str  # equal for every tagged part of one DR resource, and to Adapter.identity(config, account)
    action: str
    name: str  # the resource's own name: the resourceId when no Name tag says otherwise
    config: dict[str, Any]  # camelCase, as written in a manifest (before dr:* override tags)
    arn: str  # the ARN whose tags are the resource's (the primary side when both are tagged)
    tags: dict[str, str] = field(default_factory=dict)
    secondary: bool = False
    """A part that stands in for the resource (a DR-side copy, an instance of a cluster): when several
    parts of one resource are tagged, a primary part's tags are the resource's."""


@dataclass(frozen=True)
class NotDerived:
    """A tagged resource the adapter cannot protect as it is; the message says why and what to do."""

    arn: str
    message: str


# client(service, region) -> a boto3 client of the account being discovered.
ClientFor = Callable[[str, str], Any]


@dataclass(frozen=True)
class DiscoveryRead:
    """What an adapter may use to derive configs: the account's clients and the scope's regions."""

    client: ClientFor
    account_id: str
    primary: str
    dr: str

    def other(self, region: str) -> str:
        return self.dr if region == self.primary else self.primary


def arn_region(arn: str) -> str:
    return arn.split(":")[3]
