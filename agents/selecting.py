"""Text selected with the pointer, for instructions that name a piece of a text by its place, not by its words:
"Highlight the text in the 2nd paragraph", "select the last line", "highlight the paragraph below", "select the
3rd word of the text". No label grounds these (the words are whatever the page made up); the piece is found by how
text is laid out, and selected by dragging across it, as a person does.

- The parser's step is `select` (text: "unit:n", unit paragraph | line | word, n 1-based or -1 for the last; "the
  paragraph below" with no ordinal is the first).
- The page's text is its words (not those inside buttons or fields: a control's label is no part of a text),
  grouped into lines (agents/instruction_text.lines_of) and the lines into paragraphs: a paragraph ends where the
  gap to the next line is wider than a line's own spacing (a blank line or a paragraph margin), or where a control
  stands between two lines.
- The drag starts just left of the piece's first word and ends past the right edge of its last word, on their own
  lines' middles: pressed before a character, a browser starts the selection before it; released past the end of a
  line, it ends the selection at the line's end. A paragraph or line is released a word height past its last word
  (OCR's box may leave out a thin final "." that the selection must hold: the first DEV runs lost one that way); a
  word only PAD pixels past, so that the next word is not taken.

The drag is the step (one action, no exploring presses): the next step (e.g. "click submit") follows it. Layout and
English only, nothing about any page.
"""

from __future__ import annotations

import re
import statistics
from typing import Any, Sequence

from omnirt.agents.elements import Element
from omnirt.agents.instruction_text import lines_of
from omnirt.agents.phrases import ordinal

OPS = ("select",)
CONTROL_KINDS = ("button", "input", "textarea", "dropdown", "checkbox", "radio")
SELECT_RE = re.compile(r"^(?:highlight|select|mark|drag\s+(?:over|across)|drag\s+to\s+select)\s+(?:all\s+(?:of\s+)?)?"
                       r"(?:the\s+)?(?:(?:whole\s+|entire\s+|full\s+)?(?:text|words|content|contents)\s+(?:in|of|"
                       r"from)\s+(?:the\s+)?)?(?:(?P<ord>\w+)\s+)?(?P<unit>paragraph|line|word)s?"
                       r"(?:\s+(?:of|in)\s+(?:the\s+)?(?:text|paragraph|passage|page))?"
                       r"(?:\s+(?:below|above|shown|here|on\s+the\s+(?:page|screen)))?$", re.I)
GAP = 0.6  # a gap between lines wider than this many word heights ends a paragraph
PAD = 3  # pixels past a lone word's right edge the drag ends at (and before its left edge it starts at, less one)


def step(clause: str) -> tuple[str, str, str] | None:
    """('select', '', 'paragraph:2') for 'Highlight the text in the 2nd paragraph'; None for any other clause."""
    m = SELECT_RE.match(" ".join(clause.strip(" .!?").split()))
    if m is None:
        return None
    word = m.group("ord") or ""
    n = ordinal(word) if word else 1
    if n is None and word.lower() not in ("whole", "entire", "full", "first"):
        return None  # "select the blue paragraph": a description this module does not read
    return "select", "", f"{m.group('unit').lower()}:{n or 1}"


def _inside(w: Element, boxes: list[tuple[int, int, int, int]]) -> bool:
    cx, cy = w.center
    return any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)


def text_lines(elements: Sequence[Element]) -> list[list[Element]]:
    """The page's text as lines of words, top to bottom (words inside a control are its label, not text)."""
    controls = [e.box for e in elements if e.kind in CONTROL_KINDS]
    words = [e for e in elements if e.kind == "word" and e.label.strip() and not _inside(e, controls)]
    return lines_of(words)


def paragraphs(elements: Sequence[Element]) -> list[list[list[Element]]]:
    """The text's lines grouped into paragraphs: a new one starts after a gap wider than GAP word heights, or where
    a control lies between two lines."""
    lines = text_lines(elements)
    if not lines:
        return []
    height = statistics.median(w.box[3] - w.box[1] for line in lines for w in line)
    controls = [e.box for e in elements if e.kind in CONTROL_KINDS]
    out: list[list[list[Element]]] = [[lines[0]]]
    for prev, line in zip(lines, lines[1:]):
        bottom, top = max(w.box[3] for w in prev), min(w.box[1] for w in line)
        between = any(b[1] >= bottom - 2 and b[3] <= top + 2 for b in controls)
        if top - bottom > GAP * height or between:
            out.append([line])
        else:
            out[-1].append(line)
    return out


def piece(unit: str, n: int, elements: Sequence[Element]) -> list[list[Element]] | None:
    """The lines (each a list of words) of the nth paragraph, line or word; None when the text has no such piece."""
    if unit == "paragraph":
        pool: list[list[list[Element]]] = paragraphs(elements)
    elif unit == "line":
        pool = [[line] for line in text_lines(elements)]
    else:
        pool = [[[w]] for line in text_lines(elements) for w in line]
    if n == 0 or not -len(pool) <= n <= len(pool):
        return None
    return pool[n - 1] if n > 0 else pool[n]


def drag_span(lines: list[list[Element]], whole: bool = True) -> tuple[int, int, int, int]:
    """(x, y, to_x, to_y): from just left of the first word to past the last word, on their lines; whole: the piece
    ends a line (a paragraph or a line), so the drag may go on a word height past its last word."""
    first, last = lines[0][0], lines[-1][-1]
    y0 = round(statistics.median((w.box[1] + w.box[3]) / 2 for w in lines[0]))
    y1 = round(statistics.median((w.box[1] + w.box[3]) / 2 for w in lines[-1]))
    past = max(PAD, last.box[3] - last.box[1]) if whole else PAD
    return max(0, first.box[0] - PAD + 1), y0, last.box[2] + past, y1


def decide(step: Any, elements: Sequence[Element]) -> Any:
    """The Drag that selects the step's piece of text; None when the text in sight has no such piece."""
    from omnirt.agents.actions import Drag

    unit, _, n = step.text.partition(":")
    lines = piece(unit, int(n or 1), elements)
    if lines is None:
        return None
    x, y, tx, ty = drag_span(lines, whole=unit != "word")
    return Drag(x=x, y=y, to_x=tx, to_y=ty)
