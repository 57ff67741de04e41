"""A wave's validation waits for health (FR-3.3), through Airflow (dag.test, its trigger run in line) against
the simulator server, with each resource's ``healthCheckUrl`` served by a small HTTP server of the test.

In one failover: a resource of wave 1 whose URL answers 503 until 30 s after it is first asked, then 200,
passes validation (re-checked in the triggerer, no worker slot held) and the run goes on; a resource of
wave 2 whose URL never answers 200 fails its validation once the layer's ``validationTimeoutMinutes`` has
run out, and that blocks wave 3: its DNS records are left as they were (read back from the simulator).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from awssim.snapshot import serving_roles

from dag_run_helpers import CONFIRM, report_of, run, xcom_of

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]
HEALTHY_AFTER = 30.0  # seconds after the first check
WAVE_2_TIMEOUT_MINUTES = 0.25


class HealthEndpoints:
    """``/late`` answers 503 until HEALTHY_AFTER seconds after its first request, then 200; ``/never`` 503."""

    def __init__(self) -> None:
        self.asked: dict[str, list[tuple[float, int]]] = {"/late": [], "/never": []}
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                asked = endpoints.asked.setdefault(self.path, [])
                first = asked[0][0] if asked else time.monotonic()
                status = 200 if self.path == "/late" and time.monotonic() - first >= HEALTHY_AFTER else 503
                asked.append((time.monotonic(), status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def endpoints():
    served = HealthEndpoints()
    yield served
    served.httpd.shutdown()


@pytest.fixture
def manifests(estate, endpoints, tmp_path):
    """The demo manifest, wave 1's first resource checked at /late, wave 2's first at /never with a short timeout."""
    data = yaml.safe_load((ROOT / "include" / "manifests" / "acme-production.yaml").read_text())
    first, second = sorted(data["layers"], key=lambda layer: layer["priority"])[:2]
    first["resources"][0]["healthCheckUrl"] = f"{endpoints.url}/late"
    second["resources"][0]["healthCheckUrl"] = f"{endpoints.url}/never"
    second["validationTimeoutMinutes"] = WAVE_2_TIMEOUT_MINUTES
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "estate.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder, first["resources"][0]["resourceId"], second["resources"][0]["resourceId"]


def validate_of(dag_run, wave: int, resource_id: str):
    """(state, record) of the map index of ``wave_<wave>.validate`` that checked ``resource_id``."""
    for ti in dag_run.get_task_instances():
        if ti.task_id == f"wave_{wave}.validate":
            record = xcom_of(dag_run, ti.task_id, "record", ti.map_index)
            if record and resource_id in record["resource_ids"]:
                return ti.state, record
    raise AssertionError(f"no validation of {resource_id} in wave {wave}")


def seconds(record) -> float:
    return (datetime.fromisoformat(record["ended_at"]) - datetime.fromisoformat(record["started_at"])).total_seconds()


def test_validation_waits_for_a_late_resource_and_a_never_healthy_one_blocks_the_next_wave(
        estate, endpoints, manifests, monkeypatch):
    from dr_adapters.orchestration.factory import build_dags
    from dr_adapters.sources.loader import load_manifest
    from dr_adapters.sources.planner import build_plan

    folder, late, never = manifests
    plan = build_plan(load_manifest(folder / "estate.yaml"))
    _, sessions = estate
    before = serving_roles(plan, sessions)
    monkeypatch.setenv("DR_HEALTH_POLL_SECONDS", "2")

    (dag,) = build_dags(folder).values()
    dag_run, states = run(dag, {"operation": "failover", "confirm": CONFIRM, "approval_mode": "automatic"})

    # Wave 1: the late resource is re-checked until its URL answers 200, then the wave passes.
    state, record = validate_of(dag_run, 1, late)
    assert state == "success", states
    url_check = [c for c in record["health"] if c["reason"].startswith(endpoints.url)]
    assert url_check == [{"resource_id": late, "status": "HEALTHY", "reason": f"{endpoints.url}/late answered HTTP 200"}]
    assert record["rounds"] >= 3 and seconds(record) >= HEALTHY_AFTER - 1, record
    assert [s for _, s in endpoints.asked["/late"]][0] == 503 and endpoints.asked["/late"][-1][1] == 200
    assert all(s == "success" for (task, _), s in states.items() if task.startswith("wave_1.")), states
    assert states[("approve_wave_2", -1)] == "success"

    # Wave 2: the resource that never answers 200 fails its validation after the layer's timeout, not before.
    state, record = validate_of(dag_run, 2, never)
    assert state == "failed" and record["outcome"] == "failed", record
    assert seconds(record) >= WAVE_2_TIMEOUT_MINUTES * 60 - 1 and len(endpoints.asked["/never"]) >= 3
    assert f"{never} UNHEALTHY: {endpoints.url}/never answered HTTP 503" in record["error"]
    assert f"not every resource HEALTHY after {WAVE_2_TIMEOUT_MINUTES:g} min" in record["notes"][-1]
    others = [s for (task, _), s in states.items() if task == "wave_2.validate"]
    assert sorted(others) == ["failed"] + ["success"] * (len(others) - 1)  # its siblings passed

    # ... and blocks the waves after it: nothing after wave 2 ran; their resources are where they were.
    later = plan.waves[2:]
    assert later, "the estate needs a third wave to show it blocked"
    assert str(dag_run.state) == "failed"
    assert states[(f"approve_wave_{later[0].number}", -1)] == "upstream_failed"
    assert {s for (task, _), s in states.items()
            if task.startswith(tuple(f"wave_{w.number}." for w in later))} == {"upstream_failed"}
    after = serving_roles(plan, sessions)
    untouched = [r for w in later for r in w.resource_ids]
    assert {r: after[r] for r in untouched} == {r: before[r] for r in untouched}
    assert after[late] != before[late]  # wave 1 did move
    (failure,) = report_of(dag_run)["failures"]
    assert failure["task"] == "wave_2.validate" and never in failure["resources"]
