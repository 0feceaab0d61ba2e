"""The steps the instruction parser (agents/plan.py) plans, and how the parts of a clause become them: a value typed
into a field named by its label ("type "bob" into the username field"), the items of a list to check, the fields of
"fill in ...", a date picked, a sign-up's fields, a choice from a list, a value set with a widget (a spinner, a
slider). `keyboard_action` is the Type or Hotkey a keyboard step becomes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from omnirt.agents import intents
from omnirt.agents.actions import Hotkey, Type
from omnirt.agents.phrases import integer, is_slider, is_spun_widget, is_typed_widget, ordinal, positional

SET_VERBS = ("set", "pick", "choose", "select", "change", "enter", "put", "fill", "use", "make")
ITEM_KINDS = ["checkbox", "radio", "word", "line", "link", "button"]  # what "select A, B" may point at
FIELD_WORDS = ("field", "textbox", "text box", "input", "box", "area", "textarea")


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
    look: str = ""  # a row step's control named by its icon ("the star icon"), told by its look (agents/icons.py)
    explore: str = ""  # a click whose target may be inside one of these containers, opened in turn ("tab")
    need: bool = False  # a suggest step whose entry must be chosen ("an item that starts with X"): waited for


def unquote(text: str, quoted: list[str]) -> str:
    return re.sub(r"QUOTE(\d+)", lambda m: quoted[int(m.group(1))], text).strip()


def strip_target(text: str) -> str:
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


def item_step(item: str, similar: bool, quoted: list[str]) -> Step:
    """One item of "check A, B": a label, or a position ("the 2nd checkbox")."""
    where = positional(item) if not (similar or "QUOTE" in item) else None
    if where:
        return Step("click", "", where[2] or ["checkbox", "radio"], where[1])
    return Step("click", unquote(strip_target(item), quoted), ITEM_KINDS, similar=similar)


def fill_steps(chunks: list[str]) -> list[Step]:
    """"first name Alan" -> focus the field its first words name (or the next empty one), type the rest."""
    return [s for c in chunks for s in (Step("focus", c, ["input"], fill=True), Step("type", text=c))]


def date_steps(rest: str, day: int, ahead: int) -> list[Step]:
    """'Reserve a table' + the 9th of next month: open the date's picker (unless a calendar shows), the next
    month, the day; then the button the sentence's verb names, unless the verb only sets the date."""
    steps = [Step("datefield", rest), *([Step("nextmonth")] if ahead else []), Step("day", text=str(day))]
    verb = rest.split()[0].lower() if rest.split() else ""
    if verb and verb not in SET_VERBS:
        steps.append(Step("click", intents.loose_target(rest), ["button", "link"], loose=True))
    return steps


def account_steps(verb: str, name: str, chunks: list[str]) -> list[Step]:
    """A sign-up: the name (one field, or first and last), each detail by its field's label, a password again
    where the form asks for it twice."""
    steps = [Step("name", name, ["input"]), Step("type", text=name)] if name else []
    for chunk in chunks:
        steps += fill_steps([chunk])
        attr, value = chunk.split(maxsplit=1) if " " in chunk else (chunk, "")
        if attr.lower().startswith("pass"):
            steps += [Step("again", value, ["input"]), Step("type", text=value)]
    return steps


def list_steps(choice: str) -> list[Step]:
    """Choose from a list: open it, then click the option where it shows (the policy's "pick": the opened list is
    scrolled to look, and typed to when the option is not found: a list jumps to what is typed). Several options
    ("A, B from the list"): each picked in turn, the later ones with ctrl held (added to the selection)."""
    items = [i.strip() for i in re.split(r",\s*", choice) if i.strip()]
    return [Step("click", "", ["dropdown", "button", "input"])] + \
        [Step("pick", item, text="ctrl" if k else "") for k, item in enumerate(items or [choice])]


def widget_steps(value: str, widget: str) -> list[Step]:
    """'5 with the spinner': focus the field, select what it holds and type the value. A dragged widget (a slider)
    other than a slider is no step this policy can take: say so rather than click something else."""
    if is_spun_widget(widget):  # stepped by its arrow keys from the number it shows (the policy's "spin")
        return [Step("focus", "", ["input"]), Step("spin", text=value)]
    if is_typed_widget(widget):
        return [Step("focus", "", ["input"]), Step("key", text="ctrl+a"), Step("type", text=value)]
    if is_slider(widget) and integer(value) is not None:  # its knob, arrow keys (sliding.py); "the volume
        # slider": the one labelled Volume, of several
        name = " ".join(w for w in widget.split() if w.lower() not in ("the", "a", "an", "slider"))
        return [Step("slide", name, text=value)]
    return [Step("unsupported", text=f"set the {widget} to {value}")]


def type_steps(rest: str, quoted: list[str]) -> list[Step]:
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
    value = unquote(value, quoted)
    if case == "upper":
        value = value.upper()
    elif case == "lower":
        value = value.lower()
    target = field_target(where, quoted)
    if field_name and (not target or re.search(r"\bfields\b", where, re.I)):
        target = field_name
    if re.search(r"\b(both|two)\b", where, re.I):
        return [s for n in (1, 2) for s in (Step("focus", "", ["input"], n), Step("type", text=value))]
    return [Step("focus", target, ["input"], ordinal(where.lower())), Step("type", text=value)]


def field_target(where: str, quoted: list[str]) -> str:
    """'the username field' -> 'username'; 'the textbox' -> '' (any text field)."""
    t = re.sub(r"^(into|in|on|onto|to|inside)\s+", "", where.strip(), flags=re.I)
    t = strip_target(unquote(t, quoted))
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
