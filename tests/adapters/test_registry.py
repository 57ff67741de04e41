"""Checked registration: an adapter that breaks the contract is refused when it registers, by name."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from dr_adapters.adapters.base import ActionConfig, Adapter, PhaseOutcome
from dr_adapters.adapters.registry import (
    ADAPTER_CLASSES,
    AdapterRegistrationError,
    discover,
    overridden_phases,
    register,
    supported_actions,
)
from dr_adapters.plan.types import Phase


class WidgetConfig(ActionConfig):
    name: str


def adapter(name: str = "WidgetAdapter", **attrs) -> type[Adapter]:
    """A throwaway adapter class: ACTIVATE only, one IAM action, unless ``attrs`` says otherwise."""
    body = {"actions": ("Widget",), "config_model": WidgetConfig, "phases": (Phase.ACTIVATE,),
            "iam_actions": ("widget:FlipWidget",), "unplanned_behaviour": "flips the DR widget only",
            "activate": lambda self, ctx, unit: PhaseOutcome()}
    body.update(attrs)
    return type(name, (Adapter,), body)


def test_the_shipped_adapters_register_cleanly():
    assert set(supported_actions()) == {a for cls in ADAPTER_CLASSES for a in cls.actions}
    assert register(ADAPTER_CLASSES)  # again, from scratch: nothing refused
    assert list(discover()) == list(ADAPTER_CLASSES)


def test_a_well_formed_adapter_registers():
    table = register([adapter()])
    assert list(table) == ["Widget"] and type(table["Widget"]).__name__ == "WidgetAdapter"


def test_two_adapters_claiming_one_action_are_refused_by_name():
    with pytest.raises(AdapterRegistrationError, match=r"SecondWidget.*'Widget' is already claimed by .*WidgetAdapter"):
        register([adapter(), adapter("SecondWidget")])


def test_an_existing_action_claimed_again_is_refused():
    with pytest.raises(AdapterRegistrationError, match=r"Impostor.*'DRS' is already claimed by .*DrsAdapter"):
        register([*ADAPTER_CLASSES, adapter("Impostor", actions=("DRS",))])


@pytest.mark.parametrize("declared, message", [
    ((Phase.ACTIVATE, Phase.CLEANUP), r"declared phases \['ACTIVATE', 'CLEANUP'\] differ from .* \['ACTIVATE'\]"),
    ((), r"declared phases \[\] differ"),
    ((Phase.ACTIVATE, Phase.ACTIVATE), r"declared phases"),
])
def test_declared_phases_must_be_the_phase_methods_it_defines(declared, message):
    with pytest.raises(AdapterRegistrationError, match=rf"WidgetAdapter.*{message}"):
        register([adapter(phases=declared)])


def test_a_family_s_phase_methods_count_as_defined():
    from dr_adapters.adapters.ecs import EcsServiceAdapter

    assert Phase.CLEANUP in overridden_phases(EcsServiceAdapter)  # from RegionalCopyAdapter


@pytest.mark.parametrize("model", [dict, BaseModel, None])
def test_a_config_model_that_is_not_an_action_config_is_refused(model):
    with pytest.raises(AdapterRegistrationError, match="WidgetAdapter.*not an ActionConfig subclass"):
        register([adapter(config_model=model)])


@pytest.mark.parametrize("bad", ["FlipWidget", "widget:flipWidget", "widget:Flip Widget", "Widget:FlipWidget", ""])
def test_malformed_iam_action_names_are_refused(bad):
    with pytest.raises(AdapterRegistrationError, match="WidgetAdapter.*malformed IAM action"):
        register([adapter(iam_actions=("widget:FlipWidget", bad))])


def test_an_adapter_without_an_unplanned_path_is_refused():
    with pytest.raises(AdapterRegistrationError, match="WidgetAdapter.*no unplanned_behaviour"):
        register([adapter(unplanned_behaviour="")])


def test_every_problem_is_named_at_once():
    with pytest.raises(AdapterRegistrationError) as refused:
        register([adapter(config_model=dict, iam_actions=("nope",), phases=())])
    assert str(refused.value).count(" -- ") == 3


def test_half_declared_discovery_is_refused():
    with pytest.raises(AdapterRegistrationError, match=r"WidgetAdapter.*'Widget Service'.*not service:type"):
        register([adapter(discovery_types=("Widget Service",))])
    with pytest.raises(AdapterRegistrationError, match="WidgetAdapter.*not its own derive"):
        register([adapter(discovery_types=("widget:widget",))])
    with pytest.raises(AdapterRegistrationError, match=r"WidgetAdapter.*strategy 'fast' sets \['speed'\]"):
        register([adapter(recovery_strategies={"fast": {"speed": 11}})])
    derives = {"discovery_types": ("widget:widget",), "derive": lambda self, found, read: [],
               "identity": lambda self, config, account: f"widget/{account}/{config['name']}",
               "recovery_strategies": {"quick": {"name": "quick"}}}
    assert list(register([adapter(**derives)])) == ["Widget"]
