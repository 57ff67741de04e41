"""Tag discovery (SPEC 4; SRS FR-1.1-1.3): a scope's DR-tagged resources, as manifest entries.

Every account and region of the scope is searched in parallel for ``dr:enabled=true`` with the
scope's Customer and Environment: Resource Explorer ``Search`` (one query per account and region),
falling back to the Tagging API's ``GetResources`` where Resource Explorer has no index or view, or
holds more than its 1,000-result limit. One account that cannot be reached is reported; the others
still complete. Each adapter then derives, per account, the manifest ``config`` of what it protects
(``Adapter.derive``); several tagged parts of one resource (both Aurora member clusters, an ECS
service in each region) are one entry. The H.1 tags give wave, priority and dependencies; tags
``dr:<config-key-in-kebab-case>`` override a config value AWS cannot tell (``dr:desired-count``).

The result is plain data: ``sources.inventory`` writes it as a reviewable snapshot manifest and
reports it; preflight compares it with the plan a DAG was built from (drift, unprotected resources).
"""

from __future__ import annotations

import re
import time
import typing
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.registry import ADAPTER_CLASSES, adapter_for
from dr_adapters.sources.manifest import find_cycle
from dr_adapters.sources.tags import DrTags, TagProblem, parse_dr_tags, tag_list, unknown_dependencies

MAX_PARALLEL = 16
# What Resource Explorer answers where it is not set up (no index, no default view, not allowed):
# the Tagging API, which every region has, answers instead.
EXPLORER_UNAVAILABLE = ("UnauthorizedException", "ResourceNotFoundException", "AccessDeniedException",
                        "ValidationException", "UnrecognizedClientException")
RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Scope:
    """What to search: the manifest header's view of it, or a plan's (``scope_of``)."""

    customer: str
    environment: str
    primary: str
    dr: str
    accounts: tuple[str | None, ...]  # None: the hub
    listed_accounts: frozenset[str]  # accounts with a role under ``accounts`` (resources there carry accountId)
    regions: tuple[str, ...]
    method: str = "resource-explorer"
    include: dict[str, Any] = field(default_factory=dict)
    exclude: dict[str, Any] = field(default_factory=dict)

    @property
    def query(self) -> str:
        return f"tag:dr:enabled=true tag:Customer={self.customer} tag:Environment={self.environment}"

    @property
    def tag_filters(self) -> list[dict[str, Any]]:
        return [{"Key": "dr:enabled", "Values": ["true"]}, {"Key": "Customer", "Values": [self.customer]},
                {"Key": "Environment", "Values": [self.environment]}]


def scope_of(source: Any) -> Scope:
    """The search scope of a ``Manifest`` or a ``Plan`` (a plan without a discovery block: the whole
    estate of its customer and environment, as the unprotected-resource check needs)."""
    if hasattr(source, "layers"):  # a Manifest
        settings = source.discovery.model_dump(mode="json") if source.discovery else {}
        customer, environment = source.customer, source.environment
    else:
        settings = source.discovery or {}
        customer, environment = source.scope.customer, source.scope.environment
    primary, dr = source.regions.primary, source.regions.dr
    listed = [a.account_id for a in source.accounts]
    hub = source.hub_account_id
    accounts: list[str | None] = [None] + [a for a in listed if a != hub]
    if settings.get("accounts"):
        accounts = [None if a == hub and a not in listed else a for a in settings["accounts"]]
    return Scope(customer, environment, primary, dr, tuple(dict.fromkeys(accounts)), frozenset(listed),
                 tuple(settings.get("regions") or (primary, dr)), settings.get("method") or "resource-explorer",
                 settings.get("include") or {}, settings.get("exclude") or {})


@dataclass
class Cell:
    """One account and region searched: how, what was found, what went wrong."""

    account: str | None
    region: str
    method: str = ""
    found: list[Tagged] = field(default_factory=list)
    error: str | None = None
    fallback: str | None = None  # why Resource Explorer did not answer
    seconds: float = 0.0


@dataclass(frozen=True)
class Found:
    """A DR resource of the scope, as its manifest entry will read."""

    resource_id: str
    action: str
    account_id: str | None  # None: the hub
    config: dict[str, Any]
    wave: int
    priority: str
    dependencies: tuple[str, ...]
    health_check_url: str | None
    arn: str
    identity: str
    other_arns: tuple[str, ...] = ()  # other tagged parts of it


