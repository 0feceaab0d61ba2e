"""The instruction parser of the rule-based policy (agents/policies.py): instruction text -> planned steps.

It reads only English command phrasing: clauses split at sentence ends, "and (then)" and commas before a command
verb ("type A into B, check C, click D"); each clause becomes click / type / key / focus / close / scroll steps.
Descriptions that are no labels (ordinals, purposes, a value for a widget) are read by agents/phrases.py. A clause
whose verb it does not know is not dropped silently: `parse_plan` returns it with the place it had among the steps,
so the policy can say it did not understand that part (and hand over to the LLM policy) instead of reporting the
rest as the whole task done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from omnirt.agents.actions import Hotkey, Type
from omnirt.agents import intents, pausing, readings
from omnirt.agents.grounding import norm
from omnirt.agents.phrases import (  # noqa: F401  (key_chord: re-exported)
    drop_purpose, integer, is_slider, is_spun_widget, is_typed_widget, key_chord, list_choice, ordinal, positional,
    scroll_request, widget_value)

KEYS = {"enter": "enter", "return": "enter", "tab": "tab", "escape": "esc", "esc": "esc", "space": "space",
        "backspace": "backspace"}
CLOSE_GLYPHS = ("x", "×", "✕", "✖", "close")
CLICK_VERBS = ("click", "press", "tap", "hit", "push", "choose", "pick", "open", "expand", "collapse", "unfold",
               "toggle")
TYPE_VERBS = ("enter", "type", "fill", "input", "write", "put")
CHECK_VERBS = ("check", "tick", "mark", "select")
SET_VERBS = ("set", "pick", "choose", "select", "change", "enter", "put", "fill", "use", "make")
# Clauses that set the scene rather than ask for an action of their own ("find the email by Ann and click ...",
# "below is a form", "you may need to scroll"): not commands left undone.
CONTEXT_VERBS = ("find", "locate", "look", "see", "read", "navigate", "browse", "explore", "wait", "note", "notice",
                 "remember", "there", "this", "below", "above", "here", "you", "it", "the", "a", "an", "when", "if",
                 "to", "in", "on", "from", "for", "with", "after", "before", "now", "please", "try", "make", "so",
                 "which", "that", "where")
TICKABLE = ("checkbox", "radio")  # widgets whose label is beside them
ITEM_KINDS = ["checkbox", "radio", "word", "line", "link", "button"]  # what "select A, B" may point at
FIELD_WORDS = ("field", "textbox", "text box", "input", "box", "area", "textarea")
KIND_WORDS = {"button": ["button", "icon"], "link": ["link", "word", "line"], "checkbox": ["checkbox"],
              "radio": ["radio"], "tab": ["word", "line", "button"], "icon": ["icon", "button"]}
# 'a "checkbox" widget': the quoted word names a KIND of element, not a label.
WIDGET_KINDS = {"button": "button", "checkbox": "checkbox", "check box": "checkbox", "radio": "radio",
                "radio button": "radio", "text": "input", "text field": "input", "textbox": "input",
                "text box": "input", "input": "input", "text input": "input", "textarea": "textarea",
                "text area": "textarea", "link": "link", "dropdown": "dropdown", "drop down": "dropdown",
                "select": "dropdown", "slider": "slider", "icon": "icon"}


@dataclass
class Step:
    """One planned action: op in click | type | key | focus | close | scroll (text: down or up) | unsupported (text
    says what cannot be done); target: label text ('' for any);
    kinds: preferred element kinds; ordinal: 1-based (or -1: last) among matching elements; text: to type, or the
    key(s) to press ('+'-joined pyautogui names); similar: the target is a meaning ("words similar to big"), matched
    by the text encoder, not by spelling. The everyday forms of agents/intents.py add the ops toggle (text: on, off
    or ''), row and confirm (text: the verb), suggest, nextmonth and day (text: the day number); spin (text: the
    number to set a spinner to by its arrow keys); pause (text: seconds, agents/pausing.py)."""

    op: str
    target: str = ""
    kinds: list[str] | None = None
    ordinal: int | None = None
    text: str = ""
    similar: bool = False
    fill: bool = False  # a focus step whose target is "label value" (agents/everyday.py splits it on the screen)
    # (the ops of a sign-up: name, a name to fill in one field or over first and last; again, a password's repeat
    # field, if the form has one; datefield: the field whose picker holds the date, unless a calendar shows)
    loose: bool = False  # a click whose target is a clause naming a button ("place the order")


def _quotes(instruction: str) -> tuple[str, list[str]]:
    """Replace "quoted" parts with placeholders QUOTE0, QUOTE1 ... so splitting never cuts inside them."""
    found: list[str] = []

    def sub(m: re.Match) -> str:
        found.append(m.group(1) or m.group(2) or "")
        return f" QUOTE{len(found) - 1} "

    return re.sub(r'"([^"]*)"|\u201c([^\u201d]*)\u201d', sub, instruction), found


def _unquote(text: str, quoted: list[str]) -> str:
    return re.sub(r"QUOTE(\d+)", lambda m: quoted[int(m.group(1))], text).strip()


def _kinds(clause: str) -> list[str] | None:
    for word, kinds in KIND_WORDS.items():
        if re.search(rf"\b{word}s?\b", clause):
            return kinds
    return None


def _strip_target(text: str) -> str:
    """'on the ONE button' -> 'ONE'."""
    t = re.sub(r"^(on|at|onto)\s+", "", text.strip(), flags=re.I)
    t = re.sub(r"^(the|a|an)\s+", "", t, flags=re.I)
    t = re.sub(r"^(button|link|tab|checkbox|icon|item|option)\s+(?=\S)", "", t, flags=re.I) \
        if not re.fullmatch(r"tab\s+#?\d+", t, re.I) else t
    t = re.sub(r"\s+(below|above|here|underneath|on the page|on the screen)$", "", t, flags=re.I)
    t = re.sub(r"\s+(?:when|once)\s+(?:you\s+are\s+|you're\s+)?(?:done|finished|ready)$", "", t, flags=re.I)
    t = re.sub(r"\s+(button|link|checkbox|tab|icon|item|option)s?$", "", t, flags=re.I)
    t = t.strip(" .,!")
    return "" if re.fullmatch(r"(button|link|checkbox|icon|item|option)s?", t, re.I) else t


def _clauses(text: str) -> list[str]:
    """Split at sentence ends, 'and (then)' and 'then'. A comma separates commands when a (lower-case) command verb
    follows it: "type A into B, check C, click D"; other commas separate the items of a list ("select A, B and C")."""
    verbs = "|".join(CLICK_VERBS + TYPE_VERBS + CHECK_VERBS + ("focus", "close", "dismiss", "scroll"))
    out = []
    for c in re.split(rf"(?:[.;!]\s+|[.;!]$|,?\s+and\s+(?:then\s+)?|,\s*then\s+|\bthen\s+|"
                      rf",\s*(?=(?:{verbs})\s|{pausing.SPLIT}))", text):
        c = c.strip() if c else ""
        m = RUN_ON.match(c)
        if m and c.split()[0].lower() in RUN_ON_FIRST:  # "scroll the text to the top hit submit": two commands
            out += [m.group(1), m.group(2)]
        elif c:
            out.append(c)
    return out


# A command run on without "and" ("... of the text hit submit"): a click verb and at most two words ending a clause
# that began with another kind of command.
RUN_ON = re.compile(r"^(.+?\S)\s+((?:click|press|hit|tap)\s+(?:on\s+)?(?:the\s+)?\S+(?:\s+\S+)?)$", re.I)
RUN_ON_FIRST = ("scroll", "focus", "type", "enter", "input", "write", "fill", "check", "tick", "select")


@dataclass
class _Planner:
    """Turns clauses into steps, one at a time. A clause may continue what came before: the items of "check A, B and
    C" ("C" is a clause of its own), or the fields of "type "x" into A and the password "y"" (the typing verb carries
    over)."""

    quoted: list[str]
    steps: list[Step] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # the list being checked
    similar: bool = False  # its items are meanings, not labels
    typing: bool = False  # the last clause typed
    filling: bool = False  # the last clause was "fill in A, B": a clause with no verb goes on with its list
    row: str = ""  # "find the email by Ann": the row a later "click the trash icon" acts in
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (steps before it, clause) not understood

    def add(self, clause: str) -> None:
        means = re.match(r"(?:use|using)\s+(.+?)\s+to\s+(\w+)\b(.*)$", clause, re.I)
        if means:  # "use the textbox to enter "x"": the tool named is where the action happens
            tool, verb, rest = means.groups()
            where = "" if re.search(r"\b(into|in|on|inside)\b", rest, re.I) else f" into {tool}"
            clause = f"{verb}{rest}{where}" if verb.lower() in TYPE_VERBS else f"{verb}{rest}"
        low = clause.lower()
        verb = low.split()[0] if low.split() else ""
        rest = clause[len(verb):].strip()
        row = intents.row_context(verb, _unquote(rest, self.quoted))
        if row:
            self.row = row
            return
        everyday = self._everyday(verb, rest, clause)
        self.filling = bool(everyday) and everyday[0].fill
        if everyday:
            self.steps += everyday
            return
        if verb in CHECK_VERBS:
            if rest.lower() not in ("nothing", "none"):  # "select nothing": no step
                self._check(rest)
            return
        if verb in ("focus", "go", "move") or re.match(r"(click|tap)\s+(in|into|inside)\b", low):
            self.steps.append(Step("focus", _field_target(rest, self.quoted), ["input"], ordinal(low)))
            return
        if verb == "scroll":  # "scroll to the bottom of the textarea": over it, as far as a scroll goes
            way, where = scroll_request(rest)
            kind = WIDGET_KINDS.get(norm(_unquote(where, self.quoted)))
            target = "" if kind else _unquote(_strip_target(where), self.quoted)
            self.steps.append(Step("scroll", target, [kind] if kind else None if target else ["textarea"], text=way))
            return
        if verb in ("close", "dismiss", "exit"):
            q = re.search(r"QUOTE\d+", rest)
            self.steps.append(Step("close", _unquote(q.group(0), self.quoted) if q else "x"))
            return
        if verb in TYPE_VERBS or (self.typing and re.match(r"(the|your)\s+\w+\s+QUOTE\d+", low, re.I)):
            self.typing = True  # "... and the password "x" ...": the typing verb carries over
            self.steps += _type_steps(rest if verb in TYPE_VERBS else clause, self.quoted)
            return
        self.typing = False
        if verb in CLICK_VERBS:
            step = self._click(verb, rest)
            self.steps += step if isinstance(step, list) else [step]
        elif self.items and clause:  # "check A, B and C": "C" arrives as its own clause
            self.steps.append(_item_step(clause, self.similar, self.quoted))
        elif verb and verb not in CONTEXT_VERBS:  # a command this parser does not know: said, never dropped (the
            # policy may still find a button named by its words on the screen: "place the order")
            self.dropped.append((len(self.steps), _unquote(clause, self.quoted)))

    def _everyday(self, verb: str, rest: str, clause: str) -> list[Step]:
        """The everyday-application forms of agents/intents.py ([] when the clause is none of them)."""
        text, body = _unquote(clause, self.quoted), _unquote(rest, self.quoted)
        if self.filling and verb not in CLICK_VERBS + TYPE_VERBS + CHECK_VERBS:  # "... and city Paris"
            return _fill_steps([text])
        reading = readings.step(text)  # a number on the screen decides: until, classify, inorder
        if reading:
            return [Step(reading[0], reading[1], text=reading[2])]
        path = intents.menu_path(text)
        if path:
            return [Step("click", item) for item in path]
        setting = intents.set_value(body) if verb in ("set", "move", "drag", "slide") else None
        if setting and is_slider(setting[0]):  # "set the slider to 7": its knob (sliding.py)
            return _widget_steps(setting[1], setting[0])
        if setting and verb == "set":
            day = intents.month_day(setting[1])
            if day:
                return [Step("focus", setting[0], ["input"]), *([Step("nextmonth")] if day[1] else []),
                        Step("day", text=str(day[0]))]
            return [Step("focus", setting[0], ["input"]), Step("key", text="ctrl+a"), Step("type", text=setting[1]),
                    Step("suggest", setting[1])]
        dated = intents.date_in(text)
        if dated:
            return _date_steps(*dated)
        switch = intents.toggle(verb, body)
        if switch:
            return [Step("toggle", switch[0], text=switch[1])]
        row = intents.row_action(verb, body)
        if row:
            # The action may sit in the row's menu and then be confirmed: two looks at what the click opened.
            return [Step("row", row, text=verb), Step("confirm", text=verb), Step("confirm", text=verb)]
        chunks = intents.fill_chunks(body) if verb == "fill" else None
        if chunks:
            return _fill_steps(chunks)
        fmt = intents.as_format(verb, body)
        return [Step("click", fmt[0]), Step("click", fmt[1])] if fmt else []

    def _check(self, rest: str) -> None:
        """'select X from the list' (focus the list, type the option, confirm), '5 with the spinner' (a value for a
        widget), or the items of a list to check."""
        widget = widget_value(rest)
        if widget:
            self.steps += _widget_steps(_unquote(widget[0], self.quoted), widget[1])
            return
        choice = list_choice(rest)
        if choice:
            self.steps += _list_steps(_unquote(choice, self.quoted))
            return
        similar = re.match(r"(?:all\s+)?(?:the\s+)?(?:words?|items?|options?)\s+(?:similar|related|close)\s+"
                           r"(?:to|in meaning to)\s+", rest, re.I)
        if similar:
            rest = rest[similar.end():]
        raw = [i for i in re.split(r",\s*", rest) if i.strip()]
        self.items = [_unquote(_strip_target(i), self.quoted) for i in raw]
        self.similar = bool(similar)
        self.steps += [_item_step(i, self.similar, self.quoted) for i in raw]

    def _click(self, verb: str, body: str) -> Step | list[Step]:
        """A key ("press enter"), a chord ("press ctrl+alt+delete": keys, judged as keys by the safety layer), any
        widget of a kind ('click on a "checkbox" widget') or a labelled target."""
        key = re.fullmatch(r"(?:the\s+)?(\w+)\s*(?:key)?", body.lower())
        if verb in ("press", "hit") and key and key.group(1) in KEYS and "QUOTE" not in body:
            return Step("key", text=KEYS[key.group(1)])
        chord = key_chord(body) if verb in ("press", "hit") else None
        if chord:
            return Step("key", text=chord)
        value = widget_value(body)
        if value and verb not in ("press", "hit"):  # "choose 5 with the spinner"
            return _widget_steps(_unquote(value[0], self.quoted), value[1])
        choice = list_choice(body) if verb in ("choose", "pick") else None
        if choice:  # "choose X from the drop-down menu"
            return _list_steps(_unquote(choice, self.quoted))
        if self.row and _kinds(body.lower()) in (KIND_WORDS["icon"], KIND_WORDS["button"]):
            # "find the email by Ann and click the trash icon (to delete it)": that row's control, as a row action
            # whose verb is the purpose, else the control's own word
            purpose = re.search(r"\bto\s+(\w+)\s+(?:it|them|this|that)\b", body, re.I)
            word = purpose.group(1) if purpose else _unquote(_strip_target(drop_purpose(body)), self.quoted)
            return [Step("row", self.row, text=word), Step("confirm", text=word), Step("confirm", text=word)]
        body = drop_purpose(body)  # "the trash icon to delete it": the purpose names nothing
        widget = re.search(r"QUOTE(\d+)\s+(?:widget|element|control)s?\b", body, re.I)
        kind = WIDGET_KINDS.get(norm(self.quoted[int(widget.group(1))])) if widget else None
        if kind:
            return Step("click", "", [kind], ordinal(body.lower()))
        quote = re.search(r"QUOTE\d+", body)
        target = _unquote(quote.group(0) if quote else _strip_target(body), self.quoted)
        where = positional(target) if not quote else None
        if where:  # "the 3rd checkbox": a position among elements of a kind, not a label
            return Step("click", "", where[2] or _kinds(body.lower()) or ["button", "link"], where[1])
        return Step("click", target, _kinds(body.lower()), ordinal(body.lower()))


def _item_step(item: str, similar: bool, quoted: list[str]) -> Step:
    """One item of "check A, B": a label, or a position ("the 2nd checkbox")."""
    where = positional(item) if not (similar or "QUOTE" in item) else None
    if where:
        return Step("click", "", where[2] or ["checkbox", "radio"], where[1])
    return Step("click", _unquote(_strip_target(item), quoted), ITEM_KINDS, similar=similar)


def _fill_steps(chunks: list[str]) -> list[Step]:
    """"first name Alan" -> focus the field its first words name (or the next empty one), type the rest."""
    return [s for c in chunks for s in (Step("focus", c, ["input"], fill=True), Step("type", text=c))]


def _date_steps(rest: str, day: int, ahead: int) -> list[Step]:
    """'Reserve a table' + the 9th of next month: open the date's picker (unless a calendar shows), the next
    month, the day; then the button the sentence's verb names, unless the verb only sets the date."""
    steps = [Step("datefield", rest), *([Step("nextmonth")] if ahead else []), Step("day", text=str(day))]
    verb = rest.split()[0].lower() if rest.split() else ""
    if verb and verb not in SET_VERBS:
        steps.append(Step("click", intents.loose_target(rest), ["button", "link"], loose=True))
    return steps


