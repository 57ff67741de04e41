"""Amazon MemoryDB Multi-Region: move the serving capacity to the target region's regional cluster.

The mechanism AWS offers, and why it is not the seeds' "cluster promotion": a MemoryDB cluster lives in
one region, and the one way MemoryDB keeps a copy in another region is a **Multi-Region cluster**, whose
regional clusters are *active-active*: every one takes reads and writes and replicates to the others
(typically within a second), with conflicts resolved by MemoryDB. There is no writer to promote and no
replication to reverse, so DR for MemoryDB is *capacity, routing and verification*:

* INSTANTIATE scales the target region's regional cluster to production replicas per shard
  (``UpdateCluster`` ReplicaConfiguration; node type and shard count belong to the Multi-Region cluster
  and are the same in every region), so it can take the whole load before traffic moves;
* ACTIVATE verifies the target regional cluster is ``available``, at production capacity and still a
  member of the Multi-Region cluster (and scales it itself when an emergency run skipped INSTANTIATE).
  It already takes writes: nothing to promote. Moving the application's traffic to its endpoint is
  DNS's job (an ``R53Record`` resource in a later wave) or the application's own routing;
* CLEANUP scales the old region's regional cluster down to ``standbyReplicasPerShard`` -- never deletes
  it: deleting a regional cluster takes its region out of the Multi-Region cluster, the way back gone;
* REPLICATE verifies the old region's cluster is still a member (so it keeps receiving every write and
  failback has current data), naming the fix when it was removed.

A drill only reads (both regional clusters, the Multi-Region cluster, the replication lag): it scales
nothing, so it changes no serving role and leaves nothing behind. An unplanned failover reads and
scales only the target region: the dark region's regional cluster is left as it is until reprotect.
The data-loss exposure is the writes the dark region took that had not replicated yet: the target's
last ``MultiRegionClusterReplicationLag`` (CloudWatch, milliseconds).

Why not a single-region cluster restored from a snapshot: MemoryDB's ``CopySnapshot`` copies within a
region only (its ``TargetBucket`` exports to S3 in the same region), so a snapshot reaches another
region only through an S3 export, S3 replication and ``CreateCluster(SnapshotArns=...)`` -- a restore
with an RPO of the last export and an RTO of a cluster creation, which Multi-Region replaces. Such a
cluster is not derived by discovery (``derive`` says what to do) and is left to a later mode.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field, model_validator

from dr_adapters.adapters.base import (
    ActionConfig,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    Wait,
)
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.regional import RegionalCopyAdapter
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.types import Health, Phase

LAG_METRIC = "MultiRegionClusterReplicationLag"  # ms, published by each regional cluster
# A retried UpdateCluster whose first attempt's reply was lost: AWS refuses it because the first one acted.
ALREADY_CHANGING = ("InvalidClusterStateFault", "NoOperationFault")


class MemoryDBConfig(ActionConfig):
    cluster_name: str = Field(
        alias="clusterName",
        description="The regional cluster in the primary region, a member of a MemoryDB Multi-Region cluster.")
    dr_cluster_name: str | None = Field(
        None, alias="drClusterName",
        description="The regional cluster in the DR region, of the same Multi-Region cluster (default: clusterName).")
    replicas_per_shard: int = Field(
        alias="replicasPerShard", ge=0, le=5,
        description="Production replicas per shard: what the serving region's regional cluster runs "
        "(INSTANTIATE scales the target to it).")
    standby_replicas_per_shard: int = Field(
        0, alias="standbyReplicasPerShard", ge=0, le=5,
        description="Replicas per shard the region not serving keeps (CLEANUP scales the old one down to it; "
        "0 keeps each shard's primary node, which still takes every replicated write).")

    @model_validator(mode="after")
    def _standby_is_smaller(self) -> MemoryDBConfig:
        if self.standby_replicas_per_shard > self.replicas_per_shard:
            raise ValueError("standbyReplicasPerShard must not exceed replicasPerShard")
        return self


class _Side(NamedTuple):
    """One region's regional cluster."""

    region: str
    cluster: str

    def __str__(self) -> str:
        return f"MemoryDB cluster {self.cluster} in {self.region}"


def replicas_of(cluster: dict[str, Any]) -> int | None:
    """Replicas per shard as the cluster runs them now (the fewest of any shard); None without shard details."""
    shards = cluster.get("Shards") or []
    return min(s["NumberOfNodes"] for s in shards) - 1 if shards else None


