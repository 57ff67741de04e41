"""Synthetic estates at scale: manifests for N customers, each seedable in the simulator.

``synthetic_manifest("c0042", resources=50, waves=5)`` is one customer's manifest (a dict, as the
YAML file holds it) shaped like a real estate. Every technology's kit (``awssim.kits``) says its
share, its place in the wave order (databases first, DNS last), how many of its resources live in
the spoke account and what it depends on; for the five core kits that is the demo estate's mix (8 %
Aurora, 40 % DRS, 20 % ECS, 20 % Lambda, 12 % Route 53, a fifth in the spoke, half the DRS
servers, services depending on a database of their account). ``write_manifests`` writes N of them
for the parse-cost benchmark; ``awssim.seed.seed_estate`` seeds any of them, so the same generator
feeds the API-efficiency benchmark and the conformance suite. Deterministic: the same arguments
give the same files.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from awssim.kits import Kit, all_kits

HUB, SPOKE = "123456789012", "222222222222"
SPOKES = tuple(str(d) * 12 for d in range(2, 10))  # 222222222222, 333333333333, ...: up to 8 spoke accounts
REGIONS = {"primary": "us-east-1", "dr": "us-west-2"}


def _kits() -> list[Kit]:
    """One kit per technology with a share of synthetic estates (``Kit.share`` > 0), in wave order: what
    must be up first comes first. A kit with no share is left out, so adding a technology does not
    change the estates benchmarks and tests are measured on."""
    return sorted((k for k in all_kits() if k.share > 0), key=lambda k: (k.rank, k.kind))


def _counts(resources: int) -> dict[Kit, int]:
    """How many of each kit: at least one of each, the rest by their shares, summing to ``resources``."""
    kits = _kits()
    if resources < len(kits):
        raise ValueError(f"resources={resources}: a synthetic estate needs at least {len(kits)} (one per technology)")
    counts = {kit: max(1, int(resources * kit.share)) for kit in kits}
    counts[max(kits, key=lambda k: k.share)] += resources - sum(counts.values())
    return counts


def _waves_of(actions: list[Any], waves: int) -> list[list[int]]:
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


def synthetic_manifest(customer: str, resources: int = 50, waves: int = 5,
                       regions: dict[str, str] | None = None, spokes: int = 1) -> dict[str, Any]:
    """One customer's manifest; resource ids and AWS ids are derived from ``customer``. The spoke share
    of each kind is spread round-robin over ``spokes`` spoke accounts."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", customer):
        raise ValueError(f"customer={customer!r}: synthetic customers are lower-case letters, digits and '-', "
                         "starting with a letter, e.g. c0042")
    if not 1 <= spokes <= len(SPOKES):
        raise ValueError(f"spokes={spokes}: between 1 and {len(SPOKES)}")
    regions = dict(regions or REGIONS)
    counts = _counts(resources)

    def account_of(kit: Kit, n: int) -> str | None:
        """The n-th resource of a kind lives in a spoke every ``spoke_every``-th time, round-robin."""
        if n % kit.spoke_every != kit.spoke_every - 1:
            return None
        return SPOKES[(n // kit.spoke_every) % spokes]

    kits = [kit for kit in counts for _ in range(counts[kit])]
    first_of_kind = {kit.kind: kit for kit in counts}
    items: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for kit in kits:
        n = seen[kit.kind]  # this resource is the n-th of its kind
        seen[kit.kind] += 1
        # a share of each kind lives in the spoke account (DRS servers half and half, as DRS allows
        # 300 replicating servers per account and region: 1,500 resources fit)
        account = account_of(kit, n)
        in_spoke = account is not None
        # ids unique across customers: DRS seeds each server's hostname from its resource id
        item: dict[str, Any] = {"resourceId": f"{customer}-{kit.kind}-{n}", "action": kit.actions[0],
                                "config": kit.synthetic_config(customer, n, spoke=in_spoke)}
        if in_spoke:
            item["accountId"] = account
        upstream = first_of_kind.get(kit.depends_on or "")
        if upstream:
            # depend on a resource of the same account, if it has one (a spoke service on a spoke database)
            same = [d for d in range(counts[upstream]) if account_of(upstream, d) == account]
            if same:
                item["dependencies"] = [f"{customer}-{upstream.kind}-{same[n % len(same)]}"]
        items.append(item)
    layers = [{"layerId": f"wave-{w + 1}", "priority": w + 1, "resources": [items[i] for i in indexes]}
              for w, indexes in enumerate(_waves_of(kits, waves))]
    return {
        "manifestVersion": "1.0",
        "manifestId": f"{customer}-production",
        "description": f"synthetic estate: {resources} resources in {waves} waves",
        "customer": customer,
        "environment": "production",
        "regions": regions,
        "hubAccountId": HUB,
        "accounts": [{"accountId": spoke, "roleArn": f"arn:aws:iam::{spoke}:role/dr-orchestration",
                      "externalId": f"{customer}-dr-ext"} for spoke in SPOKES[:spokes]],
        "approvalRequired": True,
        "slaTargets": {"rto": 240, "rpo": 30},
        "drill": {"schedule": "0 6 * * 1"},
        "notifications": {"snsTopicArn": f"arn:aws:sns:{regions['dr']}:{HUB}:dr-events-{customer}"},
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


def every_kit_manifest(customer: str, regions: dict[str, str], waves: int = 4, spokes: int = 1,
                       copies: int = 1) -> dict[str, Any]:
    """Every technology in one estate: ``copies`` resources per kit (a new technology joins by having
    a kit), in ``waves`` waves by the kits' rank (databases and caches first, DNS last). Copies
    alternate between the hub and the spoke accounts, so with ``copies=2`` every kind lives in a spoke
    too (a spoke Aurora, a spoke DRS server...); with one copy, every other kit is in a spoke."""
    if not 1 <= spokes <= len(SPOKES):
        raise ValueError(f"spokes={spokes}: between 1 and {len(SPOKES)}")
    kits = sorted(all_kits(), key=lambda k: (k.rank, k.kind))
    if not 1 <= waves <= min(10, len(kits)):
        raise ValueError(f"waves={waves}: between 1 and {min(10, len(kits))} (one kit at least per wave)")
    size, extra = divmod(len(kits), waves)  # near-equal, contiguous, none empty
    bounds = [w * size + min(w, extra) for w in range(waves + 1)]
    layers = []
    for w in range(waves):
        resources = []
        for n, kit in enumerate(kits[bounds[w]:bounds[w + 1]]):
            for copy in range(copies):
                i = n * copies + copy  # alternate hub / spoke within the wave, the spokes in turn
                account = SPOKES[(w + i) // 2 % spokes] if (w + i) % 2 == 1 else None
                resources.append({"resourceId": f"{kit.kind}-{w}" + (f"-{copy}" if copies > 1 else ""),
                                  "action": kit.actions[0],
                                  "config": kit.synthetic_config(customer, w * copies + copy,
                                                                 spoke=account is not None),
                                  **({"accountId": account} if account else {})})
        layers.append({"layerId": f"wave-{w + 1}", "priority": w + 1, "resources": resources})
    return {
        "manifestId": f"{customer}-production", "customer": customer, "environment": "production",
        "regions": dict(regions), "hubAccountId": HUB, "approvalRequired": False,
        "accounts": [{"accountId": spoke, "roleArn": f"arn:aws:iam::{spoke}:role/dr-orchestration",
                      "externalId": f"{customer}-dr-ext"} for spoke in SPOKES[:spokes]],
        "slaTargets": {"rto": 240, "rpo": 30},
        "layers": layers,
    }
