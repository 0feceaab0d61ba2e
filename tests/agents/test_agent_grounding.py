"""Grounding and the instruction policy: commands parse into steps, steps ground on elements found in pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from omnirt.agents.actions import Click, Done, Hotkey, Type, Wait
from omnirt.agents.grounding import Element, Grounder, GroundingOptions, match, norm
from omnirt.agents.policies import InstructionPolicy, parse

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def render_marks(rgb: np.ndarray, elements: Sequence[Element], kinds: Sequence[str] | None = None) -> np.ndarray:
    """Set-of-marks: the screenshot with each element's box outlined and its number (the digits of its id) drawn
    at the top-left, for a multimodal policy that answers with an element id."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(rgb).convert("RGB")
    d = ImageDraw.Draw(img)
    palette = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 140, 140)]
    for i, e in enumerate(el for el in elements if kinds is None or el.kind in kinds):
        col = palette[i % len(palette)]
        d.rectangle(e.box, outline=col, width=2)
        tag = e.id.lstrip("e")
        tw = 6 * len(tag) + 4
        d.rectangle((e.box[0], e.box[1] - 12, e.box[0] + tw, e.box[1]), fill=col)
        d.text((e.box[0] + 2, e.box[1] - 12), tag, fill=(255, 255, 255))
    return np.asarray(img)


# ---------------------------------------------------------------- parsing (no models)

@pytest.mark.parametrize("text, expected", [
    ("click Submit", [("click", "Submit", "")]),
    ("click on the ONE button", [("click", "ONE", "")]),
    ('Click on the link "Neque,".', [("click", "Neque,", "")]),
    ("Click button ONE, then click button TWO.", [("click", "ONE", ""), ("click", "TWO", "")]),
    ("type bob into the username field", [("focus", "username", ""), ("type", "", "bob")]),
    ("enter the password hunter2 into the password field", [("focus", "password", ""), ("type", "", "hunter2")]),
    ('Enter "Bernardine" into the text field and press Submit.',
     [("focus", "", ""), ("type", "", "Bernardine"), ("click", "Submit", "")]),
    ('Type "tora" in all upper case letters in the text input and press Submit.',
     [("focus", "", ""), ("type", "", "TORA"), ("click", "Submit", "")]),
    ('Enter the username "ann" and the password "pw1" into the text fields and press login.',
     [("focus", "username", ""), ("type", "", "ann"), ("focus", "password", ""), ("type", "", "pw1"),
      ("click", "login", "")]),
    ("check A and B", [("click", "A", ""), ("click", "B", "")]),
    ("Select 3hIU, Qqi and click Submit.", [("click", "3hIU", ""), ("click", "Qqi", ""), ("click", "Submit", "")]),
    ("Select nothing and click Submit.", [("click", "Submit", "")]),
    ("select Xenia from the list", [("click", "", ""), ("pick", "Xenia", "")]),
    ('Close the dialog box by clicking the "x".', [("close", "x", "")]),
    ("press enter", [("key", "", "enter")]),
])
def test_parse_commands(text, expected):
    assert [(s.op, s.target, s.text) for s in parse(text)] == expected


def test_parse_ordinals_and_kinds():
    (step,) = parse("Focus into the 2nd input textbox.")
    assert (step.op, step.kinds, step.ordinal) == ("focus", ["input"], 2)
    (step,) = parse('Click on the "previous" button.')
    assert step.kinds[0] == "button"
    assert parse("what a nice day") == []


def el(i: int, kind: str, label: str, box=(0, 0, 10, 10), line: int = -1) -> Element:
    return Element(f"e{i}", box, kind, label, line=line)


UI = [el(0, "word", "Username", (0, 0, 60, 12), 0), el(1, "input", "Username", (0, 14, 100, 30)),
      el(2, "word", "Password", (0, 40, 60, 52), 1), el(3, "input", "Password", (0, 54, 100, 70)),
      el(4, "button", "Log in", (0, 80, 50, 100)), el(5, "checkbox", "remember", (0, 110, 10, 120)),
      el(6, "word", "remember", (14, 110, 70, 120), 2), el(7, "icon", "", (90, 0, 100, 10)),
      el(8, "word", "Tab", (0, 130, 20, 140), 3), el(9, "word", "#2", (24, 130, 34, 140), 3)]


