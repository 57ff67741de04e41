"""Tag discovery against the simulator: a DR-tagged estate becomes the plan its hand-written manifest makes.

Estates are seeded by the kits from a manifest (every resource tagged Customer, Environment, dr:enabled,
dr:wave, Name, dr:priority, dr:dependencies and the dr:* config tags AWS cannot tell); discovery must
find them again with Resource Explorer or the Tagging API and derive each config from AWS itself.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import yaml
from awssim.kits.lambda_function import seed_function
from awssim.seed import seed_estate
from awssim.synthetic import synthetic_manifest

from dr_adapters.adapters.registry import adapter_for
from dr_adapters.aws.sessions import AccountSessions
from dr_adapters.cli import main
from dr_adapters.sources.discovery import discover, scope_of
from dr_adapters.sources.loader import load_manifest
from dr_adapters.sources.planner import build_plan

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "manifests" / "acme-production.yaml"
EU_AP = {"primary": "eu-central-1", "dr": "ap-northeast-1"}


def scope_of_manifest(data: dict, **discovery) -> dict:
    """The tag-driven twin of a manifest: Route 53 records stay hand-listed (not taggable), the rest is
    left to discovery."""
    scope = {k: v for k, v in data.items() if k != "layers"}
    layers = []
    for layer in data["layers"]:
        records = [r for r in layer["resources"] if r["action"] == "R53Record"]
        if records:
            layers.append({**layer, "resources": records})
    scope["layers"] = layers
    scope["discovery"] = discovery
    return scope


def seed(data: dict, tmp_path: Path, *, explorer: bool = True):
    path = tmp_path / "manifests" / f"{data['manifestId']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = build_plan(load_manifest(path), str(path))
    return plan, seed_estate(plan, explorer=explorer)


def run_discover(scope: dict, tmp_path: Path, capsys=None) -> tuple[int, Path]:
    path = tmp_path / "scopes" / f"{scope['manifestId']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(scope, sort_keys=False))
    out = tmp_path / "inventory" / f"{scope['manifestId']}.yaml"
    return main(["discover", str(path), "--out", str(out)]), out


def shape(plan) -> list:
    """Waves, their steps and work units, each unit's resources, in a comparable form."""
    return [(w.number, [sorted((u.unit_id, u.action, u.account_id, tuple(sorted(u.resource_ids))) for u in step)
                        for step in w.steps]) for w in plan.waves]


def resources(plan) -> dict:
    """Each resource's action, account, dependencies and config with defaults filled in."""
    out = {}
    for rid, r in plan.resources.items():
        config = adapter_for(r.action).config_model.model_validate(r.config).model_dump()
        out[rid] = (r.action, r.account_id, tuple(sorted(r.dependencies)), config)
    return out


def dag_shape(plan) -> set:
    from dr_adapters.orchestration.factory import build_dag

    dag = build_dag(plan)
    return {(t.task_id, tuple(sorted(t.downstream_task_ids))) for t in dag.tasks}


@pytest.mark.parametrize("estate", ["demo", "generated"])
def test_the_discovered_estate_plans_exactly_like_its_hand_written_manifest(aws, tmp_path, estate):
    if estate == "demo":
        data = yaml.safe_load(DEMO.read_text())
    else:  # another customer, Europe -> Asia-Pacific, more waves
        data = synthetic_manifest("initech", resources=30, waves=4, regions=EU_AP)
    hand, _ = seed(data, tmp_path)
    code, out = run_discover(scope_of_manifest(data), tmp_path)
    assert code == 0
    discovered = build_plan(load_manifest(out), str(out))

    assert shape(discovered) == shape(hand)
    assert resources(discovered) == resources(hand)
    assert dag_shape(discovered) == dag_shape(hand)
    snapshot = yaml.safe_load(out.read_text())
    assert snapshot["inventory"]["problems"] == []
    tagged = [r for layer in snapshot["layers"] for r in layer["resources"] if r["action"] != "R53Record"]
    assert tagged and all(r["discoveredFrom"].startswith("arn:aws:") for r in tagged)


def test_without_resource_explorer_the_tagging_api_finds_the_same_estate(aws, tmp_path, capsys):
    data = synthetic_manifest("hooli", resources=12, waves=3, regions=EU_AP)
    hand, _ = seed(data, tmp_path, explorer=False)
    code, out = run_discover(scope_of_manifest(data), tmp_path)
    assert code == 0
    assert shape(build_plan(load_manifest(out), str(out))) == shape(hand)
    report = capsys.readouterr().out
    assert "via tagging-api (Resource Explorer:" in report and "resource-explorer," not in report


