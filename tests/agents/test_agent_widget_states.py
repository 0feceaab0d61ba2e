"""Widget states read from pixels, on crops of real MiniWoB++ frames (Chromium at device scale 2, DEV tasks): two of
five check boxes ticked (filled accent squares), a row of radios whose selected one is a filled disc, a password
field holding five dots under one still empty. No OCR, no browser: the boxes are those the grounder found there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from omnirt.agents.elements import build_elements
from omnirt.agents.pixels import Shape
from omnirt.agents.widget_states import group_kind, hidden_chars, ticked

DATA = Path(__file__).parent / "data"


def load(name: str) -> np.ndarray:
    return np.asarray(Image.open(DATA / name).convert("RGB"))


# boxes in the crops' pixels (the grounder's, shifted by the crop's origin)
BOXES = [(19, 10, 45, 36), (18, 50, 46, 74), (16, 88, 46, 112), (19, 124, 45, 150), (18, 162, 48, 188)]
RADIOS = [(18, 10, 44, 36), (66, 10, 92, 36), (112, 8, 138, 36)]
FIELDS = [(14, 7, 230, 50), (14, 113, 230, 156)]


def test_ticked_check_boxes_are_told_from_empty_ones():
    rgb = load("checkboxes.png")
    assert [ticked(rgb, b) for b in BOXES] == [False, True, True, False, True]


def test_a_selected_radio_is_told_from_the_others():
    rgb = load("radios.png")
    assert [ticked(rgb, b) for b in RADIOS] == [False, False, True]


def test_a_password_fields_dots_are_counted_where_ocr_reads_nothing():
    rgb = load("password.png")
    assert hidden_chars(rgb, FIELDS[0], 2.0) == 5
    blank = rgb.copy()
    x0, y0, x1, y1 = FIELDS[0]
    blank[y0 + 6:y1 - 6, x0 + 6:x1 - 6] = 255
    assert hidden_chars(blank, FIELDS[0], 2.0) == 0


def test_an_icon_the_size_of_its_row_of_radios_is_a_radio():
    others = [(b, "radio") for b in RADIOS[:2]]
    assert group_kind(RADIOS[2], "icon", "", others) == "radio"
    assert group_kind(RADIOS[2], "icon", "O", others) == "radio"  # the disc read as a letter
    assert group_kind(RADIOS[2], "icon", "", []) == "icon"
    assert group_kind((112, 8, 160, 36), "icon", "", others) == "icon"  # another size: a real icon
    assert group_kind((112, 80, 138, 108), "icon", "", others) == "icon"  # neither its row nor its column
    assert group_kind(RADIOS[2], "button", "OK", others) == "button"


def test_elements_carry_the_states():
    rgb = load("checkboxes.png")
    # the learned detector's boxes come without a state (Shape.value '')
    els = build_elements(rgb, [], [Shape(b, "checkbox") for b in BOXES], 36, 2.0)
    assert [e.value for e in els] == ["", "checked", "checked", "", "checked"]
    rgb = load("radios.png")
    els = build_elements(rgb, [], [Shape(b, "radio") for b in RADIOS[:2]] + [Shape(RADIOS[2], "icon")], 36, 2.0)
    assert [(e.kind, e.value) for e in els] == [("radio", ""), ("radio", ""), ("radio", "checked")]
    rgb = load("password.png")
    els = build_elements(rgb, [], [Shape(b, "input") for b in FIELDS], 36, 2.0)
    assert [(e.kind, e.value) for e in els] == [("input", "\u2022" * 5), ("input", "")]


def test_a_dialogs_title_bar_is_not_a_second_close_button():
    from omnirt.models.ocr import Word

    rgb = load("dialog.png")  # a dialog: a grey title bar holding the close button, then its text
    shapes = [Shape((182, 16, 222, 56)), Shape((8, 9, 236, 169)), Shape((14, 15, 230, 57))]
    words = [Word("x", (194, 28, 212, 46), 0.9, 0), Word("Tortor", (26, 80, 75, 95), 0.9, 1)]
    els = build_elements(rgb, words, shapes, 36, 2.0)
    assert [(e.kind, e.label, e.box) for e in els if e.label == "x"] == [("button", "x", (182, 16, 222, 56))]
    # a wide field with a button at its end keeps its own value
    field = [Shape((14, 15, 230, 57), "input"), Shape((182, 16, 222, 56), "button")]
    assert [(e.kind, e.label, e.value) for e in build_elements(rgb, words[:1], field, 36, 2.0)] == \
        [("input", "", "x"), ("button", "x", "")]
