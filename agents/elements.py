"""Elements: OCR words and outlined shapes -> the UI elements a policy picks from (id, box, kind, label, value).

A shape's kind comes from pixels (omnirt.agents.pixels) or from its size, fill and text: a light box is a field
("input"; "textarea" with a resize grip; light boxes sharing borders in a group are table "cell"s), a grey one with
text a "button", a small text-less one an "icon". A box takes the text inside it as its label; fields, check
boxes, radios and expanders take the nearest text beside them. Words left over are "word"s or, in link colour,
"link"s; runs of them on one line also form "line" elements, so multi-word labels can be matched.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from omnirt.agents.pixels import Shape, has_caret, has_grip
from omnirt.agents.screen import Box
from omnirt.agents.widget_states import TICKABLE, group_kind, hidden_chars, ticked


@dataclass(frozen=True)
class Element:
    """One thing on screen, in pixels of the frame it was found in. kind: word, line, link, button, icon, input,
    textarea, cell, checkbox, radio, expander (value '+' collapsed / '-' expanded). label: its text (for boxes: the
    text inside or next to it; may be ''). value: a field's text, 'checked', or 'occluded' (a partly hidden button)."""

    id: str
    box: Box
    kind: str
    label: str
    ink: tuple[int, int, int] = (0, 0, 0)
    line: int = -1  # OCR line of a word or link (-1 for anything else)
    value: str = ""  # text inside an input

    @property
    def center(self) -> tuple[int, int]:
        return (self.box[0] + self.box[2]) // 2, (self.box[1] + self.box[3]) // 2


_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s"})


def fold(text: str) -> str:
    """`norm` with OCR-confusable characters made equal (0/O, 1/I/l/|, 5/S)."""
    return norm(text).translate(_CONFUSABLE)


