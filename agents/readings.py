"""Instructions that depend on a number the screen shows, not on a label: "Generate a number less than 7, then press
submit", "Roll an even number", "Click Refresh until the count is above 40", "Mark the numbers below as odd or
even", "Click on the numbers in ascending order", "Buy the ticket with the cheapest cost". A label grounding cannot
do these: the target is whichever control the value decides. The parser (agents/plan.py) turns them into steps that
the instruction policy decides by reading the numbers in sight (agents/policies.py):

- until (target: the button to press, text: the condition): press the button, read the number it changed, and press
  again until the number meets the condition (at most MAX_PRESSES times); then the plan goes on. The verb names the
  button when no button is named ("generate a number" -> the Generate button), as a page names a control after what
  it does.
- classify (text: the classes, "odd|even"): every number shown on its own row gets the control on that row whose
  label is the class the number belongs to (a row's controls are the buttons beside its text).
- inorder (text: up or down): the numbers in sight clicked by value, at the places they were first seen (a page
  may hide them after the first click, as a memory game does).
- await (target: the thing watched, text: the condition): "Buy XYZ when the price is less than $53.10" waits,
  looking again every WAIT_S, until the number nearest the text naming the thing ("Stock price:") meets it; then
  the command is done.
- best (target: price, duration or number; text: min or max): the button of the row or card whose price ("$420",
  "420 USD"), duration ("5h 23m", "45 min") or number is the least or the greatest, read from the button's own
  label or from the text above it in its column (a card's details stand over its button).

Conditions are English comparisons: less / fewer / lower / smaller than, below, under, at most, no more than;
greater / more / higher / larger / bigger than, above, over, at least, no less than, reaches; between A and B; odd,
even; equal to / exactly N. A number is read as OCR gives it, with a currency sign or thousands separators dropped.

Only English and widget conventions, nothing about particular pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from omnirt.agents import catching, dragging, formatting, geometry, reckoning, repeating, resizing, scheduling, \
    selecting, shell, sliding
from omnirt.agents.elements import Element, norm

MAX_PRESSES = 8  # presses of an until-step's button before it gives up (a condition the button never meets)
NUMBER = r"[-\u2212+]?\$?\d[\d,]*(?:\.\d+)?"
LESS = r"(?:less|fewer|lower|smaller)\s+than|below|under|at\s+most|no\s+more\s+than|up\s+to"
MORE = r"(?:greater|more|higher|larger|bigger)\s+than|above|over|at\s+least|no\s+less\s+than|reach(?:es)?"
EQUAL = r"equal\s+to|equals|exactly|shows|reads|becomes|is"
COND_RE = re.compile(rf"\b(?P<op>{LESS}|{MORE}|{EQUAL})\s+(?P<n>{NUMBER})\b|\bbetween\s+"
                     rf"(?P<lo>{NUMBER})\s+(?:and|through)\s+(?P<hi>{NUMBER})\b|\b(?P<parity>odd|even)\b", re.I)
# "generate a number less than 7", "roll an even number", "draw a number between 3 and 8": a verb, then an
# (optionally random) number with its condition; "click Next until the count is above 40": an until.
MAKE_RE = re.compile(r"^(?P<verb>[a-z]+)\s+(?:a|an|one|another)\s+(?:new\s+)?(?:random\s+)?(?P<cond>.*?)"
                     r"\s*(?:number|value|integer|digit)\b(?P<after>.*)$", re.I)
UNTIL_RE = re.compile(r"^(?P<act>.+?)\s+(?:until|till|so\s+that)\s+(?P<cond>.+)$", re.I)
CLASSIFY_RE = re.compile(r"^(?:mark|label|classify|tag|sort)\s+(?:each\s+(?:of\s+)?|all\s+(?:of\s+)?|every\s+)?"
                         r"(?:the\s+)?"
                         r"numbers?\b.*?\bas\s+(?:either\s+)?(?:an?\s+)?(\w+)\s+or\s+(?:an?\s+)?(\w+)\b", re.I)
ORDER_RE = re.compile(r"^(?:click|press|tap|select|hit)\s+(?:on\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:numbers|digits|"
                      r"values)\b.*?\b(?:in\s+(?P<way>ascending|descending|increasing|decreasing)\s+order|from\s+"
                      r"(?P<from>smallest|lowest|largest|highest|biggest)\s+to\s+\w+|(?:from\s+(?P<lo>\d+)\s+to\s+"
                      r"(?P<hi>\d+)\s+)?in\s+order\b)", re.I)
# "Buy the ticket with the cheapest cost", "book the shortest flight", "choose the most expensive one": a superlative
# over what the rows or cards show (min or max, of a price, a duration or any number).
LOWEST = r"cheapest|lowest|least\s+expensive|smallest|shortest|fewest|earliest|minimum"
HIGHEST = r"most\s+expensive|priciest|highest|largest|biggest|longest|latest|maximum|greatest"
BEST_RE = re.compile(rf"^(?P<verb>buy|book|choose|pick|select|click|take|order|reserve|get)\s+(?:on\s+)?(?:the|a|an)\s+"
                     rf"(?:.*?\bwith\s+the\s+)?(?P<way>{LOWEST}|{HIGHEST})\b(?P<what>.*)$", re.I)
PRICE_RE = re.compile(r"(?:[$€£]|\bS(?=\d))\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:USD|EUR|GBP)\b")
DURATION_RE = re.compile(r"(?:(\d+)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?|s)?)?)?\b", re.I)
WHEN_RE = re.compile(r"^(?:(?P<act>.+?)\s+(?:when|once|as\s+soon\s+as|whenever)|(?:wait|hold\s+on)\s+(?:until|till|"
                     r"for)|(?P<first>when|once|as\s+soon\s+as))\s+(?P<cond>.+)$", re.I)
WAIT_S = 0.3  # between looks at a number a when-clause waits for
CLASSES = {"odd": lambda n: n % 2 == 1, "even": lambda n: n % 2 == 0,
           "positive": lambda n: n > 0, "negative": lambda n: n < 0}


def number(text: str) -> float | None:
    """'7', '-3', '$45.20', '1,200' -> the number; None for anything else."""
    t = text.strip().replace("\u2212", "-").rstrip(".")
    if not re.fullmatch(NUMBER, t):
        return None
    return float(t.replace("$", "").replace(",", ""))


def condition(text: str) -> str | None:
    """The first comparison said in `text`, as '<7', '>4', '<=5', '>=5', '=3', '3..8', 'odd' or 'even'; None when
    it says none."""
    m = COND_RE.search(text)
    if m is None:
        return None
    if m.group("parity"):
        return m.group("parity").lower()
    if m.group("lo"):
        return f"{number(m.group('lo')):g}..{number(m.group('hi')):g}"
    op, n = re.sub(r"\s+", " ", m.group("op").lower()), f"{number(m.group('n')):g}"
    if op in ("at most", "no more than", "up to"):
        return f"<={n}"
    if op in ("at least", "no less than", "reach", "reaches"):
        return f">={n}"
    if re.fullmatch(EQUAL, op):
        return f"={n}"
    return f"<{n}" if re.fullmatch(LESS, op) else f">{n}"


def holds(cond: str, value: float) -> bool:
    """Whether a number read from the screen meets a condition of `condition`."""
    if cond in CLASSES:
        return value == int(value) and CLASSES[cond](int(value))
    if ".." in cond:
        lo, hi = (float(x) for x in cond.split(".."))
        return lo <= value <= hi
    m = re.fullmatch(r"(<=|>=|<|>|=)(-?[\d.]+)", cond)
    if m is None:
        return False
    n = float(m.group(2))
    return {"<": value < n, ">": value > n, "<=": value <= n, ">=": value >= n, "=": value == n}[m.group(1)]


def repeat_until(clause: str) -> tuple[str, str] | None:
    """(button, condition) for a clause that asks to press a control until a number meets a condition; None for
    any other clause. 'Generate a number less than 7' -> ('generate', '<7'); 'click Refresh until the total is
    above 40' -> ('Refresh', '>40')."""
    text = clause.strip(" .!")
    m = UNTIL_RE.match(text)
    if m:
        cond = condition(m.group("cond"))
        if re.match(r"(?:wait|hold\s+on)\b", m.group("act"), re.I):
            return None  # "wait until ...": nothing to press (a when-clause)
        act = re.sub(r"^(?:keep\s+(?:on\s+)?)?(?:click|press|tap|hit|push)(?:ing)?\s+(?:on\s+)?(?:the\s+)?", "",
                     m.group("act"), flags=re.I)
        act = re.sub(r"\s+(?:button|link|icon)$", "", act, flags=re.I).strip()
        return (act, cond) if cond and act and len(act.split()) <= 3 else None
    m = MAKE_RE.match(text)
    if m is None or m.group("verb").lower() in ("type", "enter", "write", "input", "put", "fill", "click", "select",
                                                "choose", "pick", "find", "mark", "check"):
        return None
    cond = condition(f"{m.group('cond')} {m.group('after')}")
    return (m.group("verb"), cond) if cond else None


