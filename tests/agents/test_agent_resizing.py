"""A box made larger or smaller by its resize grip (agents/resizing.py): the sentence read into a resize step, the
grip (the bottom-right corner) dragged along the dimension named, once, then the rest of the plan."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click, Drag
from omnirt.agents.elements import Element as E
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.resizing import step

PAGE = [E("t", (40, 120, 240, 220), "textarea", ""), E("ok", (40, 240, 120, 270), "button", "Submit")]


@pytest.mark.parametrize("clause, expected", [
    ("Resize the textarea so that the height is larger than its initial size", ("textarea", "height:+")),
    ("Resize the textarea so that the width is smaller than its initial size", ("textarea", "width:-")),
    ("make the text box wider", ("text box", "width:+")), ("Increase the height of the text area",
                                                             ("text area", "height:+")),
    ("shrink the textarea", ("textarea", "both:-")), ("Resize the box to be taller", ("box", "height:+"))])
def test_a_box_made_larger_or_smaller_is_a_resize_step(clause, expected):
    assert step(clause) == ("resize", *expected)


@pytest.mark.parametrize("clause", ["Expand the section below", "make the button blue", "Make sure the box is checked",
                                    "resize the window", "Drag the item down"])
def test_other_clauses_are_no_resize(clause):
    assert step(clause) is None


@pytest.mark.parametrize("task, to", [
    ("Resize the textarea so that the height is larger than its initial size then press Submit.", (237, 257)),
    ("Resize the textarea so that the width is smaller than its initial size then press Submit.", (171, 217)),
    ("Make the text area bigger, then click Submit", (303, 257))])
def test_the_grip_is_dragged_once_along_the_dimension_then_submit(task, to):
    assert [s.op for s in parse_plan(task)[0]] == ["resize", "click"]
    pol, history = InstructionPolicy(), []
    first = pol.decide(task, PAGE, history)
    assert first == Drag(x=237, y=217, to_x=to[0], to_y=to[1])
    history.append(first)
    pol.observe(first, True)
    assert pol.decide(task, PAGE, history) == Click(element="ok")
