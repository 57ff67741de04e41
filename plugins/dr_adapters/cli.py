"""``python -m dr_adapters``: validate manifests, print a plan, export the manifest JSON Schema,
the action reference and the IAM policies."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from dr_adapters.sources.loader import ManifestError, load_manifest
from dr_adapters.plan.model import Plan
from dr_adapters.sources.planner import build_plan
from dr_adapters.plan.types import WAVE_PHASES, Phase


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dr_adapters", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check manifests; exit 1 if any is invalid")
    validate.add_argument("files", nargs="+")
    plan = sub.add_parser("plan", help="print waves, work units and what each phase will do")
    plan.add_argument("file")
    discover = sub.add_parser("discover", help="find a scope's DR-tagged resources; write a snapshot manifest to deploy")
    discover.add_argument("scope", help="a manifest with a discovery block (tag-driven estate)")
    discover.add_argument("--out", help="snapshot to write (default: include/inventory/<manifestId>.yaml beside the "
                          "scope's folder); '-' prints it instead")
    imp = sub.add_parser("import", help="turn another tool's DR plan into a manifest (dof: DR Orchestrator Framework)")
    imp.add_argument("kind", choices=["dof"])
    imp.add_argument("payloads", nargs="+", help="the framework's payload files (failover, failback ...)")
    imp.add_argument("--customer", required=True)
    imp.add_argument("--environment", required=True, choices=["production", "staging", "development"])
    imp.add_argument("--regions", required=True, metavar="PRIMARY:DR", help="e.g. us-east-1:us-west-2")
    imp.add_argument("--manifest-id")
    imp.add_argument("--out", help="manifest to write (default: print it)")
    sub.add_parser("schema", help="print the manifest JSON Schema (for editors and CI)")
    actions = sub.add_parser("actions", help="print the reference of every action: config keys, phases, drill (Markdown)")
    actions.add_argument("--write", metavar="README", help="replace the block between the actions markers in this file")
    iam = sub.add_parser("iam", help="the least-privilege IAM policies and spoke-role template (include/iam/)")
    iam_mode = iam.add_mutually_exclusive_group()
    iam_mode.add_argument("--write", metavar="DIR", help="write them into DIR (e.g. include/iam)")
    iam_mode.add_argument("--check", metavar="DIR", help="exit 1 if DIR differs from what --write would write")
    args = parser.parse_args(argv)

    if args.command == "validate":
        return _validate(args.files)
    if args.command == "plan":
        try:
            print(describe_plan(build_plan(load_manifest(args.file), args.file)))
        except ManifestError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    if args.command == "import":
        return _import_dof(args)
    if args.command == "discover":
        return _discover(args.scope, args.out)
    if args.command == "iam":
        return _iam(args.write, args.check)
    if args.command == "actions":
        if args.write:
            write_actions_block(args.write)
        else:
            print(actions_reference())
        return 0
    print(json.dumps(manifest_schema(), indent=2))
    return 0


def _validate(files: Sequence[str]) -> int:
    failed = 0
    for path in files:
        try:
            plan = build_plan(load_manifest(path), path)
        except ManifestError as exc:
            failed += 1
            print(exc, file=sys.stderr)
        else:
            print(f"{path}: OK ({plan.dag_id}: {len(plan.waves)} waves, {len(plan.resources)} resources)")
    return 1 if failed else 0


def _import_dof(args: argparse.Namespace) -> int:
    """Exit 0: written, nothing left to fill; 1: written, placeholders listed; 2: nothing written."""
    from pathlib import Path

    from dr_adapters.sources import dof

    primary, _, dr = args.regions.partition(":")
    try:
        payloads = [(p, json.loads(Path(p).read_text(encoding="utf-8"))) for p in args.payloads]
        imported = dof.import_payloads(payloads, customer=args.customer, environment=args.environment,
                                       primary=primary, dr=dr, manifest_id=args.manifest_id)
    except (OSError, ValueError) as exc:  # unreadable, not JSON, not the framework's format
        print(f"import dof: {exc}", file=sys.stderr)
        return 2
    text = dof.render(imported)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{args.out}: {sum(len(layer['resources']) for layer in imported.manifest['layers'])} resources in "
              f"{len(imported.manifest['layers'])} layers; {len(imported.placeholders)} placeholder(s) to fill, "
              f"{len(imported.unmapped)} parameter(s) not carried over, {len(imported.problems)} not imported "
              "(listed at the end of the file)")
    else:
        print(text)
    return 1 if imported.placeholders or imported.problems else 0


def _discover(scope_file: str, out: str | None) -> int:
    """Exit 0: written, no problem; 1: written, with problems (left-out resources, an account not
    searched); 2: nothing written (the scope is invalid)."""
    import os

    import boto3
    import yaml

    from dr_adapters.aws.sessions import AccountSessions
    from dr_adapters.plan.types import AccountAccess
    from dr_adapters.sources import inventory
    from dr_adapters.sources.discovery import discover, scope_of
    from dr_adapters.sources.loader import parse_text

    try:
        manifest = load_manifest(scope_file)
    except ManifestError as exc:
        print(exc, file=sys.stderr)
        return 2
    if manifest.discovery is None:
        print(f"{scope_file}: no discovery block -- add one (see the README: tag-driven estates) to find "
              "resources by their DR tags", file=sys.stderr)
        return 2
    raw = parse_text(open(scope_file, encoding="utf-8").read(), scope_file)
    aws = AccountSessions(
        boto3.Session(), [AccountAccess(a.account_id, a.role_arn, a.external_id) for a in manifest.accounts],
        session_name="dr-discover", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        hub_account_id=manifest.hub_account_id,
        sts_region=os.environ.get("DR_ORCHESTRATOR_REGION") or manifest.regions.dr,
        hub_role_arn=manifest.hub_role_arn,
    )
    result = discover(scope_of(manifest), aws)
    path = inventory.default_inventory_path(scope_file, manifest.manifest_id) if out is None else out
    try:
        data, notes = inventory.snapshot(manifest, raw, result, scope_file, str(path))
    except ManifestError as exc:
        print(inventory.summary(result, result.problems), file=sys.stderr)
        print(f"the discovered estate does not make a valid manifest:\n{exc}", file=sys.stderr)
        return 2
    if path == "-":
        print(yaml.safe_dump(data, sort_keys=False, width=120))
        written = None
    else:
        written = inventory.write_snapshot(data, path)
    problems = result.problems + notes
    print(inventory.summary(result, problems, written), file=sys.stderr if written is None else sys.stdout)
    return 1 if any(p.error for p in problems) or result.failed_accounts else 0


def _iam(write: str | None, check: str | None) -> int:
    from dr_adapters import iam

    if write:
        for rel in iam.write_files(write):
            print(f"{write.rstrip('/')}/{rel}")
        return 0
    if check:
        stale = iam.drift(check)
        for rel in stale:
            print(f"{check.rstrip('/')}/{rel} differs from the adapters' declarations", file=sys.stderr)
        if stale:
            print("run `make iam` to regenerate", file=sys.stderr)
        return 1 if stale else 0
    for rel, text in iam.render_files().items():
        print(f"==> {rel} <==\n{text}")
    return 0


def manifest_schema() -> dict:
    from dr_adapters.sources.manifest import Manifest

    schema = Manifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "DR orchestration manifest"
    return schema


def describe_plan(plan: Plan) -> str:
    from dr_adapters.adapters.manual_step import is_manual_step, manual_step_config, placement
    from dr_adapters.adapters.registry import adapter_for

    lines = [
        f"{plan.dag_id}  (manifest {plan.manifest_id}, {plan.source})",
        f"  regions: primary {plan.regions.primary} -> dr {plan.regions.dr}",
        f"  accounts: hub{''.join(', ' + a.account_id for a in plan.accounts)}",
        f"  phases: {', '.join(p.value for p in plan.phases)}; approval "
        f"{'required' if plan.approval_required else 'automatic'} between waves",
        f"  SLA: RTO {plan.rto_minutes or '-'} min, RPO {plan.rpo_minutes or '-'} min",
        *([f"  approvers: {', '.join(plan.approvers)}"] if plan.approvers else []),
        *(["  separation of duties: whoever triggers a failover or failback may not approve it"]
          if plan.separation_of_duties else []),
        "",
        "preflight: every resource exists, is tagged for this customer/environment, replicates within RPO",
    ]
    for i, wave in enumerate(plan.waves):
        if i:
            lines.append(f"approval gate before wave {wave.number}")
        lines.append(f"wave {wave.number} ({wave.layer_id}): {len(wave.resource_ids)} resources")
        for s, step in enumerate(wave.steps, start=1):
            if len(wave.steps) > 1:
                lines.append(f"  step {s} (after its dependencies):")
            for unit in step:
                where = unit.account_id or "hub account"
                lines.append(f"    unit {unit.unit_id} [{unit.action}, {where}]: {', '.join(unit.resource_ids)}")
        actions = sorted({u.action for u in wave.units})
        for phase in WAVE_PHASES:
            if phase is Phase.ACTIVATE and wave.approval_before_activate:
                lines.append("    APPROVAL    gate before ACTIVATE: the prewarmed resources and what ACTIVATE will "
                             "change, before anything switches (approvalBeforeActivate)")
            if phase in plan.phases:
                for action in actions:
                    summary = adapter_for(action).phase_summaries.get(phase)
                    if summary:
                        lines.append(f"    {phase.value:<11} {action}: {summary}")
        lines.append("    VALIDATE    health of every resource; UNHEALTHY blocks the next wave")
        for s, step in enumerate(wave.steps, start=1):  # runbook steps a person performs, where they are asked
            for unit in (u for u in step if is_manual_step(u.action)):
                cfg = manual_step_config(unit.resources[0])
                where = placement(cfg) + (f" of step {s}" if len(wave.steps) > 1 and cfg.phase in ("INSTANTIATE", "ACTIVATE")
                                          else "")
                lines.append(f"    MANUAL      {unit.unit_id}: {cfg.title} (a person confirms it after {where}; "
                             f"in a drill: {cfg.in_drill})")
    lines.append("approval gate before cleanup")
    for phase in (Phase.CLEANUP, Phase.REPLICATE):
        if phase in plan.phases:
            lines.append(f"{phase.value.lower()}:")
            for action in sorted({u.action for u in plan.units}):
                summary = adapter_for(action).phase_summaries.get(phase)
                if summary:
                    lines.append(f"    {action}: {summary}")
    lines.append("report: per wave/phase/resource timings, approvals, measured RTO vs target")
    lines.append("")
    lines.append("in a drill:")
    for action in sorted({u.action for u in plan.units}):
        lines.append(f"    {action}: {adapter_for(action).drill_behaviour or '-'}")
    return "\n".join(lines)


ACTIONS_START, ACTIONS_END = "<!-- actions:start -->", "<!-- actions:end -->"


def write_actions_block(path: str) -> None:
    from pathlib import Path

    text = Path(path).read_text()
    head, rest = text.split(ACTIONS_START, 1)
    _, tail = rest.split(ACTIONS_END, 1)
    Path(path).write_text(f"{head}{ACTIONS_START}\n{actions_reference()}\n{ACTIONS_END}{tail}")


def actions_reference() -> str:
    """Markdown reference of each action's config keys and phase behaviour, from the adapters themselves."""
    from dr_adapters.adapters.registry import ADAPTER_CLASSES

    out: list[str] = []
    for cls in ADAPTER_CLASSES:
        out.append(f"#### `{'` / `'.join(cls.actions)}`\n")
        if cls.__doc__:
            out.append(" ".join(cls.__doc__.split()) + "\n")
        out.append("| config key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for name, field in cls.config_model.model_fields.items():
            key = field.alias or name
            kind = _type_name(field.annotation)
            default = "required" if field.is_required() else f"`{field.default!r}`"
            out.append(f"| `{key}` | {kind} | {default} | {(field.description or '').replace('|', '/')} |")
        out.append("")
        for phase, summary in cls.phase_summaries.items():
            out.append(f"- **{phase.value}**: {summary}")
        out.append(f"- **drill**: {cls.drill_behaviour}")
        out.append(f"- **unplanned failover** (source region dark): {cls.unplanned_behaviour}")
        out.append(f"- **rollback** (after a failed or rejected run): {cls().rollback_summary()}")
        out.append(f"- batch: up to {cls.max_batch} resource(s) per work unit")
        out.append("")
    return "\n".join(out)


def _type_name(annotation: object) -> str:
    """A config type as a reader wants it: 'stop / terminate / none', 'list of str', 'int'."""
    import types
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}"
    return getattr(annotation, "__name__", str(annotation))
