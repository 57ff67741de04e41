"""The settings a local Airflow needs to run this project against the simulator, on any port.

``airflow standalone`` on another port than 8080 is not enough by itself: the task workers report to
the execution API at ``[core] execution_api_server_url``, which defaults to localhost:8080, so every
task fails with "connection refused" unless it follows the API port. ``airflow_env`` gives the whole
set; from a shell (after ``make venv`` and ``. .venv/bin/activate``)::

    eval "$(python -m drlocal.airflow_env --port 8090 --simulator http://127.0.0.1:5055)"
    airflow standalone

The end-to-end tests start their Airflow with these same settings on a free port.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def airflow_env(port: int = 8080, simulator_url: str = "http://127.0.0.1:5055", *,
                home: Path | None = None, host: str = "127.0.0.1", access_key: str = "demo",
                secret_key: str = "demo", hub_region: str = "us-east-1") -> dict[str, str]:
    """Environment for the Airflow components (API server, scheduler, DAG processor, triggerer,
    workers) of a local run: this checkout's DAGs and plugins, the API on ``port`` with the workers'
    execution API on the same port, and the hub connection pointed at the simulator."""
    url = f"http://{host}:{port}"
    return {
        "AIRFLOW_HOME": str(home or ROOT / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,  # links in notifications and the UI
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",  # where workers report
        "DR_MANIFEST_DIR": str(ROOT / "include" / "manifests"),
        "DR_WAIT_POLL_SECONDS": "1",
        "DR_HEALTH_POLL_SECONDS": "2",  # the simulator settles in seconds: re-check health that often
        "DR_PREEMPT_POLL_SECONDS": "2",  # a failover waiting for a drill to stand down looks this often
        "AWS_EC2_METADATA_DISABLED": "true",  # credentials come from the connection, never the host
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({
            "conn_type": "aws", "login": access_key, "password": secret_key,
            "extra": {"region_name": hub_region, "endpoint_url": simulator_url},
        }),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drlocal.airflow_env",
                                     description="print the exports a local Airflow needs (eval them)")
    parser.add_argument("--port", type=int, default=8080, help="the API server's port (default 8080)")
    parser.add_argument("--simulator", default="http://127.0.0.1:5055", metavar="URL",
                        help="the AWS simulator (python -m awssim serve --port N)")
    parser.add_argument("--home", type=Path, help="AIRFLOW_HOME (default: .airflow in the checkout)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: a TCP port is 1-65535")
    if not args.simulator.startswith(("http://", "https://")):
        parser.error(f"--simulator {args.simulator}: a URL such as http://127.0.0.1:5055")
    for name, value in airflow_env(args.port, args.simulator, home=args.home).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
