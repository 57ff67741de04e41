"""The manifest: the public contract (SPEC 3). A superset of the SRS Appendix H.2 format.

Validation is strict: unknown keys and unknown actions are errors. Each action's ``config`` is
checked against that adapter's own schema; ``resources`` is a union discriminated by ``action``
so the exported JSON Schema tells editors exactly which config keys each action takes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from dr_adapters.adapters.registry import config_models
from dr_adapters.plan.types import Phase

ACCOUNT_ID = r"^[0-9]{12}$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
SNS_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$"
REGION = r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Regions(Strict):
    primary: str = Field(pattern=REGION, description="Region that serves in normal operation.")
    dr: str = Field(pattern=REGION, description="Region failed over to.")

    @model_validator(mode="after")
    def _distinct(self) -> Regions:
        if self.primary == self.dr:
            raise ValueError(f"primary and dr are both {self.primary!r} -- the DR region must be another region")
        return self


class Account(Strict):
    account_id: str = Field(alias="accountId", pattern=ACCOUNT_ID)
    role_arn: str = Field(alias="roleArn", pattern=ROLE_ARN, description="Role the hub assumes in this account.")
    external_id: str = Field(
        alias="externalId", min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9+=,.@:/_-]+$",
        description="ExternalId required by the role's trust policy (always sent).",
    )

    @model_validator(mode="after")
    def _role_in_account(self) -> Account:
        role_account = self.role_arn.split(":")[4]
        if role_account != self.account_id:
            raise ValueError(f"roleArn is in account {role_account} but accountId is {self.account_id} -- use the role of account {self.account_id}")
        return self


class SlaTargets(Strict):
    rto: int | None = Field(None, ge=1, description="Recovery time objective, minutes.")
    rpo: int | None = Field(None, ge=1, description="Recovery point objective, minutes.")


class Drill(Strict):
    schedule: str = Field(description="Cron expression for the scheduled non-disruptive drill.")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid cron expression -- write five fields, e.g. '0 6 * * 1' (Mondays 06:00 UTC)")
        return value


class Notifications(Strict):
    sns_topic_arn: str = Field(alias="snsTopicArn", pattern=SNS_ARN)
    fallback_topic_arns: list[str] = Field(
        default_factory=list, alias="fallbackTopicArns",
        description="Topics tried in order when the first cannot be reached (e.g. its region is dark): "
        "keep one in each region, so notifications never depend on the region being escaped.",
    )

    @field_validator("fallback_topic_arns")
    @classmethod
    def _arns(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not re.match(SNS_ARN, a)]
        if bad:
            raise ValueError(f"not SNS topic ARNs: {bad} -- write arn:aws:sns:<region>:<account>:<topic>")
        return value


BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class ReportBucket(Strict):
    s3_bucket: str = Field(alias="s3Bucket", pattern=BUCKET)
    region: str = Field(pattern=REGION, description="The bucket's region.")


class Report(Strict):
    s3_bucket: str | None = Field(None, alias="s3Bucket", pattern=BUCKET)
    s3_bucket_region: str | None = Field(
        None, alias="s3BucketRegion", pattern=REGION, description="The s3Bucket's region (default: the primary region).")
    s3_prefix: str = Field("dr-reports", alias="s3Prefix")
    fallback_buckets: list[ReportBucket] = Field(
        default_factory=list, alias="fallbackBuckets",
        description="Buckets tried in order when s3Bucket cannot be written (its region dark); a local copy is "
        "always kept as well.",
    )


class ResourceBase(Strict):
    resource_id: str = Field(alias="resourceId", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
    action: str
    account_id: str | None = Field(None, alias="accountId", pattern=ACCOUNT_ID)
    dependencies: list[str] = Field(default_factory=list, description="resourceIds that must finish first.")
    health_check_url: str | None = Field(None, alias="healthCheckUrl", pattern=r"^https?://.+")
    priority: Literal["critical", "high", "medium", "low"] | None = Field(
        None, description="Order inside its wave (FR-1.3): critical first; resources of one priority run in parallel. "
        "Unset: no ordering (as dr:priority, a discovered resource without the tag is low).")
    discovered_from: str | None = Field(
        None, alias="discoveredFrom", pattern=r"^arn:aws[a-z-]*:[a-z0-9-]+:",
        description="Written by `discover`: the ARN whose DR tags made this entry. Entries without it are "
        "hand-listed, and the drift check leaves them alone.")


def _resource_union() -> Any:
    """One resource model per action (config typed by its adapter), discriminated by ``action``."""
    by_model: dict[type, list[str]] = {}
    for action, model in config_models().items():
        by_model.setdefault(model, []).append(action)
    members = [
        create_model(
            f"{actions[0]}Resource",
            __base__=ResourceBase,
            action=(Literal[tuple(actions)], ...),  # type: ignore[valid-type]
            config=(model, ...),
        )
        for model, actions in by_model.items()
    ]
    return Annotated[Union[tuple(members)], Field(discriminator="action")]  # type: ignore[valid-type]


Resource = _resource_union()


class DiscoveryFilter(Strict):
    actions: list[str] = Field(default_factory=list, description="Technologies (manifest actions), e.g. [EcsService].")
    resource_types: list[str] = Field(
        default_factory=list, alias="resourceTypes", description="Resource types as AWS names them, e.g. [ecs:service].")
    tags: dict[str, str] = Field(default_factory=dict, description="Tag key: value pairs.")
    arns: list[str] = Field(default_factory=list, description="Resource ARNs.")

    @field_validator("actions")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from dr_adapters.adapters.registry import supported_actions

        unknown = [a for a in value if a not in supported_actions()]
        if unknown:
            raise ValueError(f"unknown action(s) {unknown} -- use: {', '.join(supported_actions())}")
        return value


class Discovery(Strict):
    """Where a tag-driven estate's resources are found (SPEC 4): every resource tagged
    ``dr:enabled=true`` with this manifest's Customer and Environment, in these accounts and regions."""

    method: Literal["resource-explorer", "tagging-api"] = Field(
        "resource-explorer", description="resource-explorer: one Search per account and region (falls back to "
        "the Tagging API where Resource Explorer has no index or view); tagging-api: GetResources only.")
    accounts: list[str] | None = Field(
        None, description="Account ids to search (default: hubAccountId and every account listed).")
    regions: list[str] | None = Field(None, description="Regions to search (default: the primary and the DR region).")
    include: DiscoveryFilter = Field(
        default_factory=DiscoveryFilter, description="Only resources matching every non-empty filter here.")
    exclude: DiscoveryFilter = Field(
        default_factory=DiscoveryFilter, description="Resources matching any filter here are left out.")

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: list[str] | None) -> list[str] | None:
        bad = [a for a in value or [] if not re.match(ACCOUNT_ID, a)]
        if bad:
            raise ValueError(f"not 12-digit account ids: {bad} -- quote them: \"222222222222\"")
        return value


