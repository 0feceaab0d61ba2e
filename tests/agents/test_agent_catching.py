"""Things that move, clicked as they pass (agents/catching.py): the sentence read into a catch step, the things in
sight found from pixels (a sliver cut by the frame's edge too, a letter not), the one nearest an edge clicked first,
a wait when none is in sight, no grounding asked for, and no settling after such a click. Frames are drawn with
OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from omnirt.agents import catching
from omnirt.agents.actions import Click, Type, Wait
from omnirt.agents.catching import step, targets
from omnirt.agents.policies import InstructionPolicy

TASK = "Click as many moving circles as possible."


def frame(*discs: tuple[int, int]) -> np.ndarray:
    rgb = np.full((420, 320, 3), 255, np.uint8)
    rgb[:100] = (255, 255, 0)
    cv2.putText(rgb, "Click", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    for x, y in discs:
        cv2.circle(rgb, (x, y), 36, (0, 0, 0), -1)
    return rgb


@pytest.mark.parametrize("clause,what", [(TASK, "moving circles"), ("click the moving targets", "moving targets"),
                                         ("catch as many of the falling balls as you can", "falling balls")])
def test_a_request_to_click_moving_things_is_a_catch_step(clause, what):
    assert step(clause) == ("catch", what, "")


@pytest.mark.parametrize("clause", ["Click the button", "click the circle", "move the circle to the left"])
def test_other_clauses_are_no_catch_step(clause):
    assert step(clause) is None


def test_the_thing_nearest_an_edge_first_a_sliver_at_the_edge_too():
    found = targets(frame((160, 250), (60, 200), (350, 300)), [], "moving circles")
    assert len(found) == 3 and found[0][2] == 320 and found[1][0] == 24  # the sliver, then the one by the left edge
    assert targets(frame(), [], "moving circles") == []  # the instruction's letters are no things


def test_the_policy_waits_then_clicks_without_grounding_or_settling():
    pol, history = InstructionPolicy(), []
    assert not pol.needs_elements(TASK, history)

    def act(rgb):
        pol.see(rgb)
        a = pol.decide(TASK, [], history)
        history.append(a)
        return a

    assert act(frame()) == Wait(seconds=catching.REST_S)
    click = act(frame((160, 250)))
    assert click == Click(x=160, y=250) and pol.settle_limit(click) == catching.SETTLE_S
    assert pol.settle_limit(Type(text="x")) is None
    assert act(frame((100, 200))) == Click(x=100, y=200)  # the clicks are no plan steps: the step goes on
