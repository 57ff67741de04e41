"""Record every AWS call a run makes (botocore event hooks), classified read-only or mutating.

    ctx, calls = recorded(make_ctx("failover"))
    ...
    assert calls.mutating == []
"""

from __future__ import annotations

READ_PREFIXES = ("Describe", "List", "Get")


class Calls(list):
    """Every AWS call, as IAM-style ``service:Operation`` (e.g. ``route53:ChangeResourceRecordSets``)."""

    def __call__(self, event_name, **_):
        _, service, operation = event_name.split(".", 2)
        self.append(f"{service.replace('-', '')}:{operation}")  # event ids are hyphenated: route-53

    @property
    def mutating(self) -> list[str]:
        return [c for c in self if not c.startswith("sts:") and not c.split(":")[1].startswith(READ_PREFIXES)]


def recorded(ctx):
    """Hook a call recorder into every client of ``ctx`` (hub and spokes, made now or later)."""
    calls = Calls()
    ctx.aws.register_event("before-call", calls)
    return ctx, calls