def test_decide_walks_the_plan():
    pol = InstructionPolicy()
    instr = "type bob into the password field and click Log in"
    hist: list = []
    acts = []
    for i in range(4):
        assert pol.needs_elements(instr, hist) == (i != 1)  # typing needs no grounding
        a = pol.decide(instr, UI, hist)
        acts.append(a)
        hist.append(a)
    assert acts == [Click(element="e3"), Type(text="bob"), Click(element="e4"),
                    Done(success=True, summary="all steps taken (not checked against the screen)")]


def test_decide_grounding_rules():
    pol = InstructionPolicy()
    assert pol.decide("check remember", UI, []) == Click(element="e5")          # the box, not its label
    assert pol.decide("close the dialog", UI, []) == Click(element="e7")        # text-less icon, top right
    assert pol.decide("focus into the 2nd textbox", UI, []) == Click(element="e3")
    assert pol.decide("press enter", UI, []) == Hotkey(keys=["enter"])
    bad = pol.decide("type \u201cb\u00f6b\u201d into the password field", UI, [Click(element="e3")])
    assert isinstance(bad, Done) and not bad.success and "cannot type" in bad.summary
    span = pol.decide('Click on "Tab #2".', UI, [])                             # two words of one line
    assert span == Click(x=17, y=135)
    # A target that is not there: wait a little (the page may still be painting), then give up.
    hist: list = []
    for _ in range(pol.patience):
        a = pol.decide("click Register", UI, hist)
        assert isinstance(a, Wait)
        hist.append(a)
    assert pol.decide("click Register", UI, hist).success is False


def test_match_exact_case_fuzzy():
    assert match("LOG IN", UI).id == "e4"
    assert match("Pasword", UI, ["input"]).id == "e3"        # typo
    assert match("Usernme", UI, ["button"]) is None           # wrong kind
    assert norm("  Neque, turpis!") == "neque turpis"


def test_exact_label_prefers_a_control_over_the_same_word_in_running_text():
    from omnirt.agents.grounding import Element
    ui = [Element("e1", (10, 10, 40, 24), "word", "press", line=0), Element("e2", (44, 10, 80, 24), "word", "Save", line=0),
          Element("e3", (10, 60, 90, 90), "button", "Save")]
    assert match("Save", ui).id == "e3"
    assert match("Save", ui, ["word"]).id == "e2"  # asked for a word: the word


@pytest.mark.models
def test_match_synonyms_with_text_encoder():
    from omnirt.models.text_encoder import TextEncoder

    enc = TextEncoder.load()
    assert match("sign in", UI, encoder=enc).id == "e4"
    assert match("sign in", UI) is None                       # no meaning without the encoder


# ---------------------------------------------------------------- grounding on a rendered screen (OCR)

