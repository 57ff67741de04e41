"""Amazon OpenSearch Service: a pilot-light domain in the DR region, following the serving one by
cross-cluster replication.

Each region has its own domain. The serving one (the *leader*) runs at the production shape; the other
(the *follower*) at a pilot-light shape, pulling the leader's indices over a cross-cluster connection it
opened (replication pulls: the follower's outbound connection is the leader's inbound one). A failover:
INSTANTIATE scales the target to production (``UpdateDomainConfig``) and waits until ``Processing`` is
false (a blue/green deployment: the domain serves on meanwhile); ACTIVATE stops it following (deletes
its outbound connection in its own region, waits until ``DELETED``) and checks it serves (``Created``,
an endpoint, not ``Processing``, following nothing); CLEANUP scales the source down to the pilot light;
REPLICATE connects the source back as the follower (``CreateOutboundConnection`` in the source's region,
``AcceptInboundConnection`` in the target's) and waits until ``ACTIVE``.

Where AWS differs from the seeds' wording ("activate the DR domain"): what makes a follower stop
following is not a control-plane call. Per index it is the replication plugin's
``POST _plugins/_replication/<index>/_stop``, a data-plane request to the domain's endpoint (es:ESHttpPost,
signed, with a fine-grained-access-control role mapping, reachable only from inside a VPC domain's
network). The AWS API's part is the connection, and AWS documents that removing it "stops any
cross-cluster operation on its indices". So ACTIVATE deletes the connection: from the target region
alone (no call to the region being left, which may be dark), and a leader that comes back after an
unplanned failover can no longer feed the new writer stale data. Lifting the follower indices' write
block (``_stop``) and, at REPLICATE, starting replication on the old domain (``_start`` or an
``_autofollow`` rule naming ``connectionAlias``; AWS replicates no index that already exists on the
follower) are data-plane steps: put a ``LambdaInvoke`` or ``SsmAutomation`` action after this resource
(dependencies) that holds that role. ``connectionAlias`` is the same both ways so that one rule per
domain serves either direction. The leader's domain access policy must allow ``es:ESCrossClusterGet``
(AWS's replication prerequisite, not a permission of our role).

A drill only reads: the target domain exists and follows the source over an ACTIVE connection.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field, field_validator

from dr_adapters.adapters.base import (
    ActionConfig,
    Adapter,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    Wait,
    source_finding,
)
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

DEFAULT_ALIAS = "leader"
GONE = frozenset({"VALIDATION_FAILED", "REJECTING", "REJECTED", "DELETING", "DELETED"})
"""Connection statuses that no longer connect (the rest are on their way to ACTIVE, or ACTIVE)."""
ACCEPTED = frozenset({"APPROVED", "PROVISIONING", "ACTIVE"})
SCOPE_FIX = "tag the domain with this estate's Customer/Environment, or remove it from the manifest"
DOMAIN_NAME = r"^[a-z][a-z0-9\-]{2,27}$"
INSTANCE_TYPE = r"^[a-z0-9-]+\.[a-z0-9]+\.search$"  # r6g.large.search
NO_REPLICATION = ("m3.", "t2.", "t3.")  # instance families cross-cluster replication refuses


class OpenSearchConfig(ActionConfig):
    domain_name: str = Field(alias="domainName", pattern=DOMAIN_NAME,
                             description="The domain in the primary region (the leader while the primary serves).")
    dr_domain_name: str | None = Field(None, alias="drDomainName", pattern=DOMAIN_NAME,
                                       description="The domain in the DR region (default: domainName).")
    instance_type: str = Field(alias="instanceType", pattern=INSTANCE_TYPE,
                               description="Production data-node instance type of the serving domain, e.g. "
                                           "r6g.large.search (INSTANTIATE scales the target to it).")
    instance_count: int = Field(alias="instanceCount", ge=1, description="Production data-node count.")
    pilot_instance_type: str | None = Field(None, alias="pilotInstanceType", pattern=INSTANCE_TYPE,
                                            description="Pilot-light data-node instance type of the following "
                                                        "domain (CLEANUP scales the old domain to it; default: "
                                                        "instanceType). Cross-cluster replication refuses M3, T2 "
                                                        "and T3 instances.")
    pilot_instance_count: int = Field(1, alias="pilotInstanceCount", ge=1,
                                      description="Pilot-light data-node count of the following domain.")
    connection_alias: str = Field(DEFAULT_ALIAS, alias="connectionAlias", pattern=r"^[a-zA-Z][a-zA-Z0-9\-_]{1,99}$",
                                  description="Alias REPLICATE gives the connection from the new follower to the "
                                              "new leader: the follower's replication requests and auto-follow "
                                              "rules name their leader by it, so it is the same both ways.")

    @field_validator("instance_type", "pilot_instance_type")
    @classmethod
    def _replicates(cls, value: str | None) -> str | None:
        if value is not None and value.startswith(NO_REPLICATION):
            raise ValueError(f"{value}: cross-cluster replication refuses M3, T2 and T3 instances")
        return value

    @property
    def production(self) -> tuple[str, int]:
        return self.instance_type, self.instance_count

    @property
    def pilot(self) -> tuple[str, int]:
        return self.pilot_instance_type or self.instance_type, self.pilot_instance_count


class _Domain(NamedTuple):
    """One region's domain."""

    region: str
    name: str

    def __str__(self) -> str:
        return f"OpenSearch domain {self.name} in {self.region}"


