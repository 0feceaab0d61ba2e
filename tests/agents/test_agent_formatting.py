"""Text given a style in a rich-text editor (agents/formatting.py): the sentence read into a format step, the text
selected (a drag across the word; a click in the text and select-all for everything), then the style's chord or its
toolbar button, each once, then the rest of the plan; bold and italic chords pass the safety layer, underline's not."""

from __future__ import annotations

import pytest

from omnirt.agents.actions import Click, Drag, Hotkey
from omnirt.agents.elements import Element as E
from omnirt.agents.formatting import step
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.safety import SafetyPolicy

TOOLBAR = [E("u", (80, 110, 100, 130), "button", "U"), E("ok", (20, 260, 90, 290), "button", "Submit")]
TEXT = [E("w1", (20, 150, 70, 166), "word", "Lorem"), E("w2", (78, 150, 130, 166), "word", "Tortor"),
        E("w3", (138, 150, 180, 166), "word", "ipsum.")]


@pytest.mark.parametrize("clause, expected", [
    ("Using the text editor, give the text Tortor the style underlined", ("Tortor", "underline")),
    ("Using the text editor, give everything the style bold", ("", "bold")),
    ("make Tortor italic", ("Tortor", "italic")), ("bold the word Tortor", ("Tortor", "bold")),
    ("Give the text Neque, the style bold", ("Neque,", "bold"))])
def test_styling_text_is_a_format_step(clause, expected):
    assert step(clause) == ("format", *expected)


@pytest.mark.parametrize("clause", ["make everything the color red", "make the slider bigger",
                                    "Make sure the box is checked", "Give Ann the email"])
def test_other_clauses_are_no_format(clause):
    assert step(clause) is None


def run(task: str, screen: list[E], n: int) -> list:
    pol, history = InstructionPolicy(), []
    for _ in range(n):
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
