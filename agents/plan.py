"""The instruction parser of the rule-based policy (agents/policies.py): instruction text -> planned steps (the
steps, and how a clause's parts become them, are agents/plan_steps.py).

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

from omnirt.agents import exploring, intents, messages, ordering, pausing, readings, scheduling, search_forms, sliding
from omnirt.agents.grounding import norm
from omnirt.agents.phrases import (  # noqa: F401  (key_chord: re-exported)
    drop_purpose, is_slider, key_chord, list_choice, ordinal, positional, scroll_request, widget_value)
from omnirt.agents.plan_steps import (  # noqa: F401  (Step, keyboard_action: re-exported, the parser's API)
    Step, account_steps, date_steps, field_target, fill_steps, item_step, keyboard_action, list_steps, strip_target,
    type_steps, unquote, widget_steps)

KEYS = {"enter": "enter", "return": "enter", "tab": "tab", "escape": "esc", "esc": "esc", "space": "space",
        "backspace": "backspace"}
CLOSE_GLYPHS = ("x", "×", "✕", "✖", "close")
CLICK_VERBS = ("click", "press", "tap", "hit", "push", "choose", "pick", "open", "expand", "collapse", "unfold",
               "toggle")
TYPE_VERBS = ("enter", "type", "fill", "input", "write", "put")
CHECK_VERBS = ("check", "tick", "mark", "select")
SETTING_VERBS = ("set", "move", "drag", "slide", "change", "adjust")
# Clauses that set the scene rather than ask for an action of their own ("find the email by Ann and click ...",
# "below is a form", "you may need to scroll"): not commands left undone.
CONTEXT_VERBS = ("find", "locate", "look", "see", "read", "navigate", "browse", "explore", "wait", "note", "notice",
                 "remember", "there", "this", "below", "above", "here", "you", "it", "the", "a", "an", "when", "if",
                 "to", "in", "on", "from", "for", "with", "after", "before", "now", "please", "try", "make", "so",
                 "which", "that", "where")
TICKABLE = ("checkbox", "radio")  # widgets whose label is beside them
KIND_WORDS = {"button": ["button", "icon"], "link": ["link", "word", "line"], "checkbox": ["checkbox"],
              "radio": ["radio"], "tab": ["word", "line", "button"], "icon": ["icon", "button"]}
# 'a "checkbox" widget': the quoted word names a KIND of element, not a label.
WIDGET_KINDS = {"button": "button", "checkbox": "checkbox", "check box": "checkbox", "radio": "radio",
                "radio button": "radio", "text": "input", "text field": "input", "textbox": "input",
                "text box": "input", "input": "input", "text input": "input", "textarea": "textarea",
                "text area": "textarea", "link": "link", "dropdown": "dropdown", "drop down": "dropdown",
                "select": "dropdown", "slider": "slider", "icon": "icon"}


def _quotes(instruction: str) -> tuple[str, list[str]]:
    """Replace "quoted" parts with placeholders QUOTE0, QUOTE1 ... so splitting never cuts inside them."""
    found: list[str] = []

    def sub(m: re.Match) -> str:
        found.append(m.group(1) or m.group(2) or "")
        return f" QUOTE{len(found) - 1} "

    return re.sub(r'"([^"]*)"|\u201c([^\u201d]*)\u201d', sub, instruction), found


def _kinds(clause: str) -> list[str] | None:
    for word, kinds in KIND_WORDS.items():
        if re.search(rf"\b{word}s?\b", clause):
            return kinds
    return None


def _clauses(text: str) -> list[str]:
    """Split at sentence ends, 'and (then)' and 'then'. A comma separates commands when a (lower-case) command verb
    follows it: "type A into B, check C, click D"; other commas separate the items of a list ("select A, B and C").
    A full stop followed by a lower-case word that is no command verb ends no sentence: it is a word's own ("give the
    text integer. the style bold", "e.g. the ...")."""
    verbs = "|".join(CLICK_VERBS + TYPE_VERBS + CHECK_VERBS + ("focus", "close", "dismiss", "scroll", "forward") +
                     messages.REPLY_VERBS)
    out = []
    for c in re.split(rf"(?:[.!]\s+(?=[^a-z]|(?:{verbs})\s)|;\s+|[.;!]$|,?\s+and\s+(?:then\s+)?|,\s*then\s+|\bthen\s+|"
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
    reply: Step | None = None  # a reply's typing step whose text a later clause says ("... and tell her "x"")
    reply_at: tuple[int, str] = (0, "")  # where the reply's steps begin, and its clause
    explore: tuple[int, str] = (-1, "")  # "switch between the tabs to find ...": from which step, what containers
    setting: str = ""  # the last clause set a value ("set A to 3"): its verb carries over to "and B to 4"

    def unsaid(self) -> None:
        """A reply whose text no clause said ("reply to it"): its steps go, the clause is not understood."""
        if self.reply is not None:
            at, clause = self.reply_at
            del self.steps[at:]
            self.dropped.append((at, clause))
            self.reply = None

    def _message_row(self, verb: str, rest: str) -> str:
        """'go to the email by Ann', 'look for Ann's message', 'search for the mail Ann sent you' -> 'Ann'."""
        if verb not in ("find", "locate", "look", "see", "spot", "go", "navigate", "search", "get", "check"):
            return ""
        return messages.reference(re.sub(r"^(?:to|for|at|up)\s+", "", unquote(rest, self.quoted), flags=re.I)) or ""

    def add(self, clause: str) -> None:
        means = re.match(r"(?:use|using)\s+(.+?)\s+to\s+(\w+)\b(.*)$", clause, re.I)
        if means:  # "use the textbox to enter "x"": the tool named is where the action happens
            tool, verb, rest = means.groups()
            where = "" if re.search(r"\b(into|in|on|inside)\b", rest, re.I) else f" into {tool}"
            clause = f"{verb}{rest}{where}" if verb.lower() in TYPE_VERBS else f"{verb}{rest}"
        clause = messages.polite(clause)  # "please ...", "I'd like to ...": the command itself
        noun = exploring.containers(clause)
        if noun:  # the clicks after it look through those containers for a target not in sight
            self.explore = (len(self.steps), noun)
            return
        low = clause.lower()
        verb = low.split()[0] if low.split() else ""
        if self.setting and verb in ("the", "my", "its") and re.search(r"\s(?:to|as)\s", low):
            clause, low, verb = f"{self.setting} {clause}", f"{self.setting} {low}", self.setting  # "set A to 3
            # and B to 4": the setting verb carries over
        self.setting = verb if verb in SETTING_VERBS else ""
        rest = clause[len(verb):].strip()
        row = intents.row_context(verb, unquote(rest, self.quoted)) or self._message_row(verb, rest)
        if row:
            self.row = row
            return
        said = messages.told(verb, rest) if self.reply is not None else None
        if said:  # "... and tell her that "x"": the text of the reply asked for before
            self.reply.text, self.reply = unquote(said, self.quoted), None
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
            self.steps.append(Step("focus", field_target(rest, self.quoted), ["input"], ordinal(low)))
            return
        if verb == "scroll":  # "scroll to the bottom of the textarea": over it, as far as a scroll goes
            way, where = scroll_request(rest)
            kind = WIDGET_KINDS.get(norm(unquote(where, self.quoted)))
            target = "" if kind else unquote(strip_target(where), self.quoted)
            self.steps.append(Step("scroll", target, [kind] if kind else None if target else ["textarea"], text=way))
            return
        if verb in ("close", "dismiss", "exit"):
            q = re.search(r"QUOTE\d+", rest)
            self.steps.append(Step("close", unquote(q.group(0), self.quoted) if q else "x"))
            return
        if verb in TYPE_VERBS or (self.typing and re.match(r"(the|your)\s+\w+\s+QUOTE\d+", low, re.I)):
            self.typing = True  # "... and the password "x" ...": the typing verb carries over
            self.steps += type_steps(rest if verb in TYPE_VERBS else clause, self.quoted)
            return
        self.typing = False
        if verb in CLICK_VERBS:
            step = self._click(verb, rest)
            self.steps += step if isinstance(step, list) else [step]
        elif self.items and clause:  # "check A, B and C": "C" arrives as its own clause
            self.steps.append(item_step(clause, self.similar, self.quoted))
        elif verb and verb not in CONTEXT_VERBS:  # a command this parser does not know: said, never dropped (the
            # policy may still find a button named by its words on the screen: "place the order")
            self.dropped.append((len(self.steps), unquote(clause, self.quoted)))

    def _everyday(self, verb: str, rest: str, clause: str) -> list[Step]:
        """The everyday-application forms of agents/intents.py ([] when the clause is none of them)."""
        text, body = unquote(clause, self.quoted), unquote(rest, self.quoted)
        if self.filling and verb not in CLICK_VERBS + TYPE_VERBS + CHECK_VERBS:  # "... and city Paris"
            return fill_steps([text])
        affix = intents.affixed_item(text)
        if affix:  # "an item that starts with "Sa" and ends with "ino"": typed, then the suggestion that fits
            return [Step("focus", "", ["input"]), Step("type", text=affix[0]),
                    Step("suggest", affix[0], text=affix[1], need=True)]
        sought = search_forms.query(text)
        if sought:  # "search for X directed by Y": the form's fields, read on the screen (agents/search_forms.py)
            return [Step("search", sought)]
        message = messages.request(verb, rest) or messages.passive(clause)  # "reply to them with "x"", "forward
        # that email to Bo", "send Bo the email you got from Ann", "the mail by Ann should be sent to Bo"
        if message:
            steps = messages.steps(message[0], unquote(message[1], self.quoted), message[2] or self.row)
            typed = [st for st in steps if st.op == "type"]
            self.reply = typed[0] if message[0] == "reply" and typed and not typed[0].text else None
            self.reply_at = (len(self.steps), text)
            return steps
        booked = scheduling.request(verb, text)
        if booked:  # "create a 1 hour event named X between 12PM and 4PM": dragged on a day calendar, then named
            return booked
        reading = readings.step(text)  # a number on the screen decides: until, classify, inorder
        if reading:
            return [Step(reading[0], reading[1], text=reading[2])]
        path = intents.menu_path(text)
        if path:
            return [Step("click", item) for item in path]
        setting = intents.set_value(body) if verb in SETTING_VERBS else None
        slid = sliding.requests(*setting) if setting else None
        if slid:  # "set the slider to 7", "the 2nd slider", "the sliders to [1, 5, 3]": each knob (sliding.py)
            return [Step("slide", name, text=value) for name, value in slid]
        if setting and is_slider(setting[0]):  # to no number: cannot
            return widget_steps(setting[1], setting[0])
        if setting and verb == "set":
            day = intents.month_day(setting[1])
            if day:
                return [Step("focus", setting[0], ["input"]), *([Step("nextmonth")] if day[1] else []),
                        Step("day", text=str(day[0]))]
            return [Step("focus", setting[0], ["input"]), Step("key", text="ctrl+a"), Step("type", text=setting[1]),
                    Step("suggest", setting[1])]
        dated = intents.date_in(text)
        if dated:
            return date_steps(*dated)
        switch = intents.toggle(verb, body)
        if switch:
            return [Step("toggle", switch[0], text=switch[1])]
        wanted = ordering.request(verb, body)
        if wanted:  # "order one of each item: A, B": each row's plus, then the order sent (agents/ordering.py)
            return ordering.steps(verb, wanted)
        row = intents.row_action(verb, body)
        ref = messages.reference(body) if row else None
        row = (ref or self.row or row) if ref is not None else row  # "delete it", "... the email Ann sent me"
        if row:
            # The action may sit in the row's menu and then be confirmed: two looks at what the click opened.
            return [Step("row", row, text=verb), Step("confirm", text=verb), Step("confirm", text=verb)]
        chunks = intents.fill_chunks(body) if verb == "fill" else None
        if chunks:
            return fill_steps(chunks)
        fmt = intents.as_format(verb, body)
        return [Step("click", fmt[0]), Step("click", fmt[1])] if fmt else []

    def _check(self, rest: str) -> None:
        """'select X from the list' (focus the list, type the option, confirm), '5 with the spinner' (a value for a
        widget), or the items of a list to check."""
        widget = widget_value(rest)
        if widget:
            self.steps += widget_steps(unquote(widget[0], self.quoted), widget[1])
            return
        choice = list_choice(rest)
        if choice:
            self.steps += list_steps(unquote(choice, self.quoted))
            return
        similar = re.match(r"(?:all\s+)?(?:the\s+)?(?:words?|items?|options?)\s+(?:similar|related|close)\s+"
                           r"(?:to|in meaning to)\s+", rest, re.I)
        if similar:
            rest = rest[similar.end():]
        raw = [i for i in re.split(r",\s*", rest) if i.strip()]
        self.items = [unquote(strip_target(i), self.quoted) for i in raw]
        self.similar = bool(similar)
        self.steps += [item_step(i, self.similar, self.quoted) for i in raw]

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
            return widget_steps(unquote(value[0], self.quoted), value[1])
        choice = list_choice(body) if verb in ("choose", "pick") else None
        if choice:  # "choose X from the drop-down menu"
            return list_steps(unquote(choice, self.quoted))
        if self.row and _kinds(body.lower()) in (KIND_WORDS["icon"], KIND_WORDS["button"]):
            # "find the email by Ann and click the trash icon (to delete it)": that row's control, as a row action
            # whose verb is the purpose, else the control's own word
            purpose = re.search(r"\bto\s+(\w+)\s+(?:it|them|this|that)\b", body, re.I)
            word = purpose.group(1) if purpose else unquote(strip_target(drop_purpose(body)), self.quoted)
            look = unquote(strip_target(drop_purpose(body)), self.quoted)
            return [Step("row", self.row, text=word, look=look), Step("confirm", text=word),
                    Step("confirm", text=word)]
        body = drop_purpose(body)  # "the trash icon to delete it": the purpose names nothing
        widget = re.search(r"QUOTE(\d+)\s+(?:widget|element|control)s?\b", body, re.I)
        kind = WIDGET_KINDS.get(norm(self.quoted[int(widget.group(1))])) if widget else None
        if kind:
            return Step("click", "", [kind], ordinal(body.lower()))
        quote = re.search(r"QUOTE\d+", body)
        target = unquote(quote.group(0) if quote else strip_target(body), self.quoted)
        where = positional(target) if not quote else None
        if where:  # "the 3rd checkbox": a position among elements of a kind, not a label
            return Step("click", "", where[2] or _kinds(body.lower()) or ["button", "link"], where[1])
        return Step("click", target, _kinds(body.lower()), ordinal(body.lower()))


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
        steps = account_steps(verb, name, chunks)
        more, dropped = parse_plan(tail) if tail else ([], [])
        submit = [] if re.search(r"\b(?:click|press|tap|hit|submit)\b", tail, re.I) else \
            [Step("click", "|".join(dict.fromkeys((verb, *intents.ACCOUNT_VERBS))), ["button", "link"], loose=True)]
        return steps + more + submit, [(k + len(steps), c) for k, c in dropped]
    # "between 3 and 8", "between 12PM and 4PM" are one range, not two commands
    text = re.sub(r"\b(between\s+\S*\d(?:\s?[ap]\.?m\b\.?)?)\s+and\s+(?=\S*\d)", r"\1 through ",
                  " ".join(instruction.split()), flags=re.I)
    text = re.sub(r"\s+and\s+(?=(?:ends|finishes)\s+with\b)", ", ", text)  # "starts with A and ends with B": one
    text = re.sub(r"(\bto\s+(?:the\s+\w+\s+)?[\[(]?-?\d+(?:\s*,\s*-?\d+)+)\s*,?\s+and\s+(?=-?\d+\b)", r"\1, ",
                  text)  # "to 3, 5 and 7": one list of values
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
    planner.unsaid()
    at, noun = planner.explore
    for s in planner.steps[at:] if noun else []:
        s.explore = s.target and s.op == "click" and noun or ""
    return planner.steps, planner.dropped


def parse(instruction: str) -> list[Step]:
    """Instruction text -> planned steps (empty when nothing is understood)."""
    return parse_plan(instruction)[0]


