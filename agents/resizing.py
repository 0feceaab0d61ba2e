"""A box made larger or smaller with the pointer: "Resize the textarea so that the height is larger than its initial
size", "make the text box wider", "increase the height of the text area", "shrink the textarea". A person takes the
box by its resize grip, the bottom-right corner (a text area's own grip, or the corner handle a page adds, jQuery
UI's resizable among them), and drags it: down or right to grow, up or left to shrink, only along the dimension named
(both for a size), by a third of the box (at least MIN_STEP px to grow).

- The parser's step is `resize` (target: the thing, text: "height|width|both:+|-"), for the verbs resize, make,
  increase, decrease, enlarge, shrink, widen, lengthen, stretch; only a thing that is a box (a text area, text box,
  field, box, window, panel, image). "Expand" is no such verb: what is expanded is a section (agents/exploring.py).
- The box is the largest text area in sight, else the largest field; its drag is no plan step of its own (agents/
  readings.py's aside ops), made once.

English and the resize-grip convention only, nothing about any page.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from omnirt.agents.elements import Element

OPS = ("resize",)
MIN_STEP = 40  # pixels: the least a box is grown
GRIP = 3  # pixels in from the corner where the grip is pressed
THINGS = r"(?:text\s*area|textarea|text\s*box|textbox|text\s+field|field|input|box|window|panel|image|picture|area)"
GROW = {"larger": "+", "bigger": "+", "greater": "+", "taller": "+", "longer": "+", "wider": "+", "higher": "+",
        "increase": "+", "enlarge": "+", "widen": "+", "lengthen": "+", "stretch": "+", "grow": "+",
        "smaller": "-", "shorter": "-", "narrower": "-", "lower": "-", "decrease": "-",
        "shrink": "-", "reduce": "-", "narrow": "-", "shorten": "-"}
DIMS = {"height": "height", "taller": "height", "shorter": "height", "higher": "height", "lower": "height",
        "lengthen": "height", "longer": "height", "width": "width", "wider": "width", "narrower": "width",
        "widen": "width", "narrow": "width"}
WORDS = "|".join(sorted(GROW, key=len, reverse=True))
# "resize the textarea so that the height is larger (than ...)", "resize the box to be wider"
SO_RE = re.compile(rf"^(?:resize|change|adjust|make)\s+(?:the\s+|a\s+)?(?P<thing>[\w\s-]*?{THINGS})\s+(?:so\s+"
                   rf"(?:that\s+)?(?:the\s+|its\s+)?(?P<dim>height|width|size)\s+is\s+|to\s+be\s+|)(?P<way>{WORDS})\b",
                   re.I)
# "increase the height of the text area", "enlarge the textarea", "shrink the box's width"
VERB_RE = re.compile(rf"^(?P<way>{WORDS})\s+(?:the\s+(?P<dim>height|width|size)\s+of\s+)?(?:the\s+|a\s+)?"
                     rf"(?P<thing>[\w\s-]*?{THINGS})(?:'s\s+(?P<dim2>height|width|size))?\b", re.I)


def step(clause: str) -> tuple[str, str, str] | None:
    """('resize', thing, 'height:+') for a clause that makes a box larger or smaller; None for any other."""
    text = " ".join(clause.strip(" .!").split())
    m = SO_RE.match(text) or VERB_RE.match(text)
    if m is None:
        return None
    way = m.group("way").lower()
    dim = (m.group("dim") or (m.groupdict().get("dim2") or "") or DIMS.get(way, "both")).lower()
    return "resize", m.group("thing").strip(), f"{'both' if dim == 'size' else dim}:{GROW[way]}"


def box_of(elements: Sequence[Element]) -> Element | None:
    """The box a resize step works on: the largest text area in sight, else the largest field (the thing's name is
    not matched: "the textarea", "the text box" and "the box" all mean the one box a page offers to resize)."""
    def area(e: Element) -> int:
        return (e.box[2] - e.box[0]) * (e.box[3] - e.box[1])

    for kinds in (("textarea",), ("input", "textarea", "image", "panel")):
        found = [e for e in elements if e.kind in kinds]
        if found:
            return max(found, key=area)
    return None


def decide(step: Any, elements: Sequence[Element], watch: Any) -> Any:
    """The drag of the box's grip (once), SKIP (agents/everyday.py's) once it is made, None when no box is in
    sight."""
    from omnirt.agents.actions import Drag
    from omnirt.agents.everyday import SKIP

    key = ("resize", step.target, step.text)
    if key in watch.moves:
        return SKIP
    box = box_of(elements)
    if box is None:
        return None
    dim, _, way = step.text.partition(":")
    x0, y0, x1, y1 = box.box
    gx, gy = x1 - GRIP, y1 - GRIP

    def by(size: int) -> int:
        return max(MIN_STEP, size // 3) if way == "+" else -max(1, min(size // 3, size - 2 * GRIP - 4))

    dx = by(x1 - x0) if dim in ("width", "both") else 0
    dy = by(y1 - y0) if dim in ("height", "both") else 0
    watch.moves[key] = 1
    return Drag(x=gx, y=gy, to_x=max(0, gx + dx), to_y=max(0, gy + dy))
