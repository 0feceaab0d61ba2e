"""The state a widget shows, read from its pixels: a check box ticked or not, a radio selected or not, a password
field holding hidden characters.

Why: the LLM fallback chooses from a text list of elements, so a state the list does not say does not exist for
it. On DEV it clicked check boxes it had already ticked (nothing said they were), retyped a password into the
field it had just filled (the dots are not letters, OCR reads nothing) and took a selected radio for an icon. The
pixel heuristics (omnirt.agents.pixels) find a state only for outlined boxes; the learned detector's boxes, which
cover a filled (ticked) box or a selected radio drawn in the accent colour, came without one.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from omnirt.agents.screen import Box

TICKABLE = ("checkbox", "radio")


def _centre(rgb: np.ndarray, box: Box, frac: float = 0.3) -> np.ndarray:
    x0, y0, x1, y1 = box
    dx, dy = int((x1 - x0) * frac), int((y1 - y0) * frac)
    return rgb[y0 + dy:y1 - dy, x0 + dx:x1 - dx].reshape(-1, 3).astype(np.int16)


def ticked(rgb: np.ndarray, box: Box) -> bool:
    """Whether a check box or radio is on: its middle is filled (a tick, a dot, an accent-coloured face), where an
    empty one shows the page's light background. The middle is the box's central 40 %, clear of the outline."""
    mid = _centre(rgb, box)
    if not len(mid):
        return False
    dark = mid.max(axis=1) < 170
    tinted = (mid.max(axis=1) - mid.min(axis=1)) > 80  # an accent colour (blue, green), not a grey outline
    return float((dark | tinted).mean()) >= 0.2


def hidden_chars(rgb: np.ndarray, box: Box, scale: float = 1.0) -> int:
    """How many separate dots a field holds where OCR read no text: a password field's masked characters (0 when
    there are fewer than two blobs, e.g. a bare caret)."""
    import cv2

    pad = max(3, round(4 * scale))
    x0, y0, x1, y1 = box
    inner = rgb[y0 + pad:y1 - pad, x0 + pad:x1 - pad]
    if inner.size == 0:
        return 0
    dark = (inner.astype(np.int16).max(axis=2) < 110).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    dots = [s for s in stats[1:] if s[4] >= 4 * scale and abs(int(s[2]) - int(s[3])) <= max(2, 0.3 * max(s[2], s[3]))]
    return len(dots) if len(dots) >= 2 else 0


def _alike(a: Box, b: Box, tol: int) -> bool:
    return abs((a[2] - a[0]) - (b[2] - b[0])) <= tol and abs((a[3] - a[1]) - (b[3] - b[1])) <= tol


def group_kind(box: Box, kind: str, label: str, others: Sequence[tuple[Box, str]], tol: int = 4) -> str:
    """A text-less icon the size of the check boxes or radios in its row or column is one of them: a selected
    radio drawn as a filled accent disc was taken for an icon (or read as the letter 'O') while its siblings were
    radios, so "the 3rd radio" counted wrong and the model never saw which one was on."""
    if kind != "icon" or len(label.strip()) > 1:
        return kind
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    h, w = box[3] - box[1], box[2] - box[0]
    for ob, ok in others:
        if ok in TICKABLE and ob != box and _alike(box, ob, tol):
            ocx, ocy = (ob[0] + ob[2]) / 2, (ob[1] + ob[3]) / 2
            if abs(ocy - cy) < h / 2 or abs(ocx - cx) < w / 2:
                return ok
    return kind
