"""Resources deployed in both regions, one copy per region (ECS services, Lambda functions, Auto Scaling groups).

Every phase reads one region's copy (a *side*: the source being left or the target being moved
to), checks its ``Customer``/``Environment`` tags against the run's scope before touching it, and
converges. What differs per technology is how a copy is read and tagged, and what serving and
retiring mean; the loop, the scope guard, the preflight findings and the cleanup are here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar, Generic, TypeVar

from dr_adapters.adapters.base import Adapter, AdapterError, Finding, PhaseOutcome, RunContext, source_finding
from dr_adapters.plan.model import WorkUnit

Side = TypeVar("Side")  # a NamedTuple naming one region's copy; str() reads "ECS service x/y in us-west-2"


class RegionalCopyAdapter(Adapter, Generic[Side]):
    scope_fix: ClassVar[str] = "fix its Customer/Environment tags or remove it from the manifest"
    """What to do about a copy tagged for another customer or environment."""

    retire_label: ClassVar[str]
    retired_label: ClassVar[str]
    """CLEANUP's verb and participle, for its notes: 'scale down' / 'scaled down', 'park' / 'parked'."""

    # -- what each technology provides -----------------------------------------------------------
    @abstractmethod
    def _sides(self, ctx: RunContext, cfg: Any) -> tuple[Side, Side]:
        """(source, target) for this run's direction."""

    @abstractmethod
    def _read(self, ctx: RunContext, unit: WorkUnit, side: Side) -> dict[str, Any] | None:
        """The copy as AWS describes it, or None when it does not exist."""

    @abstractmethod
    def _tags(self, ctx: RunContext, unit: WorkUnit, side: Side, found: dict[str, Any]) -> dict[str, str]:
        """The copy's tags."""

    @abstractmethod
    def _retire(self, ctx: RunContext, unit: WorkUnit, rid: str, source: Side, found: dict[str, Any],
                out: PhaseOutcome) -> None:
        """CLEANUP of one in-scope source copy: stop it serving (only if it still does)."""

    # -- shared ------------------------------------------------------------------------------------
    def _each(self, ctx: RunContext, unit: WorkUnit) -> Iterator[tuple[str, Any, Side, Side]]:
        """(resource id, config, source, target) per resource of the unit."""
        for res in unit.resources:
            cfg = self.config(res)
            yield (res.resource_id, cfg, *self._sides(ctx, cfg))

    def _guard(self, ctx: RunContext, unit: WorkUnit, rid: str, side: Side, found: dict[str, Any]) -> None:
        """Refuse to touch a copy outside the DAG's customer/environment (no cross-customer accidents)."""
        problem = ctx.scope.mismatch(self._tags(ctx, unit, side, found))
        if problem:
            raise AdapterError(rid, f"{side} is out of scope: {problem}", self.scope_fix)

    def _in_scope(self, ctx: RunContext, unit: WorkUnit, rid: str, side: Side, found: dict[str, Any] | None,
                  fix: str) -> dict[str, Any]:
        """``found``, after checking it exists (else ``fix`` says what to do) and is in scope."""
        if found is None:
            raise AdapterError(rid, f"{side} does not exist", fix)
        self._guard(ctx, unit, rid, side, found)
        return found

    def _require(self, ctx: RunContext, unit: WorkUnit, rid: str, side: Side, fix: str) -> dict[str, Any]:
        """Read the copy; it must exist (else ``fix``) and be in scope."""
        return self._in_scope(ctx, unit, rid, side, self._read(ctx, unit, side), fix)

    def _exists_finding(self, ctx: RunContext, unit: WorkUnit, rid: str, side: Side, found: dict[str, Any]) -> Finding:
        """Preflight of an existing copy: in scope or not, with its tags for the scope guard's message."""
        tags = self._tags(ctx, unit, side, found)
        problem = ctx.scope.mismatch(tags)
        return Finding(rid, not problem, f"{side} is out of scope: {problem}" if problem else f"{side} exists", tags)

    def _source_finding(self, ctx: RunContext, unit: WorkUnit, rid: str, source: Side, *, target_ok: bool) -> Finding:
        """Preflight of the copy being left: a warning only when it is down and the target is fine."""
        def read_tags() -> dict[str, str] | None:
            found = self._read(ctx, unit, source)
            return self._tags(ctx, unit, source, found) if found else None

        return source_finding(ctx, rid, str(source), read_tags, target_ok=target_ok)

    def cleanup(self, ctx: RunContext, unit: WorkUnit) -> PhaseOutcome:
        if ctx.is_drill:
            return PhaseOutcome(notes=[f"drill: production is never {self.retired_label}"])
        out = PhaseOutcome()
        for rid, _, source, _ in self._each(ctx, unit):
            found = self._read(ctx, unit, source)
            if found is None:
                out.notes.append(f"{rid}: {source} does not exist; nothing to {self.retire_label}")
                continue
            self._guard(ctx, unit, rid, source, found)
            self._retire(ctx, unit, rid, source, found, out)
        return out
