"""An LLM policy: the Thinker reads a text set-of-marks (one line per grounded element) and answers ONE action as JSON
naming an element by its mark number. Same interface as InstructionPolicy: `decide(instruction, elements, history)`.

Why text marks: the embedded Thinkers (Qwen2.5-Coder 0.5B / 1.5B) are text-only, and on 2 CPU cores prompt
evaluation dominates. The prompt's fixed head (a terse system prompt, three worked steps of one form) is
byte-identical every time, so llama.cpp keeps it in its KV cache (`warmup` evaluates it once); what each decision
pays for is the screen: at most `max_elements` lines "'Submit' button id=3" (numbers = the digits of the element
ids, as a set-of-marks image numbers them; plain words inside a text line are left to the line), the instruction and the
steps taken so far, each with "(screen did not change)" where that was so.

The LLM-facing schema is small: {"step", "action": click | type | key | done, "target", "id", "text"/"key"}, ids
limited to the marks shown. The model writes the part of the task it is doing and the target's text before the id:
a 0.5B model picks far better ids that way (measured below). Each answer maps onto the typed `Action`: a click goes
to the element's centre; "type" is a click on the element, then typing. Embedded: decoding is constrained by a
grammar built from the schema (an id outside the list cannot be produced). OpenAI-compatible servers:
`response_format` json_schema, else llama.cpp's json_object + schema, else prompt + parse (both backends live
in omnirt.agents.llm_backends). Every answer is validated (omnirt.agents.llm_answers); an invalid one is re-asked
once with the reason, then the step is given up with that reason (noted in the history the model sees next). Knows
nothing about particular tasks or pages.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Collection, Sequence

from omnirt.agents.actions import Done, InvalidAction, Wait
from omnirt.agents.grounding import Element, fold
from omnirt.agents.llm_answers import (FIELD_KINDS, LLM_KEYS, MAX_LABEL, NotShown, clip, extract_json, names_held,
                                       naming, ordinal_names, refused, to_actions)
from omnirt.agents.llm_order import (NEXT_PART, NothingDone, TypeFirst, UseFirst, in_order, named_target,
                                    selected_already)
from omnirt.agents.llm_screen import (Counted, adds_to_selection, alike, as_fields, by_look,
                                      counted_marks, describe, fresh, identity, look_below, named_icons, near,
                                      placed, same_spot, scroll_asked, select_elements, set_by_typing)

# Clicked twice, these undo the first click (a box unticked, a section or list closed again): once an episode.
TOGGLES = ("checkbox", "expander", "dropdown")
MAX_STEP = 60

SYSTEM_PROMPT = (
    "You operate a computer screen to do a task. You get the task, the screen elements (text, kind, id) and the "
    "steps already taken. Reply with the ONE next action as JSON, one of:\n"
    '{"step": "the part of the task to do now", "action": "click", "target": "its text", "id": N}\n'
    '{"step": "...", "action": "type", "target": "its text", "id": N, "text": "..."}  click N, then type\n'
    '{"step": "...", "action": "key", "key": "enter"}  press a key\n'
    '{"step": "...", "action": "done"}  the task is complete\n'
    "Use the exact text the task gives. Do the parts of the task in order, first part first; never repeat a step "
    "already taken. To select or check items, click each of them. To pick from a drop-down list, type the option "
    "into it, then press enter."
)
# Worked examples of one three-part form: a middle step, the last step, then a first step (the model copies the most
# recent example most, and "first part first" is what it gets wrong most). Measured on Qwen2.5-Coder-0.5B over 21
# hand-checked screens: writing "step" and "target" before the id, with each element's text before its id, took the
# right actions from 2 to 15.
_EX_HEAD = "Task: Enter \"ann\" as the name and \"x1\" as the code, then press OK.\nElements:\n'Name' word id=0\n"
_EX_TAIL = "'OK' button id=3\n'Help' link id=4\nSteps taken:\n"
_EX_FIELDS = ("'Name' input (empty) id=1 at (150,40)\n", "'Name' input value 'ann' id=1 at (150,40)\n",
              "'Code' input (empty) id=2 at (150,80)\n", "'Code' input value 'x1' id=2 at (150,80)\n")
_EX_DONE = ("1. typed \"ann\" into 'Name' input\n", "2. typed \"x1\" into 'Code' input\n")
# (Tried: the answers written without spaces between the JSON's items, 23 tokens to decode for a click instead of
# 30. The 0.5B model then wrote the task's last part first, "Press Submit", 18 -> 13 of 28 DEV tasks; see
# docs/agent-desk.md, session 31.)
EXAMPLES = (
    (_EX_HEAD + _EX_FIELDS[1] + _EX_FIELDS[2] + _EX_TAIL + _EX_DONE[0] + "Next action?",
     '{"step": "\\"x1\\" as the code", "action": "type", "target": "Code", "id": 2, "text": "x1"}'),
    (_EX_HEAD + _EX_FIELDS[1] + _EX_FIELDS[3] + _EX_TAIL + _EX_DONE[0] + _EX_DONE[1] + "Next action?",
     '{"step": "press OK", "action": "click", "target": "OK", "id": 3}'),
    (_EX_HEAD + _EX_FIELDS[0] + _EX_FIELDS[2] + _EX_TAIL + "(none)\nNext action?",
     '{"step": "Enter \\"ann\\" as the name", "action": "type", "target": "Name", "id": 1, "text": "ann"}'),
)


# ---------------------------------------------------------------- the LLM-facing schema and its mapping

def llm_schema(ids: Sequence[int], max_text: int = 100, banned: Collection[tuple[str, Any]] = ()) -> dict[str, Any]:
    """JSON schema of one LLM answer; `ids` (the marks shown) are an enum, so constrained decoding cannot invent one;
    `banned` (action, id) pairs are left out (an action just refused as a repeat cannot be produced again), and
    ("key", name) pairs the same way (`decide` bans every key on a screen a key changed nothing on): a key pressed
    there was answered again and refused, 6 of 6 invalid calls in one DEV run (1.5B), each re-ask the same key.
    Property order matters (the grammar emits them in this order): step and target come before the id."""
    def shape(action: str, extra: dict[str, Any]) -> dict[str, Any]:
        props = {"step": {"type": "string", "maxLength": MAX_STEP}, "action": {"const": action}, **extra}
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    shapes = []
    target = {"type": "string", "maxLength": MAX_LABEL}
    for action in ("click", "type"):
        allowed = sorted({int(i) for i in ids} - {i for a, i in banned if a == action})
        if allowed:
            text = {"text": {"type": "string", "minLength": 1, "maxLength": max_text}} if action == "type" else {}
            shapes.append(shape(action, {"target": target, "id": {"enum": allowed}, **text}))
    keys = [k for k in LLM_KEYS if ("key", k) not in banned]  # a key pressed on this very screen: not again
    shapes += [shape("key", {"key": {"enum": keys}})] if keys else []
    shapes += [shape("done", {})]
    return {"oneOf": shapes}


# ---------------------------------------------------------------- the policy

NO_CHANGE = " (screen did not change)"
BACK = " (screen went back to an earlier state)"


def _signature(elements: Sequence[Element]) -> tuple:
    return tuple((e.kind, e.label, e.value, e.box) for e in elements)


@dataclass
class LLMPolicy:
    """thinker: an object with complete(messages, schema) -> (text, info). max_elements: marks shown (prompt size).
    retries: re-asks after an invalid answer. max_rejections: steps given up in a row before Done(success=False)."""

    thinker: Any
    max_elements: int = 40
    retries: int = 1
    max_rejections: int = 2
    few_shot: bool = True
    stats: dict[str, Any] = field(default_factory=lambda: {"calls": 0, "invalid": 0, "given_up": 0, "corrected": 0,
                                                           "llm_ms": [], "prompt_tokens": []})
    _pending: list[Any] = field(default_factory=list, repr=False)
    _notes: list[str] = field(default_factory=list, repr=False)
    _answers: list[str] = field(default_factory=list, repr=False)
    _sig: tuple | None = field(default=None, repr=False)
    _rejections: int = field(default=0, repr=False)
    _last: int = field(default=-1, repr=False)  # index of the last accepted decision in _notes / _answers
    _seen: dict[tuple, list[str]] = field(default_factory=dict, repr=False)  # screen -> answers accepted on it
    _toggled: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (kind, label) of toggles clicked
    _toggle_spots: list[tuple[int, int]] = field(default_factory=list, repr=False)  # and their centres
    _clicked: str = field(default="", repr=False)  # the label the last accepted decision clicked ('' otherwise)
    _task: str = field(default="", repr=False)
    _before: set[tuple] | None = field(default=None, repr=False)  # identities on screen at the last decision
    _frame: Any = field(default=None, repr=False)  # the pixels decided on (`see`)
    _place: Counted = field(default_factory=lambda: Counted({}), repr=False)  # what the task's ordinal names here
    _before_page: int = field(default=0, repr=False)  # items counted on the pages turned past this episode
    _picked: list[tuple[int, str]] = field(default_factory=list, repr=False)  # named texts clicked (left edge, text)
    last_answer: dict[str, Any] | None = field(default=None, repr=False)
    log: list[dict[str, Any]] = field(default_factory=list, repr=False)  # this episode's answers, for reports

    @property
    def name(self) -> str:
        return f"llm:{getattr(self.thinker, 'name', type(self.thinker).__name__)}"

    def reset(self, notes: Sequence[str] = ()) -> None:
        """A new episode: forget the steps taken (the loop's empty history says so). `notes`: steps another policy
        already took this episode (agents/fallback.py hands over mid-episode), shown as steps taken."""
        self._pending, self._notes, self._answers, self._sig, self._rejections, self._last = [], [], [], None, 0, -1
        self._notes = [str(n) for n in notes]
        self._answers = ["(other policy)"] * len(self._notes)
        self._seen = {}
        self._toggled, self._toggle_spots, self._clicked = set(), [], ""
        self._before, self._before_page, self._picked = None, 0, []
        self.log = []

    def warmup(self) -> float:
        """Evaluate the fixed head of the prompt (system + examples) once, so that the first decision of the first
        episode pays only for its screen (seconds taken). The head is byte-identical in every prompt, so llama.cpp
        keeps reusing it from the KV cache."""
        t0 = time.perf_counter()
        if hasattr(self.thinker, "warmup"):  # embedded: its snapshot may be read back from an earlier start
            self.thinker.warmup(self.messages("", {}))
        else:
            self.thinker.complete(self.messages("", {}), llm_schema([]))
        return round(time.perf_counter() - t0, 3)

    def needs_elements(self, instruction: str, history: Sequence[Any]) -> bool:
        """False while the rest of a decision (the typing after its click) is queued: no need to ground."""
        return not (history and self._pending)

    def messages(self, instruction: str, shown: dict[int, Element], new: Collection[int] = (),
                 later: Collection[int] = (), notes: dict[int, str] | None = None) -> list[dict[str, str]]:
        """The chat: fixed system prompt and examples first (KV-cache reuse), then this screen and the steps.
        `new`: the marks to say are new on this screen; `later`: marks held back for now, shown as "(later)" (left
        out, the 0.5B model wrote the examples' 'OK' for the login button it did not see)."""
        msgs = [{"role": "system", "content": SYSTEM_PROMPT}]
        for user, answer in (EXAMPLES if self.few_shot else ()):
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        stand_in = ordinal_names(shown)
        lines = [describe(n, e, stand_in.get(n, ""), n in new, n in later, (notes or {}).get(n, ""))
                 for n, e in shown.items()] or ["(none)"]
        steps = [f"{i + 1}. {s}" for i, s in enumerate(self._notes)] or ["(none)"]
        body = (f"Task: {instruction.strip() or '(no instruction visible)'}\nElements:\n" + "\n".join(lines)
                + "\nSteps taken:\n" + "\n".join(steps) + "\nNext action?")
        return msgs + [{"role": "user", "content": body}]

    def decide(self, instruction: str, elements: Sequence[Element], history: Sequence[Any]) -> Any:
        """The next action. A multi-action decision (type = click + type) is returned one action per call."""
        if not history:
            self.reset()
        self._task = instruction
        if self._pending:
            return self._pending.pop(0)
        sig = _signature(elements)
        if self._sig is not None and (self.last_answer or {}).get("action") == "click" and alike(sig, self._sig):
            sig = self._sig  # only a caret blinked (or a box moved a pixel): the click changed nothing
        seen = self._seen.get(sig, [])
        self._note_repeat(sig, seen)
        shown = named_icons(as_fields(by_look(select_elements(elements, self.max_elements, instruction), self._frame),
                                       self._frame),
                            elements, self._frame, instruction)
        # What was already done on this very screen is not offered again.
        taken = {k for k in seen if k != "(rejected)"}
        banned = {(d["action"], d["id"]) for d in map(json.loads, taken) if "id" in d}
        if any('"key"' in k for k in taken):  # a key that changed nothing here: nothing takes keys (no focus)
            banned |= {("key", k) for k in LLM_KEYS}  # the 1.5B model tried enter, down, then tab (DEV)
        # Nor is the same text clicked again under another number: a click here changed nothing, and the 0.5B model
        # went on to the word's twins (a tree's 'Tora' three times, a '7' six times on DEV).
        same = {fold(shown[i].label) for a, i in banned if a == "click" and i in shown and fold(shown[i].label)}
        banned |= {("click", n) for n, e in shown.items() if fold(e.label) in same}
        banned |= {("click", n) for n, e in shown.items() if (e.kind, e.label) in self._toggled
                   or any(near(e.center, c) for c in self._toggle_spots)}
        if self._clicked and sig != self._sig:
            # The last click changed the screen: what it opened is not closed again by the same click. The 0.5B
            # model copied its last step's target (a section's header, a list's current option) on DEV.
            banned |= {("click", n) for n, e in shown.items() if fold(e.label) == self._clicked}
        banned = same_spot(banned, shown)
        new = fresh(shown, self._before)
        self._before = {identity(e) for e in elements}
        held, owed = self._held_back(shown, banned)
        banned |= {("click", n) for n in held}
        self._place = counted_marks(shown, elements, instruction, self._before_page)
        msgs = self.messages(instruction, shown, new, later=held, notes=self._place.notes)
        answer, reason = self._ask(msgs, shown, elements, banned, taken, held, owed)
        if answer is None:
            return self._give_up(reason)
        actions, note, data, key = answer
        self._rejections, self._last, self._sig = 0, len(self._notes), sig
        self._seen.setdefault(sig, []).append(key)
        self._notes.append(note)
        self._answers.append(key)
        self.last_answer = data
        self._pending = actions[1:]
        el = shown.get(data.get("id", -1))
        if data.get("action") == "click" and el is not None and el.kind in TOGGLES:
            self._toggled.add((el.kind, el.label))
            self._toggle_spots.append(el.center)
        self._clicked = fold(el.label) if data.get("action") == "click" and el is not None else ""
        if self._clicked and adds_to_selection(el, instruction, self._picked):
            actions[0] = actions[0].model_copy(update={"hold": ["ctrl"]})  # another option of the same list box
        self._picked += [(el.box[0], self._clicked)] if self._clicked and el.kind in ("word", "line") else []
        if data.get("action") == "click" and data.get("id") == self._place.pager:
            self._before_page += self._place.count  # the next page counts on from this one's items
            return self._place.turn
        return actions[0]

    def see(self, rgb: Any, area: Any = None) -> None:
        """The loop's screenshot for the next decision: icons without text are named from it (`by_look`)."""
        self._frame = (rgb, area) if rgb is not None else None

    def _note_repeat(self, sig: tuple, seen: list[str]) -> None:
        """The same screen as when the last accepted decision was taken: that action did nothing visible. The same
        screen as at an earlier decision: the steps since went round in a circle (a section opened and closed).
        Steps given up in between do not count: they executed nothing."""
        if self._last >= 0 and seen:
            mark = NO_CHANGE if sig == self._sig else BACK
            if not self._notes[self._last].endswith(mark):
                self._notes[self._last] += mark

    def _held_back(self, shown: dict[int, Element], banned: Collection[tuple[str, int]]) -> tuple[dict[int, str], str]:
        """The clicks `_in_order` would refuse now (id -> the reason), and the quoted text owed before them. They
        are left out of the grammar and the element lines up front: refused after the answer, each cost a re-ask
        (~2.5 s of a 10 s episode on 2 cores) that the 0.5B model mostly answered the same."""
        held, owed = {}, ""
        for n in shown:
            if ("click", n) in banned:
                continue
            try:
                self._in_order({"action": "click", "id": n}, shown)
            except TypeFirst as e:
                held[n], owed = e.reason, owed or e.text
            except NothingDone:
                pass
            except InvalidAction as e:
                held[n] = e.reason
        return held, owed

    def _ask(self, msgs: list[dict], shown: Sequence[Element], elements: Sequence[Element], banned: Any,
             taken: set[str], held: dict[int, str] | None = None, owed: str = "") -> tuple[tuple | None, str]:
        """One valid answer (actions, note, data, key) within 1 + retries calls, each rejection told back to the
        model; or None and the last reason. `held`: clicks held back (id -> why), `owed`: a quoted text to type
        first (a click on an empty field types it)."""
        reason = ""
        held = held or {}
        banned = set(banned)
        hold = {("click", n) for n in held}
        for _ in range(1 + self.retries):
            schema = llm_schema(list(shown), banned=banned)
            t0 = time.perf_counter()
            text, info = self.thinker.complete(msgs, schema)
            self.stats["calls"] += 1
            self.stats["llm_ms"].append(round((time.perf_counter() - t0) * 1000, 1))
            self.log.append({"answer": text[:300], "ms": self.stats["llm_ms"][-1], **info})
            if info.get("prompt_tokens"):
                self.stats["prompt_tokens"].append(info["prompt_tokens"])
            scroll = scroll_asked(text, shown, self._notes)
            if scroll is not None:  # the step says scroll: the format has no scroll action
                return scroll, ""
            try:
                # held-back clicks are out of the grammar, not taken as done: a target naming one is refused
                # with its reason below, not redirected to the number the grammar forced
                soft = banned - hold
                answer, noted = placed(self._from_step(text, shown, held), self._place, shown)
                answer = answer if noted else named_target(answer, shown, self._task, self._notes, held)
                answer, spin = set_by_typing(answer, shown, self._task)
                actions, note, data = to_actions(answer, shown, elements, soft)
                actions[1:] = spin or actions[1:]  # a spinner's value set by its keys, or typed over its own
                el = shown.get(data.get("id", -1))
                given = extract_json(text).get("id")
                if owed and data.get("id") in held and given in shown and shown[given].kind in FIELD_KINDS:
                    data, el = {**data, "id": given}, shown[given]  # it named the held button, the grammar a field
                if owed and data["action"] == "click" and el is not None and el.kind in FIELD_KINDS and not el.value:
                    # told to type a text first, it chose an empty field: that is where the text goes
                    actions, note, data = to_actions({**data, "action": "type", "text": owed}, shown, elements, soft)
                if data["action"] == "type":
                    actions, note, data = self._retyped(data, shown, held) or (actions, note, data)
                selected_already(data, shown)
                if "id" in data and given != data["id"]:
                    self.stats["corrected"] += 1  # the model's id disagreed with its own target text
                try:
                    self._in_order(data, shown)
                except UseFirst as u:
                    if ("click", u.ident) in banned:
                        raise
                    # the earlier part names a control not used yet: that is the click (a re-ask wrote the same)
                    actions, note, data = to_actions({"action": "click", "id": u.ident}, shown)
                    self.stats["redirected"] = self.stats.get("redirected", 0) + 1
                key = json.dumps({k: v for k, v in data.items() if k not in ("step", "target")}, sort_keys=True)
                if key in taken:  # a server without constrained decoding can still answer it
                    raise InvalidAction("this action was already taken on this same screen; choose another")
                return (actions, note, data, key), ""
            except InvalidAction as e:
                why = names_held(text, shown, held) if isinstance(e, NotShown) else ""
                e = InvalidAction(why) if why else e  # it wrote what is held back: say why, do not scroll for it
                look = look_below(text, shown, taken) if isinstance(e, NotShown) else None
                if look is not None:
                    self.log[-1]["scrolled"] = e.reason
                    return look, ""
                self.stats["invalid"] += 1
                reason = e.reason
                owed = e.text if isinstance(e, TypeFirst) else owed
                self.log[-1]["rejected"] = reason
                no = refused(text, shown)
                banned, hold = banned | no, hold - no
                msgs = msgs + [{"role": "assistant", "content": text[:300]},
                               {"role": "user", "content": f"Rejected: {reason}. Reply with one valid action."}]
        return None, reason

    def _retyped(self, data: dict[str, Any], shown: dict[int, Element], held: Collection[int]) -> tuple | None:
        """A text typed into a field that shows it already (typing adds to a field, it does not replace): the
        answer becomes the click on what the task names next (`named_target`), else it is refused. The 1.5B model
        typed "TORA" into the field showing 'TORA' instead of pressing Submit, and did so again each time (DEV)."""
        el = shown[data["id"]]
        if not (el.value and naming(str(data["text"]), el.value) >= 2):
            return None
        click = {k: v for k, v in data.items() if k != "text"} | {"action": "click"}
        moved = named_target(click, shown, self._task, self._notes, held)
        if moved.get("id") == data["id"]:
            raise InvalidAction(f"'{clip(el.label or ordinal_names(shown).get(data['id'], ''))}' {el.kind} shows "
                                f"'{clip(el.value)}' already; {NEXT_PART}")
        self.stats["redirected"] = self.stats.get("redirected", 0) + 1
        return to_actions(moved, shown)

    def _from_step(self, text: str, shown: dict[int, Element], held: Collection[int] = ()) -> str | dict[str, Any]:
        """The answer, its target replaced by what its own "step" names when the target is not in the task at all
        and the step names exactly one shown element that the task names too: the 0.5B model wrote
        {"step": "Select yMbdWAR", "target": "UT", "id": 0} (the first option's text, copied from the list). Not an
        element already used this episode: "find and click the 5th search result" named the Search button that
        was pressed two steps before, and a result the model chose ("Nieves") was taken for it. Nor one held back."""
        data = extract_json(text)
        if not isinstance(data, dict) or data.get("action") not in ("click", "type"):
            return text
        target, step = (f" {fold(str(data.get(k, '')))} " for k in ("target", "step"))
        task = f" {fold(self._task)} "
        if not target.strip() or target in task:
            return text
        used = " ".join(self._notes)
        hits = {fold(e.label): n for n, e in shown.items()
                if n not in held and len(fold(e.label)) > 1 and f" {fold(e.label)} " in step
                and f" {fold(e.label)} " in task and f"'{clip(e.label)}' {e.kind}" not in used}
        if len(hits) != 1:
            return text
        n = next(iter(hits.values()))
        return {**data, "target": shown[n].label, "id": n}

    def _in_order(self, data: dict[str, Any], shown: dict[int, Element]) -> None:
        in_order(data, shown, self._task, self._notes)

    def _give_up(self, reason: str) -> Any:
        """No valid action this step: wait and look again, or end the episode after max_rejections in a row."""
        self.stats["given_up"] += 1
        self._rejections += 1
        self._notes.append(f"(no action: rejected, {reason})")
        self._answers.append("(rejected)")
        if self._rejections >= self.max_rejections:
            return Done(success=False, summary=f"no valid action from the model: {reason}"[:500])
        return Wait(seconds=0.1)
