"""Descriptions that are not labels. The instruction policy (agents/policies.py) takes what follows a verb as the
label of the element to act on; English also names an element by what it is and where it stands, and says why:

- an ordinal with a kind noun ("the 3rd checkbox", "the second radio", "the 5th search result") is a position
  among elements of that kind, not a label (no checkbox is labelled "3rd");
- a purpose ("the trash icon to delete it", "the button in order to go on") says why, and names nothing;
- a value with a widget ("5 with the spinner", "enter 12 using the text box") is a value to set in that widget;
- a list with a modifier ("X from the scroll list", "from the drop-down menu") is still a list to choose from;
- a key chord ("press ctrl+alt+delete") names keys, not a button.

Why a module of its own: each of these is a grammar rule about English noun phrases, independent of any page, and
the planner stays a list of verbs.
"""

from __future__ import annotations

import re

from omnirt.agents.actions import MAX_KEYS, keyboard_keys
from omnirt.agents.elements import norm

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "last": -1}
ORDINAL_RE = re.compile(r"\b(?:(\d{1,2})(?:st|nd|rd|th)|(" + "|".join(ORDINALS) + r"))\b", re.I)

# Nouns that name a KIND of element (the last word of a phrase such as "search result" decides), with the element
# kinds they may be grounded as, preferred first.
KIND_NOUNS = {"checkbox": ["checkbox"], "check box": ["checkbox"], "box": ["checkbox", "input"],
              "radio": ["radio"], "radio button": ["radio"], "option": ["radio", "checkbox", "link", "word"],
              "button": ["button"], "link": ["link"], "result": ["link"], "entry": ["link", "word", "line"],
              "item": ["link", "word", "line", "button"], "one": ["button", "link", "checkbox", "radio"],
              "textbox": ["input"], "text box": ["input"], "field": ["input"], "text field": ["input"],
              "input": ["input"], "tab": ["word", "line", "button"], "icon": ["icon"], "element": None}

# Widgets a value is typed into (a spinner is a text field with arrows; typing sets it) ...
TYPED_WIDGETS = ("spinner", "spin box", "spinbox", "number field", "number input", "text field", "textbox",
                 "text box", "input", "field", "box")
# ... and widgets that are dragged or picked from, which the keyboard alone cannot set to a read value.
DRAGGED_WIDGETS = ("slider", "color picker", "colour picker", "color wheel", "colour wheel", "picker", "wheel")

PURPOSE_RE = re.compile(r"\s+(?:(?:in\s+order|so\s+as)\s+to\b.*|so\s+that\b.*|"
                        r"to\s+(?!the\b|a\b|an\b|its?\b)[a-z]+\s+(?:it|them|this|that|these|those|the\s+\w+)\b.*)$",
                        re.I)


def ordinal(text: str) -> int | None:
    """The first ordinal in `text`: '3rd' -> 3, 'second' -> 2, 'last' -> -1; None when there is none."""
    m = ORDINAL_RE.search(text)
    if m is None:
        return None
    return int(m.group(1)) if m.group(1) else ORDINALS[m.group(2).lower()]


def drop_purpose(text: str) -> str:
    """'the trash icon to delete it' -> 'the trash icon' (a purpose names nothing to click)."""
    return PURPOSE_RE.sub("", text).strip()


def kind_noun(phrase: str) -> tuple[bool, list[str] | None]:
    """Whether `phrase` is only a kind noun, perhaps with modifiers ('search result', 'radio button', 'checkbox'),
    and the element kinds it stands for."""
    words = re.sub(r"[^\w\s]", " ", phrase.lower()).split()
    if not words:
        return False, None
    last2 = " ".join(words[-2:])
    for noun in (last2, words[-1]):
        for form in (noun, noun[:-1] if noun.endswith("s") else noun):
            if form in KIND_NOUNS:
                # modifiers are allowed only for a plain noun phrase of up to three words ("search result")
                return len(words) <= 3, KIND_NOUNS[form]
    return False, None


def positional(target: str) -> tuple[str, int | None, list[str] | None] | None:
    """'3rd checkbox' -> ('', 3, ['checkbox']); '2nd' (its kind word already stripped) -> ('', 2, None);
    None when `target` holds no ordinal or is more than an ordinal and a kind noun (a label such as '1st Avenue'
    keeps its words)."""
    n = ordinal(target)
    if n is None:
        return None
    rest = " ".join(ORDINAL_RE.sub(" ", target).split()).strip(" .,")
    rest = re.sub(r"^(?:the|a|an)\s+", "", rest, flags=re.I)
    if not rest:
        return "", n, None
    only, kinds = kind_noun(rest)
    return ("", n, kinds) if only else None


def widget_value(body: str) -> tuple[str, str] | None:
    """'5 with the spinner' -> ('5', 'spinner'); 'blue using the color picker' -> ('blue', 'color picker');
    None when no widget is named after the value."""
    widgets = "|".join(re.escape(w) for w in sorted(TYPED_WIDGETS + DRAGGED_WIDGETS, key=len, reverse=True))
    m = re.fullmatch(rf"(.+?)\s+(?:with|using|via|by|on|in)\s+(?:the|a|an)\s+(?:([\w-]+)\s+)??({widgets})s?\s*[.!]?",
                     body.strip(), re.I)
    if m is None:
        return None
    widget = m.group(3).lower()
    if widget == "slider" and m.group(2):  # "the brightness slider": its name tells it from another
        return m.group(1).strip(), f"{m.group(2)} slider"
    return m.group(1).strip(), widget


