"""Quantities set with a row's plus, then the order sent (agents/ordering.py): which clauses ask for it, and the
plan the parser makes of them (no Chromium: parsing only; the row's plus is found by agents/everyday.py
row_control and agents/icons.py, tested with their own fixtures)."""

from __future__ import annotations

import pytest

from omnirt.agents.ordering import request
from omnirt.agents.plan import parse_plan


@pytest.mark.parametrize("verb, rest, want", [
    ("Order", "one of each item: Spicy Thai Peanut Chicken, Ice cream sundae",
     [("Spicy Thai Peanut Chicken", 1), ("Ice cream sundae", 1)]),
    ("order", "2 of each dish: Garlic bread and Chicken wings", [("Garlic bread", 2), ("Chicken wings", 2)]),
    ("add", "3 Chicken wings to the order", [("Chicken wings", 3)]),
    ("get", "two Cheese wheel", [("Cheese wheel", 2)]),
    ("Order", "2 items that are meat", None),  # described by what the page shows, not named
    ("order", "2 Garlic bread, Chicken wings", None),  # which count goes with which is not said
    ("add", "a new contact", None),
    ("click", "2 Garlic bread", None),
])
def test_which_clauses_order_named_items(verb, rest, want):
    assert request(verb, rest) == want


def test_the_plan_presses_each_plus_once_a_unit_then_sends_an_order():
    steps, dropped = parse_plan("Order one of each item: Caesar Salad, Ice cream sundae")
    assert dropped == []
    assert [(s.op, s.target, s.look) for s in steps[:2]] == [("row", "Caesar Salad", "plus"),
                                                             ("row", "Ice cream sundae", "plus")]
    assert steps[2].op == "click" and steps[2].loose and "order" in steps[2].target.split("|")
    steps, _ = parse_plan("Add 2 Garlic bread to the order and click Submit")
    assert [(s.op, s.target) for s in steps] == [("row", "Garlic bread"), ("row", "Garlic bread"),
                                                 ("click", "Submit")]  # "add" sends nothing by itself
