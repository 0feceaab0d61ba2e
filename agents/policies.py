"""Policies: `decide(instruction, elements, history) -> Action`. `InstructionPolicy` follows direct commands with no
LLM: it parses the instruction into steps once ("click X", "type T into F", "check A, B", "close the dialog", "press
enter", "press ctrl+l"), then grounds the next step on the elements seen NOW (so a step can wait for its target to
appear). The parser is agents/plan.py; descriptions that are no labels (ordinals, purposes, a value for a widget)
are read by agents/phrases.py; everyday-application forms (switches, row actions, "fill in", sign-in, menu paths,
dates) by agents/intents.py, grounded by agents/everyday.py. A clause the parser did not understand ends the rules
at its place (agents/fallback.py then hands over to the LLM policy) unless it names a button on the screen ("place
the order"), and "done" is a success only if the loop saw the screen change after every step
(`observe`); otherwise the run is reported unverified, naming the steps that showed nothing.

It knows nothing about particular tasks or pages: only English command phrasing ("expand the section", 'click on a
"checkbox" widget', "type A into B, check C") and widget conventions: a text field is an outlined light box, a close
button is a small text-less button at the top right, a checkbox's label is the text to its right, a tree hides
nodes under collapsed ('+') branches (so a missing target is looked for by opening them), and a button partly
covered by another cannot be read (so if the named one is nowhere in sight, the one hidden button is it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from omnirt.agents import catching, everyday, everyday_forms, exploring, looking, messages, pausing, readings, \
    repeating, search_forms, sliding
from omnirt.agents.actions import MAX_PRESSES, MAX_SCROLL, Click, Done, Hotkey, Scroll, Type, Wait
from omnirt.agents.fields import focus_point, segmented
from omnirt.agents.grounding import Element, match, norm
from omnirt.agents.instruction_text import instruction_key
from omnirt.agents.intents import loose_target
from omnirt.agents.phrases import integer, key_chord  # noqa: F401  (key_chord: re-exported)
from omnirt.agents.plan import (  # noqa: F401  (re-exported: the parser's API)
    CLOSE_GLYPHS, TICKABLE, Step, keyboard_action, parse, parse_plan)
from omnirt.agents.step_grounding import StepGrounding


@dataclass
class InstructionPolicy(StepGrounding):
    """Rule-based policy for direct commands. encoder: an optional TextEncoder for synonym matching.
    patience: decisions to wait for a missing target before giving up."""

    encoder: Any = None
    patience: int = 3
    _plans: dict[Any, tuple[list[Step], list[tuple[int, str]]]] = field(default_factory=dict, repr=False)
    _aside: list[Any] = field(default_factory=list, repr=False)  # this episode's actions that were no plan step
    _seen: list[tuple[Any, bool]] = field(default_factory=list, repr=False)  # (plan action, screen changed after)
    _skipped: int = field(default=0, repr=False)  # optional steps with nothing to do (a switch already so)
    _used: list[Any] = field(default_factory=list, repr=False)  # fields a "fill in" plan typed into
    _field: Any = field(default=None, repr=False)  # the box of the field focused last
    _shown: str = field(default="", repr=False)  # what that field showed when it was focused
    _frame: Any = field(default=None, repr=False)  # the pixels decided on (`see`)
    _area: Any = field(default=None, repr=False)  # where in them the elements were grounded
    _meaning_only: bool = field(default=False, repr=False)  # the label grounding put meaning off to look first
    _progress_index: int = field(default=0, repr=False)  # the step being decided
    _acted: Any = field(default=None, repr=False)  # the pixels the last action (no wait) was decided on
    _wait_frame: Any = field(default=None, repr=False)  # the pixels the last wait was decided on
    _episode: tuple[Any, list[Step], list[tuple[int, str]]] = field(default=("", [], []), repr=False)
    _watch: Any = field(default_factory=readings.Watch, repr=False)  # what the reading steps pressed or marked
    _pauses: Any = field(default_factory=pausing.Pauses, repr=False)  # "wait 3 seconds": timed from the last action
    _looking: Any = field(default_factory=looking.Looking, repr=False)  # scrolls that looked for a step's target

    def plan(self, instruction: str) -> list[Step]:
        return self._plan(instruction)[0]

    def _episode_plan(self, instruction: str) -> tuple[list[Step], list[tuple[int, str]]]:
        """This episode's own copy of the plan: grounding may complete it (a fill step's value, a clause the parser
        did not know that names a button on the screen)."""
        key = instruction_key(instruction)
        if self._episode[0] != key:
            steps, dropped = self._plan(instruction)
            self._episode = (key, [replace(s) for s in steps], list(dropped))
        return self._episode[1], self._episode[2]

    def _plan(self, instruction: str) -> tuple[list[Step], list[tuple[int, str]]]:
        key = instruction_key(instruction)
        if key not in self._plans:
            self._plans[key] = parse_plan(instruction)
        return self._plans[key]

    def observe(self, action: Any, changed: bool) -> None:
        """The loop's check after an executed action: did the screen change? Kept for the plan's steps (an
        exploring click is no step of the task)."""
        if not any(action is a for a in self._aside):
            self._seen.append((action, changed))
        elif isinstance(action, Scroll):
            self._looking.scrolled(action, changed)

    def see(self, rgb: Any, area: Any = None) -> None:
        """The loop's screenshot for the next decision: switches' states, row controls and icons are read from
        pixels. area: the rectangle of it that the elements were grounded in (None: all of it)."""
        self._frame, self._area = rgb, area

    def settle_limit(self, action: Any) -> float | None:
        """Seconds the loop may wait after `action` for the screen to hold still; None: its own (agents/catching.py)."""
        return catching.settle_limit(self._watch, action)

    def watched(self, rgb: Any) -> bool:
        """A frame the loop captured during a Wait: True when a step watches the page (agents/repeating.py)."""
        return repeating.watched(self._watch, rgb)

    def _finished(self) -> Any:
        """Done once every step is taken: a success only if the screen changed after each of them; otherwise the
        steps that showed nothing are named (a click that missed, a key nothing took), and it is no success."""
        blind = [i for i, (_, changed) in enumerate(self._seen) if not changed]
        if not self._seen:  # decided without a loop that looks at the screen after each action
            return Done(success=True, summary="all steps taken (not checked against the screen)")
        if not blind:
            return Done(success=True, summary="all steps taken; the screen changed after each")
        what = ", ".join(f"step {i + 1} ({type(self._seen[i][0]).__name__.lower()})" for i in blind[:5])
        return Done(success=False, summary=f"unverified: the screen did not change after {what}")

    def _progress(self, history: Sequence[Any]) -> tuple[int, int]:
        """(plan steps taken, waits so far). Waits and exploring clicks (opening a collapsed node to look for a
        target) are no plan steps; the policy remembers the latter by identity, as history holds its own actions."""
        waits = sum(isinstance(a, Wait) for a in history)
        aside = sum(any(a is b for b in self._aside) for a in history)
        return len(history) - waits - aside + self._skipped, waits

    def needs_elements(self, instruction: str, history: Sequence[Any]) -> bool:
        """False when the next step types, presses a key, spins or catches (pixels only): no grounding then."""
        steps = self._episode_plan(instruction)[0] if history else self.plan(instruction)
        n = self._progress(history)[0] if history else 0  # (a new episode: last episode's skips do not count)
        return not (n < len(steps) and (steps[n].op in ("type", "key", "spin", *catching.OPS) or
                                         (steps[n].op == "pause" and self._pauses.ready(n))))

    def decide(self, instruction: str, elements: Sequence[Element], history: Sequence[Any]) -> Any:
        """The next action. history: actions already taken this episode (Wait actions do not count as steps)."""
        if not history:
            self._aside, self._seen, self._skipped, self._used, self._field = [], [], 0, [], None
            self._episode, self._acted, self._looking = ("", [], []), None, looking.Looking()
            self._wait_frame, self._shown, self._watch = None, "", readings.Watch()
            self._pauses.reset()
        self._looking.now(history, elements)
        while True:
            action = self._decide(instruction, elements, history)
            if action is not everyday.SKIP:
                if not isinstance(action, Wait):
                    self._acted = self._frame  # what the screen showed when this action was chosen
                    self._pauses.acted()
                return action
            self._skipped += 1

    def _decide(self, instruction: str, elements: Sequence[Element], history: Sequence[Any]) -> Any:
        steps, dropped = self._episode_plan(instruction)
        n, waits = self._progress(history)
        self._progress_index, self._meaning_only = n, False
        gap = next((i for i, (k, _) in enumerate(dropped) if k <= n), None)
        if gap is not None and everyday.named_button(dropped[gap][1], elements):
            # A clause with no command verb that names a button on the screen ("place the order"): click it.
            clause = dropped.pop(gap)[1]
            steps.insert(n, Step("click", loose_target(clause), ["button", "link"], loose=True))
            dropped[:] = [(k + 1 if k >= n else k, c) for k, c in dropped]
            gap = None
        if not steps:
            return Done(success=False, summary=f"instruction not understood: {instruction[:200]}")
        if gap is not None:  # the plan does not cover the instruction from here on: say so, do not skip it
            return Done(success=False, summary=f"instruction not understood in part: {dropped[gap][1][:200]!r}")
        if n >= len(steps) and everyday_forms.implied_submit(steps, elements):
            steps.append(Step("click", "Submit", ["button"]))
        elif n >= len(steps) and not waits and everyday_forms.unsent(steps, ("drag",)):  # a page just dropped on
            return Wait(seconds=0.2)  # may show its Submit unread: read afresh once
        if n >= len(steps):
            return self._finished()
        step, held = steps[n], self._pauses.take(n)
        elements = elements if step.op in sliding.OPS else sliding.apart(elements, self._watch)
        if held is not None:  # grounded before the pause that came before it
            return held
        if step.op == "pause":
            follow = lambda: pausing.follow(steps[n + 1:], elements, self.ground)  # noqa: E731
            return self._pauses.decide(n, float(step.text), follow, everyday.SKIP)
        if step.op == "unsupported":
            return Done(success=False, summary=f"cannot {step.text}: no such action")
        if step.op == "type":
            try:
                return Type(text=step.text)
            except ValueError as e:  # pydantic: a character the keyboard cannot type (an OCR misread)
                return Done(success=False, summary=f"cannot type {step.text!r}: {str(e).splitlines()[-1][:200]}")
        if step.op == "key":
            return keyboard_action(step)
        if step.op == "spin":
            return self._spin(step, steps, n)
        if step.op == "pick":
            return self._pick(step, steps, n, elements)
        if step.op in readings.OPS:  # a number on the screen decides; its presses and marks are no plan steps
            act = readings.decide(step, elements, self._watch, lambda t, pool: match(t, pool), self._frame)
            self._aside += [act] if readings.aside(step, act) else []
            return act if act is not None else self._missing(step, elements, waits)
        if self._list_open(step, steps, n, elements):
            return everyday.SKIP  # the list shows its options already (a list box): no click to open it
        turn = self._turn_page(step, elements)
        if turn is not None:
            return turn
        if step.op == "body":  # a message's text: its text area, framed or not (agents/messages.py)
            at = messages.body(elements, self._frame, self._area)
            return Click(x=at[0], y=at[1]) if at is not None else self._missing(step, elements, waits)
        if step.op in everyday.OPS or step.fill or step.loose:
            act = self._everyday(step, steps, n, elements)
            return act if act is not None else self._missing(step, elements, waits)
        hit = exploring.find(step.target, step.kinds, elements) if step.explore else None
        if step.explore and hit is None:
            act = self._explore(step, n, elements)  # the next tab or section that may hold it
            if act is not None:
                return act
        if hit is not None and hit.kind == "span":  # its words inside a longer link: their share of it
            return Click(x=hit.center[0], y=hit.center[1])
        # Elements that carry ANOTHER step's target are that step's, never a fuzzy stand-in for this one.
        others = {norm(s.target) for s in steps if s.target and norm(s.target) != norm(step.target)}
        el = self.ground(step, [e for e in elements if not (e.label and norm(e.label) in others)])
        if el is None and self._meaning_only and step.op == "click":
            # Nothing spelled like the label is in sight, and a word of like meaning ("Continue" ~ body text) may
            # be no control at all: the label itself may be below the fold. Look there first; go by meaning only
            # when looking finds nothing.
            look = self._look_further(n)
            if look is not None:
                return look
        if el is None and step.op == "click" and step.target:
            # A button partly under another box cannot be read; if the named one is nowhere in sight and exactly
            # one button is hidden that way, it is the one.
            hidden = [e for e in elements if e.value == "occluded" and (not step.kinds or e.kind in step.kinds)]
            el = hidden[0] if len(hidden) == 1 else None
        if el is None and step.op == "focus":
            act = self._field_by_edges(step, steps, n, elements)
            at = messages.beside_label(step.target, elements, self._frame) if act is None else None
            if act is None and at is not None:  # a field drawn without a frame, right of its label
                act = Click(x=at[0], y=at[1])
            if act is not None:
                return act
        if el is None:
            return self._missing(step, elements, waits)
        if step.op == "focus":
            self._field, self._shown = el.box, el.value
            if segmented(el.value or el.label):  # a date field: typed from its first segment, not its middle
                x, y = focus_point(el.box, el.value or el.label)
                return Click(x=x, y=y)
        if step.op == "scroll":
            return Scroll(x=el.center[0], y=el.center[1], amount=MAX_SCROLL if step.text == "up" else -MAX_SCROLL)
        if el.kind == "span" or el.id == "look":  # several words (the middle of the phrase, not its first word), or
            # an icon found by its look that no element holds: its centre
            return Click(x=el.center[0], y=el.center[1])
        return Click(element=el.id)

    def _explore(self, step: Step, n: int, elements: Sequence[Element]) -> Any:
        """Open the next of the containers the instruction said to look through (agents/exploring.py), in reading
        order, once each for step n (an exploring action, no step); None when all were opened."""
        openers, k = exploring.openers(step.explore, elements), self._looking.counts.get(("explore", n), 0)
        if k >= len(openers):
            return None
        self._looking.counts[("explore", n)] = k + 1
        o = openers[k]
        act = Click(x=o.center[0], y=o.center[1]) if o.kind == "span" else Click(element=o.id)
        self._aside.append(act)
        return act

    def _spin(self, step: Step, steps: list[Step], n: int) -> Any:
        """A spinner set by its arrow keys, one press a unit from the number it showed when focused (a page may
        refuse typing into it); typed over when either is no number or it is too far to step."""
        want, have = integer(step.text), integer(self._shown)
        if want is None or have is None or abs(want - have) > MAX_PRESSES:
            steps[n:n + 1] = [Step("key", text="ctrl+a"), Step("type", text=step.text)]
            return keyboard_action(steps[n])
        if want == have:
            return everyday.SKIP
        return Hotkey(keys=["up" if want > have else "down"], presses=abs(want - have))

    def _turn_page(self, step: Step, elements: Sequence[Element]) -> Any:
        """The nth of a paged list ("the 5th search result") beyond the ones this page shows: the next page, counting
        on from there (the step's ordinal drops by what this page held)."""
        if step.op != "click" or step.target or not step.ordinal or step.ordinal < 1 or not step.kinds:
            return None
        shown = len(everyday.counted(elements, step.kinds))
        act = everyday.next_page(elements) if 0 < shown < step.ordinal else None
        if act is not None:
            step.ordinal -= shown
            self._aside.append(act)
        return act

    def _list_open(self, step: Step, steps: list[Step], n: int, elements: Sequence[Element]) -> bool:
        """Whether step n opens a list that needs no opening: no drop-down in sight, and its option (step n+1's)
        in sight already or nothing there to open it by (a list box, its options scrolled out of view)."""
        if not (step.op == "click" and not step.target and bool(step.kinds) and step.kinds[0] == "dropdown" and
                n + 1 < len(steps) and steps[n + 1].op == "pick") or any(e.kind == "dropdown" for e in elements):
            return False
        others = {norm(s.target) for s in steps if s.target}
        return everyday.option(steps[n + 1], elements, None) is not None or \
            not any(e.kind in (step.kinds or []) and norm(e.label) not in others for e in elements)

    def _pick(self, step: Step, steps: list[Step], n: int, elements: Sequence[Element]) -> Any:
        """The option of the list just opened (of a list box, for a later option added with ctrl: any in sight):
        clicked where it shows; else the list is scrolled to look (down, then once back to its top), then typed to
        and confirmed (a list jumps to what is typed)."""
        adding = step.text == "ctrl"
        opened = None if adding else self._opened()
        act = everyday.option(step, elements, opened)
        if act is not None:
            return act.model_copy(update={"hold": ["ctrl"]}) if adding and isinstance(act, Click) else act
        region = max(opened, key=lambda r: (r[2] - r[0]) * (r[3] - r[1])) if opened else \
            everyday.list_region(elements, {norm(s.target) for s in steps if s.target and s.op != "pick"})
        looks = self._looking
        back = region is not None and looks.back_up(n)  # the list's end reached: once back to its top, down again
        if region is not None and looks.counts.get(n, 0) < 2 * everyday.MAX_LOOK_SCROLLS and not looks.ended:
            looks.counts[n] = looks.counts.get(n, 0) + 1
            x0, y0, x1, y1 = region  # one notch down: no option scrolled past
            act = Scroll(x=(x0 + x1) // 2, y=(y0 + y1) // 2, amount=MAX_SCROLL if back else -1)
            self._aside.append(act)
            return act
        steps[n:n + 1] = [Step("type", text=step.target), Step("key", text="enter")]
        return Type(text=step.target)

    def _everyday(self, step: Step, steps: list[Step], n: int, elements: Sequence[Element]) -> Any:
        """A step of agents/intents.py's everyday forms (agents/everyday.py grounds it); None: not found."""
        if step.op == "noop":
            return everyday.SKIP
        if step.op == "name":  # one name field, or first and last: the plan becomes the fills the form asks for
            split = everyday_forms.name_labels(everyday.text_elements(elements))
            first, _, last = step.target.partition(" ")
            fills = [(split[0], first), (split[1], last)] if split and last else [("name", step.target)]
            steps[n:n + 2] = [s for label, value in fills for s in
                              (Step("focus", f"{label} {value}", ["input"], fill=True), Step("type", text=value))]
            return self._everyday(steps[n], steps, n, elements)
        if step.op == "search":  # one sentence over a search form: the fills and the send it asks for
            steps[n:n + 1] = search_forms.steps(step.target, elements, self._frame)
            return self._everyday(steps[n], steps, n, elements)
        if step.op == "again":  # a password asked twice: its repeat field, if the form has one
            box = everyday.repeat_field(elements, self._frame, self._used)
            if box is None:
                steps[n + 1] = Step("noop")
                return everyday.SKIP
            return self._into(box, "", steps, n)
        if step.fill:
            box, value = everyday.fill_field(step, elements, self._frame, self._used)
            return None if box is None else self._into(box, value, steps, n)
        return everyday.decide_step(step, elements, self._frame, self._field, self._opened())

    def _opened(self) -> list[Any] | None:
        """The rectangles of the screen that changed since the last action was decided (a menu or dialog it
        opened); None when not known."""
        if self._frame is None or self._acted is None or self._acted.shape != self._frame.shape:
            return None
        from omnirt.agents.screen import tile_diff

        return tile_diff(self._acted, self._frame, tile=16).regions

    def _field_by_edges(self, step: Step, steps: list[Step], n: int, elements: Sequence[Element]) -> Any:
        """A field the grounding missed (a tinted outline, a dimmed page around a dialog), found by its edges."""
        found = everyday.field_by_edges(step, elements, self._frame, self._used)
        return None if found is None else self._into(*found, steps, n)

    def _into(self, box: Any, value: str, steps: list[Step], n: int) -> Any:
        """A click into the field at `box`, which this plan has now used and focused; the type step after step n
        types `value` (when one is given: a fill's value read from the sentence)."""
        self._used.append(box)
        self._field = box
        if value and n + 1 < len(steps) and steps[n + 1].op == "type":
            steps[n + 1].text = value
        return Click(x=(box[0] + box[2]) // 2, y=(box[1] + box[3]) // 2)

    def _missing(self, step: Step, elements: Sequence[Element], waits: int) -> Any:
        """No element for the step: open a collapsed node, wait, scroll down to look further, else give up."""
        closed = [e for e in elements if e.kind == "expander" and e.value == "+"]
        if step.op == "click" and step.target and not step.loose and closed:
            # Convention: a tree hides nodes under collapsed branches; open one and look again.
            act = Click(element=min(closed, key=lambda e: (e.box[1], e.box[0])).id)
            self._aside.append(act)
            return act
        if waits < self.patience and not self._still_since_wait(waits) and not self._looking.just:  # (a look's
            # screen is read once it settled: no wait for it)
            self._wait_frame = self._frame
            return Wait(seconds=0.2)
        if step.op in everyday.POINTER_OPS:
            look = self._look_further(self._progress_index)
            if look is not None:
                return look
        return Done(success=False, summary=f"no element for step {step}")

    def _can_look(self, n: int | None = None) -> bool:
        """Whether a scroll may still look for step n's target (default: the step being decided)."""
        return self._looking.can_look(self._progress_index if n is None else n, self._frame)

    def _still_since_wait(self, waits: int) -> bool:
        """Whether the screen holds exactly what it held at the last wait: the wait's fresh reading of it found
        nothing, and reading the same pixels again would find the same."""
        import numpy as np

        f, w = self._frame, self._wait_frame
        return bool(waits) and f is not None and w is not None and f.shape == w.shape and np.array_equal(f, w)

    def _look_further(self, n: int) -> Any:
        """Content out of sight: scroll the page to look again (an exploring action, no step): back to where an
        earlier screen showed the step's target, down, or back to the top once the end was met (agents/looking.py);
        None when the page was looked through."""
        steps = self._episode[1]
        target = steps[n].target if n < len(steps) and steps[n].op in everyday.POINTER_OPS else ""
        seen = (lambda els: match(target, els) is not None) if target else (lambda els: False)
        act = self._looking.recall(n, seen, self._frame) or self._looking.further(n, self._frame, self._area)
        self._aside += [act] if act is not None else []
        return act
