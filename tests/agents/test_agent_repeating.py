"""A sequence the page shows, then repeated (agents/repeating.py): the sentence read into a repeat step, the order
read from frames in which one control at a time lights up (the same one twice, a frame missed), the policy's
watching waits, then its clicks in that order, and the loop handing the policy the frames it captures during a
wait (agents/loop.py's watch). Frames are drawn with numpy; time is the test's."""

from __future__ import annotations

import time

import numpy as np
import pytest

from omnirt.agents import loop, repeating
from omnirt.agents.actions import Click, Wait
from omnirt.agents.elements import Element
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.repeating import order, step

PADS = [Element(f"p{i}", (20 + 60 * i, 120, 70 + 60 * i, 170), "button", "") for i in range(4)]
COLOURS = [(66, 134, 244), (244, 66, 66), (66, 244, 125), (231, 242, 21)]
LIGHT = [(147, 222, 255), (255, 160, 160), (188, 255, 160), (250, 255, 170)]


def frame(lit: int | None = None) -> np.ndarray:
    rgb = np.full((300, 300, 3), 255, np.uint8)
    for i, e in enumerate(PADS):
        x0, y0, x1, y1 = e.box
        rgb[y0:y1, x0:x1] = LIGHT[i] if i == lit else COLOURS[i]
    return rgb


def colours(lit: int | None) -> list[np.ndarray]:
    return repeating.colours(frame(lit), [e.box for e in PADS])


@pytest.mark.parametrize("clause", ["Push the buttons in the order displayed", "click the buttons in the order they "
                                    "light up", "press the pads in the same order as shown", "Repeat the sequence"])
def test_a_sequence_to_repeat_is_a_repeat_step(clause):
    assert step(clause) == ("repeat", "", "")


@pytest.mark.parametrize("clause", ["Push the button", "click the buttons in ascending order",
                                    "Click on the numbers in ascending order", "press submit"])
def test_other_clauses_are_no_repeat(clause):
    assert step(clause) is None


def test_the_order_is_each_new_light_the_same_pad_twice_counted_twice():
    lights = [None, 2, 2, None, 2, None, None, 0, 0, None, 3, None]
    seq, last = order([(0.1 * i, colours(lit)) for i, lit in enumerate(lights)])
    assert seq == [2, 2, 0, 3] and last == pytest.approx(1.0)


def test_nothing_lit_is_no_order():
    assert order([(0.1 * i, colours(None)) for i in range(10)]) == ([], None)


def test_the_policy_watches_then_clicks_the_pads_in_the_order_they_lit(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    task = "Push the buttons in the order displayed."
    pol, history = InstructionPolicy(), []

    def act(rgb: np.ndarray) -> object:
        pol.see(rgb)
        a = pol.decide(task, PADS, history)
        history.append(a)
        if not isinstance(a, Wait):
            pol.observe(a, True)
        return a

    assert act(frame()) == Wait(seconds=repeating.WATCH_S)
    for lit in (1, None, 3, 3, None, 1, None):  # what the loop captured while the wait lasted
        now[0] += 0.1
        assert pol.watched(frame(lit))
    now[0] += 0.2
    assert act(frame()) == Wait(seconds=repeating.WATCH_S)  # the last light was 0.3 s ago: it may go on
    now[0] += repeating.QUIET_S
    centre = [e.center for e in PADS]
    assert [act(frame()) for _ in range(3)] == [Click(x=centre[i][0], y=centre[i][1]) for i in (1, 3, 1)]
    assert not pol.watched(frame())  # the watch is over


class _Shot:
    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb


class _Screen:
    def __init__(self) -> None:
        self.n = 0

    def capture(self, region=None) -> _Shot:
        self.n += 1
        return _Shot(frame(self.n % 4))


def test_the_loop_hands_the_frames_of_a_wait_to_a_watching_policy():
    seen = []
    out = loop.watch(_Screen(), loop.LoopOptions(region=(0, 0, 300, 300)), lambda: time.sleep(0.2) or "waited",
                     lambda rgb: seen.append(rgb) or True)
    assert out == "waited" and len(seen) >= 3


def test_an_error_in_the_wait_is_raised_in_the_loops_thread():
    def fail() -> None:
        raise RuntimeError("no display")

    with pytest.raises(RuntimeError, match="no display"):
        loop.watch(_Screen(), loop.LoopOptions(region=(0, 0, 300, 300)), fail, lambda rgb: True)


def test_pads_the_grounding_missed_are_the_solid_shapes_drawn():
    assert repeating.controls([], frame()) == [e.box for e in PADS]
    assert repeating.controls(PADS + [Element("ok", (20, 200, 120, 230), "button", "Submit")]) == [e.box for e in PADS]
