"""A value set with a slider (agents/sliding.py): the knob found on its bar by layout, clicked, then stepped by arrow
keys until the number shown beside it is the one asked for; the knob and the value are no later step's target."""

from __future__ import annotations

from dataclasses import replace

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


# Three sliders stacked, each number 5 px below its own bar and touching the bar below it (jQuery UI): the number
# between two bars is nearer the lower one, but it is the upper one's (every slider's number is below it).
STACK = [E("b1", (20, 60, 160, 70), "slider", ""), E("k1", (40, 56, 56, 74), "icon", ""),
         E("v1", (22, 75, 38, 90), "word", "4"),
         E("b2", (20, 91, 160, 101), "slider", ""), E("k2", (100, 87, 116, 105), "icon", ""),
         E("v2", (22, 106, 38, 121), "word", "12"),
         E("b3", (20, 122, 160, 132), "slider", ""), E("k3", (140, 118, 156, 136), "icon", ""),
         E("v3", (22, 137, 38, 152), "word", "19"), E("ok", (20, 160, 80, 180), "button", "Submit")]


@pytest.mark.parametrize("instruction, wanted", [
    ("Set the sliders to the combination [10,18,15] and submit.", [("1st of 3", "10"), ("2nd of 3", "18"),
                                                                   ("3rd of 3", "15")]),
    ("Set the sliders to 3, 5 and 7, then click Submit", [("1st of 3", "3"), ("2nd of 3", "5"), ("3rd of 3", "7")]),
    ("Set the left slider to 3 and the right slider to -4", [("left", "3"), ("right", "-4")]),
    ("Move the 2nd slider to 6", [("2nd", "6")]), ("Select 5 with the middle slider", [("middle", "5")])])
def test_several_sliders_are_set_each_by_its_place(instruction, wanted):
    steps = [s for s in parse_plan(instruction)[0] if s.op == "slide"]
    assert [(s.target, s.text) for s in steps] == wanted


def test_a_setting_verb_carries_over_to_the_next_field_and_a_word_list_is_no_slider_list():
    steps = parse_plan("Set the departure to Oslo and the arrival to Rome")[0]
    assert [(s.op, s.target) for s in steps if s.op == "focus"] == [("focus", "departure"), ("focus", "arrival")]
    assert [s.op for s in parse_plan("Set the sliders to loud")[0]] == ["unsupported"]


def test_sliders_by_place_count_in_reading_order_and_each_reads_its_own_number():
    from omnirt.agents.sliding import own_readout, readout

    for name, knob in (("1st", "k1"), ("2nd", "k2"), ("3rd", "k3"), ("top", "k1"), ("middle", "k2"),
                       ("bottom", "k3"), ("last", "k3")):
        assert parts(STACK, name)[1].id == knob, name
    assert parts(STACK, "4th") == (None, None)
    bar, knob = parts(STACK, "2nd")
    assert readout(bar, knob, STACK).id == "v1"  # the nearest number is the slider above's
    assert own_readout(bar, knob, STACK).id == "v2"
    assert own_readout(*parts(STACK, "1st"), STACK).id == "v1" and own_readout(*parts(STACK, "3rd"), STACK).id == "v3"
    # a bar the grounding labelled with the number above it is still a bar (a word would make it a field)
    labelled = [replace(e, kind="input", label="12") if e.id == "b3" else e for e in STACK]
    assert parts(labelled, "3rd")[0].box == (20, 122, 160, 132)
    assert parts([replace(e, kind="input", label="Name") if e.id == "b3" else e for e in STACK], "3rd") == (None, None)


def test_three_sliders_are_set_in_turn_then_submitted():
    pol, history, task = InstructionPolicy(), [], "Set the sliders to [4, 13, 19] and submit."
    shown = {"v1": "4", "v2": "12", "v3": "19"}

    def screen():  # once focused, the first knob is read as a number and its bar is lost: counted again, the
        # 2nd slider would be the 3rd; the sliders are counted on the first screen
        gone = ("k1", "b1") if history else ()
        return [replace(e, label=shown.get(e.id, e.label)) for e in STACK if e.id not in gone]

    acts = []
    for _ in range(5):
        act = pol.decide(task, screen(), history)
        acts.append(act)
        history.append(act)
        pol.observe(act, True)
        shown["v2"] = "13" if isinstance(act, Hotkey) else shown["v2"]  # one Right on the 2nd: 12 -> 13
    assert acts[:4] == [Click(x=48, y=65), Click(x=108, y=96), Hotkey(keys=["right"], presses=1), Click(x=148, y=127)]
    assert acts[4] == Click(element="ok")


def test_a_list_of_values_waits_until_every_slider_and_its_number_is_read():
    from omnirt.agents.actions import Wait
    from omnirt.agents.sliding import own_readout

    no_digit = [e for e in STACK if e.id != "v2"]  # a lone digit OCR missed: its neighbour's number is no stand-in
    assert own_readout(*parts(no_digit, "2nd"), no_digit) is None
    no_slider = [e for e in STACK if e.id not in ("b2", "k2")]  # the 2nd slider not told apart: "2nd" would be the 3rd
    task = "Set the sliders to [4, 13, 19] and submit."
    for first in (no_digit, no_slider):
        pol = InstructionPolicy()
        act = pol.decide(task, first, [])
        assert isinstance(act, Wait)
        act2 = pol.decide(task, STACK, [act])
        assert act2 == Click(x=48, y=65)
    pol, history = InstructionPolicy(), []  # read short on every screen: the count is taken as it is after two
    for _ in range(3):
        act = pol.decide(task, no_slider, history)
        history.append(act)
    assert [type(a).__name__ for a in history] == ["Wait", "Wait", "Click"]