@dataclass
class Discovered:
    """What ``discover`` found: resources, problems (errors leave a resource out), per-cell detail."""

    scope: Scope
    hub_account: str
    cells: list[Cell]
    resources: list[Found]
    problems: list[TagProblem]
    seconds: float
    calls: int

    @property
    def errors(self) -> list[TagProblem]:
        return [p for p in self.problems if p.error]

    @property
    def failed_accounts(self) -> dict[str, str]:
        return {c.account or self.hub_account: c.error for c in self.cells if c.error}

    def identities(self) -> set[str]:
        return {r.identity for r in self.resources}


def discover(scope: Scope, aws: Any, *, hub_account: str | None = None, home: str | None = None) -> Discovered:
    """Search the scope and derive its resources. ``aws``: ``AccountSessions`` (hub and spokes); the
    hub's account id is read from STS in ``home`` (default: the DR region) when not given."""
    started = time.monotonic()
    calls = [0]
    aws.register_event("before-call", lambda **_: calls.__setitem__(0, calls[0] + 1))
    hub = hub_account or aws.client("sts", home or scope.dr, None, fail_fast=True).get_caller_identity()["Account"]
    cells = [Cell(account, region) for account in scope.accounts for region in scope.regions]
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(cells)))) as pool:
        list(pool.map(lambda c: _search(scope, aws, c), cells))
    by_account: dict[str | None, dict[str, Tagged]] = defaultdict(dict)
    for cell in cells:
        for tagged in cell.found:
            if _selected(scope, tagged):
                by_account[cell.account][tagged.arn] = tagged  # a global resource shows in several regions
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(by_account)))) as pool:
        derived = list(pool.map(lambda item: _derive(scope, aws, hub, *item), by_account.items()))
    problems: list[TagProblem] = [p for _, ps in derived for p in ps]
    for cell in cells:
        if cell.error:
            problems.append(TagProblem(f"account {cell.account or hub} / {cell.region}", "-", None,
                                       f"could not be searched: {cell.error}", "check the account's role and "
                                       "that the region answers, then run discover again"))
    resources = _resolve(scope, [r for rs, _ in derived for r in rs], problems)
    return Discovered(scope, hub, cells, resources, problems, time.monotonic() - started, calls[0])


# -- searching -----------------------------------------------------------------------------------
def _search(scope: Scope, aws: Any, cell: Cell) -> None:
    started = time.monotonic()
    try:
        if scope.method == "resource-explorer":
            try:
                cell.found = _explorer(scope, aws.client("resource-explorer-2", cell.region, cell.account, fail_fast=True),
                                       cell)
                cell.method = "resource-explorer"
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in EXPLORER_UNAVAILABLE:
                    raise
                cell.fallback = f"{exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}"
            except _Incomplete as exc:
                cell.fallback = str(exc)
        if not cell.method:
            tagging = aws.client("resourcegroupstaggingapi", cell.region, cell.account, fail_fast=True)
            cell.found = _tagging(scope, tagging, cell)
            cell.method = "tagging-api"
    except Exception as exc:  # noqa: BLE001 - one account or region failing must not stop the others
        cell.error = f"{type(exc).__name__}: {exc}"
    cell.seconds = time.monotonic() - started


class _Incomplete(Exception):
    pass


def _explorer(scope: Scope, client: Any, cell: Cell) -> list[Tagged]:
    out: list[Tagged] = []
    args: dict[str, Any] = {"QueryString": f"{scope.query} region:{cell.region}", "MaxResults": 1000}
    while True:
        page = client.search(**args)
        if not page.get("Count", {}).get("Complete", True):
            raise _Incomplete("more than Resource Explorer's 1,000 results for one query")
        for item in page.get("Resources", []):
            tags = next((p.get("Data") or [] for p in item.get("Properties", []) if p.get("Name") == "tags"), [])
            out.append(Tagged(item["Arn"], item.get("OwningAccountId", ""), item.get("Region", cell.region),
                              item.get("ResourceType") or resource_type(item["Arn"]),
                              {t["Key"]: t["Value"] for t in tags}))
        if not page.get("NextToken"):
            return out
        args["NextToken"] = page["NextToken"]


def _tagging(scope: Scope, client: Any, cell: Cell) -> list[Tagged]:
    out = []
    for page in client.get_paginator("get_resources").paginate(TagFilters=scope.tag_filters, ResourcesPerPage=100):
        for item in page["ResourceTagMappingList"]:
            arn = item["ResourceARN"]
            out.append(Tagged(arn, arn.split(":")[4], arn.split(":")[3] or "global", resource_type(arn),
                              {t["Key"]: t["Value"] for t in item.get("Tags", [])}))
    return out


