"""Text given a style in a rich-text editor (agents/formatting.py): the sentence read into a format step, the text
selected (a drag across the word; a click in the text and select-all for everything), then the style's chord or its
toolbar button, each once, then the rest of the plan; bold and italic chords pass the safety layer, underline's not."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.agents.actions import Click, Drag, Hotkey
from omnirt.agents.elements import Element as E
from omnirt.agents.formatting import picker, step, swatch
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.safety import SafetyPolicy

TOOLBAR = [E("u", (80, 110, 100, 130), "button", "U"), E("ok", (20, 260, 90, 290), "button", "Submit")]
TEXT = [E("w1", (20, 150, 70, 166), "word", "Lorem"), E("w2", (78, 150, 130, 166), "word", "Tortor"),
        E("w3", (138, 150, 180, 166), "word", "ipsum.")]


@pytest.mark.parametrize("clause, expected", [
    ("Using the text editor, give the text Tortor the style underlined", ("Tortor", "underline")),
    ("Using the text editor, give everything the style bold", ("", "bold")),
    ("make Tortor italic", ("Tortor", "italic")), ("bold the word Tortor", ("Tortor", "bold")),
    ("Give the text Neque, the style bold", ("Neque,", "bold")),
    ("Using the text editor, make everything the color yellow", ("", "color:yellow")),
    ("give the text lorem the color green", ("lorem", "color:green")), ("colour the word lorem red", ("lorem",
                                                                                                    "color:red")),
    ("change the colour of Tortor to blue", ("Tortor", "color:blue"))])
def test_styling_text_is_a_format_step(clause, expected):
    assert step(clause) == ("format", *expected)


@pytest.mark.parametrize("clause", ["make the slider bigger", "make the text bigger",
                                    "Make sure the box is checked", "Give Ann the email"])
def test_other_clauses_are_no_format(clause):
    assert step(clause) is None


def run(task: str, screen: list[E], n: int, rgb: np.ndarray | None = None) -> list:
    pol, history = InstructionPolicy(), []
    for _ in range(n):
        pol.see(rgb)
        act = pol.decide(task, screen, history)
        history.append(act)
        pol.observe(act, True)
    return history


def test_a_word_is_selected_then_styled_by_its_button_or_chord_then_submitted():
    acts = run("Using the text editor, give the text Tortor the style underlined and press Submit.",
               TEXT + TOOLBAR, 3)
    assert isinstance(acts[0], Drag) and acts[0].x < 78 and acts[0].to_x > 130 and 150 <= acts[0].y <= 166
    assert acts[1:] == [Click(x=90, y=120), Click(element="ok")]
    acts = run("Using the text editor, give everything the style bold and press Submit.", TEXT + TOOLBAR, 4)
    assert acts == [Click(x=45, y=158), Hotkey(keys=["ctrl", "a"]), Hotkey(keys=["ctrl", "b"]), Click(element="ok")]


def test_bold_and_italic_chords_pass_the_safety_layer_and_underlines_does_not():
    safety = SafetyPolicy(allowed_region=(0, 0, 400, 400))
    for keys, allowed in ((["ctrl", "b"], True), (["ctrl", "i"], True), (["ctrl", "u"], False)):
        assert safety.check(Hotkey(keys=keys)).allowed is allowed


def test_a_word_inside_an_editor_read_as_one_field_is_selected_from_the_keyboard():
    field = [E("f", (20, 140, 300, 200), "input", "U", value="Tortor dui sed quis.")]
    acts = run("Using the text editor, give the text sed the style underlined and press Submit.", field + TOOLBAR, 6)
    assert acts == [Click(x=26, y=170), Hotkey(keys=["ctrl", "home"]), Hotkey(keys=["right"], presses=11),
                    Hotkey(keys=["shift", "right"], presses=3), Click(x=90, y=120), Click(element="ok")]
    safety = SafetyPolicy(allowed_region=(0, 0, 400, 400))
    assert all(safety.check(a).allowed for a in acts[1:4])
    acts = run("Using the text editor, give everything the style italic and press Submit.", field + TOOLBAR, 4)
    assert acts == [Click(x=160, y=170), Hotkey(keys=["ctrl", "a"]), Hotkey(keys=["ctrl", "i"]), Click(element="ok")]


# Quill's palette's first two rows, as a browser at 2x draws them: 28 px swatches touching their neighbours
PALETTE = [[(0, 0, 0), (230, 0, 0), (255, 153, 0), (255, 255, 0), (0, 138, 0), (0, 102, 204), (153, 51, 255)],
           [(255, 255, 255), (250, 204, 204), (255, 235, 204), (255, 255, 204), (204, 232, 204), (204, 224, 245),
            (235, 214, 255)], [(187, 187, 187), (240, 102, 102), (255, 194, 102), (255, 255, 102), (102, 185, 102),
                               (102, 163, 224), (194, 133, 255)]]


def page(opened: bool) -> np.ndarray:
    """A yellow instruction band, white below; with the palette open under the toolbar."""
    rgb = np.full((400, 320, 3), 255, np.uint8)
    rgb[:100] = (255, 255, 0)
    for r, row in enumerate(PALETTE if opened else []):
        for c, colour in enumerate(row):
            rgb[140 + 28 * r:168 + 28 * r, 20 + 28 * c:48 + 28 * c] = colour
    return rgb


COLOURED = [E("a", (20, 110, 40, 130), "word", "A"), E("b", (50, 110, 70, 130), "button", "B"), *TOOLBAR]


def test_the_colour_control_is_the_a_on_the_style_letters_row_else_the_one_before_them():
    assert picker(COLOURED).id == "a"
    assert picker([E("x", (20, 110, 40, 130), "icon", ""), *COLOURED[1:]]).id == "x"
    assert picker(TEXT) is None


def test_a_swatch_is_the_first_square_of_the_named_colour_not_the_band():
    assert swatch(page(True), "yellow") == (118, 154)  # the 4th of the first row, not the band or a pale one
    assert swatch(page(True), "purple") == (202, 154) and swatch(page(True), "violet") == (202, 154)
    assert swatch(page(False), "yellow") is None and swatch(page(True), "pink") is None


def test_a_colour_is_set_with_the_control_then_its_swatch_then_submitted():
    acts = run("Using the text editor, make everything the color green and press Submit.", TEXT + COLOURED, 5,
               page(True))
    assert acts == [Click(x=45, y=158), Hotkey(keys=["ctrl", "a"]), Click(x=30, y=120), Click(x=146, y=154),
                    Click(element="ok")]
    acts = run("Using the text editor, give the text Tortor the color green.", TEXT + COLOURED, 4, page(True))
    assert isinstance(acts[0], Drag) and acts[1:] == [Click(x=30, y=120), Click(x=146, y=154), Click(element="ok")]


def test_a_word_given_with_its_full_stop_is_no_sentence_end():
    steps = parse_plan("Using the text editor, give the text integer. the style underlined and press Submit.")[0]
    assert [(s.op, s.target, s.text) for s in steps] == [("format", "integer.", "underline"), ("click", "Submit", "")]
    steps = parse_plan("Click the button. click submit")[0]  # a command verb after it begins a sentence still
    assert [(s.op, s.target) for s in steps] == [("click", ""), ("click", "submit")]
