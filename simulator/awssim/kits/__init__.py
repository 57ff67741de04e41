"""Adapter kits: everything the simulator, the tests and the benchmarks know about one technology.

One module per technology, named like its adapter module (``kits/drs.py`` for ``adapters/drs.py``),
defining one ``Kit`` subclass. A kit seeds the technology's resources from manifest entries, reads
who serves where (the before/after snapshot), says which region serves, makes synthetic configs,
breaks a resource on purpose, and lists the branches its adapter's least-privilege run must also
reach. Seeding, snapshots, synthetic estates, the conformance suite and the benchmarks loop over
the kits, so no list of actions lives anywhere else.

Kits are the test oracle: they read AWS with plain describe calls and never import an adapter
(what judges the adapters must not share code with them). ``tests/adapters/test_contract.py``
fails when a registered action has no kit.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

import boto3

PRIMARY, DR = "primary", "dr"  # how snapshots name the two sides: stable whichever regions a plan uses

NO_AWS_STATE: frozenset[str] = frozenset({"ManualStep"})
"""Actions that hold nothing in AWS (a person performs a ManualStep): they have no kit, and seeding,
snapshots and estate tables pass over them; the conformance suite excludes them by name."""


def in_aws(resource: Any) -> bool:
    """Does this manifest resource exist in AWS (so a kit seeds and reads it)?"""
    return resource.action not in NO_AWS_STATE


@dataclass
class Estate:
    """One plan's estate as a kit sees it: regions, scope, and a boto3 session per account.

    ``sessions`` maps the plan's account ids (None: the hub) to sessions with that account's
    credentials; ``cache`` lets a kit read a listing once per snapshot (e.g. DRS source servers).
    """

    primary: str
    dr: str
    customer: str
    environment: str
    sessions: dict[str | None, boto3.Session]
    hub_account_id: str | None = None  # read from STS when first needed, if the plan does not say
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def hub_account(self) -> str:
        if self.hub_account_id is None:
            self.hub_account_id = self.sessions[None].client("sts").get_caller_identity()["Account"]
        return self.hub_account_id

    def session(self, account_id: str | None) -> boto3.Session:
        return self.sessions[account_id] if account_id in self.sessions else self.sessions[None]

    def account(self, account_id: str | None) -> str:
        """The real account id of a resource's ``accountId`` (None: the hub)."""
        return account_id or self.hub_account

    def side(self, region: str) -> str:
        """``primary`` or ``dr`` for a region of this estate."""
        return {self.primary: PRIMARY, self.dr: DR}[region]

    @property
    def scope_tags(self) -> dict[str, str]:
        return {"Customer": self.customer, "Environment": self.environment}

    def accounts(self) -> list[str | None]:
        """Each account once (None: the hub; the hub's own id, when listed, is the same account)."""
        return [a for a in self.sessions if a is None or self.sessions[a] is not self.sessions[None]]


@dataclass(frozen=True)
class Seed:
    """One resource to seed: its manifest entry (a ``ResourceSpec``) and the tags it carries."""

    resource: Any
    tags: dict[str, str]


# drive(steps, units, between=None): run a list of steps (phase names, "preflight", "validate") of
# the operation the caller chose; what a kit's least-privilege variants use to reach their branch.
Drive = Callable[..., Any]


