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

REPLY_VERBS = ("reply", "respond", "answer")
FORWARD_VERBS = ("forward", "send", "give", "pass", "mail", "email", "e-mail")
_TEXT = r"(?:the\s+)?(?:text|message|words?|reply|answer)\s*:?\s*"
TELL_VERBS = ("tell", "say", "write", "saying", "telling")  # a reply's text said in a clause of its own
NOUN = r"(?:e-?mail|message|mail|information|info|note|letter)"
PRONOUN = rf"(?:it|this|that|them|(?:this|that|the|my)\s+(?:{NOUN}|one))"
POLITE = re.compile(r"^(?:please\s+|kindly\s+|(?:will|would|could|can)\s+you\s+(?:please\s+)?|"
                    r"i(?:'d|\s+would)\s+like\s+(?:you\s+)?to\s+|i\s+want\s+(?:you\s+)?to\s+|"
                    r"(?:go\s+ahead\s+and|then)\s+)+", re.I)
# ... "the email by Ann" (sent by / from), "the message Ann sent (to) me", "the mail you got from Ann", "Ann's email"
_REFS = (rf"^(.+?)['’]s?\s+{NOUN}$",
         rf"^{NOUN}\s+(?:that\s+|which\s+)?(?:you|i|we)\s+(?:got|received|have\s+got|had)\s+from\s+(.+)$",
         rf"^{NOUN}\s+(?:that\s+|which\s+)?(.+?)\s+sent(?:\s+(?:to\s+)?(?:me|you|us))?$",
         rf"^{NOUN}\s+(?:sent\s+|received\s+|written\s+)?(?:by|from)\s+(.+)$")


def polite(clause: str) -> str:
    """'Please find ...', 'I'd like to email Bo ...', 'Will you respond ...', '... to Bo please' -> the command."""
    return re.sub(r",?\s+please[.!?]?$", "", POLITE.sub("", clause.strip()), flags=re.I)


def reference(text: str) -> str | None:
    """The sender a message is named by: "Ann's email", "the email Ann sent me", "the mail you got from Ann", "the
    message by Ann" -> 'Ann'; '' for a message already in view ("it", "that email"); None for anything else."""
    t = re.sub(r"^(?:the|a|an|my|your)\s+", "", text.strip(" .,!?"), flags=re.I)
    if re.fullmatch(PRONOUN, t, re.I) or re.fullmatch(NOUN, t, re.I):
        return ""
    for pattern in _REFS:
        m = re.match(pattern, t, re.I)
        if m:
            who = re.sub(r"^(?:the|a|an)\s+", "", m.group(1).strip(), flags=re.I)
            return who if who and len(who.split()) <= 3 else None
    return None


def request(verb: str, rest: str) -> tuple[str, str, str] | None:
    """A reply or a forward: (kind, value, sender of the message or ''). ('reply', 'to them with the text "Hi"') ->
    ('reply', '"Hi"', ''); ('forward', "Ann's message to Bo") -> ('forward', 'Bo', 'Ann'); ('send', 'Bo the email
    you got from Ann') -> ('forward', 'Bo', 'Ann'); the value '' when a reply's text comes in a clause of its own
    ("respond to Ann's email and tell her ..."). None when the clause is neither. Quote placeholders stay."""
    v, rest = verb.lower(), rest.strip(" .!?,")
    if v in REPLY_VERBS or (v == "write" and rest.lower().startswith("back")):
        rest = re.sub(r"^back\s*", "", rest, flags=re.I) if v == "write" else rest
        parts = re.split(r"\s*\b(?:with|saying|and\s+say(?:ing)?|by\s+saying|by\s+writing)\s+", rest, maxsplit=1,
                         flags=re.I)
        head = re.sub(r"^to\s+", "", parts[0], flags=re.I)
        row = reference(head) if head else ""
        if row is None and head and (len(head.split()) > 2 or head.lower() in ("all", "everyone", "everybody")):
            return None  # (a reply to all is a control of its own)
        text = re.sub(rf"^{_TEXT}", "", parts[1], flags=re.I).strip() if len(parts) > 1 else ""
        return "reply", text, row or ""
    if v not in FORWARD_VERBS:
        return None
    rest = re.sub(r"^(?:it\s+)?on\s+to\b", "it to", re.sub(r"^on\s+", "", rest, flags=re.I), flags=re.I)
    for pattern, obj_first in ((r"^(.+?)\s+to\s+(\S.*)$", True), (r"^to\s+(.+?)\s+((?:the|that|this|my)\s+.+)$", False),
                               (r"^(\S+(?:\s+\S+)?)\s+((?:the|that|this|my)\s+.+)$", False), (r"^to\s+(.+)$", None)):
        m = re.match(pattern, rest, re.I)
        if m is None:
            continue
        if obj_first is None:  # "forward to Bo": the message in view
            return ("forward", m.group(1), "") if v == "forward" else None
        obj, who = (m.group(1), m.group(2)) if obj_first else (m.group(2), m.group(1))
        row = reference(obj)
        if row is not None and not re.search(r"\s(?:the|that|this|my)\s", f" {who}", re.I):
            return "forward", who.strip(), row
    return None


def passive(clause: str) -> tuple[str, str, str] | None:
    """"The mail by Ann should be forwarded to Bo" / "I want the mail by Ann to be sent to Bo" -> ('forward', 'Bo',
    'Ann'); None for anything else."""
    m = re.match(r"^(?:i\s+want\s+|i'd\s+like\s+)?(.+?)\s+(?:should|must|needs?\s+to|has\s+to|to)\s+be\s+"
                 r"(?:forwarded|sent|passed\s+on)\s+to\s+(.+)$", clause.strip(" .!?,"), re.I)
    row = reference(m.group(1)) if m else None
    return ("forward", m.group(2), row) if m and row is not None else None


def told(verb: str, rest: str) -> str | None:
    """A reply's text said on its own: ('tell', 'her that "Hi"') -> '"Hi"'; ('say', '"Hi"') -> '"Hi"'."""
    if verb.lower() not in TELL_VERBS:
        return None
    t = re.sub(r"^(?:them|him|her|it|back)\s+", "", rest.strip(" .!?,"), flags=re.I)
    quote = re.search(r"QUOTE\d+", t)
    if quote:
        return quote.group(0)
    t = re.sub(r"^(?:that\s+)?", "", t, flags=re.I).strip()
    return t or None


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
