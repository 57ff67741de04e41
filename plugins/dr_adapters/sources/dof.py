"""Import from the DR Orchestrator Framework (AWS Prescriptive Guidance): its Step Functions payload
becomes a manifest, so its users keep their layers.

That framework runs one payload per phase, e.g. a failover payload::

    {"StatePayload": [{"layer": 1, "resources": [
        {"resourceType": "PlannedFailoverAurora", "resourceName": "...",
         "parameters": {"GlobalClusterIdentifier": "!Import ...", "DBClusterIdentifier": "!Import ..."}}]}]}

and a failback payload (``CreateRDSReadReplica``, ``CreateAuroraSecondaryDBCluster``) that re-creates
replication the other way. Here one manifest entry holds both directions: each of its resource types maps
to the action that protects the resource, and what its parameters name becomes that action's config.
A resource named by several payloads (its failover and its failback) is one entry. What cannot be mapped
is said, never dropped silently: parameters with no config key of ours (most of the failback creation
parameters: our adapters re-join or re-create with what AWS already knows) are listed; values that are
references (CloudFormation ``!Import`` exports, ``resolve:ssm:`` parameters) and config keys the payload
does not give (the primary-side identifiers the framework never needed) become placeholders for the
user to fill, listed at the end; ``validate`` refuses a manifest that still holds one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDER = re.compile(r"^(!Import\s|\{\{resolve:ssm|resolve:ssm:|<fill:)")


@dataclass(frozen=True)
class DofType:
    """How one of the framework's resource types maps: the action, its parameters -> our config keys,
    config it implies, and the keys it leaves for the user (``{placeholder}`` text says what to put)."""

    action: str
    params: dict[str, str]
    implies: dict[str, Any] = field(default_factory=dict)
    needs: dict[str, str] = field(default_factory=dict)  # config key -> what to fill in
    identity: str = ""  # the parameter naming the resource across payloads (failover + failback)
    direction: str = "failover"  # which payload kind it comes from


AURORA_NEEDS = {"primaryClusterIdentifier": "the Aurora member cluster in {primary}"}
RDS_NEEDS = {"dbInstanceIdentifier": "the DB instance in {primary} that the DR replica replicates from"}

TYPES: dict[str, DofType] = {
    "PlannedFailoverAurora": DofType(
        "AuroraMySQL", {"GlobalClusterIdentifier": "globalClusterIdentifier", "DBClusterIdentifier": "drClusterIdentifier"},
        {"mode": "switchover"}, AURORA_NEEDS, "GlobalClusterIdentifier"),
    "UnPlannedFailoverAurora": DofType(
        "AuroraMySQL", {"GlobalClusterIdentifier": "globalClusterIdentifier", "DBClusterIdentifier": "drClusterIdentifier"},
        {"mode": "failover"}, AURORA_NEEDS, "GlobalClusterIdentifier"),
    "CreateAuroraSecondaryDBCluster": DofType(
        "AuroraMySQL", {"GlobalClusterIdentifier": "globalClusterIdentifier", "DBClusterName": "primaryClusterIdentifier",
                        "DBInstanceClass": "drInstanceClass"},
        {}, {"drClusterIdentifier": "the Aurora member cluster in {dr}"}, "GlobalClusterIdentifier", "failback"),
    # TargetRegion is the region failed over to: the manifest's DR region, not a config key.
    "FailoverElastiCacheCluster": DofType(
        "ElastiCache", {"GlobalReplicationGroupId": "globalReplicationGroupId",
                        "TargetReplicationGroupId": "drReplicationGroupId"},
        {"mode": "failover"}, {"primaryReplicationGroupId": "the member replication group in {primary}"},
        "GlobalReplicationGroupId"),
    # RDS: the failover promotes the DR replica; the failback payload re-creates a replica of it in the primary
    # region under a new identifier (our REPLICATE's alternateIdentifier there), so both name the DR instance.
    "PromoteRDSReadReplica": DofType(
        "RDS", {"RDSInstanceIdentifier": "drDbInstanceIdentifier"}, {}, RDS_NEEDS, "RDSInstanceIdentifier"),
    "CreateRDSReadReplica": DofType(
        "RDS", {"SourceRDSInstanceIdentifier": "drDbInstanceIdentifier", "RDSInstanceIdentifier": "alternateIdentifier",
                "DBInstanceClass": "replicaInstanceClass", "KmsKeyId": "kmsKeyId"},
        {}, RDS_NEEDS, "SourceRDSInstanceIdentifier", "failback"),
}
"""The framework's resource types we map, by name."""

ENGINES = {"aurora-postgresql": "AuroraPostgreSQL", "aurora-mysql": "AuroraMySQL"}


@dataclass
class Imported:
    """The manifest data, and what the user must still do."""

    manifest: dict[str, Any]
    placeholders: list[str] = field(default_factory=list)  # "layers[0].resources[1] (x).config.y: what to fill"
    unmapped: list[str] = field(default_factory=list)  # parameters with no config key, and why
    problems: list[str] = field(default_factory=list)  # payload content that could not be read at all


class DofError(ValueError):
    """A payload that is not the framework's format; the message names the file, the path and the fix."""


