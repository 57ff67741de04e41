"""A scheduler crash mid-run: the run completes, and no mutating AWS call is made twice.

Under ``airflow standalone`` a failover runs (``approval_mode: automatic``: no person in the loop).
Once wave 1 has changed the estate and while a task of wave 2 is running, the scheduler crashes:
its process (found by its pid among standalone's children: ``airflow scheduler``) is killed with
SIGKILL together with everything it started, as the loss of its container would do: the
LocalExecutor's workers and the task processes they run, whatever AWS calls those were making. A
new ``airflow scheduler`` starts a few seconds later with the same environment; it resets the task
instances the dead scheduler had queued or was running (Airflow's orphaned-task adoption: their
attempts start again) and drives the run to the end. The adapters converge, so the re-run attempts
find their work done or in flight and do not repeat it.

Counted on the simulator's side (moto's request recorder, every HTTP request the simulator
received): each mutating request is unique (same operation, region, path and body never twice),
and there are exactly the expected StartRecovery, global-cluster switchover and DNS change calls.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import time
from collections import Counter
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
import psutil
import pytest
import requests
from aws_calls import is_mutating
from runs import outcomes
from standalone import DAG_ID, VENV_BIN, Process, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CONF = {"operation": "failover", "confirm": "acme/production", "approval_mode": "automatic"}
RUN_ID = "e2e-scheduler-crash"
DOWNTIME_SECONDS = 5
# The restarted scheduler looks for the dead one's task instances every 5 s, and declares a
# scheduler dead 10 s after its last heartbeat (defaults: 300 s and 30 s), so the test is quick.
RESTART_SETTINGS = {
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
}
# The demo estate's failover: one StartRecovery per account's DRS unit (8 hub + 4 spoke servers),
# one switchover per Aurora global database, one UPSERT per DNS record.
EXPECTED = {"drs:StartRecovery": 2, "rds:SwitchoverGlobalCluster": 2, "route53:ChangeResourceRecordSets": 3,
            "drs:ReverseReplication": 12}
SERVICES = ("drs", "route53", "lambda", "s3", "ecs", "rds", "ec2", "sts", "sns", "cloudwatch",
            "resource-explorer-2", "resourcegroupstaggingapi",  # the tag search of preflight (unprotected check)
            "iam", "kms",  # preflight's prerequisites: the roles and keys a phase will use (reads)
            "service-quotas")  # preflight's capacity check: quotas (reads)


# -- what the simulator received --------------------------------------------------------------
@cache
def _models() -> dict[str, Any]:
    """Service models by signing name (what the request's credential scope names)."""
    session = botocore.session.get_session()
    return {m.signing_name: m for m in (session.get_service_model(s) for s in SERVICES)}


def _rest_operation(model: Any, method: str, path: str, query: dict[str, list[str]]) -> str | None:
    """The operation whose HTTP binding matches (the most literal match wins)."""
    best, best_score = None, -1
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method") != method:
            continue
        uri, _, required = http["requestUri"].partition("?")
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(uri))
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        if not re.fullmatch(pattern.rstrip("/") + "/?", path):
            continue
        if required and not all(p.split("=")[0] in query for p in required.split("&")):
            continue
        score = len(re.sub(r"\{[^}]+\}", "", uri)) + (100 if required else 0)
        if score > best_score:
            best, best_score = name, score
    return best


def classify(entry: dict[str, Any]) -> tuple[str, str, str] | None:
    """(IAM-style ``service:Operation``, region, identity of the change) of one recorded request."""
    auth = entry["headers"].get("Authorization", "")
    scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request", auth)
    if not scope:
        return None  # the moto API itself, unsigned
    region, signing_name = scope.groups()
    model = _models().get(signing_name)
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    url = urlsplit(entry["url"])
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    if "x-amz-target" in headers:
        operation = headers["x-amz-target"].rsplit(".", 1)[-1]
    elif match := re.fullmatch(r"/service/[^/]+/operation/(\w+)", url.path):
        operation = match.group(1)  # smithy rpc-v2-cbor (CloudWatch)
    elif "Action=" in body and model is not None and model.protocol in ("query", "ec2"):
        operation = parse_qs(body)["Action"][0]
    elif model is not None:
        operation = _rest_operation(model, entry["method"], url.path, parse_qs(url.query)) or "?"
    else:
        operation = "?"
    service = model.service_name.replace("-", "") if model else signing_name
    # The same change twice: same operation, region, path and body (request ids and dates differ).
    identity = f"{entry['method']} {url.path}?{url.query} {body}"
    return f"{service}:{operation}", region, identity



def recorded_calls(sim_url: str) -> list[tuple[str, str, str]]:
    text = requests.get(f"{sim_url}/moto-api/recorder/download-recording", timeout=30).text
    return [c for line in text.splitlines() if line.strip() and (c := classify(json.loads(line)))]


