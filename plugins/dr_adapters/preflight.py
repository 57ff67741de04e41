"""Preflight (SPEC 5): read-only checks of every resource of the selected waves, before any change.

Accounts are checked in parallel; one account that cannot be reached (its role cannot be assumed,
its API refuses) is reported for its resources without stopping the other accounts' checks. A
resource whose Customer/Environment tags do not match the run's scope is a failing finding: the
scope guard that keeps one customer's run off another customer's resources.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_adapters.adapters import capacity
from dr_adapters.adapters.base import RunContext
from dr_adapters.adapters.capacity import Need, Quota
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.plan.model import Plan, WorkUnit
from dr_adapters.plan.run_request import RunRequest
from dr_adapters.plan.types import Operation, Phase

MAX_ACCOUNTS_IN_PARALLEL = 8
MAX_DETAILS = 5  # how many lines of a quota's "how it adds up" a finding's message quotes
DEFERRED_WHEN_UNPLANNED = (Phase.CLEANUP, Phase.REPLICATE)  # they act on the dark region: reprotect runs them


def probe_region(aws: Any, region: str, account_id: str | None) -> str | None:
    """Does ``region`` answer for this account? One call (STS GetCallerIdentity, on the region's own
    endpoint; it needs no permission) with a fail-fast client: None when it answers, else why not.
    A dark region is found here once per account and run, not by every resource's reads."""
    try:
        aws.client("sts", region, account_id, fail_fast=True).get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _where(account_id: str | None) -> str:
    return f"account {account_id}" if account_id else "the hub account"


def region_findings(request: RunRequest, ctx: RunContext, account_id: str | None) -> tuple[list[dict[str, Any]], bool]:
    """Probe the region being left and the region moved to, for one account: (findings, go on with
    the resources' own checks?). A planned run that meets a dark source stops here, before any
    change, naming the region and the remedy; an unplanned one expects it."""
    findings: list[dict[str, Any]] = []
    proceed = True
    where = _where(account_id)
    for role, region in (("target", ctx.target_region), ("source", ctx.source_region)):
        started = time.monotonic()
        error = probe_region(ctx.aws, region, account_id)
        took = f"{time.monotonic() - started:.1f} s"
        key = {"resource_id": f"{region} ({where})", "kind": "region", "region": region, "role": role}
        if error is None:
            note = f"{region} answers ({role} region, {took})"
            if role == "source" and request.unplanned:
                note += "; the run is unplanned all the same: no further call goes to it"
            findings.append({**key, "ok": True, "message": note})
        elif role == "target":
            findings.append({**key, "ok": False, "message": (
                f"{region}, the region to move to, does not answer from {where} ({error}, found in {took}) "
                "-- nothing can fail over into it: wait until it answers")})
            proceed = False
        elif request.unplanned:
            findings.append({**key, "ok": True, "dark": True, "message": (
                f"{region} is dark ({error}, found in {took}): expected in an unplanned "
                f"{request.operation.value}; no further call goes to it")})
        else:
            if request.operation in (Operation.FAILOVER, Operation.FAILBACK):
                remedy = ("a planned run needs both regions: re-trigger with failover_mode=unplanned to fail over "
                          "without it (data loss up to the last replicated point; its CLEANUP and REPLICATE wait "
                          "for operation=reprotect)")
            else:  # a drill, readiness check or reprotect only makes sense with both regions up
                remedy = f"a {request.operation.value} needs both regions: run it once {region} answers again"
            findings.append({**key, "ok": False, "dark": True, "message": (
                f"{region}, the region being left, does not answer from {where} ({error}, found in {took}) "
                f"-- {remedy}")})
            proceed = False
    return findings, proceed