def classes(clause: str) -> tuple[str, str] | None:
    """The two classes of 'mark the numbers below as odd or even' (('odd', 'even')); None when the clause asks no
    such marking or a class is not one this module can tell."""
    m = CLASSIFY_RE.match(clause.strip(" .!"))
    if m is None or m.group(1).lower() not in CLASSES or m.group(2).lower() not in CLASSES:
        return None
    return m.group(1).lower(), m.group(2).lower()


def order(clause: str) -> str | None:
    """'Click on the numbers in ascending order' -> 'up'; '... from largest to smallest' -> 'down'; None for other
    clauses."""
    m = ORDER_RE.match(clause.strip(" .!"))
    if m is None:
        return None
    if m.group("lo"):  # "from 5 to 1 in order"
        return "up" if int(m.group("lo")) <= int(m.group("hi")) else "down"
    way = (m.group("way") or m.group("from") or "ascending").lower()  # plain "in order": counting up
    return "up" if way in ("ascending", "increasing", "smallest", "lowest") else "down"


def when(clause: str) -> tuple[str, str, str] | None:
    """(the command, its condition, the thing watched) of 'Buy XYZ stock when the price is less than $53.10' ->
    ('Buy XYZ stock', '<53.1', 'price'); None when the clause sets no condition on a number ('press submit when
    done')."""
    m = WHEN_RE.match(clause.strip(" .!"))
    cond = condition(m.group("cond")) if m else None
    if m is None or cond is None:
        return None
    subject = re.match(r"(?:the\s+|its\s+|a\s+)?(.+?)\s+(?:is|are|gets|goes|falls|drops|rises|reaches|shows|reads)\b",
                       m.group("cond"), re.I)
    return m.group("act") or "", cond, subject.group(1) if subject else ""


