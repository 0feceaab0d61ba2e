"""Answers reckoned from what the screen shows, for instructions whose value no label gives:

- count (target: the field, text: what to count): "Type the total number of blocks into the textbox", "enter the
  number of red circles": the objects are counted from the pixels (agents/counting.py), the field is clicked and the
  count typed;
- ask (text: what to count): "How many large red items are there?": a question; the answer is the button or link
  labelled with the count when the page offers numbered choices, else it is typed into the page's field;
- compute (target: the field): "Type the result into the box", "enter the answer": an arithmetic expression the page
  shows as text ("12 + 7 =", "6 x 3") is worked out and typed;
- point (text: "x,y"): "Click on the grid coordinate (-1,2)", "click the point (3, 4)": the axes' tick labels (a row
  of numbers and a column of numbers) map values to pixels, and the click lands on the marker drawn nearest that
  place. Small minus signs are often lost to OCR: an axis whose values fall and rise again along it (2 1 0 1 2) is
  read as running through zero, with the side before the turn negative (left of, or below, the origin).

The typed answers are no plan steps until the typing (the field's click is an exploring click); each op reads the
screen once, when it starts, and keeps its answer. English and drawing conventions only, nothing about any page.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from omnirt.agents import counting
from omnirt.agents.elements import Element
from omnirt.agents.instruction_text import NUMBER_RE, lines_of

OPS = ("count", "ask", "compute", "point")
NUM = NUMBER_RE.pattern  # a number as written, its sign kept
FIELD_KINDS = ("input", "textarea")
COUNT_RE = re.compile(r"^(?:type|enter|write|input|put|fill\s+in)\s+(?:in\s+)?(?:(?:the\s+)?(?:total\s+)?(?:number|"
                      r"count|amount)\s+of|how\s+many)\s+(?P<what>.+?)(?:\s+there\s+are)?(?:\s+(?:shown|visible|"
                      r"displayed|there|below|above|on\s+the\s+(?:screen|page)))?(?:\s+(?:into|in|to|on)\s+"
                      r"(?P<where>.+))?$", re.I)
ASK_RE = re.compile(r"^how\s+many\s+(?P<what>.+?)\s+(?:(?:are|is)\s+(?:there|shown|visible|displayed|drawn|on\s+the\s+"
                    r"(?:screen|page)|in\s+the\s+\w+)|(?:do|can)\s+you\s+see)\b", re.I)
COMPUTE_RE = re.compile(r"^(?:type|enter|write|input|put|fill\s+in)\s+(?:in\s+)?(?:the\s+|your\s+)?(?:answer|result|"
                        r"solution|sum|total|product|difference)(?:\s+(?:of|to)\s+(?:the\s+|this\s+)?(?:sum|problem|"
                        r"equation|expression|calculation|addition|subtraction|multiplication|division|question|"
                        r"math(?:\s+problem)?))?(?:\s+(?:shown|below|above))?(?:\s+(?:into|in|to|on)\s+"
                        r"(?P<where>.+))?$", re.I)
POINT_RE = re.compile(rf"^(?:click|tap|press|select|choose|pick|hit)\s+(?:on\s+)?(?:the\s+)?(?:grid\s+|graph\s+|"
                      rf"chart\s+|plot\s+)?(?:coordinates?|point|position|location|spot)\s+(?:at\s+)?\(?\s*"
                      rf"(?P<x>{NUM})\s*[,;]\s*(?P<y>{NUM})\s*\)?$", re.I)
EXPR_RE = re.compile(rf"(?<![\w.])({NUM}(?:\s*[-+\u2212x\u00d7*/\u00f7:]\s*{NUM})+)(?:\s*=|\s*\?|\s*$)")
FIELD_WORDS = r"\b(?:the|a|an|text\s*box|textbox|text\s+field|field|box|input|area|answer)\b"


def step(clause: str) -> tuple[str, str, str] | None:
    """(op, target, text) of a clause this module answers; None for any other clause."""
    text = " ".join(clause.strip(" .!?").split())
    m = COUNT_RE.match(text)
    if m:
        return "count", _field(m.group("where") or ""), m.group("what")
    m = ASK_RE.match(text)
    if m:
        return "ask", "", m.group("what")
    m = COMPUTE_RE.match(text)
    if m:
        return "compute", _field(m.group("where") or ""), ""
    m = POINT_RE.match(text)
    if m:
        return "point", "", f"{_num(m.group('x')):g},{_num(m.group('y')):g}"
    return None


def _num(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def _field(where: str) -> str:
    """'the textbox' -> '' (any field); 'the answer field' -> ''; 'the "age" box' -> 'age'."""
    return " ".join(re.sub(FIELD_WORDS, " ", where, flags=re.I).split())


def evaluate(expr: str) -> float | None:
    """'12 + 7' -> 19; '6 x 3' -> 18; '8 / 2' -> 4 (left to right after x and /, as written); None when it is no
    plain arithmetic."""
    tokens: list[str] = []
    for t in re.findall(r"\d+(?:\.\d+)?|[-+\u2212x\u00d7*/\u00f7:]", expr.replace("\u2212", "-")):
        if t[0].isdigit() and tokens[-1:] == ["-"] and (len(tokens) == 1 or not tokens[-2][0].isdigit()):
            tokens[-1] = "-" + t  # a minus sign, not a subtraction
        else:
            tokens.append(t)
    if not tokens or len(tokens) % 2 == 0:
        return None
    try:
        vals, ops = [_num(tokens[0])], []
        for op, n in zip(tokens[1::2], tokens[2::2]):
            v = _num(n)
            if op in "x\u00d7*":
                vals[-1] *= v
            elif op in "/\u00f7:":
                vals[-1] = vals[-1] / v
            else:
                vals.append(v if op == "+" else -v)
                ops.append(op)
    except (ValueError, ZeroDivisionError):
        return None
    return sum(vals)


def shown_expression(elements: Sequence[Element]) -> float | None:
    """The value of the one arithmetic expression the page's text shows (a line, or the words of one row joined);
    None when it shows none or several that differ."""
    texts = [e.label for e in elements if e.kind == "line" and e.label]
    words = [e for e in elements if e.kind in ("word", "icon", "cell") and e.label]
    texts += [" ".join(e.label for e in line) for line in lines_of(words)]
    found = {v for t in texts for m in EXPR_RE.finditer(t.replace("=", " = "))
             if (v := evaluate(m.group(1))) is not None}
    return found.pop() if len(found) == 1 else None


def _shown(value: float) -> str:
    return f"{value:g}" if abs(value - round(value)) > 1e-9 else str(int(round(value)))


def reference_height(elements: Sequence[Element]) -> float:
    """What large and small are told against: the median height of the page's buttons and fields (they hold its
    text), else of its words of three letters or more; 0 when there are none."""
    hs = sorted(e.box[3] - e.box[1] for e in elements if e.kind in ("button", "input"))
    hs = hs or sorted(e.box[3] - e.box[1] for e in elements if e.kind in ("word", "line") and len(e.label) >= 3)
    return float(hs[len(hs) // 2]) if hs else 0.0


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: np.ndarray | None, matcher: Any) -> Any:
    """The next action of a reckoning step: an exploring Click (the answer's field or button), the Type that ends
    it, a plan Click (point), SKIP when it is done, None when what it needs is not in sight."""
    from omnirt.agents.actions import Click, Type
    from omnirt.agents.everyday import SKIP

    if watch.marked:  # the field is clicked (or the answer's button): type the answer, or the step is done
        return Type(text=watch.answer) if watch.answer and step.op != "point" and not watch.presses else SKIP
    if step.op == "point":
        at = grid_point(step.text, elements, rgb)
        if at is None:
            return None
        watch.marked.append((*at, *at))
        watch.presses = 1
        return Click(x=at[0], y=at[1])
    if watch.answer is None:
        watch.answer = _answer(step, elements, rgb)
    if watch.answer is None:
        return None
    if step.op == "ask":
        hit = choice(elements, watch.answer)
        if hit is not None:
            watch.marked.append(hit.box)
            watch.presses = 1  # answered by the click: nothing to type
            return Click(element=hit.id)
    fields = [e for e in elements if e.kind in FIELD_KINDS]
    box = (matcher(step.target, fields) if step.target else None) or (fields[0] if fields else None)
    if box is None:
        return None
    watch.marked.append(box.box)
    return Click(element=box.id)


def choice(elements: Sequence[Element], answer: str) -> Element | None:
    """The numbered choice (a button, link or icon) that gives the answer; when the page offers several numbers and
    none is the answer, the nearest of them (a count may miss an object that another hides)."""
    from omnirt.agents.readings import number

    offered = [(e, v) for e in elements if e.kind in ("button", "link", "icon", "word")
               for v in [number(e.label.strip())] if v is not None]
    want = float(answer)
    exact = sorted((e for e, v in offered if v == want), key=lambda e: e.kind == "word")  # a control before text
    if exact:
        return exact[0]
    buttons = [(e, v) for e, v in offered if e.kind != "word"]
    return min(buttons, key=lambda t: abs(t[1] - want))[0] if len(buttons) >= 3 else None


def _answer(step: Any, elements: Sequence[Element], rgb: np.ndarray | None) -> str | None:
    if step.op == "compute":
        v = shown_expression(elements)
        return None if v is None else _shown(v)
    if rgb is None:
        return None
    blobs = counting.read_glyphs(counting.find_blobs(rgb, elements), elements)
    return str(counting.count(counting.describe(step.text), blobs, reference_height(elements)))


def _axis(ticks: list[tuple[float, float]], falls: bool) -> tuple[float, float] | None:
    """(slope, offset) of pixel = slope * value + offset from (pixel, value) ticks along an axis. Values must rise
    along it (fall, for a y axis running down the screen); when they do not and none is negative, minus signs were
    lost: the reading that negates a leading run (a trailing one for y) and lies straightest is taken."""
    ticks = sorted(ticks)
    pix, vals = [p for p, _ in ticks], [v for _, v in ticks]
    order = (lambda vs: vs[::-1]) if falls else (lambda vs: vs)
    base = order(vals)
    tries = [base] + ([[-v if i < k else v for i, v in enumerate(base)] for k in range(1, len(base))]
                      if all(v >= 0 for v in base) else [])
    best = None
    for t in tries:
        vs = order(t)
        if len(set(vs)) < 2 or any(b <= a for a, b in zip(t, t[1:])):
            continue
        fit, res, *_ = np.polyfit(vs, pix, 1, full=True)
        err = float(res[0]) if len(res) else 0.0
        if best is None or err < best[0]:
            best = (err, float(fit[0]), float(fit[1]))
    return None if best is None else (best[1], best[2])


def _ticks(ticks: list[tuple[float, float]], slope: float, falls: bool) -> tuple[float, float] | None:
    """An axis from its ticks; from one tick and a slope when only one is read."""
    if len({v for _, v in ticks}) >= 2:
        return _axis(ticks, falls)
    return (slope, ticks[0][0] - slope * ticks[0][1]) if ticks else None


def grid_point(text: str, elements: Sequence[Element], rgb: np.ndarray | None) -> tuple[int, int] | None:
    """The pixel of value (x, y) on the axes the page draws: the longest row of numbers is the x axis, the longest
    column the y axis; snapped to the nearest marker within half a tick."""
    from omnirt.agents.readings import number

    want = [float(v) for v in text.split(",")]
    nums = [(e, v) for e in elements if e.kind in ("word", "line", "cell", "icon", "link")
            for v in [number(e.label.strip("()"))] if v is not None]

    def lined(i: int) -> list[tuple[Element, float]]:  # i = 1: numbers on one row; i = 0: in one column
        best: list[tuple[Element, float]] = []
        for e, _ in nums:
            tol = max(6, (e.box[3] - e.box[1]) // 2) if i else max(10, e.box[2] - e.box[0])
            same = [(f, w) for f, w in nums if abs(f.center[i] - e.center[i]) <= tol]
            best = same if len(same) > len(best) else best
        return best

    row, col = lined(1), lined(0)
    corner = {id(e) for e, _ in row} & {id(e) for e, _ in col}  # the origin's label sits off both axes' lines
    if len(row) - len(corner) >= 2 and len(col) - len(corner) >= 2:
        row, col = [t for t in row if id(t[0]) not in corner], [t for t in col if id(t[0]) not in corner]
    ax = _axis([(e.center[0], v) for e, v in row], falls=False) if len(row) >= 2 else None
    ay = _axis([(e.center[1], v) for e, v in col], falls=True) if len(col) >= 2 else None
    # One axis read, the other's labels mostly lost: its ticks are the numbers along the line of the read axis's
    # zero, and a square grid gives its scale when only one of them is left.
    if ax is None and ay is not None:
        held = {id(e) for e, _ in col}
        ax = _ticks([(e.center[0], v) for e, v in nums if id(e) not in held and abs(e.center[1] - ay[1]) <=
                     0.6 * abs(ay[0])], abs(ay[0]), falls=False)
    if ay is None and ax is not None:
        held = {id(e) for e, _ in row}
        ay = _ticks([(e.center[1], v) for e, v in nums if id(e) not in held and abs(e.center[0] - ax[1]) <=
                     0.6 * abs(ax[0])], -abs(ax[0]), falls=True)
    marks = [b for b in counting.find_blobs(rgb, elements) if b.kind != "glyph"] if rgb is not None else []
    lattice = _lattice(rgb, marks) if rgb is not None else None
    if lattice is not None and not _agrees(ax, ay, lattice):
        ax, ay = lattice  # the labels read disagree with the axes drawn: OCR misread them
    if ax is None or ay is None:
        return None
    x, y = ax[0] * want[0] + ax[1], ay[0] * want[1] + ay[1]
    reach = 0.5 * min(abs(ax[0]), abs(ay[0]))
    if marks:
        near = [((b.box[0] + b.box[2]) / 2, (b.box[1] + b.box[3]) / 2) for b in marks]
        near = [p for p in near if abs(p[0] - x) <= reach and abs(p[1] - y) <= reach]
        if near:
            x, y = min(near, key=lambda p: (p[0] - x) ** 2 + (p[1] - y) ** 2)
    return int(round(x)), int(round(y))


def _agrees(ax: tuple[float, float] | None, ay: tuple[float, float] | None,
            lattice: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    """Whether axes fitted to the labels put the origin and one unit where the drawn axes and markers do (within a
    fifth of a unit)."""
    if ax is None or ay is None:
        return False
    (lx, ly), tol = lattice, 0.2 * abs(lattice[0][0])
    return abs(ax[1] - lx[1]) <= tol and abs(ay[1] - ly[1]) <= tol and abs(ax[0] - lx[0]) <= tol and \
        abs(ay[0] - ly[0]) <= tol


def _lattice(rgb: np.ndarray, marks: list[counting.Blob]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Axes from the drawing alone: the longest dark horizontal and vertical lines cross at the origin, and the
    markers' spacing along them is one unit (a grid of points has one at each whole coordinate)."""
    dark = counting.colour_names(rgb) == counting.COLOURS.index("black")
    for x0, y0, x1, y1 in counting.bands(rgb):  # a dark panel is no axis
        dark[y0:y1, x0:x1] = False
    rows, cols = dark.sum(axis=1), dark.sum(axis=0)
    y0, x0 = int(rows.argmax()), int(cols.argmax())
    if rows[y0] < 0.25 * rgb.shape[1] or cols[x0] < 0.25 * rgb.shape[1] or len(marks) < 4:
        return None
    centres = [((b.box[0] + b.box[2]) / 2, (b.box[1] + b.box[3]) / 2) for b in marks]
    steps = []
    for i in (0, 1):
        vals = sorted(c[i] for c in centres)
        gaps = [b - a for a, b in zip(vals, vals[1:]) if b - a > 4]
        if gaps:
            steps.append(float(np.median(gaps)))
    if not steps:
        return None
    unit = min(steps)
    return (unit, float(x0)), (-unit, float(y0))
