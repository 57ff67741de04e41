"""The report as text for people, and where it is kept (S3 when configured, else a local folder)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:8.1f}s"


def _unplanned_lines(report: dict[str, Any]) -> list[str]:
    if report.get("failover_mode") != "unplanned":
        return []
    lines = ["failover mode: UNPLANNED (the region being left was dark: no call went to it)"]
    for d in report["deferred"]:
        lines.append(f"  deferred: {d['phase']} in {d['region']}, until {d['until']} -- {d['how']}")
    if report["data_loss_exposure"]:
        lines.append("  data-loss exposure (last known replication point):")
        lines += [f"    {e['resource_id']}: {e['exposure']}" for e in report["data_loss_exposure"]]
    return lines


def _capacity_lines(report: dict[str, Any]) -> list[str]:
    quotas = report["preflight"].get("capacity") or []
    lines = ["capacity (quotas this run consumes):"] if quotas else []
    for q in quotas:
        if q.get("value") is None:  # could not be read: the message says why
            lines.append(f"  {q['level']:<8} {q['message']}")
            continue
        where = f"{q['region']} {'account ' + q['account_id'] if q.get('account_id') else 'hub account'}"
        code = f"{q['service_code']} {q['quota_code']}" if q.get("quota_code") else "AWS limit"
        share = "-" if q.get("percent") is None else f"{q['percent']:.0f} %"
        lines.append(f"  {q['level']:<8} {q['name']} ({code}), {where}: {q['needed']:g} needed + {q['in_use']:g} "
                     f"in use of {q['value']:g} {q['unit']} ({share})")
    return lines


def _guard_lines(report: dict[str, Any]) -> list[str]:
    """A drill that gave way to a failover, or a failover that made a drill give way."""
    lines = []
    if report.get("preempted"):
        p = report["preempted"]
        lines.append(f"PREEMPTED: {p['message']}")
        lines += [f"  stopped: {t}" for t in p["stopped"]]
        lines += [f"  cleaned up {c['unit_id']} ({', '.join(c['resources'])}): {c['outcome']}, "
                  f"{', '.join(c['changes']) or 'nothing left to remove'}" for c in p["cleaned_up"]]
    if report.get("stood_down"):
        lines.append(f"DID NOT START: {report['stood_down']}")
    for d in report.get("preempted_drills") or []:
        lines.append(f"{d['message']} (asked at {d['requested_at']}, drill run ended {d['drill_state']})")
    return lines


def _manual_step_lines(report: dict[str, Any]) -> list[str]:
    steps = report.get("manual_steps") or []
    lines = ["manual steps:"] if steps else []
    for m in steps:
        who = f" by {m['by']}" if m["by"] else ""
        when = f" at {m['responded_at']}" if m["responded_at"] else ""
        alerts = f" ({m['overdue_alerts']} overdue alert(s))" if m["overdue_alerts"] else ""
        lines.append(f"  wave {m['wave']} after {m['phase']:<11} {m['title']}: {m['outcome']}{who}{when}, "
                     f"waited {m['waited_seconds']:.1f}s{alerts}")
    return lines


def _attempt_lines(attempts: list[dict[str, Any]]) -> list[str]:
    lines = []
    for a in attempts:
        unit = f" [{a['unit_id']}]" if a.get("unit_id") else ""
        ended = f" at {a['ended_at']}" if a.get("ended_at") else ""
        error = f": {a['error']}" if a.get("error") else ""
        how = f"{a['outcome']}{ended}{error}"
        if "by" in a:  # a gate
            how = f"{a['outcome']}{' by ' + a['by'] if a['by'] else ''}{ended} after waiting {a['waited_seconds']:.1f}s{error}"
        if a["then"] == "cleared":
            then = f"cleared; the run resumed at {a['run_resumed_at'] or '?'} (who cleared it: Airflow's audit log)"
        else:
            then = f"retried by Airflow at {a['next_try_started_at'] or '?'}"
            if a["outcome"] == "succeeded":  # the task finished, but Airflow failed the try: its log says why
                then += " (Airflow failed this try after the task had finished; see the try's log)"
        lines.append(f"{a['task']}{unit} try {a['try'] or '?'} {how}")
        lines.append(f"    then {then}")
    return lines


def _who_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    if "triggered_by" in report:
        t = report["triggered_by"]
        lines.append(f"triggered by: {t.get('user') or 'the scheduler'}"
                     + (f" ({t['run_type']} run)" if t.get("run_type") else ""))
    if report.get("approvers"):
        sod = "; whoever triggers a failover may not approve it" if "separation_of_duties" in report else ""
        lines.append(f"approvers: {', '.join(report['approvers'])}{sod}")
    if report.get("cloudtrail"):
        c = report["cloudtrail"]
        lines.append(f"AWS calls in CloudTrail: session {c['session_name']}; hub: {c['hub']}"
                     + (f"; spokes: {', '.join(c['spokes'])}" if c["spokes"] else ""))
    for b in (report.get("separation_of_duties") or {}).get("breaches", []):
        lines.append(f"SEPARATION OF DUTIES BREACHED: {b['gate']} {b['decision']} by {b['by']}, who triggered the run")
    if report.get("cancelled"):
        c = report["cancelled"]
        lines.append(f"CANCELLED by {c['by'] or '? (see audit_log)'}{' at ' + c['at'] if c['at'] else ''}: the run was "
                     "marked failed")
        if c["stopped"]:
            lines.append(f"  stopped while running or waiting: {', '.join(c['stopped'])}")
        if c["not_run"]:
            lines.append(f"  never started: {', '.join(c['not_run'])}")
    if report.get("audit_log"):
        lines.append(f"audit log: {report['audit_log']}")
    return lines


def _rollback_lines(report: dict[str, Any]) -> list[str]:
    """A rollback: the run it undid, and each wave it undid, last wave first."""
    undo = report.get("rollback")
    if not undo:
        return []
    lines = [f"rolled back: {undo['of']} ({undo['undid']}, {undo['its_outcome']})"]
    for wave in undo["waves"]:
        lines.append(f"  undo wave {wave['number']}".ljust(34) + f"{wave['outcome']:<11}{_secs(wave['seconds']):>10}  "
                     f"{len(wave['units'])}")
        for unit in wave["units"]:
            if unit["outcome"] == "failed":
                lines.append(f"      FAILED {unit['unit_id']}: {unit['error']}")
    for unit_id, why in (undo.get("left_as_is") or {}).items():
        lines.append(f"  left as it is: {unit_id}: {why}")
    return lines


def render_text(report: dict[str, Any]) -> str:
    rto = report["rto"]
    lines = [
        f"DR {report['operation']} report: {report['dag_id']}  run {report['run_id']}",
        f"outcome: {report['outcome'].upper()}{'  (DRY RUN: no changes made)' if report['dry_run'] else ''}",
        f"regions: {report['regions']['primary']} (primary) -> {report['regions']['dr']} (dr)",
        f"started {report['started_at']} (first start)  ended {report['ended_at']}",
        *_who_lines(report),
        f"preflight: {report['preflight']['outcome']} ({report['preflight']['checks']} checks)",
        *_override_lines(report),
        *_capacity_lines(report),
        *_unplanned_lines(report),
        *_guard_lines(report),
        "",
        f"{'wave / phase':<34}{'outcome':<11}{'duration':>10}  units",
    ]
    for wave in report["waves"]:
        lines.append(f"wave {wave['number']} ({wave['layer_id']})".ljust(34) + f"{wave['outcome']:<11}{_secs(wave['seconds']):>10}")
        for phase, span in wave["phases"].items():
            if not span["units"]:
                continue  # no resource of this wave acts in this phase (Route 53 has no INSTANTIATE)
            lines.append(f"  {phase:<32}{span['outcome']:<11}{_secs(span['seconds']):>10}  {len(span['units'])}")
            for unit in span["units"]:
                if unit["outcome"] == "failed":
                    lines.append(f"      FAILED {unit['unit_id']}: {unit['error']}")
    for phase, span in report["after_waves"].items():
        lines.append(f"{phase.lower():<34}{span['outcome']:<11}{_secs(span['seconds']):>10}  {len(span['units'])}")
    lines += _rollback_lines(report)
    lines.append("")
    if report["approvals"]:
        lines.append("approvals:")
        for a in report["approvals"]:
            who = f" by {a['by']}" if a["by"] else ""
            alerts = f" ({a['overdue_alerts']} overdue alert(s))" if a.get("overdue_alerts") else ""
            lines.append(f"  {a['gate']:<24} {a['decision']}{who}, waited {a['waited_seconds']:.1f}s{alerts}")
            for r in a.get("refused") or []:
                lines.append(f"    refused {r['answer']!r} from {r['by']} at {r['at']}: {r['why']}")
            if shown := a.get("shown"):  # what the approver was shown when the gate opened
                seen = [shown.get("time") or ""]
                if v := shown.get("validated"):
                    seen.append(f"wave {v['wave']} {v['health']}")
                if pre := shown.get("prewarmed"):
                    seen.append(f"wave {pre['wave']} prewarmed " + ", ".join(f"{n} {st}" for st, n in pre["counts"].items()))
                if back := shown.get("rolled_back"):  # a rollback's gate
                    seen.append(f"wave {back['wave']} rolled back " + ", ".join(f"{n} {st}" for st, n in back["counts"].items()))
                if "next_resources" in shown:  # a rollback's gate lists no forward change
                    seen.append(f"{shown['next_resources']} resources to change next")
                lines.append(f"    shown: {'; '.join(x for x in seen if x)}")
    lines += _manual_step_lines(report)
    lines.append("")
    if rto["measured_minutes"] is not None:
        verdict = "" if rto["met"] is None else ("  MET" if rto["met"] else "  MISSED")
        lines.append(
            f"measured RTO: {rto['measured_minutes']:.2f} min "
            f"({rto['measured_minutes_excluding_approvals']:.2f} min without approval"
            f"{' and manual-step' if report.get('manual_steps') else ''} waits) "
            f"vs target {rto['target_minutes'] or '-'} min{verdict}"
        )
    else:
        lines.append("measured RTO: not reached (the run did not validate every wave)")
    lines.append(f"AWS changes made: {report['aws_changes']}")
    if report["failures"]:
        lines.append("")
        lines.append("failures:")
        for f in report["failures"]:
            lines.append(f"  {f['task']} [{f['unit_id'] or '-'}]: {f['error']}")
    if report.get("earlier_attempts"):
        lines += ["", "earlier attempts (tries before each task's last one):"]
        lines += [f"  {line}" for line in _attempt_lines(report["earlier_attempts"])]
    if report.get("switched_to_unplanned"):
        s = report["switched_to_unplanned"]
        lines += ["", f"switched to unplanned at {s['gate']} by {s['by'] or '?'} ({s['at']})"]
    if report.get("resources"):
        lines += ["", "resources (where the run left each):"]
        lines += [f"  wave {r['wave']}  {r['resource_id']:<28} {r['state']}" for r in report["resources"]]
    return "\n".join(lines) + "\n"


def report_dir() -> Path:
    default = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow")) / "dr_reports"
    return Path(os.environ.get("DR_REPORT_DIR", default))


def write_report(report: dict[str, Any], text: str, *, buckets: list[tuple[str, Any]] = (), prefix: str = "dr-reports") -> str:
    """Write JSON + text to the local folder always, then to the first bucket that takes it
    (``buckets``: (bucket, S3 client in its region), in order). Returns where: the s3:// URL, else the
    local folder. Never raises for a bucket: the run's notification must go out whatever S3 says."""
    name = f"{report['dag_id']}/{report['run_id']}".replace(":", "_").replace("+", "_")
    body = json.dumps(report, indent=2, default=str)
    folder = report_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(body)
    (folder / "report.txt").write_text(text)
    for bucket, s3_client in buckets:
        key = f"{prefix.rstrip('/')}/{name}"
        try:
            s3_client.put_object(Bucket=bucket, Key=f"{key}.json", Body=body.encode(), ContentType="application/json")
            s3_client.put_object(Bucket=bucket, Key=f"{key}.txt", Body=text.encode(), ContentType="text/plain")
        except Exception:  # noqa: BLE001 - its region may be dark: the next bucket, and the local copy stands
            log.warning("could not write the report to s3://%s/%s; trying the next bucket", bucket, key, exc_info=True)
            continue
        return f"s3://{bucket}/{key}"
    if buckets:
        log.error("no report bucket took the report (%s); it is kept in %s", ", ".join(b for b, _ in buckets), folder)
    return str(folder)


def _override_lines(report: dict[str, Any]) -> list[str]:
    """A failed preflight a person marked success: who, and every problem the run went on with."""
    override = report["preflight"].get("overridden")
    if not override:
        return []
    lines = [f"  OVERRIDDEN (marked success) by {override.get('by') or 'someone (see the audit log)'}"
             f"{' at ' + override['at'] if override.get('at') else ''}; the run went on with "
             f"{len(override['accepted'])} failing check(s):"]
    return lines + [f"    {a['resource_id']}: {a['message']}" for a in override["accepted"]]