def resource_type(arn: str) -> str:
    """``service:type`` of an ARN, as Resource Explorer names it (``ecs:service``, ``rds:cluster``)."""
    parts = arn.split(":", 5)
    return f"{parts[2]}:{re.split(r'[/:]', parts[5], maxsplit=1)[0]}"


def _selected(scope: Scope, tagged: Tagged) -> bool:
    def matches(spec: dict[str, Any], every: bool) -> bool:
        checks = []
        if spec.get("resource_types"):
            checks.append(tagged.resource_type in spec["resource_types"])
        if spec.get("tags"):
            checks.append(all(tagged.tags.get(k) == v for k, v in spec["tags"].items()))
        if spec.get("arns"):
            checks.append(tagged.arn in spec["arns"])
        return all(checks) if every else any(checks)

    return matches(scope.include, True) and not matches(scope.exclude, False)


# -- deriving ------------------------------------------------------------------------------------
def _derive(scope: Scope, aws: Any, hub: str, account: str | None,
            tagged: dict[str, Tagged]) -> tuple[list[tuple[Derived, Any, str | None]], list[TagProblem]]:
    """Each adapter's entries for one account's tagged resources: [(derived, adapter, account)], problems."""
    account_id = account or hub
    read = DiscoveryRead(lambda service, region: aws.client(service, region, account, fail_fast=True),
                         account_id, scope.primary, scope.dr)
    claimed: dict[str, list[Any]] = defaultdict(list)
    for cls in ADAPTER_CLASSES:
        for rtype in cls.discovery_types:
            claimed[rtype].append(adapter_for(cls.actions[0]))
    out: list[tuple[Derived, Any, str | None]] = []
    problems: list[TagProblem] = []
    by_type: dict[str, list[Tagged]] = defaultdict(list)
    for t in tagged.values():
        by_type[t.resource_type].append(t)
    for rtype, items in sorted(by_type.items()):
        if rtype not in claimed:
            problems += [TagProblem(t.arn, "dr:enabled", t.tags.get("dr:enabled"),
                                    f"is set, but no adapter protects {rtype} resources: it is left out",
                                    "remove dr:enabled, or protect it another way (e.g. EC2 instances via their "
                                    "DRS source server)") for t in items]
            continue
        results: dict[str, list[Derived | NotDerived]] = defaultdict(list)
        for adapter in dict.fromkeys(claimed[rtype]):
            try:
                derived = adapter.derive(items, read)
            except Exception as exc:  # noqa: BLE001 - one adapter failing leaves its resources out, said so
                derived = [NotDerived(t.arn, f"could not be read ({type(exc).__name__}: {exc}) -- check the "
                                             "account's role and run discover again") for t in items]
            for d in derived:
                results[d.arn].append(d)
                if isinstance(d, Derived) and d.action in adapter.actions:
                    out.append((d, adapter, account))
        for arn, answers in results.items():
            if not any(isinstance(d, Derived) for d in answers):
                problems += [TagProblem(arn, "dr:enabled", "true", d.message.split(" -- ")[0] + ": it is left out",
                                        d.message.split(" -- ")[-1]) for d in answers]
    return out, problems


def _resolve(scope: Scope, derived: list[tuple[Derived, Any, str | None]], problems: list[TagProblem]) -> list[Found]:
    """One entry per identity, its tags read, ids and dependencies resolved, action filters applied."""
    parts: dict[str, list[tuple[Derived, Any, str | None]]] = defaultdict(list)
    for d, adapter, account in derived:
        if scope.include.get("actions") and d.action not in scope.include["actions"]:
            continue
        if d.action in (scope.exclude.get("actions") or ()):
            continue
        parts[d.identity].append((d, adapter, account))
    candidates: list[tuple[Derived, Any, str | None, DrTags, list[Derived]]] = []
    for identity, group in sorted(parts.items()):
        group.sort(key=lambda g: (g[0].secondary, g[1].discovery_types.index(resource_type(g[0].arn))
                                  if resource_type(g[0].arn) in g[1].discovery_types else 99, g[0].arn))
        head, adapter, account = group[0]
        tags = parse_dr_tags(head.arn, head.tags, strategies=tuple(adapter.recovery_strategies))
        problems.extend(tags.problems)
        waves = {d.tags.get("dr:wave") for d, _, _ in group}
        if len(waves) > 1:
            problems.append(TagProblem(head.arn, "dr:wave", head.tags.get("dr:wave"),
                                       "differs between the tagged parts of one resource "
                                       f"({', '.join(d.arn for d, _, _ in group)}): this one's is used",
                                       "tag every part with the same dr:wave", error=False))
        if not tags.errors:
            candidates.append((head, adapter, account, tags, [d for d, _, _ in group[1:]]))

    names: dict[str, str] = {}
    found: list[Found] = []
    for head, adapter, account, tags, others in candidates:
        config = _config(head, adapter, tags, problems)
        if config is None:
            continue
        rid = _resource_id(head)
        if rid in names:
            problems.append(TagProblem(head.arn, "Name", head.tags.get("Name"),
                                       f"gives the id {rid!r}, which {names[rid]} has already",
                                       "give each DR resource its own Name tag"))
            continue
        names[rid] = head.arn
        found.append(Found(rid, head.action, account if account in scope.listed_accounts else None, config, tags.wave, tags.priority, tags.dependencies,
                           tags.health_check_url, head.arn, head.identity, tuple(d.arn for d in others)))
    return _dependencies(found, problems)


