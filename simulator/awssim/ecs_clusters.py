"""ECS services refused where AWS refuses them, on top of moto's ECS.

moto 5.2 keeps a deleted cluster as ``INACTIVE`` (as AWS does, for a while) but then creates and scales
services inside it as if it were live, deletes a cluster that still runs services, and creates a
service of an ``awsvpc`` task definition without a network configuration. A DR failover that creates
or scales its service in such a cluster "succeeds" in moto and fails on AWS, after earlier waves have
already moved databases. We refuse them as AWS does, with the errors of botocore's ECS model:

* ``CreateService`` / ``UpdateService`` in an ``INACTIVE`` cluster: ``ClusterNotFoundException`` "The
  referenced cluster was inactive." (in a cluster that never existed moto already answers
  ``ClusterNotFoundException`` "Cluster not found.");
* ``CreateService`` (or ``UpdateService`` to) an ``INACTIVE`` task definition revision: ``ClientException``
  "TaskDefinition is inactive";
* ``CreateService`` of a task definition whose ``networkMode`` is ``awsvpc`` without
  ``networkConfiguration``: ``InvalidParameterException`` "Network Configuration must be provided when
  networkMode 'awsvpc' is specified.";
* ``CreateService`` naming subnets or security groups that do not exist in its region:
  ``InvalidParameterException`` "Error retrieving subnet information for [...]: The subnet ID '...' does
  not exist (ErrorCode: InvalidSubnetID.NotFound)" naming the missing one (moto refuses them too, but
  names any of the listed ones, existing or not);
* ``DeleteCluster`` while services are ``ACTIVE`` in it: ``ClusterContainsServicesException``.

And what moto cannot do, for tasks to count against the region's Fargate vCPU quota as on AWS: ``RunTask`` of
an ``awsvpc`` task (every Fargate task) failed inside moto, its network interface having no private DNS name (it
gets the name EC2 gives it, ``ip-10-0-1-5.<region>.compute.internal``); a task carries its task definition's
``cpu`` and ``memory``, as ``DescribeTasks`` answers them; ``ListTasks`` honours ``launchType``.

The checks wrap moto's backend methods, so they answer in-process and in server mode alike.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs.exceptions import ECSException, EcsClientException, InvalidParameterException
from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend, Task
from moto.ecs.responses import EC2ContainerServiceResponse


class ClusterNotFoundException(ECSException):
    def __init__(self, message: str):
        super().__init__("ClusterNotFoundException", message)


class ClusterContainsServicesException(ECSException):
    def __init__(self) -> None:
        super().__init__("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")


def _live_cluster(backend: EC2ContainerServiceBackend, cluster_str: str | None) -> Any:
    cluster = backend._get_cluster(cluster_str or "default")  # moto: ClusterNotFoundException when it never existed
    if cluster.status == "INACTIVE":
        raise ClusterNotFoundException("The referenced cluster was inactive.")
    return cluster


def _active_task_definition(backend: EC2ContainerServiceBackend, task_definition: str) -> Any:
    found = backend.describe_task_definition(task_definition)
    if found.status == "INACTIVE":
        raise EcsClientException("TaskDefinition is inactive")
    return found


def _wrap(name: str, check: Any) -> None:
    moto_method = getattr(EC2ContainerServiceBackend, name)
    if getattr(moto_method, "awssim", False):
        return

    def method(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        check(self, *args, **kwargs)
        return moto_method(self, *args, **kwargs)

    method.awssim = True  # type: ignore[attr-defined]
    method.__name__ = method.__qualname__ = name
    setattr(EC2ContainerServiceBackend, name, method)


def _check_network(backend: EC2ContainerServiceBackend, network: dict[str, Any]) -> None:
    vpc = network.get("awsvpcConfiguration") or {}
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    for kind, wanted, known, code in (
            ("subnet", vpc.get("subnets") or [], {s.id for s in ec2.describe_subnets()}, "InvalidSubnetID.NotFound"),
            ("security group", vpc.get("securityGroups") or [], {g.id for g in ec2.describe_security_groups()},
             "InvalidGroup.NotFound")):
        missing = [i for i in wanted if i not in known]
        if missing:
            noun = "subnet ID" if kind == "subnet" else kind
            raise InvalidParameterException(f"Error retrieving {kind} information for [{', '.join(wanted)}]: The "
                                            f"{noun} '{missing[0]}' does not exist (ErrorCode: {code})")


def _check_create_service(backend: EC2ContainerServiceBackend, cluster_str: str, service_name: str,
                          desired_count: int, task_definition_str: str | None = None, *args: Any,
                          **kwargs: Any) -> None:
    _live_cluster(backend, cluster_str)
    network = kwargs.get("network_configuration")
    if task_definition_str:
        task_definition = _active_task_definition(backend, task_definition_str)
        if task_definition.network_mode == "awsvpc" and not network:
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    if network:
        _check_network(backend, network)


def _check_update_service(backend: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> None:
    _live_cluster(backend, service_properties.get("cluster"))
    if service_properties.get("task_definition"):
        _active_task_definition(backend, service_properties["task_definition"])


def _check_delete_cluster(backend: EC2ContainerServiceBackend, cluster_str: str) -> None:
    cluster = backend._get_cluster(cluster_str)
    if any(s.cluster_name == cluster.name and s.status == "ACTIVE" for s in backend.services.values()):
        raise ClusterContainsServicesException()


def _private_dns_name(eni: NetworkInterface) -> str:
    """The name moto gives an interface in a VPC with DNS hostnames, else the one EC2 would (moto gives none)."""
    if eni.__dict__.get("awssim_private_dns_name"):
        return eni.__dict__["awssim_private_dns_name"]
    region = eni.ec2_backend.region_name
    suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    return f"ip-{(eni.private_ip_address or '0.0.0.0').replace('.', '-')}.{suffix}"


def _set_private_dns_name(eni: NetworkInterface, name: str) -> None:
    eni.__dict__["awssim_private_dns_name"] = name


def _task_init(self: Task, cluster: Any, task_definition: Any, *args: Any, **kwargs: Any) -> None:
    _moto_task_init(self, cluster, task_definition, *args, **kwargs)
    self.cpu, self.memory = task_definition.cpu, task_definition.memory  # as DescribeTasks answers them


def _list_tasks(self: EC2ContainerServiceResponse) -> Any:
    reply = _moto_list_tasks(self)
    launch_type = self._get_param("launchType")
    if not launch_type:
        return reply
    backend = self.ecs_backend
    kept = {t.task_arn for tasks in backend.tasks.values() for t in tasks.values() if t.launch_type == launch_type}
    return ActionResult({"taskArns": [arn for arn in reply.result["taskArns"] if arn in kept]})


_moto_task_init = Task.__init__
_moto_list_tasks = EC2ContainerServiceResponse.list_tasks


def register() -> None:
    """Refuse, in moto's ECS, what AWS refuses (idempotent)."""
    _wrap("create_service", _check_create_service)
    _wrap("update_service", _check_update_service)
    _wrap("delete_cluster", _check_delete_cluster)
    if not isinstance(getattr(NetworkInterface, "private_dns_name", None), property):
        NetworkInterface.private_dns_name = property(_private_dns_name, _set_private_dns_name)  # type: ignore[attr-defined]
    Task.__init__ = _task_init  # type: ignore[method-assign]
    EC2ContainerServiceResponse.list_tasks = _list_tasks  # type: ignore[method-assign]
