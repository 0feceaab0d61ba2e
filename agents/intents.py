"""Everyday-application phrasing for the instruction parser (agents/plan.py): what people type to an app rather than
what a test page spells out ("Switch off push messages", "Remove Jo Park from the group", "Log in with a@b.c and
the password x", "Fill in first name Alan, last name Kay", "Set the date to the 5th of next month", "View >
Zoom > 200%", "Save the sheet as an XLSX file").

Each form becomes the parser's steps, with a few step kinds of their own that agents/everyday.py grounds:
- toggle: a switch or box named by its label, to be on or off (a switch stands to the right of its label);
- row: a control (usually an icon) on the row of a table or list that shows a name; confirm: the button of the
  confirmation dialog that may follow (optional: a page that asks nothing skips it);
- fill: a field named by the first words of "label value" (or, with no label said, the next empty field in reading
  order) gets the rest; suggest: after typing into a field, the suggestion list's entry that starts with what was
  typed (optional);
- day: a day number in an open calendar, after its next-month arrow ("next month").
A clause whose verb is no known command is read as the name of a button or link ("place the order", "save the
changes" -> the button whose words it shares): the `loose` click.

Only English and widget conventions, nothing about particular pages.
"""

from __future__ import annotations

import re
from typing import Any, Callable

ON_WORDS = ("on", "enable", "activate", "agree", "accept", "consent", "allow", "opt")
MENU_SEP = re.compile(r"\s*(?:>|›|»|->|→)\s*")
ROW_VERBS = ("delete", "remove", "archive", "trash", "discard", "edit", "rename", "duplicate", "restore")
DESTRUCTIVE = ("delete", "remove", "archive", "trash", "discard")
GENERIC_OBJECTS = r"(?:the\s+)?(?:changes?|settings?|form|preferences|it|everything|all)"
ROW_NOUNS = (r"(?:row|entry|line|record|item|user|member|email|message|mail|conversation|chat|thread|contact|file|"
             r"folder|document|doc|order|task|note|account|project|invoice|ticket|event|booking|meeting|post|"
             r"comment|product|customer|subscription|card|photo|album|playlist|job)")
# "the 9th of next month" inside a sentence ("Reserve a table for the 9th of next month"): an ordinal day is asked.
DATE_IN = re.compile(r",?\s*\b(?:on|for|to|by|at|from)?\s*(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\s+(?:of\s+)?"
                     r"(next|this)\s+month\b|,?\s*\b(?:on|for|to|by)?\s*(next|this)\s+month\s+on\s+the\s+"
                     r"(\d{1,2})(?:st|nd|rd|th)?\b", re.I)
# What a sign-up form asks for, as said in a sentence ("with the email a@b.c and the password x").
ACCOUNT_ATTRS = (r"(?:e-?mail(?:\s+address)?|password|pass\s*word|user\s*name|login|phone(?:\s+number)?|mobile(?:\s+"
                 r"number)?|company|organi[sz]ation|city|country|address|post\s*code|zip(?:\s+code)?|birthday|"
                 r"date\s+of\s+birth|job\s+title|role|website|nickname|display\s+name)")
ACCOUNT_VERBS = ("create account", "sign up", "register", "join", "get started", "create profile")
MONTH_DAY = re.compile(r"^(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(next|this)\s+month$", re.I)


def _article(text: str) -> str:
    return re.sub(r"^(?:the|a|an|my|your)\s+", "", text.strip(" .,!"), flags=re.I)


def _name(text: str) -> str:
    """'the night theme switch' -> 'night theme'; 'the licence' -> 'licence'."""
    t = _article(text)
    t = re.sub(r"\s+(?:switch|toggle|setting|option|checkbox|check box|box|feature)$", "", t, flags=re.I)
    return _article(t)


def login(text: str) -> tuple[str, str, str] | None:
    """'Log in with jo@example.com and the password Kite7' / 'sign in as kim with password Lamp42' ->
    ('log in', user, password); None when the sentence is not a sign-in."""
    m = re.match(r"^\s*((?:log|sign)\s*(?:in|on)|login)\s+(?:as|with)\s+(?:the\s+)?(?:user(?:name)?\s+|e-?mail\s+)?"
                 r"(\S+)\s*,?\s+(?:and|with|using)\s+(?:the\s+|a\s+)?(?:password|pass|pw)\s+(?:is\s+)?(\S+?)[.!]?\s*$",
                 text, re.I)
    if m is None:
        return None
    verb = re.sub(r"\s+", " ", m.group(1).lower())
    return ("log in" if verb == "login" else verb), m.group(2), m.group(3)


def menu_path(clause: str) -> list[str] | None:
    """'Zoom in using View > Zoom > 200%' -> ['View', 'Zoom', '200%']."""
    parts = MENU_SEP.split(clause)
    if len(parts) < 2:
        return None
    head = re.split(r"\b(?:using|via|with|from|through|in|open|choose|click|select|go\s+to|pick)\s+", parts[0],
                    flags=re.I)[-1]
    first = head.split()[-1] if len(head.split()) > 2 else head  # "... the File" -> "File"
    tail = re.split(r"\s+(?:to|so|in\s+order)\s+", parts[-1], flags=re.I)[0]
    items = [_article(first), *(p.strip() for p in parts[1:-1]), tail.strip(" .!")]
    return items if all(items) else None


