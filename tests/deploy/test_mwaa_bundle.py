"""`make mwaa-bundle`: the bundle is what MWAA takes, and it works without the repository.

The two runtime checks run in a clean interpreter (``python -I``: no PYTHONPATH, no current
directory, no user site; environment built from scratch; working directory outside the repo):
one imports dr_adapters straight from plugins.zip and parses the bundled DAG file with it; the
other lays the bundle out as MWAA does (plugins.zip extracted into $AIRFLOW_HOME/plugins, dags/
synced to $AIRFLOW_HOME/dags, startup.sh sourced first) and lets Airflow's own plugin loader and
DagBag find everything from Airflow's defaults.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "dr_acme_production"

_spec = importlib.util.spec_from_file_location("mwaa_bundle", ROOT / "deploy" / "mwaa_bundle.py")
mwaa_bundle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mwaa_bundle)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "mwaa"
    mwaa_bundle.build_bundle(out, execution_role_arn="arn:aws:iam::123456789012:role/mwaa-dr-execution")
    return out


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version.strip()
    return pins


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A from-scratch environment: nothing of the test session's Airflow, AWS, DR or Python path."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", **extra}


# `make venv` puts the checkout's plugins/, simulator/ and local/ on the virtualenv's path (a .pth
# file) so the local walk-through's `python -m ...` commands work; MWAA has no checkout, so the
# probes drop those entries before importing anything.
CHECKOUT_OFF_PATH = r"""
import os as _os, sys as _sys
_repo = _os.path.realpath(_sys.argv[1])
_sys.path[:] = [p for p in _sys.path if not (_os.path.realpath(p) + _os.sep).startswith(
    tuple(_os.path.join(_repo, d) + _os.sep for d in ("plugins", "simulator", "local")))]
"""


def _run_probe(code: str, cwd: Path, env: dict[str, str], via_startup: Path | None = None) -> dict:
    probe = cwd / "probe.py"
    probe.write_text(CHECKOUT_OFF_PATH + code)
    cmd = [sys.executable, "-I", str(probe), str(ROOT)]
    if via_startup:  # as on MWAA: the startup script's exports, then the Airflow process
        cmd = ["sh", "-c", '. "$0" && exec "$@"', str(via_startup), *cmd]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"probe failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len("RESULT "):])


# What both probes report: where dr_adapters came from, the DAGs and their import errors, and
# whether anything of the repository (other than the virtualenv's site-packages) was reachable.
PROBE_TAIL = r"""
import dr_adapters
from dr_adapters.aws.waiters import WAITER_DIR, custom_waiter_model
result.update(
    dr_adapters=dr_adapters.__file__,
    dag_ids=sorted(bag.dag_ids),
    import_errors={str(k): str(v) for k, v in bag.import_errors.items()},
    tasks=len(bag.dags[DAG_ID].tasks) if DAG_ID in bag.dags else 0,
    manifest_dir=str(default_manifest_dir()),
    waiters_shipped=sorted(p.name for p in WAITER_DIR.iterdir() if p.name.endswith(".json")) if WAITER_DIR.is_dir() else [],
    waiters_loaded=sorted(n for s in ("drs", "rds") if (m := custom_waiter_model(s)) for n in m.waiter_names),
    repo_paths=[p for p in sys.path if p.startswith(repo) and not p.startswith(os.path.join(repo, ".venv"))],
)
try:
    import awssim  # noqa: F401 - the simulator lives only in the repository
    result["awssim_importable"] = True
except ImportError:
    result["awssim_importable"] = False
