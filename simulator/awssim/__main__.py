"""``python -m awssim serve [--port N] [--seed demo|none|PATH] [--no-explorer] [--outage REGION[,REGION]]``:
run the local AWS simulator.

``--seed PATH`` seeds the estate of every manifest in a folder (or of one manifest file), with
Resource Explorer on in its accounts unless ``--no-explorer`` (then tag discovery must fall back to
the Tagging API); ``--outage`` takes regions dark once seeded (``POST /_awssim/outage`` changes it at
run time).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from awssim.server import SimulatorServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m awssim")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulator on a loopback port until interrupted")
    serve.add_argument("--port", type=int, default=5055)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--seed", default="demo", metavar="demo|none|PATH",
                       help="the demo estate (default), nothing, or the estates of the manifests at PATH")
    serve.add_argument("--no-explorer", dest="explorer", action="store_false",
                       help="seed without Resource Explorer indexes and views (discovery uses the Tagging API)")
    serve.add_argument("--outage", default="", metavar="REGION[,REGION]",
                       help="regions to take dark once seeded: their requests are dropped like a dead endpoint's")
    args = parser.parse_args()
    from awssim import outage

    try:
        outage.set_dark([])  # validate the names before starting anything
        dark = [r for r in args.outage.split(",") if r.strip()]
        outage.set_dark(dark)
        outage.set_dark([])
    except ValueError as exc:
        parser.error(f"--outage {args.outage}: {exc}")

    if args.seed not in ("demo", "none") and not Path(args.seed).exists():
        parser.error(f"--seed {args.seed}: no such manifest file or folder (or use demo / none)")
    server = SimulatorServer(args.port, args.host).start()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    if args.seed == "demo":
        from awssim.seed import seed_demo_estate

        seed_demo_estate(server.url, explorer=args.explorer)
    elif args.seed != "none":
        from awssim.seed import seed_manifests

        seeded = seed_manifests(Path(args.seed), server.url, explorer=args.explorer)
        print(f"seeded the estates of {len(seeded)} manifests from {args.seed}", flush=True)
    if dark:  # after seeding: the estate is built while every region is up
        print(f"regions dark: {', '.join(outage.set_dark(dark))}", flush=True)
    print(f"AWS simulator listening on {server.url} (Ctrl-C to stop)", flush=True)
    stop = threading.Event()
    # A background process ignores SIGINT: stop cleanly on SIGTERM too.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
