"""ECS kit: a service in each region (the primary's serving, DR's at desired count 0), both carrying the
resource's tags (the shared cluster and the task definitions are not the DR resource: left untagged)."""

from __future__ import annotations

from typing import Any

import boto3

from awssim.kits import Drive, Estate, Kit, Seed


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
    tags: dict[str, str] | None = None,
) -> str:
    """Create (or reuse) the cluster and task definition, create the service; return its ARN. The
    service is tagged with ``tags`` (default: just Customer and Environment)."""
    tags = tags or {"Customer": customer, "Environment": environment}
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
        tags=[{"key": k, "value": v} for k, v in tags.items()],
    )["service"]["serviceArn"]
    if desired_count:
        # moto starts a new service with 0 running tasks and never starts more; an update with the
        # same count makes it report runningCount == desiredCount, as a settled real service would.
        ecs.update_service(cluster=cluster, service=service, desiredCount=desired_count)
    return arn


def network(session: boto3.Session, region: str, name: str) -> tuple[str, str]:
    """A VPC with one subnet and one security group in ``region``: (subnet id, group id)."""
    ec2 = session.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    return subnet, ec2.create_security_group(VpcId=vpc, GroupName=name, Description=name)["GroupId"]


def _sides(estate: Estate, config: dict[str, Any]) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """(region, cluster, service) of the primary and the DR copy, as the manifest names them."""
    return ((estate.primary, config["cluster"], config["service"]),
            (estate.dr, config.get("drCluster") or config["cluster"], config.get("drService") or config["service"]))


class EcsServiceKit(Kit):
    actions = ("EcsService",)
    services = ("ecs",)
    acts = {"failover": frozenset({"ACTIVATE", "CLEANUP"}), "failback": frozenset({"ACTIVATE", "CLEANUP"})}
    kind, share, rank = "svc", 0.20, 30
    depends_on = "db"
    config_tags = {"drCluster": "dr:dr-cluster", "drService": "dr:dr-service", "taskDefinition": "dr:task-definition",
                   "launchType": "dr:launch-type", "subnets": "dr:subnets", "securityGroups": "dr:security-groups"}

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        return {"cluster": f"{customer}-prod", "service": f"svc-{n}", "desiredCount": 2}

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        for item in items:
            c, session = item.resource.config, estate.session(item.resource.account_id)
            (primary, cluster, service), (dr, dr_cluster, dr_service) = _sides(estate, c)
            seed_service(session, primary, cluster=cluster, service=service, desired_count=c["desiredCount"],
                         tags=item.tags)
            seed_service(session, dr, cluster=dr_cluster, service=dr_service, desired_count=0, tags=item.tags)

    def serving_role(self, estate: Estate, resource: Any) -> Any:
        counts = {}
        for region, cluster, service in _sides(estate, resource.config):
            ecs = estate.session(resource.account_id).client("ecs", region_name=region)
            found = ecs.describe_services(cluster=cluster, services=[service])["services"]
            counts[estate.side(region)] = found[0]["desiredCount"] if found else None
        return counts

    def serves_from(self, resource: Any, role: Any) -> str | None:
        serving = {side for side, count in role.items() if count}
        return next(iter(serving)) if len(serving) == 1 else None

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        return bool(self.serving_role(estate, resource).get(side))

    def state(self, session: boto3.Session, region: str) -> Any:
        ecs = session.client("ecs", region_name=region)
        state = {}
        for cluster in ecs.list_clusters()["clusterArns"]:
            arns = ecs.list_services(cluster=cluster)["serviceArns"]
            services = ecs.describe_services(cluster=cluster, services=arns)["services"] if arns else []
            state[cluster] = sorted((x["serviceName"], x["desiredCount"]) for x in services)
        return state

    def break_resource(self, estate: Estate, resource: Any) -> str:
        _, (dr, cluster, service) = _sides(estate, resource.config)
        estate.session(resource.account_id).client("ecs", region_name=dr).delete_service(
            cluster=cluster, service=service, force=True)
        return "does not exist"

    prerequisites = ("cluster", "task role")

    def break_prerequisite(self, estate: Estate, resource: Any, which: str) -> str:
        _, (dr, cluster, service) = _sides(estate, resource.config)
        ecs = estate.session(resource.account_id).client("ecs", region_name=dr)
        if which == "cluster":  # AWS deletes no cluster with active services: the service goes first
            ecs.delete_service(cluster=cluster, service=service, force=True)
            ecs.delete_cluster(cluster=cluster)
            return f"ECS cluster {cluster}"
        # a new revision whose tasks assume a role that does not exist, deployed to the DR service
        current = ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"]
        td = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
        account = estate.account(resource.account_id)
        revision = ecs.register_task_definition(
            family=td["family"], containerDefinitions=td["containerDefinitions"],
            taskRoleArn=f"arn:aws:iam::{account}:role/{service}-task-gone")["taskDefinition"]["taskDefinitionArn"]
        ecs.update_service(cluster=cluster, service=service, taskDefinition=revision)
        return f"{service}-task-gone"

    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        # The DR service does not exist yet: INSTANTIATE creates it from taskDefinition (CreateService), in
        # the subnet and security group the config names, its tasks assuming the role the task definition
        # names (preflight reads all three). It runs on Fargate, beside a Fargate task already running there:
        # preflight counts the vCPUs its tasks will take, and those in use (ListClusters, ListTasks, DescribeTasks).
        session = estate.sessions[None]
        seed_service(session, estate.primary, cluster="iam-web", service="iam-front", desired_count=2,
                     customer=estate.customer, environment=estate.environment)
        dr = session.client("ecs", region_name=estate.dr)
        dr.create_cluster(clusterName="iam-web")
        subnet, group = network(session, estate.dr, "iam-front")
        role = session.client("iam").create_role(RoleName="iam-front-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        dr.register_task_definition(family="iam-front", networkMode="awsvpc", executionRoleArn=role, cpu="256",
                                    memory="512", requiresCompatibilities=["FARGATE"],
                                    containerDefinitions=[{"name": "f", "image": "x", "memory": 64}])
        dr.run_task(cluster="iam-web", taskDefinition="iam-front:1", launchType="FARGATE", networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})
        changes = drive("failover", [{"resourceId": "iam-front", "action": "EcsService", "config": {
            "cluster": "iam-web", "service": "iam-front", "desiredCount": 2, "taskDefinition": "iam-front:1",
            "launchType": "FARGATE", "subnets": [subnet], "securityGroups": [group]}}])
        assert any(c["operation"] == "create_service" for c in changes)