print("RESULT " + json.dumps(result))
"""


def test_bundle_is_laid_out_like_the_mwaa_bucket(bundle):
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert {"plugins.zip", "requirements.txt", "startup.sh", "dags/dr_dags.py", "dags/.airflowignore",
            "dags/include/manifests/acme-production.yaml"} <= files
    assert (bundle / "dags" / "dr_dags.py").read_text() == (ROOT / "dags" / "dr_dags.py").read_text()
    # The DAG processor skips the manifests folder (MWAA: every non-DAG file under dags/ is ignored).
    assert "include/" in (bundle / "dags" / ".airflowignore").read_text().splitlines()


def test_plugins_zip_has_the_package_at_its_root(bundle):
    with zipfile.ZipFile(bundle / "plugins.zip") as zf:
        names = set(zf.namelist())
        ignore = zf.read(".airflowignore").decode()
    repo_files = {p.relative_to(ROOT / "plugins").as_posix() for p in (ROOT / "plugins").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert names == repo_files
    assert "dr_adapters/__init__.py" in names and "dr_adapters/waiters/drs.json" in names
    assert all(n == ".airflowignore" or n.startswith("dr_adapters/") for n in names)
    # Airflow's plugin loader must not import dr_adapters' modules one by one under bare names
    # (its __main__.py would run the CLI inside the scheduler).
    assert "dr_adapters/" in ignore.splitlines()


def test_plugins_zip_is_reproducible(bundle, tmp_path):
    again = tmp_path / "plugins.zip"
    mwaa_bundle.write_plugins_zip(again)
    assert again.read_bytes() == (bundle / "plugins.zip").read_bytes()  # same S3 object when nothing changed


def test_requirements_are_the_runtime_pins_without_airflow(bundle):
    text = (bundle / "requirements.txt").read_text()
    pins = _pins(bundle / "requirements.txt")
    runtime = _pins(ROOT / "requirements.txt")
    assert "apache-airflow" not in pins  # MWAA's image provides Airflow 3.3.1
    assert pins == {name: v for name, v in runtime.items() if name != "apache-airflow"}
    assert pins["apache-airflow-providers-amazon"] == "9.34.0"
    assert pins["apache-airflow-providers-standard"] == "1.17.0"
    assert not any(line.strip().startswith(("-c", "--constraint")) for line in text.splitlines())
    locked = _pins(ROOT / "constraints.txt")
    assert all(locked[name] == version for name, version in pins.items()), "requirements.txt and constraints.txt disagree"


def test_startup_script_points_the_factory_at_the_bundled_manifests(bundle, tmp_path):
    startup = bundle / "startup.sh"
    assert os.access(startup, os.X_OK)
    subprocess.run(["sh", "-n", str(startup)], check=True)
    env = {"PATH": os.environ["PATH"], "AIRFLOW_HOME": "/usr/local/airflow"}
    exported = subprocess.run(["sh", "-c", '. "$0" && printf %s "$DR_MANIFEST_DIR"', str(startup)],
                              env=env, capture_output=True, text=True, check=True).stdout
    assert exported == "/usr/local/airflow/dags/include/manifests"  # = s3://<bucket>/dags/include/manifests


def test_clean_interpreter_imports_the_adapters_from_plugins_zip(bundle, tmp_path):
    env = _clean_env(tmp_path / "home",
                     AIRFLOW__CORE__DAGS_FOLDER=str(bundle / "dags"),
                     AIRFLOW__CORE__PLUGINS_FOLDER=str(tmp_path / "no-plugins"),
                     DR_MANIFEST_DIR=str(bundle / "dags" / "include" / "manifests"))
    (tmp_path / "no-plugins").mkdir()
    code = f"""
