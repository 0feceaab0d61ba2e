"""A value set with a slider (agents/sliding.py): the knob found on its bar by layout, clicked, then stepped by arrow
keys until the number shown beside it is the one asked for; the knob and the value are no later step's target."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click, Done, Hotkey
from omnirt.agents.elements import Element as E
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.sliding import parts

TASK = "Select 6 with the slider, click the 1st checkbox, then hit Submit."
BOXES = [E("c1", (16, 183, 42, 209), "checkbox", ""), E("c2", (62, 183, 88, 209), "checkbox", ""),
         E("c3", (107, 183, 133, 209), "checkbox", ""), E("ok", (8, 235, 199, 315), "button", "Submit")]


def test_slider_value_parses_to_a_slide_step():
    steps, dropped = parse_plan(TASK)
    assert [(s.op, s.text) for s in steps][:1] == [("slide", "6")] and not dropped
    assert parse_plan("Select 3 with the color wheel")[0][0].op == "unsupported"  # dragged, not stepped


@pytest.mark.parametrize("instruction, value", [("Set the slider to 7", "7"), ("set the slider to -3", "-3"),
                                                ("Move the slider to 4", "4"), ("Drag the volume slider to 30", "30")])
def test_a_slider_set_to_a_value_is_slid_whatever_the_wording(instruction, value):
    steps, dropped = parse_plan(instruction)  # ("set the slider to 7" was typed into "any text field")
    assert [(s.op, s.text) for s in steps] == [("slide", value)] and not dropped


def test_a_slider_set_to_no_number_or_a_field_set_to_one_is_not_slid():
    assert [s.op for s in parse_plan("Set the slider to loud")[0]] == ["unsupported"]
    assert [s.op for s in parse_plan("Set the brightness to 70")[0]][:3] == ["focus", "key", "type"]


def test_knob_between_two_halves_of_a_vertical_bar():
    # the bar read as two fields, one each side of the knob (a vertical slider), the value below and to the right
    els = [E("a", (21, 121, 39, 234), "input", ""), E("k", (17, 234, 43, 260), "icon", ""),
           E("b", (21, 260, 39, 335), "input", ""), E("v", (60, 322, 88, 337), "word", "102")]
    bar, knob = parts(els)
    assert knob.id == "k" and bar.box == (21, 121, 39, 335)
    # a knob read into the bar (at its end): the bar with a number beside it; with no number near, no slider
    far = [E("f", (20, 100, 200, 124), "input", ""), E("o", (20, 300, 200, 324), "input", "")]
    assert parts([*far, E("w", (210, 304, 230, 320), "word", "-10")]) == (far[1], None)
    assert parts([*far, E("w", (20, 200, 40, 216), "word", "foo")]) == (None, None)


def test_slider_set_by_keys_then_the_rest_ignores_its_knob_and_value():
    pol, history = InstructionPolicy(), []
    screens = [
        # the knob (a checkbox to the grounding, labelled by the value beside it) on the bar, 7 shown
        [E("bar", (9, 132, 173, 150), "slider", ""), E("knob", (137, 128, 163, 154), "checkbox", "7"),
         E("v", (186, 134, 203, 153), "word", "7"), *BOXES],
        [E("knob", (137, 128, 163, 154), "checkbox", "7"), E("v", (186, 134, 203, 153), "word", "7"), *BOXES],
        # after one Left: the value, a lone digit, is missed by OCR and seen as a ticked box; the knob moved
        [E("knob", (128, 127, 156, 155), "checkbox", ""), E("v", (188, 136, 205, 153), "checkbox", "", value="checked"),
         *BOXES],
        [E("knob", (128, 127, 156, 155), "checkbox", ""), *BOXES],
    ]
    want = [Click(x=150, y=141), Hotkey(keys=["left"], presses=1), Click(element="c1"), Click(element="ok")]
    for els, expected in zip(screens, want):
        act = pol.decide(TASK, els, history)
        assert act == expected
        history.append(act)
        pol.observe(act, True)
    assert isinstance(pol.decide(TASK, screens[-1], history), Done)


def test_slider_read_again_after_each_round_and_far_values_take_rounds():
    pol, history, task = InstructionPolicy(), [], "Select 40 with the slider and hit Submit."
    bar = [E("bar", (20, 130, 160, 146), "input", ""), E("knob", (10, 125, 30, 151), "icon", "")]
    act = pol.decide(task, [*bar, E("v", (180, 132, 200, 146), "word", "0")], history)
    assert act == Click(x=20, y=138)
    for shown, expected in [("0", Hotkey(keys=["right"], presses=20)), ("19", Hotkey(keys=["right"], presses=20)),
                            ("41", Hotkey(keys=["left"], presses=1))]:
        history.append(act)
        pol.observe(act, True)
        act = pol.decide(task, [*bar, E("v", (180, 132, 200, 146), "word", shown)], history)
        assert act == expected, shown


def test_of_two_sliders_the_named_one_is_moved():
    # "Volume" above the first slider, "Bass" above the second: each knob on its bar, each value right of it
    els = [E("l1", (10, 100, 70, 116), "word", "Volume"), E("b1", (10, 124, 170, 136), "slider", ""),
           E("k1", (60, 120, 80, 140), "icon", ""), E("v1", (180, 122, 200, 138), "word", "20"),
           E("l2", (10, 160, 50, 176), "word", "Bass"), E("b2", (10, 184, 170, 196), "slider", ""),
           E("k2", (100, 180, 120, 200), "icon", ""), E("v2", (180, 182, 200, 198), "word", "5")]
    assert parts(els)[1].id == "k1" and parts(els, "bass")[1].id == "k2" and parts(els, "volume")[1].id == "k1"
    assert parts(els, "treble")[1].id == "k1"  # no such label: the first, as before
    for instruction, knob in (("Set the bass slider to 8", (110, 190)),
                              ("Select 30 with the volume slider", (70, 130))):
        step = parse_plan(instruction)[0][0]
        assert step.op == "slide"
        act = InstructionPolicy().decide(instruction, els, [])
        assert (act.x, act.y) == knob