def run_preflight(plan: Plan, request: RunRequest, ctx: RunContext) -> list[dict[str, Any]]:
    """One finding per check: ``{"resource_id", "ok", "message"}``; first each account's regions, last the
    quotas each account's resources will consume (``capacity_findings``)."""
    by_account: dict[str | None, list[WorkUnit]] = {}
    wave_of: dict[str, int] = {}
    for wave in plan.waves:
        if request.wave_selected(wave.number):
            for unit in wave.units:
                by_account.setdefault(unit.account_id, []).append(unit)
                wave_of[unit.unit_id] = wave.number

    def check_account(units: list[WorkUnit]) -> list[dict[str, Any]]:
        account_id = units[0].account_id
        try:
            ctx.aws.session(account_id)  # the spoke's role first: a refusal is the account's, not a region's
        except Exception as exc:  # noqa: BLE001 - an unreachable account is a finding for its resources
            return [{"resource_id": r, "ok": False, "message": f"cannot check in {_where(account_id)}: {exc}"}
                    for u in units for r in u.resource_ids]
        found, proceed = region_findings(request, ctx, account_id)
        if not proceed:  # its resources would only repeat the region's error, slowly
            return found + [{"resource_id": r, "ok": False, "message": "not checked: a region it needs does not answer"}
                            for u in units for r in u.resource_ids]
        if request.operation in (Operation.REPROTECT, Operation.ROLLBACK):
            # The failover-readiness checks (replication healthy, within RPO) describe the way the run
            # already went (a rollback's estate is half-way by definition); what both need is both regions
            # answering, and each of their steps checks (and scope-guards) what it touches.
            checked_by = ("reprotect: checked by CLEANUP and REPLICATE" if request.operation is Operation.REPROTECT
                          else "rollback: checked (and scope-guarded) by its undo")
            return found + [{"resource_id": r, "ok": True, "message": checked_by}
                            for u in units for r in u.resource_ids]
        for unit in units:
            try:
                findings = adapter_for(unit.action).preflight(ctx, unit)
            except Exception as exc:  # noqa: BLE001 - an unreachable account or resource is a finding
                found += [{"resource_id": r, "ok": False, "message": f"cannot check in {_where(unit.account_id)}: {exc}"}
                          for r in unit.resource_ids]
                continue
            for f in findings:
                item = f.to_dict()
                mismatch = plan.scope.mismatch(f.tags) if f.tags is not None else None
                if mismatch:
                    scope_tags = ", ".join(f"{k}={f.tags.get(k)!r}" for k in ("Customer", "Environment"))
                    item.update(ok=False, message=f"out of scope for {plan.dag_id}: {mismatch} (its tags: {scope_tags})")
                found.append(item)
        phases = [p for p in request.phases if not (request.unplanned and p in DEFERRED_WHEN_UNPLANNED)]
        return found + capacity_findings(ctx, [(wave_of[u.unit_id], u) for u in units], phases)

    workers = max(1, min(MAX_ACCOUNTS_IN_PARALLEL, len(by_account)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = [f for chunk in pool.map(check_account, by_account.values()) for f in chunk]
    if any(f.get("kind") == "region" and not f["ok"] for f in found):
        return found  # the run stops on the region already; searching it for tags would only wait on it
    return found + estate_findings(plan, request, ctx)


def estate_findings(plan: Plan, request: RunRequest, ctx: RunContext) -> list[dict[str, Any]]:
    """The tagged estate against the plan. A tag-driven plan: discover again; a resource tagged, untagged
    or moved to another wave since the snapshot stops a failover or failback (and makes readiness
    fail); a drill reports it. A manifest: resources tagged for its scope that it does not list are
    unprotected (a warning, or an error when the manifest sets ``unprotectedResources: error``)."""
    from dr_adapters.sources import inventory
    from dr_adapters.sources.discovery import discover, scope_of

    key = {"resource_id": "tagged estate", "kind": "discovery"}
    tag_driven = plan.discovery is not None
    if not tag_driven and plan.unprotected == "ignore":
        return []
    if request.unplanned or request.operation in (Operation.REPROTECT, Operation.ROLLBACK):
        why = "the region being left is dark" if request.unplanned else f"a {request.operation.value} changes no plan"
        return [{**key, "ok": True, "message": f"not compared with the tags: {why}"}]
    scope = scope_of(plan)
    try:
        result = discover(scope, ctx.aws, hub_account=plan.hub_account_id, home=ctx.target_region)
    except Exception as exc:  # noqa: BLE001 - the check itself failing is a finding, not a crash
        return [{**key, "ok": not tag_driven, "message": f"could not discover the tagged estate: {exc}"}]
    searched = f"{len(result.cells)} account-region(s) searched in {result.seconds:.1f} s"
    failed = [f"account {a} not searched: {e}" for a, e in result.failed_accounts.items()]
    if tag_driven:
        changes = inventory.drift(plan, result) + failed
        if not changes:
            return [{**key, "ok": True, "message": f"matches the snapshot of {plan.discovered_at} ({searched})"}]
        blocking = request.operation is not Operation.DRILL
        remedy = ("run `python -m dr_adapters discover <scope>`, review and deploy the new snapshot, then "
                  "trigger again" if blocking else "run discover and deploy the snapshot before a failover")
        return [{**key, "resource_id": "drift", "ok": not blocking, "message": (
            f"the tagged estate changed since the snapshot of {plan.discovered_at}: {c} -- {remedy}")}
            for c in changes]
    loose = inventory.unprotected(plan, result) + failed
    error = plan.unprotected == "error"
    if not loose:
        return [{**key, "ok": True, "message": f"every resource tagged for this scope is in the manifest ({searched})"}]
    return [{**key, "resource_id": "unprotected", "ok": not error, "message": (
        f"{'' if error else 'warning: '}unprotected: {item} -- add it to the manifest (or remove its dr:enabled tag)")}
        for item in loose]


# -- capacity: the quotas the run will consume -------------------------------------------------------
def capacity_findings(ctx: RunContext, units: list[tuple[int, WorkUnit]], phases: list[Phase]) -> list[dict[str, Any]]:
    """One finding per quota one account's units (``(wave, unit)``) will consume in the phases selected, in each
    region: the needs summed (per wave for a ``per_wave`` quota, the peak wave counting), the quota and its usage
    read once each, and classified OK / INFO / WARNING / CRITICAL (``adapters.capacity``). CRITICAL fails the
    check (nothing has changed yet); a quota or usage that cannot be read is a warning, not a stop: a read-only
    check must not block a failover by itself."""
    account_id = units[0][1].account_id if units else None
    where = _where(account_id)
    found: list[dict[str, Any]] = []
    needs: list[tuple[int, Need]] = []
    for wave, unit in units:
        try:
            declared = adapter_for(unit.action).capacity_needs(ctx, unit)
        except Exception as exc:  # noqa: BLE001 - a need that cannot be worked out is reported, not fatal
            found.append({"resource_id": f"capacity of {unit.unit_id}", "kind": "capacity", "ok": True,
                          "level": "UNKNOWN", "message": f"warning: could not work out what {unit.unit_id} "
                          f"({', '.join(unit.resource_ids)}) will consume in {where}: {exc}"})
            continue
        needs += [(wave, n) for n in declared if n.amount > 0 and set(n.phases) & set(phases)
                  and not (ctx.unplanned and n.region == ctx.source_region)]
    grouped: dict[tuple[str, Quota], list[tuple[int, Need]]] = defaultdict(list)
    for wave, need in needs:
        grouped[(need.region, need.quota)].append((wave, need))
    usage: dict[tuple[str, Any], dict[str, float] | Exception] = {}
    for (region, quota), items in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[0][1].key)):
        reader = (region, quota.usage)
        if reader not in usage:
            try:
                usage[reader] = quota.usage(ctx, account_id, region)
            except Exception as exc:  # noqa: BLE001 - reported as a warning below
                usage[reader] = exc
        found.append(_quota_finding(ctx, account_id, region, quota, items, usage[reader]))
    return found