class MemoryDBAdapter(RegionalCopyAdapter[_Side]):
    actions = ("MemoryDB",)
    config_model = MemoryDBConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    drill_behaviour = (
        "read-only: checks the DR regional cluster is available and a member of the Multi-Region cluster, and "
        "the replication lag within RPO; scales nothing"
    )
    unplanned_behaviour = (
        "scales and verifies the target regional cluster only (it takes writes already: active-active); the "
        "target's last MultiRegionClusterReplicationLag is the data-loss exposure; CLEANUP (scale the dark "
        "region's cluster down) and REPLICATE (verify it is still a member) wait for reprotect"
    )
    phase_summaries = {
        Phase.INSTANTIATE: "scale the target regional cluster to replicasPerShard (UpdateCluster) and wait until available",
        Phase.ACTIVATE: "verify the target regional cluster is available, at production capacity and a member of the "
        "Multi-Region cluster: it takes writes already; traffic moves by DNS (R53Record) or the application",
        Phase.CLEANUP: "scale the old region's regional cluster down to standbyReplicasPerShard (never deleted: it "
        "is the way back)",
        Phase.REPLICATE: "verify the old region's regional cluster is still a member of the Multi-Region cluster",
    }
    iam_actions = (
        "memorydb:DescribeClusters",
        "memorydb:DescribeMultiRegionClusters",
        "memorydb:ListTags",
        "memorydb:UpdateCluster",
        "cloudwatch:GetMetricStatistics",
    )
    retire_label, retired_label = "scale down", "scaled down"

    # -- AWS reads -----------------------------------------------------------------------------
    def _sides(self, ctx: RunContext, cfg: MemoryDBConfig) -> tuple[_Side, _Side]:
        primary = _Side(ctx.regions.primary, cfg.cluster_name)
        dr = _Side(ctx.regions.dr, cfg.dr_cluster_name or cfg.cluster_name)
        return ctx.source_and_target(primary, dr)

    @staticmethod
    def _memorydb(ctx: RunContext, unit: WorkUnit, region: str) -> Any:
        return ctx.client("memorydb", region, unit.account_id)

    def _read(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> dict[str, Any] | None:
        client = self._memorydb(ctx, unit, side.region)
        try:
            return client.describe_clusters(ClusterName=side.cluster, ShowShardDetails=True)["Clusters"][0]
        except client.exceptions.ClusterNotFoundFault:
            return None

    def _tags(self, ctx: RunContext, unit: WorkUnit, side: _Side, found: dict[str, Any]) -> dict[str, str]:
        tags = self._memorydb(ctx, unit, side.region).list_tags(ResourceArn=found["ARN"])["TagList"]
        return {t["Key"]: t["Value"] for t in tags}

    def _multi_region(self, ctx: RunContext, unit: WorkUnit, rid: str, side: _Side,
                      cluster: dict[str, Any]) -> dict[str, Any]:
        """The Multi-Region cluster ``cluster`` belongs to, with its regional clusters, read in ``side``'s region
        (it answers from any of its regions: the one being left is never needed)."""
        name = cluster.get("MultiRegionClusterName")
        if not name:
            raise AdapterError(rid, f"{side} is not a regional cluster of a MemoryDB Multi-Region cluster",
                               "MemoryDB replicates across regions only within a Multi-Region cluster: create one "
                               "with a regional cluster in each region, and name those in the manifest")
        client = self._memorydb(ctx, unit, side.region)
        try:
            return client.describe_multi_region_clusters(MultiRegionClusterName=name, ShowClusterDetails=True)[
                "MultiRegionClusters"][0]
        except client.exceptions.MultiRegionClusterNotFoundFault:
            raise AdapterError(rid, f"Multi-Region cluster {name} of {side} not found",
                               "check the cluster names in the manifest and the resource's accountId") from None

    @staticmethod
    def _member(mr: dict[str, Any], side: _Side) -> dict[str, Any] | None:
        """``side`` as the Multi-Region cluster lists its regional clusters (None: not a member)."""
        return next((c for c in mr.get("Clusters") or []
                     if c["Region"] == side.region and c["ClusterName"] == side.cluster), None)

    def _lag_ms(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> float | None:
        """The latest MultiRegionClusterReplicationLag of ``side`` (how far behind the other regions' writes)."""
        now = datetime.now(timezone.utc)
        points = ctx.client("cloudwatch", side.region, unit.account_id).get_metric_statistics(
            Namespace="AWS/MemoryDB", MetricName=LAG_METRIC,
            Dimensions=[{"Name": "ClusterName", "Value": side.cluster}],
            StartTime=now - timedelta(minutes=15), EndTime=now + timedelta(minutes=1), Period=60,
            Statistics=["Maximum"])["Datapoints"]
        return max(points, key=lambda p: p["Timestamp"])["Maximum"] if points else None

    @staticmethod
    def _available(unit: WorkUnit, side: _Side, description: str) -> Wait:
        return Wait("memorydb", side.region, unit.account_id, "ClusterAvailable",  # ours: waiters/memorydb.json
                    {"ClusterName": side.cluster}, description, delay=30, max_attempts=120)

    # -- the one change this adapter makes -----------------------------------------------------
    def _scale(self, ctx: RunContext, unit: WorkUnit, rid: str, side: _Side, cluster: dict[str, Any], replicas: int,
               out: PhaseOutcome) -> None:
        """Converge ``side`` to ``replicas`` per shard: one UpdateCluster, then wait until it is available."""
        if cluster["Status"] != "available":  # changing already (ours from an earlier round, or anyone's)
            out.waits.append(self._available(unit, side, f"{side} is {cluster['Status']}"))
            return
        have = replicas_of(cluster)
        if have == replicas:
            return
        client = self._memorydb(ctx, unit, side.region)
        try:
            ctx.mutate(client, "update_cluster", ClusterName=side.cluster,
                       ReplicaConfiguration={"ReplicaCount": replicas})
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ALREADY_CHANGING:
                raise
            now = self._read(ctx, unit, side)
            if now is None or (now["Status"] == "available" and replicas_of(now) != replicas):
                raise  # a real refusal, not our own first attempt
        out.notes.append(f"{rid}: {side} replicas per shard {have} -> {replicas}")
        if not ctx.dry_run:  # waiting on a change a dry run did not make would only time out
            out.waits.append(self._available(unit, side, f"{side} scaling to {replicas} replicas per shard"))

    # -- read-only -----------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for rid, cfg, source, target in self._each(ctx, unit):
            cluster = self._read(ctx, unit, target)
            if cluster is None:
                findings.append(Finding(rid, False, f"{target} does not exist"))
            else:
                findings.append(self._target_finding(ctx, unit, rid, cfg, source, target, cluster))
            findings.append(self._source_finding(ctx, unit, rid, source, target_ok=findings[-1].ok))
        return findings

    def _target_finding(self, ctx: RunContext, unit: WorkUnit, rid: str, cfg: MemoryDBConfig, source: _Side,
                        target: _Side, cluster: dict[str, Any]) -> Finding:
        scoped = self._exists_finding(ctx, unit, rid, target, cluster)
        if not scoped.ok:
            return scoped
        problems: list[str] = []
        notes: list[str] = []
        try:
            mr = self._multi_region(ctx, unit, rid, target, cluster)
        except AdapterError as err:
            return Finding(rid, False, str(err), scoped.tags)
        if self._member(mr, source) is None:
            problems.append(f"{source} is not a regional cluster of {mr['MultiRegionClusterName']}")
        if mr["Status"] != "available":
            problems.append(f"Multi-Region cluster {mr['MultiRegionClusterName']} is {mr['Status']}")
        if cluster["Status"] != "available":
            problems.append(f"{target} is {cluster['Status']}")
        replicas = replicas_of(cluster)
        if replicas is not None and replicas >= cfg.replicas_per_shard:
            notes.append(f"{target} runs production capacity ({replicas} replicas per shard)")
        else:
            notes.append(f"{target} runs {replicas} replicas per shard; INSTANTIATE scales it to "
                         f"{cfg.replicas_per_shard}")
        lag = self._lag_ms(ctx, unit, target)
        exposure = None
        if ctx.unplanned:  # the region being left is dark: what it took and had not replicated is lost
            exposure = (f"{target.cluster}: last replication lag {lag:.0f} ms" if lag is not None
                        else f"{target.cluster}: no {LAG_METRIC} data, data loss unknown")
            notes.append(f"unplanned: {exposure}")
        elif lag is None:
            notes.append(f"no {LAG_METRIC} data for {target.cluster}; replication lag not checked")
        elif ctx.rpo_minutes is not None and lag > ctx.rpo_minutes * 60_000:
            problems.append(f"{target}: replication lag {lag:.0f} ms exceeds RPO of {ctx.rpo_minutes} min")
        else:
            notes.append(f"replication lag {lag:.0f} ms")
        return Finding(rid, not problems, "; ".join(problems or notes), scoped.tags, exposure)

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for rid, cfg, _, target in self._each(ctx, unit):
            cluster = self._read(ctx, unit, target)
            if cluster is None:
                checks.append(HealthCheck(rid, Health.UNHEALTHY, f"{target} does not exist"))
                continue
            status, replicas = cluster["Status"], replicas_of(cluster)
            member = bool(cluster.get("MultiRegionClusterName"))
            reason = (f"{target}: {status}, {replicas} replicas per shard (production {cfg.replicas_per_shard}), "
                      f"{'a' if member else 'not a'} Multi-Region member")
            if status != "available" or not member:
                health = Health.UNHEALTHY
            elif ctx.is_drill or (replicas or 0) >= cfg.replicas_per_shard:
                health = Health.HEALTHY  # a drill scales nothing: available and replicating is all it expects
            else:
                health = Health.DEGRADED  # takes writes, below production capacity
            checks.append(HealthCheck(rid, health, reason))
        return checks

    # -- phases --------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            cluster = self._require(ctx, unit, rid, target, self._create_fix(target))
            self._multi_region(ctx, unit, rid, target, cluster)
            if ctx.is_drill:
                out.notes.append(f"{rid}: drill, read-only; {target} runs {replicas_of(cluster)} replicas per shard, "
                                 f"a failover would scale it to {cfg.replicas_per_shard}")
                continue
            self._scale(ctx, unit, rid, target, cluster, cfg.replicas_per_shard, out)
        return out

    @staticmethod
    def _create_fix(side: _Side) -> str:
        return (f"create it in {side.region} with CreateCluster --multi-region-cluster-name <the Multi-Region "
                "cluster> (a drill creates nothing)")

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            cluster = self._require(ctx, unit, rid, target, self._create_fix(target))
            mr = self._multi_region(ctx, unit, rid, target, cluster)
            name = mr["MultiRegionClusterName"]
            if self._member(mr, target) is None:
                raise AdapterError(rid, f"{target} is not listed by Multi-Region cluster {name}",
                                   "re-create it as a regional cluster of the Multi-Region cluster")
            if ctx.is_drill:
                if cluster["Status"] != "available" or mr["Status"] != "available":
                    raise AdapterError(rid, f"drill: {target} is {cluster['Status']}, {name} is {mr['Status']}",
                                       "investigate the DR regional cluster before relying on it")
                out.notes.append(f"{rid}: drill, read-only; {target} is an available regional cluster of {name}")
                continue
            waits = len(out.waits)
            # INSTANTIATE has scaled it; an emergency run (ACTIVATE only) scales it here.
            self._scale(ctx, unit, rid, target, cluster, cfg.replicas_per_shard, out)
            if len(out.waits) == waits and not ctx.dry_run:
                endpoint = (cluster.get("ClusterEndpoint") or {}).get("Address", "its cluster endpoint")
                out.notes.append(f"{rid}: {target} takes writes at production capacity (active-active in {name}: "
                                 f"nothing to promote); route the application to {endpoint}")
        return out

    def _retire(self, ctx: RunContext, unit: WorkUnit, rid: str, source: _Side, found: dict[str, Any],
                out: PhaseOutcome) -> None:
        # Scaled down, never deleted: deleting a regional cluster takes its region out of the Multi-Region
        # cluster, and re-adding one means a fresh cluster filling from the other regions.
        cfg = next(self.config(r) for r in unit.resources if r.resource_id == rid)
        self._scale(ctx, unit, rid, source, found, cfg.standby_replicas_per_shard, out)

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: nothing to replicate"])
        out = PhaseOutcome()
        for rid, _, source, target in self._each(ctx, unit):
            cluster = self._require(ctx, unit, rid, target, self._create_fix(target))
            mr = self._multi_region(ctx, unit, rid, target, cluster)
            name = mr["MultiRegionClusterName"]
            fix = (f"re-create it with CreateCluster --cluster-name {source.cluster} --multi-region-cluster-name "
                   f"{name} in {source.region} (it fills from the other regions), then re-run REPLICATE")
            member = self._member(mr, source)
            if member is None:
                raise AdapterError(rid, f"{source} is no longer a regional cluster of {name}", fix)
            self._require(ctx, unit, rid, source, fix)  # and still this scope's
            out.notes.append(f"{rid}: {source} is a regional cluster of {name} ({member['Status']}): it receives "
                             f"every write made in {target.region}")
        return out

    # -- tag discovery ---------------------------------------------------------------------------
    # Either regional cluster, or the Multi-Region cluster itself, may carry the DR tags: each names one
    # Multi-Region cluster, whose regional clusters in the scope's two regions are the resource.
    discovery_types = ("memorydb:cluster", "memorydb:multiregioncluster")

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"memorydb/{account_id}/{config['clusterName']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        clusters = self._clusters(read)
        multi = {mr["MultiRegionClusterName"]: mr for mr in self._multi_region_clusters(read)}
        out: list[Derived | NotDerived] = []
        for f in found:
            if f.resource_type == "memorydb:multiregioncluster":
                mr = multi.get(f.name)
            else:
                mr = multi.get((clusters.get((f.region, f.name)) or {}).get("MultiRegionClusterName", ""))
            if mr is None:
                out.append(NotDerived(f.arn, "not part of a MemoryDB Multi-Region cluster (MemoryDB copies a cluster "
                                             "to another region only there) -- create a Multi-Region cluster with a "
                                             f"regional cluster in {read.primary} and {read.dr}, or remove dr:enabled"))
                continue
            out.append(self._derived(f, mr, clusters, read))
        return out

    def _derived(self, f: Tagged, mr: dict[str, Any], clusters: dict[tuple[str, str], dict[str, Any]],
                 read: DiscoveryRead) -> Derived | NotDerived:
        name = mr["MultiRegionClusterName"]
        members = {c["Region"]: c["ClusterName"] for c in mr.get("Clusters") or []}
        missing = [r for r in (read.primary, read.dr) if r not in members]
        if missing:
            return NotDerived(f.arn, f"Multi-Region cluster {name} has no regional cluster in {', '.join(missing)} "
                                     "-- add one (CreateCluster --multi-region-cluster-name) or remove dr:enabled")
        # The serving region runs production capacity, the other its standby: whichever way round they are now.
        replicas = [r for r in (replicas_of(clusters.get((region, members[region])) or {})
                                for region in (read.primary, read.dr)) if r is not None]
        if not replicas:
            return NotDerived(f.arn, f"the regional clusters of {name} could not be read -- run discover again "
                                     "when both regions answer")
        config: dict[str, Any] = {"clusterName": members[read.primary], "replicasPerShard": max(replicas)}
        if members[read.dr] != members[read.primary]:
            config["drClusterName"] = members[read.dr]
        if len(replicas) == 2 and min(replicas):
            config["standbyReplicasPerShard"] = min(replicas)
        return Derived(self.identity(config, read.account_id), self.actions[0], members[read.primary], config, f.arn,
                       f.tags, secondary=f.region == read.dr)

    @staticmethod
    def _clusters(read: DiscoveryRead) -> dict[tuple[str, str], dict[str, Any]]:
        """(region, name) -> cluster with shard details, one listing per region; a dark region is skipped."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for region in (read.primary, read.dr):
            try:
                pages = read.client("memorydb", region).get_paginator("describe_clusters").paginate(
                    ShowShardDetails=True)
                out.update({(region, c["Name"]): c for page in pages for c in page["Clusters"]})
            except (BotoCoreError, ClientError):
                continue
        return out

    @staticmethod
    def _multi_region_clusters(read: DiscoveryRead) -> list[dict[str, Any]]:
        """Every Multi-Region cluster of the account, from the primary region, else DR when it is dark."""
        for region in (read.primary, read.dr):
            client = read.client("memorydb", region)
            args: dict[str, Any] = {"ShowClusterDetails": True}
            found: list[dict[str, Any]] = []
            try:
                while True:
                    page = client.describe_multi_region_clusters(**args)
                    found += page["MultiRegionClusters"]
                    if not page.get("NextToken"):
                        return found
                    args["NextToken"] = page["NextToken"]
            except (BotoCoreError, ClientError):
                if region == read.dr:
                    raise
        return []
