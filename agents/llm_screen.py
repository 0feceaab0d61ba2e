"""What the LLM policy shows the model of a screen: which grounded elements get a mark (`select_elements`) and one
line per mark (`describe`), with the state each widget shows in words and what is new since the model's previous
decision (`fresh`).

Why a module of its own: the model knows the screen only through these lines, so what they say (and leave out) is
the fallback's eyesight; agents/llm_policy.py decides what to do with the answer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from omnirt.agents.grounding import Element, fold, norm
from omnirt.agents.llm_answers import KIND_PRIORITY, clip, mark_numbers

TEXT_KINDS = ("word", "line", "link", "button")  # their text says what they are; anything else also gets a position
CARRIERS = ("checkbox", "radio", "input", "textarea", "dropdown")  # controls whose label is the text beside them


def select_elements(elements: Sequence[Element], cap: int, instruction: str = "") -> dict[int, Element]:
    """The marked elements shown to the model. A plain word inside a text line is left out (the line carries it)
    unless the instruction names it; then at most `cap`, controls before links before lines before words, kept in
    reading order. Prompt tokens are the cost on a CPU: a paragraph would otherwise appear twice. A word or line that
    only repeats the label of a check box, radio or field is left out too: the control carries it, and the 0.5B model
    clicked the bare word as often as the box (two numbers for one choice)."""
    marks = mark_numbers(elements)
    lines = [e.box for e in elements if e.kind == "line"]
    asked = set(norm(instruction).split())
    carried = {norm(e.label) for e in elements if e.kind in CARRIERS and e.label.strip()}

    def covered(e: Element) -> bool:
        cx, cy = e.center
        return any(b[0] <= cx < b[2] and b[1] <= cy < b[3] for b in lines)

    marks = {n: e for n, e in marks.items()
             if not (e.kind == "word" and covered(e) and not (set(norm(e.label).split()) & asked))
             and not (e.kind in ("word", "line") and norm(e.label) in carried)}
    if len(marks) <= cap:
        return marks
    order = sorted(marks, key=lambda n: (KIND_PRIORITY.get(marks[n].kind, 0), n))[:cap]
    return {n: marks[n] for n in sorted(order)}


def by_look(shown: dict[int, Element], frame: Any) -> dict[int, Element]:
    """The marks, each icon or button without text labelled with the icon its pixels look like ('trash', 'star';
    agents/icons.py), so that "the trash icon" names one. Shown as '1st icon', '2nd icon', such icons were clicked by
    number at random (DEV, email pages, 1.5B: four icons in six calls, none the one named). frame: (rgb, area)."""
    if frame is None:
        return shown
    from omnirt.agents import icons

    out = dict(shown)
    for n, e in shown.items():
        name = icons.look_name(frame[0], e.box) if e.kind in ("icon", "button") and not e.label.strip() else None
        out[n] = replace(e, label=name) if name else e
    return out


def named_icons(shown: dict[int, Element], elements: Sequence[Element], frame: Any,
                instruction: str) -> dict[int, Element]:
    """The marks, plus each icon the task names ("delete it", "the star icon") that no mark carries yet: the element
    or the ink blob that looks most like it (agents/icons.py `find`), labelled with its shape. The grounding misses
    icons drawn without an outline (an opened email's trash can), and the model, shown none, named the trash anyway:
    8 of the 0.5B model's 10 refused calls on DEV (session 31). Only what the task names is looked for: every blob
    marked as an icon added 'search' and 'star' marks the model clicked instead. frame: (rgb, area)."""
    if frame is None:
        return shown
    from omnirt.agents import icons

    out = dict(shown)
    marks = mark_numbers(elements)
    number = {id(e): n for n, e in marks.items()}
    labels = {fold(e.label) for e in shown.values()}
    fresh_number = max(marks, default=-1) + 1
    for shape in icons.shapes_named_in(instruction):
        if shape in labels or any(fold(name) in labels for name in icons.NAMES[shape]):
            continue  # a word or a look on screen names it already
        hit = icons.find(shape, elements, frame[0], frame[1])
        if hit is None:
            continue
        n = number.get(id(hit))
        if n is None:  # a blob no element holds
            n, fresh_number = fresh_number, fresh_number + 1
        if n in out and out[n].label.strip():
            continue  # a word OCR read on it ('x'): the model can name that
        out[n] = replace(hit, id=f"e{n}", kind="icon", label=shape)
        labels.add(shape)
    return out


# What a widget's value says about its state, in words ('+' is not "collapsed" to a 0.5B model)
STATES = {("checkbox", "checked"): "checked", ("checkbox", ""): "unchecked", ("radio", "checked"): "selected",
          ("radio", ""): "not selected", ("expander", "+"): "collapsed", ("expander", "-"): "expanded",
          ("button", "occluded"): "partly hidden", ("input", ""): "empty", ("textarea", ""): "empty"}


def describe(n: int, e: Element, stand_in: str = "", new: bool = False, later: bool = False) -> str:
    """One prompt line, text first so the id follows the words the model has just written as "target":
    "'Submit' button id=3"; an element without text is named by its place among its kind ("'2nd input' input",
    `ordinal_names`); the position only where there is no text to go by (an icon, a field). Its state in words:
    a field's value or "(empty)", a check box "(checked)" / "(unchecked)", a radio "(selected)" / "(not
    selected)", an expander "(collapsed)" / "(expanded)": without them the model re-ticked boxes and retyped
    filled fields on DEV. "(new)": not on screen at the model's previous decision (what its last step opened).
    "(later)": a click held back until the task's earlier part is done."""
    state = STATES.get((e.kind, e.value))
    value = f" ({state})" if state else (f" value '{clip(e.value)}'" if e.value else "")
    where = f" at ({e.center[0]},{e.center[1]})" if not e.label or e.kind not in TEXT_KINDS else ""
    marks = (" (new)" if new else "") + (" (later)" if later else "")
    return f"'{clip(e.label or stand_in)}' {e.kind}{value}{marks} id={n}{where}"


def identity(e: Element) -> tuple:
    """What makes an element the same one on the next screen: its kind and text, or a text-less one's place."""
    return (e.kind, e.label) if e.label.strip() else (e.kind, e.center[0] // 8, e.center[1] // 8)


def fresh(shown: dict[int, Element], before: set[tuple] | None) -> set[int]:
    """The shown elements that were not on screen at the previous decision: what the last step opened (a list's
    options, a section's text, search results). None on a first screen and on a new page (nothing carried
    over), where every line would say it."""
    if not before:
        return set()
    new = {n for n, e in shown.items() if identity(e) not in before}
    return new if len(new) < len(shown) else set()


def near(p: tuple[int, int], q: tuple[int, int], tol: int = 6) -> bool:
    """The same spot (a control's centre, to within a few pixels): a drop-down that showed its new option was read
    as a field ('1st input' value 'Somalia', no arrow found) and was opened again as a new control on DEV."""
    return abs(p[0] - q[0]) <= tol and abs(p[1] - q[1]) <= tol


def same_spot(banned: set[tuple[str, int]], shown: dict[int, Element]) -> set[tuple[str, int]]:
    """Banned (action, id) pairs plus the same action on elements at the same spot: a word and the line holding it
    are one click under two numbers."""
    def inside(p: tuple[int, int], b: tuple[int, int, int, int]) -> bool:
        return b[0] <= p[0] < b[2] and b[1] <= p[1] < b[3]

    out = set(banned)
    for action, i in banned:
        if i in shown:
            el = shown[i]
            out |= {(action, n) for n, e in shown.items() if inside(e.center, el.box) or inside(el.center, e.box)}
    return out