class Inventory(Strict):
    """Written by ``discover``: this manifest is a snapshot of a tag-driven estate."""

    discovered_at: str = Field(alias="discoveredAt", description="When discovery ran (UTC, ISO 8601).")
    scope: str = Field(description="The scope manifest it was discovered from.")
    problems: list[str] = Field(default_factory=list, description="Tagged resources left out, and why.")


class Layer(Strict):
    layer_id: str = Field(alias="layerId", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    priority: int = Field(ge=1, le=99, description="Wave number: 1 runs first.")
    validation_timeout_minutes: float | None = Field(
        None, alias="validationTimeoutMinutes", ge=0, le=720,
        description="How long this wave's validation keeps checking until every resource is healthy before an "
        "UNHEALTHY one blocks the next wave (default 5; 0: check once). The run parameter "
        "validation_timeout_minutes overrides it.")
    approval_before_activate: bool | None = Field(
        None, alias="approvalBeforeActivate",
        description="A gate inside this wave, after its prewarm (INSTANTIATE) and before its ACTIVATE: a person "
        "checks the prewarmed DR before anything switches. Unset: the manifest's approvalBeforeActivate.")
    resources: list[Resource] = Field(min_length=1)  # type: ignore[valid-type]


class Manifest(Strict):
    manifest_version: Literal["1.0"] = Field("1.0", alias="manifestVersion")
    manifest_id: str = Field(alias="manifestId", pattern=r"^[a-z0-9-]+$")
    description: str = Field("", max_length=500)
    customer: str = Field(pattern=r"^[A-Za-z0-9-]+$")
    environment: Literal["production", "staging", "development"]
    regions: Regions
    hub_account_id: str | None = Field(None, alias="hubAccountId", pattern=ACCOUNT_ID)
    hub_role_arn: str | None = Field(
        None, alias="hubRoleArn", pattern=ROLE_ARN, description="A role in the hub account that every run assumes "
        "from the Airflow connection's identity, named after the run (RoleSessionName), before any other call: "
        "CloudTrail in the hub account then ties each call to the run as the spokes' CloudTrail already does. The "
        "spoke roles are assumed from it, so their trust policies must name it. Unset: the connection's identity.")
    accounts: list[Account] = Field(default_factory=list)
    phases: list[Phase] = Field(default_factory=lambda: list(Phase), min_length=1)
    approval_required: bool = Field(True, alias="approvalRequired")
    approvers: list[str] = Field(
        default_factory=list, description="Who may answer the approval gates: Airflow user ids as the auth "
        "manager knows them (the username with Airflow's simple auth manager). Enforced as each gate's allowed "
        "respondents; an answer from anyone else is refused and the gate stays open. Empty: whoever Airflow's "
        "permissions let answer.")
    separation_of_duties: bool = Field(
        False, alias="separationOfDuties", description="The person who triggered a failover or failback cannot "
        "approve its gates (an answer from them is refused and the gate stays open; approving by marking the gate "
        "success is named in the report as a breach).")
    approval_before_activate: bool = Field(
        False, alias="approvalBeforeActivate", description="A gate in every wave after its prewarm (INSTANTIATE) "
        "and before its ACTIVATE, with the prewarmed resources and what ACTIVATE will change: validate the "
        "prewarmed DR before switching. It waits when the gates between waves do (approvalRequired / approval_mode); "
        "a layer's approvalBeforeActivate overrides this for its wave.")
    sla_targets: SlaTargets = Field(default_factory=SlaTargets, alias="slaTargets")
    drill: Drill | None = None
    notifications: Notifications | None = None
    report: Report = Field(default_factory=Report)
    layers: list[Layer] = Field(default_factory=list, description="Waves of hand-listed resources (with discovery: "
                                "merged with the discovered ones; a hand-written entry wins).")
    discovery: Discovery | None = Field(None, description="Tag-driven estate: find the resources by their DR tags.")
    inventory: Inventory | None = None
    unprotected_resources: Literal["warn", "error", "ignore"] = Field(
        "warn", alias="unprotectedResources", description="Resources tagged dr:enabled for this customer and "
        "environment that the manifest does not list: preflight warns, fails (error) or does not look (ignore).")

    @field_validator("phases")
    @classmethod
    def _phases(cls, value: list[Phase]) -> list[Phase]:
        if len(set(value)) != len(value):
            raise ValueError("phases lists a phase twice -- list each once")
        if Phase.ACTIVATE not in value:
            raise ValueError("phases must include ACTIVATE: without it nothing fails over -- add ACTIVATE")
        return sorted(value, key=list(Phase).index)

    @model_validator(mode="after")
    def _cross_checks(self) -> Manifest:
        problems: list[str] = []
        _check_unique(self, problems)
        _check_accounts(self, problems)
        _check_dependencies(self, problems)
        _check_manual_steps(self, problems)
        _check_discovery(self, problems)
        _check_placeholders(self, problems)
        _check_approvers(self, problems)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def resources(self) -> list[tuple[Layer, Any]]:
        return [(layer, r) for layer in self.layers for r in layer.resources]

    @property
    def is_scope(self) -> bool:
        """A tag-driven estate not yet discovered: ``discover`` turns it into a snapshot to run."""
        return self.discovery is not None and self.inventory is None


def _check_placeholders(m: Manifest, problems: list[str]) -> None:
    """An imported manifest (``import dof``) may still hold references only its old framework resolved."""
    from dr_adapters.sources.dof import PLACEHOLDER

    for _, r in m.resources():
        for key, value in r.config.model_dump(by_alias=True).items():
            if isinstance(value, str) and PLACEHOLDER.match(value):
                problems.append(f"resource {r.resource_id!r} config.{key} is a placeholder ({value}) -- put the real "
                                "value there (the import listed each at the end of the file)")


def _check_approvers(m: Manifest, problems: list[str]) -> None:
    ids = [a.strip() for a in m.approvers]
    if any(not a for a in ids):
        problems.append("approvers: an empty user id -- list the Airflow user ids (usernames) who may approve")
    for dup in sorted({a for a in ids if ids.count(a) > 1}):
        problems.append(f"approvers: {dup!r} is listed twice -- keep one entry")
    if m.separation_of_duties and len(set(ids)) == 1:
        problems.append(f"separationOfDuties with one approver ({ids[0]!r}): when {ids[0]!r} triggers a failover "
                        "nobody may approve it -- name at least two approvers, or drop separationOfDuties")


def _check_discovery(m: Manifest, problems: list[str]) -> None:
    if not m.layers and m.discovery is None:
        problems.append("layers: no resources -- list them under layers, or add a discovery block to find them by tags")
    if m.inventory is not None and m.discovery is None:
        problems.append("inventory: a discovered snapshot without its discovery block -- run discover again")
    if m.discovery is None:
        return
    known = {a.account_id for a in m.accounts} | ({m.hub_account_id} if m.hub_account_id else set())
    for account in m.discovery.accounts or []:
        if account not in known:
            problems.append(f"discovery.accounts: {account} is not listed under accounts (nor hubAccountId) -- "
                            "add it there with its roleArn and externalId")
    for region in m.discovery.regions or []:
        if region not in (m.regions.primary, m.regions.dr):
            problems.append(f"discovery.regions: {region} is neither the primary ({m.regions.primary}) nor the DR "
                            f"region ({m.regions.dr}) -- search those two")


def _check_unique(m: Manifest, problems: list[str]) -> None:
    seen: dict[int, str] = {}
    for layer in m.layers:
        if layer.priority in seen:
            problems.append(
                f"layers {seen[layer.priority]!r} and {layer.layer_id!r} both have priority {layer.priority} "
                "-- each layer is one wave: give each its own priority"
            )
        seen[layer.priority] = layer.layer_id
    ids: set[str] = set()
    for _, r in m.resources():
        if r.resource_id in ids:
            problems.append(f"resourceId {r.resource_id!r} is used twice -- give each resource its own resourceId")
        ids.add(r.resource_id)
    account_ids = [a.account_id for a in m.accounts]
    for dup in sorted({a for a in account_ids if account_ids.count(a) > 1}):
        problems.append(f"account {dup} is listed twice under accounts -- keep one entry")


def _check_accounts(m: Manifest, problems: list[str]) -> None:
    known = {a.account_id for a in m.accounts}
    if m.hub_role_arn:
        role_account = m.hub_role_arn.split(":")[4]
        if m.hub_account_id and role_account != m.hub_account_id:
            problems.append(f"hubRoleArn {m.hub_role_arn} is in account {role_account}, not the hub ({m.hub_account_id}) "
                            "-- name a role in the hub account, or correct hubAccountId")
        if role_account in known:
            problems.append(f"hubRoleArn {m.hub_role_arn} is in account {role_account}, which is listed under accounts "
                            "as a spoke -- the hub role lives in the hub account; remove that account entry or the role")
    for _, r in m.resources():
        if r.account_id and r.account_id not in known and r.account_id != m.hub_account_id:
            problems.append(
                f"resource {r.resource_id!r} is in account {r.account_id}, which has no entry under accounts "
                "-- add accountId, roleArn and externalId there, or set hubAccountId if it is the hub"
            )


def _check_dependencies(m: Manifest, problems: list[str]) -> None:
    wave_of = {r.resource_id: layer.priority for layer, r in m.resources()}
    graph = {r.resource_id: list(r.dependencies) for _, r in m.resources()}
    for rid, deps in graph.items():
        for dep in deps:
            if dep not in wave_of:
                if m.is_scope:
                    continue  # may name a resource discovery will find; the snapshot is checked in full
                problems.append(f"resource {rid!r} depends on {dep!r}, which is not in the manifest -- fix the resourceId or drop the dependency")
            elif dep == rid:
                problems.append(f"resource {rid!r} depends on itself -- drop that dependency")
            elif wave_of[dep] > wave_of[rid]:
                problems.append(
                    f"resource {rid!r} (wave {wave_of[rid]}) depends on {dep!r}, which runs later "
                    f"(wave {wave_of[dep]}) -- move {dep!r} to an earlier or the same layer"
                )
    cycle = find_cycle(graph)
    if cycle:
        problems.append("dependency cycle: " + " -> ".join(cycle) + " -- remove one of these dependencies")


def _check_manual_steps(m: Manifest, problems: list[str]) -> None:
    """A ManualStep is asked after its phase's automated work: that phase must run, and nothing may
    depend on a step asked only after it ran (after its wave's validation, or after the waves)."""
    from dr_adapters.adapters.manual_step import asked_in_time, is_manual_step, placement, placement_problems

    steps = {r.resource_id: (layer.priority, r.config) for layer, r in m.resources() if is_manual_step(r.action)}
    for rid, (_, cfg) in steps.items():
        problems += placement_problems(rid, cfg, list(m.phases))
    for layer, r in m.resources():
        for dep in (d for d in r.dependencies if d in steps):
            wave, cfg = steps[dep]
            if not asked_in_time(cfg, wave, layer.priority, r.config.phase if is_manual_step(r.action) else None):
                problems.append(f"resource {r.resource_id!r} depends on the manual step {dep!r}, which is asked after "
                                f"{placement(cfg)}, later than {r.resource_id!r} runs -- place {dep!r} earlier "
                                "(phase) or drop the dependency")


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if dep not in graph or dep == node:
                continue  # reported separately
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def dag_id_for(customer: str, environment: str) -> str:
    return "dr_" + re.sub(r"[^a-z0-9_]", "_", f"{customer}_{environment}".lower())
