"""Looking through tabs or sections for a target none of them shows yet (agents/exploring.py): the clause that says
so, the openers (labelled with the noun, else a strip of short words atop the page), a link read inside a longer
one, and the policy opening each container in turn until the target shows. Elements are given here (no OCR)."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click
from omnirt.agents.elements import Element
from omnirt.agents.exploring import containers, find, openers
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy


@pytest.mark.parametrize("clause, noun", [
    ("Switch between the tabs to find", "tab"),
    ("Expand the sections below, to find", "section"),
    ("Look through the folders to locate", "folder"),
    ("Expand the sections below", ""),  # no reason to look through them: a click as before
    ("Click the tabs", ""),
])
def test_a_clause_that_looks_through_containers_names_them(clause, noun):
    assert containers(clause) == noun


def test_the_click_after_it_explores_those_containers():
    steps, dropped = parse_plan('Switch between the tabs to find and click on the link "Vel".')
    assert dropped == [] and [(s.op, s.target, s.explore) for s in steps] == [("click", "Vel", "tab")]


def test_openers_are_the_nouns_texts_else_the_strip_of_short_words_on_top():
    sections = [Element("a", (10, 10, 60, 24), "link", "Section"), Element("l", (10, 10, 90, 24), "line", "Section #1"),
                Element("b", (10, 60, 60, 74), "link", "Section"), Element("w", (10, 30, 200, 44), "word", "body")]
    assert [e.id for e in openers("section", sections)] == ["a", "b"]
    strip = [Element("s", (10, 5, 70, 25), "button", "1 2 3"), Element("w", (10, 40, 200, 54), "line", "Lorem ipsum")]
    tabs = openers("tab", strip)
    assert [t.label for t in tabs] == ["1", "2", "3"] and tabs[0].center[0] < tabs[1].center[0] < tabs[2].center[0]
    assert openers("section", strip) == []  # only tabs stand in a strip atop their panel


def test_a_link_asked_for_is_a_link_and_may_be_a_word_of_a_longer_one():
    plain = Element("p", (0, 100, 30, 114), "word", "Vel")
    assert find("Vel", ["link", "word"], [plain]) is None
    joined = Element("j", (100, 10, 360, 24), "link", "posuere. Sit sagittis. Vel")
    hit = find("Vel", ["link", "word"], [plain, joined])
    assert hit is not None and hit.kind == "span" and 320 < hit.center[0] < 360


def test_the_policy_opens_each_tab_in_turn_then_clicks_the_target():
    tabs = [Element("t1", (10, 5, 60, 25), "button", "Tab #1"), Element("t2", (70, 5, 120, 25), "button", "Tab #2")]
    body = [Element("w", (10, 40, 60, 54), "link", "Lorem")]
    pol, history = InstructionPolicy(), []
    history.append(pol.decide('Switch between the tabs to find and click on the link "Vel".', tabs + body, history))
    history.append(pol.decide('Switch between the tabs to find and click on the link "Vel".', tabs + body, history))
    assert history == [Click(element="t1"), Click(element="t2")]
    shown = tabs + [Element("v", (10, 40, 60, 54), "link", "Vel")]
    assert pol.decide('Switch between the tabs to find and click on the link "Vel".', shown, history) == \
        Click(element="v")
