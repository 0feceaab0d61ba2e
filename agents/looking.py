"""How far to scroll when looking below the fold for a target not in sight. A wheel click moves each page by its own
distance: about 50-100 px on a plain page, but 240 px in a small zoomed list, where five clicks (and even three)
moved the view by more than a whole page, and the row that straddled the bottom edge (the sender looked for) was
never seen (the view it is read in may hold more than the list, so the view alone does not say). So the first look is
one click, and how far it moved the content is measured from the two frames; later looks take as many clicks as move
at most LOOK_SHARE of the view, so that a row cut by the bottom edge is whole after it.

Once a look finds the page's end (a scroll moved nothing) and the target is still not in sight, it may be above
where the page was when the step began (a list scrolled down for an earlier step's target): the page is scrolled back
to its top once for that step, and looked down from there again (`Looking`). Before any of that, a target that a
screen seen earlier in the episode showed (at the top, or after some looks) is gone back to: the page is scrolled by
the wheel clicks between there and here, as a person scrolls back to what they passed.

Pixels only (rows of the frame matched at every offset), nothing about any page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnirt.agents.actions import MAX_SCROLL, Scroll
from omnirt.agents.everyday import LOOK_SCROLL, MAX_LOOK_SCROLLS  # wheel clicks per look at most, looks per step

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


@dataclass
class Looking:
    """One episode's scrolls that look for a step's target out of sight (exploring actions, no steps of the plan):
    how many each step took (counts, keyed by the step's number; other keys count other looks, such as a list's),
    whether the page's end was met (a look moved nothing), which steps went back to the top, how far a look goes.
    A page no look has moved is not looked at from the top: it shows its top already."""

    counts: dict = field(default_factory=dict)
    ended: bool = False
    moved: bool = False  # a look moved the page: it may hold something above the view
    latest: Any = None  # the last look
    just: bool = False  # the screen decided on is the one the last look settled on (`now`)
    at: int = 0  # wheel clicks the looks have scrolled the page down from its top (an estimate)
    shots: dict = field(default_factory=dict)  # clicks down -> the elements last seen there
    sizes: Looks = field(default_factory=Looks)

    def can_look(self, n: int, frame: Any) -> bool:
        """Whether a scroll may still look for step n's target."""
        return frame is not None and (self.counts.get(n, 0) < MAX_LOOK_SCROLLS and not self.ended or
                                      self.ended and self.moved and ("top", n) not in self.counts)

    def now(self, history: Any, elements: Any) -> None:
        """Notes whether the last action taken was a look: the loop let the page settle after it and reads it
        afresh, so no wait for the target to appear is needed before the next look. The screen's elements are kept
        as the view at the current scroll (the episode's first screen, and each look's)."""
        self.just = bool(history) and self.latest is not None and history[-1] is self.latest
        if self.just or not history:
            self.shots[self.at] = list(elements)

    def scrolled(self, action: Any, changed: bool) -> None:
        """The loop's check after a scroll: the page moved, or it ends here; a look's clicks are counted."""
        self.moved, self.ended = self.moved or changed, self.ended or not changed
        if changed and action is self.latest:
            self.at = 0 if action.amount >= MAX_SCROLL else max(0, self.at - action.amount)

    def recall(self, n: int, seen: Any, frame: Any) -> Scroll | None:
        """Back to where a screen seen before showed step n's target (seen(elements) -> bool): the wheel clicks
        between there and here, or to the top; once a step, None when no other view showed it."""
        views = [at for at, els in self.shots.items() if at != self.at and seen(els)]
        if frame is None or not views or ("recall", n) in self.counts:
            return None
        to = min(views, key=lambda at: abs(at - self.at))
        self.counts[("recall", n)], (h, w) = 1, frame.shape[:2]
        self.latest = Scroll(x=w // 2, y=h // 2, amount=MAX_SCROLL if to == 0 else self.at - to)
        self.sizes.last = None  # (no shift of a look down to measure)
        return self.latest

    def back_up(self, n: int) -> bool:
        """Whether step n now goes back to the top: the end was met after a look that moved the page, and it has not
        gone back yet (once a step)."""
        if not (self.ended and self.moved) or ("top", n) in self.counts:
            return False
        self.ended, self.counts[("top", n)] = False, 1
        return True

    def further(self, n: int, frame: Any, area: Any = None) -> Scroll | None:
        """The next look for step n's target: down (one click first, then as far as `Looks` says), or back to the
        top once the end was met; None when the looks are used up or the page was looked through from its top."""
        if not self.can_look(n, frame):
            return None
        h, w = frame.shape[:2]
        if self.back_up(n):  # from the top, down again: a look's count starts afresh (and measures no shift)
            self.counts[n], self.sizes.last = 0, None
            self.latest = Scroll(x=w // 2, y=h // 2, amount=MAX_SCROLL)
        else:
            self.counts[n] = self.counts.get(n, 0) + 1
            self.latest = Scroll(x=w // 2, y=h // 2, amount=-self.sizes.clicks(frame, area))
        return self.latest
