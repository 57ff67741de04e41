"""DR orchestration for Apache Airflow: sources (manifest) -> plan -> adapters, with the Airflow glue kept apart.

Layout:
    plan/           the plan vocabulary: run request, plan, waves, work units, types (imports nothing above it)
    sources/        what produces plans: the manifest schema, loader and planner (next: tag discovery)
    adapters/       one module per AWS technology, all implementing ``adapters.base.Adapter``
    aws/            AWS sessions (hub + spoke accounts via STS) and client settings
    waiters/        botocore waiter models for what botocore itself lacks (DRS jobs, global clusters)
    orchestration/  the Airflow glue: DAG factory, operators, gates, triggers, notifications
    report/         the run report (plain Python)
"""