def step(clause: str) -> tuple[str, str, str] | None:
    """The parser's reading step for a clause, as (op, target, text); None when the clause asks for none."""
    answer = reckoning.step(clause) or selecting.step(clause) or dragging.step(clause) or resizing.step(clause) or \
        formatting.step(clause) or geometry.step(clause) or repeating.step(clause) or shell.step(clause) or \
        catching.step(clause)  # each module's own kind of request (see its docstring)
    if answer:
        return answer
    until, pair, way = repeat_until(clause), classes(clause), order(clause)
    if until:
        return "until", until[0], until[1]
    if pair:
        return "classify", "", "|".join(pair)
    if way:
        return "inorder", "", way
    top = best(clause)
    return ("best", top[0], top[1]) if top else None


def best(clause: str) -> tuple[str, str] | None:
    """('price' | 'duration' | 'number', 'min' | 'max') for 'buy the ticket with the cheapest cost' and the like;
    None for other clauses."""
    m = BEST_RE.match(clause.strip(" .!"))
    if m is None:
        return None
    way, what = re.sub(r"\s+", " ", m.group("way").lower()), m.group("what").lower()
    side = "min" if re.fullmatch(LOWEST, way) else "max"
    if re.search(r"\b(?:price|cost|fare|fee)\b", what) or way in ("cheapest", "least expensive", "most expensive",
                                                                    "priciest"):
        return "price", side
    if re.search(r"\b(?:duration|time|trip|journey|flight|ride|length)\b", what) or way in ("shortest", "longest"):
        return "duration", side
    return "number", side


def measure(kind: str, text: str) -> float | None:
    """A price, a duration (in minutes: '5h 23m', '2 hours', '45 min') or a number read from a label; None when
    the label shows none."""
    if kind == "price":
        m = PRICE_RE.search(text)
        return float((m.group(1) or m.group(2)).replace(",", "")) if m else None
    if kind == "duration":
        for m in DURATION_RE.finditer(text):
            if m.group(1) or m.group(2):
                return int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
        return None
    found = [number(w) for w in text.split()]
    return next((v for v in found if v is not None), None)


