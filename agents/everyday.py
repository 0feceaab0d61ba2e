"""Grounding the everyday steps of agents/intents.py (toggle, row, confirm, fill, suggest, nextmonth, day, loose
clicks) on the elements and pixels seen now. Used by the instruction policy (agents/policies.py).

Conventions, not pages: a settings switch or a check box stands on its label's row, to its right (or is the box the
label names); a switch is on when it is coloured (saturated), off when grey; a table or list row's actions are the
controls right of the text that names the row, the destructive one (delete, remove, archive) the rightmost; a
confirmation dialog's yes is the button named by the request's verb, else Yes / OK / Confirm; a field is named by
its label (beside, above, or its placeholder); an autocomplete suggestion starts with what was typed and lies below
the field; a calendar's next-month arrow stands right of the month's name on its header row.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from omnirt.agents import icons
from omnirt.agents.actions import Click
from omnirt.agents.elements import Element, norm
from omnirt.agents.grounding import match, nth
from omnirt.agents.everyday_forms import label_split, value_after
from omnirt.agents.intents import DESTRUCTIVE, loose_pick

SKIP = object()  # an optional step with nothing to do (the switch is already so; no dialog asked)
TEXT_KINDS = ("word", "line", "link", "cell")
AFFIRM = ("yes", "ok", "confirm", "continue")
NEXT_GLYPHS = (">", "›", "»", "→", ">>", "▶", "⟩", "next", "next month")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
OPS = ("toggle", "row", "confirm", "suggest", "nextmonth", "day", "datefield", "name", "again", "noop",
       "search")
POINTER_OPS = ("click", "focus", "toggle", "row")  # steps whose target may lie below the fold
LOOK_SCROLL, MAX_LOOK_SCROLLS = 5, 6  # wheel clicks per look below the fold, and looks at most (a look may be
# one click: six of them pass a list of 3.5 views whose click moves three quarters of one)
INK = 40  # a channel difference from the row's background that counts as a control's ink


def row_blobs(rgb: np.ndarray, box: tuple[int, int, int, int], texts: Sequence[Element]) -> list[tuple[int, ...]]:
    """Ink right of `box` on its row that no text element covers (switches, icons, boxes), left to right, as boxes."""
    h = rgb.shape[0]
    cy, half = (box[1] + box[3]) // 2, max(6, (box[3] - box[1]) // 2 + 2)
    y0, y1, x0 = max(0, cy - half), min(h, cy + half), box[2] + 4
    band = rgb[y0:y1, x0:, :3].astype(np.int16)
    if band.size == 0:
        return []
    vals, counts = np.unique(band.reshape(-1, 3) // 8, axis=0, return_counts=True)
    mask = np.abs(band - (vals[counts.argmax()] * 8 + 4)).max(axis=2) > INK
    mask[mask.mean(axis=1) > 0.8] = False  # a rule between rows crossing the band is no control
    cols = np.flatnonzero(mask.any(axis=0))
    out: list[tuple[int, ...]] = []
    if cols.size == 0:
        return out
    runs, start, prev = [], cols[0], cols[0]
    for c in cols[1:]:
        if c - prev > 4:
            runs.append((start, prev + 1))
            start = c
        prev = c
    runs.append((start, prev + 1))
    bg = vals[counts.argmax()] * 8 + 4
    for a, b in runs:
        rows = np.flatnonzero(mask[:, a:b].any(axis=1))
        top, bottom = _beyond(rgb[:, x0:], bg, int(a), int(b), y0 + int(rows[0]), y0 + int(rows[-1]) + 1, 2 * half)
        blob = (x0 + int(a), top, x0 + int(b), bottom)
        if b - a < 4 or b - a > 200 or any(_overlaps(blob, t.box) for t in texts):
            continue
        out.append(blob)
    return out


def _overlaps(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def is_on(rgb: np.ndarray, box: tuple[int, ...]) -> bool:
    """A switch or box is on when a quarter of it is saturated colour (off ones are grey or white)."""
    crop = rgb[box[1]:box[3], box[0]:box[2], :3].astype(np.int16)
    return crop.size > 0 and float(((crop.max(axis=2) - crop.min(axis=2)) > 60).mean()) > 0.25


def _center(box: tuple[int, ...]) -> Click:
    return Click(x=int((box[0] + box[2]) // 2), y=int((box[1] + box[3]) // 2))


def text_elements(elements: Sequence[Element]) -> list[Element]:
    """The elements that carry words (labels the everyday intents and search forms read a screen by)."""
    return [e for e in elements if e.label and e.kind in TEXT_KINDS]


def _beyond(rgb: np.ndarray, bg: np.ndarray, x0: int, x1: int, top: int, bottom: int, most: int) -> tuple[int, int]:
    """A blob's rows followed out of the band it was found in (a control set lower than its row's name, a "+" cut
    in half by the band): rows of ink in its columns above `top` and below `bottom`, at most `most` each way; a rule
    across the rows (ink over most of `rgb`'s width) ends it."""
    def inked(y: int) -> bool:
        if not 0 <= y < rgb.shape[0]:
            return False
        ink = np.abs(rgb[y, :, :3].astype(np.int16) - bg).max(axis=1) > INK
        return bool(ink[x0:x1].any()) and ink.mean() <= 0.8

    lo, hi = top, bottom
    while lo > top - most and inked(lo - 1):
        lo -= 1
    while hi < bottom + most and inked(hi):
        hi += 1
    return lo, hi


def _same_row(e: Element, box: tuple[int, ...]) -> bool:
    cy = (box[1] + box[3]) / 2
    return e.box[1] <= cy <= e.box[3] and e.box[0] >= box[2]


def toggle(step: Any, elements: Sequence[Element], rgb: np.ndarray | None) -> Any:
    """The click that sets the switch (or box) named step.target to step.text; SKIP when it already is so."""
    ticks = [e for e in elements if e.label and e.kind in ("checkbox", "radio")]
    named = [e for e in ticks if f" {norm(step.target)} " in f" {norm(e.label)} "]  # "licence": "I accept the licence"
    label = match(step.target, ticks) or (named[0] if len(named) == 1 else None) or \
        match(step.target, [e for e in elements if e.label and e.kind in TEXT_KINDS])
    if label is None:
        return None
    if label.kind in ("checkbox", "radio"):
        box: tuple[int, ...] = label.box
    else:
        ticks = [e for e in elements if e.kind in ("checkbox", "radio") and norm(e.label) == norm(label.label)]
        blobs = row_blobs(rgb, label.box, text_elements(elements)) if rgb is not None else []
        box = ticks[0].box if ticks else blobs[0] if blobs else ()
        if not box:
            return None
    if rgb is not None and step.text in ("on", "off") and is_on(rgb, box) == (step.text == "on"):
        return SKIP
    return _center(box)


def row_control(step: Any, elements: Sequence[Element], rgb: np.ndarray | None) -> Any:
    """The control on the row of the text step.target names: the rightmost for a destructive verb, else the first."""
    texts = text_elements(elements)
    name = match(step.target, texts)
    if name is None:
        return None
    verb = norm(step.text)
    said = [e for e in elements if e.label and verb in norm(e.label).split() and _same_row(e, name.box)
            and e.kind in ("button", "link")]
    if said:  # the row's own control says the verb ("Archive" beside "Delete"): that one
        return Click(element=min(said, key=lambda e: e.box[0]).id)
    boxes = [e.box for e in elements if e.kind in ("icon", "button") and _same_row(e, name.box)]
    if rgb is not None:
        # Icons OCR read as a symbol or a letter or two ("☆i" for a hovered row's star and trash can) are no text:
        # their ink is the row's controls.
        words = [t for t in texts if not (_same_row(t, name.box) and len(norm(t.label)) <= 2)]
        boxes += [b for b in row_blobs(rgb, name.box, words) if not any(_overlaps(b, o) for o in boxes)]
    if not boxes:
        return None
    shape = icons.shape_named(getattr(step, "look", "") or "")
    seen = icons.best(rgb, shape, boxes) if shape and rgb is not None else None
    if seen is not None:  # "the star icon": the row's control that looks like one
        return _center(seen)
    pick = max if step.text.lower() in DESTRUCTIVE else min
    return _center(pick(boxes, key=lambda b: b[0]))


def confirm(step: Any, elements: Sequence[Element], opened: Sequence[tuple[int, ...]] | None = None) -> Any:
    """What the last click opened that carries the request out: a row's menu item or a confirmation dialog's yes,
    named by the request's verb, else Yes / OK / Confirm (SKIP if nothing such opened). opened: the screen's
    rectangles that changed since the last action (None: not known, then anything in sight counts); an entry with
    the verb's word elsewhere (a sidebar's "Archive") is no answer to the click."""
    verb = norm(step.text)
    pool = [e for e in elements if e.label and e.kind in ("button", "link", "word", "line")]
    if opened is not None:
        pool = [e for e in pool if any(_overlaps(e.box, r) for r in opened)]
    for want in (lambda e: e.kind in ("button", "link") and norm(e.label) == verb,
                 lambda e: e.kind == "button" and verb in norm(e.label).split(),
                 lambda e: norm(e.label) == verb,
                 lambda e: norm(e.label) in AFFIRM,
                 lambda e: verb in norm(e.label).split()[:2] and len(norm(e.label).split()) <= 3,
                 lambda e: e.kind == "button" and (norm(e.label).split() or [""])[0] in AFFIRM):
        hits = [e for e in pool if want(e)]
        if hits:
            return Click(element=hits[0].id)
    return SKIP


def fill_field(step: Any, elements: Sequence[Element], rgb: np.ndarray | None,
               used: list[tuple[int, ...]]) -> tuple[tuple[int, ...] | None, str]:
    """The box of the field a "label value" chunk names by its first words, and the value: the text that labels
    a field by layout (above it, beside it, inside it), else the label the grounding tied to an input (its
    nearest text, which may be a neighbour's); with no label said, the first field this plan has not filled yet,
    and the whole chunk. A label names a field by itself or by holding the chunk's words (everyday_forms)."""
    from omnirt.agents.fields import labelled_field

    fields = field_boxes(elements, rgb, used)
    boxes = [f[0] for f in fields]
    texts = [(t, labelled_field(t.box, boxes)) for t in text_elements(elements)]
    texts = [(t, b) for t, b in texts if b is not None]
    hit = label_split(step.target, [t.label for t, _ in texts])
    if hit is not None:
        return texts[hit[0]][1], value_after(step.target, hit[1])
    hit = label_split(step.target, [f[1] or f[2] for f in fields])
    if hit is not None:
        return fields[hit[0]][0], value_after(step.target, hit[1])
    return (boxes[0] if boxes else None), step.target


def suggestion(step: Any, elements: Sequence[Element], field_box: tuple[int, ...] | None) -> Any:
    """The autocomplete entry below the field that starts with what was typed (and says more), and ends as the step
    says when it says so (text); SKIP if none, None (not in sight yet) when an entry is asked for (need)."""
    typed, ending = norm(step.target), norm(step.text)
    top = field_box[3] if field_box else 0
    said = lambda e: norm(e.value if e.kind == "input" else e.label)  # noqa: E731 (an entry boxed like a field)
    hits = [e for e in elements if e.kind in (*TEXT_KINDS, "button", "input") and e.box[1] >= top - 2
            and said(e).startswith(typed) and said(e) != typed and said(e).endswith(ending)]
    return Click(element=nth(hits, None).id) if hits else None if step.need else SKIP  # type: ignore[union-attr]


def next_month(elements: Sequence[Element], rgb: np.ndarray | None) -> Any:
    """A calendar's next-month arrow: named so, else the rightmost control on the month name's row."""
    named = [e for e in elements if norm(e.label) in NEXT_GLYPHS]
    if named:
        return Click(element=max(named, key=lambda e: e.box[0]).id)
    heads = [e for e in text_elements(elements) if any(m in norm(e.label).split() for m in MONTHS)]
    if not heads:
        return None
    head = heads[0]
    boxes = [e.box for e in elements if e.kind in ("icon", "button") and _same_row(e, head.box)]
    boxes += row_blobs(rgb, head.box, text_elements(elements)) if rgb is not None else []
    return _center(max(boxes, key=lambda b: b[0])) if boxes else None


def day(step: Any, elements: Sequence[Element]) -> Any:
    """The day number in the open calendar (below its month heading, when one is read)."""
    heads = [e for e in text_elements(elements) if any(m in norm(e.label).split() for m in MONTHS)]
    top = heads[0].box[3] if heads else 0
    hits = [e for e in elements if e.kind in ("word", "link", "button", "cell", "icon") and norm(e.label) == step.text
            and e.box[1] >= top]
    if len(hits) > 1:  # a day of the month before or after is drawn pale: keep the ones in the darkest ink
        ink = {e.id: sum(e.ink) for e in hits}
        hits = [e for e in hits if ink[e.id] <= min(ink.values()) + 120]
    return Click(element=nth(hits, None).id) if hits else None  # type: ignore[union-attr]


def field_by_edges(step: Any, elements: Sequence[Element], rgb: np.ndarray | None,
                   used: list[Any]) -> tuple[tuple[int, ...], str] | None:
    """When no input element is in sight: the field (agents/fields.py) the step names by its label or placeholder,
    else (no label said) the next one in reading order this plan has not typed into; with the value to type."""
    from omnirt.agents.fields import field_for, find_fields, labelled_field

    if rgb is None:
        return None
    fields = [f for f in find_fields(rgb) if not any(_overlaps(f, u) for u in used)]
    texts = text_elements(elements)
    if step.fill:
        pool = [t for t in texts if labelled_field(t.box, fields) is not None]
        hit = label_split(step.target, [t.label for t in pool])
        if hit is not None:
            return labelled_field(pool[hit[0]].box, fields), value_after(step.target, hit[1])  # type: ignore
        return (fields[0], step.target) if fields else None
    box = field_for(step.target, texts, fields, match) if step.target else None
    if box is None and not step.target and fields:
        box = fields[min(len(fields), max(1, step.ordinal or 1)) - 1] if step.ordinal != -1 else fields[-1]
    return (box, "") if box is not None else None


def field_boxes(elements: Sequence[Element], rgb: np.ndarray | None, used: Sequence[Any] = ()) -> list[Any]:
    """Every field in sight: the grounding's inputs (with their label and text) and those found by their edges,
    as (box, label, value), in reading order; none this plan has typed into."""
    from omnirt.agents.fields import find_fields

    out = [(e.box, e.label, e.value) for e in elements if e.kind in ("input", "textarea", "dropdown")]
    if rgb is not None:
        out += [(b, "", "") for b in find_fields(rgb) if not any(_overlaps(b, o[0]) for o in out)]
    return sorted([f for f in out if not any(_overlaps(f[0], u) for u in used)], key=lambda f: (f[0][1], f[0][0]))


def date_field(step: Any, elements: Sequence[Element], rgb: np.ndarray | None) -> Any:
    """The click that opens the date's picker (SKIP when a calendar already shows)."""
    from omnirt.agents.everyday_forms import calendar_open, date_field_box
    from omnirt.agents.fields import labelled_field

    if calendar_open(elements):
        return SKIP
    fields = field_boxes(elements, rgb)
    boxes = [f[0] for f in fields]
    box = date_field_box(step.target, boxes, [f[1] for f in fields], [f[2] for f in fields], text_elements(elements),
                         lambda label: labelled_field(label, boxes))
    return _center(box) if box is not None else None


def repeat_field(elements: Sequence[Element], rgb: np.ndarray | None, used: Sequence[Any]) -> Any:
    """The box of a password's repeat field ("Confirm password"), or None when the form asks once."""
    from omnirt.agents.everyday_forms import is_repeat_label
    from omnirt.agents.fields import labelled_field

    fields = field_boxes(elements, rgb, used)
    for box, label, _ in fields:
        if is_repeat_label(label):
            return box
    for t in text_elements(elements):
        if is_repeat_label(t.label):
            box = labelled_field(t.box, [f[0] for f in fields])
            if box is not None:
                return box
    return None


def named_button(clause: str, elements: Sequence[Element]) -> bool:
    """Whether a clause the parser did not know names a button or link on the screen by its words."""
    from omnirt.agents.intents import loose_target

    return loose_pick(loose_target(clause), list(elements)) is not None


def loose(step: Any, elements: Sequence[Element]) -> Any:
    """A button or link named by the words of a clause."""
    hit = loose_pick(step.target, list(elements))
    return Click(element=hit.id) if hit is not None else None


def decide_step(step: Any, elements: Sequence[Element], rgb: np.ndarray | None, field_box: Any,
                opened: Sequence[tuple[int, ...]] | None = None) -> Any:
    """The action for an everyday step (None: its target is not in sight; SKIP: nothing to do). opened: what
    changed on the screen since the last action (see `confirm`)."""
    if step.loose:
        return loose(step, elements)
    if step.op == "toggle":
        return toggle(step, elements, rgb)
    if step.op == "row":
        return row_control(step, elements, rgb)
    if step.op == "confirm":
        return confirm(step, elements, opened)
    if step.op == "datefield":
        return date_field(step, elements, rgb)
    if step.op == "suggest":
        return suggestion(step, elements, field_box)
    if step.op == "nextmonth":
        return next_month(elements, rgb)
    return day(step, elements)


LIST_KINDS = ("word", "line", "link", "button", "cell")


def option(step: Any, elements: Sequence[Element], opened: Sequence[tuple[int, ...]] | None) -> Any:
    """The option step.target names in the list the last click opened (in the rectangles that changed since then;
    None: not known, anything in sight counts): a click on it, or None when it is not in sight."""
    lines = [e.box for e in elements if e.kind == "line"]
    # An option is a whole line: "6ft" of the line "6ft 1in" is no option "6 ft".
    pool = [e for e in elements if e.label and e.kind in LIST_KINDS and
            not (e.kind == "word" and any(_overlaps(e.box, b) for b in lines))]
    if opened is not None:
        pool = [e for e in pool if any(_overlaps(e.box, r) for r in opened)]
    hit = match(step.target, pool)
    if hit is None or hit.kind not in LIST_KINDS + ("span",):
        return None
    return _center(hit.box) if hit.kind == "span" else Click(element=hit.id)


def list_region(elements: Sequence[Element], others: set[str]) -> tuple[int, int, int, int] | None:
    """Where a list box's options are when nothing opened it: the extent of the texts in sight that name no other
    step's target (a form's Submit is no option); None when there are none."""
    pool = [e.box for e in elements if e.label and e.kind in ("word", "line", "cell", "link") and
            norm(e.label) not in others]
    if not pool:
        return None
    return min(b[0] for b in pool), min(b[1] for b in pool), max(b[2] for b in pool), max(b[3] for b in pool)


PAGER_RE = re.compile(r"[\d\s<>\u2264\u2265\u00ab\u00bb\u2039\u203a\u2190\u2192|.]+|"
                      r"(?:next|prev(?:ious)?)(?:\s+page)?", re.I)
NEXT_END = (">", "\u2265", "\u00bb", "\u203a", "\u2192")  # what a pager's next arrow is read as at its end


def counted(elements: Sequence[Element], kinds: Sequence[str]) -> list[Element]:
    """The elements of `kinds` that an ordinal counts ("the 5th search result"): not a pager's page numbers and
    arrows, and not a result's web address (it names the result above it)."""
    return [e for e in elements if e.kind in kinds and not (e.label.strip() and (
        PAGER_RE.fullmatch(e.label.strip()) or re.match(r"(?:https?:|www\.)", e.label.strip(), re.I)))]


def next_page(elements: Sequence[Element]) -> Any:
    """A click on the pager's next control: a link or button named so (Next, >), else the right end of a pager read
    as one word ("1 2 3 >" -> '123>'); None when there is none."""
    pagers = [e for e in elements if e.kind in ("link", "button", "word") and PAGER_RE.fullmatch(e.label.strip())]
    named = [e for e in pagers if norm(e.label) in NEXT_GLYPHS or norm(e.label) in ("next page",)]
    if named:
        return Click(element=max(named, key=lambda e: e.box[0]).id)
    ends = [e for e in pagers if len(e.label.strip()) > 1 and e.label.strip()[-1] in NEXT_END]
    if not ends:
        return None
    e = max(ends, key=lambda e: e.box[2])
    glyph = (e.box[2] - e.box[0]) // (2 * len(e.label.strip()))
    return Click(x=e.box[2] - max(1, glyph), y=(e.box[1] + e.box[3]) // 2)
