"""What the LLM policy shows the model of a screen: which grounded elements get a mark (`select_elements`) and one
line per mark (`describe`), with the state each widget shows in words and what is new since the model's previous
decision (`fresh`).

Why a module of its own: the model knows the screen only through these lines, so what they say (and leave out) is
the fallback's eyesight; agents/llm_policy.py decides what to do with the answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from omnirt.agents.elements import point_in_box
from omnirt.agents.grounding import Element, fold, norm
from omnirt.agents.llm_answers import KIND_PRIORITY, clip, mark_numbers
from omnirt.agents.phrases import ORDINAL_RE

TEXT_KINDS = ("word", "line", "link", "button")  # their text says what they are; anything else also gets a position
CARRIERS = ("checkbox", "radio", "input", "textarea", "dropdown")  # controls whose label is the text beside them


def select_elements(elements: Sequence[Element], cap: int, instruction: str = "") -> dict[int, Element]:
    """The marked elements shown to the model. A plain word inside a text line is left out (the line carries it)
    unless the instruction names it; then at most `cap`, controls before links before lines before words, kept in
    reading order. Prompt tokens are the cost on a CPU: a paragraph would otherwise appear twice. A word or line that
    only repeats the label of a check box, radio or field is left out too: the control carries it, and the 0.5B model
    clicked the bare word as often as the box (two numbers for one choice); so are the words of such a line, even
    where the task says them: "Select 5 with the spinner" kept 'Select' of the field's label "Select a value:", and
    the model clicked that word instead of the field (DEV)."""
    marks = mark_numbers(elements)
    carried = {norm(e.label) for e in elements if e.kind in CARRIERS and e.label.strip()}
    lines = [e.box for e in elements if e.kind == "line"]
    labels = [e.box for e in elements if e.kind == "line" and norm(e.label) in carried]
    asked = set(norm(instruction).split())

    def covered(e: Element, boxes: list) -> bool:
        cx, cy = e.center
        return any(b[0] <= cx < b[2] and b[1] <= cy < b[3] for b in boxes)

    marks = {n: e for n, e in marks.items()
             if not (e.kind == "word" and covered(e, lines) and not (set(norm(e.label).split()) & asked))
             and not (e.kind in ("word", "line") and norm(e.label) in carried)
             and not (e.kind == "word" and covered(e, labels))}
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


DATE_TEXT = re.compile(r"(?:[md]{1,2}|y{2,4}|\d{1,4})([/.-])(?:[md]{1,2}|\d{1,2})\1(?:y{2,4}|[md]{1,2}|\d{2,4})", re.I)


def as_fields(shown: dict[int, Element], frame: Any) -> dict[int, Element]:
    """The marks, each 'dropdown' showing a date or a date's pattern ('mm/dd/yyyy'), with no down arrow at its right
    end (`pixels.has_caret`) on a light face, shown as the field it is, its text as the value: a date field drawn
    with a calendar glyph is a dropdown to the widget detector, and the model, told so, pressed 'down' at it and
    clicked it (DEV, both models) instead of typing the date. Only the model's view changes: the rules read such a
    field as a list on purpose (agents/step_grounding.py). The date's text is asked for too: the arrow of a real
    drop-down (a select showing 'Mayotte') was not found either, and shown as a field it was clicked and never
    opened (DEV). frame: (rgb, area)."""
    from omnirt.agents.elements import light_interior
    from omnirt.agents.pixels import has_caret

    out = dict(shown)
    for n, e in shown.items():
        if e.kind == "dropdown" and DATE_TEXT.fullmatch((e.value or e.label).strip()) and \
                frame is not None and light_interior(frame[0], e.box) and has_caret(frame[0], e.box) is None:
            out[n] = replace(e, kind="input", label="", value=e.value or e.label)
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


SPIN = re.compile(r"(?:^|\s)(-?[\w.]+)\s+(?:with|using|via|in|on)\s+the\s+(?:[\w-]+\s+)?"
                  r"(?:spinner|spin\s?box|number\s+(?:field|input|box))\b", re.I)


def set_by_typing(answer: Any, shown: dict[int, Element], task: str) -> tuple[Any, list]:
    """(the answer, the actions after its click) when it clicks a field and the task gives that kind of field's
    value ("Select 5 with the spinner"): a spinner is a field with arrows; from a number it shows to the one asked,
    its arrow keys step it (as the rules do: typed after ctrl+a, the 0.5B run's "5" left the field empty on DEV),
    else the value is typed over what it shows. The 0.5B model, told "Select", clicked the field twice and never
    typed (DEV). Else (the answer, [])."""
    from omnirt.agents.actions import MAX_PRESSES, Hotkey, Type
    from omnirt.agents.llm_answers import FIELD_KINDS, extract_json
    from omnirt.agents.phrases import integer

    data = extract_json(answer) if isinstance(answer, str) else answer
    m = SPIN.search(task)
    el = shown.get(data.get("id", -1)) if isinstance(data, dict) and data.get("action") == "click" else None
    if m is None or el is None or el.kind not in FIELD_KINDS or el.value.strip() == m.group(1):
        return answer, []
    want, have = integer(m.group(1)), integer(el.value)
    if want is not None and have is not None and 0 < abs(want - have) <= MAX_PRESSES:
        return answer, [Hotkey(keys=["up" if want > have else "down"], presses=abs(want - have))]
    return {**data, "action": "type", "text": m.group(1)}, [Hotkey(keys=["ctrl", "a"]), Type(text=m.group(1))]


def adds_to_selection(el: Element, task: str, picked: Sequence[tuple[int, str]]) -> bool:
    """Whether a click on `el` adds an option to a list box's selection (ctrl held) instead of replacing it: a plain
    text the task names, in the column (the same left edge, within 8 px) of another text the task names that was
    clicked before this episode (`picked`: (left edge, folded text)). Clicked plainly, "Select Brazil, Mauritania
    from the scroll list" left only Mauritania selected (DEV, 1.5B). Only plain texts: ctrl on a link opens a tab."""
    me = fold(el.label)
    if el.kind not in ("word", "line") or not me or f" {me} " not in f" {fold(task)} ":
        return False
    return any(abs(x - el.box[0]) <= 8 and text != me for x, text in picked)


_PLACE = re.compile(ORDINAL_RE.pattern + r"(?:\s+[a-z-]+){1,3}", re.I)  # an ordinal and the words after it


@dataclass
class Counted:
    """What the task's "the 5th search result" is on this screen: notes (mark -> the task's words) for the one it
    names, or for the pager when this page holds fewer (`pager`, its mark; `turn`, the click on its next control,
    which a pager read as one word '123>' has at its right end, not its centre; `count`: the items this page holds,
    counted on from on the next)."""

    notes: dict[int, str]
    pager: int | None = None
    turn: Any = None
    count: int = 0
    others: frozenset[int] = frozenset()  # the marks of the other items counted here (not the one named)


def counted_marks(shown: dict[int, Element], elements: Sequence[Element], instruction: str,
                  before: int = 0) -> Counted:
    """The element an ordinal of the task names ("the 5th search result", "the 2nd link"), counted as the rules
    count it (agents/everyday.py `counted`: no pager numbers, no web addresses) after `before` counted on earlier
    pages. Why: the model cannot count lines; told "find and click the 5th search result" it clicked the 2nd
    (DEV, both models). Controls without text are named by place already (`ordinal_names`)."""
    from omnirt.agents.everyday import counted, next_page
    from omnirt.agents.grounding import nth
    from omnirt.agents.phrases import positional

    number = {id(e): n for n, e in mark_numbers(elements).items()}
    for m in _PLACE.finditer(instruction):
        words = m.group(0).split()
        for k in range(len(words), 1, -1):  # the longest "ordinal + kind noun" ("5th search result")
            place = positional(" ".join(words[:k]))
            if place is None or not place[2] or place[1] is None:
                continue
            _, n, kinds = place
            pool = next((p for kind in kinds for p in [counted(elements, [kind])] if p), [])
            want = n if n < 0 else n - before
            hit = nth(pool, want) if want >= 1 or want == -1 else None
            said = " ".join(words[:k]).rstrip(".,;")
            if hit is not None and number.get(id(hit)) in shown and hit.label.strip():
                return Counted({number[id(hit)]: f"the {said}"}, count=len(pool), others=frozenset(
                    number[id(e)] for e in pool if e is not hit and id(e) in number))
            turn = next_page(elements) if pool and n > before + len(pool) else None
            at = None if turn is None else next((number.get(id(e)) for e in elements if e.id == turn.element or (
                turn.x is not None and point_in_box((turn.x, turn.y), e.box))), None)
            if at in shown:
                return Counted({at: f"next page: the {said} is further on"}, at, turn, len(pool),
                               frozenset(number[id(e)] for e in pool if id(e) in number))
            break
    return Counted({})


def placed(answer: Any, place: Counted, shown: dict[int, Element]) -> tuple[Any, bool]:
    """(the answer, whether it chose what `counted_marks` noted): its target becomes that element when it repeats
    the task's words for it ("5th search result") or says "next page" for the pager, words no label shows (refused
    as naming nothing, else), or when it chose another of the items counted: shown "(next page: the 5th search
    result is further on)" on the pager, the 0.5B model still clicked the 1st result (DEV). An answer choosing a
    noted mark by its number stands as it is."""
    from omnirt.agents.llm_answers import extract_json, naming

    data = extract_json(answer) if isinstance(answer, str) else answer
    if not isinstance(data, dict) or data.get("action") != "click":
        return answer, False
    target = str(data.get("target", ""))
    hits = [n for n, said in place.notes.items()
            if target and naming(target, "next page" if n == place.pager else said[4:]) >= 1]
    if not hits and data.get("id") in place.others and len(place.notes) == 1:
        hits = list(place.notes)  # another item of those counted: not the one the task's ordinal names (0.5B, DEV)
    if hits:
        return {**data, "target": shown[hits[0]].label, "id": hits[0]}, True
    return answer, data.get("id") in place.notes


# What a widget's value says about its state, in words ('+' is not "collapsed" to a 0.5B model)
STATES = {("checkbox", "checked"): "checked", ("checkbox", ""): "unchecked", ("radio", "checked"): "selected",
          ("radio", ""): "not selected", ("expander", "+"): "collapsed", ("expander", "-"): "expanded",
          ("button", "occluded"): "partly hidden", ("input", ""): "empty", ("textarea", ""): "empty"}


def describe(n: int, e: Element, stand_in: str = "", new: bool = False, later: bool = False, note: str = "") -> str:
    """One prompt line, text first so the id follows the words the model has just written as "target":
    "'Submit' button id=3"; an element without text is named by its place among its kind ("'2nd input' input",
    `ordinal_names`); the position only where there is no text to go by (an icon, a field). Its state in words:
    a field's value or "(empty)", a check box "(checked)" / "(unchecked)", a radio "(selected)" / "(not
    selected)", an expander "(collapsed)" / "(expanded)": without them the model re-ticked boxes and retyped
    filled fields on DEV. "(new)": not on screen at the model's previous decision (what its last step opened).
    "(later)": a click held back until the task's earlier part is done. `note`: what the task calls it
    ("the 5th search result", `counted_marks`)."""
    state = STATES.get((e.kind, e.value))
    value = f" ({state})" if state else (f" value '{clip(e.value)}'" if e.value else "")
    where = f" at ({e.center[0]},{e.center[1]})" if not e.label or e.kind not in TEXT_KINDS else ""
    marks = (" (new)" if new else "") + (" (later)" if later else "") + (f" ({note})" if note else "")
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


CARET = "|Il!1"  # a field's blinking caret, as OCR reads it at the end of the value (or not, a moment later)


def alike(a: Sequence[tuple], b: Sequence[tuple]) -> bool:
    """Whether two screens (`_signature`s: (kind, label, value, box) per element) differ only by what blinks: a
    field's value with or without a caret at its end, boxes a few pixels off, one small mark seen on one and not
    the other (the caret read as a word of its own). After a click, such a screen is the same screen: the click
    changed nothing. The LLM clicked one suggestion of a field six times, each screen a little different (DEV)."""
    def same(e: tuple, f: tuple) -> bool:
        fields = e[0] in ("input", "textarea")
        return e[:2] == f[:2] and ((e[2].rstrip(CARET).rstrip() == f[2].rstrip(CARET).rstrip()) if fields
                                   else e[2] == f[2]) and max(abs(u - v) for u, v in zip(e[3], f[3])) <= 3

    def small(e: tuple) -> bool:
        box = e[3]
        return len(e[1].strip()) <= 1 or (box[2] - box[0]) * (box[3] - box[1]) <= 400

    only_a = [e for e in a if not any(same(e, f) for f in b)]
    only_b = [f for f in b if not any(same(e, f) for e in a)]
    return len(only_a) + len(only_b) <= 1 and all(small(e) for e in only_a + only_b)


def near(p: tuple[int, int], q: tuple[int, int], tol: int = 6) -> bool:
    """The same spot (a control's centre, to within a few pixels): a drop-down that showed its new option was read
    as a field ('1st input' value 'Somalia', no arrow found) and was opened again as a new control on DEV."""
    return abs(p[0] - q[0]) <= tol and abs(p[1] - q[1]) <= tol


def same_spot(banned: set[tuple[str, int]], shown: dict[int, Element]) -> set[tuple[str, int]]:
    """Banned (action, id) pairs plus the same action on elements at the same spot: a word and the line holding it
    are one click under two numbers."""
    out = set(banned)
    for action, i in banned:
        if i in shown:
            el = shown[i]
            out |= {(action, n) for n, e in shown.items() if point_in_box(e.center, el.box)
                    or point_in_box(el.center, e.box)}
    return out


LOOK_NOTCHES = 3  # one look below: a few lines of a list, not past what is sought


def look_below(text: str, shown: dict[int, Element], taken: set[str]) -> tuple | None:
    """A target no element shows may be out of view (a long list, a page below the fold): scroll down once on this
    screen at the element the model pointed to, which is most often in the same list or pane, instead of asking
    again (a re-ask answered the same). (actions, note, data, key) as the policy takes an answer; None when that
    scroll was already taken on this screen."""
    from omnirt.agents.actions import Scroll
    from omnirt.agents.llm_answers import extract_json

    data = extract_json(text)
    n = data["id"]
    key = json.dumps({"action": "scroll", "id": n}, sort_keys=True)
    if key in taken or any('"scroll"' in k for k in taken):
        return None
    el = shown[n]
    note = f"scrolled down at '{clip(el.label)}' {el.kind} looking for '{clip(str(data.get('target', '')))}'"
    return [Scroll(x=el.center[0], y=el.center[1], amount=-LOOK_NOTCHES)], note, {"action": "scroll", "id": n}, key


TO_END = 20  # wheel notches: to a text box's end, in one gesture (the page is not scrolled on after it)
SCROLL_ASKED = re.compile(r"\bscroll(?:s|ed|ing)?\b(?:\W+\w+){0,4}?\W+(up|top|down|bottom|end)\b", re.I)


def scroll_asked(text: str, shown: dict[int, Element], notes: list[str]) -> tuple | None:
    """A click whose step says to scroll ("Scroll to the bottom of the textarea") is a scroll at the element it names,
    to the end the step says (the wheel over a text box or list scrolls it): the answer format has no scroll action,
    and the 0.5B model clicked the text box, which changed nothing (neither suite's tasks). Once per element and
    direction an episode (`notes`: the steps taken), so that a screen already scrolled there is clicked as asked.
    (actions, note, data, key) as the policy takes an answer; None when the step asks no scroll."""
    from omnirt.agents.actions import InvalidAction, Scroll
    from omnirt.agents.llm_answers import extract_json

    try:
        data = extract_json(text)
    except InvalidAction:
        return None  # the validator says why
    if not isinstance(data, dict):
        return None
    found = SCROLL_ASKED.search(str(data.get("step", "")))
    n = data.get("id")
    if found is None or data.get("action") != "click" or n not in shown:
        return None
    el, up = shown[n], found.group(1).lower() in ("up", "top")
    head = f"scrolled {'up' if up else 'down'} to the {'top' if up else 'end'} of the {el.kind}"
    if any(s.startswith(head) for s in notes):  # its text has changed with the scroll
        return None
    note = f"{head} '{clip(el.label)}'"
    key = json.dumps({"action": "scroll", "id": n, "up": up}, sort_keys=True)
    amount = TO_END if up else -TO_END
    return [Scroll(x=el.center[0], y=el.center[1], amount=amount)], note, {"action": "scroll", "id": n}, key
