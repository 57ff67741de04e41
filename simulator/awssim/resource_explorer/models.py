"""AWS Resource Explorer (``resource-explorer-2``) state for moto: indexes, views, default views, Search.

The model, per account and region like moto's own backends:

* **Index**: at most one per region (CreateIndex again: ConflictException). It is LOCAL when created;
  UpdateIndexType promotes it to the account's AGGREGATOR (at most one per account: promoting a
  second is a ConflictException, as on AWS) or demotes it. Transitions that take minutes to hours on
  AWS (CREATING, UPDATING, DELETING) are reported in the replies of the calls that start them and are
  complete at once: GetIndex reads ACTIVE. AWS's 24-hour wait before promoting another index after
  demoting or deleting the aggregator is not modelled (tests move the aggregator around).
  DeleteIndex also deletes the region's views and its default view, as AWS does.
* **View**: created in a region with an index (none: UnauthorizedException, the 401 Resource
  Explorer answers whenever a region is not set up), named uniquely in its region; it filters
  (``Filters.FilterString``, filter prefixes only) and says whether results carry the ``tags``
  property. One view per region may be the **default view**.
* **Search** uses the given view or the region's default view (neither: UnauthorizedException, as
  the API reference says; a view of another region or account: UnauthorizedException too). It
  covers the regions the view's index covers: a LOCAL index its own region, the AGGREGATOR index
  every region of the account that has an index. Resources are read live from moto's taggable
  backends (``moto.core.resource_tagging``), so whatever moto (and our DRS and Aurora global-cluster
  additions) can list is found, tagged or not, plus what a backend offers Resource Explorer alone
  (``iter_explorer_only_resources``: Auto Scaling groups, which the Tagging API does not list); global
  resources (no region in the ARN, e.g. an Aurora global cluster) report Region ``global``. Results
  are the query AND-ed with the view's filter, sorted by ARN, paginated with MaxResults/NextToken,
  and capped at 1,000 per query like AWS: beyond that ``Count.Complete`` is false and
  ``TotalResources`` stays 1000. ListResources (filters only, no count) pages through everything: it
  is how AWS lists beyond the cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.resource_tagging import iter_taggable_backends
from moto.moto_api._internal import mock_random

from .query import Item, Term, ValidationException, matches, parse

SEARCH_CAP = 1000  # AWS counts and returns at most 1,000 results per query
INDEX_TYPES = ("LOCAL", "AGGREGATOR")
VIEW_NAME = re.compile(r"[a-zA-Z0-9\-]{1,64}")
PROPERTIES = ("tags",)  # the only property a view can include today

__all__ = ["ResourceExplorerBackend", "resourceexplorer2_backends", "ValidationException"]


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


class ConflictException(ServiceException):
    code = "ConflictException"


class UnauthorizedException(ServiceException):
    code = "UnauthorizedException"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def paginate(items: list[Any], max_results: int | None, next_token: str | None,
             default: int) -> tuple[list, str | None]:
    try:
        start = int(next_token or 0)
    except ValueError:
        raise ValidationException(f"NextToken {next_token!r} is not one this API returned") from None
    if start < 0 or start > len(items):
        raise ValidationException(f"NextToken {next_token!r} is not one this API returned")
    end = start + (max_results or default)
    return items[start:end], (str(end) if end < len(items) else None)


@dataclass
class Index:
    arn: str
    region: str
    type: str = "LOCAL"
    created: datetime = field(default_factory=_now)
    updated: datetime = field(default_factory=_now)
    tags: dict[str, str] = field(default_factory=dict)
    client_token: str | None = None


@dataclass
class View:
    arn: str
    name: str
    owner: str
    scope: str
    included: list[str]
    filter_string: str
    terms: list[Term]
    tags: dict[str, str] = field(default_factory=dict)
    updated: datetime = field(default_factory=_now)
    client_token: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "ViewArn": self.arn,
            "ViewName": self.name,
            "Owner": self.owner,
            "LastUpdatedAt": self.updated,
            "Scope": self.scope,
            "IncludedProperties": [{"Name": name} for name in self.included],
            "Filters": {"FilterString": self.filter_string},
        }


def _region_of(arn: str) -> str:
    parts = arn.split(":", 5)
    return (parts[3] if len(parts) > 3 else "") or "global"


class ResourceExplorerBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.index: Index | None = None
        self.views: dict[str, View] = {}
        self.default_view: str | None = None

    # -- helpers ---------------------------------------------------------------------------
    def _arn(self, resource: str) -> str:
        return f"arn:{self.partition}:resource-explorer-2:{self.region_name}:{self.account_id}:{resource}"

    def _account(self) -> dict[str, ResourceExplorerBackend]:
        """This account's backends that exist (a region never called has no index)."""
        return dict(resourceexplorer2_backends[self.account_id].items())

    def _indexes(self) -> list[Index]:
        return sorted((b.index for b in self._account().values() if b.index), key=lambda i: i.region)

    def _own_index(self, arn: str) -> Index:
        if self.index is None or self.index.arn != arn:
            raise ResourceNotFoundException(f"There is no index {arn} in {self.region_name}.")
        return self.index

    def _require_index(self, operation: str) -> Index:
        if self.index is None:
            raise UnauthorizedException(
                f"{operation}: Resource Explorer is not turned on in {self.region_name} (no index); "
                "call CreateIndex in this region first.")
        return self.index

    def _view(self, arn: str) -> View:
        view = self.views.get(arn)
        if view is None:
            raise ResourceNotFoundException(f"There is no view {arn} in {self.region_name}.")
        return view

    # -- indexes ---------------------------------------------------------------------------
    def create_index(self, client_token: str | None, tags: dict[str, str] | None) -> dict[str, Any]:
        if self.index is not None:
            if client_token and client_token == self.index.client_token:
                return {"Arn": self.index.arn, "State": "ACTIVE", "CreatedAt": self.index.created}
            raise ConflictException(f"An index already exists in {self.region_name}: {self.index.arn}.")
        self.index = Index(self._arn(f"index/{mock_random.uuid4()}"), self.region_name, tags=dict(tags or {}),
                           client_token=client_token)
        return {"Arn": self.index.arn, "State": "CREATING", "CreatedAt": self.index.created}

    def get_index(self) -> dict[str, Any]:
        if self.index is None:
            raise ResourceNotFoundException(f"There is no Resource Explorer index in {self.region_name}.")
        others = [i for i in self._indexes() if i.region != self.region_name]
        reply: dict[str, Any] = {
            "Arn": self.index.arn, "Type": self.index.type, "State": "ACTIVE",
            "CreatedAt": self.index.created, "LastUpdatedAt": self.index.updated, "Tags": dict(self.index.tags),
        }
        if self.index.type == "AGGREGATOR":
            reply["ReplicatingFrom"] = [i.region for i in others]
        else:
            reply["ReplicatingTo"] = [i.region for i in others if i.type == "AGGREGATOR"]
        return reply

    def list_indexes(self, index_type: str | None, regions: list[str] | None, max_results: int | None,
                     next_token: str | None) -> dict[str, Any]:
        items = [{"Region": i.region, "Arn": i.arn, "Type": i.type} for i in self._indexes()
                 if (not index_type or i.type == index_type) and (not regions or i.region in regions)]
        page, token = paginate(items, max_results, next_token, 100)
        return {"Indexes": page, "NextToken": token}

    def update_index_type(self, arn: str, index_type: str) -> dict[str, Any]:
        index = self._own_index(arn)
        if index_type not in INDEX_TYPES:
            raise ValidationException(f"Type {index_type!r} must be LOCAL or AGGREGATOR.")
        if index_type == "AGGREGATOR":
            other = next((i for i in self._indexes() if i.type == "AGGREGATOR" and i.arn != arn), None)
            if other is not None:
                raise ConflictException(
                    f"The account already has an AGGREGATOR index in {other.region} ({other.arn}); "
                    "demote it to LOCAL before promoting another.")
        index.type, index.updated = index_type, _now()
        return {"Arn": index.arn, "Type": index.type, "State": "UPDATING", "LastUpdatedAt": index.updated}

    def delete_index(self, arn: str) -> dict[str, Any]:
        index = self._own_index(arn)
        self.index, self.views, self.default_view = None, {}, None
        return {"Arn": index.arn, "State": "DELETING", "LastUpdatedAt": _now()}

    # -- views -----------------------------------------------------------------------------
    def _check_properties(self, included: list[dict[str, str]] | None) -> list[str]:
        names = [p["Name"] for p in included or []]
        unknown = [n for n in names if n not in PROPERTIES]
        if unknown:
            raise ValidationException(f"IncludedProperties: {', '.join(unknown)} unknown; the only property is tags.")
        return sorted(set(names))

    def create_view(self, name: str, included: list[dict[str, str]] | None, scope: str | None,
                    filters: dict[str, str] | None, tags: dict[str, str] | None,
                    client_token: str | None) -> dict[str, Any]:
        self._require_index("CreateView")
        if not VIEW_NAME.fullmatch(name or ""):
            raise ValidationException(f"ViewName {name!r}: 1-64 letters, digits and hyphens.")
        for view in self.views.values():
            if view.name == name:
                if client_token and client_token == view.client_token:
                    return view.to_api()
                raise ConflictException(f"A view named {name} already exists in {self.region_name}: {view.arn}.")
        own_scope = f"arn:{self.partition}:iam::{self.account_id}:root"
        if scope and scope != own_scope:
            raise ValidationException(f"Scope {scope!r}: the simulator supports account views only ({own_scope}).")
        filter_string = (filters or {}).get("FilterString") or ""
        terms = parse(filter_string, filters_only=True, what="Filters.FilterString")
        view = View(self._arn(f"view/{name}/{mock_random.uuid4()}"), name, self.account_id, own_scope,
                    self._check_properties(included), filter_string, terms, dict(tags or {}),
                    client_token=client_token)
        self.views[view.arn] = view
        return view.to_api()

    def get_view(self, arn: str) -> dict[str, Any]:
        view = self._view(arn)
        return {"View": view.to_api(), "Tags": dict(view.tags)}

    def batch_get_view(self, arns: list[str]) -> dict[str, Any]:
        views, errors = [], []
        for arn in arns:
            if arn in self.views:
                views.append(self.views[arn].to_api())
            else:
                errors.append({"ViewArn": arn, "ErrorMessage": f"There is no view {arn} in {self.region_name}."})
        return {"Views": views, "Errors": errors}

    def update_view(self, arn: str, included: list[dict[str, str]] | None,
                    filters: dict[str, str] | None) -> dict[str, Any]:
        view = self._view(arn)
        if included is not None:
            view.included = self._check_properties(included)
        if filters is not None:
            view.filter_string = filters.get("FilterString") or ""
            view.terms = parse(view.filter_string, filters_only=True, what="Filters.FilterString")
        view.updated = _now()
        return view.to_api()

    def list_views(self, max_results: int | None, next_token: str | None) -> dict[str, Any]:
        page, token = paginate(sorted(self.views), max_results, next_token, 50)
        return {"Views": page, "NextToken": token}

    def delete_view(self, arn: str) -> str:
        self._view(arn)
        del self.views[arn]
        if self.default_view == arn:
            self.default_view = None
        return arn

    def associate_default_view(self, arn: str) -> str:
        if _region_of(arn) != self.region_name:
            raise ValidationException(f"View {arn} is not in {self.region_name}: a default view must be local.")
        self._view(arn)
        self.default_view = arn
        return arn

    def get_default_view(self) -> str | None:
        if self.index is None:
            raise ResourceNotFoundException(f"There is no Resource Explorer index in {self.region_name}.")
        return self.default_view

    def disassociate_default_view(self) -> None:
        if self.index is None:
            raise ResourceNotFoundException(f"There is no Resource Explorer index in {self.region_name}.")
        self.default_view = None

    # -- search ----------------------------------------------------------------------------
    def _search_view(self, arn: str | None, operation: str) -> View:
        if not arn:
            if self.index is None or self.default_view is None:
                raise UnauthorizedException(
                    f"{operation}: no ViewArn and {self.region_name} has no default view"
                    f"{'' if self.index else ' (Resource Explorer is not turned on here: no index)'}.")
            arn = self.default_view
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "resource-explorer-2" or not parts[5].startswith("view/"):
            raise ValidationException(f"ViewArn {arn!r} is not a Resource Explorer view ARN.")
        if parts[3] != self.region_name or parts[4] != self.account_id:
            raise UnauthorizedException(f"{operation}: view {arn} belongs to another region or account; "
                                        f"call {operation} in {parts[3]} with account {parts[4]}'s credentials.")
        return self._view(arn)

    def covered_regions(self) -> list[str]:
        """The regions a search here covers: its own (LOCAL), or every indexed region (AGGREGATOR)."""
        index = self._require_index("Search")
        if index.type == "AGGREGATOR":
            return [i.region for i in self._indexes()]
        return [self.region_name]

    def indexed_items(self) -> list[Item]:
        """Every resource the index of this region sees now, once each, sorted by ARN."""
        items: dict[str, Item] = {}
        for region in self.covered_regions():
            for backend in iter_taggable_backends(self.account_id, region):
                # plus what Resource Explorer indexes and the Tagging API does not list (Auto Scaling groups)
                only_here = getattr(backend, "iter_explorer_only_resources", None)
                for resource in chain(backend.iter_tagged_resources(), only_here() if only_here else ()):
                    if resource.arn not in items:
                        items[resource.arn] = Item(resource.arn, self.account_id, _region_of(resource.arn),
                                                   resource.resource_type, dict(resource.tags))
        return [items[arn] for arn in sorted(items)]

    def _run(self, view: View, terms: list[Term], max_results: int | None, next_token: str | None,
             cap: int | None) -> tuple[list[dict[str, Any]], str | None, int]:
        found = [item for item in self.indexed_items() if matches(view.terms, item) and matches(terms, item)]
        page, token = paginate(found[:cap] if cap else found, max_results, next_token, SEARCH_CAP)
        now = _now()
        resources = []
        for item in page:
            resource: dict[str, Any] = {
                "Arn": item.arn, "OwningAccountId": item.account_id, "Region": item.region,
                "ResourceType": item.resource_type, "Service": item.service, "LastReportedAt": now, "Properties": [],
            }
            if "tags" in view.included and item.tags:
                data = [{"Key": k, "Value": v} for k, v in sorted(item.tags.items())]
                resource["Properties"].append({"Name": "tags", "LastReportedAt": now, "Data": data})
            resources.append(resource)
        return resources, token, len(found)

    def search(self, query: str, max_results: int | None, view_arn: str | None,
               next_token: str | None) -> dict[str, Any]:
        view = self._search_view(view_arn, "Search")
        resources, token, total = self._run(view, parse(query), max_results, next_token, SEARCH_CAP)
        return {"Resources": resources, "NextToken": token, "ViewArn": view.arn,
                "Count": {"TotalResources": min(total, SEARCH_CAP), "Complete": total <= SEARCH_CAP}}

    def list_resources(self, filters: dict[str, str] | None, max_results: int | None, view_arn: str | None,
                       next_token: str | None) -> dict[str, Any]:
        view = self._search_view(view_arn, "ListResources")
        terms = parse((filters or {}).get("FilterString") or "", filters_only=True, what="Filters.FilterString")
        resources, token, _ = self._run(view, terms, max_results, next_token, None)  # no cap: it lists all
        return {"Resources": resources, "NextToken": token, "ViewArn": view.arn}


resourceexplorer2_backends = BackendDict(ResourceExplorerBackend, "resource-explorer-2")
