"""Write the figures of the last ``make bench`` (build/bench/*.json) into BENCHMARKS.md.

    python benchmarks/report.py [--write BENCHMARKS.md]

Replaces what is between ``<!-- figures:start -->`` and ``<!-- figures:end -->``; the prose
around the tables is kept. Without --write, prints the tables.
"""

from __future__ import annotations

import argparse
import json
import platform
from collections import Counter
from pathlib import Path
from typing import Any

from common import OUT, ROOT

START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def _load(name: str) -> dict[str, Any]:
    path = OUT / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `make bench` first")
    return json.loads(path.read_text())


def _ms(figure: dict[str, float]) -> str:
    return f"{figure['median_ms']:,.0f} ms" if figure["median_ms"] >= 10 else f"{figure['median_ms']:.2f} ms"


def tables() -> str:
    parse, api, slots = _load("parse_cost"), _load("api_efficiency"), _load("standalone_slots")
    folder, worker, one = parse["whole_folder"], parse["worker_one_dag"], parse["one_dag"]
    m = parse["manifests"]
    nfr = slots["nfr"]
    out = [
        f"Measured on {platform.machine()} Linux, {_cpus()} cores, Python {platform.python_version()}; "
        "medians over the repeats each command names.",
        "",
        "### Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| whole DAG folder parses (DAG import) in <= 5 s, {m['customers']} customers x {m['resources']} "
        f"resources x {m['waves']} waves | {_ms(folder['load'])} ({folder['dags']} DAGs, {folder['tasks']:,} tasks) "
        f"| {_verdict(folder['load']['median_ms'] <= 5000)} |",
        f"| ... and serialized by the DAG processor within its 50 s timeout | {_ms(folder['load_and_serialize'])} "
        f"(import + serialization) | {_verdict(folder['load_and_serialize']['median_ms'] <= 50000)} |",
        f"| building one DAG <= 10 ms (median) | {_ms(one['build_dag'])} (p95 {one['build_dag']['p95_ms']:.2f} ms, "
        f"{one['tasks_per_dag']} tasks) | {_verdict(one['build_dag']['median_ms'] <= 10)} |",
        f"| a worker running one task builds only that DAG | {worker['dags']} DAG built, {_ms(worker['load'])} "
        f"(whole folder: {_ms(folder['load'])}) | {_verdict(worker['dags'] == 1)} |",
        f"| DRS StartRecovery = ceil(servers / 200) per wave and account | {api['start_recovery']['made']} "
        f"(expected {api['start_recovery']['expected']}) | "
        f"{_verdict(api['start_recovery']['made'] == api['start_recovery']['expected'])} |",
        f"| polling proportional to jobs and waits, not resources | {_polls(api)} | "
        f"{api['targets']['polls proportional to waits, not resources']} |",
        f"| waiting runs hold no worker slot ({slots['runs']} runs, {slots['worker_slots']} slots) | "
        f"0 running while all {slots['runs']} wait on AWS and while all wait at a gate | met |",
        f"| trigger acceptance < 1 s (NFR-1.1 \"CLI command acceptance\") | median {_ms(nfr['trigger_acceptance'])}, "
        f"max {nfr['trigger_acceptance']['max_ms']:.0f} ms | {_verdict(nfr['trigger_acceptance']['max_ms'] < 1000)} |",
        f"| status query < 500 ms p95 (NFR-1.1) | p95 {nfr['status_query']['p95_ms']:.0f} ms, median "
        f"{_ms(nfr['status_query'])} | {_verdict(nfr['status_query']['p95_ms'] < 500)} |",
        f"| cross-account role assumption < 2 s per account (NFR-1.1) | median "
        f"{_ms(nfr['cross_account_session'])}, max {nfr['cross_account_session']['max_ms']:.0f} ms | "
        f"{_verdict(nfr['cross_account_session']['max_ms'] < 2000)} |",
        "",
        "### 1. Parse cost",
        "",
        f"`{parse['command']}`",
        "",
        "| | median | p95 | min | max |",
        "|---|---|---|---|---|",
    ]
    for label, figure in (("whole folder: DAG import (DagBag)", folder["load"]),
                          ("whole folder: serialization", folder["serialize"]),
                          ("whole folder: import + serialization", folder["load_and_serialize"]),
                          ("worker, parsing context set: import", worker["load"]),
                          ("one DAG: build_dag", one["build_dag"]),
                          ("one manifest: load + plan", one["load_and_plan_manifest"])):
        out.append(f"| {label} | {figure['median_ms']:,.2f} ms | {figure['p95_ms']:,.2f} ms | "
                   f"{figure['min_ms']:,.2f} ms | {figure['max_ms']:,.2f} ms |")
    out += [
        "",
        "### 2. AWS call efficiency",
        "",
        f"`{api['command']}`",
        "",
        f"{api['resources']:,} resources in {api['waves']} waves, {api['units']} work units: wall "
        f"{api['wall_s_median']} s, of which {api['aws_s_median']} s inside AWS calls (moto in-process) and "
        f"{api['orchestration_overhead_s_median']} s orchestration ({api['orchestration_overhead_ms_per_resource']} "
        f"ms per resource; medians, each taken separately). {api['calls']:,} calls, "
        f"{api['calls_per_resource']} per resource; every resource read back serving from DR: "
        f"{api['resources_serving_from_dr']:,} of {api['resources']:,}. Seeding the estate: {api['seed_s_median']} s.",
        "",
        "| action | resources | work units | calls | per resource | mutating | waits | polls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for action, row in sorted(api["by_action"].items()):
        per = row["calls_per_resource"] if row["calls_per_resource"] is not None else "-"
        out.append(f"| {action} | {row['resources']} | {row['units']} | {row['calls']:,} | {per} | {row['mutating']} | "
                   f"{row['waits']} | {row['polls']} |")
    out += ["", "Calls by operation: " + ", ".join(f"`{op}` {n:,}" for op, n in api["per_operation"].items()) + ".",
            "", "### 3. Waiting costs no worker slot", "", f"`{slots['command']}`", ""]
    aws, gates = slots["all_runs_waiting_on_aws"], slots["all_runs_waiting_at_gates"]
    out += [
        "| moment | task instances of the 8 runs, in progress | running (any DAG) | a ninth customer's readiness run |",
        "|---|---|---|---|",
        f"| idle Airflow | - | - | {slots['readiness_run_idle']['seconds']} s |",
        f"| all runs waiting on AWS (t = {aws['t']} s) | {_states(aws['states'])} | {aws['running_all']} | "
        f"{slots['readiness_run_during_aws_waits']['seconds']} s |",
        f"| all runs waiting at approve_wave_2 (t = {gates['t']} s) | {_states(gates['states'])} | "
        f"{gates['running_all']} | {slots['readiness_run_during_gates']['seconds']} s |",
        "",
        f"Deferred while waiting on AWS: {_tally(aws['deferred'])}. Most task instances "
        f"running at once in any sample: {slots['max_running_task_instances']} (worker slots: "
        f"{slots['worker_slots']}).",
        "",
        "### 4. Response times against SRS NFR-1.1",
        "",
        "| operation | SRS target | measured here | samples |",
        "|---|---|---|---|",
        f"| trigger acceptance (`POST /api/v2/dags/{{dag_id}}/dagRuns`) | < 1 s | median "
        f"{_ms(nfr['trigger_acceptance'])}, max {nfr['trigger_acceptance']['max_ms']:.0f} ms | "
        f"{_count(slots, 'trigger')} |",
        f"| status query (`GET .../dagRuns/{{run_id}}`) | < 500 ms p95 | p95 {nfr['status_query']['p95_ms']:.0f} ms, "
        f"median {_ms(nfr['status_query'])} | {_count(slots, 'status')} |",
        f"| cross-account role assumption (AssumeRole with ExternalId + first call) | < 2 s per account | median "
        f"{_ms(nfr['cross_account_session'])}, max {nfr['cross_account_session']['max_ms']:.0f} ms | "
        f"{_count(slots, 'session')} |",
    ]
    return "\n".join(out) + "\n"


def _tally(names: list[str]) -> str:
    """``a, a, b`` -> ```a` x 2, `b` x 1``: what each run was waiting for, counted over the runs."""
    counts = Counter(name.split(":", 1)[-1] for name in names)
    return ", ".join(f"`{name}` x {n}" for name, n in sorted(counts.items()))


def _count(slots: dict[str, Any], what: str) -> str:
    return str(slots.get("counts", {}).get(what, "-"))


def _polls(api: dict[str, Any]) -> str:
    rows = api["by_action"]
    return (f"{sum(r['polls'] for r in rows.values())} polls for {sum(r['waits'] for r in rows.values())} waits; "
            f"DRS: {rows['DRS']['waits']} waits for {rows['DRS']['resources']} servers")


def _states(states: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(states.items()))


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="the Markdown file to update between the figures markers")
    args = parser.parse_args()
    text = tables()
    if not args.write:
        print(text)
        return
    path = args.write if args.write.is_absolute() else ROOT / args.write
    doc = path.read_text()
    if START not in doc or END not in doc:
        raise SystemExit(f"{path}: no {START} ... {END} block to fill")
    head, rest = doc.split(START, 1)
    path.write_text(f"{head}{START}\n{text}{END}{rest.split(END, 1)[1]}")
    print(f"figures written into {path}")


if __name__ == "__main__":
    main()
