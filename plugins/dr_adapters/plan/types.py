"""Small vocabulary shared by the plan model, the adapters and the Airflow glue."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Phase(str, Enum):
    """The four lifecycle phases (SRS FR-4), in the order they run."""

    INSTANTIATE = "INSTANTIATE"
    ACTIVATE = "ACTIVATE"
    CLEANUP = "CLEANUP"
    REPLICATE = "REPLICATE"

    @property
    def method(self) -> str:
        """Name of the adapter method implementing this phase."""
        return self.value.lower()


ALL_PHASES: tuple[Phase, ...] = tuple(Phase)
WAVE_PHASES: tuple[Phase, ...] = (Phase.INSTANTIATE, Phase.ACTIVATE)
"""Phases that run inside each wave; CLEANUP and REPLICATE run once after every wave is validated."""


class Operation(str, Enum):
    FAILOVER = "failover"
    FAILBACK = "failback"
    DRILL = "drill"
    READINESS = "readiness"
    REPROTECT = "reprotect"
    """After an unplanned failover (or failback), once the old region is back: its deferred CLEANUP and
    REPLICATE, so that replication runs the new way and the way back is open (SRM's reprotect)."""
    ROLLBACK = "rollback"
    """After a failover or failback that failed or was rejected: undo, in reverse wave order, exactly the
    waves it started, so the estate serves as it did before that run (FR-3.1 wave-level rollback)."""

    @property
    def is_disruptive(self) -> bool:
        return self in (Operation.FAILOVER, Operation.FAILBACK, Operation.REPROTECT, Operation.ROLLBACK)


class FailoverMode(str, Enum):
    """How a failover treats the region it leaves (AWS Region switch: graceful / ungraceful; SRM:
    planned migration / disaster recovery; Site Recovery: planned / unplanned failover)."""

    PLANNED = "planned"  # both regions answer: no data loss, the old side is cleaned up and re-protected
    UNPLANNED = "unplanned"  # the source is dark or impaired: no call to it, data loss up to the RPO allowed,
    # its CLEANUP and REPLICATE deferred to operation=reprotect once it is back


class Health(str, Enum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"


@dataclass(frozen=True)
class Regions:
    primary: str
    dr: str

    def source(self, operation: Operation) -> str:
        """The region an operation moves away from (failback swaps the roles)."""
        return self.dr if operation is Operation.FAILBACK else self.primary

    def target(self, operation: Operation) -> str:
        """The region an operation moves to (a drill rehearses moving to DR)."""
        return self.primary if operation is Operation.FAILBACK else self.dr


@dataclass(frozen=True)
class Scope:
    """Whose estate a DAG may touch: resources must carry matching Customer/Environment tags."""

    customer: str
    environment: str

    def mismatch(self, tags: dict[str, str]) -> str | None:
        """Why ``tags`` put a resource outside this scope, or None when they match."""
        problems = []
        for key, expected in (("Customer", self.customer), ("Environment", self.environment)):
            actual = tags.get(key)
            if actual != expected:
                problems.append(f"tag {key}={actual!r} (expected {expected!r})")
        return "; ".join(problems) or None


@dataclass(frozen=True)
class AccountAccess:
    """How the hub reaches a spoke account."""

    account_id: str
    role_arn: str
    external_id: str
