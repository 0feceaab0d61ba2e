"""An event put on a day calendar: 'Create a 1 hour event named "Gym", between 12PM and 4PM', 'add a 30 min meeting
called Sync at 2pm', 'schedule a 90 minute event "Lunch" from 11am to 3pm'. A day view is a column of hours, each
labelled at its top ("9am", "10 AM", "14:00") and split into half hours; a person scrolls the column to the time,
presses on a free half hour and drags down over as many as the event lasts, then names the event in the form that
opens and presses the button the sentence's verb names.

- The parser's steps (`request`): `schedule` (target: the window "START-END" in minutes after midnight; text: the
  duration in minutes), then the form: a text field focused, the name typed, the verb's button.
- Hours are the labels read as times; two of them give the height of an hour (their gap over the hours between).
  The column is to the right of the labels (COLUMN of the way from the labels to the frame's right edge); its
  ground is the lightest colour that fills much of it beside the labels (events may cover more of it). A half
  hour is free when most of its pixels in the column show that ground (an event drawn over it, or the panel's end,
  shows another colour). With no free run in sight the column is scrolled down while the window starts in sight.
- The first free run of half hours that lies in the window is dragged across, from a little below its top to a
  little above its end. When the window's hours are not in sight, the column is scrolled: a wheel click first, the
  distance it moved read from the labels, then as many clicks as bring the window's start near the top.
- The scrolls and the drag are no plan steps of their own (the step is); SKIP once the drag is made.

Calendar conventions only (hour labels, half-hour cells, drag to create), nothing about any page.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from omnirt.agents.elements import Element

OPS = ("schedule",)
COLUMN = 0.3  # where across (from the labels' right edge to the frame's right edge) the drag runs
FREE = 0.8  # share of a half hour's pixels that must show the column's ground
MAX_CLICKS = 5  # wheel clicks of one scroll
MAX_SCROLLS = 6  # scrolls of one step before it gives up
TIME = r"(?:\d{1,2}(?::\d\d)?\s*(?:[ap]\.?m\.?)?|noon|midnight)"
DURATION = r"(?P<n>\d+(?:\.\d+)?|an?|one|half\s+an?)\s*-?\s*(?P<unit>hours?|hrs?|h|minutes?|mins?|m)\b"
REQUEST_RE = re.compile(
    rf"^(?P<verb>create|add|schedule|book|make|put|set\s+up|plan)\s+(?:a|an|one)\s+{DURATION}\s*(?:long\s+)?"
    r"(?:event|meeting|appointment|slot|block|entry)\s+(?:(?:named|called|titled|labell?ed)\s+)?(?P<name>.+?),?\s+"
    rf"(?:between\s+(?P<a>{TIME})\s+(?:and|through)\s+(?P<b>{TIME})|from\s+(?P<c>{TIME})\s+(?:to|until|till)\s+(?P<d>{TIME})|"
    rf"(?:at|starting\s+at)\s+(?P<e>{TIME}))$", re.I)
LABEL_RE = re.compile(r"^(\d{1,2})(?::(\d\d))?\s*([ap])\.?m\.?$|^(\d{1,2}):(\d\d)$", re.I)


def minutes(text: str) -> int | None:
    """'12PM' -> 720, '4pm' -> 960, '9:30 am' -> 570, '14:00' -> 840, 'noon' -> 720; None for other text."""
    t = " ".join(text.lower().replace(".", "").split())
    if t in ("noon", "midnight"):
        return 720 if t == "noon" else 0
    m = LABEL_RE.match(t.replace(" ", ""))
    if m is None:
        return None
    if m.group(4):
        h, mm = int(m.group(4)), int(m.group(5))
        return h * 60 + mm if h < 24 and mm < 60 else None
    h, mm = int(m.group(1)), int(m.group(2) or 0)
    if not 1 <= h <= 12 or mm >= 60:
        return None
    return (h % 12 + (12 if m.group(3).lower() == "p" else 0)) * 60 + mm


def duration(n: str, unit: str) -> int:
    """('1.5', 'hours') -> 90; ('30', 'mins') -> 30; ('an', 'hour') -> 60; ('half an', 'hour') -> 30."""
    n = n.lower()
    count = 0.5 if n.startswith("half") else 1.0 if n in ("a", "an", "one") else float(n)
    return round(count * (60 if unit.lower().startswith("h") else 1))


def request(verb: str, text: str) -> list[Any] | None:
    """The steps of 'create a 1 hour event named "Gym", between 12PM and 4PM'; None for other clauses."""
    from omnirt.agents.plan_steps import Step

    m = REQUEST_RE.match(" ".join(text.strip(" .!").split()))
    if m is None:
        return None
    length = duration(m.group("n"), m.group("unit"))
    start = minutes(m.group("a") or m.group("c") or m.group("e"))
    end = minutes(m.group("b") or m.group("d")) if not m.group("e") else (start or 0) + length
    name = m.group("name").strip(" \"'\u201c\u201d")
    if start is None or end is None or not name or length <= 0:
        return None
    return [Step("schedule", f"{start}-{end if end > start else end + 1440}", text=str(length)),
            Step("focus", "", ["input"]), Step("type", text=name),
            Step("click", m.group("verb").split()[0].capitalize(), ["button"])]


def hours(elements: Sequence[Element]) -> list[tuple[int, Element]]:
    """The hour labels in sight, (minutes, element), top to bottom; a time repeated lower (the next day) is left
    out."""
    found = sorted(((minutes(e.label), e) for e in elements if e.label and e.kind not in ("input", "button")),
                   key=lambda p: p[1].box[1])
    out: list[tuple[int, Element]] = []
    for t, e in found:
        if t is not None and (not out or t > out[-1][0]) and e.box[2] - e.box[0] < 4 * (e.box[3] - e.box[1]):
            out.append((t, e))
    return out


def layout(found: Sequence[tuple[int, Element]], width: int) -> tuple[float, float, int, tuple[int, int]] | None:
    """(y of midnight's top, pixels per minute, the column's x, the rows from the first label to the last's end)
    from the labels; None with fewer than two."""
    if len(found) < 2:
        return None
    (t0, e0), (t1, e1) = found[0], found[-1]
    per = (e1.box[1] - e0.box[1]) / (t1 - t0)
    if per <= 0:
        return None
    top = e0.box[1] - 0.06 * 60 * per - t0 * per  # a label sits a little below its hour's line
    right = max(e.box[2] for _, e in found)
    return top, per, int(right + COLUMN * (width - right)), (e0.box[1], int(e1.box[1] + 60 * per))


def free_start(rgb: np.ndarray, geo: tuple[float, float, int, tuple[int, int]], window: tuple[int, int],
               length: int) -> int | None:
    """The first start (minutes) in the window whose half hours up to `length` are all free; None when none is in
    sight."""
    top, per, x, (s0, s1) = geo
    column = rgb[:, max(0, x - 3):x + 4, :3].astype(int)
    keys = column[s0:s1, 3, 0] * 65536 + column[s0:s1, 3, 1] * 256 + column[s0:s1, 3, 2]  # beside the labels
    values, counts = np.unique(keys, return_counts=True)  # the lightest of the colours that fill much of it: events
    common = values[counts >= 0.15 * counts.sum()]  # may cover more of the view than the ground shows
    ground = max(common, key=lambda v: (v >> 16) + ((v >> 8) & 255) + (v & 255)) if common.size else values[0]
    ok = (np.abs(column - np.array([ground >> 16, (ground >> 8) & 255, ground & 255])).max(axis=2) <= 8).all(axis=1)

    def free(t: int) -> bool:
        y0, y1 = int(top + (t + 4) * per), int(top + (t + 26) * per)  # the half hour, its lines left out
        return 0 <= y0 < y1 <= len(ok) and ok[y0:y1].mean() >= FREE

    for start in range(window[0], window[1] - length + 1, 30):
        if all(free(t) for t in range(start, start + length, 30)):
            return start
    return None


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: Any) -> Any:
    """A Scroll over the column while the window is out of sight, the Drag over a free run of half hours, SKIP
    (agents/everyday.py's) after it; None while no hour labels are in sight; a failed Done after MAX_SCROLLS."""
    from omnirt.agents.actions import Done, Drag, Scroll
    from omnirt.agents.everyday import SKIP

    state = watch.moves.setdefault("schedule", {"dragged": False, "scrolls": 0, "click": None, "before": None})
    if state["dragged"]:
        return SKIP
    found = hours(elements)
    geo = layout(found, rgb.shape[1]) if rgb is not None else None
    if geo is None:
        return None
    top, per, x, _ = geo
    if state["before"] is not None and state["click"] is None and top != state["before"][0]:
        state["click"] = abs(top - state["before"][0]) / state["before"][1]  # pixels a wheel click moved
    lo, hi = (int(v) for v in step.target.split("-"))
    length = int(step.text)
    start = free_start(rgb, geo, (lo, hi), length)
    if start is not None:
        state["dragged"] = True
        return Drag(x=x, y=int(top + (start + 15) * per), to_x=x, to_y=int(top + (start + length - 8) * per))
    if state["scrolls"] >= MAX_SCROLLS:
        return Done(success=False, summary=f"no free {length} minutes between {lo} and {hi} in sight")
    state["scrolls"] += 1
    shown = (found[0][1].box[1] + found[-1][1].box[3]) / 2
    want = top + lo * per - found[0][1].box[1] + 4  # pixels from the top label to the window's start
    clicks = 1 if state["click"] is None else max(1, min(MAX_CLICKS, round(abs(want) / max(state["click"], 1))))
    state["before"] = (top, clicks)
    down = want > -30 * per  # the window starts in sight (its free time further down) or below
    return Scroll(x=x, y=int(shown), amount=-clicks if down else clicks)