def _config(head: Derived, adapter: Any, tags: DrTags, problems: list[TagProblem]) -> dict[str, Any] | None:
    """The derived config, with the recovery strategy and ``dr:<key>`` override tags applied and checked."""
    config = {**head.config, **adapter.recovery_strategies.get(tags.recovery_strategy or "", {})}
    tag_of: dict[str, str] = {}
    for name, info in adapter.config_model.model_fields.items():
        key = info.alias or name
        tag = "dr:" + re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()
        if tag in head.tags:
            raw = head.tags[tag]
            is_list = list in (typing.get_origin(a) for a in (info.annotation, *typing.get_args(info.annotation)))
            config[key] = list(tag_list(raw)) if is_list else raw
            tag_of[key] = tag
    try:
        return adapter.config_model.model_validate(config).model_dump(by_alias=True, exclude_unset=True)
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            tag = tag_of.get(key, "dr:" + key)
            problems.append(TagProblem(head.arn, tag, head.tags.get(tag), f"gives an invalid {key}: {err['msg']}",
                                       f"fix the {tag} tag (see the {head.action} config reference in the README)"))
        return None


def _resource_id(head: Derived) -> str:
    name = head.tags.get("Name") or head.name
    if RESOURCE_ID.match(name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", name).strip("-_.")[:128]
    return cleaned or head.identity.rsplit("/", 1)[-1]


def _dependencies(found: list[Found], problems: list[TagProblem]) -> list[Found]:
    """``dr:dependencies`` entries may name a resource id, Name, or ARN: resolved to resource ids. An
    unknown one, or one in a later wave, is reported and dropped (the plan would not validate)."""
    by_name: dict[str, Found] = {}
    for f in found:
        for name in (f.resource_id, f.arn, *f.other_arns):
            by_name.setdefault(name, f)
    tags = {f.resource_id: DrTags(f.arn, True, f.wave, dependencies=f.dependencies) for f in found}
    problems.extend(unknown_dependencies(tags, {n: f.resource_id for n, f in by_name.items()}))
    out = []
    for f in found:
        deps = []
        for dep in f.dependencies:
            target = by_name.get(dep)
            if target is None or target.resource_id == f.resource_id:
                continue
            if target.wave > f.wave:
                problems.append(TagProblem(f.arn, "dr:dependencies", " ".join(f.dependencies),
                                           f"names {dep!r}, which fails over later (wave {target.wave} > {f.wave})",
                                           f"move {dep!r} to wave {f.wave} or earlier, or drop the dependency"))
                continue
            deps.append(target.resource_id)
        out.append(Found(f.resource_id, f.action, f.account_id, f.config, f.wave, f.priority, tuple(deps),
                         f.health_check_url, f.arn, f.identity, f.other_arns))
    while cycle := find_cycle({f.resource_id: list(f.dependencies) for f in out}):
        last = next(f for f in out if f.resource_id == cycle[-2])
        problems.append(TagProblem(last.arn, "dr:dependencies", " ".join(last.dependencies),
                                   "closes a dependency cycle: " + " -> ".join(cycle) + "; its dependency on "
                                   f"{cycle[-1]!r} is dropped", "remove one dependency of the cycle"))
        out = [Found(f.resource_id, f.action, f.account_id, f.config, f.wave, f.priority,
                     tuple(d for d in f.dependencies if not (f is last and d == cycle[-1])), f.health_check_url,
                     f.arn, f.identity, f.other_arns) for f in out]
    return out
