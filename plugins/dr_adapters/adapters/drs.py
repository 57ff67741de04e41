"""AWS Elastic Disaster Recovery (DRS): recover replicating source servers in the target region.

DRS replicates each protected EC2 instance (its origin, in the primary region) into a *source
server* registered in the DR region. The manifest names that source server; per operation we
recover:

* failover / drill: the configured source server, in the DR region;
* failback: the server replication was reversed to (``reversedDirectionSourceServerArn`` of the
  configured one), in the primary region - it exists once a failover's REPLICATE ran.

A server's recovery instance *counts* for this run when it is of the right kind (drill or not),
its EC2 instance is not gone and its failback is not complete (an instance already failed back
from is history: the next failover launches a fresh one). Each phase reads that state and makes
only the calls still missing, so re-running a finished phase makes no mutating call.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field

from dr_adapters.adapters.base import (
    ActionConfig,
    Adapter,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    ServiceSide,
    Wait,
)
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.capacity import DRS_REPLICATING, Need
from dr_adapters.adapters.drs_launch import LAUNCH_IAM, START_RECOVERY_EC2_ACTIONS, launch_needs, launch_problems
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Operation, Phase

MAX_PER_CALL = 200  # StartRecovery, TerminateRecoveryInstances and the ID filters take at most 200
IN_FLIGHT = ("PENDING", "IN_PROGRESS")
GONE = ("TERMINATED", "SHUTTING-DOWN", "NOT_FOUND")
HEALTH = {  # EC2 state of the recovery instance -> resource health
    "running": Health.HEALTHY,
    "pending": Health.DEGRADED,
    "stopping": Health.DEGRADED,
    "stopped": Health.DEGRADED,
}


class DrsConfig(ActionConfig):
    """One DRS source server. DRS replicates into the DR region, so that is where it is registered."""

    source_server_id: str = Field(
        alias="sourceServerId",
        pattern=r"^s-[0-9a-zA-Z]{17}$",
        description="ID of the DRS source server in the DR region, e.g. s-1234567890abcdef0.",
    )
    source_instance_action: Literal["stop", "terminate", "none"] = Field(
        "stop",
        alias="sourceInstanceAction",
        description="CLEANUP: what happens to the source EC2 instance in the region failed away from.",
    )


def lag_seconds(duration: str | None) -> float | None:
    """Seconds in an ISO 8601 duration as DRS reports lag (``PT5S``, ``PT1H2M``, ``P1DT3H``)."""
    number = r"(\d+(?:\.\d+)?)"
    match = re.fullmatch(rf"P(?:{number}D)?(?:T(?:{number}H)?(?:{number}M)?(?:{number}S)?)?", duration or "")
    if not duration or not match:
        return None
    days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _chunks(items: list[Any], size: int = MAX_PER_CALL) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _arn_region(arn: str) -> str:
    return arn.split(":")[3]  # arn:aws:drs:<region>:<account>:source-server/<id>


def _replication(server: dict[str, Any]) -> tuple[str, float | None]:
    info = server.get("dataReplicationInfo") or {}
    return info.get("dataReplicationState", "UNKNOWN"), lag_seconds(info.get("lagDuration"))


def _origin(server: dict[str, Any]) -> tuple[str | None, str | None]:
    """The EC2 instance a source server replicates from, and its region."""
    hints = (server.get("sourceProperties") or {}).get("identificationHints") or {}
    return hints.get("awsInstanceID"), (server.get("sourceCloudProperties") or {}).get("originRegion")


def _note(reply: Any, would: str, doing: str) -> str:
    """Dry runs (``ctx.mutate`` returned None) report what they would have done."""
    return would if reply is None else doing


@dataclass
class Target:
    """One resource resolved for this run: the source server to recover, or why there is none."""

    resource: ResourceSpec
    config: DrsConfig
    tags: dict[str, str]  # the configured server's tags (the scope guard reads them)
    server: dict[str, Any] | None  # the source server recovered in this operation
    region: str  # where that server and its recovery instances live
    error: AdapterError | None = None
    instances: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rid(self) -> str:
        return self.resource.resource_id

    @property
    def server_id(self) -> str:
        return self.server["sourceServerID"] if self.server else self.config.source_server_id

    def current(self, drill: bool) -> dict[str, Any] | None:
        """The newest recovery instance of this kind that counts (see the module docstring)."""
        usable = [
            ri
            for ri in self.instances
            if bool(ri.get("isDrill")) == drill
            and ri.get("ec2InstanceState") not in GONE
            and (ri.get("failback") or {}).get("state") != "FAILBACK_COMPLETED"
        ]
        latest = (self.server or {}).get("recoveryInstanceId")
        usable.sort(key=lambda ri: (ri["recoveryInstanceID"] == latest, ri.get("pointInTimeSnapshotDateTime", "")))
        return usable[-1] if usable else None


class DrsAdapter(Adapter):
    actions = ("DRS",)
    unplanned_behaviour = (
        "recovers each server's latest recovery point held in the target region (StartRecovery without a "
        "point in time), reading nothing in the source region; the lag of that point is the data-loss "
        "exposure; CLEANUP (stop the source instances) and REPLICATE (ReverseReplication) wait for reprotect"
    )
    config_model = DrsConfig
    max_batch = MAX_PER_CALL  # StartRecovery takes at most 200 source servers
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    drill_behaviour = (
        "StartRecovery(isDrill=true) in the DR region, health-check the drill instances, then "
        "TerminateRecoveryInstances for them in CLEANUP; never stops a source instance or reverses replication."
    )
    phase_summaries = {
        Phase.INSTANTIATE: "StartRecovery (one job per <=200 servers) for servers without a recovery instance.",
        Phase.ACTIVATE: "Launch servers still without a recovery instance; start stopped recovery instances.",
        Phase.CLEANUP: "sourceInstanceAction (stop/terminate) on the source EC2 instances in the old region.",
        Phase.REPLICATE: "ReverseReplication from each recovery instance to the old region; wait for CONTINUOUS.",
    }
    iam_actions = (
        "drs:DescribeSourceServers",
        "drs:DescribeRecoveryInstances",
        "drs:DescribeJobs",
        "drs:StartRecovery",
        "drs:TerminateRecoveryInstances",
        "drs:ReverseReplication",
        "ec2:DescribeInstances",
        "ec2:StartInstances",
        "ec2:StopInstances",
        "ec2:TerminateInstances",
        *LAUNCH_IAM,  # preflight: what each recovery launch needs exists (drs_launch)
        "ec2:DescribeInstanceTypes",  # preflight: the vCPUs of what it launches and of what runs (capacity)
    )
    service_side_actions = (
        ServiceSide(
            "StartRecoveryTagsOnCreate", ("drs:TagResource",),
            "StartRecovery is called with tags (dr:run-id, dr:operation, dr:unit): tags given on create are "
            "authorised as drs:TagResource."),
        ServiceSide(
            "StartRecoveryRegistersInstances", ("drs:CreateRecoveryInstanceForDrs", "drs:ListTagsForResource"),
            "StartRecovery: DRS registers the recovery instances it launches (dependent actions of drs:StartRecovery)."),
        ServiceSide(
            "StartRecoveryLaunchesEc2", START_RECOVERY_EC2_ACTIONS,
            "StartRecovery and TerminateRecoveryInstances: DRS launches and removes recovery instances with the "
            "caller's permissions (launch templates, volumes, snapshots, RunInstances; AWS's dependent actions)."),
        ServiceSide(
            "StartRecoveryPassesInstanceRole", ("iam:PassRole",),
            "StartRecovery: the launch template's instance profile role is passed to EC2, and only to EC2.",
            {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
        ServiceSide(
            "ReverseReplicationReadsTemplates", ("drs:DescribeReplicationConfigurationTemplates",),
            "ReverseReplication: DRS reads the replication settings for the server it creates in the old region "
            "(dependent action of drs:ReverseReplication)."),
    )

    # -- reading AWS -------------------------------------------------------------------------
    def _servers(self, ctx: RunContext, region: str, account: str | None, ids: Iterable[str]) -> dict[str, dict]:
        drs = ctx.client("drs", region, account)
        found: dict[str, dict] = {}
        for chunk in _chunks(sorted(set(ids))):
            for page in drs.get_paginator("describe_source_servers").paginate(filters={"sourceServerIDs": chunk}):
                found.update({s["sourceServerID"]: s for s in page["items"]})
        return found

    def _recovery_instances(self, ctx: RunContext, region: str, account: str | None, ids: list[str]) -> list[dict]:
        drs = ctx.client("drs", region, account)
        paginator = drs.get_paginator("describe_recovery_instances")
        return [ri for chunk in _chunks(ids) for page in paginator.paginate(filters={"sourceServerIDs": chunk})
                for ri in page["items"]]

    def _ec2_states(self, ctx: RunContext, region: str, account: str | None, ids: list[str]) -> dict[str, str]:
        paginator = ctx.client("ec2", region, account).get_paginator("describe_instances")
        states: dict[str, str] = {}
        for chunk in _chunks(sorted(set(ids))):
            # A filter (not InstanceIds) so that an instance which no longer exists is simply absent.
            for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}]):
                for reservation in page["Reservations"]:
                    states.update({i["InstanceId"]: i["State"]["Name"] for i in reservation["Instances"]})
        return states

    def _reversed(self, ctx: RunContext, unit: WorkUnit, servers: Iterable[dict | None]) -> dict[str, dict]:
        """The servers replication was reversed to, keyed by the ARN that points at them."""
        by_region: dict[str, list[str]] = defaultdict(list)
        for server in servers:
            if server and server.get("reversedDirectionSourceServerArn"):
                arn = server["reversedDirectionSourceServerArn"]
                by_region[_arn_region(arn)].append(arn.split("/")[-1])
        return {
            s["arn"]: s
            for region, ids in by_region.items()
            for s in self._servers(ctx, region, unit.account_id, ids).values()
        }

    def _targets(self, ctx: RunContext, unit: WorkUnit, *, instances: bool = True) -> list[Target]:
        """Each resource's server for this operation, or the error that stops acting on it."""
        configs = [self.config(r) for r in unit.resources]
        ids = [c.source_server_id for c in configs]
        configured = self._servers(ctx, ctx.regions.dr, unit.account_id, ids)
        back = self._reversed(ctx, unit, configured.values()) if ctx.is_failback else {}
        targets = [
            self._target(ctx, r, c, configured.get(c.source_server_id), back) for r, c in zip(unit.resources, configs)
        ]
        if instances:
            by_region: dict[str, dict[str, Target]] = defaultdict(dict)
            for t in targets:
                if t.error is None:
                    by_region[t.region][t.server_id] = t
            for region, by_server in by_region.items():
                for ri in self._recovery_instances(ctx, region, unit.account_id, list(by_server)):
                    by_server[ri["sourceServerID"]].instances.append(ri)
        return targets

    def _target(
        self, ctx: RunContext, resource: ResourceSpec, config: DrsConfig, server: dict | None, back: dict[str, dict]
    ) -> Target:
        rid, sid = resource.resource_id, config.source_server_id
        tags = (server or {}).get("tags") or {}
        target = Target(resource, config, tags, server, ctx.regions.dr)
        if server is None:
            target.error = AdapterError(
                rid, f"DRS source server {sid} not found in {ctx.regions.dr}",
                "check sourceServerId and accountId in the manifest")
        elif why := ctx.scope.mismatch(tags):
            target.error = AdapterError(
                rid, f"refusing to act on DRS source server {sid} outside this DAG's scope: {why}; tags {tags}",
                "fix the manifest resource or the server's Customer/Environment tags")
        elif ctx.is_failback:  # recover the server replication was reversed to, where it lives
            arn = server.get("reversedDirectionSourceServerArn") or ""
            target.server, target.region = back.get(arn), _arn_region(arn) if arn else ctx.target_region
            if target.server is None:
                target.error = AdapterError(
                    rid, f"cannot fail back {sid}: replication was never reversed to {ctx.target_region}",
                    "run a failover through its REPLICATE phase (ReverseReplication) first")
        return target

    def _resolve(self, ctx: RunContext, unit: WorkUnit) -> list[Target]:
        """Like ``_targets``, but refuse the whole unit if any resource cannot be acted on."""
        targets = self._targets(ctx, unit)
        for t in targets:
            if t.error:
                raise t.error
        return targets

    # -- read-only ---------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings, regions = [], defaultdict(list)
        for t in self._targets(ctx, unit, instances=False):
            if t.error:
                findings.append(Finding(t.rid, False, str(t.error), t.tags or None))
                continue
            regions[t.region].append(t)
            state, lag = _replication(t.server)
            problems = []
            if state != "CONTINUOUS":
                problems.append(f"replication is {state}, not CONTINUOUS")
            if ctx.rpo_minutes is not None and lag is not None and lag > ctx.rpo_minutes * 60:
                problems.append(f"lag {lag:.0f}s exceeds RPO {ctx.rpo_minutes} min")
            status = "; ".join(problems) or f"{state}, lag {'?' if lag is None else f'{lag:.0f}s'}"
            exposure = None
            if ctx.unplanned:
                # The source is dark: DRS recovers the latest recovery point it holds, whatever the
                # replication says now; how far behind that point is, is what the failover may lose.
                point = (t.server.get("dataReplicationInfo") or {}).get("lagDuration") or "unknown"
                exposure = f"{t.server_id}: last recovery point lag {point} ({state})"
                problems, status = [], f"{state}; unplanned: recovers the latest recovery point ({exposure})"
            findings.append(Finding(t.rid, not problems, f"{t.server_id} in {t.region}: {status}", t.tags,
                                    exposure=exposure))
        for region, targets in sorted(regions.items()):
            missing = launch_problems(ctx, unit.account_id, region, [t.server_id for t in targets])
            findings += [Finding(t.rid, False, missing[t.server_id], t.tags) for t in targets if t.server_id in missing]
        return findings

    def capacity_needs(self, ctx: RunContext, unit: WorkUnit) -> list[Need]:
        """Servers still without an instance of this run's kind launch (``drs_launch.launch_needs``); REPLICATE then
        reverses each into the region left: one more replicating source server there (not in drills or unplanned runs)."""
        targets = [t for t in self._targets(ctx, unit) if t.error is None]
        launching: dict[str, dict[str, str]] = defaultdict(dict)
        for t in targets:
            if t.current(ctx.is_drill) is None:
                launching[t.region][t.rid] = t.server_id
        needs = [n for region, servers in sorted(launching.items())
                 for n in launch_needs(ctx, unit.account_id, region, servers, ctx.is_drill)]
        if targets and not ctx.is_drill and not ctx.unplanned:
            needs.append(Need(DRS_REPLICATING, len(targets), ctx.source_region, (Phase.REPLICATE,),
                              tuple(t.rid for t in targets), f"ReverseReplication of {len(targets)} server(s)"))
        return needs

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        targets = self._resolve(ctx, unit)
        current = {t.rid: t.current(ctx.is_drill) for t in targets}
        by_region: dict[str, list[str]] = defaultdict(list)
        for t in targets:
            if current[t.rid]:
                by_region[t.region].append(current[t.rid]["ec2InstanceID"])
        states = {}
        for region, ids in by_region.items():
            states.update(self._ec2_states(ctx, region, unit.account_id, ids))
        checks = []
        for t in targets:
            ri = current[t.rid]
            if ri is None:
                reason = f"{t.server_id} has no {'drill' if ctx.is_drill else 'recovery'} instance in {t.region}"
                checks.append(HealthCheck(t.rid, Health.UNHEALTHY, reason))
            else:
                state = states.get(ri["ec2InstanceID"], "missing")
                reason = f"{ri['ec2InstanceID']} in {t.region} is {state}"
                checks.append(HealthCheck(t.rid, HEALTH.get(state, Health.UNHEALTHY), reason))
        return checks

    # -- phases ------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        return self._launch(ctx, unit, self._resolve(ctx, unit))

    def _launch(self, ctx: RunContext, unit: WorkUnit, targets: list[Target]) -> PhaseOutcome:
        """StartRecovery, one call per region and unit, for servers without an instance of this kind."""
        outcome, jobs = PhaseOutcome(), {}  # jobs: job ID -> region
        todo: dict[str, list[Target]] = defaultdict(list)
        for t in targets:
            production = t.current(drill=False)
            if ctx.is_drill and production:
                raise AdapterError(
                    t.rid, f"{t.server_id} already runs recovery instance {production['recoveryInstanceID']}: "
                    "the estate is failed over, a drill would rehearse nothing", "fail back before drilling")
            if t.current(ctx.is_drill):
                continue
            last = (t.server.get("lifeCycle") or {}).get("lastLaunch") or {}
            if last.get("status") in IN_FLIGHT:  # a job is launching it already: wait for that one
                jobs[last["initiated"]["jobID"]] = t.region
            elif _replication(t.server)[0] == "STOPPED":
                raise AdapterError(
                    t.rid, f"{t.server_id} in {t.region} is not replicating (STOPPED): its data is stale",
                    "failback: run the failover's REPLICATE first; else StartReplication and wait for CONTINUOUS")
            else:
                todo[t.region].append(t)
        kind = "drill" if ctx.is_drill else "recovery"
        for region, batch in todo.items():
            drs = ctx.client("drs", region, unit.account_id)
            for chunk in _chunks(batch):
                try:
                    reply = ctx.mutate(
                        drs, "start_recovery",
                        sourceServers=[{"sourceServerID": t.server_id} for t in chunk],
                        isDrill=ctx.is_drill,
                        tags={"dr:run-id": ctx.run_id, "dr:operation": ctx.operation.value, "dr:unit": unit.unit_id},
                    )
                except ClientError as err:
                    in_flight = self._launches_in_flight(ctx, unit, region, chunk, err)
                    jobs.update(dict.fromkeys(in_flight, region))
                    outcome.notes.append(f"a launch is already in progress in {region} (jobs {', '.join(in_flight)}): "
                                         "waiting for it")
                    continue
                verb = _note(reply, "would launch", "launching")
                outcome.notes.append(f"{verb} {len(chunk)} {kind} instance(s) in {region}")
                if reply is not None:
                    jobs[reply["job"]["jobID"]] = region
        outcome.waits = [self._job_wait(region, unit, job_id) for job_id, region in jobs.items()]
        outcome.data["jobs"] = sorted(jobs)
        return outcome

    def explain_failure(self, ctx: RunContext, unit: WorkUnit) -> str | None:
        """Which servers' last launch FAILED (a failed launch fails the whole job's waiter)."""
        failed = []
        for t in self._targets(ctx, unit, instances=False):
            last = ((t.server or {}).get("lifeCycle") or {}).get("lastLaunch") or {}
            if last.get("status") == "FAILED":
                job = (last.get("initiated") or {}).get("jobID")
                failed.append(f"{t.rid}: DRS launch of {t.server_id} FAILED in {t.region} (job {job}) -- fix: see "
                              "the job log in the DRS console (launch settings, EC2 capacity, quotas), then "
                              "clear this task instance")
        return "; ".join(failed) or None

    def _launches_in_flight(
        self, ctx: RunContext, unit: WorkUnit, region: str, chunk: list[Target], err: ClientError
    ) -> list[str]:
        """StartRecovery was refused with ConflictException: which launch jobs already run for ``chunk``.

        StartRecovery has no idempotency token. When its reply is lost (a timeout, a dropped
        connection, a 5xx after AWS acted) botocore retries it, and DRS refuses the retry because the
        first attempt's job is launching those servers: that job is ours, so wait for it instead of
        failing (the next round launches any server it did not). Any other error is raised as is.
        """
        if err.response.get("Error", {}).get("Code") != "ConflictException":
            raise err
        servers = self._servers(ctx, region, unit.account_id, [t.server_id for t in chunk])
        launches = [(s.get("lifeCycle") or {}).get("lastLaunch") or {} for s in servers.values()]
        in_flight = sorted({last["initiated"]["jobID"] for last in launches if last.get("status") in IN_FLIGHT})
        if not in_flight:
            raise err
        return in_flight

    def _job_wait(self, region: str, unit: WorkUnit, job_id: str) -> Wait:
        args = {"filters": {"jobIDs": [job_id]}}  # recovery launches take minutes: poll every 30s, up to 2h
        return Wait("drs", region, unit.account_id, "JobCompleted", args, f"DRS job {job_id} in {region}",
                    delay=30, max_attempts=240)

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        targets = self._resolve(ctx, unit)
        if ctx.is_drill:
            return self._check_drill(ctx, targets)
        outcome = self._launch(ctx, unit, targets)  # INSTANTIATE may have been skipped (emergency)
        if outcome.waits or (ctx.dry_run and outcome.notes):
            return outcome  # what there is to start exists once the launch job is done
        by_region: dict[str, list[str]] = defaultdict(list)
        for t in targets:
            if t.current(drill=False):
                by_region[t.region].append(t.current(drill=False)["ec2InstanceID"])
        for region, ids in by_region.items():
            states = self._ec2_states(ctx, region, unit.account_id, ids)
            stopped = [i for i in ids if states.get(i) == "stopped"]
            if stopped:
                reply = ctx.mutate(ctx.client("ec2", region, unit.account_id), "start_instances", InstanceIds=stopped)
                verb = _note(reply, "would start", "starting")
                outcome.notes.append(f"{verb} {len(stopped)} recovery instance(s) in {region}")
            stopping = [i for i in ids if states.get(i) == "stopping"]  # startable once stopped: next round
            starting = [i for i in ids if states.get(i) == "pending"] + ([] if ctx.dry_run else stopped)
            for waiter, waiting in (("instance_stopped", stopping), ("instance_running", starting)):
                if waiting:
                    args, description = {"InstanceIds": waiting}, f"{len(waiting)} recovery instance(s) in {region}"
                    outcome.waits.append(Wait("ec2", region, unit.account_id, waiter, args, description))
        return outcome

    def _check_drill(self, ctx: RunContext, targets: list[Target]) -> PhaseOutcome:
        """A drill's ACTIVATE changes nothing: it confirms every server has its drill instance."""
        missing = [t.rid for t in targets if t.current(drill=True) is None]
        if missing and not ctx.dry_run:
            raise AdapterError(", ".join(missing), "no drill instance launched", "run the drill's INSTANTIATE phase")
        return PhaseOutcome(notes=[f"drill: {len(targets) - len(missing)} drill instance(s) up, nothing changed"])

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        targets = self._resolve(ctx, unit)
        if ctx.is_drill:
            return self._terminate_drills(ctx, unit, targets)
        outcome = PhaseOutcome()
        work: dict[tuple[str, str], list[str]] = defaultdict(list)  # (region, action) -> instance IDs
        for t in targets:
            action, (instance_id, region) = t.config.source_instance_action, _origin(t.server)
            if action == "none" or not instance_id or not region:
                outcome.notes.append(f"{t.rid}: source instance left as it is")
                continue
            if t.current(drill=False) is None and not ctx.dry_run:  # never leave a server with nothing up
                raise AdapterError(
                    t.rid, f"refusing to {action} source instance {instance_id}: {t.server_id} has no recovery "
                    f"instance in {t.region}", "run INSTANTIATE/ACTIVATE for this resource first")
            work[(region, action)].append(instance_id)
        for (region, action), ids in work.items():
            outcome.waits.extend(self._act_on_sources(ctx, unit, region, action, ids, outcome))
        return outcome

    def _act_on_sources(
        self, ctx: RunContext, unit: WorkUnit, region: str, action: str, ids: list[str], outcome: PhaseOutcome
    ) -> list[Wait]:
        states = self._ec2_states(ctx, region, unit.account_id, ids)
        if action == "stop":
            busy, finished = "stopping", ("stopped", "terminated")
        else:
            busy, finished = "shutting-down", ("terminated",)
        missing = [i for i in ids if i not in states]
        if missing:
            outcome.notes.append(f"source instance(s) {', '.join(missing)} no longer exist in {region}")
        todo = [i for i in ids if i in states and states[i] not in finished + (busy, "shutting-down")]
        if todo:
            reply = ctx.mutate(ctx.client("ec2", region, unit.account_id), f"{action}_instances", InstanceIds=todo)
            doing = {"stop": "stopping", "terminate": "terminating"}[action]
            verb = _note(reply, f"would {action}", doing)
            outcome.notes.append(f"{verb} {len(todo)} source instance(s) in {region}")
        waiting = [i for i in ids if states.get(i) == busy] + ([] if ctx.dry_run else todo)
        if not waiting:
            return []
        waiter = "instance_stopped" if action == "stop" else "instance_terminated"
        description = f"{len(waiting)} source instance(s) in {region}: {waiter}"
        return [Wait("ec2", region, unit.account_id, waiter, {"InstanceIds": waiting}, description)]

    def rollback(self, ctx: RunContext, unit: WorkUnit, before: dict[str, Any] | None = None) -> PhaseOutcome:
        """Undo a failover (or failback) as a drill's CLEANUP undoes a drill: terminate the recovery instances
        it launched; the source servers keep replicating as before (no reverse replication, no source touched)."""
        undone = replace(ctx, operation=Operation.FAILOVER if ctx.is_failback else Operation.FAILBACK)
        return self._terminate_drills(undone, unit, self._resolve(undone, unit), drill=False)

    def rollback_summary(self) -> str:
        return ("terminate the recovery instances the run launched (TerminateRecoveryInstances); the source servers "
                "keep replicating, as after a drill")

    def _terminate_drills(self, ctx: RunContext, unit: WorkUnit, targets: list[Target], *,
                          drill: bool = True) -> PhaseOutcome:
        outcome = PhaseOutcome()
        by_region: dict[str, list[str]] = defaultdict(list)
        for t in targets:  # a drill's instances only (a rollback's: production ones), never the other kind
            by_region[t.region].extend(
                ri["recoveryInstanceID"] for ri in t.instances
                if bool(ri.get("isDrill")) == drill and ri.get("ec2InstanceState") not in GONE
            )
        kind = "drill" if drill else "recovery"
        for region, ids in by_region.items():
            drs = ctx.client("drs", region, unit.account_id)
            for chunk in _chunks(ids):
                reply = ctx.mutate(drs, "terminate_recovery_instances", recoveryInstanceIDs=chunk)
                verb = _note(reply, "would terminate", "terminating")
                outcome.notes.append(f"{verb} {len(chunk)} {kind} instance(s) in {region}")
                if reply is not None:
                    outcome.waits.append(self._job_wait(region, unit, reply["job"]["jobID"]))
        return outcome

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        targets = self._resolve(ctx, unit)  # also in a drill: every phase refuses out-of-scope resources
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: replication is never reversed"])
        back = self._reversed(ctx, unit, (t.server for t in targets))
        outcome = PhaseOutcome()
        syncing: dict[str, list[str]] = defaultdict(list)  # region -> reversed servers not CONTINUOUS yet
        for t in targets:
            ri = t.current(drill=False)
            if ri is None and ctx.dry_run:
                outcome.notes.append(f"{t.rid}: would reverse replication once recovered")
                continue
            if ri is None:
                raise AdapterError(t.rid, f"{t.server_id} has no recovery instance to reverse replication from",
                                   "run INSTANTIATE/ACTIVATE first")
            reverse = back.get(t.server.get("reversedDirectionSourceServerArn") or "")
            if reverse and _origin(reverse)[0] == ri["recoveryInstanceID"] and _replication(reverse)[0] != "STOPPED":
                arn = reverse["arn"]  # already replicating back from this recovery instance
                if _replication(reverse)[0] == "CONTINUOUS":
                    continue
            else:
                drs = ctx.client("drs", t.region, unit.account_id)
                reply = ctx.mutate(drs, "reverse_replication", recoveryInstanceID=ri["recoveryInstanceID"])
                if reply is None:
                    outcome.notes.append(f"{t.rid}: would reverse replication from {ri['recoveryInstanceID']}")
                    continue
                arn = reply["reversedDirectionSourceServerArn"]
                outcome.notes.append(f"{t.rid}: {ri['recoveryInstanceID']} replicates back to {arn}")
            syncing[_arn_region(arn)].append(arn.split("/")[-1])
        # The old region is DR-ready only once the reversed servers replicate CONTINUOUS (SRS FR-4.4).
        for region, ids in syncing.items():
            for chunk in _chunks(ids):
                args = {"filters": {"sourceServerIDs": chunk}}
                description = f"{len(chunk)} reversed DRS source server(s) in {region} reaching CONTINUOUS"
                outcome.waits.append(Wait("drs", region, unit.account_id, "ReplicationContinuous", args, description,
                                          delay=60, max_attempts=360))
        return outcome

    # -- tag discovery ---------------------------------------------------------------------------
    # The resource is the source server in the DR region. Its origin EC2 instance (often the part people
    # tag) and the reversed (failback) server in the primary region name the same one.
    discovery_types = ("drs:source-server", "ec2:instance")

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"drs/{account_id}/{config['sourceServerId']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        servers: dict[str, dict[str, Any]] = {}
        pages = read.client("drs", read.dr).get_paginator("describe_source_servers")
        if any(f.resource_type == "ec2:instance" for f in found):  # no filter by instance: list them all
            servers.update((s["arn"], s) for page in pages.paginate(filters={}) for s in page["items"])
        for region in sorted({f.region for f in found if f.resource_type != "ec2:instance"}):
            ids = [f.name for f in found if f.region == region and f.resource_type != "ec2:instance"]
            pages = read.client("drs", region).get_paginator("describe_source_servers")
            for chunk in _chunks(ids):
                servers.update((s["arn"], s) for page in pages.paginate(filters={"sourceServerIDs": chunk})
                               for s in page["items"])
        by_instance = {_origin(s)[0]: s for s in servers.values() if _arn_region(s["arn"]) == read.dr}
        out: list[Derived | NotDerived] = []
        for f in found:
            server = by_instance.get(f.name) if f.resource_type == "ec2:instance" else servers.get(f.arn)
            if server and _arn_region(server["arn"]) != read.dr:  # a reversed server: the one it reverses
                server = servers.get(server.get("reversedDirectionSourceServerArn") or "", server)
            if server is None or _arn_region(server["arn"]) != read.dr:
                why = ("no DRS source server in the DR region replicates it" if f.resource_type == "ec2:instance"
                       else f"source server in {f.region} does not replicate into the DR region {read.dr}")
                out.append(NotDerived(f.arn, f"{why} -- install the replication agent (or fix the scope's regions), "
                                             "or remove dr:enabled"))
                continue
            hints = (server.get("sourceProperties") or {}).get("identificationHints") or {}
            config = {"sourceServerId": server["sourceServerID"]}
            out.append(Derived(self.identity(config, read.account_id), self.actions[0],
                               hints.get("hostname") or server["sourceServerID"], config, f.arn, f.tags,
                               secondary=f.arn != server["arn"]))
        return out
