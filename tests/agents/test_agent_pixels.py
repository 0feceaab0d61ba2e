"""Pixel heuristics (widgets OCR cannot see), font-metric glyph fixes and OCR block cutting, on rendered images.

Everything here is drawn with PIL in the sizes a 2x-scaled browser page uses (10 px CSS text -> 20 px), so the
expected answers are known exactly; no OCR model is needed except in the tests marked `models`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnirt.agents.ocr_blocks import xy_blocks
from omnirt.agents.ocr_glyphs import glyph_groups, resolve_bars
from omnirt.agents.pixels import find_shapes, has_grip, undot

SANS = Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
GREY = (118, 118, 118)


def canvas(w: int = 320, h: int = 200):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), (255, 255, 255))
    return img, ImageDraw.Draw(img)


def font(size: int = 20):
    from PIL import ImageFont

    if not SANS.is_file():
        pytest.skip("Liberation Sans is not installed (fonts-liberation)")
    return ImageFont.truetype(str(SANS), size)


def widgets() -> np.ndarray:
    """A check box, a radio ring, a '+' and a '-' expander joined by a dotted tree line, a text area with a resize
    grip, a select-like field with a chevron, and a letter D as big as a check box."""
    img, d = canvas(420, 260)
    d.rounded_rectangle((10, 10, 35, 35), radius=4, outline=GREY, width=2)                    # check box
    d.ellipse((60, 10, 85, 35), outline=GREY, width=2)                                        # radio
    for y, plus in ((60, True), (100, False)):                                                # expanders
        d.rectangle((10, y, 27, y + 17), outline=(160, 160, 160), width=2)
        d.line((14, y + 8, 23, y + 8), fill=(64, 64, 64), width=2)
        if plus:
            d.line((18, y + 4, 18, y + 13), fill=(64, 64, 64), width=2)
    for x in range(28, 60, 4):                                                                # dotted connector
        d.rectangle((x, 68, x + 1, 69), fill=(160, 160, 160))
    for y in range(78, 100, 4):                                                               # dotted vertical
        d.rectangle((18, y, 19, y + 1), fill=(160, 160, 160))
    d.rectangle((120, 10, 370, 62), outline=GREY, width=2)                                    # text area + grip
    d.line((352, 58, 366, 44), fill=(80, 80, 80), width=2)
    d.line((359, 58, 366, 51), fill=(80, 80, 80), width=2)
    d.rectangle((120, 90, 400, 128), outline=GREY, width=2)                                   # select + chevron
    d.line((378, 104, 385, 111), fill=(0, 0, 0), width=2)
    d.line((385, 111, 392, 104), fill=(0, 0, 0), width=2)
    d.text((60, 150), "D", font=font(30), fill=(0, 0, 0))
    return np.asarray(img)


def test_find_shapes_classifies_small_widgets():
    rgb = widgets()
    got = {(s.kind, s.value): s.box for s in find_shapes(rgb, 16, 36, min_tick=22)}
    assert ("checkbox", "") in got and got[("checkbox", "")][:2] == (10, 10)
    assert ("radio", "") in got and abs(got[("radio", "")][0] - 60) <= 1
    assert abs(got[("expander", "+")][1] - 60) <= 2 and abs(got[("expander", "-")][1] - 100) <= 2  # not merged
    assert got[("expander", "+")][2] - got[("expander", "+")][0] <= 20                # the dots stayed outside
    kinds = [s.kind for s in find_shapes(rgb, 16, 36, min_tick=22)]
    assert kinds.count("checkbox") == 1                                           # the letter D is not a box
    big = [s.box for s in find_shapes(rgb, 16, 36, min_tick=22) if not s.kind]
    assert (120, 10, 371, 63) in big and (120, 90, 401, 129) in big


def test_ticked_radio_and_small_ring_threshold():
    img, d = canvas(120, 60)
    d.ellipse((10, 10, 35, 35), outline=GREY, width=2)
    d.ellipse((18, 18, 27, 27), fill=(0, 90, 220))
    shapes = find_shapes(np.asarray(img), 16, 36, min_tick=22)
    assert [(s.kind, s.value) for s in shapes] == [("radio", "checked")]
    assert find_shapes(np.asarray(img), 16, 36, min_tick=30) == []  # smaller than a radio: a letter O


def test_grip_marks_a_text_area_not_a_select():
    rgb = widgets()
    assert has_grip(rgb, (120, 10, 371, 63), scale=2)
    assert not has_grip(rgb, (120, 90, 401, 129), scale=2)  # a chevron sits mid-height, not in the corner


def test_undot_removes_dotted_lines_only():
    mask = np.zeros((20, 40), np.uint8)
    mask[5, :30:2] = 1          # a dotted line
    mask[10, 5:30] = 1          # a solid line
    mask[2:18, 35] = 1          # a vertical border
    out = undot(mask)
    assert not out[5, :30].any() and out[10, 5:30].all() and out[2:18, 35].all()


def render_words(text: str, size: int = 20):
    """Text drawn like a browser page, and its words as OCR would return them (exact boxes)."""
    from omnirt.models.ocr import Word

    f = font(size)
    img, d = canvas(20 + int(d_len(text, f)) + 20, size * 2)
    d.text((10, 8), text, font=f, fill=(0, 0, 0))
    words, x = [], 10.0
    for i, w in enumerate(text.split(" ")):
        l, t, r, b = f.getbbox(w)
        words.append(Word(w, (int(x + l) - 1, 8 + t - 1, int(x + r) + 2, 8 + b + 2), 0.99, 0))
        x += d_len(w + " ", f)
    return np.asarray(img), words


def d_len(text: str, f) -> float:
    return f.getlength(text)


def test_resolve_bars_by_height_and_zero_by_width():
    rgb, words = render_words('Enter the password "3hI" and "l3H" or "0E" now')
    # What OCR typically returns: the bars and the round glyph the wrong way round.
    wrong = [type(w)(w.text.replace("3hI", "3hl").replace("l3H", "I3H").replace("0E", "OE"), w.box, w.confidence,
                     w.line) for w in words]
    fixed = [w.text for w in resolve_bars(rgb, wrong)]
    assert '"3hI"' in fixed and '"l3H"' in fixed and '"0E"' in fixed
    assert [w.text for w in resolve_bars(rgb, words)] == [w.text for w in words]  # right ones stay right


def test_resolve_bars_needs_references():
    rgb, words = render_words('"Il"')  # no known ascender or capital to compare with: leave it
    assert [w.text for w in resolve_bars(rgb, words)] == ['"Il"']


def test_glyph_groups_merge_dots_with_stems():
    rgb, words = render_words("ij")
    from omnirt.agents.ocr_glyphs import _ink

    cov, _, _ = _ink(rgb, words[0].box)
    assert len(glyph_groups(cov)) == 2


def test_xy_blocks_cut_at_blank_gaps_not_inside_words():
    img, d = canvas(400, 120)
    f = font(20)
    d.text((10, 10), "Save the file", font=f, fill=(0, 0, 0))
    d.text((250, 10), "Cancel", font=f, fill=(0, 0, 0))
    d.text((10, 60), "second line", font=f, fill=(0, 0, 0))
    blocks = sorted(xy_blocks(np.asarray(img), min_gap_x=16))
    assert len(blocks) == 3
    first = [b for b in blocks if b[1] < 40 and b[0] < 100][0]
    assert first[2] > 10 + f.getlength("Save the fil")  # one block for the three words
    assert xy_blocks(np.full((50, 50, 3), 255, np.uint8), 16) == []


@pytest.mark.models
def test_block_reader_reads_a_repeated_block_once():
    pytest.importorskip("rapidocr")
    from omnirt.agents.grounding import Grounder, GroundingOptions

    g = Grounder(GroundingOptions(scale=2))
    img, d = canvas(400, 200)
    f = font(20)
    d.text((10, 10), "Submit order", font=f, fill=(0, 0, 0))
    rgb = np.asarray(img)
    first = g._read(rgb)
    calls = g.stats["ocr_calls"]
    moved = np.full_like(rgb, 255)
    moved[100:140, 150:390] = rgb[0:40, 10:250]  # the same line elsewhere (a scrolled list keeps its pixels)
    again = g._read(moved)
    assert g.stats["ocr_calls"] == calls  # recognised from the cache
    assert [w.text for w in again] == [w.text for w in first] == ["Submit", "order"]
    assert again[0].box[0] - first[0].box[0] == 140 and again[0].box[1] - first[0].box[1] == 100


@pytest.mark.models
def test_region_cache_rereads_only_the_changed_rectangle():
    """A word changes at the right of a wide screen: the left column of the same rows is not read again."""
    pytest.importorskip("rapidocr")
    from omnirt.agents.grounding import Grounder, GroundingOptions

    g = Grounder(GroundingOptions(scale=2))
    img, d = canvas(900, 200)
    f = font(20)
    d.text((10, 20), "Name Anna Schmidt", font=f, fill=(0, 0, 0))
    d.text((600, 20), "Status Open", font=f, fill=(0, 0, 0))
    d.text((10, 120), "Total 129.90", font=f, fill=(0, 0, 0))
    first = g.words(np.asarray(img), "r")
    x = 600 + int(f.getlength("Status "))
    d.rectangle((x, 15, 890, 50), fill=(255, 255, 255))
    d.text((x, 20), "Paid", font=f, fill=(0, 0, 0))
    second = g.words(np.asarray(img), "r")
    (rect,) = g._regions["r"].last_rects
    assert rect[0] > 300 and rect[2] - rect[0] < 400  # only the changed part of the row
    texts = [w.text for w in second]
    assert "Paid" in texts and "Open" not in texts and {"Anna", "Schmidt", "Total"} <= set(texts)
    assert [w for w in second if w.text == "Anna"][0].box == [w for w in first if w.text == "Anna"][0].box


def test_table_cells_are_not_text_fields():
    """White boxes sharing their borders in a group of 3+ are table cells; a field touching a button stays a field."""
    from omnirt.agents.grounding import build_elements

    img, d = canvas(600, 300)
    for r in range(2):
        for c in range(3):
            d.rectangle((20 + 122 * c, 20 + 42 * r, 140 + 122 * c, 60 + 42 * r), outline=(200, 200, 200), width=1)
    d.rectangle((20, 150, 300, 190), outline=GREY, width=2)                          # a field ...
    d.rectangle((20, 191, 160, 235), outline=GREY, width=2, fill=(239, 239, 239))   # ... right on a button
    rgb = np.asarray(img)
    shapes = find_shapes(rgb, 16, 36, min_tick=22)
    kinds = sorted(e.kind for e in build_elements(rgb, [], shapes, 36, 2))
    assert kinds == ["button"] + ["cell"] * 6 + ["input"], kinds


def test_occluded_button_shows_where_to_click():
    """Button B drawn over button A: A's outline is broken, but its visible face is found and boxed there."""
    from omnirt.agents.pixels import occluded

    img, d = canvas(400, 300)
    img.paste((240, 240, 240), (0, 0, 400, 300))                                    # a grey page around them
    d.rectangle((20, 250, 120, 290), outline=GREY, width=2, fill=(239, 239, 239))   # an unrelated whole button
    d.rounded_rectangle((150, 60, 250, 160), radius=4, outline=GREY, width=2, fill=(239, 239, 239))   # A
    d.rounded_rectangle((180, 80, 280, 180), radius=4, outline=(80, 80, 80), width=2, fill=(229, 229, 229))  # B
    rgb = np.asarray(img)
    shapes = find_shapes(rgb, 16, 36, min_tick=22)
    (hidden,) = occluded(rgb, shapes, 16)
    x0, y0, x1, y1 = hidden.box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    assert hidden.kind == "button" and 150 < cx < 180 and 60 < cy < 160            # on A's visible strip


def test_detector_boxes_merge_with_pixel_shapes():
    """A learned detector names an outlined box's kind and adds boxes the pixels missed (an unframed icon); a kind
    that pixels decided for sure (a radio ring) stays."""
    widgets_mod = pytest.importorskip("omnirt.models.widgets")
    from omnirt.agents.grounding import merge_detections
    from omnirt.agents.pixels import Shape

    Det = widgets_mod.Detection
    shapes = [Shape((10, 10, 110, 40)), Shape((10, 60, 36, 86), "radio")]
    dets = [Det((11, 9, 109, 41), "text field", 0.9), Det((9, 61, 35, 85), "checkbox", 0.8),
            Det((200, 10, 224, 34), "icon", 0.7), Det((300, 10, 330, 40), "button", 0.2)]
    got = {(s.box, s.kind) for s in merge_detections(shapes, dets, 0.5)}
    assert got == {((10, 10, 110, 40), "input"), ((10, 60, 36, 86), "radio"), ((200, 10, 224, 34), "icon")}
