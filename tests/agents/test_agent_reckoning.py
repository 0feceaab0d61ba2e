"""Answers reckoned from the screen (agents/reckoning.py, agents/counting.py): the parser's count, ask, compute and
point steps, objects counted on synthetic frames drawn here (blocks with outlines, coloured shapes, glyphs, a
header band whose text is no object), arithmetic read from text, a point placed by an axis's tick labels, and the
instruction policy answering through them (no Chromium, no OCR: elements are given)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from omnirt.agents import counting
from omnirt.agents.actions import Click, Type
from omnirt.agents.elements import Element
from omnirt.agents.plan import parse
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.reckoning import evaluate, grid_point, shown_expression, step

RGB = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "aqua": (0, 255, 255), "black": (0, 0, 0),
       "magenta": (255, 0, 255), "yellow": (255, 255, 0)}


def page(h: int = 420, w: int = 320, band: bool = True) -> np.ndarray:
    """A white page under a yellow header band that holds black text (which is no object on the page)."""
    rgb = np.full((h, w, 3), 255, np.uint8)
    if band:
        rgb[:90] = (255, 255, 0)
        cv2.putText(rgb, "Count 5 blocks", (8, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    return rgb


def block(rgb: np.ndarray, x: int, y: int, side: int = 24) -> None:
    """A light blue square with a black outline."""
    rgb[y:y + side, x:x + side] = 0
    rgb[y + 2:y + side - 2, x + 2:x + side - 2] = (127, 176, 255)


def shape(rgb: np.ndarray, kind: str, colour: str, cx: int, cy: int, side: int) -> None:
    c, r = RGB[colour], side // 2
    if kind == "rectangle":
        cv2.rectangle(rgb, (cx - r, cy - r), (cx + r - 1, cy + r - 1), c, -1)
    elif kind == "circle":
        cv2.circle(rgb, (cx, cy), r, c, -1, lineType=cv2.LINE_AA)
    elif kind == "triangle":
        pts = np.array([(cx - r, cy + r), (cx, cy - r), (cx + r, cy + r)], np.int32)
        cv2.fillPoly(rgb, [pts], c, lineType=cv2.LINE_AA)
    else:  # a glyph: the character drawn as text
        scale = side / 22
        cv2.putText(rgb, kind, (cx - r // 2, cy + r // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, c,
                    max(1, round(scale * 2)), cv2.LINE_AA)


@pytest.mark.parametrize("clause, want", [
    ("Type the total number of blocks into the textbox", ("count", "", "blocks")),
    ("enter the number of red circles in the age field", ("count", "age", "red circles")),
    ("How many large red items are there?", ("ask", "", "large red items")),
    ("How many 5s are there?", ("ask", "", "5s")),
    ("how many blue squares do you see", ("ask", "", "blue squares")),
    ("Enter how many circles there are into the field", ("count", "", "circles")),
    ("Type the answer into the box", ("compute", "", "")),
    ("enter the result of the sum", ("compute", "", "")),
    ("Click on the grid coordinate (-1,2).", ("point", "", "-1,2")),
    ("click the point (3, 0)", ("point", "", "3,0")),
    ("Type the text into the box", None),
    ("Enter the value that corresponds with each label into the form", None),
    ("How many times did you click?", None),
])
def test_clauses_that_ask_for_an_answer_the_screen_gives(clause, want):
    assert step(clause) == want


def test_the_parser_plans_the_answer_then_the_submit():
    assert [(s.op, s.text) for s in parse("Type the total number of blocks into the textbox and press Submit.")] == \
        [("count", "blocks"), ("click", "")]
    assert [s.op for s in parse("How many large red items are there?")] == ["ask"]


@pytest.mark.parametrize("text, want", [
    ("large red items", counting.Description("large", "red", "", "", True)),
    ("small aqua circles", counting.Description("small", "aqua", "circle", "", False)),
    ("5s", counting.Description(char="5")), ("Qs", counting.Description(char="Q")),
    ("digits", counting.Description(kind="digit")), ("pink squares", counting.Description("", "magenta", "rectangle")),
    ("blocks", counting.Description()),
])
def test_descriptions_name_size_colour_kind_or_a_character(text, want):
    assert counting.describe(text) == want


@pytest.mark.parametrize("first, second", [(3, 4), (7, 1), (10, 9)])
def test_outlined_blocks_in_two_groups_are_counted_and_the_header_text_is_not(first, second):
    rgb = page()
    for group, n, x0 in ((0, first, 40), (1, second, 200)):
        for i in range(n):
            block(rgb, x0 + (i % 3) * 28, 120 + (i // 3) * 28)
    cv2.putText(rgb, "+", (150, 160), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
    blobs = counting.find_blobs(rgb)
    assert counting.count(counting.describe("blocks"), blobs) == first + second


def _shapes_page() -> np.ndarray:
    rgb = page()
    for kind, colour, cx, cy, side in [
        ("rectangle", "red", 40, 130, 40), ("circle", "red", 100, 130, 40), ("triangle", "blue", 160, 130, 40),
        ("rectangle", "red", 220, 130, 20), ("circle", "aqua", 280, 130, 20), ("triangle", "red", 40, 200, 20),
        ("circle", "green", 100, 200, 40), ("rectangle", "magenta", 160, 200, 20),
    ]:
        shape(rgb, kind, colour, cx, cy, side)
    return rgb


@pytest.mark.parametrize("desc, want", [
    ("red items", 4), ("large red items", 2), ("small red items", 2), ("circles", 3), ("rectangles", 3),
    ("triangles", 2), ("large shapes", 4), ("small items", 4), ("green circles", 1), ("blue items", 1),
    ("yellow items", 0), ("items", 8), ("aqua circles", 1), ("pink rectangles", 1),
])
def test_shapes_are_counted_by_size_colour_and_kind(desc, want):
    blobs = counting.find_blobs(_shapes_page())
    assert counting.count(counting.describe(desc), blobs) == want


def test_shapes_that_touch_are_told_apart_by_colour():
    rgb = page()
    shape(rgb, "rectangle", "red", 60, 150, 40)
    shape(rgb, "rectangle", "blue", 100, 150, 40)  # shares an edge with the red one
    shape(rgb, "rectangle", "green", 140, 150, 40)
    blobs = counting.find_blobs(rgb)
    assert sorted(b.colour for b in blobs) == ["blue", "green", "red"]
    assert all(b.kind == "rectangle" for b in blobs)


def test_glyphs_are_no_shapes_and_a_glyph_is_read_by_the_ocr_word_over_it():
    rgb = page()
    shape(rgb, "5", "red", 60, 150, 40)
    shape(rgb, "Q", "blue", 140, 150, 40)
    shape(rgb, "circle", "red", 220, 150, 40)
    words = [Element("w0", (45, 125, 80, 175), "word", "5"), Element("w1", (125, 125, 165, 175), "word", "Q")]
    blobs = counting.read_glyphs(counting.find_blobs(rgb, words), words)
    assert sorted((b.kind, b.text) for b in blobs) == [("circle", ""), ("glyph", "5"), ("glyph", "Q")]
    for desc, want in (("digits", 1), ("letters", 1), ("5s", 1), ("Qs", 1), ("qs", 0), ("shapes", 1),
                       ("red items", 2)):
        assert counting.count(counting.describe(desc), blobs) == want, desc


def test_what_lies_inside_a_control_is_not_counted():
    rgb = page()
    block(rgb, 40, 120)
    block(rgb, 70, 120)
    block(rgb, 200, 300)  # drawn inside a button
    button = Element("b0", (180, 290, 260, 340), "button", "")
    assert counting.count(counting.describe("blocks"), counting.find_blobs(rgb, [button])) == 2


def test_the_frame_of_a_numbered_button_taken_for_an_icon_is_no_object():
    """A row of numbered answer buttons, one of which the detector boxed as a labelled icon: its thin dark outline
    around its digit is the control's frame, not one more object (a DEV run counted 6 large items for 5 so)."""
    rgb = page()
    for i, (colour, kind) in enumerate((("aqua", "rectangle"), ("green", "circle"), ("red", "triangle"))):
        shape(rgb, kind, colour, 60 + 80 * i, 160, 40)
    shape(rgb, "9", "blue", 60, 240, 40)  # a drawn digit the detector also boxes as a labelled icon: an object
    els = [Element("g9", (52, 213, 82, 250), "icon", "9")]  # its box tight on its ink
    for k, n in enumerate((8, 5, 1)):
        x0, y0, x1, y1 = 16 + 58 * k, 330, 66 + 58 * k, 373
        rgb[y0:y1, x0:x1] = 0
        rgb[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = 240
        cv2.putText(rgb, str(n), (x0 + 17, y1 - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
        els.append(Element(f"b{n}", (x0, y0, x1, y1), "icon" if n == 5 else "button", str(n)))
    blobs = counting.find_blobs(rgb, els)
    assert counting.count(counting.describe("large items"), blobs, 43.0) == 4
    assert not any(b.box[1] >= 328 for b in blobs)


def test_a_lone_letter_the_detector_boxed_as_a_labelled_icon_is_counted():
    """No outline around it: the icon is only the detector's box (with a margin) of a glyph drawn on the page, so
    the glyph is one of the letters, not a control's label (a DEV run counted 3 letters for 4 so)."""
    rgb = page()
    for i, ch in enumerate("Sgeq"):
        shape(rgb, ch, "blue", 40 + 60 * i, 200, 20)
    words = [Element("q", (198, 176, 240, 220), "icon", "q"), Element("b", (16, 330, 66, 373), "button", "4")]
    rgb[330:373, 16:66] = 0
    rgb[332:371, 18:64] = 240
    blobs = counting.find_blobs(rgb, words)
    assert counting.count(counting.describe("letters"), blobs) == 4


@pytest.mark.parametrize("expr, want", [
    ("12 + 7", 19), ("6 x 3", 18), ("8 - 2 x 3", 2), ("-4 + 10", 6), ("9 \u00f7 3", 3), ("5 - -3", 8),
])
def test_arithmetic_is_worked_out_with_products_first(expr, want):
    assert evaluate(expr) == want


def test_the_expression_shown_is_read_from_a_row_of_words():
    els = [Element("w0", (40, 150, 60, 170), "word", "14"), Element("w1", (70, 150, 80, 170), "word", "+"),
           Element("w2", (90, 150, 110, 170), "word", "9"), Element("w3", (120, 150, 130, 170), "word", "="),
           Element("w4", (40, 250, 120, 270), "word", "Submit")]
    assert shown_expression(els) == 23
    assert shown_expression(els[3:]) is None


def _axes(minus: bool) -> list[Element]:
    """Tick labels of x and y axes crossing at (160, 250), 60 px a unit, the minus signs read or lost."""
    s = "-" if minus else ""
    xs = [Element(f"x{i}", (160 + 60 * v - 6, 262, 160 + 60 * v + 6, 278), "word", (s if v < 0 else "") + str(abs(v)))
          for i, v in enumerate((-2, -1, 1, 2))]
    ys = [Element(f"y{i}", (140, 250 - 60 * v - 8, 152, 250 - 60 * v + 8), "word", (s if v < 0 else "") + str(abs(v)))
          for i, v in enumerate((2, 1, -1, -2))]
    return xs + ys + [Element("o", (140, 262, 152, 278), "word", "0")]


@pytest.mark.parametrize("minus", [True, False])
@pytest.mark.parametrize("want, at", [("-1,2", (100, 130)), ("2,-2", (280, 370)), ("0,0", (160, 250)),
                                      ("-2,-1", (40, 310))])
def test_a_grid_point_is_placed_by_the_axis_labels_even_when_minus_signs_are_lost(minus, want, at):
    got = grid_point(want, _axes(minus), None)
    assert got is not None and abs(got[0] - at[0]) <= 2 and abs(got[1] - at[1]) <= 2


def test_a_grid_point_snaps_to_the_marker_drawn_there():
    rgb = page()
    for gx in range(-2, 3):
        for gy in range(-2, 3):
            cv2.circle(rgb, (160 + 60 * gx + 3, 250 - 60 * gy - 2), 7, (0, 0, 255), -1)
    got = grid_point("1,1", _axes(True), rgb)  # the marker is 3 px right of and 2 px above the place
    assert got is not None and abs(got[0] - 223) <= 1 and abs(got[1] - 188) <= 1


def test_the_policy_counts_clicks_the_field_types_the_count_and_submits():
    rgb = page()
    for i in range(5):
        block(rgb, 40 + (i % 3) * 28, 120 + (i // 3) * 28)
    els = [Element("f", (40, 300, 200, 330), "input", ""), Element("s", (40, 350, 120, 380), "button", "Submit")]
    pol, hist = InstructionPolicy(), []
    want = [Click(element="f"), Type(text="5"), Click(element="s")]
    for expect in want:
        pol.see(rgb)
        act = pol.decide("Type the total number of blocks into the textbox and press Submit.", els, hist)
        assert act == expect
        hist.append(act)


def test_the_policy_answers_a_question_by_the_numbered_button():
    rgb = page()
    for i, (colour, side) in enumerate((("red", 40), ("red", 40), ("blue", 40), ("red", 20))):
        shape(rgb, "circle", colour, 50 + 60 * i, 150, side)
    buttons = [Element(f"b{n}", (20 + 40 * k, 330, 50 + 40 * k, 360), "button", str(n))
               for k, n in enumerate((4, 2, 7, 0, 3))]
    buttons.insert(0, Element("w2", (200, 200, 210, 220), "word", "2"))  # a "2" drawn on the page is no answer
    pol = InstructionPolicy()
    pol.see(rgb)
    assert pol.decide("How many large red items are there?", buttons, []) == Click(element="b2")  # two large red ones


def test_a_question_whose_count_is_not_offered_takes_the_nearest_numbered_choice():
    rgb = page()
    for i in range(4):
        shape(rgb, "rectangle", "green", 50 + 60 * i, 150, 30)
    buttons = [Element(f"b{n}", (20 + 40 * k, 330, 50 + 40 * k, 360), "button", str(n))
               for k, n in enumerate((0, 7, 3, 9))]
    pol = InstructionPolicy()
    pol.see(rgb)
    assert pol.decide("How many green squares are there?", buttons, []) == Click(element="b3")


def test_the_policy_clicks_the_grid_point_as_a_step_of_the_plan_and_is_then_done():
    pol, hist = InstructionPolicy(), []
    act = pol.decide("Click on the grid coordinate (1,-2).", _axes(False), hist)
    assert isinstance(act, Click) and abs(act.x - 220) <= 2 and abs(act.y - 370) <= 2
    hist.append(act)
    assert pol.decide("Click on the grid coordinate (1,-2).", _axes(False), hist).action == "done"


def test_a_point_whose_signs_differ_from_the_last_episodes_is_planned_afresh():
    """One policy over episodes: "(1,-2)" then "(-1,2)" normalise to the same words; the plan cache must still tell
    them apart, or the second episode clicks the first one's point (signs flipped)."""
    pol = InstructionPolicy()
    first = pol.decide("Click on the grid coordinate (1,-2).", _axes(False), [])
    second = pol.decide("Click on the grid coordinate (-1,2).", _axes(False), [])  # a new episode: no history
    assert abs(first.x - 220) <= 2 and abs(first.y - 370) <= 2
    assert abs(second.x - 100) <= 2 and abs(second.y - 130) <= 2


@pytest.mark.parametrize("keep", ["x2", "y0"])
def test_an_axis_with_one_label_read_takes_the_other_axis_scale(keep):
    els = [e for e in _axes(True) if e.id[0] != keep[0] or e.id == keep]  # one axis keeps one tick label
    got = grid_point("-1,1", [e for e in els if e.id != "o"], None)
    assert got is not None and abs(got[0] - 100) <= 2 and abs(got[1] - 190) <= 2


def test_labels_that_disagree_with_the_drawn_axes_give_way_to_the_axes_and_markers():
    rgb = page()
    cv2.line(rgb, (20, 250), (300, 250), (0, 0, 0), 2)  # the x axis
    cv2.line(rgb, (160, 110), (160, 390), (0, 0, 0), 2)  # the y axis
    for gx in range(-2, 3):
        for gy in range(-2, 3):
            cv2.circle(rgb, (160 + 60 * gx, 250 - 60 * gy), 7, (0, 0, 255), -1)
    misread = [e for e in _axes(True) if e.id in ("y0", "y1", "x3")] + [
        Element("bad", (140, 362, 152, 378), "word", "-20")]  # "-2" read with a stray 0
    got = grid_point("1,-2", misread, rgb)
    assert got is not None and abs(got[0] - 220) <= 2 and abs(got[1] - 370) <= 2
    assert grid_point("1,-2", misread, None) != got  # from the labels alone it lands elsewhere
