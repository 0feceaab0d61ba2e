"""Everyday requests the parser once did not read, and how the instruction policy grounds them: a date named inside a
sentence, a sign-up form said in one sentence, a row action behind the row's menu and a confirmation, and a target
below the fold when only a word of like meaning is in sight. Elements are given here (no OCR); the same steps on
real pages in Chromium are in tests/tools/test_desk_grounding.py."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.agents import everyday
from omnirt.agents.actions import Click, Scroll, Type
from omnirt.agents.elements import Element
from omnirt.agents.everyday_forms import calendar_open, label_split, value_after
from omnirt.agents.intents import account, date_in, row_action
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy


def ops(text: str) -> list[tuple[str, str, str]]:
    steps, dropped = parse_plan(text)
    assert dropped == []
    return [(s.op, s.target, s.text) for s in steps]


@pytest.mark.parametrize("clause, want", [
    ("Reserve a table for the 9th of next month", ("Reserve a table", 9, 1)),
    ("Move my check-up to next month on the 2nd", ("Move my check-up", 2, 1)),
    ("Plan the review on the 30th of this month", ("Plan the review", 30, 0)),
    ("Reserve a table for 4 people", None),
    ("Plan the review on the 32nd of next month", None),
])
def test_a_day_of_a_month_is_found_anywhere_in_a_clause(clause, want):
    assert date_in(clause) == want


def test_a_dated_sentence_opens_the_picker_picks_the_day_and_presses_the_verbs_button():
    assert ops("Reserve a table for the 9th of next month") == [
        ("datefield", "Reserve a table", ""), ("nextmonth", "", ""), ("day", "", "9"),
        ("click", "Reserve table", "")]
    # a verb that only sets the date asks for no button
    assert ops("Pick the 30th of this month") == [("datefield", "Pick", ""), ("day", "", "30")]


@pytest.mark.parametrize("text, want", [
    ("Open an account for Ida Wells with the email ida@wells.org and the password Chicago1862",
     ("open account", "Ida Wells", ["email ida@wells.org", "password Chicago1862"], "")),
    ("Register Sam Ko, e-mail sam@ko.kr, phone 555 0101", ("register", "Sam Ko", ["e-mail sam@ko.kr",
                                                                                "phone 555 0101"], "")),
    ("Join as Bo Li using bo@li.cn, then tick the terms", ("join", "Bo Li", ["email bo@li.cn"], "then tick the terms")),
    ("Register for the webinar", None),  # no detail of an account: no sign-up
])
def test_a_sign_up_sentence_gives_a_name_and_labelled_details(text, want):
    assert account(text) == want


def test_a_sign_up_plan_fills_the_name_the_details_a_repeat_password_and_presses_the_forms_button():
    got = ops("Open an account for Ida Wells with the email ida@wells.org and the password Chicago1862")
    assert [o for o, _, _ in got] == ["name", "type", "focus", "type", "focus", "type", "again", "type", "click"]
    assert got[-1][1].split("|")[:3] == ["open account", "create account", "sign up"]
    joined = ops("Join as Bo Li using bo@li.cn, then tick the terms")
    assert joined[-2] == ("click", "terms", "") and joined[-1][1].startswith("join|")  # the terms, then the button
    assert ops("Join as Bo Li using bo@li.cn, then click Done")[-1] == ("click", "Done", "")  # no button of ours


@pytest.mark.parametrize("chunk, labels, want", [
    ("first name Ada", ["Last name", "First name"], (1, 2)),        # the label itself
    ("email a@b.c", ["Full name", "Email address"], (1, 1)),         # a label holding the words said
    ("password Kite7", ["Repeat password", "Password"], (1, 1)),     # never the repeat field unless said
    ("repeat password Kite7", ["Password", "Repeat password"], (1, 2)),
    ("city Paris", ["Street", "Postcode"], None),
])
def test_a_chunk_names_the_label_by_itself_or_by_the_words_it_holds(chunk, labels, want):
    assert label_split(chunk, labels) == want
    if want:
        assert value_after(chunk, want[1]) == chunk.split()[-1]


def test_row_requests_name_the_row_not_its_kind():
    assert row_action("archive", "the project called Spring sale") == "Spring sale"
    assert row_action("delete", "the Q3 budget invoice") == "Q3 budget"


def form(*rows: tuple[str, tuple[int, int, int, int]]) -> list[Element]:
    """Labels above fields (the grounding tied no label to the fields) and a button."""
    out = []
    for i, (label, box) in enumerate(rows):
        out.append(Element(f"t{i}", (box[0], box[1] - 24, box[0] + 8 * len(label), box[1] - 6), "line", label))
        out.append(Element(f"f{i}", box, "input", ""))
    return out + [Element("b0", (40, 420, 140, 450), "button", "Sign up")]


def drive(instruction, ui, steps=12):
    """The policy's actions on an unchanging screen until it says done (or `steps` run out)."""
    pol, history = InstructionPolicy(), []
    for _ in range(steps):
        history.append(pol.decide(instruction, ui, history))
        if history[-1].action == "done":
            break
    return history


