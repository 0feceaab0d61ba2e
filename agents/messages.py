"""Answering and passing on a message: "reply to them with the text "..."", "forward that email to Ann".

What people ask of a mail or chat app, read as the steps a person takes: open the message (when an earlier clause
pointed at it: "find the email by Ann and ..."), the Reply or Forward control (its word, else its icon: a curved
arrow, a right arrow; agents/icons.py), the text typed into the message body or the recipient typed into the "to"
field, then Send (its word, else its paper-plane icon).

Compose screens often draw their fields without frames. Two conventions find them (`body`, `beside_label`): a text
area without a frame still shows its resize grip, bottom right, so its body is just above and left of the grip; a
field without a frame lies right of its label ("to:") where the row is blank.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from omnirt.agents.plan_steps import Step

REPLY_VERBS = ("reply", "respond", "answer", "write back")
FORWARD_VERBS = ("forward", "pass on", "send on")
_WHO = r"(?:them|him|her|it|this|that|the\s+(?:email|message|mail|sender)|\w+)"
_TEXT = r"(?:the\s+)?(?:text|message|words?|reply|answer)\s*:?\s*"


def request(verb: str, rest: str) -> tuple[str, str] | None:
    """('reply', 'to them with the text "Hi"') -> ('reply', '"Hi"'); ('forward', 'that email to Bo') -> ('forward',
    'Bo'); None when the clause is neither. Quotes (placeholders) are left as they are."""
    v, rest = verb.lower(), rest.strip(" .!")
    if v in REPLY_VERBS:
        m = re.match(rf"^(?:to\s+{_WHO}\s+)?(?:with|saying|and\s+say|by\s+saying|by\s+writing)\s+(?:{_TEXT})?(.+)$",
                     rest, re.I)
        return ("reply", m.group(1).strip()) if m else None
    if v in FORWARD_VERBS:
        m = re.match(r"^(?:(?:that|this|the|it|my)\s+)?(?:(?:email|message|mail|one|it)\s+)?to\s+(.+)$", rest, re.I)
        return ("forward", m.group(1).strip()) if m else None
    return None


def steps(kind: str, value: str, row: str) -> list[Step]:
    """The steps of a reply (value: its text) or a forward (value: the recipient); row: the message to open first
    ('' when it is open already)."""
    opened = [Step("click", row, ["word", "line", "link"])] if row else []
    control = Step("click", kind, ["button", "link", "icon", "word"])
    send = Step("click", "send", ["button", "icon"])
    if kind == "reply":
        return [*opened, control, Step("body"), Step("type", text=value), send]
    return [*opened, control, Step("focus", "to", ["input"]), Step("type", text=value), send]


def _blank(rgb: Any, x0: int, y0: int, x1: int, y1: int) -> bool:
    """Whether the rectangle is one colour (no ink, no frame)."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return False
    crop = rgb[y0:y1, x0:x1, :3].astype(np.int16)
    return int(np.abs(crop - crop.reshape(-1, 3)[0]).max()) < 24


def body(elements: Sequence[Any], rgb: Any, area: tuple[int, ...] | None = None) -> tuple[int, int] | None:
    """Where to click to write a message: the largest text area in sight, else just above and left of a resize
    grip with no frame around it (a text area drawn without one); None when neither shows."""
    areas = [e for e in elements if e.kind == "textarea"]
    if areas:
        e = max(areas, key=lambda a: (a.box[2] - a.box[0]) * (a.box[3] - a.box[1]))
        return e.center
    if rgb is None:
        return None
    from omnirt.agents import icons
    from omnirt.agents.pixels import has_grip

    covered = [tuple(e.box) for e in elements if len("".join((e.label or "").split())) > 2]
    for b in icons.blobs(rgb, area, covered):
        side = max(b[2] - b[0], b[3] - b[1])
        if side > 24 or not has_grip(rgb, (b[2] + 2 - 3 * side, b[3] + 2 - 3 * side, b[2] + 2, b[3] + 2), side / 8):
            continue
        x, y = b[0] - side, b[1] - side
        if _blank(rgb, x - side, y - side, x + side // 2, y + side // 2):
            return x, y
    return None


def beside_label(target: str, elements: Sequence[Any], rgb: Any) -> tuple[int, int] | None:
    """A field with no frame right of its label: 'to' -> a point on the row right of the text "to:", where the row
    is blank for at least four times the label's height; None when no such label or no blank room."""
    from omnirt.agents.elements import norm

    if rgb is None or not target:
        return None
    t = norm(target)
    labels = [e for e in elements if e.label and e.kind in ("word", "line") and norm(e.label) == t]
    for e in sorted(labels, key=lambda e: (e.box[1], e.box[0])):
        h = e.box[3] - e.box[1]
        x0, y0, y1 = e.box[2] + h // 2, e.box[1], e.box[3]
        if any(o is not e and o.label and o.box[0] >= e.box[2] and o.box[1] < y1 and y0 < o.box[3]
               and o.box[0] < x0 + 4 * h for o in elements):
            continue  # text right beside it: a line of words, not a field's label
        if _blank(rgb, x0, y0, x0 + 4 * h, y1):
            return x0 + 2 * h, (y0 + y1) // 2
    return None
