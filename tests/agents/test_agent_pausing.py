"""A pause the instruction asks for ("click A, wait 3 seconds, then click B"): parsed as a step of its own, timed
from the action before it, and the click after it grounded before the wait (agents/pausing.py)."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click, Done, Wait
from omnirt.agents.elements import Element
from omnirt.agents.pausing import Pauses, seconds_in
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy


@pytest.mark.parametrize("clause, seconds", [
    ("wait 3 seconds", 3.0), ("Wait 1 second.", 1.0), ("pause for half a second", 0.5), ("wait 500 ms", 0.5),
    ("wait about two seconds", 2.0), ("Wait 1.5 s", 1.5), ("hold on a second", 1.0),
    ("wait for the page to load", None), ("wait until it turns green", None), ("wait 0 seconds", None),
    ("wait 5 minutes", None),  # longer than any single wait the agent may take
])
def test_seconds_in(clause, seconds):
    assert seconds_in(clause) == seconds


def test_pause_is_a_step_between_the_clicks():
    steps, dropped = parse_plan("Click button ONE, wait 3 seconds, then click button TWO.")
    assert [(s.op, s.target, s.text) for s in steps] == [("click", "ONE", ""), ("pause", "", "3"),
                                                         ("click", "TWO", "")]
    assert not dropped
    steps, _ = parse_plan("Press Save and wait half a second, then press enter")
    assert [(s.op, s.text) for s in steps] == [("click", ""), ("pause", "0.5"), ("key", "enter")]
    # a comma before a wait with no length is no new command, and quoted text is never split
    assert [s.op for s in parse_plan('Type "hi, wait 2 seconds" into the box')[0]] == ["focus", "type"]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _page() -> list[Element]:
    return [Element("one", (10, 60, 60, 80), "button", "ONE"), Element("two", (90, 120, 140, 140), "button", "TWO")]


def test_pause_is_timed_from_the_last_action_and_the_next_click_needs_no_new_look():
    clock = Clock()
    pol, task, history = InstructionPolicy(), "Click button ONE, wait 3 seconds, then click button TWO.", []
    pol._pauses = Pauses(clock=clock)
    act = pol.decide(task, _page(), history)
    assert act == Click(element="one")
    history.append(act)
    pol.observe(act, True)
    clock.t += 0.4  # the loop's check of the screen after the click took part of the pause
    assert pol.needs_elements(task, history)
    act = pol.decide(task, _page(), history)
    assert isinstance(act, Wait) and act.seconds == pytest.approx(2.6)
    history.append(act)
    assert not pol.needs_elements(task, history)  # TWO was grounded before the wait
    clock.t += 2.6
    act = pol.decide(task, [], history)
    assert act == Click(x=115, y=130)
    history.append(act)
    pol.observe(act, True)
    act = pol.decide(task, _page(), history)
    assert isinstance(act, Done) and act.success


def test_pause_waits_on_when_the_next_target_is_not_in_sight_yet():
    clock = Clock()
    pol, task, history = InstructionPolicy(), "Click button ONE, wait 1 second, then click button TWO.", []
    pol._pauses = Pauses(clock=clock)
    act = pol.decide(task, _page()[:1], history)
    history.append(act)
    pol.observe(act, True)
    act = pol.decide(task, _page()[:1], history)
    assert isinstance(act, Wait) and act.seconds == pytest.approx(1.0)
    history.append(act)
    assert pol.needs_elements(task, history)  # nothing held: the screen is read again after the wait
    clock.t += 1.0
    assert pol.decide(task, _page(), history) == Click(element="two")
