"""Seed an ECS service: cluster + task definition + service, tagged for a customer's scope."""

from __future__ import annotations

from typing import Any

import boto3


def seed_service(
    session: boto3.Session,
    region: str,
    *,
    cluster: str,
    service: str,
    desired_count: int,
    customer: str = "acme",
    environment: str = "production",
    family: str | None = None,
    image: str = "public.ecr.aws/nginx/nginx:latest",
) -> str:
    """Create (or reuse) the cluster and task definition, create the service; return its ARN."""
    ecs: Any = session.client("ecs", region_name=region)
    ecs.create_cluster(clusterName=cluster)  # idempotent in ECS
    task_def = ecs.register_task_definition(
        family=family or service,
        containerDefinitions=[{"name": service, "image": image, "memory": 128, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition=task_def,
        desiredCount=desired_count,
        tags=[{"key": "Customer", "value": customer}, {"key": "Environment", "value": environment}],
    )["service"]["serviceArn"]
    if desired_count:
        # moto starts a new service with 0 running tasks and never starts more; an update with the
        # same count makes it report runningCount == desiredCount, as a settled real service would.
        ecs.update_service(cluster=cluster, service=service, desiredCount=desired_count)
    return arn
