"""Instructions decided by a number the screen shows (agents/readings.py): the parser's until and classify steps,
and the instruction policy reading synthetic elements (no Chromium)."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click, Done
from omnirt.agents.elements import Element
from omnirt.agents.plan import parse
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.readings import condition, holds, number, repeat_until


@pytest.mark.parametrize("text, want", [
    ("a number less than 7", "<7"), ("fewer than 12 items", "<12"), ("greater than 4", ">4"),
    ("above $40", ">40"), ("at least 3", ">=3"), ("no more than 2.5", "<=2.5"), ("between 3 and 8", "3..8"),
    ("an odd number", "odd"), ("an even one", "even"), ("exactly 5", "=5"), ("a nice one", None),
])
def test_conditions_are_english_comparisons(text, want):
    assert condition(text) == want


@pytest.mark.parametrize("cond, value, want", [
    ("<7", 6, True), ("<7", 7, False), (">=3", 3, True), ("3..8", 8, True), ("3..8", 9, False),
    ("odd", -3, True), ("odd", 4, False), ("even", 0, True), ("even", 2.5, False), ("=5", 5, True),
])
def test_a_reading_meets_a_condition_or_not(cond, value, want):
    assert holds(cond, value) is want


def test_numbers_are_read_with_signs_currency_and_separators_and_words_are_not():
    assert [number(t) for t in ("7", "-3", "$45.20", "1,200", "\u22125", "Odd", "7a")] == \
        [7, -3, 45.2, 1200, -5, None, None]


@pytest.mark.parametrize("clause, want", [
    ("Generate a number less than 7", ("Generate", "<7")),
    ("Roll an even number", ("Roll", "even")),
    ("click the Refresh button until the total is above 40", ("Refresh", ">40")),
    ("Type a number less than 7", None),  # a number to type is no press
    ("Generate a report", None),  # no number, no condition
])
def test_repeat_until_names_the_button_and_the_condition(clause, want):
    assert repeat_until(clause) == want


def test_the_parser_plans_reading_steps_and_a_submit_said_when_done():
    assert [(s.op, s.target, s.text) for s in parse("Generate a number greater than 4, then press submit.")] == \
        [("until", "Generate", ">4"), ("click", "submit", "")]
    assert [(s.op, s.target, s.text) for s in parse("Mark the numbers below as odd or even and press submit when "
                                                    "done.")] == [("classify", "", "odd|even"), ("click", "submit", "")]


def _generator_page(shown: str) -> list[Element]:
    els = [Element("b0", (20, 100, 90, 125), "button", "Generate"), Element("b1", (100, 100, 160, 125), "button",
                                                                            "Submit")]
    return els + [Element("w0", (60, 60, 75, 80), "word", shown, line=0)] if shown else els


def test_until_presses_the_verbs_button_until_the_number_meets_the_condition_then_goes_on():
    pol, task, history = InstructionPolicy(), "Generate a number less than 5, then press submit.", []
    for shown, want in [("-", "b0"), ("9", "b0"), ("7", "b0"), ("3", "b1")]:
        page = _generator_page(shown)
        if shown == "3":  # a bold digit the detector boxed as an icon is still read
            page[-1] = Element("i0", page[-1].box, "icon", shown)
        act = pol.decide(task, page, history)
        assert act == Click(element=want), shown
        history.append(act)
        pol.observe(act, True)
    assert pol.decide(task, _generator_page("3"), history).success


def test_a_number_shown_before_the_first_press_does_not_count():
    act = InstructionPolicy().decide("Generate an odd number, then press submit.", _generator_page("3"), [])
    assert act == Click(element="b0")


def test_until_gives_up_when_presses_never_meet_the_condition():
    pol, task, history = InstructionPolicy(), "Generate a number less than 5, then press submit.", []
    for _ in range(20):
        act = pol.decide(task, _generator_page("9"), history)
        history.append(act)
        if isinstance(act, Done):
            break
    assert isinstance(act, Done) and not act.success and "pressed" in act.summary


def _parity_rows(values: list[int]) -> list[Element]:
    els = []
    for i, v in enumerate(values):
        y = 40 + 40 * i
        els += [Element(f"o{i}", (10, y, 50, y + 25), "button", "Odd"),
                Element(f"n{i}", (70, y + 2, 85, y + 22), "word", str(v), line=i),
                Element(f"e{i}", (110, y, 150, y + 25), "button", "Even")]
    return els + [Element("s", (40, 200, 110, 225), "button", "Submit")]


def test_classify_marks_each_rows_number_by_its_class_then_submits():
    pol, task, history = InstructionPolicy(), "Mark the numbers below as odd or even and press submit when done.", []
    clicks = []
    for _ in range(6):
        act = pol.decide(task, _parity_rows([3, -4, 0]), history)
        history.append(act)
        pol.observe(act, True)
        clicks.append(act.element if isinstance(act, Click) else act)
        if act == Click(element="s"):
            break
    assert clicks == ["o0", "e1", "e2", "s"]


def test_classify_waits_when_no_row_shows_a_number_with_its_controls():
    act = InstructionPolicy().decide("Mark the numbers as odd or even", _parity_rows([])[:-1] + [
        Element("w", (0, 0, 9, 9), "word", "7")], [])
    assert act.action == "wait"


def test_in_order_clicks_the_numbers_by_value_where_they_were_first_seen():
    pol, task, history = InstructionPolicy(), "Click on the numbers in ascending order.", []
    page = [Element(f"w{v}", (10 + 30 * i, 50 + 7 * v, 22 + 30 * i, 70 + 7 * v), "word", str(v), line=i)
            for i, v in enumerate([3, 1, 2])]
    clicks = []
    for _ in range(4):
        act = pol.decide(task, page, history)
        history.append(act)
        if not isinstance(act, Click):
            break
        clicks.append((act.x, act.y))
        page = []  # the page hides the numbers once the first is clicked: the places seen first are used
    assert clicks == [(46, 67), (76, 74), (16, 81)] and act.action == "done"
    assert [(s.op, s.text) for s in parse("Click the numbers from largest to smallest")] == [("inorder", "down")]


def _cards(durations: list[str], prices: list[int]) -> list[Element]:
    els = []
    for i, (d, p) in enumerate(zip(durations, prices)):
        y = 10 + 50 * i
        els += [Element(f"d{i}", (10, y, 60, y + 15), "word", "Duration:", line=2 * i),
                Element(f"t{i}", (70, y, 130, y + 15), "word", d, line=2 * i),
                Element(f"b{i}", (20, y + 20, 120, y + 38), "button", f"Book for ${p}")]
    return els


@pytest.mark.parametrize("task, want", [
    ("Buy the ticket with the cheapest cost.", "b2"), ("Buy the ticket with the most expensive cost.", "b0"),
    ("Buy the ticket with the shortest duration.", "b1"), ("Book the flight with the longest duration", "b3"),
])
def test_a_superlative_picks_the_card_whose_price_or_duration_is_least_or_greatest(task, want):
    page = _cards(["5h 2m", "1h 40m", "3h 0m", "12h 5m"], [1900, 800, 95, 1200])
    pol = InstructionPolicy()
    act = pol.decide(task, page, [])
    assert act == Click(element=want)
    pol.observe(act, True)
    assert pol.decide(task, page, [act]).action == "done"  # the click was the step: the plan is finished


def test_a_when_clause_waits_for_the_number_then_does_the_command():
    from omnirt.agents.readings import when

    assert when("Buy UBN stock when the price is less than $53.10") == ("Buy UBN stock", "<53.1", "price")
    assert when("Click Save once the progress reaches 100") == ("Click Save", ">=100", "progress")
    assert when("press submit when done") is None
    task = "Buy UBN stock when the price is less than $53.10."
    assert [(s.op, s.target, s.text) for s in parse(task)] == [("await", "price", "<53.1")]  # "Buy ..." is found
    page = [Element("l0", (10, 40, 60, 55), "word", "Company:"), Element("w0", (70, 40, 110, 55), "word", "$12.00"),
            Element("l1", (10, 70, 90, 85), "line", "Stock price:"),
            Element("w1", (100, 70, 150, 85), "word", "$55.40"),
            Element("b0", (60, 100, 100, 120), "button", "Buy")]
    pol = InstructionPolicy()
    act = pol.decide(task, page, [])
    assert act.action == "wait"  # $12.00 is no price: the price shown beside "Stock price:" is still too high
    page[3] = Element("w1", (100, 70, 150, 85), "word", "$52.90")
    assert pol.decide(task, page, [act]) == Click(element="b0")
    line = [Element("l1", (10, 70, 150, 85), "line", "Stock price: $52.90"), page[-1]]
    assert InstructionPolicy().decide(task, line, []) == Click(element="b0")  # label and value read as one line


@pytest.mark.parametrize("task, want", [
    ("Click the numbers from 1 to 5 in order", [("inorder", "", "up")]),
    ("Click the numbers from 5 to 1 in order", [("inorder", "", "down")]),
    ("Mark each number as even or odd", [("classify", "", "even|odd")]),
    ("Press Roll until the die shows 6", [("until", "Roll", "=6")]),
    ("Keep clicking Next until the counter is above 10", [("until", "Next", ">10")]),
    ("Generate a random number between 3 and 8, then click submit", [("until", "Generate", "3..8"),
                                                                      ("click", "submit", "")]),
    ("Wait until the timer is below 5 and click Stop", [("await", "timer", "<5"), ("click", "Stop", "")]),
    ("Select the flight with the lowest price", [("best", "price", "min")]),
    ("Choose the hotel with the highest rating", [("best", "number", "max")]),
])
def test_reading_steps_are_said_in_more_than_one_way(task, want):
    assert [(s.op, s.target, s.text) for s in parse(task)] == want