class Kit:
    """What the simulator, the tests and the benchmarks need to know about one technology."""

    actions: ClassVar[tuple[str, ...]]
    """The manifest actions it covers: exactly its adapter's ``actions``."""

    services: ClassVar[tuple[str, ...]] = ()
    """AWS services whose state the adapter may change besides serving roles (``state`` reads them)."""

    acts: ClassVar[dict[str, frozenset[str]]] = {}
    """Phases the adapter really changes something in, per operation (failover, failback, drill), on
    the kit's mini-estate: proves the conformance grid is not vacuous."""

    # -- synthetic estates ----------------------------------------------------------------------
    kind: ClassVar[str]
    """Short label for synthetic resource ids: ``db``, ``srv``, ``svc`` ..."""
    share: ClassVar[float] = 0.0
    """Share of a synthetic estate's resources; the largest share takes the remainder. 0: not in synthetic
    estates (the benchmarks' estates keep their mix when a technology is added)."""
    rank: ClassVar[int] = 50
    """Wave order in synthetic estates: lower comes first (databases before servers before DNS)."""
    spoke_every: ClassVar[int] = 5
    """Every n-th synthetic resource of this kind lives in the spoke account."""
    depends_on: ClassVar[str | None] = None
    """Kind of a synthetic resource of the same account this one depends on (services on a database)."""

    def synthetic_config(self, customer: str, n: int, *, spoke: bool) -> dict[str, Any]:
        """The manifest ``config`` of the n-th resource of this kind of ``customer`` (unique ids)."""
        raise NotImplementedError

    # -- seeding --------------------------------------------------------------------------------
    config_tags: ClassVar[dict[str, str]] = {}
    """Manifest ``config`` keys that tag discovery reads back from tags, and the tag that carries
    each (``{"mode": "dr:recovery-strategy"}``): seeding writes them for the keys a resource's config
    has, so a discovered estate can say what the manifest says."""

    def seed(self, estate: Estate, items: list[Seed]) -> None:
        """Create the resources as the manifest names them, serving from the primary region with the
        DR side standing by. Every resource created for an item (both regions: DR copies, replicas,
        source instances, a global cluster) carries all of ``item.tags``, so tag discovery finds the
        same estate from either region. ``items`` holds every resource of this kit in the plan (all
        accounts), so a kit can batch (one hosted zone per zone id ...)."""
        raise NotImplementedError

    # -- the oracle -----------------------------------------------------------------------------
    def serving_role(self, estate: Estate, resource: Any) -> Any:
        """Who serves where for one resource, read with describe calls; ids of things created along
        the way (instances, versions) are left out so a snapshot compares across runs."""
        raise NotImplementedError

    def serves_from(self, resource: Any, role: Any) -> str | None:
        """``primary`` or ``dr`` for a ``serving_role``; None when it is neither (half-way)."""
        raise NotImplementedError

    def serves_in(self, estate: Estate, resource: Any, side: str) -> bool:
        """Whether ``side`` serves the resource now, whether or not the other side still does (after an
        unplanned failover the old side is left as it was, dark, until reprotect)."""
        return self.serves_from(resource, self.serving_role(estate, resource)) == side

    def state(self, session: boto3.Session, region: str) -> Any:
        """Everything of ``services`` in one account and region: what a second run must not change."""
        return None

    def leftovers(self, estate: Estate) -> list[str]:
        """What a drill must not leave behind (e.g. running drill instances), in every account."""
        return []

    # -- breaking it on purpose -----------------------------------------------------------------
    def break_resource(self, estate: Estate, resource: Any) -> str:
        """Break the resource's DR side out of band so that preflight must fail it; returns a word
        the preflight finding must contain."""
        raise NotImplementedError

    prerequisites: ClassVar[tuple[str, ...]] = ()
    """What the adapter's phases need in the region moved to besides the resource itself (the cluster a
    service is created in, the roles its tasks assume, a recovery instance's launch template ...), each
    one ``break_prerequisite`` can remove: preflight must then fail the resource, naming it."""

    def break_prerequisite(self, estate: Estate, resource: Any, which: str) -> str:
        """Remove ``which`` (one of ``prerequisites``) of the resource's DR side out of band; returns the
        name the failing preflight finding must contain."""
        raise NotImplementedError

    # -- least privilege --------------------------------------------------------------------------
    def iam_variants(self, estate: Estate, drive: Drive) -> None:
        """Drive the branches the mini-estate does not reach, so every granted action is called."""


@lru_cache(maxsize=None)
def all_kits() -> tuple[Kit, ...]:
    """One instance of every kit module's ``Kit`` subclass, in module-name order."""
    kits: list[Kit] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        kits += [obj() for _, obj in inspect.getmembers(module, inspect.isclass)
                 if issubclass(obj, Kit) and obj is not Kit and obj.__module__ == module.__name__]
    return tuple(kits)


def kit_for(action: str) -> Kit:
    for kit in all_kits():
        if action in kit.actions:
            return kit
    raise KeyError(f"no simulator kit covers action {action!r}: add simulator/awssim/kits/<module>.py "
                   "(docs/adding-an-adapter.md)")


def kit_actions() -> dict[str, Kit]:
    return {action: kit for kit in all_kits() for action in kit.actions}