def toggle(verb: str, rest: str) -> tuple[str, str] | None:
    """('turn', 'off push messages') -> ('push messages', 'off'); ('enable', 'night theme') -> (..., 'on');
    ('agree', 'to the licence') -> ('licence', 'on'); None when the clause is no such request."""
    v, r = verb.lower(), rest.strip()
    if v in ("turn", "switch", "toggle", "flip", "set"):
        m = re.match(r"^(on|off)\s+(.+)$", r, re.I) or re.match(r"^(.+?)\s+(on|off)$", r, re.I)
        if m is None:
            return (_name(r), "") if v in ("toggle", "flip") else None
        way, what = (m.group(1), m.group(2)) if m.group(1).lower() in ("on", "off") else (m.group(2), m.group(1))
        return _name(what), way.lower()
    if v in ("enable", "activate", "disable", "deactivate"):
        return _name(r), "on" if v in ("enable", "activate") else "off"
    if v in ("agree", "consent") and re.match(r"^to\s+", r, re.I):
        return _name(r[3:]), "on"
    if v == "accept":
        return _name(r), "on"
    return None


def row_action(verb: str, rest: str) -> str | None:
    """('remove', 'Jo Park from the group') -> 'Jo Park'; ('delete', 'the row for Al Ray') -> 'Al
    Ray'; ('archive', 'the message from Kim Ode') -> 'Kim Ode'. None for an object that names no row."""
    if verb.lower() not in ROW_VERBS:
        return None
    t = re.sub(r"\s+(?:from|in|off)\s+(?:the\s+|my\s+|this\s+)?[\w-]+(?:\s+(?:list|table|page))?$", "",
               rest.strip(" .!"), flags=re.I)
    t = re.sub(rf"^(?:the\s+)?{ROW_NOUNS}s?\s+(?:for|of|from|by|with|named|called|about)\s+", "", _article(t),
               flags=re.I)
    t = re.sub(rf"\s+{ROW_NOUNS}$", "", _article(t), flags=re.I)  # "the Q3 offsite project" -> "Q3 offsite"
    return _article(t) or None


def row_context(verb: str, rest: str) -> str | None:
    """('find', 'the email by Ann') -> 'Ann': a clause that only points at a row (an email, a contact) by what names
    it, so that the control a later clause clicks ("the trash icon") is that row's. None for anything else."""
    if verb.lower() not in ("find", "locate", "look", "see", "spot"):
        return None
    m = re.match(rf"^(?:for\s+|at\s+)?(?:the\s+)?{ROW_NOUNS}s?\s+(?:for|of|from|by|with|named|called|about|sent\s+by)"
                 rf"\s+(.+)$", rest.strip(" .!"), re.I)
    return _article(m.group(1)) or None if m else None


def fill_chunks(rest: str) -> list[str] | None:
    """'in first name Alan, last name Kay' -> ['first name Alan', 'last name Kay'] (what follows "fill");
    None when it says where to type ("fill in X into the name field": the parser's own typing form)."""
    m = re.match(r"^(?:in|out)\s+(?:the\s+form\s+with\s+|the\s+(?:details|fields)\s*:?\s*)?(.+)$", rest, re.I)
    if m is None or re.search(r"\s(?:into|in\s+the|in\s+field)\s", m.group(1), re.I):
        return None
    return [c.strip() for c in m.group(1).split(",") if c.strip()]


def set_value(rest: str) -> tuple[str, str] | None:
    """What follows "set": 'the departure to Oslo' -> ('departure', 'Oslo')."""
    m = re.match(r"^(?:the\s+)?(.+?)\s+(?:to|as)\s+(.+)$", rest.strip(" .!"), re.I)
    return (_name(m.group(1)), m.group(2).strip()) if m else None


def month_day(value: str) -> tuple[int, int] | None:
    """'the 5th of next month' -> (5, 1) (day, months ahead); None for any other value."""
    m = MONTH_DAY.match(value.strip(" .!"))
    if m is None or not 1 <= int(m.group(1)) <= 31:
        return None
    return int(m.group(1)), 1 if m.group(2).lower() == "next" else 0


def date_in(clause: str) -> tuple[str, int, int] | None:
    """'Reserve a table for the 9th of next month' -> ('Reserve a table', 9, 1): the clause without its
    date, the day, and months ahead; None when the clause names no such day."""
    m = DATE_IN.search(clause)
    if m is None:
        return None
    day, when = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    if not 1 <= int(day) <= 31:
        return None
    rest = (clause[:m.start()] + " " + clause[m.end():]).strip(" ,.!")
    return " ".join(rest.split()), int(day), 1 if when.lower() == "next" else 0