def best_button(elements: Sequence[Element], kind: str, side: str) -> Element | None:
    """The button of the row or card whose value is the least or the greatest: a value in the button's own label
    ("Book for $420"), else the value shown nearest above it in its column (a card's text stands over its button)."""
    buttons = [e for e in elements if e.kind in ("button", "link") and e.label]
    valued: dict[str, float] = {b.id: v for b in buttons if (v := measure(kind, b.label)) is not None}
    for t in (e for e in elements if e.kind in ("word", "line", "cell") and e.label):
        v = measure(kind, t.label)
        below = [b for b in buttons if b.box[1] >= t.box[1] and b.box[0] < t.box[2] and t.box[0] < b.box[2] + 60]
        if v is None or not below:
            continue
        b = min(below, key=lambda b: b.box[1] - t.box[1])
        valued.setdefault(b.id, v)
    if len(valued) < 2:
        return None
    pick = (min if side == "min" else max)(valued, key=lambda i: valued[i])
    return next(b for b in buttons if b.id == pick)


def shown_numbers(elements: Sequence[Element]) -> list[tuple[Element, float]]:
    """The numbers in sight as text (not a button's label, not a field's text), each with its element. A lone bold
    digit the widget detector boxed as an icon is text too (OCR reads it as a number)."""
    out = []
    for e in elements:
        if e.kind in ("word", "line", "cell", "link", "icon") and e.label:
            v = number(e.label)
            if v is not None:
                out.append((e, v))
    return out


def reading(elements: Sequence[Element], near: Element | None, label: bool = False) -> float | None:
    """The number a step watches: the only number in sight, else the one nearest the button that changes it (the
    page shows its result beside the control); with `label`, `near` is the text naming the value ("Stock price:"),
    and its value is the number on its row to its right, else the nearest."""
    found = shown_numbers(elements)
    if not found:
        return None
    if len(found) == 1 or near is None:
        return found[0][1]
    cy = (near.box[1] + near.box[3]) / 2
    row = [f for f in found if label and f[0].box[1] <= cy <= f[0].box[3] and f[0].box[0] >= near.box[0]]
    if row:
        return min(row, key=lambda f: f[0].box[0])[1]

    def gap(e: Element) -> float:
        (ax, ay), (bx, by) = e.center, near.center
        return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5

    return min(found, key=lambda f: gap(f[0]))[1]


def row_marks(elements: Sequence[Element], pair: tuple[str, str]) -> list[Element]:
    """For each number shown on a row with controls named by the classes, the control of the class the number is
    in, top to bottom (a number whose row has no such control is left out)."""
    picks = []
    controls = [e for e in elements if e.kind in ("button", "link", "word", "radio", "checkbox")
                and norm(e.label) in pair]
    for e, v in shown_numbers(elements):
        if v != int(v):
            continue
        cy = (e.box[1] + e.box[3]) / 2
        row = [c for c in controls if c.box[1] <= cy <= c.box[3] and c is not e]
        want = [c for c in row if CLASSES[norm(c.label)](int(v))]
        if want:
            picks.append(min(want, key=lambda c: abs(c.center[0] - e.center[0])))
    return sorted(picks, key=lambda c: (c.box[1], c.box[0]))


def until_button(target: str, elements: Sequence[Element], matcher: Any) -> Element | None:
    """The button an until-step presses: named by its target (a verb names it by its stem: 'generate' ->
    'Generate', 'roll' -> 'Roll dice')."""
    pool = [e for e in elements if e.kind in ("button", "link", "icon") and e.label]
    hit = matcher(target, pool)
    if hit is not None:
        return hit
    stem = norm(target)[:5]
    named = [e for e in pool if any(w.startswith(stem) for w in norm(e.label).split())]
    return named[0] if len(named) == 1 else None


# Modules whose steps decide from the elements and the frame alone, each its own kind of request (see its
# docstring), all as decide(step, elements, watch, rgb); their actions are no plan steps of their own.
FRAME_STEPS = (dragging, formatting, geometry, repeating, shell, scheduling, catching)
_FRAME_OPS = tuple(op for module in FRAME_STEPS for op in module.OPS)
OPS = ("until", "classify", "inorder", "best", "await", *reckoning.OPS, *selecting.OPS, *sliding.OPS,
       *resizing.OPS, *_FRAME_OPS)
ASIDE_OPS = ("until", "classify", "inorder", "count", "ask", "compute", *sliding.OPS, *resizing.OPS, *_FRAME_OPS)


def aside(step: Any, act: Any) -> bool:
    """Whether a reading step's action is no plan step (one step, several clicks): an ASIDE_OPS step's clicks, keys,
    drags and scrolls (best's and point's are steps), and what a console's step types (agents/shell.py)."""
    from omnirt.agents.actions import Click, Drag, Hotkey, Scroll, Type

    return step.op in ASIDE_OPS and isinstance(act, (Click, Hotkey, Drag, Scroll, *(
        (Type,) if step.op in shell.OPS else ())))


