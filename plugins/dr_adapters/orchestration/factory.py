"""The DAG factory: one ``dr_<customer>_<environment>`` DAG per plan (SPEC 5).

    preflight -> wave_1 [instantiate -> activate -> validate] -> approve_wave_2 -> wave_2 [...]
              -> ... -> approve_cleanup -> cleanup -> replicate -> report

Inside a wave each phase is one task mapped over the wave's work units (parallel; a failed unit
does not stop its siblings but blocks the next wave). Same-wave dependencies split a wave into
steps: ``instantiate_1 -> activate_1 -> instantiate_2 -> activate_2``. A ``ManualStep`` is a task of
its own (``manual_<resource>``, orchestration.manual_steps) in that chain, right after the task of its
``phase`` in its dependency step (VALIDATE: after the wave's validate; CLEANUP, REPLICATE: after those
tasks); steps placed at the same point are asked side by side. Parsing reads local files only: no AWS
call, no Variable, no discovery.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, Param, TaskGroup, get_parsing_context

from dr_adapters.adapters.manual_step import is_manual_step, manual_step_config
from dr_adapters.orchestration.alerts import announce_unit_failure
from dr_adapters.orchestration.evidence import next_units
from dr_adapters.orchestration.gates import WaveApprovalOperator
from dr_adapters.orchestration.manual_steps import ManualStepOperator, manual_task_id
from dr_adapters.orchestration.operators import (ACTIVATE_GATE_ID, REPORT_TASK_ID, PhaseOperator, ReportOperator,
                                                 ValidateOperator)
from dr_adapters.orchestration.preflight_task import PreflightOperator
from dr_adapters.orchestration.rollback import GATE_PREFIX as ROLLBACK_GATE_PREFIX
from dr_adapters.orchestration.rollback import GROUP_PREFIX as ROLLBACK_GROUP_PREFIX
from dr_adapters.orchestration.rollback_tasks import RollbackOperator
from dr_adapters.sources.loader import ManifestError, declared_dag_id, discover_manifests, load_manifest, parse_text
from dr_adapters.sources.manifest import dag_id_for
from dr_adapters.adapters.registry import adapter_for
from dr_adapters.plan.model import Plan, WorkUnit, plan_to_dict
from dr_adapters.sources.planner import build_plan
from dr_adapters.plan.run_request import DEFAULT_VALIDATION_TIMEOUT_MINUTES, confirm_token
from dr_adapters.plan.types import FailoverMode, Operation, Phase

log = logging.getLogger(__name__)

START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
MAX_ACTIVE_RUNS = 2  # a change run (failover, failback, reprotect) and a drill it preempts, never two changes
TRIGGER_RULE = "none_failed"  # a skipped (not selected) upstream never blocks; a failed one does


def default_manifest_dir() -> Path:
    """DR_MANIFEST_DIR, else ``include/manifests`` beside the dags folder (a checkout, docker compose)
    or inside it (MWAA, where only dags/ is synced from S3)."""
    configured = os.environ.get("DR_MANIFEST_DIR")
    if configured:
        return Path(configured)
    dags_folder = Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", Path(__file__).resolve().parents[3] / "dags"))
    candidates = [dags_folder.parent / "include" / "manifests", dags_folder / "include" / "manifests"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def default_inventory_dir(manifest_dir: Path) -> Path:
    """DR_INVENTORY_DIR, else ``inventory`` beside the manifests folder: where ``discover`` writes the
    snapshots of tag-driven estates (``include/inventory/<manifestId>.yaml``)."""
    configured = os.environ.get("DR_INVENTORY_DIR")
    return Path(configured) if configured else manifest_dir.parent / "inventory"


def _settings() -> dict[str, Any]:
    return {
        "retries": int(os.environ.get("DR_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("DR_RETRY_DELAY_SECONDS", "60"))),
        "parallel_units": int(os.environ.get("DR_MAX_PARALLEL_UNITS", "16")),
    }


# Airflow validates a Param with jsonschema each time it builds, serializes or triggers the DAG,
# and checks the schema itself against its metaschema every time. Draft 7's metaschema is ~4x
# cheaper to check than the default 2020-12 one and has all we use (one DAG: build 5.5 -> 4.2 ms).
SCHEMA_DRAFT = {"$schema": "http://json-schema.org/draft-07/schema#"}


def _param(default: Any, description: str, **schema: Any) -> Param:
    return Param(default, description=description, **schema, **SCHEMA_DRAFT)


def run_params(plan: Plan) -> dict[str, Param]:
    return {
        "operation": _param(
            Operation.DRILL.value, "drill (default, non-disruptive), readiness (checks only), failover, failback, "
            "reprotect (after an unplanned failover, once the old region is back: its deferred cleanup/replicate), "
            "rollback (undo the waves a failed or rejected failover/failback started, last wave first).",
            type="string", enum=[o.value for o in Operation],
        ),
        "confirm": _param("", f"Required for failover/failback/reprotect/rollback: type {confirm_token(plan)} to "
                          "confirm.", type="string"),
        "rollback_of": _param(
            None, "rollback: the run id of the failover/failback to undo. Empty: the latest one of this DAG, "
            "which must not have succeeded.", type=["null", "string"]),
        "approval_mode": _param(
            "required" if plan.approval_required else "automatic",
            "required: a person approves each next wave (failover/failback only).",
            type="string", enum=["required", "automatic"],
        ),
        "waves": _param(
            "all", f"'all' or a list of wave numbers, from {plan.wave_numbers}.",
            type=["string", "array"], items={"type": "integer", "enum": plan.wave_numbers},
        ),
        "phases": _param(
            [p.value for p in plan.phases], "Subset of phases; [ACTIVATE] alone is an emergency failover.",
            type="array", items={"type": "string", "enum": [p.value for p in plan.phases]},
        ),
        "dry_run": _param(False, "Plan and log every call; change nothing.", type="boolean"),
        "failover_mode": _param(
            FailoverMode.PLANNED.value,
            "planned: both regions answer, no data loss. unplanned: the region being left is dark -- no call "
            "goes to it, data loss up to the last replicated point, its cleanup/replicate wait until it returns.",
            type="string", enum=[m.value for m in FailoverMode],
        ),
        "validation_timeout_minutes": _param(
            None, "How long each wave's validation keeps checking until every resource is healthy before an "
            "UNHEALTHY one blocks the next wave, for every wave of this run. Empty: each layer's "
            f"validationTimeoutMinutes, else {DEFAULT_VALIDATION_TIMEOUT_MINUTES:g}. 0: check once.",
            type=["null", "number"], minimum=0, maximum=720,
        ),
        "direction": _param(
            Operation.FAILOVER.value, "reprotect: the unplanned run it completes; drill: the way it rehearses "
            "(failback: DR -> primary, after a failover and its reprotect).",
            type="string", enum=[Operation.FAILOVER.value, Operation.FAILBACK.value],
        ),
    }


def build_dag(plan: Plan) -> DAG:
    settings = _settings()
    full = plan_to_dict(plan)
    header = plan_to_dict(plan, with_waves=False)
    common = {"plan": header, "trigger_rule": TRIGGER_RULE}
    # A unit that fails for good is announced at once, from the worker, while its siblings go on.
    mapped = {**common, "max_active_tis_per_dagrun": settings["parallel_units"],
              "map_index_template": "{{ task.unit_id }}", "on_failure_callback": announce_unit_failure}
    unit_dicts = {u.unit_id: u.to_dict() for w in plan.waves for u in w.units}
    if len(unit_dicts) != len(plan.units):  # mapped tasks key on unit ids: one must never hide another
        raise ValueError(f"{plan.dag_id}: work unit ids repeat across waves; the planner must make them unique")
    record_tasks: list[str] = []
    gate_tasks: list[str] = []
    manual_tasks: dict[str, dict[str, Any]] = {}  # task id -> the step's unit, for the report

    def manual(units: Any, wave: int, placement: str, probe: bool = False) -> list[Any]:
        """Tasks asking a person for the manual steps among ``units`` placed at ``placement`` (``probe``: only
        whether there are any)."""
        tasks = []
        for u in units:
            if _is_manual(u) and manual_step_config(u.resources[0]).phase == placement:
                if probe:
                    return [u]
                task = ManualStepOperator(task_id=manual_task_id(u.unit_id), plan=header, unit=unit_dicts[u.unit_id],
                                          wave=wave, trigger_rule=TRIGGER_RULE, retries=0)
                manual_tasks[task.task_id] = {**unit_dicts[u.unit_id], "wave": wave}
                tasks.append(task)
        return tasks

    with DAG(
        dag_id=plan.dag_id,
        description=f"DR {plan.scope.customer}/{plan.scope.environment}: {plan.regions.primary} <-> {plan.regions.dr}",
        doc_md=_doc(plan),
        # No start date in the past: unpausing must not start a catch-up drill. The first drill is the next tick.
        schedule=CronTriggerTimetable(plan.drill_schedule, timezone="UTC") if plan.drill_schedule else None,
        catchup=False,
        # Two: a failover triggered while a drill runs starts at once (it makes the drill stand down and
        # waits for its cleanup); preflight's guard never lets two runs that change the estate overlap
        # (orchestration.preemption).
        max_active_runs=MAX_ACTIVE_RUNS,
        tags=["dr", plan.scope.customer, plan.scope.environment],
        default_args={
            "retries": settings["retries"],
            "retry_delay": settings["retry_delay"],
            "retry_exponential_backoff": True,
        },
    ) as dag:
        preflight = previous = PreflightOperator(task_id="preflight", plan=full, retries=0)
        completed: dict[str, Any] | None = None  # the wave before the next gate, which announces it
        for i, wave in enumerate(plan.waves):
            if i:
                gate = WaveApprovalOperator(task_id=f"approve_wave_{wave.number}", plan=header, next_wave=wave.number,
                                            next_step=f"wave {wave.number} ({wave.layer_id})",
                                            completed_wave=completed, trigger_rule=TRIGGER_RULE, retries=0,
                                            next_units=next_units(plan, [(u, wave.number) for u in wave.units],
                                                                  [Phase.INSTANTIATE, Phase.ACTIVATE]))
                gate_tasks.append(gate.task_id)
                previous >> gate
                previous = gate
            recorded_before, manual_before = len(record_tasks), len(manual_tasks)
            with TaskGroup(group_id=f"wave_{wave.number}", tooltip=f"{wave.layer_id}: {len(wave.resource_ids)} resources") as group:
                chain: list[Any] = []  # in order; an element is a task, or manual steps asked side by side
                activate_gate = wave.approval_before_activate
                for s, step in enumerate(wave.steps, start=1):
                    suffix = f"_{s}" if len(wave.steps) > 1 else ""
                    for phase in (Phase.INSTANTIATE, Phase.ACTIVATE):
                        units = {u.unit_id: unit_dicts[u.unit_id] for u in step if _acts_in(u, phase)}
                        if phase is Phase.ACTIVATE and activate_gate and (units or manual(step, wave.number, phase.value,
                                                                                          probe=True)):
                            # before the wave's first switch, after what it prewarmed (approvalBeforeActivate)
                            chain.append(activate_gate_for(plan, header, wave, record_tasks[recorded_before:],
                                                           list(manual_tasks)[manual_before:]))
                            gate_tasks.append(chain[-1].task_id)
                            activate_gate = False
                        if phase in plan.phases and units:
                            chain.append(PhaseOperator.partial(
                                task_id=f"{phase.method}{suffix}", phase=phase.value, wave=wave.number, units=units,
                                **mapped,
                            ).expand(unit_id=list(units)))
                            record_tasks.append(f"{group.group_id}.{phase.method}{suffix}")
                        chain.append(manual(step, wave.number, phase.value))
                units = {u.unit_id: unit_dicts[u.unit_id] for u in wave.units if not _is_manual(u)}
                if units:  # a manual step is validated by its own answer
                    chain.append(ValidateOperator.partial(task_id="validate", wave=wave.number, units=units,
                                                          timeout_minutes=wave.validation_timeout_minutes, **mapped)
                                 .expand(unit_id=list(units)))
                    record_tasks.append(f"{group.group_id}.validate")
                chain.append(manual(wave.units, wave.number, "VALIDATE"))
                chain = [t for t in chain if t]
                for upstream, downstream in zip(chain, chain[1:]):
                    _link(upstream, downstream)
            if chain:
                _link(previous, group)
                previous = group
                steps_here = [t for t, unit in manual_tasks.items() if unit["wave"] == wave.number]
                completed = {"number": wave.number, "layer_id": wave.layer_id,
                             "tasks": record_tasks[recorded_before:] + steps_here}
            else:
                completed = None

        gate = WaveApprovalOperator(task_id="approve_cleanup", plan=header, next_step="cleanup of the old region",
                                    completed_wave=completed, trigger_rule=TRIGGER_RULE, retries=0,
                                    next_units=next_units(plan, [(u, w.number) for w in plan.waves for u in w.units],
                                                          [Phase.CLEANUP, Phase.REPLICATE]))
        gate_tasks.append(gate.task_id)
        previous >> gate
        previous = gate
        for phase in (Phase.CLEANUP, Phase.REPLICATE):
            all_units = {u.unit_id: {**unit_dicts[u.unit_id], "wave": w.number}
                         for w in plan.waves for u in w.units if _acts_in(u, phase)}
            if phase in plan.phases and all_units:
                task = (PhaseOperator.partial(task_id=phase.method, phase=phase.value, units=all_units, **mapped)
                        .expand(unit_id=list(all_units)))
                record_tasks.append(phase.method)
                _link(previous, task)
                previous = task
            steps = [t for w in plan.waves for t in manual(w.units, w.number, phase.value)]
            if steps:
                _link(previous, steps)
                previous = steps
        preflight.record_tasks = list(record_tasks)  # what a rollback reads of the run it undoes
        undone = _rollback_chain(plan, header, mapped, previous, record_tasks, gate_tasks)
        report = ReportOperator(task_id=REPORT_TASK_ID, plan=full, record_tasks=record_tasks, gate_tasks=gate_tasks,
                                manual_tasks=manual_tasks, retries=1)
        # A teardown: when a person marks the run failed (cancels it), Airflow skips every task not yet
        # started but still runs its teardowns, so the cancelled run gets its report and notification.
        # Its failure fails the run, as before (a report that finds the run not succeeded fails).
        report.as_teardown(on_failure_fail_dagrun=True)
        # After both ends: a run's own chain ends it (and decides its state), the other is skipped by preflight.
        _link(previous, report)
        if undone is not previous:
            _link(undone, report)
    # The run parameters are the DAG's, set once its tasks exist. Set before, Airflow copies them
    # into every task, compares and serializes each copy (two thirds of the DAG processor's work
    # per DAG); tasks do not need them: at run time Airflow merges the DAG's params, then the
    # task's, then the run's conf (``process_params``). Setting them validates them.
    dag.params = run_params(plan)
    return dag


def activate_gate_for(plan: Plan, header: dict[str, Any], wave: Any, prewarm_tasks: list[str],
                      prewarm_steps: list[str]) -> WaveApprovalOperator:
    """The gate between a wave's prewarm and its ACTIVATE (``approvalBeforeActivate``, PRD use case 1: check
    the prewarmed DR before anything switches), with what it prewarmed and what its ACTIVATE will change."""
    return WaveApprovalOperator(
        task_id=ACTIVATE_GATE_ID, plan=header, next_wave=wave.number, before_activate=True,
        next_step=f"ACTIVATE of wave {wave.number} ({wave.layer_id})",
        prewarmed_wave={"number": wave.number, "layer_id": wave.layer_id, "tasks": prewarm_tasks + prewarm_steps},
        next_units=next_units(plan, [(u, wave.number) for u in wave.units], [Phase.ACTIVATE]),
        trigger_rule=TRIGGER_RULE, retries=0)


def _rollback_chain(plan: Plan, header: dict[str, Any], mapped: dict[str, Any], previous: Any,
                    record_tasks: list[str], gate_tasks: list[str]) -> Any:
    """``operation=rollback``'s tasks, after the rest: per wave, highest first, ``rollback_wave_<n>.undo`` mapped
    over the wave's units that have an undo, with a gate between two waves. Preflight skips them in any other
    run (and everything else in a rollback), so they cost a failover nothing."""
    completed: dict[str, Any] | None = None
    for wave in sorted(plan.waves, key=lambda w: -w.number):
        units = [u.unit_id for u in wave.units if adapter_for(u.action).rollback_phases]
        if not units:
            continue
        if completed is not None:
            gate = WaveApprovalOperator(task_id=f"{ROLLBACK_GATE_PREFIX}{wave.number}", plan=header,
                                        next_step=f"rollback of wave {wave.number} ({wave.layer_id})",
                                        rollback_wave=wave.number, completed_wave=completed,
                                        trigger_rule=TRIGGER_RULE, retries=0)
            gate_tasks.append(gate.task_id)
            _link(previous, gate)
            previous = gate
        with TaskGroup(group_id=f"{ROLLBACK_GROUP_PREFIX}{wave.number}",
                       tooltip=f"undo {wave.layer_id}: {len(units)} unit(s)") as group:
            RollbackOperator.partial(task_id="undo", wave=wave.number, **mapped).expand(unit_id=units)
        record_tasks.append(f"{group.group_id}.undo")
        _link(previous, group)
        previous = group
        completed = {"number": wave.number, "layer_id": wave.layer_id, "tasks": [f"{group.group_id}.undo"]}
    return previous


def _is_manual(unit: WorkUnit) -> bool:
    return is_manual_step(unit.action)


def _link(upstream: Any, downstream: Any) -> None:
    """``upstream >> downstream`` where either may be a list (manual steps asked side by side)."""
    for task in upstream if isinstance(upstream, list) else [upstream]:
        task >> downstream


def _acts_in(unit: WorkUnit, phase: Phase) -> bool:
    """Only units whose adapter does something in a phase get a task for it (Route 53: ACTIVATE only; a runbook
    step: the phases its config names)."""
    return adapter_for(unit.action).acts_in(unit, phase)


def _doc(plan: Plan) -> str:
    waves = "\n".join(f"- wave {w.number} `{w.layer_id}`: {len(w.resource_ids)} resources" for w in plan.waves)
    return (
        f"### DR orchestration for `{plan.scope.customer}` / `{plan.scope.environment}`\n\n"
        f"Manifest `{plan.manifest_id}` ({plan.source}). Primary `{plan.regions.primary}`, DR `{plan.regions.dr}`.\n\n"
        f"{waves}\n\nTrigger with conf, e.g. "
        f"`{{\"operation\": \"failover\", \"confirm\": \"{confirm_token(plan)}\"}}`. "
        "Approve each next wave under Required Actions, or mark the gate task success."
    )


def broken_dag(dag_id: str, error: str) -> DAG:
    """Stands in for a manifest that does not validate: visible in the UI, its only task fails with the error."""
    from airflow.providers.standard.operators.python import PythonOperator

    def fail() -> None:
        raise ValueError(error)

    with DAG(dag_id=dag_id, schedule=None, start_date=START_DATE, catchup=False,
             tags=["dr", "invalid-manifest"], description="INVALID MANIFEST: " + error.splitlines()[0][:200],
             doc_md="### This manifest does not validate\n\n```\n" + error + "\n```") as dag:
        PythonOperator(task_id="manifest_is_invalid", python_callable=fail, retries=0)
    return dag


def _dag_id_guess(path: Path) -> str:
    """The DAG id a broken manifest would have had, so its DAG stays in place with the error shown."""
    try:
        data = parse_text(path.read_text(encoding="utf-8"), str(path))
        customer, environment = str(data["customer"]), str(data["environment"])
        if customer and environment and len(customer + environment) < 200:
            return dag_id_for(customer, environment)
    except Exception:  # noqa: BLE001 - any unreadable manifest falls back to its file name
        pass
    return dag_id_for("invalid", path.stem)


def build_dags(manifest_dir: str | Path | None = None) -> dict[str, DAG]:
    """Every manifest's DAG; a broken manifest yields an error DAG and never stops the others.

    Valid manifests claim their DAG ids first; a broken one keeps the id it would have had when
    that is free (so a DAG that breaks stays in place, showing its error), else ``dr_invalid_<file>``.
    A worker running one task (Airflow's parsing context names the DAG) builds that DAG only, and
    validates only the manifests that may be it.
    """
    wanted = get_parsing_context().dag_id
    folder = Path(manifest_dir or default_manifest_dir())
    if not folder.is_dir():
        log.warning("no DR manifests: %s is not a folder (set DR_MANIFEST_DIR)", folder)
    paths = discover_manifests(folder) + discover_manifests(default_inventory_dir(folder))
    with _no_cyclic_gc():
        if wanted:
            maybe = [p for p in paths if declared_dag_id(p) in (wanted, None)]
            dags = _build(maybe, wanted)
            if wanted in dags:
                return dags
        return _build(paths, wanted)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Building DAGs allocates many small objects that all stay alive (the DAGs): Python's cyclic
    collector would rescan them over and over for nothing (~40% of the parse at 500 DAGs). Paused
    for the build only, then left as it was found."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(paths: list[Path], wanted: str | None) -> dict[str, DAG]:
    plans: dict[str, Plan] = {}
    broken: list[tuple[Path, str]] = []
    scopes: list[tuple[Path, str]] = []
    for path in paths:
        try:
            manifest = load_manifest(path)
            if manifest.is_scope:  # its DAG comes from its snapshot (discover), never from AWS at parse time
                scopes.append((path, dag_id_for(manifest.customer, manifest.environment)))
                continue
            plan = build_plan(manifest, str(path))
        except ManifestError as exc:
            log.error("%s", exc)
            broken.append((path, str(exc)))
        except Exception as exc:  # noqa: BLE001 - one bad file must not take the other DAGs down
            log.exception("cannot build a DAG from %s", path)
            broken.append((path, f"{path}: {type(exc).__name__}: {exc}"))
        else:
            if plan.dag_id in plans:
                broken.append((path, f"{path}: same customer and environment as {plans[plan.dag_id].source}; "
                                     f"{plan.dag_id} must come from one manifest"))
            else:
                plans[plan.dag_id] = plan

    for path, dag_id in scopes:
        if dag_id not in plans:
            broken.append((path, f"{path}: a tag-driven scope without its snapshot -- run `python -m dr_adapters "
                                 f"discover {path}`, review the snapshot it writes (include/inventory/) and deploy it"))
    dags: dict[str, DAG] = {}
    for dag_id, plan in plans.items():
        if not wanted or wanted == dag_id:
            dags[dag_id] = build_dag(plan)
    for path, error in broken:
        dag_id = _dag_id_guess(path)
        if dag_id in plans or dag_id in dags:
            dag_id = dag_id_for("invalid", path.stem)
        if not wanted or wanted == dag_id:
            dags[dag_id] = broken_dag(dag_id, error)
    return dags
