"""docker-compose.airflow.yml: a local Airflow 3.3.1 stack with the simulator, at the pinned versions.

No Docker engine runs here, so these tests read the files: the compose file (PyYAML) and the
Dockerfile it builds from. They check the stack has what an Airflow 3 deployment needs, that its
services and dependencies are consistent, that every image and package version is the one pinned
in requirements.txt / constraints.txt, that every host path it mounts exists, and that Airflow is
pointed at the simulator. `docker compose config` validates the file too where a Compose v2 CLI is
installed (it needs no engine); elsewhere that one check is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.airflow.yml"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer"}
# The `celery` profile (MWAA's executor): started only with --profile celery.
CELERY_PROFILE = {"redis", "airflow-worker"}
AIRFLOW_CONTAINERS = AIRFLOW_SERVICES | {"airflow-worker"}  # every service running the Airflow image
LONG_RUNNING = AIRFLOW_CONTAINERS - {"airflow-init"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


REQUIREMENTS = _pins(ROOT / "requirements.txt")
DEV_REQUIREMENTS = _pins(ROOT / "requirements-dev.txt")
CONSTRAINTS = _pins(ROOT / "constraints.txt")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _stages(dockerfile: Path) -> dict[str, dict]:
    """Each build stage of a Dockerfile: its base image (ARG defaults resolved) and instructions."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    args, stages, current = {}, {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and current is None and "=" in rest:
            name, value = rest.split("=", 1)
            args[name.strip()] = value.strip()
        elif keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest.strip(), re.IGNORECASE)
            assert match, f"every stage is named: {line}"
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], match.group(1))
            current = stages[match.group(2)] = {"image": image, "copy": [], "run": []}
        elif keyword in ("COPY", "RUN") and current is not None:
            current[keyword.lower()].append(rest)
    return stages


def _build(service: dict) -> tuple[Path, str]:
    build = service["build"]
    return ROOT / build["context"] / build.get("dockerfile", "Dockerfile"), build.get("target")


def _depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on", {})
    return {name: {} for name in deps} if isinstance(deps, list) else deps


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _mounts(service: dict) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            mounts.append((source, target))
    return mounts