def _account_steps(verb: str, name: str, chunks: list[str]) -> list[Step]:
    """A sign-up: the name (one field, or first and last), each detail by its field's label, a password again
    where the form asks for it twice."""
    steps = [Step("name", name, ["input"]), Step("type", text=name)] if name else []
    for chunk in chunks:
        steps += _fill_steps([chunk])
        attr, value = chunk.split(maxsplit=1) if " " in chunk else (chunk, "")
        if attr.lower().startswith("pass"):
            steps += [Step("again", value, ["input"]), Step("type", text=value)]
    return steps


def _list_steps(choice: str) -> list[Step]:
    """Choose from a list: open it, then click the option where it shows (the policy's "pick": the opened list is
    scrolled to look, and typed to when the option is not found: a list jumps to what is typed)."""
    return [Step("click", "", ["dropdown", "button", "input"]), Step("pick", choice)]


def _widget_steps(value: str, widget: str) -> list[Step]:
    """'5 with the spinner': focus the field, select what it holds and type the value. A dragged widget (a slider)
    other than a slider is no step this policy can take: say so rather than click something else."""
    if is_spun_widget(widget):  # stepped by its arrow keys from the number it shows (the policy's "spin")
        return [Step("focus", "", ["input"]), Step("spin", text=value)]
    if is_typed_widget(widget):
        return [Step("focus", "", ["input"]), Step("key", text="ctrl+a"), Step("type", text=value)]
    if is_slider(widget) and integer(value) is not None:  # its knob, arrow keys (sliding.py)
        return [Step("slide", text=value)]
    return [Step("unsupported", text=f"set the {widget} to {value}")]


