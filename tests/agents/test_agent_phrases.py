"""Descriptions that are not labels (ordinals, purposes, a value for a widget, modified lists) and instructions that
run on below their strip: made-up wording and synthetic pictures, no task pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnirt.agents.actions import Click, Done, Hotkey, Type, Wait
from omnirt.agents.grounding import Element
from omnirt.agents.instruction_text import continuation, lines_of, runs_on, strip_reader
from omnirt.agents.phrases import drop_purpose, positional, widget_value
from omnirt.agents.policies import InstructionPolicy, parse
from omnirt.models.ocr import Word

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def steps(text: str) -> list[tuple]:
    return [(s.op, s.target, s.kinds, s.ordinal, s.text) for s in parse(text)]


# ---------------------------------------------------------------- parsing (no models)

@pytest.mark.parametrize("text, expected", [
    ("Click the 3rd checkbox.", [("click", "", ["checkbox"], 3, "")]),
    ("Click on the second radio button.", [("click", "", ["radio"], 2, "")]),
    ("Tick the 4th radio.", [("click", "", ["radio"], 4, "")]),
    ("Open the 5th search result.", [("click", "", ["link"], 5, "")]),
    ("Click the last link.", [("click", "", ["link", "word", "line"], -1, "")]),
    ("Select the 2nd option and press Next.", [("click", "", ["radio", "checkbox", "link", "word"], 2, ""),
                                               ("click", "Next", None, None, "")]),
])
def test_an_ordinal_with_a_kind_is_a_position_not_a_label(text, expected):
    assert steps(text) == expected


def test_a_label_with_an_ordinal_word_keeps_its_words():
    assert positional("1st Avenue") is None and positional("Fifth Element poster") is None
    assert parse('Click on the "3rd" button.')[0].target == "3rd"        # quoted: a label, whatever it says
    assert parse("Click the 2nd button")[0].target == ""


@pytest.mark.parametrize("text, expected", [
    ("the trash icon to delete it", "the trash icon"),
    ("the star icon to mark it as important", "the star icon"),
    ("Save in order to keep your work", "Save"),
    ("the button so that the form is sent", "the button"),
    ("the link next to the logo", "the link next to the logo"),         # a place, not a purpose
    ("Go to the top", "Go to the top"),
])
def test_a_purpose_names_nothing(text, expected):
    assert drop_purpose(text) == expected


def test_purpose_and_icon_in_a_plan():
    (step,) = parse("Find it and click the trash icon to delete it.")[-1:]
    assert (step.target, step.kinds) == ("trash", ["icon", "button"])


@pytest.mark.parametrize("text, value, widget", [
    ("7 with the spinner", "7", "spinner"), ("-12 using the number field", "-12", "number field"),
    ("teal with the color picker", "teal", "color picker"), ("0 with the slider.", "0", "slider"),
])
def test_a_value_with_a_widget(text, value, widget):
    assert widget_value(text) == (value, widget)
    assert widget_value("Alpha, Bravo") is None and widget_value("the box with the red border") is None


def test_a_value_for_a_typed_widget_is_typed_and_a_dragged_one_is_not_guessed():
    assert steps("Select 7 with the spinner and press Submit.") == [  # stepped by its arrows from what it shows
        ("focus", "", ["input"], None, ""), ("spin", "", None, None, "7"), ("click", "Submit", None, None, "")]
    assert steps("Select 7 using the text box and press Submit.") == [
        ("focus", "", ["input"], None, ""), ("key", "", None, None, "ctrl+a"), ("type", "", None, None, "7"),
        ("click", "Submit", None, None, "")]
    pol = InstructionPolicy()
    ui = [Element("e0", (0, 0, 100, 20), "input", ""), Element("e1", (0, 30, 60, 50), "button", "Submit")]
    hist: list = []
    acts = []
    for _ in range(5):
        acts.append(pol.decide("Select 7 with the spinner and press Submit.", ui, hist))
        hist.append(acts[-1])
    assert acts == [Click(element="e0"), Hotkey(keys=["ctrl", "a"]), Type(text="7"), Click(element="e1"),  # (empty)
                    Done(success=True, summary="all steps taken (not checked against the screen)")]
    first = pol.decide("Select 30 with the slider, then click Submit.", ui, [])
    assert isinstance(first, Wait)  # no slider in sight (agents/sliding.py): nothing is clicked in its place
    first = pol.decide("Select 30 with the color wheel, then click Submit.", ui, [])
    assert isinstance(first, Done) and not first.success and "color wheel" in first.summary


def test_a_list_with_a_modifier_is_still_a_list():
    for text in ("Select Xenia from the scroll list and click Submit", "Choose Xenia from the drop-down menu"):
        assert steps(text)[:2] == [("click", "", ["dropdown", "button", "input"], None, ""),
                                   ("pick", "Xenia", None, None, "")]


def test_the_nth_checkbox_is_grounded_by_position():
    ui = [Element(f"e{i}", (10, 10 + 30 * i, 26, 26 + 30 * i), "checkbox", f"x{i}") for i in range(4)]
    ui.append(Element("e9", (10, 140, 70, 170), "button", "Submit"))
    pol = InstructionPolicy()
    a = pol.decide("Click the 3rd checkbox, then hit Submit.", ui, [])
    assert a == Click(element="e2")
    assert pol.decide("Click the 3rd checkbox, then hit Submit.", ui, [a]) == Click(element="e9")


# ---------------------------------------------------------------- instructions that run on (no models)

def line(y: int, texts: list[str], left: int = 6, h: int = 18) -> list[Word]:
    out, x = [], left
    for t in texts:
        out.append(Word(t, (x, y, x + 12 * len(t), y + h), 0.9, 0))
        x += 12 * len(t) + 8
    return out


STRIP = line(6, ["Select", "Alpha,", "Bravo,"]) + line(29, ["Charlie,", "Delta,"]) + \
    line(52, ["Echo,", "Foxtrot,"]) + line(75, ["Golf", "and"])            # four lines fill a 100 px strip


def test_a_full_strip_whose_last_line_ends_no_sentence_runs_on():
    assert [len(ln) for ln in lines_of(STRIP)] == [3, 2, 2, 2]
    assert runs_on(STRIP, 100)
    assert not runs_on(STRIP[:-1] + [Word("done.", STRIP[-1].box, 0.9, 0)], 100)   # a sentence end
    assert not runs_on(STRIP[:5], 100)                                     # room left for another line
    assert not runs_on(STRIP, 160)


def test_the_continuation_follows_the_line_grid_and_stops_at_a_sentence_end():
    # read in a crop that starts 82 px below the strip's top: rows 98 and 121 of the strip's grid are 16 and 39
    below = line(16, ["Hotel", "then"]) + line(39, ["click", "Submit."]) + line(62, ["Lorem", "ipsum"])
    assert [w.text for w in continuation(STRIP, below, 82)] == ["Hotel", "then", "click", "Submit."]
    # page text off the grid (indented, or between two lines) is no part of the instruction
    assert continuation(STRIP, line(16, ["Name:"], left=60), 82) == []
    assert continuation(STRIP, line(28, ["Name:"]), 82) == []
    assert continuation(STRIP, line(16, ["TITLE"], h=30), 82) == []


def test_the_strip_reader_reads_on_once_per_instruction():
    calls: list[tuple] = []
    below = {"query-more": line(16, ["Hotel", "then"]) + line(39, ["click", "Submit."])}

    def read_words(frame, box, region):
        calls.append((box, region))
        return STRIP if region == "query" else below[region]

    read = strip_reader(read_words, (0, 0, 320, 100), 580)
    assert read(None).endswith("Golf and Hotel then click Submit.")
    below["query-more"] = line(16, ["changed"])                            # the page under it changed
    assert read(None).endswith("Golf and Hotel then click Submit.")         # the same instruction
    assert [r for _, r in calls].count("query-more") == 1
    assert calls[1][0][1] < 100 < calls[1][0][3] <= 580                    # from the strip's edge, within the page


# ---------------------------------------------------------------- with OCR (a rendered strip)

def render_strip(lines: list[str], below: list[str]) -> np.ndarray:
    """A 320 px wide yellow strip of four lines of text at 23 px pitch, the rest running on over a white page."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (320, 580), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 319, 99), fill=(255, 255, 0))
    font = ImageFont.truetype(str(FONT), 18)
    for i, t in [*enumerate(lines), *enumerate(below, start=4)]:
        d.text((6, 4 + 23 * i), t, fill="black", font=font)
    return np.asarray(img)