class _Pair(NamedTuple):
    """One manifest resource for this run: the domain moved from and the one moved to."""

    rid: str
    cfg: OpenSearchConfig
    source: _Domain
    target: _Domain


def _status(connection: dict[str, Any]) -> str:
    return connection["ConnectionStatus"]["StatusCode"]


def _live(connections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in connections if _status(c) not in GONE]


def _shape(domain: dict[str, Any]) -> tuple[str, int]:
    cluster = domain.get("ClusterConfig") or {}
    return cluster.get("InstanceType", ""), int(cluster.get("InstanceCount") or 0)


def _fmt(shape: tuple[str, int]) -> str:
    return f"{shape[1]} x {shape[0]}"


def _endpoint(domain: dict[str, Any]) -> str | None:
    return domain.get("Endpoint") or next(iter((domain.get("Endpoints") or {}).values()), None)


def _account(domain: dict[str, Any]) -> str:
    return domain["ARN"].split(":")[4]


def _info(region: str, account: str, name: str) -> dict[str, Any]:
    return {"AWSDomainInformation": {"OwnerId": account, "DomainName": name, "Region": region}}


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


class OpenSearchAdapter(Adapter):
    actions = ("OpenSearchService",)
    config_model = OpenSearchConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    drill_behaviour = ("read-only: checks the target domain exists and follows the source over an ACTIVE "
                       "cross-cluster connection; scales nothing, deletes and creates no connection")
    unplanned_behaviour = (
        "scales the target domain to production and deletes its outbound connection from the target region "
        "only (the follower stops following whatever its leader's state); CLEANUP (scale the old domain to "
        "pilot light) and REPLICATE (connect it back as the follower) wait for reprotect")
    phase_summaries = {
        Phase.INSTANTIATE: "scale the target domain to the production shape (UpdateDomainConfig "
                           "InstanceType/InstanceCount) and wait until it is no longer Processing",
        Phase.ACTIVATE: "stop the target domain following the source (DeleteOutboundConnection, wait until "
                        "DELETED) and check it serves: Created, an endpoint, not Processing, following nothing",
        Phase.CLEANUP: "scale the source domain down to the pilot-light shape",
        Phase.REPLICATE: "connect the source domain back as the follower of the target (CreateOutboundConnection "
                         "from the source, AcceptInboundConnection at the target) and wait until ACTIVE",
    }
    iam_actions = (
        "es:DescribeDomains",
        "es:ListTags",
        "es:UpdateDomainConfig",
        "es:DescribeOutboundConnections",
        "es:DescribeInboundConnections",
        "es:DeleteOutboundConnection",
        "es:CreateOutboundConnection",
        "es:AcceptInboundConnection",
    )

    # -- AWS reads -----------------------------------------------------------------------------
    def _pairs(self, ctx: RunContext, unit: WorkUnit) -> list[_Pair]:
        return [self._pair(ctx, r) for r in unit.resources]

    def _pair(self, ctx: RunContext, resource: ResourceSpec) -> _Pair:
        cfg: OpenSearchConfig = self.config(resource)
        primary = _Domain(ctx.regions.primary, cfg.domain_name)
        dr = _Domain(ctx.regions.dr, cfg.dr_domain_name or cfg.domain_name)
        return _Pair(resource.resource_id, cfg, *ctx.source_and_target(primary, dr))

    @staticmethod
    def _es(ctx: RunContext, unit: WorkUnit, region: str) -> Any:
        return ctx.client("opensearch", region, unit.account_id)

    def _describe(self, ctx: RunContext, unit: WorkUnit, domain: _Domain) -> dict[str, Any] | None:
        """The domain's status, or None when it does not exist (or is being deleted)."""
        found = self._es(ctx, unit, domain.region).describe_domains(DomainNames=[domain.name])["DomainStatusList"]
        return next((d for d in found if not d.get("Deleted")), None)

    def _tags(self, ctx: RunContext, unit: WorkUnit, domain: _Domain, status: dict[str, Any]) -> dict[str, str]:
        tags = self._es(ctx, unit, domain.region).list_tags(ARN=status["ARN"])["TagList"]
        return {t["Key"]: t["Value"] for t in tags}

    def _require(self, ctx: RunContext, unit: WorkUnit, rid: str, domain: _Domain, fix: str) -> dict[str, Any]:
        """The domain's status: it must exist (else ``fix``) and be in this run's scope."""
        status = self._describe(ctx, unit, domain)
        if status is None:
            raise AdapterError(rid, f"{domain} does not exist", fix)
        problem = ctx.scope.mismatch(self._tags(ctx, unit, domain, status))
        if problem:
            raise AdapterError(rid, f"{domain} is out of scope: {problem}", SCOPE_FIX)
        return status

    def _outbound(self, ctx: RunContext, unit: WorkUnit, local: _Domain, remote: _Domain) -> list[dict[str, Any]]:
        """Connections ``local`` opened to ``remote`` (``local`` follows ``remote`` over a live one), read
        in ``local``'s region, newest last; deleted ones stay listed a while."""
        return self._connections(self._es(ctx, unit, local.region).describe_outbound_connections, [
            {"Name": "local-domain-info.domain-name", "Values": [local.name]},
            {"Name": "remote-domain-info.domain-name", "Values": [remote.name]},
            {"Name": "remote-domain-info.region", "Values": [remote.region]}])

    def _inbound(self, ctx: RunContext, unit: WorkUnit, remote: _Domain, local: _Domain) -> list[dict[str, Any]]:
        """Connections ``local`` opened to ``remote``, read in ``remote``'s region (the leader's side)."""
        return self._connections(self._es(ctx, unit, remote.region).describe_inbound_connections, [
            {"Name": "remote-domain-info.domain-name", "Values": [remote.name]},
            {"Name": "local-domain-info.domain-name", "Values": [local.name]},
            {"Name": "local-domain-info.region", "Values": [local.region]}])

    @staticmethod
    def _connections(describe: Any, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        while True:
            page = describe(Filters=filters, **({"NextToken": token} if token else {}))
            out += page["Connections"]
            token = page.get("NextToken")
            if not token:
                return out

    def _by_id(self, ctx: RunContext, unit: WorkUnit, region: str, connection_id: str, *, inbound: bool) -> str | None:
        es = self._es(ctx, unit, region)
        describe = es.describe_inbound_connections if inbound else es.describe_outbound_connections
        found = describe(Filters=[{"Name": "connection-id", "Values": [connection_id]}])["Connections"]
        return _status(found[0]) if found else None

    # -- waits -----------------------------------------------------------------------------------
    @staticmethod
    def _not_processing(unit: WorkUnit, domain: _Domain, why: str) -> Wait:
        return Wait("opensearch", domain.region, unit.account_id, "DomainNotProcessing",
                    {"DomainNames": [domain.name]}, why, delay=30, max_attempts=240)

    @staticmethod
    def _connection_wait(unit: WorkUnit, region: str, waiter: str, connection_id: str, why: str) -> Wait:
        return Wait("opensearch", region, unit.account_id, waiter,
                    {"Filters": [{"Name": "connection-id", "Values": [connection_id]}]}, why, delay=10, max_attempts=90)

    # -- read-only -----------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for p in self._pairs(ctx, unit):
            target = self._describe(ctx, unit, p.target)
            if target is None:
                findings.append(Finding(p.rid, False, f"{p.target} does not exist"))
            else:
                tags = self._tags(ctx, unit, p.target, target)
                problem = ctx.scope.mismatch(tags)
                if problem:
                    findings.append(Finding(p.rid, False, f"{p.target} is out of scope: {problem}", tags))
                else:
                    findings.append(self._replication_finding(ctx, unit, p, target, tags))

            def read_tags(p: _Pair = p) -> dict[str, str] | None:
                source = self._describe(ctx, unit, p.source)
                return self._tags(ctx, unit, p.source, source) if source else None

            findings.append(source_finding(ctx, p.rid, str(p.source), read_tags, target_ok=findings[-1].ok))
        return findings

    def _replication_finding(self, ctx: RunContext, unit: WorkUnit, p: _Pair, target: dict[str, Any],
                             tags: dict[str, str]) -> Finding:
        shape = f"at {_fmt(_shape(target))}, production {_fmt(p.cfg.production)}"
        busy = "; Processing a configuration change" if target.get("Processing") else ""
        following = self._outbound(ctx, unit, p.target, p.source)
        if any(_status(c) == "ACTIVE" for c in following):
            exposure = None
            if ctx.unplanned:  # the leader's side is dark: the follower keeps what it had pulled
                exposure = (f"{p.target.name}: the follower indices hold what replication pulled before "
                            f"{p.source.region} went dark (the replication plugin's lag is not read)")
            return Finding(p.rid, True, f"{p.target} follows {p.source} over an ACTIVE connection ({shape}){busy}",
                           tags, exposure)
        if any(_status(c) == "ACTIVE" for c in self._inbound(ctx, unit, p.target, p.source)):
            return Finding(p.rid, True, f"already failed over: {p.source} follows {p.target} ({shape})", tags)
        seen = ", ".join(sorted({_status(c) for c in following})) or "none"
        return Finding(p.rid, False, f"{p.target} does not follow {p.source}: no ACTIVE cross-cluster connection "
                                     f"(its connections to it: {seen})", tags)

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for p in self._pairs(ctx, unit):
            target = self._describe(ctx, unit, p.target)
            if target is None:
                checks.append(HealthCheck(p.rid, Health.UNHEALTHY, f"{p.target} does not exist"))
                continue
            live = _live(self._outbound(ctx, unit, p.target, p.source))
            serving = bool(target.get("Created") and _endpoint(target))
            shape = f"{_fmt(_shape(target))} (production {_fmt(p.cfg.production)})"
            if ctx.is_drill:  # as the drill's ACTIVATE: following the source, or already its leader
                role = self._role(ctx, unit, p)
                checks.append(HealthCheck(p.rid, Health.HEALTHY if serving and role else Health.UNHEALTHY,
                                          f"drill: {role or f'{p.target} does not follow {p.source}'}"))
            elif live:
                checks.append(HealthCheck(p.rid, Health.UNHEALTHY,
                                          f"{p.target} still follows {p.source} ({_status(live[0])})"))
            elif not serving:
                checks.append(HealthCheck(p.rid, Health.UNHEALTHY, f"{p.target} has no endpoint (Created="
                                                                   f"{target.get('Created')})"))
            elif target.get("Processing") or _shape(target) != p.cfg.production:
                checks.append(HealthCheck(p.rid, Health.DEGRADED, f"{p.target} serves at {shape}"
                                          + (", Processing a change" if target.get("Processing") else "")))
            else:
                checks.append(HealthCheck(p.rid, Health.HEALTHY, f"{p.target} serves at {shape}, following no domain"))
        return checks

    # -- phases --------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for p in self._pairs(ctx, unit):
            target = self._require(ctx, unit, p.rid, p.target, "create the DR domain (following the primary one)")
            if ctx.is_drill:
                out.notes.append(f"{p.rid}: drill, read-only; {p.target} is at {_fmt(_shape(target))}, a failover "
                                 f"would scale it to {_fmt(p.cfg.production)}")
                continue
            self._scale(ctx, unit, p.rid, p.target, target, p.cfg.production, out)
        return out

    def _scale(self, ctx: RunContext, unit: WorkUnit, rid: str, domain: _Domain, status: dict[str, Any],
               shape: tuple[str, int], out: PhaseOutcome) -> None:
        """Bring the domain to ``shape`` and wait until the change is deployed."""
        if _shape(status) == shape:
            if status.get("Processing"):
                out.waits.append(self._not_processing(unit, domain, f"{domain} finishing a configuration change"))
            else:
                out.notes.append(f"{rid}: {domain} is at {_fmt(shape)}")
            return
        if status.get("Processing"):  # AWS refuses a change while another one deploys: wait, then change
            out.waits.append(self._not_processing(unit, domain, f"{domain} finishing a change before scaling"))
            return
        try:
            ctx.mutate(self._es(ctx, unit, domain.region), "update_domain_config", DomainName=domain.name,
                       ClusterConfig={"InstanceType": shape[0], "InstanceCount": shape[1]})
        except ClientError as err:
            self._scaled_already(ctx, unit, domain, shape, err)
        out.notes.append(f"{rid}: {domain} {_fmt(_shape(status))} -> {_fmt(shape)}")
        if not ctx.dry_run:  # waiting on a change a dry run did not make would only time out
            out.waits.append(self._not_processing(unit, domain, f"{domain} scaling to {_fmt(shape)}"))

    def _scaled_already(self, ctx: RunContext, unit: WorkUnit, domain: _Domain, shape: tuple[str, int],
                        err: ClientError) -> None:
        """UpdateDomainConfig refused after a lost reply (botocore's retry meets the change the first attempt
        started: "a change/update is in progress"): fine if the domain is now being scaled to ``shape``."""
        now = self._describe(ctx, unit, domain)
        if _code(err) != "ValidationException" or now is None or _shape(now) != shape:
            raise err

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for p in self._pairs(ctx, unit):
            target = self._require(ctx, unit, p.rid, p.target, "create the DR domain (a failover creates none)")
            if ctx.is_drill:
                role = self._role(ctx, unit, p)
                if role is None:
                    raise AdapterError(p.rid, f"drill: {p.target} does not follow {p.source} over an ACTIVE connection",
                                       f"connect {p.target.name} to {p.source.name} (CreateOutboundConnection from "
                                       "the follower) and start replication")
                out.notes.append(f"{p.rid}: drill, read-only; {role}")
                continue
            connections = self._outbound(ctx, unit, p.target, p.source)
            es = self._es(ctx, unit, p.target.region)
            for c in _live(connections):  # stop following: the connection's removal stops replication over it
                cid = c["ConnectionId"]
                try:
                    ctx.mutate(es, "delete_outbound_connection", ConnectionId=cid)
                except ClientError as err:
                    self._deleted_already(ctx, unit, p.target, cid, err)
                out.notes.append(f"{p.rid}: {p.target} stops following {p.source} (connection "
                                 f"{c.get('ConnectionAlias')} {cid} deleted)")
                if not ctx.dry_run:
                    out.waits.append(self._connection_wait(unit, p.target.region, "OutboundConnectionDeleted", cid,
                                                           f"connection {cid} of {p.target} deleted"))
            for c in connections:
                if _status(c) == "DELETING":
                    out.waits.append(self._connection_wait(unit, p.target.region, "OutboundConnectionDeleted",
                                                           c["ConnectionId"], f"connection {c['ConnectionId']} deleted"))
            if _live(connections) or any(_status(c) == "DELETING" for c in connections):
                continue
            if target.get("Processing"):
                out.waits.append(self._not_processing(unit, p.target, f"{p.target} finishing a configuration change"))
            elif not (target.get("Created") and _endpoint(target)):
                raise AdapterError(p.rid, f"{p.target} has no endpoint yet", "wait until the domain is created, "
                                                                             "then re-run ACTIVATE")
            else:
                out.notes.append(f"{p.rid}: {p.target} is the writer: follows no domain, serves at {_endpoint(target)}")
        return out

    def _deleted_already(self, ctx: RunContext, unit: WorkUnit, domain: _Domain, connection_id: str,
                         err: ClientError) -> None:
        """DeleteOutboundConnection refused after a lost reply: fine if the connection is on its way out."""
        if self._by_id(ctx, unit, domain.region, connection_id, inbound=False) not in ("DELETING", "DELETED"):
            raise err

    def _role(self, ctx: RunContext, unit: WorkUnit, p: _Pair) -> str | None:
        """What the target is to the source, read in the target region alone; None: neither follower nor leader."""
        if any(_status(c) == "ACTIVE" for c in self._outbound(ctx, unit, p.target, p.source)):
            return f"{p.target} follows {p.source} over an ACTIVE connection"
        if any(_status(c) == "ACTIVE" for c in self._inbound(ctx, unit, p.target, p.source)):
            return f"{p.target} is already the leader ({p.source} follows it)"
        return None

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: production is never scaled down"])
        out = PhaseOutcome()
        for p in self._pairs(ctx, unit):
            source = self._describe(ctx, unit, p.source)
            if source is None:
                out.notes.append(f"{p.rid}: {p.source} does not exist; nothing to scale down")
                continue
            problem = ctx.scope.mismatch(self._tags(ctx, unit, p.source, source))
            if problem:
                raise AdapterError(p.rid, f"{p.source} is out of scope: {problem}", SCOPE_FIX)
            # Never shrink the domain still serving. (A dry run's ACTIVATE deleted nothing: say what it would do.)
            if not ctx.dry_run and _live(self._outbound(ctx, unit, p.target, p.source)):
                raise AdapterError(p.rid, f"{p.target} still follows {p.source}: {p.source} is the serving domain",
                                   "complete ACTIVATE before CLEANUP")
            self._scale(ctx, unit, p.rid, p.source, source, p.cfg.pilot, out)
        return out

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: REPLICATE is a no-op"])
        out = PhaseOutcome()
        for p in self._pairs(ctx, unit):
            target = self._require(ctx, unit, p.rid, p.target, "create the DR domain")
            self._require(ctx, unit, p.rid, p.source, f"re-create {p.source.name} in {p.source.region} at the "
                                                      "pilot-light shape so it can follow the new leader")
            still_following = _live(self._outbound(ctx, unit, p.target, p.source))
            if still_following and not ctx.dry_run:
                raise AdapterError(p.rid, f"{p.target} still follows {p.source}", "complete ACTIVATE before REPLICATE")
            live = _live(self._outbound(ctx, unit, p.source, p.target))
            if not live:
                created = self._connect(ctx, unit, p, target)
                if created is None:  # a dry run
                    out.notes.append(f"{p.rid}: dry run; would connect {p.source} to follow {p.target}")
                    continue
                live = [created]
            connection = next((c for c in live if _status(c) == "ACTIVE"), live[-1])
            self._advance(ctx, unit, p, connection, out)
        return out

    def _connect(self, ctx: RunContext, unit: WorkUnit, p: _Pair, target: dict[str, Any]) -> dict[str, Any] | None:
        """CreateOutboundConnection from the old domain (its region) to the new leader; None in a dry run."""
        account = _account(target)
        try:
            return ctx.mutate(self._es(ctx, unit, p.source.region), "create_outbound_connection",
                              LocalDomainInfo=_info(p.source.region, account, p.source.name),
                              RemoteDomainInfo=_info(p.target.region, account, p.target.name),
                              ConnectionAlias=p.cfg.connection_alias)
        except ClientError as err:
            # A lost reply: botocore's retry found the connection the first attempt made (same alias).
            if _code(err) != "ResourceAlreadyExistsException":
                raise
            mine = [c for c in _live(self._outbound(ctx, unit, p.source, p.target))
                    if c.get("ConnectionAlias") == p.cfg.connection_alias]
            if not mine:
                raise AdapterError(p.rid, f"{p.source} has a connection named {p.cfg.connection_alias} to another "
                                          "domain", "delete it or choose another connectionAlias") from err
            return mine[-1]

    def _advance(self, ctx: RunContext, unit: WorkUnit, p: _Pair, connection: dict[str, Any], out: PhaseOutcome) -> None:
        """Move the old domain's connection to the new leader on to ACTIVE: accept it once validated, wait."""
        cid, status = connection["ConnectionId"], _status(connection)
        if status == "ACTIVE":
            out.notes.append(f"{p.rid}: {p.source} follows {p.target} over connection {cid} (ACTIVE)")
            return
        if status in GONE:  # only the one just created can be: AWS found the pair incompatible
            raise AdapterError(p.rid, f"connection {cid} from {p.source} to {p.target} is {status}: "
                                      f"{connection['ConnectionStatus'].get('Message', '')}",
                               "give both domains fine-grained access control and node-to-node encryption, the "
                               "leader a version at least the follower's, then re-run REPLICATE")
        if status == "VALIDATING":
            out.waits.append(self._connection_wait(unit, p.source.region, "OutboundConnectionPendingAcceptance", cid,
                                                   f"connection {cid} from {p.source} validated"))
            return
        if status == "PENDING_ACCEPTANCE":
            try:
                ctx.mutate(self._es(ctx, unit, p.target.region), "accept_inbound_connection", ConnectionId=cid)
            except ClientError as err:  # a lost reply: the retry found it accepted already
                if self._by_id(ctx, unit, p.target.region, cid, inbound=True) not in ACCEPTED:
                    raise err
            out.notes.append(f"{p.rid}: {p.target} accepted connection {cid} from {p.source}")
            if ctx.dry_run:
                return
        out.waits.append(self._connection_wait(unit, p.target.region, "InboundConnectionActive", cid,
                                               f"connection {cid} from {p.source} to {p.target} ACTIVE"))

    def explain_failure(self, ctx: RunContext, unit: WorkUnit) -> str | None:
        """After a wait failed: the pair's connections AWS refused (validation, rejection), with AWS's message."""
        pairs = [(p.target, p.source) for p in self._pairs(ctx, unit)]
        if not ctx.unplanned:  # the old domain's own connections, too, when its region may be read
            pairs += [(source, target) for target, source in pairs]
        refused = {f"connection {c['ConnectionId']} from {local} to {remote} is {_status(c)}: "
                   f"{c['ConnectionStatus'].get('Message', '')}"
                   for local, remote in pairs for c in self._outbound(ctx, unit, local, remote)
                   if _status(c) in ("VALIDATION_FAILED", "REJECTING", "REJECTED")}
        return "; ".join(sorted(refused)) or None

    # -- tag discovery ---------------------------------------------------------------------------
    # Both domains of a pair are tagged; the connection between them (which of its two regions each
    # lives in, which follows) says which is the primary's and which the DR's, and the leader's shape
    # is production, the follower's the pilot light.
    discovery_types = ("es:domain",)

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"opensearch/{account_id}/{config['domainName']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        regions = (read.primary, read.dr)
        seen: dict[str, dict[str, Any]] = {}  # connection id -> as listed (the outbound side names its alias)
        dark: dict[str, Exception] = {}
        for region in regions:  # each connection is listed in both regions: one answering is enough
            es = read.client("opensearch", region)
            try:
                for describe in (es.describe_outbound_connections, es.describe_inbound_connections):
                    for c in self._connections(describe, []):
                        seen[c["ConnectionId"]] = {**c, **seen.get(c["ConnectionId"], {})}
            except (BotoCoreError, ClientError) as err:
                dark[region] = err
        if len(dark) == len(regions):
            raise dark[read.dr]
        pairs: dict[tuple[str, str], tuple[dict[str, Any], str, str]] = {}  # (region, name) -> (conn, primary, dr)
        for c in seen.values():
            ends = {d.get("Region"): d["DomainName"] for d in (c[k]["AWSDomainInformation"]
                                                                for k in ("LocalDomainInfo", "RemoteDomainInfo"))
                    if d.get("OwnerId", read.account_id) == read.account_id}
            if _status(c) in GONE or set(ends) != set(regions):
                continue
            for end in ((read.primary, ends[read.primary]), (read.dr, ends[read.dr])):
                known = pairs.get(end)  # an ACTIVE connection says more than one still being set up
                if known is None or (_status(c) == "ACTIVE" and _status(known[0]) != "ACTIVE"):
                    pairs[end] = (c, ends[read.primary], ends[read.dr])
        shapes = self._shapes(read, pairs, dark)
        out: list[Derived | NotDerived] = []
        for f in found:
            pair = pairs.get((f.region, f.name))
            if pair is None:
                out.append(NotDerived(f.arn, f"no cross-cluster connection joins it with a domain in "
                                             f"{read.other(f.region)} -- connect the DR domain to the primary one "
                                             "(CreateOutboundConnection from the follower) or remove dr:enabled"))
                continue
            c, primary, dr = pair
            local = c["LocalDomainInfo"]["AWSDomainInformation"]
            follower = (local["Region"], local["DomainName"])
            leader = (read.primary, primary) if follower[0] == read.dr else (read.dr, dr)
            unread = [region for region, _ in (leader, follower) if region in dark]
            if unread:
                out.append(NotDerived(f.arn, f"{unread[0]} does not answer ({dark[unread[0]]}): the shapes of its "
                                             "pair cannot be read -- discover again once it answers"))
                continue
            if leader not in shapes or follower not in shapes:
                out.append(NotDerived(f.arn, "one domain of its pair is being deleted -- wait, then discover again"))
                continue
            config: dict[str, Any] = {"domainName": primary, "instanceType": shapes[leader][0],
                                      "instanceCount": shapes[leader][1]}
            pilot_type, pilot_count = shapes[follower]
            if dr != primary:
                config["drDomainName"] = dr
            if pilot_type != config["instanceType"]:
                config["pilotInstanceType"] = pilot_type
            if pilot_count != 1:
                config["pilotInstanceCount"] = pilot_count
            if c.get("ConnectionAlias", DEFAULT_ALIAS) != DEFAULT_ALIAS:
                config["connectionAlias"] = c["ConnectionAlias"]
            out.append(Derived(self.identity(config, read.account_id), self.actions[0], primary, config, f.arn,
                               f.tags, secondary=f.region != read.primary))
        return out

    @staticmethod
    def _shapes(read: DiscoveryRead, pairs: dict[tuple[str, str], Any],
                dark: dict[str, Exception]) -> dict[tuple[str, str], tuple[str, int]]:
        """(region, domain) -> shape, DescribeDomains five names at a time (its limit); not in a dark region."""
        out: dict[tuple[str, str], tuple[str, int]] = {}
        for region in (r for r in (read.primary, read.dr) if r not in dark):
            names = sorted({name for r, name in pairs if r == region})
            for i in range(0, len(names), 5):
                reply = read.client("opensearch", region).describe_domains(DomainNames=names[i:i + 5])
                for d in reply["DomainStatusList"]:
                    if not d.get("Deleted"):
                        out[(region, d["DomainName"])] = _shape(d)
        return out
