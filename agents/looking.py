"""How far to scroll when looking below the fold for a target not in sight. A wheel click moves each page by its own
distance: about 50-100 px on a plain page, but 240 px in a small zoomed list, where five clicks (and even three)
moved the view by more than a whole page, and the row that straddled the bottom edge (the sender looked for) was
never seen (the view it is read in may hold more than the list, so the view alone does not say). So the first look is
one click, and how far it moved the content is measured from the two frames; later looks take as many clicks as move
at most LOOK_SHARE of the view, so that a row cut by the bottom edge is whole after it.

Pixels only (rows of the frame matched at every offset), nothing about any page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from omnirt.agents.everyday import LOOK_SCROLL  # wheel clicks per look at most

LOOK_SHARE = 0.6  # how much of the view one look may move
MIN_OVERLAP = 24  # rows of the two frames that must agree to measure a shift
MATCH = 0.6  # share of the overlap's rows with ink that must agree


def shift(before: np.ndarray, after: np.ndarray, area: Any = None) -> int | None:
    """How many pixels the content moved up between two frames (within area x0, y0, x1, y1); None when no offset
    makes the rows with ink agree (the content moved by more than the view, or changed otherwise)."""
    if before is None or after is None or before.shape != after.shape:
        return None
    x0, y0, x1, y1 = area if area is not None else (0, 0, before.shape[1], before.shape[0])
    a = before[y0:y1, x0:x1:2].astype(np.int16).mean(axis=2) if before.ndim == 3 else before[y0:y1, x0:x1:2]
    b = after[y0:y1, x0:x1:2].astype(np.int16).mean(axis=2) if after.ndim == 3 else after[y0:y1, x0:x1:2]
    inked = a.max(axis=1) - a.min(axis=1) > 20  # rows of before with something drawn on them
    best, best_share = None, MATCH
    for dy in range(1, a.shape[0] - MIN_OVERLAP):
        rows = inked[dy:]
        if rows.sum() < MIN_OVERLAP // 3:
            continue
        same = np.abs(a[dy:] - b[:a.shape[0] - dy]).max(axis=1) < 12
        share = float(same[rows].mean())
        if share > best_share:
            best, best_share = dy, share
    return best


@dataclass
class Looks:
    """One episode's looks below the fold: the pixels a wheel click moved (once measured) and the last look's
    frame and clicks."""

    per_click: float | None = None
    last: tuple[Any, int] | None = None

    def clicks(self, frame: np.ndarray, area: Any) -> int:
        """Wheel clicks for the next look; measures the look before it when the screen now shows its result."""
        if self.last is not None and self.per_click is None:
            moved = shift(self.last[0], frame, area)
            if moved:
                self.per_click = moved / self.last[1]
        view = frame.shape[0] if area is None else area[3] - area[1]
        n = 1 if self.per_click is None else max(1, min(LOOK_SCROLL, int(LOOK_SHARE * view / self.per_click)))
        self.last = (frame, n)
        return n