def parse_plan(instruction: str) -> tuple[list[Step], list[tuple[int, str]]]:
    """Instruction text -> (planned steps, the clauses not understood, each with the number of steps planned before
    it: the point where the plan stops covering the instruction)."""
    signin = intents.login(" ".join(instruction.replace('"', " ").split()))
    if signin:  # "log in with jo@example.com and the password Kite7": one request, though it says "and"
        verb, user, password = signin
        return [Step("focus", "", ["input"], 1), Step("type", text=user), Step("focus", "password", ["input"]),
                Step("type", text=password), Step("click", verb, ["button", "link"], loose=True)], []
    signup = intents.account(" ".join(instruction.replace('"', " ").split()))
    if signup:  # "create an account for Al Ng with the email ... and the password ...": one request
        verb, name, chunks, tail = signup
        steps = _account_steps(verb, name, chunks)
        more, dropped = parse_plan(tail) if tail else ([], [])
        submit = [] if re.search(r"\b(?:click|press|tap|hit|submit)\b", tail, re.I) else \
            [Step("click", "|".join(dict.fromkeys((verb, *intents.ACCOUNT_VERBS))), ["button", "link"], loose=True)]
        return steps + more + submit, [(k + len(steps), c) for k, c in dropped]
    # "between 3 and 8" is one range, not two commands
    text = re.sub(r"\b(between\s+\S*\d)\s+and\s+(?=\S*\d)", r"\1 through ", " ".join(instruction.split()))
    text, quoted = _quotes(text)
    planner = _Planner(quoted)
    for clause in _clauses(text):
        pause = pausing.seconds_in(clause)  # "wait 3 seconds": a pause of its own, timed from the action before it
        if pause is not None:
            planner.steps.append(Step("pause", text=f"{pause:g}"))
            continue
        wait = readings.when(clause)  # "buy X when the price is below $5": the number is waited for first
        planner.steps += [Step("await", wait[2], text=wait[1])] if wait else []
        planner.add(wait[0] if wait else clause)
    return planner.steps, planner.dropped


