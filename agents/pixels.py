"""Cheap pixel heuristics for widgets that OCR cannot see: outlined rectangles, round radio buttons, tree expanders
("+" / "-" boxes), check boxes and the resize grip of a multi-line text area.

All of them are drawn in neutral grey/black lines, so one mask (low saturation, darker than `max_dark`) serves them
all. Dotted guide lines (a tree's connectors) touch the boxes they lead to and would merge them into one shape: an
opening that keeps only runs of >= 3 pixels in either direction removes dots but keeps every real border.
Sizes are device pixels: callers scale CSS sizes by the screen's device scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Shape:
    """An outlined shape. kind: '' (a rectangle to classify by its content and text), or one decided from pixels
    alone: checkbox, radio, expander. value: 'checked' for a ticked box / selected radio, '+' / '-' for an
    expander (collapsed / expanded)."""

    box: Box
    kind: str = ""
    value: str = ""


def line_mask(rgb: np.ndarray, max_dark: int = 215) -> np.ndarray:
    """Neutral (grey to black) pixels darker than max_dark: borders, outlines and black text."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    return ((mx - mn < 40) & ((r + g + b) // 3 < max_dark)).astype(np.uint8)


def undot(mask: np.ndarray) -> np.ndarray:
    """The mask without dotted lines: pixels in a horizontal or a vertical run of >= 3."""
    import cv2

    h = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, 3), np.uint8))
    v = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 1), np.uint8))
    return h | v


def _rect_sides_ok(mask: np.ndarray, x: int, y: int, w: int, h: int, corner: int = 3, frac: float = 0.8) -> bool:
    """Each side of the box is inked along `frac` of its length (`corner` px at each end left out)."""
    c = corner
    sides = (mask[y:y + 2, x + c:x + w - c].any(axis=0), mask[y + h - 2:y + h, x + c:x + w - c].any(axis=0),
             mask[y + c:y + h - c, x:x + 2].any(axis=1), mask[y + c:y + h - c, x + w - 2:x + w].any(axis=1))
    return all(s.size and s.mean() > frac for s in sides)


