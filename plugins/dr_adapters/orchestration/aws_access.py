"""AWS sessions for a task or trigger: hub credentials from the Airflow connection, spokes via STS."""

from __future__ import annotations

from dr_adapters.aws.sessions import AccountSessions, role_session_name
from dr_adapters.plan.model import Plan

DEFAULT_CONN_ID = "aws_default"


def sessions_for(plan: Plan, run_id: str, aws_conn_id: str = DEFAULT_CONN_ID) -> AccountSessions:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="sts")
    return AccountSessions(
        hook.get_session(region_name=plan.regions.primary),
        plan.accounts,
        session_name=role_session_name(f"{plan.dag_id}-{run_id}"),
        endpoint_url=hook.conn_config.endpoint_url,
        hub_account_id=plan.hub_account_id,
    )
