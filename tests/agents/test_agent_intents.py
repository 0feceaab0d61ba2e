"""The everyday-application forms of the instruction parser (agents/intents.py via agents/plan.py), and the pixel
conventions agents/everyday.py and agents/fields.py ground them by, on synthetic screens drawn here."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.agents import everyday
from omnirt.agents.actions import Click
from omnirt.agents.elements import Element
from omnirt.agents.fields import find_fields, labelled_field
from omnirt.agents.plan import parse, parse_plan


def ops(text: str) -> list[tuple[str, str, str]]:
    return [(s.op, s.target, s.text) for s in parse(text)]


@pytest.mark.parametrize("text, want", [
    ("Switch off the push notifications", [("toggle", "push notifications", "off")]),
    ("turn the beta features on", [("toggle", "beta features", "on")]),
    ("Disable location history", [("toggle", "location history", "off")]),
    ("Accept the cookie policy", [("toggle", "cookie policy", "on")]),
    ("Remove the entry for Tim Low", [("row", "Tim Low", "remove"), ("confirm", "", "remove"),
                                      ("confirm", "", "remove")]),
    ("Open View > Zoom > 200%", [("click", "View", ""), ("click", "Zoom", ""), ("click", "200%", "")]),
    ("Print the invoice as a PDF", [("click", "print", ""), ("click", "PDF", "")]),
    ("Set the departure to Oslo", [("focus", "departure", ""), ("key", "", "ctrl+a"), ("type", "", "Oslo"),
                                   ("suggest", "Oslo", "")]),
    ("Set the due date to the 3rd of next month", [("focus", "due date", ""), ("nextmonth", "", ""),
                                                   ("day", "", "3")]),
    ("Sign in as ada with the password Engine1843", [("focus", "", ""), ("type", "", "ada"),
                                                     ("focus", "password", ""), ("type", "", "Engine1843"),
                                                     ("click", "sign in", "")]),
])
def test_everyday_forms_become_steps(text, want):
    assert ops(text) == want


def test_fill_in_reads_label_value_chunks_and_goes_on_after_and():
    steps = parse("Fill in street Elm Road, town Leeds and postcode LS1 4AP, then click Send")
    assert [(s.op, s.target, s.fill) for s in steps[::2][:3]] == [
        ("focus", "street Elm Road", True), ("focus", "town Leeds", True), ("focus", "postcode LS1 4AP", True)]
    assert steps[-1].op == "click" and steps[-1].target == "Send"


def test_a_clause_without_a_verb_clicks_a_button_it_names_only_when_one_is_on_screen():
    from omnirt.agents.policies import InstructionPolicy

    task = "Type Bo into the name field and confirm the booking"
    assert parse_plan(task)[1] == [(2, "confirm the booking")]  # still said as not understood by the parser
    button = Element("e0", (10, 100, 120, 130), "button", "Confirm booking")
    pol = InstructionPolicy()
    assert pol.decide("click Go, then confirm the booking", [button, Element("e1", (0, 0, 9, 9), "button", "Go")],
                      [Click(element="e1")]) == Click(element="e0")
    pol = InstructionPolicy()
    act = pol.decide("click Go, then confirm the booking", [Element("e1", (0, 0, 9, 9), "button", "Go")],
                     [Click(element="e1")])
    assert act.action == "done" and "not understood in part" in act.summary


def settings_screen(on: bool) -> np.ndarray:
    """A white row with a label's place at the left and a switch at the right (green when on, grey when off)."""
    img = np.full((120, 600, 3), 255, np.uint8)
    img[40:64, 500:544] = (47, 125, 79) if on else (197, 201, 209)
    img[43:61, (523 if on else 503):(541 if on else 521)] = 255  # the knob
    return img


@pytest.mark.parametrize("on, want, acts", [(False, "on", True), (True, "on", False), (True, "off", True)])
def test_a_switch_right_of_its_label_is_clicked_only_when_it_is_not_already_so(on, want, acts):
    label = Element("e0", (20, 45, 130, 60), "line", "Dark theme")
    step = parse(f"turn {want} dark theme")[0]
    act = everyday.toggle(step, [label], settings_screen(on))
    if acts:
        assert isinstance(act, Click) and 500 <= act.x <= 544 and 40 <= act.y <= 64
    else:
        assert act is everyday.SKIP


def test_a_destructive_row_action_is_the_rightmost_control_on_the_row_and_the_dialog_is_confirmed():
    img = np.full((200, 700, 3), 255, np.uint8)
    for x in (560, 600):  # two icons on the row of "Kim Ode", one on the row below
        img[50:64, x:x + 14] = 60
    img[100:114, 600:614] = 60
    names = [Element("e0", (20, 50, 90, 64), "line", "Kim Ode"), Element("e1", (20, 100, 90, 114), "line", "Al Ray")]
    act = everyday.row_control(parse("Delete the row for Kim Ode")[0], names, img)
    assert isinstance(act, Click) and 600 <= act.x <= 614 and 50 <= act.y <= 64
    dialog = [Element("e2", (300, 80, 380, 100), "button", "Keep"), Element("e3", (400, 80, 480, 100), "button",
                                                                           "Delete")]
    assert everyday.confirm(parse("Delete the row for Kim Ode")[1], dialog) == Click(element="e3")
    assert everyday.confirm(parse("Delete the row for Kim Ode")[1], names) is everyday.SKIP  # no dialog: nothing


def test_fields_with_tinted_outlines_are_found_by_their_edges_and_tied_to_the_label_above():
    img = np.full((300, 700, 3), (255, 250, 240), np.uint8)  # cream
    for y in (60, 160):
        img[y:y + 40, 100:600] = (185, 168, 143)  # a brown outline ...
        img[y + 1:y + 39, 101:599] = 255  # ... around a white inside
    fields = find_fields(img)
    want = [(100, 60, 600, 100), (100, 160, 600, 200)]
    assert len(fields) == 2 and all(abs(a - b) <= 3 for f, w in zip(fields, want) for a, b in zip(f, w)), fields
    assert labelled_field((100, 130, 180, 150), fields) == fields[1]