import json, os, sys
repo, DAG_ID = sys.argv[1], {DAG_ID!r}
sys.path.insert(0, {str(bundle / "plugins.zip")!r})
result = {{}}
from airflow.dag_processing.dagbag import DagBag
from dr_adapters.orchestration.factory import default_manifest_dir
bag = DagBag(dag_folder={str(bundle / "dags")!r})
""" + PROBE_TAIL
    result = _run_probe(code, tmp_path, env)
    assert result["dr_adapters"].startswith(str(bundle / "plugins.zip") + os.sep)
    assert result["import_errors"] == {}
    assert result["dag_ids"] == [DAG_ID] and result["tasks"] > 10
    assert result["repo_paths"] == [] and result["awssim_importable"] is False


def test_mwaa_layout_loads_the_plugins_and_parses_the_dags(bundle, tmp_path):
    home = tmp_path / "usr-local-airflow"  # stands for /usr/local/airflow
    shutil.copytree(bundle / "dags", home / "dags")  # MWAA syncs s3://<bucket>/dags here
    with zipfile.ZipFile(bundle / "plugins.zip") as zf:
        zf.extractall(home / "plugins")  # MWAA extracts plugins.zip here (on sys.path)
    env = _clean_env(home)  # no DAGS_FOLDER/PLUGINS_FOLDER: Airflow's defaults under AIRFLOW_HOME
    code = """
import json, os, sys
repo, DAG_ID = sys.argv[1], "dr_acme_production"
from pathlib import Path
home = Path(os.environ["AIRFLOW_HOME"])
from airflow import plugins_manager, settings
plugins_manager.ensure_plugins_loaded()
bare = sorted(name for name, module in list(sys.modules.items())
              if str(getattr(module, "__file__", "") or "").startswith(str(home / "plugins"))
              and not name.startswith("dr_adapters"))
result = {"plugins_folder": settings.PLUGINS_FOLDER, "plugin_errors": plugins_manager.get_import_errors(),
          "bare_modules": bare, "DR_MANIFEST_DIR": os.environ.get("DR_MANIFEST_DIR")}
