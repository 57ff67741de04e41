"""``python -m awssim serve [--port N] [--seed demo]``: run the local AWS simulator."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from awssim.server import SimulatorServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m awssim")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulator on a loopback port until interrupted")
    serve.add_argument("--port", type=int, default=5055)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--seed", choices=["demo", "none"], default="demo")
    args = parser.parse_args()

    server = SimulatorServer(args.port, args.host).start()
    if args.seed == "demo":
        from awssim.demo import seed_demo_estate

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
        seed_demo_estate(server.url)
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
