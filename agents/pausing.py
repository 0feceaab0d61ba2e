"""A pause the instruction asks for: "click A, wait 3 seconds, then click B", "pause for half a second".

The parser (agents/plan.py) turns such a clause into a step `pause` (text: the seconds). The wait is counted from
the moment the action before it was chosen, not from when the policy reaches the pause: the loop's check of the
screen after that action already took part of it. The step after the pause is grounded BEFORE the pause when its
target is in sight, and issued as soon as the pause is over without reading the screen again (a fresh read after a
wait costs a few hundred milliseconds, which would lengthen a 1-second pause by a third).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from omnirt.agents.actions import MAX_WAIT_S, Click, Wait

WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0,
         "seven": 7.0, "eight": 8.0, "nine": 9.0, "ten": 10.0, "half a": 0.5, "a couple of": 2.0, "a few": 3.0}
UNITS = {"ms": 0.001, "millisecond": 0.001, "s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0}
_AMOUNT = r"(?P<n>\d+(?:\.\d+)?|half\s+a|a\s+couple\s+of|a\s+few|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
_UNIT = r"(?P<unit>milliseconds?|ms|seconds?|secs?|s|minutes?|mins?)"
PAUSE_RE = re.compile(rf"^(?:wait|pause|hold\s+on|sleep)\s+(?:for\s+)?(?:about\s+|around\s+|roughly\s+|exactly\s+)?"
                      rf"{_AMOUNT}\s*(?:more\s+)?{_UNIT}\b\W*$", re.I)
# where a comma starts a pause of its own ("click A, wait 3 seconds, then click B")
SPLIT = r"(?:wait|pause)\s+(?:for\s+)?(?:about\s+|around\s+|roughly\s+|exactly\s+)?(?:\d|a\b|an\b|half\b|one\b|two\b|" \
        r"three\b|four\b|five\b|six\b|seven\b|eight\b|nine\b|ten\b)"
EARLY_S = 0.02  # a pause with less than this left is over (a Wait that short is less exact than the loop itself)


def seconds_in(clause: str) -> float | None:
    """The seconds a clause asks to wait ("wait 3 seconds", "pause for half a second", "wait 500 ms"), or None when
    the clause is no pause of a given length ("wait for the page to load" is none)."""
    m = PAUSE_RE.match(" ".join(clause.split()))
    if not m:
        return None
    n = m.group("n").lower()
    amount = float(n) if n[0].isdigit() else WORDS[" ".join(n.split())]
    unit = m.group("unit").lower().rstrip("s") or "s"
    unit = {"m": "ms", "milli": "ms", "millisecond": "ms", "mi": "min"}.get(unit, unit)
    seconds = amount * UNITS.get(unit, UNITS.get(unit.rstrip("ec"), 1.0))
    return seconds if 0 < seconds <= MAX_WAIT_S else None


def follow(rest: list[Any], elements: list[Any], ground: Callable[[Any, Any], Any]) -> Click | None:
    """The click of the step after a pause (rest: the steps after it), grounded on what is in sight now; None when
    that step is no click or its target is not in sight."""
    el = ground(rest[0], elements) if rest and rest[0].op == "click" and elements else None
    return Click(x=el.center[0], y=el.center[1]) if el is not None else None


@dataclass
class Pauses:
    """An episode's pauses: when the last action was chosen, each pause's end, the click held for after it."""

    acted_at: float | None = None  # time.monotonic() when the last action (no wait) was chosen
    ends: dict[int, float] = field(default_factory=dict)  # pause step index -> when it is over
    held: dict[int, Click] = field(default_factory=dict)  # step index -> its click, grounded before the pause
    clock: Callable[[], float] = time.monotonic

    def reset(self) -> None:
        self.acted_at, self.ends, self.held = None, {}, {}

    def acted(self) -> None:
        self.acted_at = self.clock()

    def decide(self, n: int, seconds: float, follow: Callable[[], Click | None], skip: Any) -> Any:
        """The action of pause step n: a Wait for what is left of it, or `skip` once it is over. follow: the next
        step's click grounded now (None when the next step is no click or its target is not in sight)."""
        now = self.clock()
        if n not in self.ends:
            self.ends[n] = (self.acted_at if self.acted_at is not None else now) + seconds
            click = follow()
            if click is not None:
                self.held[n + 1] = click
        left = self.ends[n] - now
        return Wait(seconds=min(left, MAX_WAIT_S)) if left > EARLY_S else skip

    def ready(self, n: int) -> bool:
        """Whether pause step n has begun and the step after it is already grounded (no need to read the screen)."""
        return n in self.ends and n + 1 in self.held

    def take(self, n: int) -> Click | None:
        """The click held for step n, once (None if none)."""
        return self.held.pop(n, None)