def _expand(value: str) -> str:
    """Compose's ${VAR:-default} with VAR unset: the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_the_services_an_airflow_3_deployment_needs(services):
    assert AIRFLOW_SERVICES | {"postgres", "awssim"} <= set(services)
    assert services["airflow-apiserver"]["command"] == "api-server"
    assert services["airflow-scheduler"]["command"] == "scheduler"
    assert services["airflow-dag-processor"]["command"] == "dag-processor"
    assert services["airflow-triggerer"]["command"] == "triggerer"  # deferrable waits and approval gates
    init_env = _environment(services["airflow-init"])
    assert init_env["_AIRFLOW_DB_MIGRATE"] == "true" and init_env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert "/entrypoint" in " ".join(services["airflow-init"]["command"])  # the entrypoint does both
    assert "8080:8080" in services["airflow-apiserver"]["ports"]  # the UI on localhost:8080
    for name in AIRFLOW_CONTAINERS:
        env = _environment(services[name])
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
        # One switch for every component: LocalExecutor unless AIRFLOW_EXECUTOR says CeleryExecutor.
        assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
        assert urlparse(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
        assert urlparse(env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+")).hostname == "postgres"
        assert urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).hostname == "airflow-apiserver"
        assert _expand(env["AIRFLOW__API_AUTH__JWT_SECRET"])  # one secret for every component
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        assert not env.get("_PIP_ADDITIONAL_REQUIREMENTS"), "packages come from the image build, pinned"


def test_the_celery_profile_runs_mwaas_executor(services):
    """`AIRFLOW_EXECUTOR=CeleryExecutor docker compose --profile celery up`: a Redis broker and two
    Celery workers beside the LocalExecutor stack, which starts as before without the profile."""
    assert {n for n, s in services.items() if s.get("profiles")} == CELERY_PROFILE
    for name in CELERY_PROFILE:
        assert services[name]["profiles"] == ["celery"], name
    redis = services["redis"]
    assert re.fullmatch(r"redis:\d+\.\d+[\w.-]*", redis["image"]), redis["image"]  # a pinned tag
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "6379" in [str(p) for p in redis["expose"]]
    assert urlparse(_environment(services["airflow-scheduler"])["AIRFLOW__CELERY__BROKER_URL"]).port == 6379

    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker" and worker["deploy"]["replicas"] >= 2
    assert worker["restart"] == "always"
    assert _depends_on(worker)["redis"]["condition"] == "service_healthy"
    assert "inspect ping" in " ".join(worker["healthcheck"]["test"])
    assert "airflow.providers.celery.executors.celery_executor.app" in " ".join(worker["healthcheck"]["test"])
    env = _environment(worker)
    assert env["DUMB_INIT_SETSID"] == "0"  # a stop lets the worker finish its tasks
    assert int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) >= 1
    # The worker runs tasks: the same settings as the scheduler (secrets, connection, DR_*) and mounts.
    scheduler_env = _environment(services["airflow-scheduler"])
    assert {k: v for k, v in env.items() if k in scheduler_env} == scheduler_env
    assert _mounts(worker) == _mounts(services["airflow-scheduler"])
    # The how-to at the top of the file names both switches.
    header = COMPOSE_FILE.read_text().split("---", 1)[0]
    assert "AIRFLOW_EXECUTOR=CeleryExecutor" in header and "--profile celery" in header


def test_services_and_dependencies_are_consistent(services, compose):
    for name, service in services.items():
        for dependency, spec in _depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            condition = spec.get("condition", "service_started")
            assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency} to be healthy"
            if condition == "service_completed_successfully":
                assert dependency == "airflow-init"
    for name in LONG_RUNNING:
        deps = _depends_on(services[name])
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert services[name].get("restart") == "always"
    for name in ("airflow-scheduler", "airflow-triggerer", "airflow-worker"):  # they make the AWS calls
        assert _depends_on(services[name])["awssim"]["condition"] == "service_healthy"
    # No dependency cycle: every service can be started after its dependencies.
    started: set[str] = set()
    while len(started) < len(services):
        ready = {n for n, s in services.items() if n not in started and set(_depends_on(s)) <= started}
        assert ready, f"dependency cycle among {set(services) - started}"
        started |= ready
    named = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source, _ in _mounts(service):
            if not source.startswith((".", "/")):
                assert source in named, f"{name} mounts undeclared volume {source}"


def test_images_and_packages_match_the_pins(services):
    airflow_version = REQUIREMENTS["apache-airflow"]
    builds = {}
    for name, service in services.items():
        if "build" in service:
            dockerfile, target = _build(service)
            assert dockerfile.is_file(), dockerfile
            builds[name] = (dockerfile, target)
    stages = {path: _stages(path) for path, _ in builds.values()}

    for name in AIRFLOW_CONTAINERS:
        dockerfile, target = builds[name]
        stage = stages[dockerfile][target]
        assert stage["image"] == f"apache/airflow:{airflow_version}-python3.12"  # MWAA's newest: 3.3.1, Python 3.12
        assert services[name]["image"].endswith(f":{airflow_version}")
        # requirements.txt (apache-airflow, providers, pydantic, ...) installed as it is, on top of the image.
        copied = {src: dst for src, dst in (c.split()[-2:] for c in stage["copy"])}
        assert "requirements.txt" in copied
        assert any(f"-r {copied['requirements.txt']}" in run and "pip install" in run for run in stage["run"])

    # requirements.txt pins the Airflow MWAA runs and its providers, and agrees with the full lock.
    assert airflow_version == "3.3.1"
    assert REQUIREMENTS["apache-airflow-providers-amazon"] == "9.34.0"
    assert REQUIREMENTS["apache-airflow-providers-standard"] == "1.17.0"
    for name, version in REQUIREMENTS.items():
        assert CONSTRAINTS.get(name) == version, f"{name}: requirements.txt {version}, constraints.txt {CONSTRAINTS.get(name)}"

    # The simulator image: package names only, versions from constraints.txt (moto as in requirements-dev.txt).
    dockerfile, target = builds["awssim"]
    stage = stages[dockerfile][target]
    assert stage["image"].startswith("python:3.11")  # the interpreter constraints.txt was locked on
    assert any(c.split()[:-1] == ["constraints.txt"] for c in stage["copy"])
    (install,) = [run for run in stage["run"] if "pip install" in run]
    assert re.search(r"(-c|--constraint)\s+\S*constraints\.txt", install)
    packages = [w.strip("\"'") for w in install.split("pip install", 1)[1].split() if not w.startswith("-")]
    packages = [p for p in packages if not p.endswith("constraints.txt")]
    assert "moto[server]" in packages
    for package in packages:
        assert "==" not in package and _norm(package) in CONSTRAINTS, f"{package} not pinned by constraints.txt"
    assert CONSTRAINTS["moto"] == DEV_REQUIREMENTS["moto"]
    assert services["awssim"]["image"].endswith(f":{CONSTRAINTS['moto']}")

    for name, service in services.items():
        if "build" not in service:
            image = service["image"]
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag ({image})"


def test_every_mounted_host_path_exists(services):
    for name, service in services.items():
        for source, target in _mounts(service):
            if source.startswith((".", "/")):
                path = (ROOT / source).resolve()
                assert path.exists(), f"{name} mounts {source}, which is not in the repository"
                assert path == ROOT or ROOT in path.parents, f"{name} mounts {source} from outside the repository"
    for name in AIRFLOW_CONTAINERS:
        mounts = dict((target, source) for source, target in _mounts(services[name]))
        assert mounts["/opt/airflow/dags"] == "./dags"
        assert mounts["/opt/airflow/plugins"] == "./plugins"
        assert mounts["/opt/airflow/include"] == "./include"
    # The simulator sees simulator/, plugins/ and include/ side by side, as in the repository:
    # awssim.seed finds the demo manifest at <repo>/include/manifests.
    mounts = dict((target, source) for source, target in _mounts(services["awssim"]))
    assert {mounts["/opt/dr/simulator"], mounts["/opt/dr/plugins"], mounts["/opt/dr/include"]} == {
        "./simulator", "./plugins", "./include"}
    assert (ROOT / "include" / "manifests" / "acme-production.yaml").is_file()
    pythonpath = _environment(services["awssim"])["PYTHONPATH"].split(":")
    assert {"/opt/dr/simulator", "/opt/dr/plugins"} <= set(pythonpath)


def test_airflow_is_pointed_at_the_seeded_simulator(services):
    command = services["awssim"]["command"]
    assert command[:4] == ["python", "-m", "awssim", "serve"]
    args = dict(zip(command[4::2], command[5::2]))
    assert args["--host"] == "0.0.0.0" and args["--seed"] == "demo"  # reachable from the other containers
    for name in AIRFLOW_CONTAINERS:
        env = _environment(services[name])
        conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
        endpoint = urlparse(conn["extra"]["endpoint_url"])
        assert conn["conn_type"] == "aws" and conn["extra"]["region_name"]
        assert (endpoint.hostname, endpoint.port) == ("awssim", int(args["--port"]))
        assert env["DR_WAIT_POLL_SECONDS"] == "1"
        manifest_dir = Path(env["DR_MANIFEST_DIR"])
        mounts = dict((target, source) for source, target in _mounts(services[name]))
        assert manifest_dir.is_relative_to("/opt/airflow/include")
        assert (ROOT / mounts["/opt/airflow/include"] / manifest_dir.relative_to("/opt/airflow/include")
                / "acme-production.yaml").is_file()
    # The command line the service runs exists, with those options.
    help_text = subprocess.run(
        [sys.executable, "-m", "awssim", "serve", "--help"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "simulator"), str(ROOT / "plugins")])},
    ).stdout
    for option in args:
        assert option in help_text, option


def test_build_context_sends_what_the_dockerfile_copies():
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"  # nothing else (.venv, .git, Airflow homes) goes to the engine
    kept = {line[1:] for line in ignore if line.startswith("!")}
    for stage in _stages(ROOT / "deploy" / "Dockerfile").values():
        for copy in stage["copy"]:
            for source in copy.split()[:-1]:
                if not source.startswith("--"):
                    assert source in kept and (ROOT / source).is_file(), source


def _compose_cli() -> list[str] | None:
    """A Compose v2 CLI: the docker plugin, or the standalone docker-compose binary."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    for standalone in (shutil.which("docker-compose"), Path(sys.executable).parent / "docker-compose"):
        if standalone and Path(standalone).is_file():
            candidates.append([str(standalone)])
    for cli in candidates:
        try:
            version = subprocess.run([*cli, "version", "--short"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if version.returncode == 0 and re.match(r"v?2\.", version.stdout.strip()):
            return cli
    return None


def test_docker_compose_config_validates_the_file():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no Docker Compose v2 CLI here (neither `docker compose` nor `docker-compose`): "
                    "`docker compose config` not run; the structural checks above still apply")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    proc = subprocess.run([*cli, "-f", str(COMPOSE_FILE), "config", "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(subprocess.run([*cli, "-f", str(COMPOSE_FILE), "config"], cwd=ROOT, env=env,
                                             capture_output=True, text=True, timeout=60, check=True).stdout)
    assert AIRFLOW_SERVICES | {"postgres", "awssim"} <= set(resolved["services"])
    assert not CELERY_PROFILE & set(resolved["services"])  # only with the profile
    celery = yaml.safe_load(subprocess.run([*cli, "-f", str(COMPOSE_FILE), "--profile", "celery", "config"], cwd=ROOT,
                                           env={**env, "AIRFLOW_EXECUTOR": "CeleryExecutor"}, capture_output=True,
                                           text=True, timeout=60, check=True).stdout)
    assert AIRFLOW_SERVICES | CELERY_PROFILE <= set(celery["services"])
    assert celery["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
