"""Grounding the form steps of agents/intents.py that name a field by what it holds rather than by its exact label:
a detail said as "the email x" (the field labelled "Email address"), a person's name (one field, or first and last
name), a password's repeat field, and the field whose picker holds a date. Used by agents/everyday.py.

Conventions, not pages: a label names a field when it holds the words said for it ("email" -> "Email address"), a
repeat field's label says so (confirm, repeat, again, re-enter); a name goes into "First name" / "Last name" when the
form splits it, else into the field whose label has the word "name"; a date's field is labelled with date, day or
when (or the thing being booked), or shows a date's shape (dd/mm/yyyy); a calendar is open when a month's name and a
grid of day numbers are in sight.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from omnirt.agents.elements import Element, norm

REPEAT_WORDS = {"confirm", "confirmation", "repeat", "again", "re", "reenter", "retype", "verify"}
FIRST_NAME = ("first name", "given name", "forename", "first")
LAST_NAME = ("last name", "surname", "family name", "last")
DATE_WORDS = {"date", "day", "when"}
DATE_SHAPE = re.compile(r"\b(?:dd|mm|yyyy|\d{1,4})\s*[/.-]\s*(?:dd|mm|\d{1,2})\s*[/.-]\s*(?:yyyy|yy|dd|\d{1,4})\b",
                        re.I)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
STOP = {"the", "a", "an", "my", "our", "your", "for", "to", "on", "of", "with", "new"}


def label_split(chunk: str, labels: Sequence[str]) -> tuple[int, int] | None:
    """(index of the label that the first words of "label value" name, how many words name it); None if none.
    The label itself first ("first name Ada" -> "First name"), longest first; else a label holding every one of
    the first words ("email a@b.c" -> "Email address"), fewest words left over first. A repeat field ("Confirm
    password") is named only by a chunk that says so."""
    words = _words(chunk)
    best: tuple[int, int, int, int] | None = None
    for i, label in enumerate(labels):
        lw = _words(label)
        if not lw:
            continue
        cand = None
        if len(words) > len(lw) and words[:len(lw)] == lw:
            cand = (0, -len(lw), i, len(lw))
        else:
            for k in range(len(words) - 1, 0, -1):
                head = set(words[:k])
                if head <= set(lw) and not (set(lw) & REPEAT_WORDS) - head:
                    cand = (1, len(lw) - k, i, k)
                    break
        if cand is not None and (best is None or cand < best):
            best = cand
    return (best[2], best[3]) if best else None


def _words(text: str) -> list[str]:
    return norm(text).replace("e mail", "email").split()  # "E-mail" is the word "email"


def value_after(chunk: str, k: int) -> str:
    """The words of `chunk` after its first k (the label's): the value to type."""
    rest = " ".join(chunk.split()[k:])
    return re.sub(r"^(?:[:=-]|is|as)\s*", "", rest).strip() or chunk


def name_labels(texts: Sequence[Element]) -> tuple[str, str] | None:
    """The labels of a split name (first, last) when both are in sight, else None."""
    def find(names: tuple[str, ...]) -> str:  # the fullest name first: the line "First name", not its word
        hits = [(names.index(norm(t.label)), t.label) for t in texts if norm(t.label) in names]
        return min(hits)[1] if hits else ""

    first, last = find(FIRST_NAME), find(LAST_NAME)
    return (first, last) if first and last else None


def is_repeat_label(label: str) -> bool:
    words = set(norm(label).replace("re enter", "reenter").replace("re type", "retype").split())
    return "password" in words and bool(words & REPEAT_WORDS)


def calendar_open(elements: Sequence[Element]) -> bool:
    """A month's name and at least 20 day numbers are in sight."""
    heads = [e for e in elements if e.label and any(m in norm(e.label).split() for m in MONTHS)]
    days = [e for e in elements if re.fullmatch(r"\d{1,2}", norm(e.label)) and 1 <= int(norm(e.label)) <= 31]
    return bool(heads) and len({norm(e.label) for e in days}) >= 20


def date_names(clause: str) -> tuple[set[str], set[str]]:
    """(words that name a date's field, the words of the thing being dated): 'Reserve the appointment' ->
    ({date, day, when}, {appointment})."""
    words = [w for w in re.sub(r"[^\w\s]", " ", clause.lower()).split()[1:] if w not in STOP and len(w) > 2]
    return set(DATE_WORDS), set(words)


def date_field_box(clause: str, fields: Sequence[tuple[int, ...]], field_labels: Sequence[str],
                   field_values: Sequence[str], texts: Sequence[Element], labelled: Any) -> tuple[int, ...] | None:
    """The box of the field holding the date: labelled with a date word, else with the thing booked, else the
    one showing a date's shape. fields: boxes; field_labels / field_values: their own label and text ('' when
    not known); labelled(label_box) -> the field box a text label names."""
    date_words, thing = date_names(clause)
    for names in (date_words, thing):
        if not names:
            continue
        for box, label in zip(fields, field_labels):
            if set(norm(label).split()) & names:
                return box
        for t in texts:
            if set(norm(t.label).split()) & names and len(norm(t.label).split()) <= 4:
                box = labelled(t.box)
                if box is not None:
                    return box
    for box, value in zip(fields, field_values):
        if DATE_SHAPE.search(value or ""):
            return box
    return None


SUBMIT_LABELS = ("submit",)


def submit_button(elements: Sequence[Element]) -> Element | None:
    """The form's one button labelled Submit (None when there is none, or several: which one would be a guess)."""
    hits = [e for e in elements if e.kind == "button" and norm(e.label) in SUBMIT_LABELS]
    return hits[0] if len(hits) == 1 else None


def implied_submit(steps: Sequence[Any], elements: Sequence[Element]) -> bool:
    """Whether a plan (agents/plan.py's steps) filled in a form (typed into a field, perhaps ticked boxes) and never
    said how to send it (no key, no click on anything but boxes), while the form's one Submit button is in sight:
    a form is sent with its Submit button, and values set but never sent are a task left half done. Things moved
    with the pointer (a drag step) are set like typed values: the page reads where they lie when it is sent."""
    return unsent(steps) and submit_button(elements) is not None


def unsent(steps: Sequence[Any], ops: tuple[str, ...] = ("type", "drag", "format")) -> bool:
    """Whether a plan set values (typed, dragged, text styled in an editor: ops) and never said how to send them
    (see `implied_submit`)."""
    filled = any(s.op in ops for s in steps)  # (ticking a box alone may be all that was asked)
    sent = any(s.op in ("key", "close") or (s.op == "click" and not (s.kinds and s.kinds[0] in ("checkbox", "radio")))
               for s in steps)
    return filled and not sent
