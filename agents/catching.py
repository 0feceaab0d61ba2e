"""Things that move, clicked as they pass: "Click as many moving circles as possible", "click the moving targets",
"catch as many of the falling balls as you can". Such a page scores each hit and ends on its own; the things come
into sight over time and leave again, so no plan of clicks can be made in advance.

- The parser's step is `catch` (target: what to click, as agents/counting.py describes things: colour, kind).
- Each look reads the things in sight that fit the description from pixels alone (agents/counting.py's blobs, at
  least MIN_SIDE wide or high: a letter is smaller; no OCR, whose time the things would move on in), and clicks
  the one nearest an edge of the frame, which may leave first (one cut by the edge is clicked at what shows of it).
- With none in sight the step waits REST_S, so that several have come in by the next look: a click costs a look,
  and looks spent on an empty screen are looks not spent on a hit.
- The loop does not wait for the screen to hold still after such a click (`settle_limit`): things in motion never
  do.
- The clicks and waits are no plan steps of their own; the step never ends by itself (the page ends the task), and
  gives up after MAX_LOOKS looks.

Pointer and drawing conventions only, nothing about any page.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from omnirt.agents.elements import Element

OPS = ("catch",)
MIN_SIDE = 24  # pixels: a thing to catch is at least this wide or high
REST_S = 2.8  # seconds waited with nothing in sight
MAX_LOOKS = 40  # looks of one step
SETTLE_S = 0.05  # seconds the loop waits after a click for a screen that never holds still
CATCH_RE = re.compile(
    r"^(?:click|tap|hit|catch|shoot|pop|grab)\s+(?:on\s+)?(?:as\s+many\s+(?:of\s+)?(?:the\s+)?|all\s+(?:of\s+)?(?:the\s+)?"
    r"|the\s+)?(?P<what>(?:moving|falling|flying|passing|bouncing)\s+[\w\s]+?)(?:\s+as\s+(?:you\s+can|possible)"
    r"(?:\s+as\s+they\s+(?:pass|move|go\s+by))?|\s+as\s+they\s+(?:pass|move|go\s+by))?$", re.I)


def step(clause: str) -> tuple[str, str, str] | None:
    """('catch', 'moving circles', '') for 'Click as many moving circles as possible'; None for other clauses."""
    m = CATCH_RE.match(" ".join(clause.strip(" .!?").split()))
    return ("catch", m.group("what"), "") if m else None


def targets(rgb: Any, elements: Sequence[Element], what: str) -> list[tuple[int, int, int, int]]:
    """The boxes of the things in sight that fit `what`, the one nearest an edge of the frame first."""
    from omnirt.agents import counting

    desc = counting.describe(what)
    h, w = rgb.shape[:2]
    found = [b for b in counting.find_blobs(rgb, elements) if b.side >= MIN_SIDE and (not desc.colour or b.colour ==
             desc.colour) and (b.kind != "glyph" or b.box[0] <= 0 or b.box[2] >= w)]  # a sliver at the edge: coming
    # in or going out, its shape not yet seen
    return [b.box for b in sorted(found, key=lambda b: min(b.box[0], w - b.box[2], b.box[1], h - b.box[3]))]


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: Any) -> Any:
    """A Click on the thing that will leave first, a Wait of REST_S when none is in sight; a failed Done after
    MAX_LOOKS looks (the page did not end the task)."""
    from omnirt.agents.actions import Click, Done, Wait

    if rgb is None:
        return None
    looks = watch.moves["catch"] = watch.moves.get("catch", 0) + 1
    if looks > MAX_LOOKS:
        return Done(success=False, summary=f"clicked for {MAX_LOOKS} looks; the page did not end the task")
    found = targets(rgb, elements, step.target)
    if not found:
        return Wait(seconds=REST_S)
    x0, y0, x1, y1 = found[0]
    click = watch.moves["caught"] = Click(x=(x0 + x1) // 2, y=(y0 + y1) // 2)
    return click


def settle_limit(watch: Any, action: Any) -> float | None:
    """SETTLE_S after this step's click (the page moves on its own: it never holds still, and each look spent
    waiting for it to is time things leave in); None after any other action."""
    return SETTLE_S if action is watch.moves.get("caught") else None
