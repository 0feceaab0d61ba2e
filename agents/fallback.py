"""The instruction policy first, the LLM policy when it is stuck: `FallbackPolicy.decide(instruction, elements,
history)` like either.

Why: the instruction grammar and the grounding rules are fast (no model call, a few ms a decision) but fit only the
phrasings and screens they were written for; an instruction they cannot parse ("instruction not understood") or a
step whose target they cannot find on screen ("no element for step") ended the episode as a failure. The set-of-marks
LLM policy (agents/llm_policy.py) reads any phrasing, at seconds a decision on a CPU. So the rules decide while they
can and the model takes over the rest of the episode once they give up: the steps the rules already took are handed
to it as its "steps taken", so it goes on from there instead of starting over.

Nothing is trusted more for coming from the model: every action still goes through the loop's executor and its
safety layer (validation, the allowed region, confirmations), and the loop's check of the screen after each action
(`observe`) reaches both policies. The thinker is made only on the first hand-over (`make_fallback`), so an episode
the rules finish never loads a model; `warmup` loads it ahead where its first use must not pay for that.

`stats` counts decisions per policy and keeps the fallback's decision times apart: the rules' step time is the
agent's reaction time, the model's is reported on its own.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from omnirt.agents.actions import Click, Done, Hotkey, Scroll, Type, Wait
from omnirt.agents.elements import Element

# The instruction policy's give-up summaries that mean "not this policy's kind of instruction or screen" (as opposed
# to "cannot be done": an unsupported widget, a character no key types).
GIVE_UP = ("instruction not understood", "no element for step")
SEVERAL = re.compile(r"\b(and|then|after|before|also)\b|;", re.I)  # an instruction of more than one request


def gives_up(action: Any) -> bool:
    """Whether `action` is the rules giving up in a way the model may do better."""
    return isinstance(action, Done) and not action.success and action.summary.startswith(GIVE_UP)


def describe_taken(action: Any, elements: Sequence[Element]) -> str:
    """A step the rules took, as the LLM policy's history notes say it ("clicked 'Save' button")."""
    if isinstance(action, Click):
        el = next((e for e in elements if e.id == action.element), None) if action.element else None
        if el is None and action.x is not None:
            el = next((e for e in elements if e.box[0] <= action.x < e.box[2] and e.box[1] <= action.y < e.box[3]),
                      None)
        return f"clicked '{el.label}' {el.kind}" if el is not None else f"clicked at ({action.x}, {action.y})"
    if isinstance(action, Type):
        return f"typed {action.text!r}"
    if isinstance(action, Hotkey):
        return f"pressed {'+'.join(action.keys)}"
    if isinstance(action, Scroll):
        return f"scrolled {'up' if action.amount > 0 else 'down'}"
    return type(action).__name__.lower()


def _new_stats() -> dict[str, Any]:
    return {"decisions": {"instruction": 0, "llm": 0}, "episodes": 0, "handovers": 0, "unavailable": 0,
            "llm_ms": [], "handover_reasons": []}


