#!/usr/bin/env python3
"""``make mwaa-bundle``: what an Amazon MWAA environment takes, laid out like its S3 bucket.

    build/mwaa/                               S3 (s3://<bucket>/...)      on MWAA
      plugins.zip        plugins/ zipped       plugins.zip                 /usr/local/airflow/plugins (on sys.path)
      requirements.txt   runtime pins          requirements.txt            pip install -r, MWAA's constraints
      startup.sh         exports DR_MANIFEST_DIR startup.sh                run before every Airflow component
      dags/dr_dags.py    the DAG file          dags/dr_dags.py             /usr/local/airflow/dags
      dags/.airflowignore                      dags/.airflowignore
      dags/include/manifests/*.yaml|json       dags/include/manifests/     synced like DAGs: no env update
      dags/include/inventory/*.yaml            dags/include/inventory/     snapshots of tag-driven estates (discover)
      iam/*.json         IAM policies for the execution role and the spoke roles (not uploaded;
                         from dr_adapters.iam, like include/iam/)

Manifests are validated first: a bundle never ships a manifest that would show up as a broken DAG.
docs/deploy-mwaa.md walks through uploading it and setting up the environment.

    python deploy/mwaa_bundle.py [--out build/mwaa] [--manifests include/manifests]
                                 [--execution-role-arn arn:aws:iam::<hub>:role/<mwaa-execution-role>]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
DAGS = ROOT / "dags"
MANIFESTS = ROOT / "include" / "manifests"
REQUIREMENTS = ROOT / "requirements.txt"
STARTUP = Path(__file__).resolve().parent / "mwaa" / "startup.sh"

MANIFEST_SUBDIR = Path("include") / "manifests"  # under dags/, where startup.sh points DR_MANIFEST_DIR
INVENTORY_SUBDIR = Path("include") / "inventory"  # beside it: where the factory looks for snapshots
EXECUTION_ROLE_PLACEHOLDER = "arn:aws:iam::<hub-account-id>:role/<mwaa-execution-role>"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: an unchanged bundle gives a byte-identical plugins.zip
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}

DAGS_AIRFLOWIGNORE = """\
# The manifests the DAG factory reads are no DAG files: keep the DAG processor out of them.
include/
"""

REQUIREMENTS_HEADER = """\
# Amazon MWAA requirements (s3://<bucket>/requirements.txt), written by `make mwaa-bundle` from
# requirements.txt. apache-airflow itself is left out: the environment's image provides it (3.3.1).
# No --constraint line: MWAA then applies the constraints file of its Airflow version. The provider
# pins equal the versions MWAA's Airflow 3.3.1 image ships; pip refuses a pin that conflicts with
# those constraints, and the environment's requirements log in CloudWatch says which.
"""


class BundleError(Exception):
    """The bundle cannot be built (invalid manifest, unpinned requirement, ...)."""


def _shipped(path: Path, base: Path) -> bool:
    rel = path.relative_to(base)
    return path.is_file() and not (SKIP_PARTS & set(rel.parts)) and path.suffix not in SKIP_SUFFIXES


def write_plugins_zip(target: Path, plugins_dir: Path = PLUGINS) -> list[str]:
    """Zip the contents of plugins/ (dr_adapters/ and .airflowignore at the root), reproducibly."""
    names = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(plugins_dir.rglob("*")):
            if not _shipped(path, plugins_dir):
                continue
            name = path.relative_to(plugins_dir).as_posix()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
            names.append(name)
    if "dr_adapters/__init__.py" not in names:
        raise BundleError(f"{plugins_dir} has no dr_adapters package")
    return names


def mwaa_requirements(requirements: Path = REQUIREMENTS) -> str:
    """requirements.txt for MWAA: every runtime pin except apache-airflow, no constraints line."""
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-c", "--constraint")):
            continue
        if line.startswith("-") or "==" not in line:
            raise BundleError(f"{requirements}: {raw.strip()!r} is not a pin (name==version)")
        name = re.split(r"[\[=<>!~ ;]", line, maxsplit=1)[0]
        if re.sub(r"[-_.]+", "-", name).lower() == "apache-airflow":
            continue
        lines.append(line)
    return REQUIREMENTS_HEADER + "\n".join(lines) + "\n"


def _import_plugins() -> None:
    try:
        import dr_adapters  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(PLUGINS))


def load_plans(manifest_dir: Path) -> list[Any]:
    """Every manifest's plan, and every tag-driven scope's from its snapshot (``inventory/`` beside the
    manifests); all invalid manifests, and scopes without a snapshot, reported at once."""
    _import_plugins()
    from dr_adapters.sources.loader import ManifestError, discover_manifests, load_manifest
    from dr_adapters.sources.planner import build_plan

    paths = discover_manifests(manifest_dir) + discover_manifests(manifest_dir.parent / "inventory")
    if not paths:
        raise BundleError(f"no manifest (*.yaml, *.yml, *.json) in {manifest_dir}")
    plans, errors, dag_ids, scopes = [], [], {}, []
    for path in paths:
        try:
            manifest = load_manifest(path)
            if manifest.is_scope:
                scopes.append((path, manifest))
                continue
            plan = build_plan(manifest, str(path))
        except ManifestError as exc:
            errors.append(str(exc))
            continue
        if plan.dag_id in dag_ids:
            errors.append(f"{path}: same customer and environment as {dag_ids[plan.dag_id]} ({plan.dag_id})")
            continue
        dag_ids[plan.dag_id] = path
        plans.append(plan)
    for path, scope in scopes:
        if not any(p.manifest_id == scope.manifest_id for p in plans):
            errors.append(f"{path}: a tag-driven scope without its snapshot -- run `python -m dr_adapters discover "
                          f"{path}` and review include/inventory/{scope.manifest_id}.yaml")
    if errors:
        raise BundleError("invalid manifests, nothing written:\n" + "\n".join(errors))
    return plans


def iam_policies(plans: list[Any], execution_role_arn: str = EXECUTION_ROLE_PLACEHOLDER) -> dict[str, Any]:
    """The manifests' least-privilege policies (``dr_adapters.iam.manifest_policies``): the execution
    role's, and per spoke role its permissions, its trust (ExternalId) and the parameters of
    ``include/iam/spoke-role.yaml`` that create the same role with CloudFormation."""
    _import_plugins()
    from dr_adapters.iam import manifest_policies

    return manifest_policies(plans, execution_role_arn)


def build_bundle(out: Path, manifest_dir: Path = MANIFESTS,
                 execution_role_arn: str = EXECUTION_ROLE_PLACEHOLDER) -> dict[str, Any]:
    """Write the bundle to ``out`` (replaced); returns what it wrote."""
    plans = load_plans(manifest_dir)
    policies = iam_policies(plans, execution_role_arn)
    requirements = mwaa_requirements()

    if out.exists():
        shutil.rmtree(out)
    (out / "dags" / MANIFEST_SUBDIR).mkdir(parents=True)
    (out / "dags" / INVENTORY_SUBDIR).mkdir(parents=True)
    (out / "iam").mkdir()

    zip_names = write_plugins_zip(out / "plugins.zip")
    (out / "requirements.txt").write_text(requirements)
    shutil.copyfile(STARTUP, out / "startup.sh")
    (out / "startup.sh").chmod(0o755)
    for dag_file in sorted(DAGS.glob("*.py")):
        shutil.copyfile(dag_file, out / "dags" / dag_file.name)
    (out / "dags" / ".airflowignore").write_text(DAGS_AIRFLOWIGNORE)
    for plan in plans:
        source = Path(plan.source)
        subdir = INVENTORY_SUBDIR if source.parent.resolve() == (manifest_dir.parent / "inventory").resolve() \
            else MANIFEST_SUBDIR
        shutil.copyfile(source, out / "dags" / subdir / source.name)
    for name, policy in policies.items():
        (out / "iam" / name).write_text(json.dumps(policy, indent=2) + "\n")
    return {"out": out, "dag_ids": sorted(p.dag_id for p in plans), "plugins": zip_names, "iam": sorted(policies)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mwaa_bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mwaa")
    parser.add_argument("--manifests", type=Path, default=MANIFESTS)
    parser.add_argument("--execution-role-arn", default=EXECUTION_ROLE_PLACEHOLDER,
                        help="the MWAA execution role, trusted by the spoke roles (default: a placeholder)")
    args = parser.parse_args(argv)
    try:
        built = build_bundle(args.out, args.manifests, args.execution_role_arn)
    except BundleError as exc:
        print(f"mwaa-bundle: {exc}", file=sys.stderr)
        return 1
    out = built["out"]
    print(f"MWAA bundle in {out} (DAGs: {', '.join(built['dag_ids'])})")
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        print(f"  {path.relative_to(out)}")
    print("Upload and set-up: docs/deploy-mwaa.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
