"""Where a planned step acts: the element on the screen a step of the instruction policy (agents/policies.py) refers
to. A field to focus or a widget named only by its kind is found by kind (the one its label names, else the nth);
a close step by the close-button convention (agents/grounding.py `close_button`); anything else by its label,
spelled first and by meaning (the text encoder) only when nothing on the screen is spelled so and there is no
more page below to look at; a check box's label stands for its box.
"""

from __future__ import annotations

from typing import Any, Sequence

from omnirt.agents import everyday, icons
from omnirt.agents.grounding import Element, close_button, match, norm, nth
from omnirt.agents.plan import CLOSE_GLYPHS, TICKABLE, Step


class StepGrounding:
    """The grounding half of InstructionPolicy (a mixin: it reads the policy's encoder, its frame `_frame`, whether
    it may still scroll to look (`_can_look`), and notes `_meaning_only` when it put a match by meaning off)."""

    encoder: Any
    _frame: Any
    _meaning_only: bool
    _can_look: Any  # (n: int | None = None) -> bool

    def ground(self, step: Step, elements: Sequence[Element]) -> Element | None:
        """The element a step refers to."""
        if step.op == "focus" or (step.op in ("click", "scroll") and not step.target):
            return self._ground_by_kind(step, elements)
        if step.op == "close" or (step.op == "click" and norm(step.target) in CLOSE_GLYPHS):
            named = close_button(step.target, elements)
            if named is not None and named.label:
                return named
            return self._ground_by_look("close", elements) or named
        shape = icons.shape_named(step.target) if step.op == "click" and not step.similar else None
        if shape and step.kinds and "icon" in step.kinds and "link" not in step.kinds:
            # "the star icon": an icon shows no word; its look first (a word "star" elsewhere is no icon)
            hit = self._ground_by_look(shape, elements)
            if hit is not None:
                return hit
        if shape and step.ordinal is None:
            # "click send": a word spelled so is it; else an icon that looks so, before a word spelled alike ("sed.")
            said = match(step.target, elements, step.kinds, min_ratio=101.0) or \
                match(step.target, elements, None, min_ratio=101.0)
            hit = said or self._ground_by_look(shape, elements)
            if hit is not None:
                return hit
        return self._ground_by_label(step, elements)

    def _ground_by_look(self, shape: str, elements: Sequence[Element]) -> Element | None:
        """The element or unlabelled ink whose silhouette is the named icon's (agents/icons.py); None without a
        frame or when nothing looks so."""
        if self._frame is None:
            return None
        return icons.find(shape, elements, self._frame, getattr(self, "_area", None))

    def _ground_by_kind(self, step: Step, elements: Sequence[Element]) -> Element | None:
        """A field to focus, or any element of the step's kinds: the one its label names, else the nth."""
        kinds = step.kinds or ["input"]
        if step.op == "focus" and "input" in kinds:
            kinds = [*kinds, "textarea"]  # a multi-line field is a field too
        pool = everyday.counted(elements, kinds) if step.ordinal else [e for e in elements if e.kind in kinds]
        if not pool and step.op == "focus":  # a field taken for a list (a date field shows a picker's arrow)
            pool = [e for e in elements if e.kind == "dropdown"]
        if kinds[0] == "dropdown" and any(e.kind == "dropdown" for e in pool):  # a list seen as one: that is it
            pool = [e for e in pool if e.kind == "dropdown"]
        if step.target:
            hit = match(step.target, pool, encoder=self.encoder)
            # An empty field shows its placeholder ("Name") inside: that names it too.
            shown = [e for e in pool if e.value and not e.label and norm(e.value) == norm(step.target)]
            if hit is not None or shown:
                return hit or shown[0]
            if self._frame is not None and everyday.field_by_edges(step, elements, self._frame, []) is not None:
                return None  # the named field is there, missed by the grounding: its edges find it (not the nth)
        return nth(pool, step.ordinal)

    def _ground_by_label(self, step: Step, elements: Sequence[Element]) -> Element | None:
        """The element whose label the step names (by meaning for "words similar to X"; the nth of those that
        contain it when an ordinal is given); a check box's label stands for its box."""
        kinds = step.kinds
        if step.similar and self.encoder is not None:
            boxes = [e for e in elements if e.kind in TICKABLE and e.label]
            pool = boxes or [e for e in elements if e.kind in ("word", "link") and e.label]
            if pool:
                return pool[self.encoder.best_match(step.target, [e.label for e in pool])[0]]
        if step.ordinal is not None:
            pool = [e for e in everyday.counted(elements, kinds or ["button"]) if
                    not step.target or norm(step.target) in norm(e.label)]
            if pool:
                return nth(pool, step.ordinal)
        hit = match(step.target, elements, kinds)  # by spelling first: exact, OCR swaps, a phrase, near-exact
        if hit is None and kinds is not None:
            hit = match(step.target, elements, None)
        if hit is None and self.encoder is not None and step.op == "click" and self._can_look():
            self._meaning_only = True  # nothing spelled so in sight: look below the fold before going by meaning
            return None
        if hit is None and self.encoder is not None:  # by meaning only when nothing is spelled so
            hit = match(step.target, elements, kinds, encoder=self.encoder)
            if hit is None and kinds is not None:
                hit = match(step.target, elements, None, encoder=self.encoder)
        if hit is not None and hit.kind in ("word", "line", "link") and (kinds and "checkbox" in kinds):
            # A label: click the box or radio whose label it is, if there is one.
            boxes = [e for e in elements if e.kind in TICKABLE and norm(e.label) == norm(hit.label)]
            if boxes:
                return boxes[0]
        return hit