def is_typed_widget(widget: str) -> bool:
    return widget in TYPED_WIDGETS


# ... of which these step by arrows: a spinner's arrow keys set it even where the page refuses typing into it.
SPUN_WIDGETS = ("spinner", "spin box", "spinbox", "number field", "number input")


def is_spun_widget(widget: str) -> bool:
    return widget in SPUN_WIDGETS


def is_slider(widget: str) -> bool:
    """'slider', 'the volume slider', 'the sliders': set by their knobs and arrow keys (agents/sliding.py)."""
    return norm(widget).split()[-1:] in (["slider"], ["sliders"])


def integer(text: str) -> int | None:
    """'5', '-7', '+3' -> the number; None for anything else (an empty field, a misread, a decimal)."""
    t = text.strip().replace("\u2212", "-").replace("\u2013", "-")
    return int(t) if re.fullmatch(r"[+-]?\d{1,6}", t) else None


LIST_RE = re.compile(r"(.+?)\s+(?:from|out of)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?"
                     r"(?:list|listbox|list box|menu|dropdown|drop-down|select box|selection)\b", re.I)


def list_choice(rest: str) -> str | None:
    """'Xenia from the list' / 'Xenia from the scroll list' / 'Xenia from the drop-down menu' -> 'Xenia'."""
    m = LIST_RE.match(rest)
    return m.group(1) if m else None


# Spoken or written key names that are not pyautogui's; chords need one of MODIFIER_KEYS ("press a-b" is a label).
KEY_WORDS = {"control": "ctrl", "ctl": "ctrl", "windows": "win", "super": "win", "meta": "win", "cmd": "command",
             "escape": "esc", "return": "enter", "del": "delete"}
MODIFIER_KEYS = {"ctrl", "alt", "shift", "win", "command", "option", "fn", "ctrlleft", "ctrlright", "altleft",
                 "altright", "shiftleft", "shiftright", "winleft", "winright"}


def key_chord(body: str) -> str | None:
    """What follows "press": 'ctrl+alt+delete', 'control alt delete', 'alt-f4', 'the windows key', 'f5' -> pyautogui
    key names joined by '+' ('ctrl+alt+delete'); None when the words name something to click (a button's label).
    Chords are keys, so that they reach the safety layer as keys and never as a click on an element so named."""
    if "QUOTE" in body:
        return None
    t = re.sub(r"^the\s+", "", body.lower().strip(" .!,"))
    named = re.search(r"\s+(?:keys?|key combination|shortcut|chord)$", t)
    t = t[:named.start()] if named else t
    joined = re.search(r"\w\s*[+-]\s*\w", t) is not None
    keys = [KEY_WORDS.get(p, p) for p in re.split(r"\s*[+-]\s*|\s+", t) if p]
    if not keys or len(keys) > MAX_KEYS or len(set(keys)) != len(keys) or any(k not in keyboard_keys() for k in keys):
        return None
    if len(keys) > 1:
        return "+".join(keys) if (joined or keys[0] in MODIFIER_KEYS) and MODIFIER_KEYS & set(keys) else None
    return keys[0] if named or re.fullmatch(r"f\d{1,2}", keys[0]) else None


SCROLL_RE = re.compile(r"(?:(down|up)\s*)?(?:(?:to|until)\s+(?:you\s+reach\s+)?)?(?:the\s+)?(?:very\s+)?"
                       r"(bottom|end|top|beginning|start)?\s*(?:(?:of|in|inside|within)\s+)?(.*)$", re.I)


_AMOUNT = re.compile(r"^(?:a\s+(?:bit|little|lot|few\s+\w+)|some|more|further|slightly|once|twice|again)\b\s*"
                     r"(?:more\s*)?", re.I)


# "scroll THE TEXTAREA to the top (of the text)": what to scroll said first, then how far.
OBJECT_FIRST_RE = re.compile(r"(?!(?:to|until)\b)(.+?)\s+(?:all\s+the\s+way\s+)?(?:up\s+|down\s+)?(?:to|until)\s+"
                             r"(?:you\s+reach\s+)?(?:the\s+)?(?:very\s+)?(bottom|end|top|beginning|start)\b(?:\s+of\s+.*)?$",
                             re.I)


def scroll_request(rest: str) -> tuple[str, str]:
    """What follows "scroll": 'to the bottom of the textarea' -> ('down', 'textarea'); 'up in the list' ->
    ('up', 'list'); 'down' -> ('down', ''). Down unless up, top, beginning or start is said."""
    obj = OBJECT_FIRST_RE.match(rest.strip(" .!"))
    if obj and obj.group(1).lower() not in ("down", "up"):  # "the textarea to the top of the text"
        return ("up" if obj.group(2).lower() in ("top", "beginning", "start") else "down"), \
            re.sub(r"^(?:the|a|an)\s+", "", obj.group(1), flags=re.I)
    m = SCROLL_RE.match(rest.strip(" .!"))
    assert m is not None  # every part is optional
    way = (m.group(1) or m.group(2) or "down").lower()
    where = _AMOUNT.sub("", m.group(3).strip()).strip()  # "down a bit": how far, not where
    where = re.sub(r"^(?:the|a|an)\s+", "", where, flags=re.I)
    return ("up" if way in ("up", "top", "beginning", "start") else "down"), where