def account(text: str) -> tuple[str, str, list[str], str] | None:
    """A sign-up request: 'Create an account for Al Ng with the email a@n.io and the password P' / 'Sign up as Bo
    Li using b@l.cn, password x' -> (verb phrase, name, ['email a@n.io', 'password P'], what follows: '');
    None when the sentence is no such request. A value said alone is named by its look (an @: an email)."""
    m = re.match(r"^\s*(?:(create|open|make|set\s+up|register)\s+(?:a\s+|an\s+|the\s+|my\s+)?(?:new\s+)?"
                 r"(account|profile|user|login)\s+(?:for\s+)?|(sign\s*up|register|enrol+|join)\s+(?:as\s+|for\s+)?)"
                 r"(.+)$", text, re.I)
    if m is None:
        return None
    verb = f"{m.group(1)} {m.group(2)}" if m.group(1) else m.group(3)
    parts = re.split(r"\s*,\s*(?:and\s+)?|\s+(?:and|with|using)\s+", m.group(4).strip(" .!"))
    name, chunks, i = "", [], 0
    if parts and "@" not in parts[0] and not re.match(rf"(?:the\s+|my\s+|an?\s+)?{ACCOUNT_ATTRS}\s", parts[0], re.I):
        name, i = _article(parts[0]), 1
    for i in range(i, len(parts)):
        p = _article(parts[i])
        attr = re.match(rf"({ACCOUNT_ATTRS})\s+(?:of\s+|is\s+|as\s+)?(\S.*)$", p, re.I)
        if attr:
            chunks.append(f"{attr.group(1)} {attr.group(2)}")
        elif re.fullmatch(r"\S+@\S+\.\w+", p):
            chunks.append(f"email {p}")
        else:  # the account's details end here: the rest is another request ("then tick the terms")
            return (verb.lower(), name, chunks, ", ".join(parts[i:])) if chunks else None
    return (verb.lower(), name, chunks, "") if chunks else None


def as_format(verb: str, rest: str) -> tuple[str, str] | None:
    """('export', 'the document as PDF') -> ('export', 'PDF'): an action that names its output's form, done by a
    button or menu item named by the verb, then the entry naming the form."""
    if verb.lower() not in ("export", "download", "save", "print", "share", "send", "publish"):
        return None
    m = re.match(r"^.*?\bas\s+(?:an?\s+)?(.+?)$", rest.strip(" .!"), re.I)
    return (verb, m.group(1)) if m else None


def loose_target(clause: str) -> str:
    """The words of a clause that name a button: 'save the changes' -> 'save changes'."""
    words = [w for w in re.sub(r"[^\w\s@.-]", " ", clause).split() if w.lower() not in ("the", "a", "an", "my", "your")]
    return " ".join(words)


def plain_words(text: str) -> set[str]:
    return {w for w in re.sub(r"[^\w\s]", " ", text.lower()).split() if len(w) > 1 or w.isdigit()}


def overlap(target: str, label: str) -> float:
    """Share of the target's words found in a label (stems: 'changes' ~ 'change')."""
    t, lab = plain_words(target), plain_words(label)
    if not t or not lab:
        return 0.0
    stem: Callable[[str], str] = lambda w: w[:-1] if w.endswith("s") and len(w) > 3 else w  # noqa: E731
    ls = {stem(w) for w in lab}
    return sum(stem(w) in ls for w in t) / len(t)


def loose_pick(target: str, elements: list[Any]) -> Any | None:
    """The button or link whose words best cover a clause (at least half of them, its verb among them)."""
    for one in target.split("|"):  # alternatives, the first preferred ("create account|sign up")
        verb = (plain_words(one.split()[0]) or {""}).pop() if one.split() else ""
        scored = [(overlap(one, e.label), e) for e in elements if e.label and e.kind in ("button", "link", "icon")]
        # At least half of the clause's words, or a label made only of the clause's words ("Schedule" for
        # "schedule the weekly sync"), the verb among them.
        scored = [(s, e) for s, e in scored if verb in plain_words(e.label) and
                  (s >= 0.5 or overlap(e.label, one) == 1.0)]
        if scored:
            return max(scored, key=lambda se: se[0])[1]
    return None


AFFIX_RE = re.compile(r"^(?:enter|type|input|write|choose|select|pick|find|put|add)\s+(?:in\s+)?(?:an?|the|one|some)\s+"
                      r"(?:[\w-]+\s+){0,2}?(?:that|which|whose\s+\w+)\s+(?:starts|begins)\s+with\s+(\S+)"
                      r"(?:\s*,?\s+(?:and\s+)?(?:ends|finishes)\s+with\s+(\S+))?\s*$", re.I)


def affixed_item(clause: str) -> tuple[str, str] | None:
    """'enter an item that starts with "Sa" and ends with "ino"' -> ('Sa', 'ino'): what to type, and how the
    entry to choose among the field's suggestions ends ('' when not said); None when the clause is no such."""
    m = AFFIX_RE.match(clause.strip(" .!"))
    return (m.group(1).strip(" .,"), (m.group(2) or "").strip(" .,")) if m else None

