"""An entry chosen by how it starts (and ends) from a field's suggestions: "Enter an item that starts with "Sa" and
ends with "ino"" types the start and clicks the suggestion that fits (one drawn boxed like a field counts by its
text), waiting for the list rather than leaving the typed start as the answer. Elements are given here (no OCR)."""

from __future__ import annotations

import pytest

from omnirt.agents import everyday
from omnirt.agents.actions import Click
from omnirt.agents.elements import Element
from omnirt.agents.intents import affixed_item
from omnirt.agents.plan import Step, parse_plan


@pytest.mark.parametrize("clause, want", [
    ('enter an item that starts with "Sa", ends with "ino"', ("Sa", "ino")),
    ("Type a country whose name begins with Ge", ("Ge", "")),
    ("Enter the text that follows", None),
])
def test_the_start_and_end_are_read(clause, want):
    assert affixed_item(clause.replace('"', "")) == want


def test_the_plan_types_the_start_and_needs_a_suggestion_that_fits():
    steps, dropped = parse_plan('Enter an item that starts with "Sa" and ends with "ino".')
    assert dropped == [] and [(s.op, s.target, s.text, s.need) for s in steps] == [
        ("focus", "", "", False), ("type", "", "Sa", False), ("suggest", "Sa", "ino", True)]


def test_the_suggestion_that_ends_so_is_clicked_else_waited_for():
    field = (100, 100, 200, 120)
    typed = Element("f", field, "input", "Tags:", value="Sal")
    menu = [Element("a", (100, 122, 200, 140), "input", "Tags:", value="Salvador"),
            Element("b", (100, 142, 200, 160), "word", "San Marino")]
    step = Step("suggest", "Sa", text="ino", need=True)
    assert everyday.suggestion(step, [typed, *menu], field) == Click(element="b")
    assert everyday.suggestion(Step("suggest", "Sa", need=True), [typed, *menu], field) == Click(element="a")
    assert everyday.suggestion(step, [typed], field) is None  # not in sight yet: wait for it
    assert everyday.suggestion(Step("suggest", "Sa"), [typed], field) is everyday.SKIP  # optional: no list, no pick
