"""Manual steps (``ManualStep``): a runbook step a person performs and confirms, inside a wave.

Every real DR runbook has steps no adapter can know ("ask the payment provider to switch its IP
allow-list", "confirm the on-call DBA has checked replication lag"). VMware SRM calls them manual
recovery steps (a *prompt* that pauses the plan until someone dismisses it), Azure Site Recovery
*manual actions* in a recovery plan group (pre or post, with instructions, the plan waits until
they are marked done). Here a manual step is an ordinary manifest resource with ``action:
ManualStep``, so it is validated, planned, shown in the plan printout and reported like the rest,
and same-wave ``dependencies`` order it like any resource.

What a person sees and does is Airflow's human-in-the-loop: the DAG factory gives each manual step
its own task (``orchestration.manual_steps.ManualStepOperator``), placed in its wave after the
automated work of the configured ``phase`` (INSTANTIATE, ACTIVATE, VALIDATE = after the wave's
validation, before the next gate; CLEANUP and REPLICATE after those run-wide tasks). Its
instructions (Markdown, links) appear in the UI's Required Actions and in the SNS notification;
*Done* (or marking the task success) confirms it, *Failed* fails it and so blocks the next wave,
like an UNHEALTHY validation. Who answered and when goes in the report.

This adapter therefore makes no AWS call at all: no phase of its own (the operator is the phase),
no IAM actions, no tag discovery (there is nothing in AWS to tag), and the conformance suite, which
proves AWS end states, excludes it by name. Its preflight only restates what the step will ask, so
the readiness report lists the runbook's manual steps with the resources.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dr_adapters.adapters.base import ActionConfig, Adapter, Finding, HealthCheck, RunContext
from dr_adapters.plan.model import ResourceSpec, WorkUnit
from dr_adapters.plan.types import Health, Phase

PLACEMENTS = ("INSTANTIATE", "ACTIVATE", "VALIDATE", "CLEANUP", "REPLICATE")
"""Where a manual step can sit: after that phase's automated work (VALIDATE: after the wave's validation)."""
IN_WAVE = ("INSTANTIATE", "ACTIVATE", "VALIDATE")
"""Placements inside the wave's task group; CLEANUP and REPLICATE steps run after the waves, with those phases."""
ONE_LINE = r"^[^\x00-\x1f\x7f]+$"  # a title is a subject line: no line breaks or control characters


class ManualStepConfig(ActionConfig):
    title: str = Field(min_length=1, max_length=200, pattern=ONE_LINE,
                       description="One line naming the step: the Required Action's and the notification's subject.")
    instructions: str = Field(
        min_length=1, max_length=20000,
        description="What to do and how to check it, in Markdown (links allowed): shown in Required Actions "
                    "and sent in the notification.")
    failback_instructions: str | None = Field(
        None, alias="failbackInstructions", min_length=1, max_length=20000,
        description="Instructions for the way back (failback, and a drill of it); default: instructions.")
    phase: Literal["INSTANTIATE", "ACTIVATE", "VALIDATE", "CLEANUP", "REPLICATE"] = Field(
        "ACTIVATE",
        description="After which automated work of its wave the person is asked: INSTANTIATE or ACTIVATE (of its "
                    "dependency step), VALIDATE (after the wave's validation, before the next gate), CLEANUP or "
                    "REPLICATE (after those run-wide phases; deferred to reprotect in an unplanned run).")
    in_drill: Literal["skip", "ask"] = Field(
        "skip", alias="inDrill",
        description="In a drill: skip (passes at once, recorded as skipped in drill) or ask (a person confirms it "
                    "as in a failover).")
    timeout_minutes: int | None = Field(
        None, alias="timeoutMinutes", ge=1, le=10080,
        description="Minutes without an answer before the manual_step_overdue alert (then again each interval; "
                    "it never answers by itself). Default: DR_APPROVAL_ALERT_MINUTES (30).")

    def instructions_for(self, failback: bool) -> str:
        """The instructions for the direction the run moves: failbackInstructions on the way back, when given."""
        return (self.failback_instructions or self.instructions) if failback else self.instructions