def _needed(quota: Quota, items: list[tuple[int, Need]]) -> float:
    by_wave: dict[int, float] = defaultdict(float)
    for wave, need in items:
        by_wave[wave] += need.amount
    return max(by_wave.values()) if quota.per_wave else sum(by_wave.values())


def _quota_finding(ctx: RunContext, account_id: str | None, region: str, quota: Quota,
                   items: list[tuple[int, Need]], in_use: dict[str, float] | Exception) -> dict[str, Any]:
    where, num = _where(account_id), capacity.as_number
    needed = _needed(quota, items)
    resources = sorted({r for _, n in items for r in n.resource_ids})
    details = sorted({n.detail for _, n in items if n.detail})
    # how it adds up, the first few (every resource is in the record): a message stays readable at 1,000
    detail = "; ".join(details[:MAX_DETAILS]) + (f"; and {len(details) - MAX_DETAILS} more" if len(details) > MAX_DETAILS else "")
    record: dict[str, Any] = {"key": quota.key, "name": quota.name, "service_code": quota.service_code,
                              "quota_code": quota.quota_code, "region": region, "account_id": account_id,
                              "unit": quota.unit, "needed": needed, "resources": resources}
    item: dict[str, Any] = {"resource_id": f"quota {quota.key} ({region}, {where})", "kind": "capacity",
                            "quota": record}
    label = f"{quota.label()} in {region}, {where}"
    try:
        if isinstance(in_use, Exception):
            raise in_use
        value = capacity.read_quota(ctx, account_id, region, quota)
    except Exception as exc:  # noqa: BLE001 - the quota or its usage could not be read
        return {**item, "ok": True, "level": "UNKNOWN", "message": (
            f"warning: {label}: this run needs {num(needed)} {quota.unit} ({detail}) but the quota or its usage "
            f"could not be read ({exc}) -- check it by hand; for the next run grant the quota reads "
            "(servicequotas:GetServiceQuota and GetAWSDefaultServiceQuota: include/iam/capacity.json) and the "
            "usage reads (the adapter's policy, include/iam/adapters/)")}
    used = float(in_use.get(quota.key, 0.0))
    level, percent = capacity.summary(quota, needed, used, value.value)
    total = used + needed
    record.update(level=level, in_use=used, value=value.value, source=value.source,
                  percent=round(percent, 1) if percent != float("inf") else None)
    share = "no quota at all" if percent == float("inf") else f"{percent:.0f} %"
    facts = (f"{label}: this run needs {num(needed)} {quota.unit} ({detail}), {num(used)} already in use: "
             f"{num(total)} of {num(value.value)} ({value.source}) = {share}")
    suggested = capacity.suggested_value(total)
    if quota.limit is not None:
        raise_it = quota.remedy
    else:
        raise_it = (f"raise it to at least {suggested} ({num(total)} needed and in use, with 20 % headroom): Service "
                    f"Quotas console, or `{capacity.increase_command(quota, region, suggested)}`"
                    + (f" with {where}'s credentials" if account_id else ""))
    if level == "CRITICAL":
        message = f"CRITICAL: {facts} -- the run would fail part-way; {raise_it}, then trigger again"
    elif level == "WARNING":
        message = f"WARNING: {facts} -- little room left; {raise_it}"
    else:
        message = f"{level}: {facts}"
    return {**item, "ok": level != "CRITICAL", "level": level, "message": message}
