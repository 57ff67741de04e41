"""Following a DAG run of the real Airflow over REST: its gates, its end, its report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from standalone import wait_for


def summary(states: dict[tuple[str, int], str | None]) -> str:
    return json.dumps({f"{task}[{index}]" if index >= 0 else task: state for (task, index), state in sorted(states.items())})


def outcomes(states: dict[tuple[str, int], str | None]) -> set[str | None]:
    """The states of a failover's (or failback's) tasks, after checking that operation=rollback's own tasks
    were all skipped (preflight skips them in any other run)."""
    from dr_adapters.orchestration.rollback import is_rollback_task

    assert {s for (t, _), s in states.items() if is_rollback_task(t)} == {"skipped"}, summary(states)
    return {s for (t, _), s in states.items() if not is_rollback_task(t)}


def wait_for_gate(stack, run_id: str, gate: str, timeout: float = 240, pauses: int = 1) -> None:
    """Until the gate awaits input and the scheduler has handled its ``pauses``-th park."""
    api = stack.api

    def waiting() -> bool:
        states = api.task_states(run_id, stack.dag_id)
        failed = {k: v for k, v in states.items() if v in ("failed", "upstream_failed")}
        assert not failed, f"the run failed before {gate} opened: {summary(states)}"
        return states.get((gate, -1)) == "awaiting_input"

    wait_for(f"{gate} of {run_id} to await input", waiting, timeout=timeout, interval=2,
             describe=lambda: summary(api.task_states(run_id, stack.dag_id)))
    stack.note(f"{run_id}: {gate} awaiting input")
    # Answer like a person, not within seconds: see Standalone.wait_until_pause_recorded.
    recorded = stack.airflow.wait_until_pause_recorded(run_id, gate, pauses=pauses, dag_id=stack.dag_id)
    stack.note(f"{run_id}: {gate}: the scheduler " + ("handled the pause" if recorded else "did not log the pause in 60s"))


def wait_until_finished(stack, run_id: str, timeout: float = 300) -> dict[str, Any]:
    api = stack.api
    run = wait_for(f"{run_id} to finish",
                   lambda: (run := api.run(run_id, stack.dag_id))["state"] in ("success", "failed") and run,
                   timeout=timeout, interval=3, describe=lambda: summary(api.task_states(run_id, stack.dag_id)))
    stack.note(f"{run_id}: finished {run['state']}")
    return run


def report_of(stack, run_id: str) -> dict[str, Any]:
    return json.loads((stack.airflow.report_dir / stack.dag_id / run_id / "report.json").read_text())


# AWS access key ids (long-term and STS-issued) and moto's session tokens, whoever's they are.
CREDENTIAL_PATTERNS = (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", r"FQoGZXIvYXdzEBYaD")


def secrets_in(folders: list[Path], secrets: dict[str, str]) -> list[tuple[str, str]]:
    """(what, file) for each secret or credential-looking string found in any file under the folders."""
    found = []
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            text = path.read_text(errors="replace")
            found += [(what, str(path)) for what, secret in secrets.items() if secret in text]
            found += [(pattern, str(path)) for pattern in CREDENTIAL_PATTERNS if re.search(pattern, text)]
    return found