class ManualStepAdapter(Adapter):
    """A step a person performs and confirms (Airflow human-in-the-loop: Done / Failed, or mark the task
    success), placed in its wave after the automated work of its `phase`; its instructions (Markdown) go to
    Required Actions and the SNS notification; who answered and when is in the report. No AWS call."""
    rollback_phases = ()
    rollback_left_because = "a manual step: what a person did is undone by a person"

    actions = ("ManualStep",)
    config_model = ManualStepConfig
    phases = ()  # no adapter phase: its own task asks a person (orchestration.manual_steps)
    max_batch = 1  # each step is its own task, answered on its own
    drill_behaviour = ("inDrill: skip (default) passes at once, recorded as skipped in drill; ask: a person "
                       "confirms it as in a failover")
    unplanned_behaviour = ("asks as in a planned run (its notification avoids the dark region); a CLEANUP or REPLICATE "
                           "step waits for operation=reprotect, as the adapters' cleanup does")
    iam_actions = ()  # no AWS call
    discovery_types = ()  # nothing in AWS to tag: list manual steps under layers (a scope's hand-listed entries merge)

    def preflight(self, ctx: RunContext, unit: WorkUnit) -> list[Finding]:
        """No AWS to read: restate what will be asked, so a readiness report shows the runbook's manual steps."""
        findings = []
        for resource in unit.resources:
            cfg: ManualStepConfig = self.config(resource)
            asked = "not asked in a drill (inDrill: skip)" if ctx.is_drill and cfg.in_drill == "skip" else (
                f"a person confirms it after {placement(cfg)}")
            findings.append(Finding(resource.resource_id, True, f"manual step '{cfg.title}': {asked}"))
        return findings

    def validate(self, ctx: RunContext, unit: WorkUnit) -> list[HealthCheck]:
        """Its own task is its validation (Done or Failed); nothing for the wave's validate to check."""
        return [HealthCheck(r.resource_id, Health.HEALTHY, "a manual step: confirmed in its own task")
                for r in unit.resources]


def placement(cfg: ManualStepConfig) -> str:
    """Where the step is asked, in words."""
    return "the wave's validation" if cfg.phase == "VALIDATE" else cfg.phase


def manual_step_config(resource: ResourceSpec) -> ManualStepConfig:
    return ManualStepConfig.model_validate(resource.config)


def is_manual_step(action: str) -> bool:
    return action in ManualStepAdapter.actions


def placement_problems(resource_id: str, cfg: ManualStepConfig, manifest_phases: list[Phase]) -> list[str]:
    """A step placed after a phase the manifest does not run would never be asked."""
    if cfg.phase == "VALIDATE" or Phase(cfg.phase) in manifest_phases:
        return []
    return [f"resource {resource_id!r} (ManualStep) is placed after {cfg.phase}, which the manifest's phases "
            f"{[p.value for p in manifest_phases]} do not include -- add {cfg.phase} to phases or move the step"]


def asked_in_time(step: ManualStepConfig, step_wave: int, wave: int, manual_phase: str | None) -> bool:
    """Is a step asked before a resource of ``wave`` that depends on it runs? ``manual_phase``: that
    resource's own placement when it is a manual step too. INSTANTIATE and ACTIVATE steps are ordered by
    the planner's dependency steps like any resource; the later placements run in parallel with their
    peers, after every resource of their wave (VALIDATE) or of the run (CLEANUP, REPLICATE)."""
    if step.phase in ("INSTANTIATE", "ACTIVATE"):
        return True
    if step.phase == "VALIDATE":
        return wave > step_wave or manual_phase in ("CLEANUP", "REPLICATE")
    return step.phase == "CLEANUP" and manual_phase == "REPLICATE"
