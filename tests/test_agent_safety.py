"""The safety layer on its own: deny by default, confirmation through a callback, step and time limits."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import parse_action
from omnirt.agents.safety import SafetyPolicy


def act(**kw):
    return parse_action(kw)


def test_pointer_actions_need_an_allowed_region() -> None:
    p = SafetyPolicy()  # defaults: nothing allowed for the pointer
    d = p.check(act(action="click", x=10, y=10))
    assert not d.allowed and "no allowed_region" in d.reason


def test_region_bounds_are_exclusive_and_cover_every_point() -> None:
    p = SafetyPolicy(allowed_region=(100, 100, 200, 200))
    assert p.check(act(action="click", x=100, y=100)).allowed
    assert p.check(act(action="double_click", x=199, y=199)).allowed
    assert not p.check(act(action="right_click", x=200, y=150)).allowed
    d = p.check(act(action="click", x=50, y=150))
    assert not d.allowed and "outside the allowed region" in d.reason and not d.needs_confirmation
    assert not p.check(act(action="drag", x=150, y=150, to_x=250, to_y=150)).allowed  # the end is outside
    assert p.check(act(action="drag", x=150, y=150, to_x=190, to_y=110)).allowed
    assert not p.check(act(action="scroll", x=10, y=10, amount=3)).allowed
    assert not p.check(act(action="click", element="e1")).allowed  # unresolved element: no point to check


@pytest.mark.parametrize("keys", [["alt", "f4"], ["ctrl", "w"], ["ctrlleft", "w"], ["ctrl", "shift", "w"],
                                  ["ctrl", "alt", "t"], ["delete"], ["del"], ["shift", "delete"],
                                  ["ctrl", "alt", "delete"], ["win"], ["winleft", "r"], ["command"], ["ctrl", "q"]])
def test_deny_listed_hotkeys_are_denied_without_a_callback(keys) -> None:
    d = SafetyPolicy().check(act(action="hotkey", keys=keys))
    assert not d.allowed and d.needs_confirmation and "no confirm callback" in d.reason


def test_unlisted_keys_need_confirmation_and_ordinary_ones_do_not() -> None:
    p = SafetyPolicy()
    assert p.check(act(action="hotkey", keys=["ctrl", "a"])).allowed
    assert p.check(act(action="hotkey", keys=["tab"])).allowed
    d = p.check(act(action="hotkey", keys=["f5"]))
    assert not d.allowed and d.needs_confirmation and "not in allowed_keys" in d.reason


def test_confirmation_callback_decides_and_sees_the_reason() -> None:
    asked = []

    def yes(action, reason):
        asked.append((action.action, reason))
        return True

    d = SafetyPolicy(confirm=yes).check(act(action="hotkey", keys=["ctrl", "alt", "delete"]))
    assert d.allowed and d.needs_confirmation and "confirmed" in d.reason
    assert asked == [("hotkey", "ctrl+alt+delete matches deny-listed alt+ctrl+delete")]
    d = SafetyPolicy(confirm=lambda a, r: False).check(act(action="hotkey", keys=["alt", "f4"]))
    assert not d.allowed and "refused" in d.reason

    def broken(a, r):
        raise RuntimeError("ui gone")

    d = SafetyPolicy(confirm=broken).check(act(action="hotkey", keys=["alt", "f4"]))
    assert not d.allowed and "confirm callback failed" in d.reason


def test_typed_control_characters_need_confirmation() -> None:
    p = SafetyPolicy()
    assert p.check(act(action="type", text="hello world")).allowed
    d = p.check(act(action="type", text="rm -rf ~\n"))
    assert not d.allowed and d.needs_confirmation and "control characters" in d.reason and "'\\n'" in d.reason
    assert SafetyPolicy(confirm=lambda a, r: True).check(act(action="type", text="a\tb")).allowed


def test_non_input_actions_are_allowed() -> None:
    p = SafetyPolicy()
    for a in (act(action="done"), act(action="wait", seconds=1), act(action="call_user", question="ok?")):
        assert p.check(a).allowed


def test_step_limit_counts_every_checked_action() -> None:
    p = SafetyPolicy(allowed_region=(0, 0, 100, 100), max_steps=3)
    results = [p.check(act(action="click", x=500, y=5)).allowed,  # denied ones count too
               p.check(act(action="click", x=5, y=5)).allowed, p.check(act(action="click", x=5, y=5)).allowed]
    assert results == [False, True, True]
    d = p.check(act(action="click", x=5, y=5))
    assert not d.allowed and "step limit" in d.reason
    assert not p.check(act(action="done")).allowed
    p.reset()
    assert p.check(act(action="click", x=5, y=5)).allowed


def test_time_limit_from_the_first_check() -> None:
    now = [1000.0]
    p = SafetyPolicy(allowed_region=(0, 0, 100, 100), max_seconds=10, clock=lambda: now[0])
    assert p.check(act(action="click", x=5, y=5)).allowed
    now[0] += 9.9
    assert p.check(act(action="click", x=5, y=5)).allowed
    now[0] += 0.2
    d = p.check(act(action="click", x=5, y=5))
    assert not d.allowed and "time limit" in d.reason


def test_check_takes_only_the_action() -> None:
    """Nothing on the screen can reach the decision: check() has no parameter for it, and the module never
    imports the screen code."""
    import inspect

    import omnirt.agents.safety as safety

    assert list(inspect.signature(SafetyPolicy.check).parameters) == ["self", "action"]
    src = inspect.getsource(safety)
    assert "agents.screen" not in src and "mss" not in src and "ocr" not in src.lower()
