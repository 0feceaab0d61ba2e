"""A sequence the page shows, then repeated: "Push the buttons in the order displayed", "click the buttons in the order
they light up", "repeat the sequence". The page lights its controls one after another (a memory game's pads, a
demonstration); a person watches, then presses them in that order. No label says the order: it is seen over time.

- The parser's step is `repeat`.
- The controls are the buttons in sight (text-less ones when any are, as a game's coloured pads are), else the solid
  shapes drawn on the page (agents/counting.py's blobs), at least two.
  The step waits (WATCH_S at a time) while the loop hands it every frame it captures during the wait (agents/
  loop.py: a policy's `watched`); each frame gives the mean colour of each control's middle.
- A control is lit in a frame when its colour is more than LIT apart from its usual colour (its median over the
  frames seen); the order is the controls as they light, one entry each time one lights anew (the same pad twice
  is two entries: it goes dark between). The watch ends when something lit and nothing has for QUIET_S, or after
  GIVE_UP_S with nothing lit.
- Then each control of the order is clicked in turn; the clicks are no plan steps, the step is.

Watching and widget conventions only, nothing about any page.
"""

from __future__ import annotations

import re
import time
from typing import Any, Sequence

import numpy as np

from omnirt.agents.elements import Element, norm

OPS = ("repeat",)
WATCH_S = 1.2  # seconds of one watching wait
QUIET_S = 1.0  # seconds with nothing lit after the last light: the sequence is over
GIVE_UP_S = 6.0  # seconds of watching with nothing lit: the page shows no sequence
LIT = 40.0  # colour distance (0-255 per channel, the largest) from a control's usual colour that is a light
CONTROL_KINDS = ("button", "icon")
MIN_PAD = 16  # pixels: a drawn pad is at least this wide or high
REPEAT_RE = re.compile(
    r"^(?:(?:push|press|click|tap|hit|select)\s+(?:on\s+)?(?:the\s+|all\s+the\s+)?(?:buttons|keys|pads|tiles|squares|"
    r"lights|boxes|colou?rs)\s+in\s+the\s+(?:same\s+)?(?:order|sequence)\s+(?:that\s+|in\s+which\s+)?(?:as\s+)?"
    r"(?:(?:they|it)\s+)?(?:(?:were|are|was|is)\s+)?(?:displayed|shown|lit(?:\s+up)?|light(?:s|ed)?\s+up|flash(?:ed|es)?|"
    r"highlighted|played|presented|demonstrated)|repeat\s+the\s+(?:sequence|pattern|order)(?:\s+(?:shown|displayed|"
    r"played))?)$", re.I)


def step(clause: str) -> tuple[str, str, str] | None:
    """('repeat', '', '') for a clause that asks to press controls in the order the page shows; None otherwise."""
    return ("repeat", "", "") if REPEAT_RE.match(" ".join(clause.strip(" .!?").split())) else None


def controls(elements: Sequence[Element], rgb: Any = None) -> list[tuple[int, int, int, int]]:
    """The boxes of the controls a sequence lights: the text-less buttons in sight when there are two or more, else
    every button, else the solid coloured shapes drawn on the page (pads the grounding saw no control in)."""
    from omnirt.agents import counting

    found = [e for e in elements if e.kind in CONTROL_KINDS]
    bare = [e.box for e in found if not norm(e.label)]
    boxes = bare if len(bare) >= 2 else [e.box for e in found if e.kind == "button"]
    if len(boxes) >= 2 or rgb is None:
        return boxes
    return [b.box for b in counting.find_blobs(rgb, elements) if b.kind != "glyph" and b.side >= MIN_PAD]


def colours(rgb: np.ndarray, boxes: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """The mean colour of the middle half of each box."""
    out = []
    for x0, y0, x1, y1 in boxes:
        dx, dy = (x1 - x0) // 4, (y1 - y0) // 4
        patch = rgb[y0 + dy:max(y0 + dy + 1, y1 - dy), x0 + dx:max(x0 + dx + 1, x1 - dx), :3]
        out.append(patch.reshape(-1, 3).mean(axis=0) if patch.size else np.zeros(3))
    return out


def order(frames: Sequence[tuple[float, list[np.ndarray]]]) -> tuple[list[int], float | None]:
    """(the controls' indices in the order they lit, the time of the last frame with one lit)."""
    if not frames:
        return [], None
    stack = np.array([c for _, c in frames], float)  # frames x controls x 3
    usual = np.median(stack, axis=0)
    apart = np.abs(stack - usual).max(axis=2)  # frames x controls
    seq, before, last = [], None, None
    for (t, _), row in zip(frames, apart):
        lit = int(row.argmax()) if row.max() > LIT else None
        if lit is not None:
            last = t
            if lit != before:
                seq.append(lit)
        before = lit
    return seq, last


def watched(watch: Any, rgb: Any) -> bool:
    """Takes one frame (the loop's, during a wait) for a repeat step that is watching; False when none is."""
    state = watch.moves.get("repeat")
    if state is None or state["done"] or rgb is None:
        return False
    state["frames"].append((time.monotonic(), colours(rgb, state["boxes"])))
    return True


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: Any) -> Any:
    """A watching Wait while the sequence plays, then a Click on each control of it in turn, SKIP (agents/
    everyday.py's) after the last; None when no controls are in sight, a failed Done when nothing lit."""
    from omnirt.agents.actions import Click, Done, Wait
    from omnirt.agents.everyday import SKIP

    state = watch.moves.get("repeat")
    if state is None:
        found = controls(elements, rgb)
        if len(found) < 2 or rgb is None:
            return None
        state = watch.moves["repeat"] = {"boxes": found, "frames": [], "done": False,
                                         "start": time.monotonic(), "clicked": 0, "seq": []}
    if not state["done"]:
        watched(watch, rgb)
        seq, last = order(state["frames"])
        now = time.monotonic()
        if last is None and now - state["start"] < GIVE_UP_S or last is not None and now - last < QUIET_S:
            return Wait(seconds=WATCH_S)
        if last is None:
            return Done(success=False, summary=f"watched {now - state['start']:.1f} s: no control lit")
        state["done"], state["seq"] = True, seq
    if state["clicked"] >= len(state["seq"]):
        return SKIP
    x0, y0, x1, y1 = state["boxes"][state["seq"][state["clicked"]]]
    state["clicked"] += 1
    return Click(x=(x0 + x1) // 2, y=(y0 + y1) // 2)