def test_a_split_name_goes_into_first_and_last_name_and_the_password_twice():
    ui = form(("First name", (40, 60, 220, 92)), ("Last name", (280, 60, 460, 92)),
              ("Email address", (40, 140, 440, 172)), ("Password", (40, 220, 440, 252)),
              ("Confirm password", (40, 300, 440, 332)))
    history = drive("Sign up as Ada King using ada@king.uk and the password Lace1815", ui)
    clicks = [(a.x, a.y) for a in history if isinstance(a, Click) and a.element is None]
    typed = [a.text for a in history if isinstance(a, Type)]
    assert clicks == [(130, 76), (370, 76), (240, 156), (240, 236), (240, 316)]
    assert typed == ["Ada", "King", "ada@king.uk", "Lace1815", "Lace1815"]
    assert history[-2] == Click(element="b0")


def test_with_one_name_field_and_one_password_field_the_plan_adapts():
    ui = form(("Your name", (40, 60, 440, 92)), ("E-mail", (40, 140, 440, 172)), ("Password", (40, 220, 440, 252)))
    history = drive("Sign up as Ada King using ada@king.uk and the password Lace1815", ui)
    assert [a.text for a in history if isinstance(a, Type)] == ["Ada King", "ada@king.uk", "Lace1815"]


def calendar(month: str = "March 2031") -> list[Element]:
    head = [Element("h", (100, 300, 220, 320), "line", month)]
    days = [Element(f"d{d}", (80 + 30 * ((d - 1) % 7), 340 + 30 * ((d - 1) // 7), 100 + 30 * ((d - 1) % 7),
                               360 + 30 * ((d - 1) // 7)), "word", str(d)) for d in range(1, 32)]
    return head + days


def test_the_date_field_is_opened_unless_a_calendar_shows_and_named_by_a_date_word():
    step = parse_plan("Reserve a table for the 9th of next month")[0][0]
    ui = form(("Guests", (40, 60, 440, 92)), ("Date", (40, 140, 440, 172)))
    assert everyday.date_field(step, ui, None) == Click(x=240, y=156)
    assert not calendar_open(ui) and calendar_open(ui + calendar())
    assert everyday.date_field(step, ui + calendar(), None) is everyday.SKIP


def test_a_pale_day_of_the_next_month_is_not_the_day_asked_for():
    ui = calendar()
    pale = Element("p9", (80, 250, 100, 270), "word", "9", ink=(190, 195, 205))  # drawn above: first in order
    step = parse_plan("Reserve a table for the 9th of this month")[0][1]
    assert step.op == "day"
    assert everyday.day(step, [Element("h0", (100, 200, 220, 220), "line", "March 2031"), pale] + ui[1:]) == \
        Click(element="d9")


def test_a_confirmation_is_only_what_the_last_click_opened():
    step = parse_plan("Archive the project called Spring sale")[0][1]
    sidebar = Element("s0", (10, 200, 80, 220), "word", "Archive")
    item = Element("m2", (600, 300, 680, 320), "word", "Archive")
    menu = [(580, 240, 760, 380)]
    assert everyday.confirm(step, [sidebar, item], menu) == Click(element="m2")
    assert everyday.confirm(step, [sidebar], menu) is everyday.SKIP  # nothing opened says it
    dialog = [Element("y", (500, 400, 640, 430), "button", "Archive project"), sidebar]
    assert everyday.confirm(step, dialog, [(0, 0, 1280, 800)]) == Click(element="y")  # a veil: the dialog's button


def test_a_rows_own_control_that_says_the_verb_beats_the_rightmost():
    step = parse_plan("Archive the project called Spring sale")[0][0]
    ui = [Element("n", (20, 100, 140, 120), "line", "Spring sale"),
          Element("a", (400, 96, 470, 124), "button", "Archive"), Element("d", (480, 96, 550, 124), "button", "Delete")]
    assert everyday.row_control(step, ui, None) == Click(element="a")


@pytest.mark.models
def test_a_label_out_of_sight_is_looked_for_below_the_fold_before_a_word_of_like_meaning():
    from omnirt.models.text_encoder import TextEncoder

    pol = InstructionPolicy(encoder=TextEncoder.load())
    screen = np.zeros((800, 1280, 3), np.uint8)
    body = [Element("w0", (100, 100, 300, 120), "line", "Terms of service"),
            Element("w1", (100, 140, 300, 160), "word", "Proceed")]
    pol.see(screen)
    first = pol.decide("press Continue", body, [])
    assert isinstance(first, Scroll) and first.amount < 0
    pol.observe(first, False)  # the page scrolls no further
    pol.see(screen)
    assert pol.decide("press Continue", body, [first]) == Click(element="w1")
