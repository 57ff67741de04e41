"""Maps a manifest ``action`` to the adapter that implements it, checking each adapter as it registers.

Adapters are found, not listed: every module of this package defining a concrete ``Adapter``
subclass (one with ``actions``) registers it, so a new technology is its module and nothing else
here. Registration refuses, naming the adapter, what would otherwise surface as a confusing failure
mid-run (the pluggy idea: check plugins when they register, not when they are called):

* two adapters claiming one action;
* declared ``phases`` that differ from the phase methods the adapter overrides;
* no ``unplanned_behaviour`` (every adapter has an unplanned path, and says what it is);
* a config model that is not an ``ActionConfig``;
* an IAM action name that is not ``service:Operation``;
* discovery half-declared: ``discovery_types`` not ``service:type``, or without its own ``derive`` and
  ``identity``; a ``recovery_strategies`` entry setting a key its config does not have.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable

from dr_adapters.adapters.base import ActionConfig, Adapter
from dr_adapters.plan.types import Phase


# Modules of this package that hold no adapter: the contract, families, shared reads, an adapter's parts, the
# runner, this file.
_NOT_ADAPTERS = frozenset({"base", "capacity", "custom_steps", "discovery", "drs_launch", "prerequisites", "rds_pair",
                           "regional", "replicated", "registry", "runner"})
IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$")
RESOURCE_TYPE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9-]+$")  # the type may be camelCase: autoscaling:autoScalingGroup


class AdapterRegistrationError(TypeError):
    """An adapter breaks the contract; raised when it registers (at import), naming it."""


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def overridden_phases(cls: type[Adapter]) -> set[Phase]:
    """The phases whose method ``cls`` (or a family it belongs to) defines instead of the base no-op."""
    return {p for p in Phase if getattr(cls, p.method) is not getattr(Adapter, p.method)}


def check_adapter(cls: type[Adapter], claimed: dict[str, type[Adapter]]) -> None:
    """Refuse ``cls`` if it breaks the contract; ``claimed`` maps the actions registered so far."""
    name = _name(cls)
    problems: list[str] = []
    actions = getattr(cls, "actions", ())
    if not actions or not all(isinstance(a, str) and a for a in actions):
        problems.append("`actions` must be a non-empty tuple of manifest action names")
    for action in actions:
        if action in claimed and claimed[action] is not cls:
            problems.append(f"action {action!r} is already claimed by {_name(claimed[action])} -- "
                            "give each action one adapter")
    if not str(getattr(cls, "unplanned_behaviour", "")).strip():
        problems.append("no unplanned_behaviour -- say what it does when the region it leaves is dark "
                        "(no call to it; CLEANUP and REPLICATE wait for reprotect)")
    model = getattr(cls, "config_model", None)
    if not (inspect.isclass(model) and issubclass(model, ActionConfig)):
        problems.append(f"config_model {model!r} is not an ActionConfig subclass -- derive the config schema "
                        "from dr_adapters.adapters.base.ActionConfig")
    declared, defined = set(cls.phases), overridden_phases(cls)
    if len(cls.phases) != len(declared) or declared != defined:
        problems.append(
            f"declared phases {sorted(p.value for p in declared)} differ from the phase methods it defines "
            f"{sorted(p.value for p in defined)} -- list exactly the phases it acts in")
    iam = list(cls.iam_actions) + [a for group in cls.service_side_actions for a in group.actions]
    bad = [a for a in iam if not (isinstance(a, str) and IAM_ACTION.match(a))]
    if bad:
        problems.append(f"malformed IAM action name(s) {bad} -- write service:Operation, e.g. 'drs:StartRecovery'")
    problems += _discovery_problems(cls, model)
    if problems:
        raise AdapterRegistrationError(f"adapter {name} cannot be registered: " + "; ".join(problems))


def _discovery_problems(cls: type[Adapter], model: object) -> list[str]:
    problems = []
    types = list(cls.discovery_types)
    bad = [t for t in types if not (isinstance(t, str) and RESOURCE_TYPE.match(t))]
    if bad:
        problems.append(f"discovery_types {bad} are not service:type as AWS names them, e.g. 'ecs:service'")
    if types and (cls.derive is Adapter.derive or cls.identity is Adapter.identity):
        problems.append("declares discovery_types but not its own derive() and identity() -- define both "
                        "(docs/adding-an-adapter.md), or drop discovery_types")
    if inspect.isclass(model) and issubclass(model, ActionConfig):
        keys = {f.alias or n for n, f in model.model_fields.items()} | set(model.model_fields)
        for strategy, config in cls.recovery_strategies.items():
            unknown = sorted(set(config) - keys)
            if unknown:
                problems.append(f"recovery strategy {strategy!r} sets {unknown}, not keys of {model.__name__}")
    return problems


def discover(package: str = __package__) -> list[type[Adapter]]:
    """Every concrete adapter class defined in the modules of ``package``, in module-name order."""
    found: list[type[Adapter]] = []
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name in _NOT_ADAPTERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        found += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, Adapter) and obj.__module__ == module.__name__
                  and "actions" in vars(obj) and not inspect.isabstract(obj)]
    return found


def register(classes: Iterable[type[Adapter]]) -> dict[str, Adapter]:
    """The action table for ``classes``, each checked against the contract and the others."""
    claimed: dict[str, type[Adapter]] = {}
    for cls in classes:
        check_adapter(cls, claimed)
        claimed.update(dict.fromkeys(cls.actions, cls))
    instances = {cls: cls() for cls in dict.fromkeys(claimed.values())}
    return {action: instances[cls] for action, cls in claimed.items()}


ADAPTER_CLASSES: tuple[type[Adapter], ...] = tuple(discover())
_BY_ACTION: dict[str, Adapter] = register(ADAPTER_CLASSES)


def supported_actions() -> list[str]:
    return list(_BY_ACTION)


def adapter_for(action: str) -> Adapter:
    try:
        return _BY_ACTION[action]
    except KeyError:
        raise KeyError(f"unknown action {action!r}; supported: {', '.join(supported_actions())}") from None


def config_models() -> dict[str, type[ActionConfig]]:
    return {action: adapter.config_model for action, adapter in _BY_ACTION.items()}
