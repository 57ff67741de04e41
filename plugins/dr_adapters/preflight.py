"""Preflight (SPEC 5): read-only checks of every resource of the selected waves, before any change.

Accounts are checked in parallel; one account that cannot be reached (its role cannot be assumed,
its API refuses) is reported for its resources without stopping the other accounts' checks. A
resource whose Customer/Environment tags do not match the run's scope is a failing finding: the
scope guard that keeps one customer's run off another customer's resources.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_adapters.adapters.base import RunContext
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.plan.model import Plan, WorkUnit
from dr_adapters.plan.run_request import RunRequest
from dr_adapters.plan.types import Operation

MAX_ACCOUNTS_IN_PARALLEL = 8


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
    """One finding per check: ``{"resource_id", "ok", "message"}``; first each account's regions."""
    by_account: dict[str | None, list[WorkUnit]] = {}
    for wave in plan.waves:
        if request.wave_selected(wave.number):
            for unit in wave.units:
                by_account.setdefault(unit.account_id, []).append(unit)

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
        if request.operation is Operation.REPROTECT:
            # The failover-readiness checks (replication healthy, within RPO) describe the way the run
            # already went; what a reprotect needs is both regions answering, and each of its phases
            # checks (and scope-guards) what it touches.
            return found + [{"resource_id": r, "ok": True, "message": "reprotect: checked by CLEANUP and REPLICATE"}
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
        return found

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
    if request.unplanned or request.operation is Operation.REPROTECT:
        why = "the region being left is dark" if request.unplanned else "a reprotect changes no plan"
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
