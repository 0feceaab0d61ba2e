"""A search said in one sentence over a form of several labelled fields (agents/search_forms.py): each field the
sentence names by a word of its label gets the words said after it, the one field left over gets the description
of what is sought; a form with one field gets the whole sentence. Elements are given here (no OCR)."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click, Hotkey, Type
from omnirt.agents.elements import Element
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.search_forms import assign, query


@pytest.mark.parametrize("text, labels, want", [
    ("surreal movies directed by Baxter from year 1995", ["Genre", "Director", "Year"],
     [("Genre", "surreal"), ("Director", "Baxter"), ("Year", "1995")]),
    ("drama films directed by Van Dyke from year 2011", ["Year", "Director", "Genre"],
     [("Year", "2011"), ("Director", "Van Dyke"), ("Genre", "drama")]),
    ("flights from Oslo to Rome", ["Name", "Email"], []),  # no label named: no fields
    ("novels by Le Guin with the title Lathe", ["Author", "Title"], [("Title", "Lathe")]),
])
def test_each_label_named_in_the_sentence_gets_what_follows_it(text, labels, want):
    assert assign(text, labels) == want


def test_a_search_clause_is_one_step_read_on_the_screen():
    assert query("Search for satire movies directed by Maynard from year 1986.") == \
        "satire movies directed by Maynard from year 1986"
    assert query("Click the search button") is None
    steps, dropped = parse_plan("Search for satire movies directed by Maynard from year 1986.")
    assert dropped == [] and [(s.op, s.target) for s in steps] == [
        ("search", "satire movies directed by Maynard from year 1986")]


def side_form(*labels: str, button: str = "Submit") -> list[Element]:
    """Labels left of their fields, one row each, and a button below."""
    out = []
    for i, label in enumerate(labels):
        y = 60 + 30 * i
        out += [Element(f"t{i}", (20, y + 4, 20 + 8 * len(label), y + 18), "word", label),
                Element(f"f{i}", (100, y, 200, y + 22), "input", "")]
    return out + [Element("b", (100, 60 + 30 * len(labels), 160, 80 + 30 * len(labels)), "button", button)]


def run(instruction: str, ui: list[Element], steps: int = 12) -> list:
    """The policy's actions on an unchanging screen until it says done."""
    pol, acts = InstructionPolicy(), []
    while len(acts) < steps and (not acts or acts[-1].action != "done"):
        acts.append(pol.decide(instruction, ui, acts))
    return acts


def test_the_fields_are_filled_by_label_and_the_form_sent():
    ui = side_form("Year", "Genre", "Director")
    acts = run("Search for satire movies directed by Maynard from year 1986.", ui)
    fields = {e.box: e.label for e in ui if e.kind == "word"}
    typed = {}
    for a, b in zip(acts, acts[1:]):
        if isinstance(a, Click) and isinstance(b, Type):
            row = next(lbl for box, lbl in fields.items() if box[1] <= a.y <= box[3] + 8)
            typed[row] = b.text
    assert typed == {"Year": "1986", "Genre": "satire", "Director": "Maynard"}
    assert acts[-2] == Click(element="b") and acts[-1].action == "done"


def test_one_field_gets_the_whole_sentence_and_enter_sends_it():
    ui = [Element("f", (100, 60, 300, 82), "input", "")]
    acts = run("Search for cheap flights to Rome", ui)
    assert isinstance(acts[0], Click) and acts[1] == Type(text="cheap flights to Rome")
    assert acts[2] == Hotkey(keys=["enter"])


def test_a_control_that_reads_the_clause_is_clicked_not_searched_with():
    # "... and search trips" beside a "Search trips" button: the words name the button (not a query for "trips")
    ui = [Element("f", (100, 60, 300, 82), "input", ""), Element("b", (100, 100, 200, 124), "button", "Search trips")]
    acts = run("Search trips", ui)
    assert acts[-2:-1] == [Click(element="b")] and acts[-1].action == "done"
    assert not any(isinstance(a, (Type, Hotkey)) for a in acts)