def retag(plan, rid: str, tags: dict[str, str]) -> list[str]:
    """Tag every part of resource ``rid`` (found by its Name tag, in both regions, any account)."""
    from awssim.seed import plan_sessions

    arns = []
    for session in {id(s): s for s in plan_sessions(plan).values()}.values():
        for region in (plan.regions.primary, plan.regions.dr):
            api = session.client("resourcegroupstaggingapi", region_name=region)
            found = [m["ResourceARN"] for page in api.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": "Name", "Values": [rid]}]) for m in page["ResourceTagMappingList"]]
            if found:
                api.tag_resources(ResourceARNList=found, Tags=tags)
                arns += found
    assert arns, rid
    return arns


def test_bad_tags_are_each_reported_with_the_arn_and_the_fix(aws, tmp_path, capsys):
    data = synthetic_manifest("globex", resources=12, waves=3, regions=EU_AP)
    plan, _ = seed(data, tmp_path)
    by_kind = {}
    for rid, r in plan.resources.items():
        by_kind.setdefault(r.action, []).append(rid)
    wave0, wave11 = by_kind["EcsService"][:2]
    urgent = by_kind["LambdaFunction"][0]
    ghost = by_kind["LambdaFunction"][1]
    yolo = by_kind["AuroraMySQL"][0]
    arns = {rid: retag(plan, rid, tags) for rid, tags in (
        (wave0, {"dr:wave": "0"}), (wave11, {"dr:wave": "11"}), (urgent, {"dr:priority": "urgent"}),
        (ghost, {"dr:dependencies": "no-such-thing"}), (yolo, {"dr:recovery-strategy": "yolo"}))}

    code, out = run_discover(scope_of_manifest(data), tmp_path)
    report = capsys.readouterr().out
    assert code == 1  # written, with problems to fix
    snapshot = load_manifest(out)
    ids = {r.resource_id: r for _, r in snapshot.resources()}
    lines = report.splitlines()

    def line(rid: str, tag: str) -> str:
        hits = [x for x in lines if tag in x and any(a in x for a in arns[rid])]
        assert hits, (rid, tag, report)
        return hits[0]

    assert "error" in line(wave0, "dr:wave='0'") and "1 to 10" in line(wave0, "dr:wave")
    assert "error" in line(wave11, "dr:wave='11'")
    assert wave0 not in ids and wave11 not in ids  # left out until fixed, and said so
    assert "warning" in line(urgent, "dr:priority='urgent'") and "medium" in line(urgent, "dr:priority")
    assert ids[urgent].priority == "medium"
    assert "no-such-thing" in line(ghost, "dr:dependencies") and "error" in line(ghost, "dr:dependencies")
    assert "switchover, failover" in line(yolo, "dr:recovery-strategy='yolo'")
    assert all(" -- " in x for x in lines if x.strip().startswith(("error:", "warning:")))  # each says the fix


def test_an_unreachable_account_is_reported_and_the_others_are_still_discovered(aws, tmp_path):
    data = synthetic_manifest("stark", resources=15, waves=3, regions=EU_AP)
    plan, _ = seed(data, tmp_path)
    spoke = plan.accounts[0]

    def refuse(params, **_):  # the spoke's role no longer trusts the hub
        if params.get("RoleArn") == spoke.role_arn:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to assume"}}, "AssumeRole")

    hub = boto3.Session(region_name=EU_AP["primary"])
    hub.events.register("before-parameter-build.sts.AssumeRole", refuse)
    sessions = AccountSessions(hub, plan.accounts, hub_account_id=plan.hub_account_id)
    result = discover(scope_of(plan), sessions)

    assert set(result.failed_accounts) == {spoke.account_id}
    assert "AccessDenied" in result.failed_accounts[spoke.account_id]
    found = {f.resource_id for f in result.resources}
    in_hub = {rid for rid, r in plan.resources.items() if r.account_id is None and r.action != "R53Record"}
    assert found == in_hub


def test_a_resource_tagged_but_not_in_the_manifest_is_unprotected(aws, tmp_path):
    data = synthetic_manifest("wayne", resources=12, waves=3, regions=EU_AP)
    plan, estate = seed(data, tmp_path)
    seed_function(estate.sessions[None], EU_AP["primary"], name="wayne-forgotten",
                  tags={"Customer": "wayne", "Environment": "production", "dr:enabled": "true", "dr:wave": "2"})
    from dr_adapters.sources import inventory

    sessions = AccountSessions(boto3.Session(region_name=EU_AP["primary"]), plan.accounts,
                               hub_account_id=plan.hub_account_id)
    loose = inventory.unprotected(plan, discover(scope_of(plan), sessions))
    assert len(loose) == 1 and "wayne-forgotten" in loose[0] and "not in the manifest" in loose[0]


def test_drift_names_what_was_tagged_untagged_or_moved_since_the_snapshot(aws, tmp_path):
    from dr_adapters.sources import inventory

    data = synthetic_manifest("soylent", resources=12, waves=3, regions=EU_AP)
    plan, _ = seed(data, tmp_path)
    code, out = run_discover(scope_of_manifest(data), tmp_path)
    snapshot = build_plan(load_manifest(out), str(out))
    sessions = AccountSessions(boto3.Session(region_name=EU_AP["primary"]), plan.accounts,
                               hub_account_id=plan.hub_account_id)
    assert code == 0 and inventory.drift(snapshot, discover(scope_of(snapshot), sessions)) == []

    services = [rid for rid, r in plan.resources.items() if r.action == "EcsService"]
    functions = [rid for rid, r in plan.resources.items() if r.action == "LambdaFunction"]
    moved, gone = services[0], functions[0]
    wave = next(w.number for w in snapshot.waves if moved in w.resource_ids)
    retag(plan, moved, {"dr:wave": str(wave % 3 + 1)})
    retag(plan, gone, {"dr:enabled": "false"})
    changes = inventory.drift(snapshot, discover(scope_of(snapshot), sessions))
    assert len(changes) == 2, changes
    assert any(c.startswith(f"{moved} (") and f"moved from wave {wave} to {wave % 3 + 1}" in c for c in changes)
    assert any(c.startswith(f"{gone} (wave") and "no longer found" in c for c in changes)