from airflow.dag_processing.dagbag import DagBag
from dr_adapters.orchestration.factory import default_manifest_dir
bag = DagBag()
""" + PROBE_TAIL
    result = _run_probe(code, tmp_path, env, via_startup=bundle / "startup.sh")
    assert result["plugins_folder"] == str(home / "plugins")
    assert result["plugin_errors"] == {} and result["bare_modules"] == []
    assert result["DR_MANIFEST_DIR"] == str(home / "dags" / "include" / "manifests")
    assert result["dr_adapters"] == str(home / "plugins" / "dr_adapters" / "__init__.py")
    assert result["import_errors"] == {}
    assert result["dag_ids"] == [DAG_ID] and result["tasks"] > 10
    # every botocore waiter model the adapters need (dr_adapters/waiters/*.json) travels in plugins.zip
    assert result["waiters_shipped"] == sorted(p.name for p in (ROOT / "plugins" / "dr_adapters" / "waiters").glob("*.json"))
    assert {"JobCompleted", "GlobalClusterAvailable"} <= set(result["waiters_loaded"])  # readable from the zip too
    assert result["repo_paths"] == [] and result["awssim_importable"] is False


def test_invalid_manifest_fails_the_build_and_writes_nothing(tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    shutil.copy(ROOT / "include" / "manifests" / "acme-production.yaml", manifests)
    shutil.copy(ROOT / "tests" / "fixtures" / "manifests" / "invalid" / "bad-region.yaml", manifests)
    out = tmp_path / "mwaa"
    with pytest.raises(mwaa_bundle.BundleError, match="bad-region.yaml"):
        mwaa_bundle.build_bundle(out, manifests)
    assert not out.exists()
    assert mwaa_bundle.main(["--out", str(out), "--manifests", str(manifests)]) == 1


def test_iam_policies_follow_the_manifests_and_the_adapters(bundle):
    from dr_adapters.adapters.registry import adapter_for
    from dr_adapters.iam import POLICY_ADAPTERS, enable_parameter
    from dr_adapters.iam import shipped_actions

    def actions(statements):
        return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}

    def granted(actions_in_account):  # what the adapters of those manifest actions ship (include/iam)
        return set().union(*(shipped_actions(type(adapter_for(a))) for a in actions_in_account))

    iam = bundle / "iam"
    hub = json.loads((iam / "execution-role-policy.json").read_text())["Statement"]
    by_sid = {s["Sid"]: s for s in hub}
    assert by_sid["DrAssumeSpokeRoles"]["Resource"] == ["arn:aws:iam::222222222222:role/dr-orchestration"]
    assert by_sid["DrNotifications"]["Resource"] == ["arn:aws:sns:us-west-2:123456789012:dr-events"]
    # The demo's hub holds every action of the manifest: exactly their adapters' policies (with
    # DRS's service-side ones, iam:PassRole only to EC2), plus the hub's own AssumeRole and Publish,
    # the tag search of preflight's unprotected-resource check and its quota reads (every account).
    from dr_adapters.iam import CAPACITY_ACTIONS, DISCOVERY_ACTIONS

    every_account = set(DISCOVERY_ACTIONS) | set(CAPACITY_ACTIONS)
    manifest_actions = {"AuroraMySQL", "DRS", "EcsService", "LambdaFunction", "R53Record"}
    assert actions(hub) == granted(manifest_actions) | {"sts:AssumeRole", "sns:Publish"} | every_account
    (pass_role,) = [s for s in hub if s["Action"] == ["iam:PassRole"]]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}

    spoke = json.loads((iam / "spoke-222222222222-dr-orchestration-policy.json").read_text())["Statement"]
    spoke_actions = {"AuroraPostgreSQL", "DRS", "EcsService", "LambdaFunction", "R53Record"}
    assert actions(spoke) == granted(spoke_actions) | every_account and "drs:StartRecovery" in spoke[0]["Action"]
    trust = json.loads((iam / "spoke-222222222222-dr-orchestration-trust-policy.json").read_text())["Statement"][0]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/mwaa-dr-execution"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "acme-dr-7f3a"}}
    # The same role from include/iam/spoke-role.yaml: its parameters, from the manifest.
    params = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(
        (iam / "spoke-222222222222-dr-orchestration-cfn-parameters.json").read_text())}
    assert params["HubPrincipalArn"] == "arn:aws:iam::123456789012:role/mwaa-dr-execution"
    assert params["ExternalId"] == "acme-dr-7f3a" and params["RoleName"] == "dr-orchestration"
    # one Enable parameter per adapter: "true" exactly for the five the spoke's resources use
    enabled = {k: v for k, v in params.items() if k.startswith("Enable")}
    assert set(enabled) == {enable_parameter(cls) for cls in POLICY_ADAPTERS}
    assert {k for k, v in enabled.items() if v == "true"} == {
        f"Enable{n}" for n in ("Drs", "Aurora", "Ecs", "LambdaFunction", "Route53")}


def test_spoke_parameters_enable_only_the_adapters_the_account_uses(tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    text = (ROOT / "include" / "manifests" / "acme-production.yaml").read_text()
    # Move the spoke's Route 53 record to the hub: the spoke keeps no R53Record resource.
    text = text.replace('        action: R53Record\n        accountId: "222222222222"\n', "        action: R53Record\n")
    (manifests / "acme-production.yaml").write_text(text)
    built = mwaa_bundle.build_bundle(tmp_path / "mwaa", manifests)
    params = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(
        (built["out"] / "iam" / "spoke-222222222222-dr-orchestration-cfn-parameters.json").read_text())}
    assert params["EnableRoute53"] == "false" and params["EnableDrs"] == "true"
    spoke = json.loads((built["out"] / "iam" / "spoke-222222222222-dr-orchestration-policy.json").read_text())
    assert not any(a.startswith("route53:") for s in spoke["Statement"] for a in s["Action"])


def test_make_target_builds_the_bundle():
    makefile = (ROOT / "Makefile").read_text()
    phony = next(line for line in makefile.splitlines() if line.startswith(".PHONY:"))
    assert "mwaa-bundle" in phony.split()
    recipe = makefile.split("\nmwaa-bundle:", 1)[1].split("\n\n", 1)[0]
    assert "deploy/mwaa_bundle.py" in recipe
