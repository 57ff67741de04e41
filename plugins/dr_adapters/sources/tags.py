"""The DR tag schema (SRS Appendix H.1): what a resource's tags say about its place in a failover.

Tag discovery reads these from every resource tagged ``dr:enabled=true`` for a scope; each problem
names the resource's ARN, the tag, its value and the fix, so a tired engineer can correct the tag
and run discovery again. Plain Python: the discovery code (and its tests) feed it tag dicts.

| tag | meaning | when wrong |
|---|---|---|
| ``dr:enabled`` | ``true`` puts the resource in scope | anything else: not in scope |
| ``dr:wave`` | 1-10, the wave (layer) it fails over in | missing or out of range: an error |
| ``dr:priority`` | critical, high, medium, low: order inside its wave | invalid: medium, with a warning; missing: low |
| ``dr:recovery-strategy`` | where a technology allows several (Aurora: switchover, failover) | unknown: an error |
| ``dr:rto-target`` / ``dr:rpo-target`` | minutes | not a positive integer: an error |
| ``dr:health-check-url`` | http(s) URL checked after activation | not a URL: an error |
| ``dr:dependencies`` | resource ids (or names) that must finish first, separated by spaces (or ``+`` or commas where the service allows them) | checked against the estate |
| ``Customer`` / ``Environment`` | the scope | must match the scope (the scope guard) |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

PRIORITIES = ("critical", "high", "medium", "low")
# RDS, Lambda and ECS refuse commas in tag values (letters, digits, spaces and _ . : / = + - @ only):
# lists are separated by spaces or '+', and by commas where a service takes them (EC2, DRS).
LIST_SEPARATORS = re.compile(r"[\s,+]+")


def tag_list(value: str | None) -> tuple[str, ...]:
    """The items of a list-valued tag (``dr:dependencies``, ``dr:subnets`` ...)."""
    return tuple(v for v in LIST_SEPARATORS.split(str(value or "")) if v)
WAVES = range(1, 11)


@dataclass(frozen=True)
class TagProblem:
    """One tag that cannot be used as it is: where, what, and how to fix it."""

    arn: str
    tag: str
    value: str | None
    problem: str
    fix: str
    error: bool = True  # False: a warning, the resource is still planned (e.g. invalid priority -> medium)

    def __str__(self) -> str:
        kind = "error" if self.error else "warning"
        return f"{kind}: {self.arn}: tag {self.tag}={self.value!r} {self.problem} -- {self.fix}"


@dataclass(frozen=True)
class DrTags:
    """What a resource's tags say; ``problems`` lists every tag that could not be used."""

    arn: str
    enabled: bool
    wave: int | None = None
    priority: str = "low"
    recovery_strategy: str | None = None
    rto_minutes: int | None = None
    rpo_minutes: int | None = None
    health_check_url: str | None = None
    dependencies: tuple[str, ...] = ()
    customer: str | None = None
    environment: str | None = None
    problems: tuple[TagProblem, ...] = field(default=())

    @property
    def errors(self) -> list[TagProblem]:
        return [p for p in self.problems if p.error]

    @property
    def warnings(self) -> list[TagProblem]:
        return [p for p in self.problems if not p.error]


def parse_dr_tags(arn: str, tags: Mapping[str, str], *, strategies: tuple[str, ...] = ()) -> DrTags:
    """Read the DR tags of the resource ``arn``. ``strategies``: the recovery strategies its
    technology accepts (none: ``dr:recovery-strategy`` must be absent)."""
    problems: list[TagProblem] = []

    def problem(tag: str, problem: str, fix: str, *, error: bool = True) -> None:
        problems.append(TagProblem(arn, tag, tags.get(tag), problem, fix, error))

    enabled = str(tags.get("dr:enabled", "")).strip().lower() == "true"

    wave = None
    raw_wave = tags.get("dr:wave")
    if raw_wave is None:
        if enabled:
            problem("dr:wave", "is missing", "tag the resource with dr:wave=1..10 (the wave it fails over in)")
    elif not str(raw_wave).strip().isdigit() or int(raw_wave) not in WAVES:
        problem("dr:wave", "is not a wave number from 1 to 10", "set dr:wave to 1..10 (1 fails over first)")
    else:
        wave = int(raw_wave)

    priority = "low"  # missing: the lowest priority (H.1)
    raw_priority = tags.get("dr:priority")
    if raw_priority is not None:
        if str(raw_priority).strip().lower() in PRIORITIES:
            priority = str(raw_priority).strip().lower()
        else:
            priority = "medium"  # invalid: medium, as H.1 says, with a warning to fix it
            problem("dr:priority", f"is not one of {', '.join(PRIORITIES)}; medium is used",
                    "set dr:priority to critical, high, medium or low", error=False)

    strategy = tags.get("dr:recovery-strategy")
    if strategy is not None:
        strategy = str(strategy).strip().lower()
        if strategy not in strategies:
            allowed = f"one of {', '.join(strategies)}" if strategies else "absent: this technology has one strategy"
            problem("dr:recovery-strategy", "is not a recovery strategy of this technology",
                    f"set dr:recovery-strategy to {allowed}")
            strategy = None

    minutes: dict[str, int | None] = {}
    for tag in ("dr:rto-target", "dr:rpo-target"):
        raw = tags.get(tag)
        minutes[tag] = None
        if raw is not None:
            if str(raw).strip().isdigit() and int(raw) > 0:
                minutes[tag] = int(raw)
            else:
                problem(tag, "is not a whole number of minutes above 0", f"set {tag} to minutes, e.g. 60")

    url = tags.get("dr:health-check-url")
    if url is not None and not re.match(r"^https?://\S+$", str(url)):
        problem("dr:health-check-url", "is not an http(s) URL", "set dr:health-check-url to https://... or remove it")
        url = None

    deps = tag_list(tags.get("dr:dependencies"))

    return DrTags(arn=arn, enabled=enabled, wave=wave, priority=priority, recovery_strategy=strategy,
                  rto_minutes=minutes["dr:rto-target"], rpo_minutes=minutes["dr:rpo-target"],
                  health_check_url=url, dependencies=deps, customer=tags.get("Customer"),
                  environment=tags.get("Environment"), problems=tuple(problems))


def unknown_dependencies(found: Mapping[str, DrTags], names: Mapping[str, str]) -> list[TagProblem]:
    """Each ``dr:dependencies`` entry that names no discovered resource. ``found``: resource id ->
    its tags; ``names``: any other name a dependency may use (e.g. the resource's Name tag) -> id."""
    known = set(found) | set(names)
    out = []
    for rid, tags in found.items():
        for dep in tags.dependencies:
            if dep not in known:
                out.append(TagProblem(tags.arn, "dr:dependencies", " ".join(tags.dependencies),
                                      f"names {dep!r}, which is not a discovered resource of this scope",
                                      f"tag {dep!r} with dr:enabled=true for this scope, or remove it from the list"))
    return out
