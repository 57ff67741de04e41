"""Discovered estates as snapshot manifests, and what discovery and drift say about them.

``discover`` writes a snapshot: the scope manifest as written (header, discovery block, hand-listed
layers) with the discovered resources merged into its layers and an ``inventory`` block saying when
and from what. It is reviewed and deployed like any manifest; the DAG factory builds from it and
never calls AWS. At run time preflight discovers again and compares (``drift``): what was tagged,
untagged or moved since, stops a failover before any change.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from dr_adapters.adapters.registry import adapter_for
from dr_adapters.sources.discovery import Discovered, Found
from dr_adapters.sources.loader import validate_data
from dr_adapters.sources.manifest import Manifest
from dr_adapters.sources.tags import TagProblem


def default_inventory_path(scope_path: str | Path, manifest_id: str) -> Path:
    """``include/inventory/<manifestId>.yaml`` beside the scope's folder (``include/manifests``)."""
    return Path(scope_path).resolve().parent.parent / "inventory" / f"{manifest_id}.yaml"


def hand_identities(manifest: Any, hub_account: str) -> dict[str, str]:
    """identity -> resourceId of every hand-listed entry of a manifest or plan (``Adapter.identity``)."""
    if hasattr(manifest, "layers") and not hasattr(manifest, "waves"):
        entries = [(r.action, r.config.model_dump(by_alias=True, exclude_unset=True), r.account_id, r.resource_id,
                    r.discovered_from) for _, r in manifest.resources()]
    else:
        entries = [(r.action, r.config, r.account_id, r.resource_id, r.discovered_from)
                   for r in manifest.resources.values()]
    return {adapter_for(action).identity(config, account or hub_account): rid
            for action, config, account, rid, discovered in entries if not discovered}


def entry(found: Found) -> dict[str, Any]:
    """A discovered resource as its manifest entry."""
    out: dict[str, Any] = {"resourceId": found.resource_id, "action": found.action}
    if found.account_id:
        out["accountId"] = found.account_id
    out["config"] = found.config
    if found.dependencies:
        out["dependencies"] = list(found.dependencies)
    if found.health_check_url:
        out["healthCheckUrl"] = found.health_check_url
    out["priority"] = found.priority
    out["discoveredFrom"] = found.arn
    return out


def snapshot(scope: Manifest, raw: dict[str, Any], result: Discovered, scope_source: str,
             out_source: str = "snapshot") -> tuple[dict[str, Any], list[TagProblem]]:
    """The snapshot manifest data and the merge's own notes (a hand-written entry wins over a discovered one)."""
    notes: list[TagProblem] = []
    hand = hand_identities(scope, result.hub_account)
    hand_ids = {r.resource_id for _, r in scope.resources()}
    layers = {layer["priority"]: copy.deepcopy(layer) for layer in raw.get("layers") or []}
    for found in sorted(result.resources, key=lambda f: (f.wave, f.resource_id)):
        if found.identity in hand or found.resource_id in hand_ids:
            rid = hand.get(found.identity, found.resource_id)
            notes.append(TagProblem(found.arn, "dr:enabled", "true", f"is also hand-listed as {rid!r}: the hand-written "
                                    "entry is used", "nothing to do (or drop the hand-written entry)", error=False))
            continue
        layer = layers.setdefault(found.wave, {"layerId": f"wave-{found.wave}", "priority": found.wave, "resources": []})
        layer["resources"].append(entry(found))
    data = {k: v for k, v in raw.items() if k not in ("layers", "inventory")}
    data["layers"] = [layers[n] for n in sorted(layers) if layers[n]["resources"]]
    data["inventory"] = {
        "discoveredAt": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "scope": scope_source,
        "problems": [str(p) for p in result.problems + notes],
    }
    validate_data(data, out_source)  # a snapshot that would not load must never be written
    return data, notes


