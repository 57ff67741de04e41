"""DRS (AWS Elastic Disaster Recovery) state for moto: source servers, jobs, recovery instances.

The model, per account and region like moto's own backends:

* A **source server** lives in the region DRS replicates *into* (the DR region, D). It stands for
  an EC2 instance in its origin region P (``sourceCloudProperties.originRegion`` and
  ``identificationHints.awsInstanceID``). Real source servers are created by the replication
  agent, not by an API, so tests and the demo seed them with ``DrsBackend.add_source_server``.
* Its ``dataReplicationState`` is derived when read: STOPPED after StopReplication or a reversal,
  INITIAL_SYNC for ``AWSSIM_DELAY_SECONDS`` after replication (re)starts, DISCONNECTED while its
  origin EC2 instance is known to moto but not running (the agent is gone), else CONTINUOUS.
* Each server's **launch configuration** names a real EC2 launch template of its region (DRS makes
  one per server, as AWS does), whose default version launches into the region's default subnet with
  its default security group. A launch whose template, subnet, security group or instance profile no
  longer exists fails (``LAUNCH_FAILED`` in the job log, the job's participant ``FAILED``), as on AWS.
* **StartRecovery** creates a LAUNCH job: PENDING, then STARTED, then COMPLETED once
  ``AWSSIM_DELAY_SECONDS`` (read at call time, default 1.0) have passed. Jobs move lazily when
  the backend is next called - no threads. On completion each server gets a **recovery
  instance**: a real moto EC2 instance in the same account and region (running, or stopped when
  the launch configuration says ``launchDisposition: STOPPED``), whose ID is the recovery
  instance ID. Drill and recovery instances of one server coexist.
* **TerminateRecoveryInstances** terminates the EC2 instances at once and creates a TERMINATE job;
  DRS forgets the recovery instances when that job completes.
* **ReverseReplication(R)**, R a recovery instance in D of server X whose origin is in P, makes R
  replicate back to P: the source server X points at (``reversedDirectionSourceServerArn``) is
  reused when it still exists, otherwise a new one is created in P. That server Y now has origin
  R, starts replicating (INITIAL_SYNC, then CONTINUOUS) in the opposite ``replicationDirection``
  and points back at X; X stops replicating. If X's own origin was a recovery instance (X was the
  reversed server of an earlier failover), that instance's failback is now complete
  (``failback.state`` FAILBACK_COMPLETED). So failover -> reverse -> failback -> reverse brings
  back the original source server IDs in D, replicating from the instances now running in P.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.resource_tagging import TaggableResourcesMixin, TaggedResource
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.utilities.utils import get_partition
from moto.moto_api._internal import mock_random

DELAY_ENV = "AWSSIM_DELAY_SECONDS"
MAX_SERVERS_PER_JOB = 200
MAX_ACTIVE_JOBS = 20  # DRS quota: concurrent jobs per account and region
DEFAULT_PAGE = 1000
MANAGED_TAG = "AWSElasticDisasterRecoveryManaged"  # what DRS tags its launched instances with


class ValidationException(ServiceException):
    code = "ValidationException"
    reason = "other"


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


class ConflictException(ServiceException):
    code = "ConflictException"


class ServiceQuotaExceededException(ServiceException):
    code = "ServiceQuotaExceededException"


def delay_seconds() -> float:
    return float(os.environ.get(DELAY_ENV, "1.0"))


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _hex(n: int) -> str:
    return "".join(mock_random.choice("0123456789abcdef") for _ in range(n))


def paginate(items: list[Any], max_results: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    try:
        start = int(next_token or 0)
    except ValueError:
        raise ValidationException(f"invalid nextToken {next_token!r}") from None
    end = start + (max_results or DEFAULT_PAGE)
    return items[start:end], (str(end) if end < len(items) else None)


@dataclass
class SourceServer:
    source_server_id: str
    arn: str
    hostname: str
    origin_instance_id: str
    origin_region: str
    origin_account_id: str
    tags: dict[str, str]
    added: float
    lag_seconds: int = 5
    instance_type: str = "t3.medium"
    direction: str = "FAILOVER"
    reversed_arn: str | None = None
    stopped: bool = False
    sync_until: float = 0.0  # INITIAL_SYNC until this time
    forced_state: str | None = None  # test hook: STALLED, PAUSED, ...
    launch_fails: bool = False  # test hook: every launch of this server fails
    launch_seconds: float = 0.0  # test hook: a launch job of this server takes at least this long
    recovery_instance_id: str | None = None
    last_launch: dict[str, Any] | None = None
    last_launch_result: str = "NOT_STARTED"
    launch_configuration: dict[str, Any] = field(default_factory=dict)

    def to_api(self, state: str) -> dict[str, Any]:
        lag = None if state in ("STOPPED", "INITIAL_SYNC") else f"PT{self.lag_seconds}S"
        item: dict[str, Any] = {
            "sourceServerID": self.source_server_id,
            "arn": self.arn,
            "tags": dict(self.tags),
            "lastLaunchResult": self.last_launch_result,
            "dataReplicationInfo": {
                "dataReplicationState": state,
                "lagDuration": lag,
                "etaDateTime": iso(self.sync_until) if state == "INITIAL_SYNC" else None,
                "stagingAvailabilityZone": f"{self.arn.split(':')[3]}a",
                "replicatedDisks": [
                    {
                        "deviceName": "/dev/xvda",
                        "totalStorageBytes": 8 * 2**30,
                        "replicatedStorageBytes": 8 * 2**30,
                        "rescannedStorageBytes": 0,
                        "backloggedStorageBytes": 0,
                    }
                ],
            },
            "lifeCycle": {
                "addedToServiceDateTime": iso(self.added),
                "firstByteDateTime": iso(self.added),
                "lastSeenByServiceDateTime": iso(time.time()),
                "lastLaunch": self.last_launch,
            },
            "sourceProperties": {
                "lastUpdatedDateTime": iso(self.added),
                "recommendedInstanceType": self.instance_type,
                "identificationHints": {"hostname": self.hostname, "awsInstanceID": self.origin_instance_id},
                "disks": [{"deviceName": "/dev/xvda", "bytes": 8 * 2**30}],
                "cpus": [{"cores": 2, "modelName": "Intel(R) Xeon(R)"}],
                "ramBytes": 4 * 2**30,
                "os": {"fullString": "Amazon Linux 2023"},
            },
            "sourceCloudProperties": {
                "originAccountID": self.origin_account_id,
                "originRegion": self.origin_region,
                "originAvailabilityZone": f"{self.origin_region}a",
            },
            "stagingArea": {"status": "NOT_EXTENDED"},
            "replicationDirection": self.direction,
            "reversedDirectionSourceServerArn": self.reversed_arn,
            "recoveryInstanceId": self.recovery_instance_id,
        }
        return item


@dataclass
class Job:
    job_id: str
    arn: str
    type: str  # LAUNCH | TERMINATE
    initiated_by: str
    created: float
    ready_at: float
    tags: dict[str, str]
    participants: list[dict[str, Any]]
    is_drill: bool = False
    status: str = "PENDING"
    ended: float | None = None
    log: list[dict[str, Any]] = field(default_factory=list)

    def add_log(self, event: str, **data: Any) -> None:
        self.log.append({"logDateTime": iso(time.time()), "event": event, "eventData": data or None})

    def to_api(self) -> dict[str, Any]:
        return {
            "jobID": self.job_id,
            "arn": self.arn,
            "type": self.type,
            "initiatedBy": self.initiated_by,
            "creationDateTime": iso(self.created),
            "endDateTime": iso(self.ended) if self.ended else None,
            "status": self.status,
            "participatingServers": [dict(p) for p in self.participants],
            "tags": dict(self.tags),
        }


@dataclass
class RecoveryInstance:
    recovery_instance_id: str  # == the EC2 instance ID, as in DRS
    arn: str
    source_server_id: str
    job_id: str
    is_drill: bool
    tags: dict[str, str]
    launched: float
    availability_zone: str
    failback_state: str | None = None  # set once replication is reversed from this instance
    failback_to_original: bool = False

    def to_api(self, ec2_state: str, replication_state: str | None) -> dict[str, Any]:
        failback = None
        if self.failback_state:
            failback = {"state": self.failback_state, "failbackToOriginalServer": self.failback_to_original}
        return {
            "recoveryInstanceID": self.recovery_instance_id,
            "ec2InstanceID": self.recovery_instance_id,
            "ec2InstanceState": ec2_state,
            "jobID": self.job_id,
            "sourceServerID": self.source_server_id,
            "arn": self.arn,
            "tags": dict(self.tags),
            "isDrill": self.is_drill,
            "pointInTimeSnapshotDateTime": iso(self.launched),
            "originEnvironment": "AWS",
            "originAvailabilityZone": self.availability_zone,
            "failback": failback,
            "dataReplicationInfo": {"dataReplicationState": replication_state} if replication_state else None,
        }


class DrsBackend(BaseBackend, TaggableResourcesMixin):
    """Also a ``TaggableResourcesMixin``: the Resource Groups Tagging API (GetResources,
    TagResources, UntagResources) and Resource Explorer see source servers as ``drs:source-server``."""

    SERVICE_NAMESPACE = "drs"

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.source_servers: dict[str, SourceServer] = {}
        self.jobs: dict[str, Job] = {}
        self.recovery_instances: dict[str, RecoveryInstance] = {}

    # -- helpers ---------------------------------------------------------------------------
    def _arn(self, kind: str, resource_id: str) -> str:
        return f"arn:{self.partition}:drs:{self.region_name}:{self.account_id}:{kind}/{resource_id}"

    def _peer(self, account_id: str, region: str) -> DrsBackend:
        return drs_backends[account_id][region]

    def _ec2_instance(self, account_id: str, region: str, instance_id: str) -> Any:
        return ec2_backends[account_id][region].get_instance_by_id(instance_id) if instance_id else None

    def _ec2_state(self, instance_id: str) -> str:
        instance = self._ec2_instance(self.account_id, self.region_name, instance_id)
        return instance._state.name.upper() if instance else "NOT_FOUND"

    def replication_state(self, server: SourceServer) -> str:
        if server.stopped:
            return "STOPPED"
        if time.time() < server.sync_until:
            return "INITIAL_SYNC"
        if server.forced_state:
            return server.forced_state
        origin = self._ec2_instance(server.origin_account_id, server.origin_region, server.origin_instance_id)
        # An origin instance moto knows about but that is not running has no agent sending data.
        if origin is not None and origin._state.name not in ("pending", "running"):
            return "DISCONNECTED"
        return "CONTINUOUS"

    def get_server(self, source_server_id: str) -> SourceServer:
        server = self.source_servers.get(source_server_id)
        if server is None:
            raise ResourceNotFoundException(f"Source server {source_server_id} not found")
        return server

    def _new_job(
        self, job_type: str, initiated_by: str, participants: list[dict[str, Any]], tags: dict[str, str],
        is_drill: bool = False,
    ) -> Job:
        if sum(j.status != "COMPLETED" for j in self.jobs.values()) >= MAX_ACTIVE_JOBS:
            raise ServiceQuotaExceededException(f"at most {MAX_ACTIVE_JOBS} concurrent jobs per account and region")
        job_id, now = f"drsjob-{_hex(17)}", time.time()
        takes = delay_seconds()
        if job_type == "LAUNCH":  # a server set to launch slowly holds its whole job (as a slow boot does)
            takes = max([takes] + [self.source_servers[p["sourceServerID"]].launch_seconds for p in participants
                                   if p.get("sourceServerID") in self.source_servers])
        job = Job(
            job_id, self._arn("job", job_id), job_type, initiated_by, now, now + takes, dict(tags),
            participants, is_drill,
        )
        job.add_log("JOB_START")
        self.jobs[job_id] = job
        return job

    def advance(self) -> None:
        """Move jobs along their lifecycle as time has passed (called by every API method)."""
        now = time.time()
        for job in self.jobs.values():
            if job.status == "COMPLETED":
                continue
            if now >= job.ready_at:
                self._complete(job)
            elif job.status == "PENDING" and now >= (job.created + job.ready_at) / 2:
                job.status = "STARTED"
                for p in job.participants:
                    if job.type == "LAUNCH":
                        p["launchStatus"] = "IN_PROGRESS"
                        self._set_last_launch(p["sourceServerID"], job, "IN_PROGRESS")

    def _set_last_launch(self, source_server_id: str, job: Job, status: str) -> None:
        server = self.source_servers.get(source_server_id)
        if server and server.last_launch and server.last_launch["initiated"]["jobID"] == job.job_id:
            server.last_launch["status"] = status
            server.last_launch_result = {"LAUNCHED": "SUCCEEDED", "FAILED": "FAILED"}.get(status, "PENDING")

    def _complete(self, job: Job) -> None:
        for p in job.participants:
            if job.type == "LAUNCH":
                self._launch(job, p)
            else:
                ids = {"sourceServerID": p["sourceServerID"], "targetInstanceID": p["recoveryInstanceID"]}
                job.add_log("CLEANUP_START", **ids)
                self.recovery_instances.pop(p["recoveryInstanceID"], None)
                server = self.source_servers.get(p["sourceServerID"])
                if server and server.recovery_instance_id == p["recoveryInstanceID"]:
                    server.recovery_instance_id = None
                    if server.last_launch:
                        server.last_launch["status"] = "TERMINATED"
                p["launchStatus"] = "TERMINATED"
                job.add_log("CLEANUP_END", **ids)
        job.status, job.ended = "COMPLETED", time.time()
        job.add_log("JOB_END")

    def _template_problem(self, server: SourceServer) -> str | None:
        """Why EC2 cannot launch from the server's launch template (gone, or naming a network that is)."""
        ec2 = ec2_backends[self.account_id][self.region_name]
        template_id = server.launch_configuration.get("ec2LaunchTemplateID")
        template = ec2.launch_templates.get(template_id or "")
        if template is None:
            return f"The specified launch template, with template ID {template_id}, does not exist."
        data = template.default_version().data
        interfaces = data.get("NetworkInterfaces") or []
        subnets = {s.id for s in ec2.describe_subnets()}
        groups = {g.id for g in ec2.describe_security_groups()}
        for subnet in [i["SubnetId"] for i in interfaces if i.get("SubnetId")]:
            if subnet not in subnets:
                return f"The subnet ID '{subnet}' does not exist"
        for group in [g for i in interfaces for g in i.get("Groups") or []] + list(data.get("SecurityGroupIds") or []):
            if group not in groups:
                return f"The security group '{group}' does not exist"
        profile = (data.get("IamInstanceProfile") or {})
        name = (profile.get("Arn") or profile.get("Name") or "").rsplit("/", 1)[-1]
        if name and name not in iam_backends[self.account_id][get_partition(self.region_name)].instance_profiles:
            return f"Value ({name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
        return None

    def _launch_type(self, server: SourceServer) -> str:
        template = ec2_backends[self.account_id][self.region_name].launch_templates.get(
            server.launch_configuration.get("ec2LaunchTemplateID") or "")
        return (template.default_version().data.get("InstanceType") if template else None) or server.instance_type

    def _launch(self, job: Job, participant: dict[str, Any]) -> None:
        server = self.source_servers.get(participant["sourceServerID"])
        problem = "simulated failure" if server is None or server.launch_fails else self._template_problem(server)
        if server is None or problem:
            participant["launchStatus"] = "FAILED"
            job.add_log("LAUNCH_FAILED", sourceServerID=participant["sourceServerID"], rawError=problem)
            self._set_last_launch(participant["sourceServerID"], job, "FAILED")
            return
        config = server.launch_configuration
        tags = {"Name": server.hostname, MANAGED_TAG: "drs.amazonaws.com"}
        if config.get("copyTags"):
            tags = {**server.tags, **tags}
        ec2 = ec2_backends[self.account_id][self.region_name]
        try:  # what the launch template says (DRS's right-sizing writes its choice there), as EC2 launches it
            reservation = ec2.run_instances(
                "ami-12c6146b", 1, None, [],
                instance_type=self._launch_type(server), is_instance_type_default=False,
                region_name=self.region_name, tags={"instance": tags},
            )
        except EC2ClientError as err:  # e.g. VcpuLimitExceeded: the region's vCPU quota is used up
            participant["launchStatus"] = "FAILED"
            job.add_log("LAUNCH_FAILED", sourceServerID=server.source_server_id, rawError=f"{err.code}: {err.message}")
            self._set_last_launch(server.source_server_id, job, "FAILED")
            return
        instance = reservation.instances[0]
        if config.get("launchDisposition") == "STOPPED":
            ec2.stop_instances([instance.id])
        self.recovery_instances[instance.id] = RecoveryInstance(
            instance.id, self._arn("recovery-instance", instance.id), server.source_server_id, job.job_id,
            job.is_drill, dict(job.tags), time.time(), instance.placement.zone,
        )
        server.recovery_instance_id = instance.id
        participant.update(launchStatus="LAUNCHED", recoveryInstanceID=instance.id)
        job.add_log("LAUNCH_START", sourceServerID=server.source_server_id, targetInstanceID=instance.id)
        self._set_last_launch(server.source_server_id, job, "LAUNCHED")

    # -- seeding (what the replication agent does in real life) ----------------------------
    def add_source_server(
        self, hostname: str, origin_instance_id: str, origin_region: str, *, tags: dict[str, str] | None = None,
        origin_account_id: str | None = None, lag_seconds: int = 5, instance_type: str = "t3.medium",
        launch_disposition: str = "STARTED", server_id: str | None = None,
    ) -> SourceServer:
        server_id = server_id or f"s-{_hex(17)}"
        if server_id in self.source_servers:
            raise ValueError(f"source server {server_id} already exists in {self.account_id} {self.region_name}")
        now = time.time()
        server = SourceServer(
            server_id, self._arn("source-server", server_id), hostname, origin_instance_id, origin_region,
            origin_account_id or self.account_id, dict(tags or {}), now, lag_seconds, instance_type,
        )
        server.launch_configuration = {
            "sourceServerID": server_id,
            "name": hostname,
            "ec2LaunchTemplateID": self._launch_template(server_id, instance_type),
            "launchDisposition": launch_disposition,
            "targetInstanceTypeRightSizingMethod": "BASIC",
            "copyPrivateIp": False,
            "copyTags": False,
            "licensing": {"osByol": True},
            "postLaunchEnabled": False,
            "recoveryMode": "FAST",
        }
        self.source_servers[server_id] = server
        return server

    def _launch_template(self, server_id: str, instance_type: str) -> str:
        """The EC2 launch template DRS makes for a new server: the region's default subnet and security group."""
        ec2 = ec2_backends[self.account_id][self.region_name]
        subnets = sorted(ec2.get_default_subnets().values(), key=lambda s: s.availability_zone)
        interface: dict[str, Any] = {"DeviceIndex": 0}
        if subnets:
            interface["SubnetId"] = subnets[0].id
            group = ec2.get_default_security_group(subnets[0].vpc_id)
            interface["Groups"] = [group.id] if group else []
        template = ec2.create_launch_template(f"drs-{server_id}", f"DRS launch template of {server_id}",
                                              {"InstanceType": instance_type, "NetworkInterfaces": [interface]}, {})
        return template.id

    # -- API -------------------------------------------------------------------------------
    def describe_source_servers(self, ids: list[str] | None) -> list[dict[str, Any]]:
        self.advance()
        servers = [s for s in self.source_servers.values() if not ids or s.source_server_id in ids]
        return [s.to_api(self.replication_state(s)) for s in servers]

    def start_recovery(self, source_servers: list[dict], is_drill: bool, tags: dict[str, str] | None) -> dict:
        self.advance()
        if not 1 <= len(source_servers) <= MAX_SERVERS_PER_JOB:
            count = len(source_servers)
            raise ValidationException(f"sourceServers must hold 1 to {MAX_SERVERS_PER_JOB} items, not {count}")
        servers = [self.get_server(s["sourceServerID"]) for s in source_servers]
        for server in servers:
            if server.last_launch and server.last_launch["status"] in ("PENDING", "IN_PROGRESS"):
                raise ConflictException(f"Source server {server.source_server_id} has a launch in progress")
        participants = [{"sourceServerID": s.source_server_id, "launchStatus": "PENDING"} for s in servers]
        initiated_by, launch_type = ("START_DRILL", "DRILL") if is_drill else ("START_RECOVERY", "RECOVERY")
        job = self._new_job("LAUNCH", initiated_by, participants, tags or {}, is_drill)
        initiated = {"apiCallDateTime": iso(job.created), "jobID": job.job_id, "type": launch_type}
        for server in servers:
            server.last_launch = {"initiated": dict(initiated), "status": "PENDING"}
            server.last_launch_result = "PENDING"
        return job.to_api()

    def describe_jobs(self, ids: list[str] | None, from_date: str | None, to_date: str | None) -> list[dict]:
        self.advance()
        jobs = [j for j in self.jobs.values() if not ids or j.job_id in ids]
        items = [j.to_api() for j in jobs]
        if from_date:
            items = [j for j in items if j["creationDateTime"] >= from_date]
        if to_date:
            items = [j for j in items if j["creationDateTime"] <= to_date]
        return items

    def describe_job_log_items(self, job_id: str) -> list[dict[str, Any]]:
        self.advance()
        job = self.jobs.get(job_id)
        if job is None:
            raise ValidationException(f"Job {job_id} not found")
        return list(job.log)

    def _reversal_state(self, instance: RecoveryInstance) -> str | None:
        """Replication state from a recovery instance back to its origin, once reversed."""
        if instance.failback_state == "FAILBACK_COMPLETED":
            return "STOPPED"
        if instance.failback_state is None:
            return None
        server = self.source_servers.get(instance.source_server_id)
        target = self._by_arn_anywhere(server.reversed_arn) if server and server.reversed_arn else None
        return target[0].replication_state(target[1]) if target else None

    def describe_recovery_instances(self, ids: list[str] | None, server_ids: list[str] | None) -> list[dict]:
        self.advance()
        items = []
        for ri in self.recovery_instances.values():
            if ids and ri.recovery_instance_id not in ids or server_ids and ri.source_server_id not in server_ids:
                continue
            items.append(ri.to_api(self._ec2_state(ri.recovery_instance_id), self._reversal_state(ri)))
        return items

    def terminate_recovery_instances(self, ids: list[str]) -> dict[str, Any]:
        self.advance()
        if not 1 <= len(ids) <= MAX_SERVERS_PER_JOB:
            raise ValidationException(f"recoveryInstanceIDs must hold 1 to {MAX_SERVERS_PER_JOB} items")
        instances = []
        for ri_id in ids:
            if ri_id not in self.recovery_instances:
                raise ResourceNotFoundException(f"Recovery instance {ri_id} not found")
            instances.append(self.recovery_instances[ri_id])
        participants = [
            {"sourceServerID": i.source_server_id, "recoveryInstanceID": i.recovery_instance_id, "launchStatus": "PENDING"}
            for i in instances
        ]
        job = self._new_job("TERMINATE", "TERMINATE_RECOVERY_INSTANCES", participants, {})
        live = [i.recovery_instance_id for i in instances if self._ec2_state(i.recovery_instance_id) != "NOT_FOUND"]
        if live:  # EC2 termination starts right away; DRS forgets the instances when the job ends
            ec2_backends[self.account_id][self.region_name].terminate_instances(live)
        return job.to_api()

    def _by_arn_anywhere(self, arn: str) -> tuple[DrsBackend, SourceServer] | None:
        """Find a source server by ARN in any region of its account."""
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "drs":
            return None
        peer = self._peer(parts[4], parts[3])
        server = peer.source_servers.get(parts[5].split("/")[-1])
        return (peer, server) if server else None

    def reverse_replication(self, recovery_instance_id: str) -> str:
        self.advance()
        instance = self.recovery_instances.get(recovery_instance_id)
        if instance is None:
            raise ResourceNotFoundException(f"Recovery instance {recovery_instance_id} not found")
        if instance.is_drill:
            raise ValidationException("Cannot reverse replication from a drill instance")
        server = self.get_server(instance.source_server_id)
        found = self._by_arn_anywhere(server.reversed_arn) if server.reversed_arn else None
        if found and found[1].origin_instance_id == recovery_instance_id and not found[1].stopped:
            return found[1].arn  # already reversed from this instance
        peer = self._peer(server.origin_account_id, server.origin_region)
        if found:
            peer, target = found
            target.origin_instance_id, target.origin_region = recovery_instance_id, self.region_name
            target.origin_account_id, target.stopped = self.account_id, False
        else:
            target = peer.add_source_server(
                server.hostname, recovery_instance_id, self.region_name,
                tags=server.tags, instance_type=server.instance_type,
            )
        target.direction = "FAILBACK" if server.direction == "FAILOVER" else "FAILOVER"
        target.reversed_arn, target.sync_until = server.arn, time.time() + delay_seconds()
        server.reversed_arn, server.stopped = target.arn, True
        instance.failback_state, instance.failback_to_original = "FAILBACK_IN_PROGRESS", found is not None
        # X's own origin may be a recovery instance replicating back (X was reversed earlier):
        # X stops now, so that instance's failback is complete.
        origin = self._peer(server.origin_account_id, server.origin_region)
        previous = origin.recovery_instances.get(server.origin_instance_id)
        if previous is not None and previous.failback_state:
            previous.failback_state = "FAILBACK_COMPLETED"
        return target.arn

    def start_replication(self, source_server_id: str) -> dict[str, Any]:
        self.advance()
        server = self.get_server(source_server_id)
        if not server.stopped:
            raise ConflictException(f"Source server {source_server_id} is already replicating")
        server.stopped, server.sync_until = False, time.time() + delay_seconds()
        return server.to_api(self.replication_state(server))

    def stop_replication(self, source_server_id: str) -> dict[str, Any]:
        self.advance()
        server = self.get_server(source_server_id)
        server.stopped = True
        return server.to_api(self.replication_state(server))

    def get_launch_configuration(self, source_server_id: str) -> dict[str, Any]:
        return dict(self.get_server(source_server_id).launch_configuration)

    def update_launch_configuration(self, source_server_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        server = self.get_server(source_server_id)
        if changes.get("launchDisposition") not in (None, "STARTED", "STOPPED"):
            raise ValidationException(f"invalid launchDisposition {changes['launchDisposition']!r}")
        server.launch_configuration.update({k: v for k, v in changes.items() if v is not None})
        return dict(server.launch_configuration)

    def _taggable(self, arn: str) -> Any:
        resource_id = arn.split("/")[-1]
        for table in (self.source_servers, self.jobs, self.recovery_instances):
            item = table.get(resource_id)
            if item is not None and item.arn == arn:
                return item
        raise ResourceNotFoundException(f"Resource {arn} not found")

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self._taggable(arn).tags.update(tags)

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        tags = self._taggable(arn).tags
        for key in keys:
            tags.pop(key, None)

    def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        return dict(self._taggable(arn).tags)

    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        # Source servers only: what a DR scope is tagged on. (Jobs and recovery instances carry the
        # tags StartRecovery was given, not the estate's.)
        for server in self.source_servers.values():
            yield TaggedResource(arn=server.arn, tags=dict(server.tags), resource_type="drs:source-server")


drs_backends = BackendDict(DrsBackend, "drs")
