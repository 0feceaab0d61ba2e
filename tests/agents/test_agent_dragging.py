"""Things moved with the pointer (agents/dragging.py): the parser's drag step, objects and outlines found on a drawn
frame, descriptions (kind, colour, size, place, plural) picking them, the moves (into a place, several side by
side, or a direction), and the instruction policy dragging each thing once, then pressing the form's Submit that
the sentence did not name (no Chromium, no OCR: frames are drawn with numpy at a browser's 2x scale)."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.agents.actions import Click, Done, Drag, Wait
from omnirt.agents.dragging import moves, objects, pick, plural, step
from omnirt.agents.elements import Element
from omnirt.agents.plan import Step, parse
from omnirt.agents.policies import InstructionPolicy

WHITE, RED, BLUE, BLACK, GREEN, YELLOW = (255, 255, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0), (0, 128, 0), \
    (255, 255, 0)


def frame() -> np.ndarray:
    """A 320x580 page: a yellow instruction band on top, white below."""
    rgb = np.full((580, 320, 3), 255, np.uint8)
    rgb[:100] = YELLOW
    return rgb


def box(rgb: np.ndarray, x0: int, y0: int, x1: int, y1: int, fill: tuple, border: int = 0) -> None:
    rgb[y0:y1, x0:x1] = BLACK if border else fill
    if border:
        rgb[y0 + border:y1 - border, x0 + border:x1 - border] = fill


def disc(rgb: np.ndarray, cx: int, cy: int, r: int, fill: tuple) -> None:
    yy, xx = np.mgrid[:rgb.shape[0], :rgb.shape[1]]
    rgb[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = fill


def triangle(rgb: np.ndarray, x0: int, y0: int, side: int, fill: tuple) -> None:
    for i in range(side):
        half = i // 2
        rgb[y0 + i, x0 + side // 2 - half:x0 + side // 2 + half + 1] = fill


def two_boxes() -> np.ndarray:
    """A small red box with a black border left of a large blue one."""
    rgb = frame()
    box(rgb, 18, 222, 70, 274, RED, border=2)
    box(rgb, 102, 152, 214, 264, BLUE, border=2)
    return rgb


def shapes_and_a_frame() -> np.ndarray:
    """An outlined black box (a drop area), two circles, a triangle and a square."""
    rgb = frame()
    rgb[118:212, 112:276] = BLACK
    rgb[122:208, 116:272] = WHITE
    disc(rgb, 30, 250, 16, RED)
    disc(rgb, 150, 300, 16, BLUE)
    triangle(rgb, 200, 240, 34, GREEN)
    box(rgb, 8, 108, 42, 142, BLUE)
    return rgb


SUBMIT = Element("s", (108, 372, 300, 432), "button", "Submit")


@pytest.mark.parametrize("clause, want", [
    ("Drag the item down", ("drag", "item", "dir:down")),
    ("Drag the smaller box so that it is completely inside the larger box", ("drag", "smaller box", "larger box")),
    ("Drag all circles into the black box.", ("drag", "all circles", "black box")),
    ("Move the triangle to the left", ("drag", "triangle", "dir:left")),
    ("drag the red circle onto the blue square", ("drag", "red circle", "blue square")),
    ("Drag Apples to Fruit", ("drag", "Apples", "Fruit")),
    ("move to the password field", None),  # no thing to move: a field to focus
    ("Drag the slider to 5", None),  # agents/sliding.py's
    ("drag across the 2nd line", None),
    ("Place the order", None),
])
def test_clauses_that_ask_for_a_drag(clause, want):
    assert step(clause) == want


def test_the_parser_plans_the_drag_then_the_submit_said():
    steps = parse("Drag the item right then press Submit.")
    assert [(s.op, s.target, s.text) for s in steps] == [("drag", "item", "dir:right"), ("click", "Submit", "")]


@pytest.mark.parametrize("text, many", [("all circles", True), ("the triangles", True), ("every red item", True),
                                        ("the item", False), ("smaller box", False), ("Apples", False)])
def test_a_plural_or_all_asks_for_every_match(text, many):
    assert plural(text) is many


def test_an_outline_is_a_container_and_a_shapes_label_is_no_object():
    rgb = two_boxes()
    rgb[236:252, 30:32] = BLACK  # an "L" drawn on the small box, in strokes
    rgb[250:252, 30:40] = BLACK
    found = objects(rgb, [])
    assert [(b.colour, b.kind, hollow) for b, hollow in found] == [("blue", "rectangle", False),
                                                                   ("red", "rectangle", False)]
    found = objects(shapes_and_a_frame(), [])
    assert [(b.colour, hollow) for b, hollow in found if hollow] == [("black", True)]


def test_descriptions_by_size_kind_colour_and_place():
    found = objects(shapes_and_a_frame(), [])
    assert [b.colour for b in pick("all circles", found)] == ["red", "blue"]
    assert [b.kind for b in pick("the triangle", found)] == ["triangle"]
    assert [b.colour for b in pick("the blue square", found)] == ["blue"]
    assert [b.colour for b in pick("the leftmost circle", found)] == ["red"]
    assert [b.colour for b in pick("black box", found, place=True)] == ["black"]  # the outline, not a shape
    boxes = objects(two_boxes(), [])
    assert [b.colour for b in pick("smaller box", boxes)] == ["red"]
    assert [b.colour for b in pick("larger box", boxes, place=True)] == ["blue"]


def test_a_thing_goes_to_the_middle_of_its_place_and_several_side_by_side():
    (x, y, tx, ty), = moves(Step("drag", "smaller box", text="larger box"), [], two_boxes())
    assert (x, y) == (44, 248) and (tx, ty) == (158, 208)
    got = moves(Step("drag", "all circles", text="black box"), [], shapes_and_a_frame())
    assert [(x, y) for x, y, _, _ in got] == [(30, 250), (150, 300)]
    assert all(116 < tx < 272 and 122 < ty < 208 for _, _, tx, ty in got)
    assert abs(got[0][2] - got[1][2]) >= 32  # set apart, not one on the other
    assert moves(Step("drag", "all rectangles", text="the green triangle"), [], shapes_and_a_frame())[0][2:] == \
        (218, 257)


def test_a_direction_moves_a_thing_by_its_size_inside_the_frame():
    rgb = frame()
    triangle(rgb, 150, 210, 52, GREEN)
    (x, y, tx, ty), = moves(Step("drag", "item", text="dir:down"), [], rgb)
    assert tx == x and ty - y >= 50
    (x, y, tx, ty), = moves(Step("drag", "item", text="dir:left"), [], rgb)
    assert ty == y and 0 < tx < x - 30


def test_nothing_to_move_for_all_and_nothing_in_sight_for_one():
    rgb = shapes_and_a_frame()
    assert moves(Step("drag", "all rectangles", text="black box"), [], rgb) == [(25, 125, 194, 165)]
    assert moves(Step("drag", "all stars", text="black box"), [], frame()) == []
    assert moves(Step("drag", "the circle", text="black box"), [], frame()) is None
    assert moves(Step("drag", "the red circle", text="purple box"), [], rgb) is None


def test_a_thing_named_by_its_words_is_dragged_onto_the_words_named():
    els = [Element("a", (20, 120, 80, 140), "word", "Apples"), Element("f", (200, 300, 260, 320), "word", "Fruit")]
    assert moves(Step("drag", "Apples", text="Fruit"), els, frame()) == [(50, 130, 230, 310)]


def test_the_policy_drags_each_thing_into_its_place_then_presses_the_submit_it_was_not_told_of():
    rgb, pol, hist = shapes_and_a_frame(), InstructionPolicy(), []
    instruction = "Drag all circles into the black box."
    for moved in range(2):
        pol.see(rgb)
        act = pol.decide(instruction, [SUBMIT], hist)
        assert isinstance(act, Drag) and (act.x, act.y) == ((30, 250), (150, 300))[moved]
        hist.append(act)
        pol.observe(act, True)
        disc(rgb, act.x, act.y, 17, WHITE)  # the page moves it into the box
        disc(rgb, act.to_x, act.to_y, 10, RED)
    pol.see(rgb)
    assert pol.decide(instruction, [SUBMIT], hist) == Click(element="s")
    hist.append(Click(element="s"))
    assert isinstance(pol.decide(instruction, [SUBMIT], hist), Done)


def test_a_drop_that_missed_is_made_again_but_not_for_ever():
    rgb, pol, hist = shapes_and_a_frame(), InstructionPolicy(), []
    pol.see(rgb)  # the page never moves anything
    acts = []
    for _ in range(8):
        act = pol.decide("Drag all circles into the black box.", [SUBMIT], hist)
        acts.append(act)
        hist.append(act)
        if not isinstance(act, Drag):
            break
    assert sum(isinstance(a, Drag) for a in acts) == 6  # twice the two circles, and two more
    assert acts[-1] == Click(element="s")


def test_the_policy_waits_when_the_thing_is_not_in_sight():
    pol = InstructionPolicy()
    pol.see(frame())
    act = pol.decide("Drag the smaller box so that it is completely inside the larger box.", [SUBMIT], [])
    assert not isinstance(act, (Drag, Click))


def test_a_white_shape_is_known_by_its_outline():
    rgb = frame()
    disc(rgb, 118, 228, 33, BLACK)
    disc(rgb, 118, 228, 31, WHITE)
    (b, hollow), = objects(rgb, [])
    assert (b.kind, hollow) == ("circle", True)
    (x, y, tx, ty), = moves(Step("drag", "circle", text="dir:right"), [], rgb)
    assert (x, y) == (118, 228) and tx - x >= 60 and ty == y


def test_a_box_partly_covered_is_still_the_larger_box():
    rgb = frame()
    box(rgb, 160, 146, 276, 262, BLUE, border=2)
    box(rgb, 222, 230, 278, 286, RED, border=2)  # on top of the blue box's corner
    (x, y, tx, ty), = moves(Step("drag", "smaller box", text="larger box"), [], rgb)
    assert (x, y) == (250, 258) and 190 < tx < 246 and 176 < ty < 232


def test_everything_else_goes_where_the_clause_says_after_the_drag_before_it():
    steps = parse("Drag all triangles into the left box, and everything else into the right box.")
    assert [(s.op, s.target, s.text) for s in steps] == [("drag", "all triangles", "left box"),
                                                         ("drag", "rest:everything else", "right box")]
    rgb = frame()
    for x0 in (4, 168):  # two outlined boxes side by side
        rgb[110:210, x0:x0 + 140] = BLACK
        rgb[114:206, x0 + 4:x0 + 136] = WHITE
    triangle(rgb, 60, 140, 30, GREEN)  # already in the left box
    disc(rgb, 40, 300, 14, RED)
    triangle(rgb, 200, 290, 30, BLUE)
    got = moves(Step("drag", "rest:everything else", text="right box"), [], rgb)
    assert [(x, y) for x, y, _, _ in got] == [(40, 300), (216, 305)]  # not the one in a box already
    assert all(168 < tx < 308 and 110 < ty < 210 for _, _, tx, ty in got)
    assert moves(Step("drag", "rest:the other circles", text="right box"), [], rgb) == [(40, 300, 238, 160)]


def test_after_the_drags_a_submit_not_read_is_looked_for_once_more():
    rgb, pol, hist = shapes_and_a_frame(), InstructionPolicy(), []
    instruction = "Drag the triangle into the black box."
    pol.see(rgb)
    act = pol.decide(instruction, [SUBMIT], hist)
    assert isinstance(act, Drag)
    hist.append(act)
    assert isinstance(pol.decide(instruction, [], hist), Wait)  # no Submit read on this screen: once more
    hist.append(Wait(seconds=0.2))
    assert pol.decide(instruction, [SUBMIT], hist) == Click(element="s")
