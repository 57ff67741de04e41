"""AWS Lambda: point the serving alias at the right version in the target region, park the old region.

The function is deployed in both regions. The region that does not serve is *parked*: reserved
concurrency 0, so even a stray invocation of its alias is throttled instead of doing work twice.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import Field

from dr_adapters.adapters.base import (
    ActionConfig,
    AdapterError,
    Finding,
    HealthCheck,
    PhaseOutcome,
    RunContext,
    Wait,
)
from dr_adapters.adapters.capacity import LAMBDA_CONCURRENCY, Need
from dr_adapters.adapters.discovery import Derived, DiscoveryRead, NotDerived, Tagged
from dr_adapters.adapters.prerequisites import iam_client, missing_roles
from dr_adapters.adapters.regional import RegionalCopyAdapter
from dr_adapters.plan.model import WorkUnit
from dr_adapters.plan.types import Health, Phase


class LambdaFunctionConfig(ActionConfig):
    function_name: str = Field(alias="functionName", description="Function name in the primary region.")
    dr_function_name: str | None = Field(
        None, alias="drFunctionName", description="Function name in the DR region (default: functionName)."
    )
    alias: str = Field("live", description="The alias clients invoke.")
    version: str | None = Field(
        None,
        pattern=r"^[0-9]+$",
        description="Version the alias serves after activation (default: newest published version in the target region).",
    )
    reserved_concurrency: int | None = Field(
        None,
        alias="reservedConcurrency",
        ge=1,
        description="Production reserved concurrency set on activation (default: unreserved).",
    )


class _Side(NamedTuple):
    region: str
    name: str

    def __str__(self) -> str:
        return f"Lambda function {self.name} in {self.region}"


class LambdaFunctionAdapter(RegionalCopyAdapter[_Side]):
    # A rollback serves from where it served and parks the copy the run lifted; REPLICATE's publish is not needed.
    rollback_phases = (Phase.ACTIVATE, Phase.CLEANUP)
    actions = ("LambdaFunction",)
    unplanned_behaviour = (
        "publishes (if needed), points the alias and unparks the target function without reading the "
        "source; CLEANUP (park the source) and REPLICATE wait for reprotect"
    )
    config_model = LambdaFunctionConfig
    phases = (Phase.INSTANTIATE, Phase.ACTIVATE, Phase.CLEANUP, Phase.REPLICATE)
    drill_behaviour = "Read-only: checks the DR function, its alias and the version to serve exist; changes nothing."
    phase_summaries = {
        Phase.INSTANTIATE: "Ensure the target region has a published version (publish one if none); it stays parked.",
        Phase.ACTIVATE: "Point the target alias at the version to serve and lift its zero concurrency.",
        Phase.CLEANUP: "Park the source region's function (reserved concurrency 0).",
        Phase.REPLICATE: "Publish the source region's $LATEST if unpublished, so failback has a version to serve.",
    }
    iam_actions = (
        "lambda:DeleteFunctionConcurrency",
        "lambda:GetAlias",
        "lambda:GetFunction",
        "lambda:GetFunctionConcurrency",
        "lambda:GetFunctionConfiguration",  # waiter published_version_active
        "lambda:ListTags",
        "lambda:ListVersionsByFunction",
        "lambda:PublishVersion",
        "lambda:PutFunctionConcurrency",
        "lambda:UpdateAlias",
        "iam:GetRole",  # preflight: the execution role of the function to serve exists
        "lambda:GetAccountSettings",  # preflight: the concurrency the region's functions reserve (capacity)
    )
    retire_label, retired_label = "park", "parked"

    # -- AWS reads -----------------------------------------------------------------------------
    def _sides(self, ctx: RunContext, cfg: LambdaFunctionConfig) -> tuple[_Side, _Side]:
        """(source, target): failback moves from the DR copy back to the primary one."""
        primary = _Side(ctx.regions.primary, cfg.function_name)
        dr = _Side(ctx.regions.dr, cfg.dr_function_name or cfg.function_name)
        return ctx.source_and_target(primary, dr)

    @staticmethod
    def _lambda(ctx: RunContext, unit: WorkUnit, side: _Side) -> Any:
        return ctx.client("lambda", side.region, unit.account_id)

    def _read(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> dict[str, Any] | None:
        """The function's $LATEST configuration, or None when it does not exist."""
        lam = self._lambda(ctx, unit, side)
        try:
            return lam.get_function(FunctionName=side.name)["Configuration"]
        except lam.exceptions.ResourceNotFoundException:
            return None

    def _tags(self, ctx: RunContext, unit: WorkUnit, side: _Side, fn: dict[str, Any]) -> dict[str, str]:
        return self._lambda(ctx, unit, side).list_tags(Resource=fn["FunctionArn"])["Tags"]

    def _versions(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> dict[str, dict[str, Any]]:
        """Published versions (not $LATEST) by version number."""
        paginator = self._lambda(ctx, unit, side).get_paginator("list_versions_by_function")
        pages = paginator.paginate(FunctionName=side.name)
        return {v["Version"]: v for page in pages for v in page["Versions"] if v["Version"] != "$LATEST"}

    def _alias(self, ctx: RunContext, unit: WorkUnit, side: _Side, alias: str) -> dict[str, Any] | None:
        lam = self._lambda(ctx, unit, side)
        try:
            return lam.get_alias(FunctionName=side.name, Name=alias)
        except lam.exceptions.ResourceNotFoundException:
            return None

    def _concurrency(self, ctx: RunContext, unit: WorkUnit, side: _Side) -> int | None:
        """Reserved concurrency, None when unreserved (0 means parked)."""
        return self._lambda(ctx, unit, side).get_function_concurrency(FunctionName=side.name).get(
            "ReservedConcurrentExecutions"
        )

    @staticmethod
    def _serving_version(cfg: LambdaFunctionConfig, versions: dict[str, Any]) -> str | None:
        """The configured version, else the newest published one (version numbers are per region)."""
        if cfg.version:
            return cfg.version if cfg.version in versions else None
        return max(versions, key=int, default=None)

    def _wait_published(self, unit: WorkUnit, side: _Side, version: str) -> Wait:
        return Wait("lambda", side.region, unit.account_id, "published_version_active",
                    {"FunctionName": side.name, "Qualifier": version}, f"{side} version {version} becoming Active",
                    delay=5.0, max_attempts=60)

    # -- read-only -----------------------------------------------------------------------------
    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        findings = []
        for rid, cfg, source, target in self._each(ctx, unit):
            fn = self._read(ctx, unit, target)
            if fn is None:
                findings.append(Finding(rid, False, f"{target} does not exist"))
            else:
                findings.append(self._exists_finding(ctx, unit, rid, target, fn))
                findings.extend(self._target_findings(ctx, unit, rid, cfg, target, fn))
            findings.append(self._source_finding(ctx, unit, rid, source, target_ok=fn is not None))
        return findings

    def capacity_needs(self, ctx: RunContext, unit: WorkUnit) -> list[Need]:
        """ACTIVATE reserves ``reservedConcurrency`` on the target function: what it adds to the region's reserved
        concurrency (nothing in a drill, which changes nothing, nor for a function that already has it)."""
        if ctx.is_drill:
            return []
        needs = []
        for rid, cfg, _, target in self._each(ctx, unit):
            if cfg.reserved_concurrency is None or self._read(ctx, unit, target) is None:
                continue  # unreserved takes no reservation; a missing function fails preflight by itself
            more = cfg.reserved_concurrency - (self._concurrency(ctx, unit, target) or 0)
            if more > 0:
                needs.append(Need(LAMBDA_CONCURRENCY, more, target.region, (Phase.ACTIVATE,), (rid,),
                                  f"{target} reserves {cfg.reserved_concurrency}"))
        return needs

    def _target_findings(
        self, ctx: RunContext, unit: WorkUnit, rid: str, cfg: LambdaFunctionConfig, target: _Side, fn: dict[str, Any]
    ) -> list[Finding]:
        """The alias clients invoke and the version it will serve, in the target region; the execution role
        every invocation assumes (IAM is global: a role deleted since deployment fails them all)."""
        alias = self._alias(ctx, unit, target, cfg.alias)
        found = [Finding(rid, alias is not None, f"{target} alias {cfg.alias!r} {'exists' if alias else 'is missing'}")]
        iam = iam_client(ctx, unit.account_id)
        if iam is not None and missing_roles(iam, [fn["Role"]]):
            found.append(Finding(rid, False, f"the execution role {fn['Role']} of {target} does not exist: every "
                                 "invocation would fail -- create the role, or point the function at one that exists "
                                 "(UpdateFunctionConfiguration Role)"))
        versions = self._versions(ctx, unit, target)
        if cfg.version and cfg.version not in versions:
            found.append(Finding(rid, False, f"{target} has no version {cfg.version} to serve"))
        elif not versions:
            found.append(Finding(rid, True, f"{target} has no published version; INSTANTIATE publishes $LATEST"))
        else:
            found.append(Finding(rid, True, f"{target} will serve version {self._serving_version(cfg, versions)}"))
        return found

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        checks = []
        for rid, cfg, _, target in self._each(ctx, unit):
            status, reason = self._health(ctx, unit, cfg, target)
            checks.append(HealthCheck(rid, status, f"{target}: {reason}"))
        return checks

    def _health(
        self, ctx: RunContext, unit: WorkUnit, cfg: LambdaFunctionConfig, target: _Side
    ) -> tuple[Health, str]:
        fn = self._read(ctx, unit, target)
        if fn is None:
            return Health.UNHEALTHY, "does not exist"
        alias = self._alias(ctx, unit, target, cfg.alias)
        versions = self._versions(ctx, unit, target)
        version = self._serving_version(cfg, versions)
        if alias is None:
            return Health.UNHEALTHY, f"alias {cfg.alias!r} does not exist"
        if version is None:
            return Health.UNHEALTHY, f"no {f'version {cfg.version}' if cfg.version else 'published version'} to serve"
        if ctx.is_drill:
            return Health.HEALTHY, f"alias {cfg.alias!r} and version {version} ready (drill: not activated)"
        if alias["FunctionVersion"] != version:
            return Health.UNHEALTHY, f"alias {cfg.alias!r} -> {alias['FunctionVersion']}, expected {version}"
        if fn["State"] != "Active":
            return Health.UNHEALTHY, f"state {fn['State']}"
        if self._concurrency(ctx, unit, target) == 0:
            return Health.UNHEALTHY, "still parked (reserved concurrency 0)"
        return Health.HEALTHY, f"alias {cfg.alias!r} -> {version}, Active, not parked"

    # -- phases --------------------------------------------------------------------------------
    def instantiate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            fn = self._require(ctx, unit, rid, target, f"deploy it in {target.region} with reserved concurrency 0")
            if self._versions(ctx, unit, target):
                out.notes.append(f"{rid}: {target} has a published version")
            elif ctx.is_drill:
                out.notes.append(f"{rid}: {target} has no published version; a failover would publish $LATEST")
            elif fn["State"] != "Active":
                # PublishVersion is refused while the function is still being created.
                out.waits.append(Wait("lambda", target.region, unit.account_id, "function_active_v2",
                                      {"FunctionName": target.name}, f"{target} becoming Active", delay=5.0))
            else:
                # Publishing does not touch concurrency: a parked function stays parked until ACTIVATE.
                published = ctx.mutate(self._lambda(ctx, unit, target), "publish_version", FunctionName=target.name,
                                       Description=f"DR {ctx.operation.value} {ctx.run_id}")
                out.notes.append(f"{rid}: published $LATEST of {target}")
                if published:
                    out.waits.append(self._wait_published(unit, target, published["Version"]))
        return out

    def activate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        for rid, cfg, _, target in self._each(ctx, unit):
            self._require(ctx, unit, rid, target, f"deploy it in {target.region} with reserved concurrency 0")
            version = self._serving_version(cfg, self._versions(ctx, unit, target))
            # A dry INSTANTIATE only pretended to publish: the version it would publish is not there yet.
            pending_publish = version is None and not cfg.version and ctx.dry_run and not ctx.is_drill
            if version is None and not pending_publish:
                wanted = f"version {cfg.version}" if cfg.version else "published version"
                raise AdapterError(rid, f"{target} has no {wanted} to serve",
                                   "run INSTANTIATE, or publish the version / fix the manifest's version")
            alias = self._alias(ctx, unit, target, cfg.alias)
            if alias is None:
                raise AdapterError(rid, f"{target} has no alias {cfg.alias!r}", "create the alias clients invoke")
            if ctx.is_drill:
                out.notes.append(f"{rid}: drill: {target} alias {cfg.alias!r} and version {version} exist (unchanged)")
                continue
            if version is None:
                out.notes.append(f"{rid}: {target} alias {cfg.alias!r} would serve the version INSTANTIATE publishes")
            else:
                self._point_alias(ctx, unit, rid, target, cfg, alias, version, out)
            self._unpark(ctx, unit, rid, target, cfg, out)
        return out

    def _point_alias(self, ctx: RunContext, unit: WorkUnit, rid: str, target: _Side, cfg: LambdaFunctionConfig,
                     alias: dict[str, Any], version: str, out: PhaseOutcome) -> None:
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
        if alias["FunctionVersion"] == version and not weights:
            return
        args: dict[str, Any] = {"FunctionName": target.name, "Name": cfg.alias, "FunctionVersion": version}
        if weights:
            args["RoutingConfig"] = {"AdditionalVersionWeights": {}}  # all traffic to the version, no canary split
        ctx.mutate(self._lambda(ctx, unit, target), "update_alias", **args)
        out.notes.append(f"{rid}: {target} alias {cfg.alias!r} {alias['FunctionVersion']} -> {version}")

    def _unpark(self, ctx: RunContext, unit: WorkUnit, rid: str, target: _Side, cfg: LambdaFunctionConfig,
                out: PhaseOutcome) -> None:
        lam, current = self._lambda(ctx, unit, target), self._concurrency(ctx, unit, target)
        if cfg.reserved_concurrency is not None and current != cfg.reserved_concurrency:
            ctx.mutate(lam, "put_function_concurrency", FunctionName=target.name,
                       ReservedConcurrentExecutions=cfg.reserved_concurrency)
            out.notes.append(f"{rid}: {target} reserved concurrency {current} -> {cfg.reserved_concurrency}")
        elif cfg.reserved_concurrency is None and current == 0:
            # Only our parking limit is lifted; a reservation someone else set stays theirs.
            ctx.mutate(lam, "delete_function_concurrency", FunctionName=target.name)
            out.notes.append(f"{rid}: {target} unparked (concurrency unreserved)")

    def _retire(self, ctx: RunContext, unit: WorkUnit, rid: str, source: _Side, fn: dict[str, Any],
                out: PhaseOutcome) -> None:
        if self._concurrency(ctx, unit, source) != 0:
            ctx.mutate(self._lambda(ctx, unit, source), "put_function_concurrency", FunctionName=source.name,
                       ReservedConcurrentExecutions=0)
            out.notes.append(f"{rid}: parked {source} (reserved concurrency 0)")

    def replicate(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        out = PhaseOutcome()
        if ctx.is_drill:
            return PhaseOutcome(notes=["drill: nothing to replicate"])
        for rid, cfg, source, _ in self._each(ctx, unit):
            fn = self._require(ctx, unit, rid, source,
                               f"redeploy it in {source.region} (parked, concurrency 0) so the function can move back")
            # $LATEST counts as published when a version carries the same code.
            if any(v["CodeSha256"] == fn["CodeSha256"] for v in self._versions(ctx, unit, source).values()):
                out.notes.append(f"{rid}: {source} $LATEST is published")
                continue
            published = ctx.mutate(self._lambda(ctx, unit, source), "publish_version", FunctionName=source.name,
                                   Description=f"DR {ctx.operation.value} {ctx.run_id}")
            out.notes.append(f"{rid}: published $LATEST of {source}")
            if published:
                out.waits.append(self._wait_published(unit, source, published["Version"]))
        return out

    # -- tag discovery ---------------------------------------------------------------------------
    discovery_types = ("lambda:function",)

    def identity(self, config: dict[str, Any], account_id: str) -> str:
        return f"lambda/{account_id}/{config['functionName']}"

    def derive(self, found: list[Tagged], read: DiscoveryRead) -> list[Derived | NotDerived]:
        """The function's name is in its ARN; the alias clients invoke is ``live`` unless ``dr:alias`` says
        otherwise (a function may have several aliases: only its owner knows which one serves)."""
        return [Derived(self.identity({"functionName": f.name}, read.account_id), self.actions[0], f.name,
                        {"functionName": f.name}, f.arn, f.tags, secondary=f.region != read.primary)
                for f in found]