def parse(instruction: str) -> list[Step]:
    """Instruction text -> planned steps (empty when nothing is understood)."""
    return parse_plan(instruction)[0]


def _type_steps(rest: str, quoted: list[str]) -> list[Step]:
    """'"bob" into the username field' / 'the username "bob"' / '"x" into both text fields' -> focus + type steps."""
    case = None
    m = re.search(r"\b(?:in\s+)?(?:all\s+)?(upper|lower|capital)[\s-]?(?:case)?\s*(?:letters)?\b", rest, re.I)
    if m:
        case = "lower" if m.group(1).lower() == "lower" else "upper"
        rest = (rest[:m.start()] + " " + rest[m.end():]).strip()
    m = re.match(r"(.+?)\s+(?:into|in|to|on|inside)\s+(.+)$", rest, re.I) or \
        re.match(r"(.+?)\s+as\s+(.+)$", rest, re.I)  # "10/20/2017 as the date"
    value, where = (m.group(1), m.group(2)) if m else (rest, "")
    value = re.sub(r"^(the\s+)?(text|word|value|string)\s+", "", value.strip(), flags=re.I)
    named = re.fullmatch(r"(?:the|your|a)\s+(\w+)\s+(\S+)", value, re.I)  # "the password hunter2"
    field_name = ""
    if named:
        field_name, value = named.group(1), named.group(2)
    value = _unquote(value, quoted)
    if case == "upper":
        value = value.upper()
    elif case == "lower":
        value = value.lower()
    target = _field_target(where, quoted)
    if field_name and (not target or re.search(r"\bfields\b", where, re.I)):
        target = field_name
    if re.search(r"\b(both|two)\b", where, re.I):
        return [s for n in (1, 2) for s in (Step("focus", "", ["input"], n), Step("type", text=value))]
    return [Step("focus", target, ["input"], ordinal(where.lower())), Step("type", text=value)]


def _field_target(where: str, quoted: list[str]) -> str:
    """'the username field' -> 'username'; 'the textbox' -> '' (any text field)."""
    t = re.sub(r"^(into|in|on|onto|to|inside)\s+", "", where.strip(), flags=re.I)
    t = _strip_target(_unquote(t, quoted))
    t = re.sub(r"\b(" + "|".join(FIELD_WORDS) + r"|fields|text|input|both|two|all)\b", " ", t, flags=re.I)
    t = re.sub(r"\b(\d+(st|nd|rd|th)|first|second|third|fourth|fifth|last)\b", " ", t, flags=re.I)
    return " ".join(t.split())


def keyboard_action(step: Step) -> Any | None:
    """The Type or Hotkey a type or key step becomes; None for a pointer step or text the keyboard cannot type."""
    try:
        if step.op == "type":
            return Type(text=step.text)
        if step.op == "key":
            return Hotkey(keys=step.text.split("+") if len(step.text) > 1 else [step.text])
    except ValueError:  # pydantic: a character the keyboard cannot type
        return None
    return None
