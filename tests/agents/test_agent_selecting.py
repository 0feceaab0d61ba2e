"""Text selected by its place (agents/selecting.py): the parser's select step, words grouped into lines and
paragraphs by layout (a control's label is no text; a control between lines ends a paragraph), the drag that
selects the nth paragraph, line or word, and the instruction policy dragging, then clicking Submit (no Chromium,
no OCR: elements are given, laid out as a browser draws short paragraphs at 2x scale)."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click, Drag
from omnirt.agents.elements import Element
from omnirt.agents.plan import parse
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.selecting import drag_span, paragraphs, piece, step


def words(text_lines: list[str], top: int, pitch: int = 24, height: int = 18, left: int = 26,
          prefix: str = "w") -> list[Element]:
    """Words of consecutive lines of one paragraph, 9 px a letter and 10 px between words."""
    out = []
    for i, line in enumerate(text_lines):
        x = left
        for w in line.split():
            y = top + i * pitch
            out.append(Element(f"{prefix}{len(out)}", (x, y, x + 9 * len(w), y + height), "word", w))
            x += 9 * len(w) + 10
    return out


def three_paragraphs(button_first: bool = False) -> list[Element]:
    """Three short paragraphs of two lines each (lines 24 px apart, paragraphs 66 px apart), a Submit button
    above or below them."""
    off = 90 if button_first else 0
    els = words(["Ultricies curabitur metus.", "Augue quam."], 126 + off, prefix="a") + \
        words(["Porttitor venenatis a nibh id.", "Pretium,"], 192 + off, prefix="b") + \
        words(["vitae, eget consequat morbi.", "Purus"], 258 + off, prefix="c")
    button = Element("s", (14, 114, 205, 177) if button_first else (14, 332, 205, 395), "button", "Submit")
    return [button, *els] if button_first else [*els, button]


@pytest.mark.parametrize("clause, want", [
    ("Highlight the text in the 3rd paragraph", ("select", "", "paragraph:3")),
    ("Highlight the text in the paragraph below", ("select", "", "paragraph:1")),
    ("select the last line of the text", ("select", "", "line:-1")),
    ("highlight the second word", ("select", "", "word:2")),
    ("Select all of the text in the first paragraph", ("select", "", "paragraph:1")),
    ("select the blue paragraph", None),  # a description, not a place
    ("Select words similar to big", None),
    ("Select Xyz", None),
])
def test_clauses_that_name_a_piece_of_text_by_its_place(clause, want):
    assert step(clause) == want


def test_the_parser_plans_the_selection_then_the_submit():
    steps = parse("Highlight the text in the 2nd paragraph and click submit.")
    assert [(s.op, s.text) for s in steps] == [("select", "paragraph:2"), ("click", "")]
    assert steps[1].target.lower() == "submit"


@pytest.mark.parametrize("button_first", [False, True])
def test_lines_are_grouped_into_paragraphs_by_the_gaps_between_them(button_first):
    paras = paragraphs(three_paragraphs(button_first))
    assert [[" ".join(w.label for w in line) for line in p] for p in paras] == [
        ["Ultricies curabitur metus.", "Augue quam."], ["Porttitor venenatis a nibh id.", "Pretium,"],
        ["vitae, eget consequat morbi.", "Purus"]]


def test_a_control_between_two_lines_ends_a_paragraph_and_its_label_is_no_text():
    els = words(["One two three"], 100) + words(["four five"], 124, prefix="x")
    assert len(paragraphs(els)) == 1
    between = Element("b", (14, 119, 120, 123), "button", "")  # a thin bar between the lines
    assert len(paragraphs([*els, between])) == 2
    labelled = [*els, Element("s", (20, 95, 400, 145), "button", "One two three four five"),
                Element("t", (500, 300, 560, 320), "word", "Alone")]
    # the words inside the button are its label: only the word outside remains as text
    assert [[w.label for w in line] for p in paragraphs(labelled) for line in p] == [["Alone"]]


def test_the_drag_runs_from_the_first_words_left_edge_to_past_the_last_words_end():
    lines = piece("paragraph", 2, three_paragraphs())
    x, y, tx, ty = drag_span(lines)
    first, last = lines[0][0], lines[-1][-1]
    assert (first.label, last.label) == ("Porttitor", "Pretium,")
    assert first.box[0] - 4 <= x <= first.box[0] and first.box[1] < y < first.box[3]
    # a paragraph's end goes a word height past its last word's box (a thin final "." OCR may leave out)
    assert last.box[2] + 12 <= tx <= last.box[2] + 24 and last.box[1] < ty < last.box[3]


def test_a_lone_word_ends_just_past_it_not_into_the_next_word():
    lines = piece("word", 2, three_paragraphs())
    x, y, tx, ty = drag_span(lines, whole=False)
    word, after = lines[0][0], next(e for e in three_paragraphs() if e.label == "metus.")
    assert word.label == "curabitur" and word.box[0] - 4 <= x <= word.box[0]
    assert word.box[2] < tx < after.box[0]


@pytest.mark.parametrize("unit, n, first, last", [
    ("paragraph", -1, "vitae,", "Purus"), ("line", 2, "Augue", "quam."), ("line", -1, "Purus", "Purus"),
    ("word", 3, "metus.", "metus."), ("paragraph", 4, None, None), ("word", 0, None, None),
])
def test_pieces_by_place(unit, n, first, last):
    got = piece(unit, n, three_paragraphs())
    assert (got[0][0].label, got[-1][-1].label) == (first, last) if first else got is None


def test_the_policy_drags_across_the_paragraph_then_clicks_submit():
    els, pol, hist = three_paragraphs(button_first=True), InstructionPolicy(), []
    instruction = "Highlight the text in the 3rd paragraph and click submit."
    act = pol.decide(instruction, els, hist)
    assert isinstance(act, Drag)
    first, last = (next(e for e in els if e.label == w) for w in ("vitae,", "Purus"))
    assert first.box[0] - 4 <= act.x <= first.box[0] and first.box[1] < act.y < first.box[3]
    assert act.to_x > last.box[2] and last.box[1] < act.to_y < last.box[3]
    hist.append(act)
    assert pol.decide(instruction, els, hist) == Click(element="s")


def test_the_policy_waits_when_the_text_has_no_such_paragraph():
    act = InstructionPolicy().decide("Highlight the text in the 5th paragraph and click submit.",
                                     three_paragraphs(), [])
    assert not isinstance(act, (Drag, Click))
