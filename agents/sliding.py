"""A value set with a slider ("Select 5 with the slider", "set the slider to -3"): its knob is clicked (a click on the
knob moves no value) and stepped by its arrow keys, the number the slider shows beside it read after each round
until it is the one asked for. Read from layout only: a slider is a long thin bar (seen as a field, a button or a
slider) with a small square knob on or against it, lying along it; its value is the number nearest to the two.
Right/Up step a slider up and Left/Down step it down in every toolkit the author knows of (jQuery UI, HTML range
inputs, GTK, Tk), horizontal or vertical.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from omnirt.agents.actions import MAX_PRESSES, Click, Done, Hotkey
from omnirt.agents.elements import Element
from omnirt.agents.phrases import integer

OPS = ("slide",)
BAR_KINDS = ("slider", "input", "button", "textarea", "dropdown", "icon")
KNOB_KINDS = ("slider", "checkbox", "radio", "button", "icon", "input")
MAX_ROUNDS = 8  # rounds of key presses (a round is at most MAX_PRESSES): a far value takes several
NEAR_PX = 80  # how far from the slider its shown value may be
PLACE_PX = 12  # how far a value may grow or move from where it was first read ("-9" -> "10")


def _size(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return box[2] - box[0], box[3] - box[1]


def _bar(e: Element) -> bool:
    w, h = _size(e.box)
    return e.kind in BAR_KINDS and not e.label and min(w, h) <= 32 and max(w, h) >= 3 * max(min(w, h), 1)


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
    one nearest the text "Volume"); the knob may be None (a bar the detector named a slider, or a bar with a number
    beside it: its middle is clicked then, and the value read after the click)."""
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
    if not pairs:
        return None, None
    return _named(pairs, name, elements) if name and len(pairs) > 1 else pairs[0]


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


def apart(elements: Sequence[Element], watch: Any) -> list[Element]:
    """The elements but those on a slider set earlier or on its value: a focused knob may be read as a checkbox or
    a number, a lone digit as a ticked box, and neither is a target of a later step."""
    if watch.slider is None:
        return list(elements)
    boxes = [(b[0] - 4, b[1] - 4, b[2] + 4, b[3] + 4) for b in (watch.slider.box, watch.slider.value_at) if b]
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
        bar, knob = parts(elements, getattr(step, "target", "") or "")
        if bar is None or want is None:
            return None
        place = readout(bar, knob, elements)
        watch.slider = Slider(bar.box, place.box if place is not None else None)
        target = knob or bar
        return Click(x=target.center[0], y=target.center[1])
    if state.value_at is None:
        return Done(success=False, summary=f"cannot set the slider to {want}: it shows no number to read")
    have = number_at(state.value_at, elements)
    have = state.expect if have is None else have  # a lone digit OCR missed: one press is one step
    if have is None:
        return None
    if have == want:
        return SKIP
    if state.rounds >= MAX_ROUNDS:
        return Done(success=False, summary=f"the slider shows {have} after {MAX_ROUNDS} rounds of keys, not {want}")
    presses = min(abs(want - have), MAX_PRESSES)
    state.rounds, state.expect = state.rounds + 1, have + (presses if want > have else -presses)
    return Hotkey(keys=["right" if want > have else "left"], presses=presses)