def _straight_edges(mask: np.ndarray, box: Box) -> bool:
    """The outermost row / column on each side is inked along its middle 60 % (a rounded corner may be blank; the
    curve of an O or a D leaves its outermost row half empty)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, cy = max(1, round(0.2 * w)), max(1, round(0.2 * h))
    edges = (mask[y0, x0 + cx:x1 - cx], mask[y1 - 1, x0 + cx:x1 - cx], mask[y0 + cy:y1 - cy, x0],
             mask[y0 + cy:y1 - cy, x1 - 1])
    return all(e.size and e.mean() >= 0.9 for e in edges)


def is_circle(mask: np.ndarray, box: Box) -> bool:
    """A ring: points on the inscribed circle are inked, the bounding box's corners are not."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 8 or abs(w - h) > max(2, 0.12 * w):
        return False
    c = max(2, w // 6)
    corners = (mask[y0:y0 + c, x0:x0 + c], mask[y0:y0 + c, x1 - c:x1], mask[y1 - c:y1, x0:x0 + c],
               mask[y1 - c:y1, x1 - c:x1])
    if any(k.any() for k in corners):
        return False
    cx, cy, r = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, (min(w, h) - 1) / 2
    hits = 0
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    for a in angles:
        ok = False
        for dr in (0.0, -1.0, -2.0, 1.0):
            px, py = int(round(cx + (r + dr) * np.cos(a))), int(round(cy + (r + dr) * np.sin(a)))
            if 0 <= py < mask.shape[0] and 0 <= px < mask.shape[1] and mask[py, px]:
                ok = True
                break
        hits += ok
    return hits >= 0.85 * len(angles)


def _interior_ink(rgb: np.ndarray, box: Box, border: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    inner = rgb[y0 + border:y1 - border, x0 + border:x1 - border].astype(np.int16)
    if inner.size == 0:
        return np.zeros((0, 0), bool)
    bg = np.median(inner.reshape(-1, 3), axis=0)
    return np.abs(inner - bg).max(axis=2) > 60


def small_kind(rgb: np.ndarray, box: Box, round_: bool) -> tuple[str, str]:
    """What a small square / circle is, from the ink inside it: (kind, value)."""
    w = box[2] - box[0]
    if round_:  # only the middle of a ring: its inside square still cuts the ring near the corners
        return "radio", "checked" if _interior_ink(rgb, box, max(2, w // 3)).any() else ""
    ink = _interior_ink(rgb, box, max(2, w // 6))
    ys, xs = np.nonzero(ink)
    if not len(ys):
        return "checkbox", ""
    side = ink.shape[0]
    hspan, vspan = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    cy, cx = np.median(ys), np.median(xs)  # the glyph's own centre lines (a box may carry a stray edge row)
    t = max(2.0, side * 0.15)
    central = ((np.abs(ys - cy) <= t) | (np.abs(xs - cx) <= t)).mean()
    if hspan >= 0.4 * side and vspan <= max(4, 0.35 * side):
        return "expander", "-"
    if hspan >= 0.4 * side and vspan >= 0.4 * side and central >= 0.9:
        return "expander", "+"
    return "checkbox", "checked"


def has_grip(rgb: np.ndarray, box: Box, scale: float = 1.0) -> bool:
    """A multi-line text area's resize grip: two short parallel '/' strokes in the bottom-right corner."""
    x0, y0, x1, y1 = box
    b = max(2, round(2 * scale))
    k = int(min(14 * scale, 0.45 * (y1 - y0), 0.45 * (x1 - x0)))
    if k < 6:
        return False
    corner = rgb[y1 - b - k:y1 - b, x1 - b - k:x1 - b].astype(np.int16)
    dark = corner.mean(axis=2) < 170
    dark[:, :int(0.4 * k)] = False  # the grip's strokes end right; text running under it starts left
    ys, xs = np.nonzero(dark)
    if len(ys) < k or ys.max() < k - 1 - 3 * scale or xs.max() < k - 1 - 3 * scale:
        return False  # the grip sits in the very corner (a select's chevron is centred higher up)
    d = xs + ys  # constant along a '/' stroke
    counts = np.bincount(d, minlength=2 * k)
    sm = np.convolve(counts, np.ones(3, int), mode="same")
    best = []
    for _ in range(2):
        i = int(np.argmax(sm))
        best.append(int(sm[i]))
        sm[max(0, i - 3):i + 4] = 0
    return min(best) >= 0.25 * k and sum(best) >= 0.8 * len(ys)


def _ink_follows(mask: np.ndarray, box: Box, gap: float = 0.2) -> bool:
    """Whether ink starts within `gap` x the ring's width to its right, over its middle rows: the next letter of a
    word hugs an O (kerning leaves a few pixels), while a radio button's label keeps a margin and a space away.
    Decided by pixels near the ring, not by how round a glyph happens to render on one machine's fonts."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    reach = max(1, int(gap * (x1 - x0)))
    strip = mask[y0 + h // 4:y1 - h // 4, x1 + 1:x1 + 1 + reach]
    return bool(strip.size and strip.any())


def find_shapes(rgb: np.ndarray, min_side: int, small_max: float, max_dark: int = 215,
                min_tick: float = 0.0) -> list[Shape]:
    """Outlined rectangles (each side >= 80 % inked) and small circles; small squares and circles are classified
    (checkbox / expander / radio). The outer one of a double outline (a focused field) is kept. min_tick: the
    smallest empty check box or radio (letters O, D, 0 of body text are rings and boxes too, only smaller; an
    expander may be smaller, its + or - tells it from a letter)."""
    import cv2

    raw = line_mask(rgb, max_dark)
    mask = undot(raw)
    out: list[Shape] = []
    seen: set[Box] = set()
    for m, circles in ((mask, False), (raw, True)):  # the second pass (dots kept) looks for rings only
        contours, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            x, y, w, h = cv2.boundingRect(c)
            box = (x, y, x + w, y + h)
            if w < min_side or h < min_side or box in seen:
                continue
            if _is_ring(raw, box, small_max, min_tick):
                seen.add(box)
                if not _ink_follows(raw, box):  # an O set in a word (its next letter hugs it) is no radio button
                    out.append(Shape(box, *small_kind(rgb, box, True)))
            elif not circles and _rect_sides_ok(m, x, y, w, h):
                shape = _outlined(rgb, m, box, small_max, min_tick)
                if shape is not None:
                    seen.add(box)
                    out.append(shape)
    out += _faint_boxes(rgb, raw, out, min_side, small_max)
    return _outermost(_no_glyphs_in_buttons(out))


FAINT_DARK = 235  # a light grey border (#ddd) on white: lighter than max_dark, still a line


def _faint_boxes(rgb: np.ndarray, dark: np.ndarray, found: list[Shape], min_side: int, small_max: float
                 ) -> list[Shape]:
    """Larger outlines drawn in a light grey (a drop-down list's or a field's #ddd border on white) that the dark
    line mask (`dark`, find_shapes' own) misses, where no shape was found. Only boxes bigger than a check box: a
    small faint square is a letter's anti-aliasing as often as a widget; a filled light area (a button's face) has
    no outline."""
    import cv2

    mask = undot(line_mask(rgb, FAINT_DARK))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out: list[Shape] = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        box = (x, y, x + w, y + h)
        if w < min_side or h < min_side or max(w, h) <= 1.5 * small_max or w <= 8 or h <= 8:
            continue
        if any(_contains(box, s.box, 4) and _contains(s.box, box, 4) for s in found + out):
            continue  # found already
        sides = (dark[y:y + 2, x:x + w], dark[y + h - 2:y + h, x:x + w], dark[y:y + h, x:x + 2],
                 dark[y:y + h, x + w - 2:x + w])
        if any(sd.any(axis=0 if sd.shape[0] == 2 else 1).mean() > 0.5 for sd in sides):
            continue  # a dark side: a broken dark outline closed by a face beside it, not a faint box
        if _rect_sides_ok(mask, x, y, w, h) and mask[y + 4:y + h - 4, x + 4:x + w - 4].mean() < 0.98:
            out.append(Shape(box))
    return out


def has_caret(rgb: np.ndarray, box: Box) -> Box | None:
    """The small down-pointing triangle or chevron at the right end of a box, centred on its height: a drop-down
    list's arrow (its box; None when there is none). Its rows narrow downwards, and it is wider than tall."""
    import cv2

    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 1.5 * h or h < 12:
        return None
    left = x1 - min(w // 3, 2 * h)
    part = rgb[y0 + 3:y1 - 3, left:x1 - 3].astype(np.int16)
    if part.size == 0:
        return None
    face = np.median(rgb[y0 + 3:y1 - 3, x0 + 3:x1 - 3].reshape(-1, 3), axis=0)
    ink = (np.abs(part - face).max(axis=2) > 40).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    for i in range(1, n):
        x, y, cw, ch, _ = (int(v) for v in stats[i])
        cy = y0 + 3 + y + ch / 2
        if not (5 <= cw <= max(8, h // 2) and 3 <= ch <= cw and abs(cy - (y0 + y1) / 2) <= h / 5):
            continue
        rows = [np.flatnonzero(lab[y + k, x:x + cw] == i) for k in range(ch)]
        spans = [int(r[-1] - r[0] + 1) if r.size else 0 for r in rows]
        if all(a >= b for a, b in zip(spans, spans[1:])) and spans[0] >= 2 * max(1, spans[-1]):
            return (left + x, y0 + 3 + y, left + x + cw, y0 + 3 + y + ch)
    return None


def _no_glyphs_in_buttons(shapes: list[Shape]) -> list[Shape]:
    """Without small 'boxes' inside a button-sized outline: a boxy letter of its label (the O of "OK" read as an
    expander took the button's name away), not a widget of its own; a panel holding real check boxes is taller."""
    def inside(a: Box, o: Box) -> bool:
        return o[0] + 2 <= a[0] and o[1] + 2 <= a[1] and a[2] <= o[2] - 2 and a[3] <= o[3] - 2

    buttons = [s.box for s in shapes if not s.kind]
    return [s for s in shapes if s.kind not in ("checkbox", "expander") or not any(
        inside(s.box, b) and b[3] - b[1] <= 5 * (s.box[3] - s.box[1]) for b in buttons)]


def _squarish(w: int, h: int, side: float) -> bool:
    return max(w, h) <= side and abs(w - h) <= 0.25 * max(w, h)


def _is_ring(raw: np.ndarray, box: Box, small_max: float, min_tick: float) -> bool:
    """A ring the size of a radio button (a little larger than a check box may be)."""
    w, h = box[2] - box[0], box[3] - box[1]
    return _squarish(w, h, small_max * 1.4) and min(w, h) >= min_tick and is_circle(raw, box)


def _outlined(rgb: np.ndarray, mask: np.ndarray, box: Box, small_max: float, min_tick: float) -> Shape | None:
    """The shape a four-sided outline is: a small square classified from its ink (check box / expander), or a box
    to classify later; None for a letter drawn boxy, or a filled area (no outline)."""
    x, y, x1, y1 = box
    w, h = x1 - x, y1 - y
    if _squarish(w, h, small_max):
        # A small box is drawn with straight sides end to end; a letter such as D or O is not.
        if _rect_sides_ok(mask, x, y, w, h, corner=1, frac=0.95) and _straight_edges(mask, box):
            kind, value = small_kind(rgb, box, False)
            if kind == "expander" or min(w, h) >= min_tick:
                return Shape(box, kind, value)
        return None
    if w <= 8 or h <= 8 or mask[y + 4:y + h - 4, x + 4:x + w - 4].mean() < 0.98:  # filled: no outline
        return Shape(box)
    return None


def _outermost(shapes: list[Shape]) -> list[Shape]:
    """Without the inner outline of a double one (within 4 px inside another)."""
    def within(a: Box, o: Box) -> bool:
        return o != a and all(abs(p - q) <= 4 for p, q in zip(a, o)) and o[0] <= a[0] and o[1] <= a[1]

    return [s for s in shapes if not any(within(s.box, o.box) for o in shapes)]


def occluded(rgb: np.ndarray, shapes: list[Shape], min_side: int) -> list[Shape]:
    """Buttons partly hidden under another box. Where a light grey face (not white, not the page) shows just
    outside a found box, the region of that colour around the box that no found shape contains is a covered
    button (its outline is broken where the covering box cuts it). Each becomes a 'button' shape with value
    'occluded', boxed around the middle of its VISIBLE part (where a click still lands on it)."""
    H, W = rgb.shape[:2]
    out: list[Shape] = []
    for s in shapes:
        if s.kind:
            continue
        x0, y0, x1, y1 = s.box
        ring = np.concatenate([rgb[max(0, y0 - 4):y0, x0:x1].reshape(-1, 3), rgb[y1:y1 + 4, x0:x1].reshape(-1, 3),
                               rgb[y0:y1, max(0, x0 - 4):x0].reshape(-1, 3), rgb[y0:y1, x1:x1 + 4].reshape(-1, 3)])
        w, h = x1 - x0, y1 - y0
        wx0, wy0, wx1, wy1 = max(0, x0 - w), max(0, y0 - h), min(W, x1 + w), min(H, y1 + h)
        for c in _light_greys(ring, 0.1):
            out += [o for o in _hidden_faces(rgb, c, (wx0, wy0, wx1, wy1), shapes, min_side) if o not in out]
    return out


def _hidden_faces(rgb: np.ndarray, c: tuple[int, int, int], window: Box, shapes: list[Shape],
                  min_side: int) -> list[Shape]:
    """Regions of colour c inside the window that no shape contains and that do not run out of the window."""
    import cv2

    wx0, wy0, wx1, wy1 = window
    out: list[Shape] = []
    mask = np.all(rgb[wy0:wy1, wx0:wx1] == np.array(c, np.uint8), axis=2).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    for i in range(1, n):
        x, y, cw, ch, area = (int(v) for v in stats[i])
        if cw < min_side or ch < min_side or area < min_side * min_side:
            continue
        if x == 0 or y == 0 or x + cw >= wx1 - wx0 or y + ch >= wy1 - wy0:
            continue  # runs out of the window: the page's own background, not a button
        box = (wx0 + x, wy0 + y, wx0 + x + cw, wy0 + y + ch)
        if any(_contains(sh.box, box) for sh in shapes):
            continue  # the face of a whole, found button
        dist = cv2.distanceTransform((lab == i).astype(np.uint8), cv2.DIST_L2, 3)
        r = float(dist.max())
        if r < max(3.0, min_side / 4):
            continue  # only a sliver shows
        py, px = np.unravel_index(int(np.argmax(dist)), dist.shape)
        k = int(r) - 1
        out.append(Shape((wx0 + int(px) - k, wy0 + int(py) - k, wx0 + int(px) + k + 1, wy0 + int(py) + k + 1),
                         "button", "occluded"))
    return out


def _light_greys(px: np.ndarray, share: float) -> list[tuple[int, int, int]]:
    """The light greys (a button's face: not a white field, not a border line) covering `share` of px."""
    if len(px) < 16:
        return []
    px = px[:: max(1, len(px) // 4096)].astype(np.int32)  # a sample is enough to name a face's colour
    packed, counts = np.unique((px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2], return_counts=True)
    r, g, b = packed >> 16, (packed >> 8) & 255, packed & 255
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    ok = (mx > 215) & (mx < 250) & (mx - mn < 12) & (counts >= share * len(px))
    return [(int(r[i]), int(g[i]), int(b[i])) for i in np.nonzero(ok)[0]]


def _contains(outer: Box, inner: Box, tol: int = 6) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol and inner[2] <= outer[2] + tol
            and inner[3] <= outer[3] + tol)


def blank_shapes(rgb: np.ndarray, shapes: list[Shape]) -> np.ndarray:
    """A copy with radio rings and expanders painted over in the colour around them, so OCR does not read a ring
    as 'O' or an expander as '+' and glue it to the label beside it. (Check boxes stay: OCR ignores an empty
    square, and a letter mistaken for one must still be read.)"""
    out = rgb.copy()
    for s in shapes:
        if s.kind in ("radio", "expander"):
            x0, y0, x1, y1 = s.box
            ys = slice(max(0, y0 - 1), y1 + 1)
            xs = slice(max(0, x0 - 1), x1 + 1)
            edge = out[max(0, y0 - 2), max(0, x0 - 2)].copy()
            out[ys, xs] = edge
    return out