# -- the scheduler --------------------------------------------------------------------------------
def standalone_scheduler(stack) -> psutil.Process:
    """``airflow scheduler``: a direct child of the standalone process (its executor's workers are
    the scheduler's own children)."""
    parent = psutil.Process(stack.airflow.process.popen.pid)
    found = [c for c in parent.children() if c.cmdline()[-1:] == ["scheduler"] and "airflow" in " ".join(c.cmdline())]
    assert len(found) == 1, [c.cmdline() for c in parent.children()]
    return found[0]


def dead(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_run_completes_without_duplicate_calls_after_the_scheduler_is_killed(stack):
    api, sim = stack.api, stack.sim
    # A fresh estate, with moto's request recorder writing into the test's own folder.
    sim.env["MOTO_RECORDER_FILEPATH"] = str(stack.work / "moto-recording.jsonl")
    sim.reseed()
    stack.estate_used = True
    requests.post(f"{sim.url}/moto-api/recorder/reset-recording", timeout=10).raise_for_status()
    requests.post(f"{sim.url}/moto-api/recorder/start-recording", timeout=10).raise_for_status()

    api.unpause()
    api.trigger(RUN_ID, CONF)
    stack.note(f"{RUN_ID}: triggered")

    # Mid-run: wave 1 has changed the estate and a task of wave 2 is running.
    def wave_2_running() -> list[str]:
        states = api.task_states(RUN_ID)
        assert not [k for k, v in states.items() if v in ("failed", "upstream_failed")], states
        return [f"{task}[{index}]" for (task, index), state in states.items()
                if task.startswith("wave_2.") and state == "running"]

    running = wait_for("a task of wave 2 to run", wave_2_running, timeout=300, interval=0.3)
    scheduler = standalone_scheduler(stack)
    environment = scheduler.environ()
    crashed = [scheduler, *scheduler.children(recursive=True)]
    for process in crashed:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    # Dead: zombies until standalone (the scheduler's parent, busy reading the pipe the killed
    # processes held) or init reaps them.
    wait_for("the scheduler and its task processes to die", lambda: all(dead(p) for p in crashed),
             timeout=30, interval=0.2)
    states_at_crash = api.task_states(RUN_ID)
    calls_at_crash = [c for c, _, _ in recorded_calls(sim.url) if is_mutating(c)]
    stack.note(f"{RUN_ID}: scheduler {scheduler.pid} and {len(crashed) - 1} process(es) it started killed while "
               f"{running} ran; mutating calls so far: {dict(Counter(calls_at_crash))}")
    assert api.run(RUN_ID)["state"] == "running"
    assert "rds:SwitchoverGlobalCluster" in calls_at_crash, "the crash comes after wave 1 changed something"
    assert "route53:ChangeResourceRecordSets" not in calls_at_crash, "and before wave 3"
    assert [k for k, v in states_at_crash.items() if v is None or v in ("scheduled", "none")], "work is left to do"

    time.sleep(DOWNTIME_SECONDS)
    restarted = Process("scheduler (restarted)", [str(VENV_BIN / "airflow"), "scheduler"],
                        {**environment, **RESTART_SETTINGS}, stack.logs / "scheduler-restarted.log",
                        cwd=stack.airflow.home)
    try:
        restarted.start()
        stack.note(f"{RUN_ID}: scheduler restarted as {restarted.popen.pid}")
        run = wait_for(f"{RUN_ID} to finish", lambda: (r := api.run(RUN_ID))["state"] in ("success", "failed") and r,
                       timeout=480, interval=3, describe=lambda: json.dumps(
                           {f"{t}[{i}]": s for (t, i), s in sorted(api.task_states(RUN_ID).items())}))
        states = api.task_states(RUN_ID)
        assert run["state"] == "success", states
        assert outcomes(states) == {"success"}, states
    finally:
        restarted.stop()

    calls = recorded_calls(sim.url)
    mutating = [(c, region, identity) for c, region, identity in calls if is_mutating(c)]
    counts = Counter(c for c, _, _ in mutating)
    stack.note(f"{RUN_ID}: mutating calls {dict(counts)}")
    assert "?" not in " ".join(counts), f"unclassified requests: {counts}"
    repeated = {k: n for k, n in Counter(mutating).items() if n > 1}
    assert not repeated, f"mutating calls made more than once: {repeated}"
    assert {call: counts[call] for call in EXPECTED} == EXPECTED, dict(counts)
    tis = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances", params={"limit": 500})["task_instances"]
    retried = sorted(f"{ti['task_id']}[{ti['map_index']}] try {ti['try_number']}" for ti in tis if ti["try_number"] > 1)
    stack.note(f"{RUN_ID}: task instances run again after the crash: {retried}")
    assert retried, "the crash interrupted a running task: it must have run again"