def write_snapshot(data: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ("# Snapshot of a tag-driven DR estate, written by `python -m dr_adapters discover`.\n"
              "# Review it like any change (git diff), then deploy it; run discover again after re-tagging.\n")
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=120), encoding="utf-8")
    return path


def summary(result: Discovered, problems: list[TagProblem], out: Path | None = None) -> str:
    """What discovery found: per account and region, by technology, waves, problems, time and calls."""
    scope = result.scope
    accounts = len(scope.accounts)
    lines = [f"discovered {scope.customer}/{scope.environment}: {len(result.resources)} resources in {accounts} "
             f"account(s) x {len(scope.regions)} region(s), {result.seconds:.1f} s, {result.calls} API calls"]
    for cell in result.cells:
        where = f"  {cell.account or result.hub_account + ' (hub)'} {cell.region}:"
        if cell.error:
            lines.append(f"{where} FAILED ({cell.seconds:.1f} s): {cell.error}")
            continue
        kinds = Counter(t.resource_type for t in cell.found)
        found = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "nothing tagged"
        how = cell.method + (f" (Resource Explorer: {cell.fallback})" if cell.fallback else "")
        lines.append(f"{where} {len(cell.found)} tagged [{found}] via {how}, {cell.seconds:.1f} s")
    by_action = Counter(f.action for f in result.resources)
    lines.append("by technology: " + (", ".join(f"{a} {n}" for a, n in sorted(by_action.items())) or "none"))
    waves = Counter(f.wave for f in result.resources)
    lines.append("waves: " + (", ".join(f"{w}: {n}" for w, n in sorted(waves.items())) or "none"))
    if result.failed_accounts:
        lines.append("NOT SEARCHED (its resources are missing from the snapshot): " + "; ".join(
            f"{a}: {e}" for a, e in result.failed_accounts.items()))
    errors = [p for p in problems if p.error]
    if problems:
        lines.append(f"problems: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
        lines += [f"  {p}" for p in problems]
    if out:
        lines.append(f"snapshot written: {out} -- review it, then deploy it with the DAGs")
    return "\n".join(lines)


def drift(plan: Any, result: Discovered) -> list[str]:
    """How the tagged estate differs from the plan a DAG was built from: tagged since, gone, wave moved.
    Hand-listed entries are the manifest's business and are not compared."""
    planned: dict[str, tuple[str, int]] = {}
    for wave in plan.waves:
        for unit in wave.units:
            for r in unit.resources:
                if r.discovered_from:
                    account = r.account_id or result.hub_account
                    planned[adapter_for(r.action).identity(r.config, account)] = (r.resource_id, wave.number)
    hand = hand_identities(plan, result.hub_account)
    failed = set(result.failed_accounts)
    out = []
    for f in result.resources:
        if f.identity in hand:
            continue
        if f.identity not in planned:
            out.append(f"{f.resource_id} ({f.arn}) is tagged for wave {f.wave} but not in the plan")
        elif planned[f.identity][1] != f.wave:
            out.append(f"{planned[f.identity][0]} ({f.arn}) moved from wave {planned[f.identity][1]} to {f.wave}")
    now = result.identities()
    for identity, (rid, wave) in planned.items():
        if identity not in now and identity.split("/")[1] not in failed:
            out.append(f"{rid} (wave {wave}) is in the plan but no longer found: untagged, gone, or a tag of it "
                       "now has an error (discover names it)")
    return out


def unprotected(plan: Any, result: Discovered) -> list[str]:
    """Resources tagged dr:enabled for the plan's customer and environment that it does not hold."""
    held = {adapter_for(r.action).identity(r.config, r.account_id or result.hub_account)
            for r in plan.resources.values()}
    out = [f"{f.resource_id} ({f.action}, {f.arn}) is tagged for wave {f.wave} but not in the manifest"
           for f in result.resources if f.identity not in held]
    out += [f"{p.arn}: {p.problem}" for p in result.problems
            if p.error and p.tag == "dr:enabled" and "left out" in p.problem]
    return out