def norm(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed (for label comparison)."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


# ---------------------------------------------------------------- text colour

def point_in_box(pt: tuple[int, int], box: Box) -> bool:
    """Whether a pixel lies in a box (left and top edges in, right and bottom out)."""
    return box[0] <= pt[0] < box[2] and box[1] <= pt[1] < box[3]


def _ink(rgb: np.ndarray, box: Box) -> tuple[int, int, int]:
    """The darkest-ish colour inside a word box (its text colour), as ints."""
    x0, y0, x1, y1 = box
    sub = rgb[max(0, y0):y1, max(0, x0):x1].reshape(-1, 3)
    if not len(sub):
        return 0, 0, 0
    lum = sub.astype(np.int32).sum(axis=1)
    dark = sub[lum <= np.percentile(lum, 15)]
    c = dark.mean(axis=0) if len(dark) else sub.mean(axis=0)
    return int(c[0]), int(c[1]), int(c[2])


def is_link_colour(c: tuple[int, int, int]) -> bool:
    r, g, b = c
    return b > 120 and b - max(r, g) > 60


_COLOURED: "OrderedDict[bytes, list[tuple[str, Box, tuple[int, int, int]]]]" = OrderedDict()


def _coloured(rgb: np.ndarray, text: str, box: Box) -> list[tuple[str, Box, tuple[int, int, int]]]:
    """`split_by_colour` and each part's ink colour, remembered by the word's pixels: an unchanged word on the
    next frame costs a hash, not two percentiles (a full screen holds hundreds of words)."""
    import hashlib

    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(rgb[max(0, y0):y1, max(0, x0):x1])
    key = hashlib.blake2b(crop.tobytes(), digest_size=16, person=text.encode()[:16]).digest() + \
        np.asarray(box, np.int32).tobytes() + np.asarray(crop.shape, np.int32).tobytes()
    hit = _COLOURED.get(key)
    if hit is None:
        hit = [(t, b, _ink(rgb, b)) for t, b in split_by_colour(rgb, text, box)]
        _COLOURED[key] = hit
        if len(_COLOURED) > 20000:
            _COLOURED.popitem(last=False)
    return hit


def split_by_colour(rgb: np.ndarray, text: str, box: Box) -> list[tuple[str, Box]]:
    """OCR joins a link to the word next to it when the space is tiny ('in' + blue 'ac' -> 'inac'): split a word
    whose ink is link-coloured on one side only, the text in proportion to the widths."""
    x0, y0, x1, y1 = box
    sub = rgb[y0:y1, x0:x1].astype(np.int16)
    if sub.size == 0 or len(text) < 2:
        return [(text, box)]
    r, g, b = sub[..., 0], sub[..., 1], sub[..., 2]
    blue = ((b > 120) & (b - np.maximum(r, g) > 60)).any(axis=0)
    dark = ((np.maximum(np.maximum(r, g), b) < 110) & (b - np.maximum(r, g) < 30)).any(axis=0)
    cols = np.nonzero(blue | dark)[0]
    if not blue.any() or not dark.any() or len(cols) < 2:
        return [(text, box)]
    kind = blue[cols]
    changes = np.nonzero(kind[1:] != kind[:-1])[0]
    if len(changes) != 1:
        return [(text, box)]
    cut = int(cols[changes[0] + 1])  # first column of the second colour
    n = round(len(text) * (cut - cols[0]) / (cols[-1] + 1 - cols[0]))
    if not 0 < n < len(text):
        return [(text, box)]
    return [(text[:n], (x0, y0, x0 + cut, y1)), (text[n:], (x0 + cut, y0, x1, y1))]



# ---------------------------------------------------------------- elements

DETECTOR_KINDS = {"text field": "input", "textbox": "input", "text": "input", "checkbox": "checkbox",
                  "radio": "radio", "button": "button", "link": "link", "dropdown": "dropdown", "slider": "slider",
                  "icon": "icon", "textarea": "textarea"}
SIDE_LABELLED = ("checkbox", "radio", "expander")  # their label is the text to their right
FIELD_KINDS = ("input", "textarea")                 # their label is to their left or above; their text is a value


def light_interior(rgb: np.ndarray, b: Box, pad: int = 4) -> bool:
    """A light interior: a field or a table cell (a button's face is grey)."""
    interior = rgb[b[1] + pad:b[3] - pad, b[0] + pad:b[2] - pad]
    return interior.size > 0 and float(np.median(interior)) >= 250


def _grid(boxes: Sequence[Box], tol: int = 3) -> set[Box]:
    """Light boxes that share a side (within tol px, along most of its length) with another, in groups of three or
    more: cells of a table or grid (two fields stacked without a gap are still two fields)."""
    if len(boxes) < 3:
        return set()
    b = np.asarray(boxes, np.int32)
    x0, y0, x1, y1 = (b[:, i][:, None] for i in range(4))
    X0, Y0, X1, Y1 = (b[:, i][None, :] for i in range(4))

    def overlap(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
        return np.clip(np.minimum(p1, q1) - np.maximum(p0, q0), 0, None) / np.maximum(1, np.minimum(p1 - p0, q1 - q0))

    side = ((np.abs(x1 - X0) <= tol) | (np.abs(X1 - x0) <= tol)) & (overlap(y0, y1, Y0, Y1) > 0.8)
    stack = ((np.abs(y1 - Y0) <= tol) | (np.abs(Y1 - y0) <= tol)) & (overlap(x0, x1, X0, X1) > 0.8)
    hit = (side | stack) & ~np.eye(len(boxes), dtype=bool)
    # Grow groups along shared sides; keep the groups of three or more.
    group = list(range(len(boxes)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, j in zip(*np.nonzero(hit)):
        group[root(int(i))] = root(int(j))
    roots = [root(i) for i in range(len(boxes))]
    size = {r: roots.count(r) for r in set(roots)}
    return {tuple(int(v) for v in boxes[i]) for i in range(len(boxes))  # type: ignore[misc]
            if size[roots[i]] >= 3}


def _outside_words(shapes: list[Shape], words: Sequence[Any], tol: int = 1) -> list[Shape]:
    """Shapes not lying inside a word's box (within tol px)."""
    if not shapes or not words:
        return shapes
    s = np.asarray([sh.box for sh in shapes], np.int32)[:, None, :]
    w = np.asarray([wd.box for wd in words], np.int32)[None, :, :]
    inside = ((s[..., 0] >= w[..., 0] - tol) & (s[..., 1] >= w[..., 1] - tol) & (s[..., 2] <= w[..., 2] + tol)
              & (s[..., 3] <= w[..., 3] + tol)).any(axis=1)
    return [sh for sh, bad in zip(shapes, inside) if not bad]


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def merge_detections(shapes: Sequence[Shape], detections: Sequence[Any], min_score: float = 0.5) -> list[Shape]:
    """Detector boxes into the pixel shapes: a detection on an outlined box names that box's kind (unless pixels
    already decided it: a radio or a check box is certain); one elsewhere adds a shape (e.g. an unframed icon)."""
    out = list(shapes)
    for d in detections:
        if float(d.score) < min_score:
            continue
        kind = DETECTOR_KINDS.get(str(d.kind), str(d.kind))
        box = tuple(int(v) for v in d.box)
        best = max(range(len(out)), key=lambda i: _iou(out[i].box, box), default=None)  # type: ignore[arg-type]
        if best is not None and _iou(out[best].box, box) >= 0.5:
            if not out[best].kind:
                out[best] = Shape(out[best].box, kind, out[best].value)
        else:
            out.append(Shape(box, kind))  # type: ignore[arg-type]
    return out


def _end_buttons(b: Box, held: Sequence[Box]) -> bool:
    """Whether the boxes inside the wide, one-line box `b` are only small buttons at one of its ends: a spinner's
    arrows, a date field's calendar, a search field's button. Such a box is still a field, not a container."""
    h = b[3] - b[1]
    if b[2] - b[0] < 3 * h:
        return False
    return all(o[2] - o[0] <= 1.5 * h and (o[0] >= b[2] - 1.6 * h or o[2] <= b[0] + 1.6 * h) for o in held)


def _box_kind(rgb: np.ndarray, sh: Shape, shapes: Sequence[Shape], inner: list[int], words: Sequence[Any],
              checkbox_max: float, scale: float, grid: set[Box]) -> str | None:
    """The kind of an outlined rectangle from its size, fill and text (None: a container such as a dialog)."""
    b = sh.box
    w, h = b[2] - b[0], b[3] - b[1]
    white = light_interior(rgb, b)
    if sh.kind:
        kind = sh.kind
    else:
        # boxes inside this one (smaller: a frame around it has its centre inside too, and holds it, not the reverse)
        held = [o.box for o in shapes if point_in_box(((o.box[0] + o.box[2]) // 2, (o.box[1] + o.box[3]) // 2), b)
                and o.box != b and (o.box[2] - o.box[0]) * (o.box[3] - o.box[1]) < w * h]
        holds_box = bool(held) and not _end_buttons(b, held)
        many_lines = len({words[i].line for i in inner}) > 1
        grip = many_lines and has_grip(rgb, b, scale)
        if holds_box or (many_lines and not grip):
            return None  # a container (dialog, panel, tab page): its words and boxes stand on their own
        if grip:
            return "textarea"  # lines of text and a resize grip: a text area, greyed (read-only) or not
        small_square = max(w, h) <= checkbox_max and abs(w - h) <= 0.25 * max(w, h)
        caret = None if small_square else has_caret(rgb, b)
        if caret is not None and (white or all(words[i].box[0] >= caret[0] - 4 for i in inner)):
            kind = "dropdown"  # a field or a blank face with a down arrow at its right end (the arrow read as 'V')
        elif small_square and not inner:
            kind = "checkbox"
        elif white and b in grid:
            kind = "cell"  # boxes sharing their borders: a table (or grid) cell, labelled by its text
        elif white:
            kind = "input"  # light field: text inside is its value, its label is outside
        elif inner:
            kind = "button"
        elif max(w, h) <= 3 * checkbox_max:
            kind = "icon"
        else:
            kind = "button"
    if kind == "input" and has_grip(rgb, b, scale):
        kind = "textarea"  # a multi-line field: the resize grip in its corner
    return kind


def _bar(b: Box, kind: str | None, inner: Sequence[int], kinds: Sequence[tuple[Shape, str | None, list[int]]]) -> bool:
    """A button-like bar whose only words are those of a smaller control it holds (a dialog's title bar around its
    close button): a container, not a second control of the same name. Clicked for 'x', the bar did nothing and
    hid the real one (the LLM fallback bans what lies inside a click that changed nothing)."""
    if kind not in ("button", "icon") or not inner:
        return False
    area = (b[2] - b[0]) * (b[3] - b[1])
    held = [s.box for s, k, _ in kinds if k and s.box != b and (s.box[2] - s.box[0]) * (s.box[3] - s.box[1]) < area
            and point_in_box(((s.box[0] + s.box[2]) // 2, (s.box[1] + s.box[3]) // 2), b)]
    words = {i for s, _, own in kinds if s.box in held for i in own}
    return bool(held) and set(inner) <= words


def build_elements(rgb: np.ndarray, words: Sequence[Any], shapes: Sequence[Shape | Box], checkbox_max: float,
                   scale: float = 1.0) -> list[Element]:
    """Words, lines and outlined shapes -> elements with ids (e0, e1, ... in reading order)."""
    els: list[Element] = []
    shs = sorted((s if isinstance(s, Shape) else Shape(tuple(s)) for s in shapes),  # type: ignore[arg-type]
                 key=lambda s: (s.box[1], s.box[0]))
    claimed: set[int] = set()
    grid = _grid([s.box for s in shs if not s.kind and light_interior(rgb, s.box)])
    kinds = [(sh, _box_kind(rgb, sh, shs, inner, words, checkbox_max, scale, grid), inner)
             for sh in shs for inner in [[i for i, wd in enumerate(words) if point_in_box(wd.center, sh.box)]]]
    others = [(sh.box, kind) for sh, kind, _ in kinds if kind]
    for sh, kind, inner in kinds:
        if kind is None or _bar(sh.box, kind, inner, kinds):
            continue
        text = " ".join(words[i].text for i in inner)
        kind = group_kind(sh.box, kind, text, others)
        label = text if kind not in FIELD_KINDS + SIDE_LABELLED else ""
        value = text if kind in FIELD_KINDS else sh.value
        if kind in TICKABLE:
            value = "checked" if value == "checked" or ticked(rgb, sh.box) else ""
        elif kind in FIELD_KINDS and not value:
            value = "\u2022" * hidden_chars(rgb, sh.box, scale)  # a password's dots: OCR reads no text there
        claimed.update(inner)
        els.append(Element("", sh.box, kind, label, value=value))
    for i, wd in enumerate(words):
        if i in claimed:
            continue
        for text, box, ink in _coloured(rgb, wd.text, wd.box):
            els.append(Element("", box, "link" if is_link_colour(ink) else "word", text, ink, wd.line))
    # Lines: runs of unclaimed words on one OCR line (same kind), for multi-word labels.
    by_line: dict[int, list[int]] = {}
    for i, wd in enumerate(words):
        if i not in claimed:
            by_line.setdefault(wd.line, []).append(i)
    for idx in by_line.values():
        if len(idx) > 1:
            ws = [words[i] for i in idx]
            bx = (min(w.box[0] for w in ws), min(w.box[1] for w in ws), max(w.box[2] for w in ws),
                  max(w.box[3] for w in ws))
            els.append(Element("", bx, "line", " ".join(w.text for w in ws)))
    # Unlabelled fields and small widgets take the nearest free text on their row (right for check boxes, radios
    # and expanders, left for fields) or just above.
    texts = [e for e in els if e.kind in ("word", "line", "link")]
    out = []
    for e in els:
        if e.kind in FIELD_KINDS + SIDE_LABELLED and not e.label:
            e = Element(e.id, e.box, e.kind, _nearby_label(e, texts), e.ink, e.line, e.value)
        out.append(e)
    out.sort(key=lambda e: (e.box[1] // 8, e.box[0]))
    return [Element(f"e{i}", e.box, e.kind, e.label, e.ink, e.line, e.value) for i, e in enumerate(out)]


def _nearby_label(e: Element, texts: list[Element]) -> str:
    cy = e.center[1]
    h = e.box[3] - e.box[1]
    best, best_d = "", float("inf")
    for t in texts:
        tcy = t.center[1]
        if abs(tcy - cy) < h / 2:
            d = (t.box[0] - e.box[2]) if e.kind in SIDE_LABELLED else (e.box[0] - t.box[2])
        elif 0 <= e.box[1] - t.box[3] < 1.5 * h and t.box[0] < e.box[2] and t.box[2] > e.box[0]:
            d = (e.box[1] - t.box[3]) * 2
        else:
            continue
        if (0 <= d < best_d or (d == best_d and t.kind == "line")) and (t.kind == "line" or d < 4 * h):
            best, best_d = t.label, d
    return best
