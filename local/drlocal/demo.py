"""``make demo``: start the simulator, seed the demo estate, fail it over through Airflow, show the report."""

from __future__ import annotations

import os
from awssim.seed import demo_plan, plan_sessions, seed_estate

from drlocal.estate_table import estate_table


def main() -> int:
    """``make demo``: start the simulator, seed the demo estate, fail it over through Airflow, show the report."""
    import json
    import logging
    import subprocess
    import sys

    from awssim.server import SimulatorServer
    from awssim.snapshot import serving_roles

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWSSIM_DELAY_SECONDS", "1")
    os.environ.setdefault("DR_RETRY_DELAY_SECONDS", "5")
    os.environ.setdefault("DR_WAIT_POLL_SECONDS", "1")
    os.environ.setdefault("DR_HEALTH_POLL_SECONDS", "2")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    server = SimulatorServer().start()
    print(f"AWS simulator (moto + DRS/global-cluster extension) on {server.url}")
    os.environ["AWS_ENDPOINT_URL"] = server.url
    # The hub credentials come from the aws_default connection, pointed at the simulator.
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps({
        "conn_type": "aws", "login": "demo", "password": "demo",
        "extra": {"region_name": "us-east-1", "endpoint_url": server.url},
    })
    try:
        plan = demo_plan()
        seed_estate(plan)
        sessions = plan_sessions(plan)
        before = serving_roles(plan, sessions)
        print(f"\nestate before: {len(plan.resources)} resources\n")
        print(estate_table(plan, before))

        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        from dr_adapters.orchestration.factory import build_dags
        from drlocal.dag_runner import run_dag

        logging.getLogger("drlocal.dag_runner").setLevel(logging.INFO)
        dag = build_dags()[plan.dag_id]
        conf = {"operation": "failover", "confirm": f"{plan.scope.customer}/{plan.scope.environment}"}
        print(f"\nairflow: running {plan.dag_id} with conf {json.dumps(conf)}; "
              "each approval gate is answered 'Approve' by demo-approver")
        dag_run = run_dag(dag, conf)

        print(f"\nestate after the {conf['operation']} ({plan.regions.primary} -> {plan.regions.dr}):\n")
        print(estate_table(plan, before, serving_roles(plan, sessions)))
        from dr_adapters.report.render import report_dir

        reports = sorted((report_dir() / plan.dag_id).glob("*/report.txt"), key=lambda p: p.stat().st_mtime)
        if reports:
            print(f"\nreport ({reports[-1].parent}):\n")
            print(reports[-1].read_text())
        print(f"DAG run {dag_run.run_id}: {dag_run.state}")
        return 0 if str(dag_run.state) in ("success", "DagRunState.SUCCESS") else 1
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
