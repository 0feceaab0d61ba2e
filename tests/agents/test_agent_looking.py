"""Looking below the fold (agents/looking.py): how far a scroll moved the content, measured from two frames, and how
many wheel clicks the next look takes; and a hovered list row whose icons OCR read as text ("☆i") still has its
controls (agents/everyday.py row_control) - both from DEV misses of the email list tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
