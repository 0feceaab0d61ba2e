"""Text given a style in a rich-text editor: "give the text Tortor the style bold", "give everything the style
italic", "make Tortor bold", "underline the word Tortor", "make everything italic". A person selects the text (a
drag across the word, as agents/selecting.py drags, so that a comma the word was given with is selected too; a click
in the text and select-all for everything) and sets the style, by its key chord
where every editor the author knows has one that acts on nothing else (ctrl+b bold, ctrl+i italic: Quill, TinyMCE,
CKEditor, Google Docs, LibreOffice, GTK text views), else by the toolbar's button for it, a letter (U for underline:
ctrl+u opens a browser's page source outside an editor, so it is no chord the safety layer lets through).

- The parser's step is `format` (target: the word, or "" for everything; text: the style, or "color:NAME"). A colour
  is set with the toolbar's colour control (an "A" on the row of the style letters, else the control before them),
  then the first swatch of the palette it opens whose colour has that name (agents/counting.py's colour names).
- The step's actions are no plan steps of their own (agents/readings.py's aside ops): the selection, then the style;
  made once each (watch.moves). An editor the grounding read as one field holding the text is selected from the
  keyboard: to the text's start, then Right and Shift+Right by the word's characters.

English and editor conventions only, nothing about any page.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from omnirt.agents.actions import MAX_PRESSES
from omnirt.agents.elements import Element, norm

OPS = ("format",)
STYLES = {"bold": "bold", "bolded": "bold", "italic": "italic", "italics": "italic", "italicized": "italic",
          "italicised": "italic", "underline": "underline", "underlined": "underline"}
CHORDS = {"bold": ["ctrl", "b"], "italic": ["ctrl", "i"]}
BUTTONS = {"bold": "b", "italic": "i", "underline": "u"}  # the toolbar button's letter
SWATCH = (10, 48)  # pixels: the side of a palette's swatch
STYLE = "|".join(sorted(STYLES, key=len, reverse=True))
WHAT = r"(?:the\s+(?:text|word|words)\s+)?(?P<what>.+?)"
COLOUR = r"(?:the\s+)?(?:colou?r\s+)?(?P<colour>red|orange|yellow|green|blue|purple|violet|black)"
COLOUR_FORMS = (  # "give X the color red", "make everything the color blue", "colour X red", "change the colour of X
    # to red"
    re.compile(rf"^(?:give|make|turn|set)\s+{WHAT}\s+(?:to\s+)?(?:the\s+|a\s+)?colou?r\s+(?P<colour>\w+)$", re.I),
    re.compile(rf"^(?:make|turn|colou?r)\s+{WHAT}\s+(?:to\s+)?{COLOUR}$", re.I),
    re.compile(rf"^(?:set|change)\s+the\s+(?:text\s+)?colou?r\s+of\s+{WHAT}\s+to\s+{COLOUR}$", re.I),
)
FORMS = (  # "give X the style S", "make X S", "S X" (bold the word X), "set the style of X to S"
    re.compile(rf"^give\s+{WHAT}\s+(?:the\s+|a\s+|an\s+)?(?:style|format|formatting|look)\s+(?P<style>{STYLE})$", re.I),
    re.compile(rf"^(?:make|set|turn)\s+{WHAT}\s+(?:to\s+)?(?:be\s+)?(?P<style>{STYLE})$", re.I),
    re.compile(rf"^(?P<style>bold|italicize|italicise|underline)\s+{WHAT}$", re.I),
    re.compile(rf"^(?:set|change)\s+the\s+(?:style|format)\s+of\s+{WHAT}\s+to\s+(?P<style>{STYLE})$", re.I),
)
EVERYTHING = ("everything", "all", "all the text", "all of the text", "the whole text", "the entire text", "all text")


def step(clause: str) -> tuple[str, str, str] | None:
    """('format', word or '', style) for a clause that styles text; None for any other clause."""
    text = " ".join(clause.strip(" .!").split())
    text = re.sub(r"^(?:using|in|with)\s+the\s+(?:text\s+|rich\s+text\s+)?editor\s*,?\s*", "", text, flags=re.I)
    for form in FORMS + COLOUR_FORMS:
        m = form.match(text)
        if m and "colour" in m.groupdict():
            what = m.group("what").strip(" \"'")
            return "format", "" if what.lower() in EVERYTHING else what, "color:" + m.group("colour").lower()
        if m:
            style = m.group("style").lower()
            style = "italic" if style.startswith("italici") else STYLES.get(style, style)
            what = m.group("what").strip(" \"'")
            return "format", "" if what.lower() in EVERYTHING else what, style
    return None


def _select(step: Any, elements: Sequence[Element]) -> list | None:
    """The actions that select the step's text: a drag across the word; a word the grounding read only as part of a
    field's value (an editor read as one field) by the keyboard: a click in the field, ctrl+home, Right to the word's
    first character, Shift+Right over it; everything: a click in the text, then select-all. None: not in sight."""
    from omnirt.agents.actions import Click, Drag, Hotkey
    from omnirt.agents.grounding import match
    from omnirt.agents.selecting import drag_span, text_lines

    words = [w for line in text_lines(elements) for w in line]
    fields = [e for e in elements if e.kind in ("input", "textarea") and e.value.strip()]
    if not step.target:  # (a lone letter is a toolbar's glyph, B or A, more likely than the text's)
        words = [w for w in words if len(norm(w.label)) > 1]
        anchor = words[0] if words else fields[0] if fields else None
        return None if anchor is None else [Click(x=anchor.center[0], y=anchor.center[1]), Hotkey(keys=["ctrl", "a"])]
    word = match(step.target, words)
    if word is not None:
        x, y, tx, ty = drag_span([[word]], whole=False)
        return [Drag(x=x, y=y, to_x=tx, to_y=ty)]
    for f in fields:
        at = re.search(rf"(?<!\S){re.escape(step.target)}(?!\S)", f.value) or \
            re.search(rf"(?<!\S){re.escape(step.target)}(?!\S)", f.value, re.I)
        if at is None:
            continue
        keys = [Click(x=f.box[0] + 6, y=f.center[1]), Hotkey(keys=["ctrl", "home"])]
        for way, n in ((["right"], at.start()), (["shift", "right"], len(step.target))):
            keys += [Hotkey(keys=way, presses=min(MAX_PRESSES, n - k)) for k in range(0, n, MAX_PRESSES)]
        return keys
    return None


def picker(elements: Sequence[Element]) -> Element | None:
    """A toolbar's text-colour control: the "A" on the row of its style letters (B, I, U), else the control that
    starts that row (editors put the colour first or last among the text styles)."""
    letters = [e for e in elements if norm(e.label) in BUTTONS.values() and e.kind in ("button", "icon", "word")]
    if not letters:
        return None
    cy = letters[0].center[1]
    row = [e for e in elements if e.box[1] <= cy <= e.box[3] and e.kind in ("button", "icon", "word") and e not in
           letters and e.box[2] <= min(b.box[0] for b in letters) + 4]
    named = [e for e in row if norm(e.label) == "a"]
    return (named or sorted(row, key=lambda e: e.box[0]))[0] if row else None


def swatch(rgb: Any, colour: str) -> tuple[int, int] | None:
    """The middle of the first swatch (a small solid square, top to bottom, left to right) of a colour named
    `colour` (agents/counting.py's names): a palette's swatches touch, so a run of them is cut to its first square."""
    import cv2
    import numpy as np

    from omnirt.agents import counting

    want = counting.SYNONYMS.get(colour, colour)
    if want not in counting.COLOURS or rgb is None:
        return None
    mask = (counting.colour_names(rgb) == counting.COLOURS.index(want)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    found = [(int(y), int(x), int(min(w, h))) for x, y, w, h, a in stats[1:]
             if SWATCH[0] <= min(w, h) <= SWATCH[1] and a >= 0.8 * w * h]
    if not found:
        return None
    y, x, side = min(found)
    return x + side // 2, y + side // 2


def decide(step: Any, elements: Sequence[Element], watch: Any, rgb: Any = None) -> Any:
    """The next action of a format step: its selection (`_select`), then the style's chord or its toolbar button,
    each action once; SKIP (agents/everyday.py's) when done, None when the text or the button is not in sight."""
    from omnirt.agents.actions import Click, Hotkey
    from omnirt.agents.everyday import SKIP

    key = ("format", step.target, step.text)
    if key not in watch.moves:
        chosen = _select(step, elements)
        if chosen is None:
            return None
        watch.moves[key] = [chosen, 0]
    todo, made = watch.moves[key]
    if made < len(todo):
        watch.moves[key][1] += 1
        return todo[made]
    if step.text.startswith("color:"):  # the palette opened by the colour control, then its swatch
        if made > len(todo) + 1:
            return SKIP
        control = picker(elements) if made == len(todo) else None
        at = control.center if control is not None else swatch(rgb, step.text[6:]) if made > len(todo) else None
        if at is None:
            return None
        watch.moves[key][1] += 1
        return Click(x=at[0], y=at[1])
    if made == len(todo):
        if step.text in CHORDS:
            watch.moves[key][1] += 1
            return Hotkey(keys=CHORDS[step.text])
        letter = BUTTONS.get(step.text, "")
        buttons = [e for e in elements if norm(e.label) == letter and e.kind in ("button", "icon", "word")]
        if not buttons:
            return None
        watch.moves[key][1] += 1
        return Click(x=buttons[0].center[0], y=buttons[0].center[1])
    return SKIP