@dataclass
class Watch:
    """What an episode's reading steps did so far: presses of the until-button, boxes a classify step clicked."""

    presses: int = 0
    marked: list[tuple[int, int, int, int]] = field(default_factory=list)
    places: list[tuple[int, int]] | None = None  # an in-order step's numbers' places, in the order to click them
    answer: str | None = None  # the value a reckoning step read off the screen (agents/reckoning.py)
    slider: Any = None  # a slide step's progress (agents/sliding.py's Slider)
    slid: list = field(default_factory=list)  # the sliders set by earlier slide steps
    layout: list = field(default_factory=list)  # every slider in reading order, as first seen (by place)
    looks_at_sliders: int = 0  # screens read for that layout
    moves: dict = field(default_factory=dict)  # each drag step's moves and how many are made (agents/dragging.py)


def decide(step: Any, elements: Sequence[Element], watch: Watch, matcher: Any, rgb: Any = None) -> Any:
    """The next action of a reading step: a Click (an exploring press or mark, no plan step of its own), SKIP
    (agents/everyday.py's) when the step is done, a failed Done when the condition was never met, None when the
    step's controls are not in sight."""
    from omnirt.agents.actions import Click, Done, Wait
    from omnirt.agents.everyday import SKIP

    if step.op in reckoning.OPS:
        return reckoning.decide(step, elements, watch, rgb, matcher)
    if step.op in sliding.OPS:
        return sliding.decide(step, elements, watch)
    if step.op in selecting.OPS:  # a paragraph, line or word dragged across (agents/selecting.py)
        return selecting.decide(step, elements)
    if step.op in resizing.OPS:  # a box's grip dragged (agents/resizing.py)
        return resizing.decide(step, elements, watch)
    for module in FRAME_STEPS:  # things moved, text styled, a drawing's point, a lit order, a console, a calendar
        if step.op in module.OPS:
            return module.decide(step, elements, watch, rgb)
    if step.op == "classify":
        picks = [c for c in row_marks(elements, tuple(step.text.split("|")))
                 if not any(abs(c.center[0] - (b[0] + b[2]) / 2) < 8 and abs(c.center[1] - (b[1] + b[3]) / 2) < 8
                            for b in watch.marked)]
        if picks:
            watch.marked.append(picks[0].box)
            return Click(element=picks[0].id)
        return SKIP if watch.marked else None
    if step.op == "inorder":
        return _in_order(step, elements, watch)
    if step.op == "await":  # a when-clause: wait until the number watched meets the condition, then act
        named = [e for e in elements if step.target and e.label and norm(step.target) in norm(e.label)]
        value = number(named[0].label.split()[-1]) if named else None  # "Stock price: $55.40" read as one line
        value = reading(elements, named[0] if named else None, label=True) if value is None else value
        return SKIP if value is not None and holds(step.text, value) else Wait(seconds=WAIT_S)
    if step.op == "best":
        hit = best_button(elements, step.target, step.text)
        return Click(element=hit.id) if hit is not None else None
    button = until_button(step.target, elements, matcher)
    if watch.presses:  # the verb asks for the press: a number shown before it is not the one asked for
        value = reading(elements, button)
        if value is not None and holds(step.text, value):
            return SKIP
    if button is None:
        return None
    if watch.presses >= MAX_PRESSES:
        return Done(success=False, summary=f"pressed {button.label!r} {watch.presses} times; no number met {step.text}")
    watch.presses += 1
    return Click(element=button.id)


def _in_order(step: Any, elements: Sequence[Element], watch: Watch) -> Any:
    """The numbers in sight clicked by their value, where each was seen first: a page may hide a number once the
    first is clicked (so the places are remembered, not read again)."""
    from omnirt.agents.actions import Click
    from omnirt.agents.everyday import SKIP

    if watch.places is None:
        found = shown_numbers(elements)
        if len(found) < 2:
            return None
        found.sort(key=lambda f: f[1], reverse=step.text == "down")
        watch.places = [f[0].center for f in found]
    if len(watch.marked) >= len(watch.places):
        return SKIP
    x, y = watch.places[len(watch.marked)]
    watch.marked.append((x, y, x, y))
    return Click(x=x, y=y)
