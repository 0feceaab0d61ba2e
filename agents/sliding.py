"""A value set with a slider ("Select 5 with the slider", "set the slider to -3"): its knob is clicked (a click on the
knob moves no value) and stepped by its arrow keys, the number the slider shows beside it read after each round
until it is the one asked for. Read from layout only: a slider is a long thin bar (seen as a field, a button or a
slider) with a small square knob on or against it, lying along it; its value is the number nearest to the two.
Right/Up step a slider up and Left/Down step it down in every toolkit the author knows of (jQuery UI, HTML range
inputs, GTK, Tk), horizontal or vertical.

Of several sliders, one is named by a label beside it ("the volume slider"), by its place ("the 2nd slider", "the
left / middle / bottom slider", counted in reading order), or all in turn ("set the sliders to [10, 18, 15]", "to
3, 5 and 7": the first value to the first slider in reading order). Each shows its own number: the one on the same
side of every slider (below each, or right of each), so that a number between two stacked sliders goes with the one
whose side it is on, not with the nearer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from omnirt.agents.actions import MAX_PRESSES, Click, Done, Hotkey
from omnirt.agents.elements import Element
from omnirt.agents.phrases import integer, ordinal

OPS = ("slide",)
BAR_KINDS = ("slider", "input", "button", "textarea", "dropdown", "icon")
KNOB_KINDS = ("slider", "checkbox", "radio", "button", "icon", "input")
MAX_ROUNDS = 8  # rounds of key presses (a round is at most MAX_PRESSES): a far value takes several
NEAR_PX = 80  # how far from the slider its shown value may be
PLACE_PX = 12  # how far a value may grow or move from where it was first read ("-9" -> "10")
LAYOUT_LOOKS = 2  # screens a list of values waits for every slider and its number to be read
ROW_PX = 16  # sliders whose centres are this close in height are on one row (read left to right)
PLACES = {"left": 1, "leftmost": 1, "top": 1, "topmost": 1, "upper": 1, "right": -1, "rightmost": -1, "bottom": -1,
          "lower": -1, "bottommost": -1, "last": -1, "middle": 0, "center": 0, "centre": 0, "central": 0}
VALUES_RE = re.compile(r"^(?:the\s+)?(?:(?:combination|values?|numbers?|positions?|settings?)\s+(?:of\s+)?)?[\[(]?\s*"
                       r"(-?\d+(?:\s*(?:,|;|and|,\s*and)\s*-?\d+)+)\s*[\])]?\s*(?:respectively)?$", re.I)


def requests(widget: str, value: str) -> list[tuple[str, str]] | None:
    """What "set the <widget> to <value>" asks of sliders, as [(which slider, value)]: 'volume slider', '7' ->
    [('volume', '7')]; 'sliders', 'the combination [10,18,15]' -> [('1st of 3', '10'), ('2nd of 3', '18'), ...];
    None when a value is no number (or the widget no slider)."""
    words = widget.lower().split()
    if words[-1:] == ["sliders"]:
        m = VALUES_RE.match(value.strip(" .!"))
        values = re.findall(r"-?\d+", m.group(1)) if m else []
        return [(f"{_nth(i + 1)} of {len(values)}", v) for i, v in enumerate(values)] or None
    if words[-1:] != ["slider"] or integer(value) is None:
        return None
    return [(" ".join(w for w in words if w not in ("the", "a", "an", "slider")), value.strip())]


def _nth(i: int) -> str:
    return f"{i}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(i if i < 20 else i % 10, 'th')}"


def place(name: str) -> int | None:
    """Which slider a name counts to: '2nd' -> 2, 'left' / 'top' -> 1, 'last' / 'right' -> -1, 'middle' -> 0;
    '2nd of 3' -> 2 (of the sliders a list of values is for); None for a label ("volume")."""
    words = re.sub(r"\s+of\s+\d+$", "", name.lower()).split()
    if len(words) == 1 and words[0] in PLACES:
        return PLACES[words[0]]
    return ordinal(name) if len(words) == 1 else None


def in_reading_order(pairs: list) -> list:
    """(bar, knob) pairs in reading order: rows top to bottom (centres within ROW_PX), each left to right."""
    pairs = sorted(pairs, key=lambda p: p[0].center[1])
    rows: list[list] = []
    for p in pairs:
        if rows and abs(p[0].center[1] - rows[-1][0][0].center[1]) <= ROW_PX:
            rows[-1].append(p)
        else:
            rows.append([p])
    return [p for row in rows for p in sorted(row, key=lambda p: p[0].center[0])]


def _size(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return box[2] - box[0], box[3] - box[1]


def _bar(e: Element) -> bool:
    """A long thin box with no words (a number is no name: the grounding may give a bar the value beside it)."""
    w, h = _size(e.box)
    return e.kind in BAR_KINDS and (not e.label or integer(e.label) is not None) and min(w, h) <= 32 and \
        max(w, h) >= 3 * max(min(w, h), 1)


def _knob(e: Element) -> bool:
    w, h = _size(e.box)
    # (a checkbox's or radio's label is the text beside it, such as the slider's value: no text of its own)
    return e.kind in KNOB_KINDS and (not e.label or e.kind in ("checkbox", "radio")) and 6 <= min(w, h) and \
        max(w, h) <= 44 and max(w, h) <= 1.7 * min(w, h)


def _on(knob: Element, bar: Element) -> bool:
    """Whether the knob lies on the bar or against one of its ends, across its middle."""
    (kx, ky), (w, h) = knob.center, _size(bar.box)
    kw, kh = _size(knob.box)
    if w >= h:  # horizontal
        return bar.box[1] - 4 <= ky <= bar.box[3] + 4 and bar.box[0] - kw <= kx <= bar.box[2] + kw
    return bar.box[0] - 4 <= kx <= bar.box[2] + 4 and bar.box[1] - kh <= ky <= bar.box[3] + kh


def parts(elements: Sequence[Element], name: str = "") -> tuple[Element | None, Element | None]:
    """(bar, knob) of the slider in sight (of several, the one whose label is `name`: "the volume slider" is the
    one nearest the text "Volume"; or its place, "2nd", "left"); the knob may be None (a bar the detector named a
    slider, or a bar with a number beside it: its middle is clicked then, and the value read after the click)."""
    pairs = sliders(elements)
    if not pairs:
        return None, None
    at = place(name) if name else None
    if at is not None:  # by place: counted in reading order (a place past the sliders in sight: none)
        k = _index(at, len(pairs))
        return in_reading_order(pairs)[k] if k is not None else (None, None)
    return _named(pairs, name, elements) if name and len(pairs) > 1 else pairs[0]


def sliders(elements: Sequence[Element]) -> list[tuple[Element, Element | None]]:
    """Every slider in sight as (bar, knob); see `parts`."""
    bars = sorted((e for e in elements if _bar(e) or e.kind == "slider"), key=lambda e: e.kind != "slider")
    pairs: list[tuple[Element, Element | None]] = []
    for bar in bars:
        knobs = [k for k in elements if k is not bar and _knob(k) and _on(k, bar)]
        if knobs:
            knob = min(knobs, key=lambda k: abs(k.center[0] - bar.center[0]) + abs(k.center[1] - bar.center[1]))
            whole = [b.box for b in bars if _on(knob, b)]  # the bar may be read as two, one each side of the knob
            box = (min(b[0] for b in whole), min(b[1] for b in whole), max(b[2] for b in whole),
                   max(b[3] for b in whole))
            if not any(p[1] is knob for p in pairs):
                pairs.append((replace(bar, box=box), knob))
    if not pairs:
        pairs = [(b, None) for b in bars if b.kind == "slider"]
    if not pairs:  # no knob told apart (at an end it may be read into the bar): a bar with a number beside it
        shown = sorted(((_gap(v.box, b.box), b) for b in bars if (v := readout(b, None, elements)) is not None),
                       key=lambda gb: gb[0])
        pairs = [(b, None) for _, b in shown]
    return pairs


def _named(pairs: list[tuple[Element, Element | None]], name: str,
           elements: Sequence[Element]) -> tuple[Element, Element | None]:
    """Of several sliders, the one nearest the text that names it (the first when no text does)."""
    from omnirt.agents.grounding import match

    label = match(name, [e for e in elements if e.kind in ("word", "line", "link") and e.label
                         and integer(e.label) is None])
    if label is None:
        return pairs[0]
    return min(pairs, key=lambda p: _gap(label.box, p[0].box if p[1] is None else _union(p[0].box, p[1].box)))


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    return max(a[0] - b[2], b[0] - a[2], 0) + max(a[1] - b[3], b[1] - a[3], 0)


def readout(bar: Element, knob: Element | None, elements: Sequence[Element]) -> Element | None:
    """The number shown nearest to the slider (its value), or None when none is near."""
    box = bar.box if knob is None else _union(bar.box, knob.box)
    near = [(_gap(e.box, box), e) for e in elements if e.kind in ("word", "line", "icon", "cell")
            and integer(e.label) is not None]
    near = [(d, e) for d, e in near if d <= NEAR_PX and (knob is None or _gap(e.box, knob.box) > 0)]
    return min(near, key=lambda de: de[0])[1] if near else None


SIDES = {  # where a slider's number may stand: (number's centre, slider's box) -> on that side
    "below": lambda c, b: c[1] > b[3] - 2 and b[0] - 20 <= c[0] <= b[2] + 20,
    "right": lambda c, b: c[0] > b[2] - 2 and b[1] - 12 <= c[1] <= b[3] + 12,
    "above": lambda c, b: c[1] < b[1] + 2 and b[0] - 20 <= c[0] <= b[2] + 20,
    "left": lambda c, b: c[0] < b[0] + 2 and b[1] - 12 <= c[1] <= b[3] + 12,
}


def own_readout(bar: Element, knob: Element | None, elements: Sequence[Element]) -> Element | None:
    """The number that shows this slider's value when several sliders are in sight: each slider's number is on
    the same side of it (one number each), the side that gives the most sliders a number of their own, the nearest
    in all of a tie; None when that side shows this slider none (a lone digit OCR missed: the nearest number
    would be a neighbour's). `readout` for one slider."""
    pairs = sliders(elements)
    if len(pairs) < 2:
        return readout(bar, knob, elements)
    knobs = [k.box for _, k in pairs if k is not None]
    numbers = [e for e in elements if e.kind in ("word", "line", "icon", "cell") and integer(e.label) is not None
               and not any(k[0] <= e.center[0] <= k[2] and k[1] <= e.center[1] <= k[3] for k in knobs)]  # (a
    # focused knob may be read as a number; a number just below a knob may touch it)
    best: tuple[tuple[int, int], dict] | None = None
    for on_side in SIDES.values():
        picks: dict = {}
        for b, k in pairs:
            box = b.box if k is None else _union(b.box, k.box)
            near = [(_gap(e.box, box), i) for i, e in enumerate(numbers) if on_side(e.center, box)]
            near = [(d, i) for d, i in near if d <= NEAR_PX]
            if near:
                picks[box] = min(near)
        for box, (d, i) in list(picks.items()):  # a number two sliders claim is the nearer one's
            if any(j == i and e < d for other, (e, j) in picks.items() if other != box):
                del picks[box]
        score = (-len(picks), sum(d for d, _ in picks.values()))
        best = (score, picks) if picks and (best is None or score < best[0]) else best
    box = bar.box if knob is None else _union(bar.box, knob.box)
    hit = best[1].get(box) if best is not None else None
    return numbers[hit[1]] if hit is not None else None


def number_at(place: tuple[int, int, int, int], elements: Sequence[Element]) -> int | None:
    """The number now shown where the value was first read (a focused knob may read as a number of its own)."""
    x0, y0, x1, y1 = place[0] - PLACE_PX, place[1] - PLACE_PX, place[2] + PLACE_PX, place[3] + PLACE_PX
    cx, cy = (place[0] + place[2]) / 2, (place[1] + place[3]) / 2
    found = [(abs(e.center[0] - cx) + abs(e.center[1] - cy), integer(e.label)) for e in elements
             if x0 <= e.center[0] <= x1 and y0 <= e.center[1] <= y1 and e.kind in ("word", "line", "icon", "cell")]
    found = [f for f in found if f[1] is not None]  # the nearest: a knob at the end may be read beside it
    return min(found)[1] if found else None


@dataclass
class Slider:
    """A slide step's progress: rounds of keys so far, where the slider and its value are, the value expected."""

    box: tuple[int, int, int, int]
    value_at: tuple[int, int, int, int] | None
    rounds: int = 0
    expect: int | None = None  # what the last round of keys should have set (read first where it can be)
    at: tuple[int, int] = (0, 0)  # where it is clicked to focus it: its knob, else its bar's middle


def _slider(bar: Element, knob: Element | None, elements: Sequence[Element]) -> Slider:
    shown, target = own_readout(bar, knob, elements), knob or bar
    return Slider(bar.box, shown.box if shown is not None else None, at=target.center)


def by_place(name: str, elements: Sequence[Element], watch: Any) -> Slider | None:
    """The slider a place names ("2nd", "left"), counted in reading order among the sliders of the first screen a
    step looked at them on: a knob once focused may be drawn (and read) otherwise, or a bar lose a part, so a later
    count would be off; a slider not yet set stands where it stood. None: no slider there."""
    if not watch.layout:
        layout = [_slider(bar, knob, elements) for bar, knob in in_reading_order(sliders(elements))]
        m = re.search(r"\bof\s+(\d+)$", name)
        whole = (not m or len(layout) == int(m.group(1))) and all(sl.value_at for sl in layout)
        watch.looks_at_sliders += 1
        if not whole and watch.looks_at_sliders <= LAYOUT_LOOKS:
            return None  # a slider or its number not read (a lone digit, a screen still drawing): read afresh
        watch.layout = layout
    k = _index(place(name) or 0, len(watch.layout))
    return replace(watch.layout[k]) if k is not None else None


def _index(at: int, n: int) -> int | None:
    """Where place `at` (1-based, -1 the last, 0 the middle) is among n things; None past them."""
    k = (n - 1) // 2 if at == 0 else at - 1 if at > 0 else n + at
    return k if 0 <= k < n else None


def apart(elements: Sequence[Element], watch: Any) -> list[Element]:
    """The elements but those on a slider set earlier or on its value: a focused knob may be read as a checkbox or
    a number, a lone digit as a ticked box, and neither is a target of a later step."""
    done = [sl for sl in (*watch.slid, watch.slider) if sl is not None]
    if not done:
        return list(elements)
    boxes = [(b[0] - 4, b[1] - 4, b[2] + 4, b[3] + 4) for sl in done for b in (sl.box, sl.value_at) if b]
    return [e for e in elements if not any(x0 <= e.center[0] <= x1 and y0 <= e.center[1] <= y1
                                           for x0, y0, x1, y1 in boxes)]


def decide(step: Any, elements: Sequence[Element], watch: Any) -> Any:
    """The next action of a slide step (text: the value): the knob's click, a round of arrow keys, SKIP (agents/
    everyday.py's) once the slider shows the value, a failed Done when it cannot be read or reached; None when no
    slider (or, after the click, no reading of its value) is in sight. The slider and the place of its value are
    found before the click: focused, a toolkit may draw it otherwise."""
    from omnirt.agents.everyday import SKIP

    want, state = integer(step.text), watch.slider
    if state is None:  # focus it first: the keys go where the focus is
        name = getattr(step, "target", "") or ""
        state = by_place(name, elements, watch) if place(name) is not None else None
        if state is None and place(name) is None:
            bar, knob = parts(elements, name)
            state = _slider(bar, knob, elements) if bar is not None else None
        if state is None or want is None:
            return None
        watch.slider = state
        return Click(x=state.at[0], y=state.at[1])
    if state.value_at is None:
        return Done(success=False, summary=f"cannot set the slider to {want}: it shows no number to read")
    have = number_at(state.value_at, elements)
    have = state.expect if have is None else have  # a lone digit OCR missed: one press is one step
    if have is None:
        return None
    if have == want:  # this slider is set: a later slide step finds its own
        watch.slid, watch.slider = [*watch.slid, state], None
        return SKIP
    if state.rounds >= MAX_ROUNDS:
        return Done(success=False, summary=f"the slider shows {have} after {MAX_ROUNDS} rounds of keys, not {want}")
    presses = min(abs(want - have), MAX_PRESSES)
    state.rounds, state.expect = state.rounds + 1, have + (presses if want > have else -presses)
    return Hotkey(keys=["right" if want > have else "left"], presses=presses)