def render_ui() -> np.ndarray:
    """A 2x-scaled form: a label + text field, a checkbox with a label, a grey button, a blue link, a paragraph."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 22) if FONT.is_file() else ImageFont.load_default(size=22)
    img = Image.new("RGB", (640, 420), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((20, 20), "Email", font=font, fill=(0, 0, 0))
    d.rectangle((120, 14, 420, 56), outline=(118, 118, 118), width=2, fill=(255, 255, 255))
    d.rectangle((20, 90, 46, 116), outline=(118, 118, 118), width=2, fill=(255, 255, 255))
    d.text((60, 90), "Remember", font=font, fill=(0, 0, 0))
    d.rectangle((20, 150, 180, 200), outline=(118, 118, 118), width=2, fill=(239, 239, 239))
    d.text((58, 160), "Submit", font=font, fill=(0, 0, 0))
    d.text((20, 240), "Read the", font=font, fill=(0, 0, 0))
    d.text((125, 240), "terms", font=font, fill=(0, 0, 238))
    d.text((20, 300), "Nothing else here", font=font, fill=(0, 0, 0))
    return np.asarray(img)


@pytest.fixture(scope="module")
def grounder():
    pytest.importorskip("rapidocr")
    return Grounder(GroundingOptions(scale=2))


@pytest.mark.models
def test_ground_finds_widgets_and_words(grounder):
    els = grounder.ground(render_ui())
    by = {(e.kind, e.label) for e in els}
    assert ("input", "Email") in by
    assert ("checkbox", "Remember") in by
    assert ("button", "Submit") in by
    assert ("link", "terms") in by
    assert ("word", "Nothing") in by and ("line", "Nothing else here") in by
    sub = match("submit", els)
    assert sub.kind == "button" and 20 <= sub.center[0] <= 180 and 150 <= sub.center[1] <= 200
    assert len({e.id for e in els}) == len(els)


@pytest.mark.models
def test_ocr_cache_rereads_only_changed_bands(grounder):
    img = render_ui()
    g = Grounder(GroundingOptions(scale=2), ocr=grounder.ocr)
    first = g.words(img, "x")
    calls = g.stats["ocr_calls"]
    assert g.words(img.copy(), "x") == first and g.stats["ocr_calls"] == calls and g.stats["reused"] == 1
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 22) if FONT.is_file() else ImageFont.load_default(size=22)
    im2 = Image.fromarray(img.copy())
    d = ImageDraw.Draw(im2)
    d.rectangle((0, 296, 640, 330), fill=(255, 255, 255))
    d.text((20, 300), "Changed line now", font=font, fill=(0, 0, 0))
    second = g.words(np.asarray(im2), "x")
    texts = [w.text for w in second]
    assert "Changed" in texts and "Nothing" not in texts
    assert [w for w in second if w.box[3] < 280] == [w for w in first if w.box[3] < 280]  # kept, not re-read
    assert g.stats["ocr_calls"] == calls + 1


def test_render_marks_draws_numbered_boxes():
    img = np.full((100, 120, 3), 255, np.uint8)
    out = render_marks(img, [el(0, "button", "A", (10, 30, 60, 60)), el(12, "input", "", (70, 40, 110, 90))])
    assert out.shape == img.shape and not np.array_equal(out, img)
    assert (out[30:60, 10] != 255).any() and (out[20:29, 70:90] != 255).any()  # outline and a number tag
    assert np.array_equal(out[95:, :], img[95:, :])


def test_split_word_by_link_colour():
    """OCR reads 'in' + a blue link 'ac' with a tiny gap as one word: the colours split it again."""
    from PIL import Image, ImageDraw, ImageFont

    from omnirt.agents.grounding import split_by_colour

    font = ImageFont.truetype(str(FONT), 22) if FONT.is_file() else ImageFont.load_default(size=22)
    img = Image.new("RGB", (200, 40), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.text((10, 5), "in", font=font, fill=(0, 0, 0))
    w = d.textlength("in", font=font)
    d.text((10 + w + 2, 5), "ac", font=font, fill=(0, 0, 238))
    rgb = np.asarray(img)
    parts = split_by_colour(rgb, "inac", (8, 2, 80, 35))
    assert [t for t, _ in parts] == ["in", "ac"]
    assert 8 < parts[1][1][0] <= 10 + w + 3
    assert split_by_colour(rgb, "in", (8, 2, 10 + int(w), 35)) == [("in", (8, 2, 10 + int(w), 35))]


# ---------------------------------------------------------------- widget kinds, trees, sections (no models)

@pytest.mark.parametrize("text, expected", [
    ('Click on a "textarea" widget.', [("click", "", ["textarea"])]),
    ('Click on a "text" widget.', [("click", "", ["input"])]),
    ('Click on a "radio" widget.', [("click", "", ["radio"])]),
    ('Click on the "Apply" button.', [("click", "Apply", ["button", "icon"])]),
    ("Expand the section below and click submit.", [("click", "section", None), ("click", "submit", None)]),
])
def test_parse_widget_kinds_and_expand(text, expected):
    assert [(s.op, s.target, s.kinds) for s in parse(text)] == expected


TREE = [el(0, "expander", "Cristin", (10, 10, 28, 28)), el(1, "word", "Cristin", (70, 10, 120, 26), 0),
        el(2, "expander", "Tora", (10, 40, 28, 58)), el(3, "word", "Tora", (70, 40, 110, 56), 1)]


def test_decide_opens_collapsed_branches_to_find_a_target():
    pol = InstructionPolicy()
    collapsed = [Element(e.id, e.box, e.kind, e.label, value="+" if e.kind == "expander" else "") for e in TREE]
    instr = 'Find and click on the folder or file named "Emile".'
    first = pol.decide(instr, collapsed, [])
    assert first == Click(element="e0")                      # not there: open the top-most closed branch
    opened = [Element(e.id, e.box, e.kind, e.label, value="-" if e.id == "e0" else e.value) for e in collapsed]
    second = pol.decide(instr, opened, [first])
    assert second == Click(element="e2")                     # still not there: the next closed one
    shown = opened + [el(4, "word", "Emile", (100, 70, 150, 86), 2)]
    assert pol.decide(instr, shown, [first, second]) == Click(element="e4")
    done = pol.decide(instr, shown, [first, second, Click(element="e4")])
    assert isinstance(done, Done) and done.success            # exploring clicks were no plan steps
    nothing = [Element(e.id, e.box, e.kind, e.label, value="-") for e in TREE]
    assert isinstance(pol.decide(instr, nothing, []), Wait)   # all open and no target: wait, then give up


def test_decide_widget_kind_and_other_targets():
    pol = InstructionPolicy()
    ui = [el(0, "input", "", (0, 0, 100, 20)), el(1, "textarea", "", (0, 30, 100, 60)),
          el(2, "radio", "v", (0, 70, 10, 80))]
    assert pol.decide('Click on a "textarea" widget.', ui, []) == Click(element="e1")
    assert pol.decide('Click on a "radio" widget.', ui, []) == Click(element="e2")
    assert pol.decide("Enter the text into the textbox", ui[1:], []) == Click(element="e1")  # a text area is a field
    # "ONE" is hidden; "TWO" is the next step's own target, so it is no stand-in for "ONE" however close it reads.
    two = [el(0, "button", "TWO", (0, 0, 50, 30))]
    assert isinstance(pol.decide("Click button ONE, then click button TWO.", two, []), Wait)


def test_match_folds_ocr_confusables():
    ui = [el(0, "button", "ONE"), el(1, "word", "I3Hl", line=0)]
    assert match("0NE", ui).id == "e0" and match("l3HI", ui).id == "e1"


def test_parse_comma_separated_commands():
    steps = parse("type Ada into the Name field, type Paris into the City field, check Newsletter and click Submit")
    assert [(s.op, s.target, s.text) for s in steps] == [
        ("focus", "Name", ""), ("type", "", "Ada"), ("focus", "City", ""), ("type", "", "Paris"),
        ("click", "Newsletter", ""), ("click", "Submit", "")]


def test_decide_clicks_the_one_hidden_button_when_the_named_one_is_not_in_sight():
    pol = InstructionPolicy()
    ui = [el(0, "button", "TWO", (40, 0, 90, 40)), Element("e1", (10, 5, 30, 25), "button", "", value="occluded")]
    assert pol.decide("Click button ONE, then click button TWO.", ui, []) == Click(element="e1")
    assert pol.decide("Click button ONE, then click button TWO.", ui, [Click(element="e1")]) == Click(element="e0")
    two_hidden = ui + [Element("e2", (100, 5, 120, 25), "button", "", value="occluded")]
    assert isinstance(pol.decide("Click button ONE.", two_hidden, []), Wait)  # which one? do not guess