def import_payloads(payloads: list[tuple[str, Any]], *, customer: str, environment: str, primary: str, dr: str,
                    manifest_id: str | None = None) -> Imported:
    """``payloads``: (source name, parsed JSON) of each of the framework's payload files."""
    entries: dict[str, dict[str, Any]] = {}  # identity -> resource entry being built
    wave_of: dict[str, int] = {}
    out = Imported({})
    slot = {"primary": primary, "dr": dr}
    for source, payload in payloads:
        for where, layer_no, item in _items(source, payload):
            kind = item.get("resourceType")
            mapping = TYPES.get(kind)
            if mapping is None:
                known = ", ".join(sorted(TYPES))
                out.problems.append(f"{where}: resourceType {kind!r} has no equivalent here -- map it by hand "
                                    f"(known: {known}) or remove it")
                continue
            params = item.get("parameters") or {}
            if not isinstance(params, dict):
                out.problems.append(f"{where}.parameters: not a mapping -- write key: value pairs")
                continue
            key = f"{mapping.action}:{params.get(mapping.identity, item.get('resourceName'))}"
            entry = entries.setdefault(key, {"resourceId": _resource_id(item, params, mapping), "action": mapping.action,
                                             "config": {}, "_sources": []})
            entry["_sources"].append(f"{where} ({kind})")
            if mapping.direction == "failover" or key not in wave_of:
                wave_of[key] = layer_no  # the failover payload's layer is the wave
            engine = ENGINES.get(str(params.get("Engine", "")).lower())
            if engine and mapping.action.startswith("Aurora"):
                entry["action"] = engine
            for name, value in params.items():
                if name in mapping.params:
                    entry["config"].setdefault(mapping.params[name], value)
                elif name != mapping.identity:
                    out.unmapped.append(f"{where}.parameters.{name} ({kind}): no config key of {mapping.action} "
                                        "-- its adapter reads or re-creates it from AWS; not carried over")
            for key_name, value in mapping.implies.items():
                entry["config"].setdefault(key_name, value)
            for key_name, what in mapping.needs.items():  # filled last: another payload may name it
                entry.setdefault("_needs", {}).setdefault(key_name, f"<fill: {what.format(**slot)}>")
    for entry in entries.values():
        for key_name, placeholder in entry.pop("_needs", {}).items():
            entry["config"].setdefault(key_name, placeholder)
    layers: dict[int, list[dict[str, Any]]] = {}
    for key, entry in entries.items():
        layers.setdefault(wave_of[key], []).append(entry)
    manifest_layers = []
    for n, number in enumerate(sorted(layers)):
        resources = []
        for entry in layers[number]:
            sources = entry.pop("_sources")
            resources.append(entry)
            for path, value in _walk(entry["config"], f"layers[{n}].resources[{len(resources) - 1}] "
                                                      f"({entry['resourceId']}).config"):
                if isinstance(value, str) and PLACEHOLDER.match(value):
                    out.placeholders.append(f"{path}: {value} (from {sources[0]})")
        manifest_layers.append({"layerId": f"layer-{number}", "priority": number, "resources": resources})
    out.manifest = {
        "manifestVersion": "1.0",
        "manifestId": manifest_id or re.sub(r"[^a-z0-9-]", "-", f"{customer}-{environment}".lower()),
        "description": "Imported from DR Orchestrator Framework payloads: " + ", ".join(s for s, _ in payloads),
        "customer": customer,
        "environment": environment,
        "regions": {"primary": primary, "dr": dr},
        "layers": manifest_layers,
    }
    return out


def _items(source: str, payload: Any):
    if not isinstance(payload, dict) or not isinstance(payload.get("StatePayload"), list):
        raise DofError(f"{source}: not a DR Orchestrator Framework payload -- it must be "
                       '{"StatePayload": [{"layer": 1, "resources": [...]}]}')
    for i, layer in enumerate(payload["StatePayload"]):
        where = f"{source}: StatePayload[{i}]"
        number = layer.get("layer") if isinstance(layer, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 99:
            raise DofError(f"{where}.layer: {number!r} is not a layer number 1-99 -- number the layers 1, 2, ...")
        for j, item in enumerate(layer.get("resources") or []):
            if not isinstance(item, dict):
                raise DofError(f"{where}.resources[{j}]: not a resource -- write resourceType, resourceName, parameters")
            yield f"{where}.resources[{j}]", number, item


def _resource_id(item: dict[str, Any], params: dict[str, Any], mapping: DofType) -> str:
    """A readable id: the identifying parameter when it is a plain name, else the framework's resourceName."""
    name = str(params.get(mapping.identity) or "")
    if not name or PLACEHOLDER.match(name):
        name = str(item.get("resourceName") or mapping.action)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.replace("!Import", "")).strip("-_.")
    return (name or mapping.action.lower())[:128]


def _walk(value: Any, path: str):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


def render(imported: Imported) -> str:
    """The manifest as YAML, with what is left to do as comments at the end."""
    import yaml

    text = ("# Imported from DR Orchestrator Framework payloads by `python -m dr_adapters import dof`.\n"
            "# Fill every placeholder listed at the end, add accounts/notifications/slaTargets as needed, then\n"
            "# `python -m dr_adapters validate` this file.\n")
    text += yaml.safe_dump(imported.manifest, sort_keys=False, width=120)
    for title, lines in (("placeholders to fill", imported.placeholders),
                         ("parameters not carried over", imported.unmapped), ("not imported", imported.problems)):
        if lines:
            text += f"\n# {title} ({len(lines)}):\n" + "".join(f"#   {line}\n" for line in lines)
    return text
