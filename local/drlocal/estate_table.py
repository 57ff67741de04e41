"""The estate as a DR engineer reads it at a glance: one row per resource, which region serves it
before and after the run (``make demo``, and anything else that shows an estate change)."""

from __future__ import annotations

from typing import Any

from awssim.kits import in_aws, kit_for

HEADERS = ("wave", "resource", "action", "account", "serving before", "serving after")


def serving_region(plan: Any, side: str | None) -> str:
    """The region a side stands for; a resource half-way through (None) says so."""
    if side is None:
        return "half-way (check it)"
    return {"primary": plan.regions.primary, "dr": plan.regions.dr}.get(side, side)


def estate_rows(plan: Any, before: dict[str, Any], after: dict[str, Any] | None = None) -> list[tuple[str, ...]]:
    """Rows in wave order, from the kits' own reading of each resource's serving role."""
    rows = []
    for wave in plan.waves:
        for unit in wave.units:
            for resource in filter(in_aws, unit.resources):  # a ManualStep serves from nowhere
                kit = kit_for(resource.action)
                rid = resource.resource_id
                was = serving_region(plan, kit.serves_from(resource, before[rid]))
                now = serving_region(plan, kit.serves_from(resource, after[rid])) if after is not None else ""
                rows.append((str(wave.number), rid, resource.action, resource.account_id or "hub", was, now))
    return rows


def estate_table(plan: Any, before: dict[str, Any], after: dict[str, Any] | None = None) -> str:
    """A fixed-width table; without ``after``, only the 'serving before' column is filled."""
    headers = HEADERS if after is not None else HEADERS[:-1]
    rows = [row[:len(headers)] for row in estate_rows(plan, before, after)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("{:<%d}" % w for w in widths)
    out = [line.format(*headers), line.format(*("-" * w for w in widths))]
    out += [line.format(*row) for row in rows]
    if after is not None:
        moved = sum(1 for row in rows if row[4] != row[5])
        out.append(f"{moved} of {len(rows)} resources changed serving region")
    return "\n".join(line.rstrip() for line in out)