@pytest.mark.models
@pytest.mark.skipif(not FONT.exists(), reason="DejaVu font missing")
def test_ocr_reads_an_instruction_on_below_its_strip():
    pytest.importorskip("rapidocr")
    from omnirt.agents.grounding import Grounder, GroundingOptions

    g = Grounder(GroundingOptions(scale=2))
    rgb = render_strip(["Select Argentina, Belgium,", "Canada, Denmark, Ecuador,", "Finland, Germany, Honduras,",
                        "Iceland, Jamaica and"], ["Kenya, then click Submit."])
    text = strip_reader(g.text_words, (0, 0, 320, 100), 580)(rgb)
    assert text.startswith("Select Argentina") and text.endswith("Kenya, then click Submit.")
    short = render_strip(["Click the 2nd button."], ["Lorem ipsum dolor"])
    assert strip_reader(g.text_words, (0, 0, 320, 100), 580)(short) == "Click the 2nd button."


# ---------------------------------------------------------------- scrolling (no models)

@pytest.mark.parametrize("text, expected", [
    ('Scroll to the bottom of the text area, type "Ann" into the name field', [
        ("scroll", "", ["textarea"], None, "down"), ("focus", "name", ["input"], None, ""),
        ("type", "", None, None, "Ann")]),
    ("Scroll up in the Results list and click Next", [("scroll", "Results list", None, None, "up"),
                                                      ("click", "Next", None, None, "")]),
    ("scroll to the top", [("scroll", "", ["textarea"], None, "up")]),
])
def test_parse_scroll(text, expected):
    assert steps(text) == expected


def test_scroll_over_the_named_widget():
    from omnirt.agents.actions import MAX_SCROLL, Scroll

    ui = [Element("e0", (0, 0, 200, 80), "textarea", ""), Element("e1", (0, 90, 100, 110), "input", "Name")]
    pol = InstructionPolicy()
    assert pol.decide("Scroll to the bottom of the textarea.", ui, []) == Scroll(x=100, y=40, amount=-MAX_SCROLL)


def test_an_empty_field_is_named_by_its_placeholder():
    ui = [Element("e0", (0, 0, 200, 80), "textarea", "Terms", value="Lorem ipsum dolor"),
          Element("e1", (0, 90, 100, 110), "input", "", value="Name")]
    assert InstructionPolicy().decide('enter the name "Ann"', ui, []) == Click(element="e1")
