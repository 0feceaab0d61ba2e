"""Text fields the element grounding missed, found by their edges: the fallback of agents/everyday.py when a step
needs a field and no input element is in sight.

The grounding's outline finder looks for neutral dark borders on the page's own background; a field outlined in a
tinted colour (brown on cream), or under a dimming veil (a modal dialog's), is missed. Here a field is any
rectangle with strong edges, wide and not tall (at least 3:1, 18-70 px high), whose inside is an unsaturated flat
colour: empty, or with its text starting at its left edge (a button's label is centred, and buttons are usually
coloured). A field's label is the text just above it or just left of it on its row; a placeholder is the text in it.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

Box = tuple[int, int, int, int]


def _is_field(rgb: np.ndarray, box: Box) -> bool:
    x0, y0, x1, y1 = box
    inner = rgb[y0 + 4:y1 - 4, x0 + 4:x1 - 4, :3].astype(np.int16)
    if inner.size == 0:
        return False
    vals, counts = np.unique(inner.reshape(-1, 3) // 8, axis=0, return_counts=True)
    bg = vals[counts.argmax()] * 8 + 4
    if counts.max() < 0.6 * inner.shape[0] * inner.shape[1] or int(bg.max() - bg.min()) > 30:
        return False  # not a flat, unsaturated inside
    ink = np.flatnonzero((np.abs(inner - bg).max(axis=2) > 60).any(axis=0))
    return ink.size == 0 or ink[0] < 0.25 * inner.shape[1] and ink[0] < 40  # empty, or text from the left edge


def find_fields(rgb: np.ndarray) -> list[Box]:
    """Field-like rectangles (outermost of nested ones), in reading order."""
    import cv2

    gray = rgb[..., :3].mean(axis=2).astype(np.uint8)
    edges = cv2.dilate(cv2.Canny(gray, 20, 60), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[Box] = []
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w < 80 or not 18 <= h <= 70 or w < 3 * h or cv2.contourArea(c) < 0.7 * w * h:
            continue
        box = (x, y, x + w, y + h)
        if _is_field(rgb, box):
            boxes.append(box)
    outer = [b for b in boxes if not any(o != b and o[0] <= b[0] and o[1] <= b[1] and b[2] <= o[2] and b[3] <= o[3]
                                         for o in boxes)]
    return sorted(set(outer), key=lambda b: (b[1], b[0]))


def labelled_field(label: Box, fields: Sequence[Box]) -> Box | None:
    """The field a label names: just below it (overlapping it across), else right of it on its row, else the
    field it lies in (a placeholder)."""
    cy = (label[1] + label[3]) / 2
    inside = [f for f in fields if f[0] <= label[0] and label[2] <= f[2] + 4 and f[1] <= cy <= f[3]]
    if inside:
        return inside[0]
    below = [f for f in fields if -4 <= f[1] - label[3] <= 40 and f[0] < label[2] and label[0] < f[2] + 40]
    if below:
        return min(below, key=lambda f: f[1])
    beside = [f for f in fields if f[1] <= cy <= f[3] and 0 <= f[0] - label[2] <= 200]
    return min(beside, key=lambda f: f[0]) if beside else None


def field_for(target: str, texts: Sequence[Any], fields: Sequence[Box], match: Any) -> Box | None:
    """The field whose label or placeholder `target` names (`match`: the grounding's label matcher)."""
    hit = match(target, list(texts)) if target else None
    return labelled_field(hit.box, fields) if hit is not None else None


# A segmented date or time field (a browser's date input) shows its format until filled: mm/dd/yyyy, yyyy-mm-dd,
# --:-- --. A click selects the segment under the pointer and typing fills from there, so the date typed into its
# middle lands in the year; such a field is focused at its first segment.
_FORMAT_RE = re.compile(r"(?:[mdy]{1,4}|-{1,4})(?:\s*[/.:-]\s*(?:[mdy]{1,4}|-{1,4})){1,2}(?:\s+-{1,2})?", re.I)


def segmented(text: str) -> bool:
    """Whether a field's text is a date or time format placeholder ('mm/dd/yyyy', 'dd.mm.yyyy', '--:-- --')."""
    return bool(_FORMAT_RE.fullmatch(text.strip()))


def focus_point(box: Box, text: str) -> tuple[int, int]:
    """Where to click to type into a field: its first segment for a segmented date or time field (also when it was
    taken for a list: a picker's arrow or calendar sits at its right end), else its centre."""
    x0, y0, x1, y1 = box
    cy = (y0 + y1) // 2
    if segmented(text):
        return x0 + min((x1 - x0) // 4, max(6, (y1 - y0) // 2)), cy
    return (x0 + x1) // 2, cy
