"""AWS sessions for a task or trigger: hub credentials from the Airflow connection, spokes via STS.

A DR tool must not depend on the region it is escaping: spoke sessions come from the STS endpoint of
the region the orchestrator works from -- ``DR_ORCHESTRATOR_REGION`` (set it to the region MWAA runs
in; recommended: the DR region), else the region the run moves to -- never the region being left.
"""

from __future__ import annotations

import os

from dr_adapters.aws.sessions import AccountSessions, role_session_name
from dr_adapters.plan.model import Plan
from dr_adapters.plan.types import Operation

DEFAULT_CONN_ID = "aws_default"


def home_region(default: str) -> str:
    """The region the orchestrator works from (``DR_ORCHESTRATOR_REGION``), else ``default``."""
    return os.environ.get("DR_ORCHESTRATOR_REGION") or default


def orchestrator_region(plan: Plan, operation: Operation | None) -> str:
    """Where the hub's own calls go (STS for the spokes): the configured home, else the run's target."""
    return home_region(plan.regions.target(operation or Operation.FAILOVER))


def sessions_for(plan: Plan, run_id: str, aws_conn_id: str = DEFAULT_CONN_ID, *, home_region: str) -> AccountSessions:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="sts")
    return AccountSessions(
        hook.get_session(region_name=home_region),
        plan.accounts,
        session_name=role_session_name(f"{plan.dag_id}-{run_id}"),
        endpoint_url=hook.conn_config.endpoint_url,
        hub_account_id=plan.hub_account_id,
        sts_region=home_region,
        hub_role_arn=plan.hub_role_arn,
    )
