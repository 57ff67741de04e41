"""Synthetic estates at scale: manifests for N customers, each seedable in the simulator.

``synthetic_manifest("c0042", resources=50, waves=5)`` is one customer's manifest (a dict, as the
YAML file holds it) shaped like a real estate: databases first, then servers, services, functions
and DNS last, with the mix of the demo estate (8 % Aurora, 40 % DRS, 20 % ECS, 20 % Lambda, 12 %
Route 53), a fifth of the resources (half the DRS servers) in a spoke account, and services
depending on a database of their account. ``write_manifests`` writes N of them for the parse-cost benchmark; ``seed_estate``
(awssim.demo) seeds any of them, so the same generator feeds the API-efficiency benchmark.
Deterministic: the same arguments give the same files.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HUB, SPOKE = "123456789012", "222222222222"
REGIONS = {"primary": "us-east-1", "dr": "us-west-2"}
# (action, share of the resources), in wave order: what must be up first comes first.
MIX = (("AuroraMySQL", 0.08), ("DRS", 0.40), ("EcsService", 0.20), ("LambdaFunction", 0.20), ("R53Record", 0.12))


def _counts(resources: int) -> dict[str, int]:
    """How many of each action: at least one of each, the rest by the mix, summing to ``resources``."""
    if resources < len(MIX):
        raise ValueError(f"resources={resources}: a synthetic estate needs at least {len(MIX)} (one per action)")
    counts = {action: max(1, int(resources * share)) for action, share in MIX}
    counts["DRS"] += resources - sum(counts.values())
    return counts


def _waves_of(actions: list[str], waves: int) -> list[list[int]]:
    """Split the ordered resources into ``waves`` contiguous, non-empty waves of near-equal size."""
    if not 1 <= waves <= len(actions):
        raise ValueError(f"waves={waves}: must be between 1 and the number of resources ({len(actions)})")
    size, extra = divmod(len(actions), waves)
    out, start = [], 0
    for w in range(waves):
        end = start + size + (1 if w < extra else 0)
        out.append(list(range(start, end)))
        start = end
    return out


def _config(action: str, customer: str, n: int) -> dict[str, Any]:
    if action == "AuroraMySQL":
        return {"globalClusterIdentifier": f"{customer}-db{n}-global", "primaryClusterIdentifier": f"{customer}-db{n}-use1",
                "drClusterIdentifier": f"{customer}-db{n}-usw2"}
    if action == "DRS":
        return {"sourceServerId": f"s-{int(customer[1:]) % 16**9:09x}{n:08x}"}
    if action == "EcsService":
        return {"cluster": f"{customer}-prod", "service": f"svc-{n}", "desiredCount": 2}
    if action == "LambdaFunction":
        return {"functionName": f"{customer}-fn-{n}", "alias": "live"}
    return {"hostedZoneId": f"Z{int(customer[1:]):05d}SYNTH{'S' if n % 5 == 4 else 'H'}", "recordName": f"r{n}.{customer}.example.",
            "primaryValues": [f"r{n}-use1.{customer}.example."], "drValues": [f"r{n}-usw2.{customer}.example."]}


def synthetic_manifest(customer: str, resources: int = 50, waves: int = 5) -> dict[str, Any]:
    """One customer's manifest. ``customer`` is ``c`` + digits (``c0042``): ids are derived from it."""
    if not (customer[:1] == "c" and customer[1:].isdigit()):
        raise ValueError(f"customer={customer!r}: synthetic customers are named c<digits>, e.g. c0042")
    counts = _counts(resources)
    actions = [action for action, _ in MIX for _ in range(counts[action])]
    items: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for action in actions:
        n = seen[action]  # this resource is the n-th of its kind
        seen[action] += 1
        kind = {"AuroraMySQL": "db", "DRS": "srv", "EcsService": "svc", "LambdaFunction": "fn", "R53Record": "dns"}[action]
        # ids unique across customers: DRS seeds each server's hostname from its resource id
        item: dict[str, Any] = {"resourceId": f"{customer}-{kind}-{n}", "action": action,
                                "config": _config(action, customer, n)}
        # a fifth of each kind lives in the spoke account; DRS servers half and half, as DRS allows
        # 300 replicating servers per account and region (1,500 resources fit)
        in_spoke = n % 2 == 1 if action == "DRS" else n % 5 == 4
        if in_spoke:
            item["accountId"] = SPOKE
        if action == "EcsService" and counts["AuroraMySQL"]:
            # depend on a database of the same account, if it has one (a spoke service on a spoke database)
            dbs = [d for d in range(counts["AuroraMySQL"]) if (d % 5 == 4) == in_spoke]
            if dbs:
                item["dependencies"] = [f"{customer}-db-{dbs[n % len(dbs)]}"]
        items.append(item)
    layers = [{"layerId": f"wave-{w + 1}", "priority": w + 1, "resources": [items[i] for i in indexes]}
              for w, indexes in enumerate(_waves_of(actions, waves))]
    return {
        "manifestVersion": "1.0",
        "manifestId": f"{customer}-production",
        "description": f"synthetic estate: {resources} resources in {waves} waves",
        "customer": customer,
        "environment": "production",
        "regions": dict(REGIONS),
        "hubAccountId": HUB,
        "accounts": [{"accountId": SPOKE, "roleArn": f"arn:aws:iam::{SPOKE}:role/dr-orchestration",
                      "externalId": f"{customer}-dr-ext"}],
        "approvalRequired": True,
        "slaTargets": {"rto": 240, "rpo": 30},
        "drill": {"schedule": "0 6 * * 1"},
        "notifications": {"snsTopicArn": f"arn:aws:sns:us-west-2:{HUB}:dr-events-{customer}"},
        "layers": layers,
    }


def write_manifests(folder: str | Path, customers: int, resources: int = 50, waves: int = 5) -> list[Path]:
    """``customers`` manifests ``c0000-production.yaml`` ... in ``folder`` (created); returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for c in range(customers):
        customer = f"c{c:04d}"
        path = folder / f"{customer}-production.yaml"
        path.write_text(yaml.safe_dump(synthetic_manifest(customer, resources, waves), sort_keys=False))
        paths.append(path)
    return paths
