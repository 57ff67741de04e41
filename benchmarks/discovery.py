"""Tag discovery at scale: how long finding and deriving 1,000 DR-tagged resources takes, and how many
API calls it makes (SRS: 1,000+ resources in under 5 minutes; our aim: under 30 s).

    python benchmarks/discovery.py [--resources 1140] [--spokes 2] [--repeat 3]

A synthetic estate (the demo's mix of Aurora, DRS, ECS, Lambda and Route 53; hub plus ``--spokes``
spoke accounts) is seeded in the simulator server from eu-west-1 to ap-southeast-2, every resource
tagged as the kits tag it (both sides of each, DRS's origin instances too). 1,140 resources give
1,000+ discoverable ones (the rest are Route 53 records) and about 2,500 tagged ARNs. Discovery then runs as
``python -m dr_adapters discover`` runs it, over HTTP: every account and region searched in parallel,
each adapter deriving its configs from AWS. Both methods are measured: Resource Explorer ``Search``
(indexes and default views seeded) and the Tagging API's ``GetResources``. Each run must find every
tagged resource of the estate (Route 53 records are not taggable: they stay hand-listed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from common import ROOT, print_targets, save

sys.path[:0] = [str(ROOT / "local")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=1140)
    parser.add_argument("--spokes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWSSIM_DELAY_SECONDS": "0"})

    import boto3
    from awssim.seed import seed_estate
    from awssim.server import SimulatorServer
    from awssim.synthetic import synthetic_manifest

    from dr_adapters.aws.sessions import AccountSessions
    from dr_adapters.sources.discovery import discover, scope_of
    from dr_adapters.sources.loader import validate_data
    from dr_adapters.sources.planner import build_plan

    regions = {"primary": "eu-west-1", "dr": "ap-southeast-2"}
    data = synthetic_manifest("bench", args.resources, 5, regions, spokes=args.spokes)
    plan = build_plan(validate_data(data, "bench"), "bench")
    tagged = {rid for rid, r in plan.resources.items() if r.action != "R53Record"}

    server = SimulatorServer().start()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    samples: dict[str, dict[str, list[float]]] = {}
    try:
        t0 = time.perf_counter()
        seed_estate(plan)
        print(f"  seeded {len(plan.resources)} resources in {1 + args.spokes} accounts x 2 regions "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        for method in ("resource-explorer", "tagging-api"):
            scope = scope_of(plan)
            scope = type(scope)(**{**scope.__dict__, "method": method})
            runs: dict[str, list[float]] = {"seconds": [], "calls": [], "tagged_arns": []}
            for n in range(args.repeat):
                aws = AccountSessions(boto3.Session(), plan.accounts, hub_account_id=plan.hub_account_id,
                                      endpoint_url=server.url, sts_region=regions["dr"])
                result = discover(scope, aws, hub_account=plan.hub_account_id)
                found = {f.resource_id for f in result.resources}
                assert found == tagged and not result.errors, (sorted(tagged ^ found)[:5], result.errors[:3])
                used = {c.method for c in result.cells}
                runs["seconds"].append(round(result.seconds, 2))
                runs["calls"].append(result.calls)
                runs["tagged_arns"].append(sum(len(c.found) for c in result.cells))
                print(f"  {method} run {n + 1}: {len(found)} resources from {runs['tagged_arns'][-1]} tagged ARNs "
                      f"in {result.seconds:.1f} s, "
                      f"{result.calls} API calls (answered by: {', '.join(sorted(used))})", flush=True)
            samples[method] = runs
    finally:
        server.stop()

    med: dict[str, Any] = {m: {k: statistics.median(v) for k, v in runs.items()} for m, runs in samples.items()}
    slowest = max(max(runs["seconds"]) for runs in samples.values())
    result = {
        "command": f"python benchmarks/discovery.py --resources {args.resources} --spokes {args.spokes} "
                   f"--repeat {args.repeat}",
        "resources": len(plan.resources), "tagged_resources": len(tagged), "accounts": 1 + args.spokes,
        "regions": regions, "samples": samples, "median": med,
        "targets": {
            "1,000+ resources discovered in under 5 minutes (SRS)": "met" if slowest <= 300 else "NOT met",
            "... and in under 30 s here (our aim)": "met" if slowest <= 30 else "NOT met",
        },
    }
    out = save("discovery", result)
    print(f"Discovery: {len(tagged)} tagged resources (+{len(plan.resources) - len(tagged)} hand-listed DNS records), "
          f"{1 + args.spokes} accounts x 2 regions (median of {args.repeat})")
    for method, m in med.items():
        print(f"  {method}: {m['seconds']:.1f} s, {m['calls']:.0f} API calls")
    print_targets(result, out)


if __name__ == "__main__":
    main()