@dataclass
class FallbackPolicy:
    """primary: the instruction policy. make_fallback: builds the LLM policy on first need (None: no fallback; a
    failure to build it is remembered, noted in the give-up summary and not retried). last_decider: which policy took
    the last decision ('instruction' | 'llm'), for step records."""

    primary: Any
    make_fallback: Callable[[], Any] | None = None
    fallback: Any = None
    stats: dict[str, Any] = field(default_factory=_new_stats)
    last_decider: str = ""
    _handed: bool = field(default=False, repr=False)
    _taken: list[str] = field(default_factory=list, repr=False)  # the rules' steps this episode, as notes
    _seen: list[tuple[str, bool]] = field(default_factory=list, repr=False)  # (step, screen changed after it)
    _broken: str = field(default="", repr=False)  # why the fallback could not be built
    _llm_acted: bool = field(default=False, repr=False)  # the model acted on the screen this episode
    _frame: Any = field(default=None, repr=False)  # the last screenshot and area (`see`)

    @property
    def name(self) -> str:
        fb = getattr(self.fallback, "name", "llm") if self.make_fallback or self.fallback else ""
        return "instruction" + (f"+{fb}" if fb else "")

    def llm(self) -> Any:
        """The fallback policy, built now if it was not (None when there is none or it cannot be built)."""
        if self.fallback is None and self.make_fallback is not None and not self._broken:
            try:
                self.fallback = self.make_fallback()
            except Exception as e:  # a missing model, an unreachable server
                self._broken = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
        return self.fallback

    def warmup(self) -> float | None:
        """Build the fallback and evaluate its prompt's fixed head now (seconds), so a first hand-over pays only for
        its screen; None when there is no fallback."""
        llm = self.llm()
        return llm.warmup() if llm is not None and hasattr(llm, "warmup") else None

    def needs_elements(self, instruction: str, history: Sequence[Any]) -> bool:
        if not history:
            return True
        if self._handed:
            return self.fallback.needs_elements(instruction, history)
        return self.primary.needs_elements(instruction, history)

    def observe(self, action: Any, changed: bool) -> None:
        """The loop's check of the screen after `action`: passed to whichever policy listens, and kept to judge
        the model's "done"."""
        self._seen.append((type(action).__name__.lower(), changed))
        for p in (self.primary, self.fallback):
            if p is not None and hasattr(p, "observe"):
                p.observe(action, changed)

    def see(self, rgb: Any, area: Any = None) -> None:
        """The screenshot for the next decision, for the rules (they read switches and row controls from pixels)
        and the model (icons named by their look)."""
        self._frame = (rgb, area)  # kept for a model built at its first hand-over, after this call
        for p in (self.primary, self.fallback):
            if p is not None and hasattr(p, "see"):
                p.see(rgb, area)

    def settle_limit(self, action: Any) -> float | None:
        """The rules' limit on the loop's wait after an action while they decide (agents/catching.py)."""
        limit = getattr(self.primary, "settle_limit", None)
        return None if self._handed or limit is None else limit(action)

    def watched(self, rgb: Any) -> bool:
        """A frame the loop captured during a Wait, for the rules while they decide (agents/repeating.py)."""
        return not self._handed and hasattr(self.primary, "watched") and self.primary.watched(rgb)

    def decide(self, instruction: str, elements: Sequence[Element], history: Sequence[Any]) -> Any:
        if not history:
            self._handed, self._taken, self._seen, self._llm_acted = False, [], [], False
            self.stats["episodes"] += 1
        if not self._handed:
            action = self.primary.decide(instruction, elements, history)
            if not gives_up(action):
                self.last_decider = "instruction"
                self.stats["decisions"]["instruction"] += 1
                if not isinstance(action, Wait):
                    self._taken.append(describe_taken(action, elements))
                return action
            llm = self.llm()
            if llm is None:
                self.last_decider = "instruction"
                self.stats["decisions"]["instruction"] += 1
                if self.make_fallback is not None:
                    self.stats["unavailable"] += 1
                    why = f" (no LLM fallback: {self._broken})" if self._broken else ""
                    return Done(success=False, summary=(action.summary + why)[:500])
                return action
            self._handed = True
            self.stats["handovers"] += 1
            self.stats["handover_reasons"].append(action.summary[:120])
            llm.reset(notes=self._taken)
            if hasattr(llm, "see") and self._frame is not None:
                llm.see(*self._frame)
        one = not self._taken and not SEVERAL.search(instruction)
        if one and self._llm_acted and self._seen and self._seen[-1][1]:
            # One request, none of it the rules' and the screen changed after the model's action: carried out. A
            # small model left to go on clicks again ("cancel it", then OK).
            self.last_decider = "llm"
            return Done(success=True, summary="the one request was carried out: the screen changed after it")
        t0 = time.perf_counter()
        action = self.fallback.decide(instruction, elements, history)
        self._llm_acted |= not isinstance(action, (Wait, Done))
        self.stats["llm_ms"].append(round((time.perf_counter() - t0) * 1000, 1))
        self.stats["decisions"]["llm"] += 1
        self.last_decider = "llm"
        return self._verified(action)

    def _verified(self, action: Any) -> Any:
        """The model's "done" is a success only if the screen changed after every step of the episode; else it
        is reported as unverified, naming the steps that showed nothing (the rules judge their own the same way)."""
        if not (isinstance(action, Done) and action.success):
            return action
        blind = [f"step {i + 1} ({what})" for i, (what, changed) in enumerate(self._seen) if not changed]
        if not blind:
            return action
        return Done(success=False, summary=f"unverified: the screen did not change after {', '.join(blind[:5])} "
                                           f"({action.summary})"[:500])

    def summary(self) -> dict[str, Any]:
        """Decisions per policy, hand-overs, and the fallback's decision time (median and p90 ms)."""
        ms = sorted(self.stats["llm_ms"])
        pick = (lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]) if ms else (lambda q: None)
        d = self.stats["decisions"]
        total = d["instruction"] + d["llm"]
        return {"decisions": dict(d), "llm_share": round(d["llm"] / total, 3) if total else 0.0,
                "episodes": self.stats["episodes"], "handovers": self.stats["handovers"],
                "unavailable": self.stats["unavailable"], "median_llm_decide_ms": pick(0.5),
                "p90_llm_decide_ms": pick(0.9), "fallback": getattr(self.fallback, "name", None),
                "fallback_error": self._broken or None}
