"""A point placed by a construction on a drawing (agents/geometry.py): the sentence read into a construct step,
points and shapes found on a drawn frame (no Chromium, no OCR: frames drawn with OpenCV at a browser's 2x scale),
the constructed pixel, and the policy's click, its one correction when the page's mark lands apart from the click,
then Submit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from omnirt.agents.actions import Click, Drag
from omnirt.agents.elements import Element
from omnirt.agents.geometry import construct, ink, points, step
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy

BLACK, BLUE = (0, 0, 0), (0, 0, 255)
SUBMIT = Element("ok", (60, 355, 251, 418), "button", "Submit")


def frame() -> np.ndarray:
    """A 320x580 page: a yellow instruction band on top, white below, a grey strip at the bottom, a Submit button."""
    rgb = np.full((580, 320, 3), 255, np.uint8)
    rgb[:100] = (255, 255, 0)
    rgb[420:] = (85, 85, 85)
    cv2.rectangle(rgb, (60, 355), (250, 417), (120, 120, 120), 2)
    return rgb


def _at(p: tuple[int, int]) -> tuple[int, int]:
    """A browser's point (x, y), where pixel i spans i..i+1, in OpenCV's half pixels (shift=1; its pixel i is
    centred on i)."""
    return 2 * p[0] - 1, 2 * p[1] - 1


def dot(rgb: np.ndarray, at: tuple[int, int], colour: tuple = BLACK) -> None:
    cv2.circle(rgb, _at(at), 14, colour, -1, cv2.LINE_AA, shift=1)


def line(rgb: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> None:
    cv2.line(rgb, _at(a), _at(b), BLACK, 2, cv2.LINE_AA, shift=1)


def ring(rgb: np.ndarray, at: tuple[int, int], r: int) -> None:
    cv2.circle(rgb, _at(at), 2 * r, BLACK, 2, cv2.LINE_AA, shift=1)


@pytest.mark.parametrize("clause, expected", [
    ("Find and click on the center of the circle", ("circle", "center")),
    ("click the centre of the square", ("square", "center")),
    ("click the middle of the red circle", ("red circle", "center")),
    ("click on the shortest mid- point between the two points", ("", "midpoint")),
    ("Click the midpoint between the dots", ("", "midpoint")),
    ("Add a third point to create a right angle", ("", "right")),
    ("place a point to form a right angle", ("", "right")),
    ("Create a line that bisects the angle evenly in two", ("", "bisect")),
    ("bisect the angle", ("", "bisect")),
    ("Draw a vertical line that runs through the dot", ("", "line:vertical")),
    ("draw a horizontal line through the point", ("", "line:horizontal"))])
def test_a_constructed_point_is_a_construct_step(clause, expected):
    assert step(clause) == ("construct", *expected)


@pytest.mark.parametrize("clause", ["click on the shortest flight", "Click the button in the middle",
                                    "Add a third item to the cart", "Create a line chart", "click the circle",
                                    "click the center of the page"])
def test_other_clauses_are_no_construction(clause):
    assert step(clause) is None


def test_points_are_small_discs_not_lines_or_outlines():
    rgb = frame()
    dot(rgb, (216, 134)), dot(rgb, (152, 236), BLUE), line(rgb, (216, 134), (152, 236))
    ring(rgb, (80, 250), 40)
    found = points(rgb, ink(rgb, [SUBMIT])[0])
    assert [c for _, c in found] == ["black", "blue"]
    assert all(abs(x - ex) <= 1 and abs(y - ey) <= 1 for ((x, y), _), (ex, ey) in zip(found, [(216, 134), (152, 236)]))


def test_the_centre_of_an_outlined_circle():
    rgb = frame()
    ring(rgb, (90, 242), 72)
    assert construct("center", rgb, [SUBMIT]) == (90, 242)


def test_the_midpoint_of_two_points():
    rgb = frame()
    dot(rgb, (216, 134)), dot(rgb, (152, 236))
    assert construct("midpoint", rgb, [SUBMIT]) == (184, 185)


def _angle(v, a, b) -> float:
    u, w = np.subtract(a, v), np.subtract(b, v)
    return float(np.degrees(np.arccos(np.dot(u, w) / np.linalg.norm(u) / np.linalg.norm(w))))


def test_a_right_angle_at_the_marked_point_inside_the_free_space():
    rgb = frame()
    v, a = (152, 236), (216, 134)
    dot(rgb, a), dot(rgb, v, BLUE), line(rgb, a, v)
    x, y = construct("right", rgb, [SUBMIT])
    assert abs(_angle(v, a, (x, y)) - 90) < 1.5
    assert 24 <= x <= 296 and 100 <= y <= 355  # not on the band, the button or past the side


def test_a_bisector_from_the_point_joined_to_both_others():
    rgb = frame()
    v, a, b = (216, 134), (152, 230), (240, 288)  # all black: the vertex is told by its lines
    for p in (v, a, b):
        dot(rgb, p)
    line(rgb, v, a), line(rgb, v, b)
    at = construct("bisect", rgb, [SUBMIT])
    assert abs(_angle(v, a, at) - _angle(v, b, at)) < 1.5


def test_nothing_drawn_constructs_nothing():
    assert construct("midpoint", frame(), [SUBMIT]) is None and construct("center", frame(), [SUBMIT]) is None


def _marked(rgb: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    """The frame after the page drew its blue mark at `at`."""
    out = rgb.copy()
    dot(out, at, BLUE)
    return out


def _run(task: str, frames: list[np.ndarray]) -> list:
    """The policy's actions, one per frame in turn (each taken and seen to change the screen)."""
    pol, history = InstructionPolicy(), []
    for rgb in frames:
        pol.see(rgb)
        act = pol.decide(task, [SUBMIT], history)
        history.append(act)
        pol.observe(act, True)
    return history


