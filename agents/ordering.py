"""Quantities set with a row's "+" control, then the order sent: "Order one of each item: Caesar Salad, Ice cream
sundae", "order 2 Garlic bread", "add 3 Chicken wings to the order". A menu or cart lists items with a - / + pair
(or an icon-only plus) beside each name; a count is set by pressing the plus that many times, as a person does, and
the order goes with the button that says the verb (Order, Checkout, Submit).

- The parser's steps: per item and per unit, a `row` step (agents/everyday.py row_control) whose control is the one
  that looks like a plus (agents/icons.py), then, for "order", a loose click on the sending button (Order, Checkout,
  Submit: "add" and "get" only set the counts). An item below the fold is looked for by scrolling, as any row is
  (a row step is a pointer step).
- Only named items: "order 2 items that are meat" describes items by what the page shows as icons, and is not read
  here (None).

English and list layout only, nothing about any page.
"""

from __future__ import annotations

import re

from omnirt.agents.phrases import integer

EACH_RE = re.compile(r"^(?P<n>\w+)\s+of\s+each\s+(?:item|dish|product|thing|one)s?(?:\s+(?:below|listed|shown))?"
                     r"\s*:?\s*(?P<items>.+)$", re.I)
COUNT_RE = re.compile(r"^(?P<n>\d+|one|two|three|four|five)\s+(?:x\s+|of\s+(?:the\s+)?)?(?P<items>.+?)"
                      r"(?:\s+(?:to|into|in)\s+(?:the\s+|my\s+|your\s+)?(?:order|cart|basket|bag))?$", re.I)
VERBS = ("order", "add", "buy", "get")
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
DESCRIBED = re.compile(r"^(?:items?|things?|dishes?|products?|ones?|of\s+them)\b", re.I)
SENDERS = "order|place order|order now|checkout|check out|submit"


def request(verb: str, rest: str) -> list[tuple[str, int]] | None:
    """[(item, count)] for 'order' + 'one of each item: A, B' or '2 A'; None for any other clause."""
    if verb.lower() not in VERBS:
        return None
    rest = rest.strip(" .!")
    each = EACH_RE.match(rest)
    m = each or COUNT_RE.match(rest)
    if m is None:
        return None
    n = NUMBERS.get(m.group("n").lower()) or integer(m.group("n"))
    items = [i.strip() for i in re.split(r",\s*(?:and\s+)?|\s+and\s+", m.group("items")) if i.strip()]
    if not n or not 0 < n <= 9 or not items or any(DESCRIBED.match(i) for i in items):
        return None
    if not each and len(items) > 1:
        return None  # "order 2 A, B": which count goes with which is not said
    return [(item, n) for item in items]


def steps(verb: str, wanted: list[tuple[str, int]]) -> list:
    """The plan: the plus of each item's row, once per unit, then the button that sends the order."""
    from omnirt.agents.plan_steps import Step

    out = [Step("row", item, text="add", look="plus") for item, n in wanted for _ in range(n)]
    # "order ...": the order is sent too (the button says the verb); "add" / "get" only set the counts
    return out + ([Step("click", SENDERS, ["button"], loose=True)] if verb.lower() == "order" else [])
