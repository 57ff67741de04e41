"""Who did what in a run (FR-6.3, NFR-3.2): who triggered it, who may answer its gates, and what
Airflow's audit log says about the actions that leave no answer of their own.

* **Who triggered**: the DagRun's ``triggering_user_name`` (``None`` for a scheduled drill).
* **Who may approve**: the manifest's ``approvers`` become each gate's allowed respondents (HITL
  ``assigned_users``: the REST endpoint and the UI refuse anyone else with 403), less the person who
  triggered the run when ``separationOfDuties`` is set. The gate checks again when an answer arrives
  (an auth manager may let every admin answer anything): a refused answer is recorded, the request
  is opened again, and the gate keeps waiting.
* **Marked success / run cancelled**: Airflow records no name on the task instance for either; its
  audit log does (``patch_task_instance``, ``patch_dag_run``, with the user as ``owner``). A worker
  cannot read the metadata database in Airflow 3, so the report asks Airflow's REST API
  (``GET /api/v2/eventLogs``) through the Airflow connection ``DR_AIRFLOW_API_CONN_ID`` (default
  ``airflow_api``): an HTTP connection to the API server with a user allowed to read the audit log
  (``http://user:password@host:port``; ``extra.base_url`` overrides the URL), or on MWAA an AWS
  connection whose ``extra.mwaa_environment`` names the environment (``mwaa:InvokeRestApi``). Without
  that connection the report says so and names the REST call that gives the answer.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dr_adapters.plan.model import Plan
from dr_adapters.report.records import GateRecord, ManualStepRecord, TaskRecord

log = logging.getLogger(__name__)

API_CONN_ENV = "DR_AIRFLOW_API_CONN_ID"
DEFAULT_API_CONN_ID = "airflow_api"
# The public API's events for the overrides we look for (the UI calls the same endpoints).
MARK_TASK_EVENTS = ("patch_task_instance", "patch_task_instance_by_map_index")
MARK_RUN_EVENT = "patch_dag_run"


def triggered_by(context: Any) -> str | None:
    """Who triggered this run (Airflow's ``triggering_user_name``); None for a scheduled run."""
    return getattr(context["dag_run"], "triggering_user_name", None) or None


def run_type(context: Any) -> str | None:
    """How the run started: ``manual`` (triggered by a person or a script), ``scheduled`` (a drill), ..."""
    kind = getattr(context["dag_run"], "run_type", None)
    return str(getattr(kind, "value", kind)) if kind else None


def allowed_respondents(plan: Plan, triggerer: str | None) -> list[str] | None:
    """The user ids who may answer a gate of this run, or None: whoever Airflow's permissions let."""
    if not plan.approvers:
        return None
    return [a for a in plan.approvers if not (plan.separation_of_duties and a == triggerer)]


def refusal(plan: Plan, triggerer: str | None, user: dict[str, Any] | str | None) -> str | None:
    """Why this respondent may not answer a gate of this run, or None when they may."""
    ids = {str(v) for v in ((user.get("id"), user.get("name")) if isinstance(user, dict) else (user,)) if v}
    if not ids:
        return None  # an answer with no user (Airflow's own timeout default): not a person's approval
    if plan.separation_of_duties and triggerer and triggerer in ids:
        return f"{triggerer} triggered this run and may not approve it (separationOfDuties)"
    allowed = allowed_respondents(plan, triggerer)
    if allowed is not None and not ids & set(allowed):
        return f"{'/'.join(sorted(ids))} is not among the manifest's approvers ({', '.join(allowed)})"
    return None


def audit_log_call(dag_id: str, run_id: str) -> str:
    """The REST call that lists who changed what in a run (for a person, when the report cannot ask)."""
    return f"GET /api/v2/eventLogs?dag_id={dag_id}&run_id={run_id}"


def read_audit_log(dag_id: str, run_id: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The run's audit-log entries (oldest first) from Airflow's REST API: (entries, None), or
    (None, why not). Never raises: the report is written whatever the API says."""
    conn_id = os.environ.get(API_CONN_ENV) or DEFAULT_API_CONN_ID
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - not configured: the report says how to find out instead
        return None, (f"no Airflow connection {conn_id!r} to read the audit log ({type(exc).__name__}); "
                      f"{audit_log_call(dag_id, run_id)} names who")
    query = {"dag_id": dag_id, "run_id": run_id, "order_by": "when", "limit": 500}
    try:
        extra = conn.extra_dejson or {}
        if extra.get("mwaa_environment"):
            body = _mwaa_get(conn_id, extra["mwaa_environment"], "/eventLogs", query)
        else:
            body = _http_get(conn, extra, "/api/v2/eventLogs", query)
        return list(body.get("event_logs") or []), None
    except Exception as exc:  # noqa: BLE001 - the API may be busy or refuse: say so, never fail the report
        log.warning("cannot read Airflow's audit log through %s", conn_id, exc_info=True)
        return None, (f"could not read the audit log through {conn_id!r} ({type(exc).__name__}: {exc}); "
                      f"{audit_log_call(dag_id, run_id)} names who")


def _base_url(conn: Any, extra: dict[str, Any]) -> str:
    if extra.get("base_url"):
        return str(extra["base_url"]).rstrip("/")
    host = conn.host or "localhost"
    if "://" in host:
        return host.rstrip("/")
    scheme = "https" if (conn.conn_type or "").lower() == "https" else "http"
    return f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"


def _http_get(conn: Any, extra: dict[str, Any], path: str, query: dict[str, Any]) -> dict[str, Any]:
    """GET on the API server with a JWT from ``POST /auth/token`` (the auth manager's login)."""
    import requests

    base = _base_url(conn, extra)
    with requests.Session() as http:
        token = http.post(f"{base}/auth/token", json={"username": conn.login, "password": conn.password},
                          timeout=15)
        token.raise_for_status()
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        response = http.get(f"{base}{path}", params=query, timeout=15)
        response.raise_for_status()
        return response.json()


def _mwaa_get(conn_id: str, environment: str, path: str, query: dict[str, Any]) -> dict[str, Any]:
    """On MWAA, the REST API through ``mwaa:InvokeRestApi`` with the connection's AWS credentials."""
    from airflow.providers.amazon.aws.hooks.mwaa import MwaaHook

    answer = MwaaHook(aws_conn_id=conn_id).invoke_rest_api(env_name=environment, path=path, method="GET",
                                                           query_params=query)
    return answer.get("RestApiResponse") or {}


def _extra(entry: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(entry.get("extra") or "{}")
    except (TypeError, ValueError):
        return {}


def marked(entries: list[dict[str, Any]], task_id: str, state: str) -> dict[str, Any] | None:
    """The last audit entry setting ``task_id`` of the run to ``state`` (``{"by", "at"}``), or None."""
    found = None
    for e in entries:
        if e.get("event") in MARK_TASK_EVENTS and e.get("task_id") == task_id \
                and _extra(e).get("new_state") == state:
            found = {"by": e.get("owner"), "at": e.get("when")}
    return found


def run_marked_failed(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last audit entry marking the run failed (a person cancelling it), or None."""
    found = None
    for e in entries:
        if e.get("event") == MARK_RUN_EVENT and _extra(e).get("state") == "failed":
            found = {"by": e.get("owner"), "at": e.get("when")}
    return found


@dataclass
class RunReview:
    """What the report adds about people: whether (and by whom) the run was cancelled, and why the
    audit log could not be read when it was needed."""

    cancelled: dict[str, Any] | None = None
    audit_problem: str | None = None
    preflight_override: dict[str, Any] | None = None  # {"by", "at"}: a failed preflight marked success


def _iso(value: Any) -> str | None:
    """The audit log's ``when`` ("...Z") as the records' ISO 8601 ("...+00:00")."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).isoformat()
    except ValueError:
        return str(value)


def review_run(dag_id: str, run_id: str, by_instance: dict[tuple[str, int], str], states: dict[str, str],
               records: list[TaskRecord], gates: list[GateRecord], manual: list[ManualStepRecord], *,
               phase_tasks: list[str], never_started: list[str], since: str | None = None,
               preflight_overridden: bool = False) -> RunReview:
    """Name who did what leaves no name in the records, from Airflow's audit log, and find a cancel.

    A run a person marks failed ends its running tasks as failed (a gate or manual step that still
    waited, a phase task still working or waiting on AWS: *stopped*) and skips those not started
    (``never_started``). Gates, manual steps marked success, and those stopped, are given the name and
    time the audit log has for them. Mutates the gate and manual-step records in place. ``since``: when the
    run (last) started; a cancel before it was undone by the clear that resumed the run.
    ``preflight_overridden``: preflight found problems and yet succeeded, so a person marked it success
    (the runbook's override of a failed preflight): who and when."""
    failed_records = Counter(r.task for r in records if r.outcome == "failed")
    failed_instances = Counter(t for (t, _), s in by_instance.items() if s == "failed" and t in set(phase_tasks))
    stopped = sorted(t for t, n in failed_instances.items() if n > failed_records[t])
    waiting_gates = [g for g in gates if g.decision == "waiting" and states.get(g.task) in ("success", "failed")]
    stopped += [g.task for g in waiting_gates if states.get(g.task) == "failed"]
    overridden = [m for m in manual if m.decision in ("marked success (manual override)",
                                                      "marked failed (manual override)") and not m.responded_by]
    stopped += [m.task for m in overridden if m.outcome == "failed"]
    unnamed = [g for g in gates if g.decision == "marked success (manual override)" and not g.responded_by]
    review = RunReview()
    entries: list[dict[str, Any]] = []
    if waiting_gates or overridden or unnamed or never_started or stopped or preflight_overridden:
        found, review.audit_problem = read_audit_log(dag_id, run_id)
        entries = found or []
    if preflight_overridden:
        mark = marked(entries, "preflight", "success") or {"by": None, "at": None}
        review.preflight_override = {"by": mark["by"], "at": _iso(mark["at"])}
    cancel = run_marked_failed(entries)
    if cancel and since and (_iso(cancel["at"]) or "") < (_iso(since) or ""):
        cancel = None  # an earlier cancel, then a clear: this run went on after it
    if never_started or cancel:
        review.cancelled = {"by": cancel["by"] if cancel else None, "at": _iso(cancel["at"]) if cancel else None,
                            "stopped": sorted(set(stopped)), "not_run": never_started}
    by_cancel = {"by": review.cancelled["by"], "at": review.cancelled["at"]} if review.cancelled else None
    for g in [*waiting_gates, *unnamed]:
        succeeded = states.get(g.task) == "success"
        mark = marked(entries, g.task, "success" if succeeded else "failed")
        if not succeeded and review.cancelled and not mark:
            g.decision, g.error, mark = "stopped (the run was cancelled)", "the run was cancelled while it waited", by_cancel
        elif not succeeded:
            g.decision, g.error = "marked failed (manual override)", "marked failed while it waited"
        if mark:
            g.responded_by, g.responded_at = mark["by"], _iso(mark["at"]) or g.responded_at
    for m in overridden:
        mark = marked(entries, m.task, "success" if m.outcome == "succeeded" else "failed")
        if m.outcome == "failed" and review.cancelled and not mark:
            m.decision, m.error, mark = "stopped (the run was cancelled)", f"the run was cancelled while '{m.title}' waited", by_cancel
        if mark:
            m.responded_by, m.responded_at = mark["by"], _iso(mark["at"]) or m.responded_at
    return review