TASK = "Find and click on the shortest mid- point between the two points, then press submit."


def test_the_click_is_made_again_when_the_pages_mark_lands_apart_then_submit():
    assert [s.op for s in parse_plan(TASK)[0]] == ["construct", "click"]
    rgb = frame()
    dot(rgb, (216, 134)), dot(rgb, (152, 236))
    # the page drew its mark 4 px right and 3 px down of the click; then where it was aimed
    assert _run(TASK, [rgb, _marked(rgb, (188, 188)), _marked(rgb, (184, 185))]) == [
        Click(x=184, y=185), Click(x=180, y=182), Click(element="ok")]


def test_a_mark_where_the_click_was_aimed_is_left_as_it_is():
    rgb = frame()
    dot(rgb, (216, 134)), dot(rgb, (152, 236))
    assert _run(TASK, [rgb, _marked(rgb, (184, 185))]) == [Click(x=184, y=185), Click(element="ok")]


@pytest.mark.parametrize("way, drag", [("vertical", Drag(x=120, y=122, to_x=120, to_y=218)),
                                       ("horizontal", Drag(x=72, y=170, to_x=168, to_y=170))])
def test_a_line_through_the_dot_is_one_drag_across_it_then_submit(way, drag):
    rgb = frame()
    dot(rgb, (120, 170), (128, 0, 128))
    task = f"Draw a {way} line that runs through the dot, then press submit."
    assert _run(task, [rgb, rgb]) == [drag, Click(element="ok")]


def test_a_line_near_the_band_is_kept_below_it():
    rgb = frame()
    dot(rgb, (120, 120))
    first = _run("Draw a vertical line that runs through the dot, then press submit.", [rgb])[0]
    assert first.y >= 100 and first.to_y - 120 == 120 - first.y


def test_a_circle_around_the_dot_is_one_drag_along_it_then_submit():
    rgb = frame()
    dot(rgb, (150, 200), (0, 128, 0))
    task = "Draw a circle centered around the marked point by dragging the mouse. Press submit when done."
    assert step(task.split(".")[0]) == ("construct", "", "circle")
    first, then = _run(task, [rgb, rgb])
    assert isinstance(first, Drag) and then == Click(element="ok")
    ring_ = [(first.x, first.y), *first.through, (first.to_x, first.to_y)]
    radii = [np.hypot(x - 150, y - 200) for x, y in ring_]
    assert len(ring_) > 40 and (first.x, first.y) == (first.to_x, first.to_y)
    assert min(radii) > 40 and max(radii) - min(radii) < 1.5  # round, about the dot's middle


def test_a_circle_near_the_band_is_smaller_but_no_slip():
    rgb = frame()
    dot(rgb, (150, 135), (0, 128, 0))
    drag = _run("Draw a circle around the dot.", [rgb])[0]
    assert min(y for _, y in drag.through) >= 100 - 3 and 135 - min(y for _, y in drag.through) >= 24 - 1
