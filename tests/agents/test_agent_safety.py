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


# ---------------------------------------------------------------- issue 17 row 5: submissions and window chords

def test_enter_after_typing_is_a_submission_that_needs_confirmation() -> None:
    """`type "rm -rf /"` then `enter` ran unconfirmed: Enter after typing submits what was typed."""
    p = SafetyPolicy()
    assert p.check(act(action="hotkey", keys=["enter"])).allowed  # nothing typed yet: nothing of ours is submitted
    assert p.check(act(action="type", text="rm -rf /")).allowed  # typing alone submits nothing
    for keys in (["enter"], ["return"], ["ctrl", "enter"], ["shift", "enter"]):
        d = p.check(act(action="hotkey", keys=keys))
        assert not d.allowed and d.needs_confirmation and "submits" in d.reason and "\n" not in d.reason, keys
    d = p.check(act(action="type", text="ls\n"))
    assert not d.allowed and d.needs_confirmation and "submits" in d.reason
    asked = []
    q = SafetyPolicy(confirm=lambda a, r: asked.append(r) or True)
    assert q.check(act(action="type", text="hello")).allowed
    assert q.check(act(action="hotkey", keys=["enter"])).allowed
    assert asked == ["enter after typing submits the typed text"]
    assert q.check(act(action="hotkey", keys=["enter"])).allowed and len(asked) == 1  # submitted: nothing typed since
    d = SafetyPolicy(typed=True).check(act(action="hotkey", keys=["enter"]))  # typed by an earlier command
    assert not d.allowed and d.needs_confirmation


@pytest.mark.parametrize("keys", ["ctrl+shift+t", "ctrl+l", "ctrl+r", "ctrl+d", "alt+f4", "ctrl+w", "ctrl+t",
                                  "ctrl+n", "ctrl+h", "ctrl+shift+b", "ctrl+f5", "ctrl+tab", "alt+left", "win+r",
                                  "winleft+d", "command+q", "ctrl+alt+f2", "ctrlright+k"])
def test_window_and_app_chords_need_confirmation(keys) -> None:
    d = SafetyPolicy().check(act(action="hotkey", keys=keys))
    assert not d.allowed and d.needs_confirmation and "\n" not in d.reason, d.reason


@pytest.mark.parametrize("keys", ["ctrl+a", "ctrl+c", "ctrl+x", "ctrl+v", "ctrl+z", "ctrl+y", "ctrl+shift+z",
                                  "ctrl+backspace", "ctrl+left", "ctrl+shift+right", "ctrl+home", "shift+tab",
                                  "shift+left", "tab", "esc"])
def test_text_editing_chords_run_unconfirmed(keys) -> None:
    assert SafetyPolicy().check(act(action="hotkey", keys=keys)).allowed


def test_needs_confirmation_is_a_typed_verdict_the_executor_never_performs() -> None:
    """Modelled on OpenAI CUA's pending safety checks: the rules say allow, deny or confirm; a confirm runs only on a
    person's yes; with no callback it is denied in one line; a callback that has no answer yet leaves it pending."""
    from omnirt.agents.executor import Executor
    from omnirt.agents.safety import Verdict

    class Backend:
        def __init__(self) -> None:
            self.calls: list = []

        def type(self, text):
            self.calls.append(text)

        def hotkey(self, keys):
            self.calls.append(keys)

    p = SafetyPolicy()
    assert p.judge(act(action="hotkey", keys=["ctrl", "l"])).verdict is Verdict.CONFIRM
    assert p.judge(act(action="click", x=1, y=1)).verdict is Verdict.DENY
    assert p.judge(act(action="type", text="hi")).verdict is Verdict.ALLOW
    assert p.steps == 0  # judging is not acting: no step counted
    b = Backend()
    chord = {"action": "hotkey", "keys": ["ctrl", "l"]}
    out = Executor(SafetyPolicy(), b).execute(chord)
    assert out.status == "denied" and out.decision["verdict"] == "deny" and "no confirm callback" in out.reason
    assert "\n" not in out.reason
    out = Executor(SafetyPolicy(confirm=lambda a, r: None), b).execute(chord)  # asked, no answer yet: pending
    assert out.status == "needs_confirmation" and out.decision["verdict"] == "confirm" and "awaits" in out.reason
    assert Executor(SafetyPolicy(confirm=lambda a, r: False), b).execute(chord).status == "denied"
    assert b.calls == []
    out = Executor(SafetyPolicy(confirm=lambda a, r: True), b).execute(chord)
    assert out.status == "executed" and out.decision["verdict"] == "allow" and b.calls == [["ctrl", "l"]]


# ---------------------------------------------------------------- issue 17 row 9: chords in a task are keys

@pytest.mark.parametrize("task,keys", [("press ctrl+alt+delete", ["ctrl", "alt", "delete"]),
                                       ("Press Ctrl+Shift+T.", ["ctrl", "shift", "t"]),
                                       ("hit alt-f4", ["alt", "f4"]),
                                       ("press control alt delete", ["ctrl", "alt", "delete"]),
                                       ("press the Windows key", ["win"]),
                                       ("press ctrl + w", ["ctrl", "w"]),
                                       ("press the delete key", ["delete"])])
def test_key_chords_in_a_task_reach_the_safety_layer_as_keys(task, keys) -> None:
    from omnirt.agents.actions import Hotkey
    from omnirt.agents.policies import InstructionPolicy, parse

    assert [s.op for s in parse(task)] == ["key"], parse(task)
    policy = InstructionPolicy()
    assert not policy.needs_elements(task, [])  # a key needs no element on the screen
    action = policy.decide(task, [], [])
    assert action == Hotkey(keys=keys)
    d = SafetyPolicy().check(action)
    assert not d.allowed and d.needs_confirmation and "\n" not in d.reason, d.reason


@pytest.mark.parametrize("task,target", [("press OK", "OK"), ("press the delete button", "delete"),
                                         ("press Submit", "Submit"), ('press "ctrl+w"', "ctrl+w")])
def test_buttons_named_in_a_task_are_still_clicked(task, target) -> None:
    from omnirt.agents.policies import parse

    assert [(s.op, s.target) for s in parse(task)] == [("click", target)]
