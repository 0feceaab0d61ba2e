"""Looking below the fold (agents/looking.py): how far a scroll moved the content, measured from two frames, and how
many wheel clicks the next look takes; and a hovered list row whose icons OCR read as text ("☆i") still has its
controls (agents/everyday.py row_control) - both from DEV misses of the email list tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnirt.agents.actions import Click
from omnirt.agents.elements import Element
from omnirt.agents.everyday import row_control
from omnirt.agents.looking import Looks, shift
from omnirt.agents.plan import Step

DATA = Path(__file__).parent / "data"


def page(rows: int = 1200, seed: int = 0) -> np.ndarray:
    """A tall page of text-like stripes: dark runs on white, a different pattern every 20 px."""
    rng = np.random.default_rng(seed)
    img = np.full((rows, 320, 3), 255, np.uint8)
    for top in range(0, rows, 20):
        for _ in range(6):
            x = int(rng.integers(0, 280))
            img[top + 4:top + 14, x:x + int(rng.integers(8, 40))] = 30
    return img


def view(content: np.ndarray, offset: int, height: int = 480) -> np.ndarray:
    """A 100 px header that stays, over `height` px of the content scrolled by `offset`."""
    frame = np.full((100 + height, 320, 3), 200, np.uint8)
    frame[100:] = content[offset:offset + height]
    return frame


def test_the_shift_is_measured_while_the_two_views_overlap():
    content = page()
    for moved in (40, 120, 239, 400):
        assert shift(view(content, 0), view(content, moved), (0, 100, 320, 580)) == moved
    assert shift(view(content, 0), view(content, 500), (0, 100, 320, 580)) is None  # past a whole view


def test_the_first_look_is_one_click_and_later_ones_move_under_two_thirds_of_the_view():
    content, looks, area = page(), Looks(), (0, 100, 320, 580)
    assert looks.clicks(view(content, 0), area) == 1
    assert looks.clicks(view(content, 239), area) == 1 and looks.per_click == 239  # half the view a click
    looks = Looks()
    looks.clicks(view(content, 0), area)
    assert looks.clicks(view(content, 478), area) == 1  # moved past the view: not measured, one click again
    looks = Looks()
    looks.clicks(view(content, 0), area)
    assert looks.clicks(view(content, 80), area) == 3 and looks.per_click == 80  # 0.6 of 480 px at 80 a click
    assert Looks(per_click=20).clicks(view(content, 0), area) == 5  # at most LOOK_SCROLL


def test_a_hovered_rows_icons_read_as_text_are_still_its_controls():
    import cv2

    rgb = cv2.imread(str(DATA / "hovered_row.png"))[..., ::-1].copy()
    els = [Element("e0", (20, 236, 72, 253), "word", "Neille"), Element("e1", (239, 242, 273, 265), "word", "☆i"),
           Element("e2", (16, 260, 104, 276), "word", "Curabitur")]
    act = row_control(Step("row", "Neille", text="delete"), els, rgb)
    assert isinstance(act, Click) and 265 <= act.x <= 290 and 240 <= act.y <= 265  # the trash can, rightmost


def test_a_target_above_a_page_scrolled_to_its_end_is_looked_for_from_the_top_once():
    from omnirt.agents.actions import MAX_SCROLL, Done, Scroll, Wait
    from omnirt.agents.policies import InstructionPolicy

    pol, history, frame = InstructionPolicy(), [], np.full((400, 320, 3), 255, np.uint8)
    page = [Element("a", (20, 40, 120, 60), "button", "Alpha")]
    target = Element("z", (20, 80, 120, 100), "button", "Zeta")
    moves = iter([True, False, True])  # one look moves the page, the next meets its end, the way up moves it
    for _ in range(5):
        pol.see(frame)
        up = bool(history) and isinstance(history[-1], Scroll) and history[-1].amount > 0  # Zeta is at the top
        act = pol.decide("click Zeta", page + [target] if up else page, history)
        history.append(act)
        if isinstance(act, Click):
            break
        if isinstance(act, Scroll):
            pol.observe(act, next(moves))
    kinds = [(type(a).__name__, getattr(a, "amount", None)) for a in history]
    assert kinds == [("Wait", None), ("Scroll", -1), ("Scroll", -1), ("Scroll", MAX_SCROLL), ("Click", None)]
    assert history[-1] == Click(element="z")
    # looked through from the top as well: given up, not scrolled up again
    pol, history, moves = InstructionPolicy(), [], iter([True, False, True, False])
    for _ in range(9):
        pol.see(frame)
        act = pol.decide("click Zeta", page, history)
        history.append(act)
        if isinstance(act, Done):
            break
        if isinstance(act, Scroll):
            pol.observe(act, next(moves))
    assert isinstance(history[-1], Done) and sum(isinstance(a, Scroll) and a.amount > 0 for a in history) == 1
    assert isinstance(history[0], Wait)


def test_no_wait_between_looks_on_a_page_that_changes_with_each():
    from omnirt.agents.actions import Scroll, Wait
    from omnirt.agents.policies import InstructionPolicy

    pol, history, rng = InstructionPolicy(), [], np.random.default_rng(1)
    page, frame = [Element("a", (20, 40, 120, 60), "button", "Alpha")], np.zeros((400, 320, 3), np.uint8)
    for _ in range(4):
        pol.see(frame)
        act = pol.decide("click Zeta", page, history)
        history.append(act)
        pol.observe(act, True)
        frame = rng.integers(0, 255, (400, 320, 3), np.uint8) if isinstance(act, Scroll) else frame  # a look
        # shows other pixels (a wait, the same: its fresh reading found nothing)
    # a wait for the target to appear before the first look, none after a look: the loop let it settle (it was
    # Wait, Scroll, Wait, Scroll: a third of a scrolled page's steps)
    assert [type(a) for a in history] == [Wait, Scroll, Scroll, Scroll]


A, B, Z = (Element("a", (20, 40, 120, 60), "button", "Alpha"), Element("b", (20, 40, 120, 60), "button", "Bravo"),
           Element("z", (20, 40, 120, 60), "button", "Zeta"))
T = Element("t", (20, 80, 120, 100), "button", "Tofu")


@pytest.mark.parametrize("views, back", [([[A, T], [B], [Z]], "top"),  # Tofu shown at the top: back to it
                                         ([[A], [B, T], [Z]], 1)])  # after one look: one click back up
def test_a_target_passed_by_an_earlier_look_is_scrolled_back_to(views, back):
    from omnirt.agents.actions import MAX_SCROLL, Scroll, Wait
    from omnirt.agents.policies import InstructionPolicy

    pol, history, at, frame = InstructionPolicy(), [], 0, np.zeros((400, 320, 3), np.uint8)
    for _ in range(8):
        pol.see(frame)
        act = pol.decide("click Zeta, then click Tofu", views[at], history)
        history.append(act)
        if isinstance(act, Scroll):  # a wheel click a view; up as far as it goes to the top
            at = 0 if act.amount >= MAX_SCROLL else at - act.amount
            frame = np.full((400, 320, 3), at, np.uint8)
        pol.observe(act, not isinstance(act, Wait))
        if sum(isinstance(a, Click) for a in history) == 2:
            break
    ups = [a.amount for a in history if isinstance(a, Scroll) and a.amount > 0]
    assert ups == [MAX_SCROLL if back == "top" else back]  # one look back, no looking down past Zeta first
    assert history[-1] == Click(element="t")


def test_a_rows_plus_set_lower_than_its_name_is_seen_whole():
    # a menu row: the name's line, a "-" and a "+" whose middle is level with the name's bottom edge (the band the
    # row's controls are looked for in cut the "+" in half, and the "-" looked more like a plus than half a plus)
    from omnirt.agents.everyday import row_blobs

    rgb = np.full((120, 300, 3), 255, np.uint8)
    rgb[22:38, 7:148] = 0  # the name's ink
    rgb[36:40, 224:236] = 0  # "-"
    rgb[36:40, 263:285] = 0  # "+": its bar
    rgb[27:50, 272:276] = 0  # and its stem
    name = Element("n", (7, 20, 148, 39), "line", "Caesar Salad")
    blobs = row_blobs(rgb, name.box, [name])
    assert (263, 27, 285, 50) in blobs and (224, 36, 236, 40) in blobs
    act = row_control(Step("row", "Caesar Salad", text="add", look="plus"), [name], rgb)
    assert isinstance(act, Click) and 263 <= act.x <= 285 and 27 <= act.y <= 50
