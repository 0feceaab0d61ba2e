"""Form widgets the instruction policy meets on pages it was not written for, on fixtures (no browser, no OCR):
a segmented date field focused at its first segment, a form sent with its Submit button when the instruction only
fills it in, and a drop-down list outlined in a light grey with its arrow at the right end."""

from __future__ import annotations

import numpy as np

from omnirt.agents.actions import Click, Done, Type
from omnirt.agents.elements import build_elements
from omnirt.agents.fields import focus_point, segmented
from omnirt.agents.grounding import Element
from omnirt.agents.pixels import find_shapes, has_caret
from omnirt.agents.policies import InstructionPolicy


def walk(instruction: str, elements: list[Element], steps: int = 6) -> list:
    pol, hist = InstructionPolicy(), []
    for _ in range(steps):
        a = pol.decide(instruction, elements, hist)
        hist.append(a)
        if isinstance(a, Done):
            break
    return hist


# ---------------------------------------------------------------- a segmented date field

def test_format_placeholders_are_segmented_fields():
    for text in ("mm/dd/yyyy", "dd.mm.yyyy", "yyyy-mm-dd", "--:-- --"):
        assert segmented(text), text
    for text in ("Name", "10/20/2017", "dd", "my"):
        assert not segmented(text), text
    assert focus_point((14, 124, 264, 167), "mm/dd/yyyy") == (35, 145)  # the month, not the year under the middle
    assert focus_point((14, 124, 264, 167), "Ada") == (139, 145)


def test_a_date_is_typed_from_the_first_segment_of_its_field():
    ui = [Element("e0", (14, 124, 264, 167), "input", "", value="mm/dd/yyyy"),
          Element("e1", (14, 177, 205, 240), "button", "Submit")]
    acts = walk("Enter 10/20/2017 as the date and hit submit.", ui)
    assert acts[:3] == [Click(x=35, y=145), Type(text="10/20/2017"), Click(element="e1")]
    # Taken for a list (a date field shows a calendar at its right end): the same.
    ui[0] = Element("e0", (14, 124, 264, 167), "dropdown", "mm/dd/yyyy")
    assert walk("Enter 10/20/2017 as the date and hit submit.", ui)[0] == Click(x=35, y=145)


# ---------------------------------------------------------------- a form sent with its Submit button

FORM = [Element("e0", (18, 130, 44, 156), "radio", ""), Element("e1", (66, 130, 92, 156), "radio", ""),
        Element("e2", (113, 130, 139, 156), "radio", ""), Element("e3", (8, 182, 84, 224), "input", ""),
        Element("e4", (90, 182, 166, 224), "input", ""), Element("e5", (171, 182, 247, 224), "input", ""),
        Element("e6", (8, 245, 198, 324), "button", "Submit")]


def test_a_filled_in_form_is_sent_with_its_submit_button():
    acts = walk('Check the 3rd radio button and enter the number "-7" into the 2nd textbox.', FORM)
    assert acts[:4] == [Click(element="e2"), Click(element="e4"), Type(text="-7"), Click(element="e6")]
    assert isinstance(acts[4], Done)


def test_no_submit_when_the_instruction_says_how_to_send_or_only_clicks():
    acts = walk('Enter "-7" into the 2nd textbox and press Submit.', FORM)
    assert [a for a in acts if a == Click(element="e6")] == [Click(element="e6")]  # once, as said
    assert isinstance(walk("Click the 3rd radio button.", FORM)[1], Done)  # ticking alone may be all that is asked
    acts = walk('Enter "-7" into the 2nd textbox.', FORM[:-1])  # no Submit button: nothing to send with
    assert isinstance(acts[2], Done)
    two = FORM + [Element("e7", (8, 330, 198, 380), "button", "Submit")]  # two: which would be a guess
    assert isinstance(walk('Enter "-7" into the 2nd textbox.', two)[2], Done)


# ---------------------------------------------------------------- a light-grey drop-down list

def select_page() -> np.ndarray:
    """A native-looking select: #ddd outline, #f8f8f8 face, a dark grey arrow at the right; and a button with a
    light grey face and no outline, which is no box."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 200), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((80, 20, 240, 100), fill=(248, 248, 248), outline=(221, 221, 221), width=2)
    d.polygon([(193, 56), (207, 56), (200, 63)], fill=(187, 187, 187))
    d.rectangle((80, 130, 240, 170), fill=(233, 233, 233))
    return np.asarray(img)


def test_a_light_grey_select_is_found_and_is_a_dropdown():
    rgb = select_page()
    shapes = find_shapes(rgb, 8, 18)
    assert [s.box for s in shapes] == [(81, 21, 240, 100)]  # the faint outline; the flat face is none
    assert has_caret(rgb, shapes[0].box) is not None
    els = build_elements(rgb, [], shapes, 18)
    assert [e.kind for e in els] == ["dropdown"]
    # A wide field with no arrow is a field.
    plain = rgb.copy()
    plain[50:70, 185:215] = 248
    assert has_caret(plain, shapes[0].box) is None
    assert [e.kind for e in build_elements(plain, [], find_shapes(plain, 8, 18), 18)] != ["dropdown"]


def test_choose_from_the_dropdown_clicks_the_list_not_a_button():
    rgb = select_page()
    els = build_elements(rgb, [], find_shapes(rgb, 8, 18), 18)
    ui = [Element("e0", els[0].box, "dropdown", "V"), Element("e1", (84, 228, 236, 278), "button", "Yes"),
          Element("e2", (89, 286, 231, 336), "button", "No")]
    acts = walk('Choose 6 ft from the dropdown, then click the button labeled "Yes".', ui)
    assert acts[0] == Click(element="e0") and acts[1] == Type(text="6 ft")


# ---------------------------------------------------------------- a spinner set by its arrow keys

SPIN = [Element("e0", (12, 112, 142, 135), "line", "Select a value:"),
        Element("e1", (11, 134, 277, 176), "input", "", value="0"), Element("e2", (10, 187, 201, 250), "button", "Submit")]


def test_a_spinner_is_stepped_by_its_arrow_keys_from_what_it_shows():
    from omnirt.agents.actions import Hotkey

    acts = walk("Select 5 with the spinner and hit Submit.", SPIN)
    assert acts[:3] == [Click(element="e1"), Hotkey(keys=["up"], presses=5), Click(element="e2")]
    assert walk("Select -7 with the spinner and hit Submit.", SPIN)[1] == Hotkey(keys=["down"], presses=7)
    assert walk("Select 0 with the spinner and hit Submit.", SPIN)[1] == Click(element="e2")  # already so
    blank = [SPIN[0], Element("e1", SPIN[1].box, "input", ""), SPIN[2]]  # nothing to step from: typed over
    assert walk("Select 5 with the spinner and hit Submit.", blank)[1:3] == [Hotkey(keys=["ctrl", "a"]), Type(text="5")]


# ---------------------------------------------------------------- a run-on command; what to scroll said first

def test_a_click_run_on_after_another_command_is_a_step_of_its_own():
    from omnirt.agents.plan import parse_plan

    for way in ("bottom", "top"):
        steps = parse_plan(f"Scroll the textarea to the {way} of the text hit submit.")[0]
        assert [(s.op, s.target, s.kinds, s.text) for s in steps] == [
            ("scroll", "", ["textarea"], "down" if way == "bottom" else "up"), ("click", "submit", None, "")]
    steps = parse_plan("scroll down to the bottom of the page")[0]
    assert [(s.op, s.text) for s in steps] == [("scroll", "down")]
    steps = parse_plan("click the button press me")[0]  # a click's own words are its target
    assert [(s.op, s.target) for s in steps] == [("click", "press me")]


# ---------------------------------------------------------------- "find the email by X": the row a control is in

def test_a_control_clicked_after_finding_a_row_is_that_rows():
    from omnirt.agents.plan import parse_plan

    steps = parse_plan("Find the email by Ann Lee and click the trash icon to delete it.")[0]
    assert [(s.op, s.target, s.text) for s in steps][0] == ("row", "Ann Lee", "delete")
    inbox = [Element("e0", (10, 110, 60, 125), "word", "Bob"), Element("e1", (250, 112, 262, 124), "icon", ""),
             Element("e2", (266, 112, 278, 124), "icon", ""),
             Element("e3", (10, 150, 70, 165), "line", "Ann Lee"), Element("e4", (250, 152, 262, 164), "icon", ""),
             Element("e5", (266, 152, 278, 164), "icon", "")]
    act = InstructionPolicy().decide("Find the email by Ann Lee and click the trash icon to delete it.", inbox, [])
    assert act == Click(x=272, y=158)  # the rightmost control on Ann Lee's row, not the first icon on the page
    assert parse_plan("Find the email by Ann and reply to it.")[1] == [(0, "reply to it")]  # not understood: said


def test_a_repeated_key_press_is_one_action_pressed_so_often():
    import pytest

    from omnirt.agents.actions import MAX_PRESSES, Hotkey, parse_action
    from omnirt.agents.executor import Executor
    from omnirt.agents.safety import SafetyPolicy

    class Keys:
        pressed: list = []

        def hotkey(self, keys):
            self.pressed.append(tuple(keys))

    backend = Keys()
    out = Executor(SafetyPolicy(allowed_region=(0, 0, 100, 100)), backend).execute({"action": "hotkey", "keys": ["up"],
                                                                                     "presses": 3})
    assert out.executed and backend.pressed == [("up",)] * 3
    assert "presses" not in Hotkey(keys=["enter"]).model_dump(exclude_none=True)  # once: as before
    with pytest.raises(Exception):
        parse_action({"action": "hotkey", "keys": ["up"], "presses": MAX_PRESSES + 1})


# ---------------------------------------------------------------- an option clicked where the opened list shows it

def test_an_option_is_clicked_in_the_opened_list_else_looked_for_then_typed():
    from omnirt.agents.actions import Hotkey, Scroll

    closed = [Element("e0", (81, 125, 239, 203), "dropdown", "V"), Element("e1", (84, 228, 236, 278), "button", "Yes")]
    shown = closed + [Element("e2", (100, 300, 200, 320), "line", "5ft 9in"),
                      Element("e3", (100, 340, 200, 360), "line", "6 ft")]
    pol, instr = InstructionPolicy(), 'Choose 6 ft from the dropdown, then click the button labeled "Yes".'
    hist = [pol.decide(instr, closed, [])]
    assert hist == [Click(element="e0")]
    assert pol.decide(instr, shown, hist) == Click(element="e3")  # the option itself, not typed to
    # Not in sight: the opened list is scrolled to look (it changed where it opened), then typed to at last.
    pol = InstructionPolicy()
    frame = np.full((420, 320, 3), 255, np.uint8)
    pol.see(frame)
    hist = [pol.decide(instr, closed, [])]
    opened = frame.copy()
    opened[205:400, 81:239] = 200  # the list that opened under the box
    pol.see(opened)
    acts = []
    for _ in range(8):
        a = pol.decide(instr, closed, hist)
        acts.append(a)
        hist.append(a)
        if isinstance(a, Type):
            break
    assert isinstance(acts[0], Scroll) and 81 <= acts[0].x <= 239 and 205 <= acts[0].y <= 400
    assert acts[-1] == Type(text="6 ft")
    assert pol.decide(instr, closed, hist) == Hotkey(keys=["enter"])


def test_a_list_box_already_open_is_not_clicked_to_open():
    box = [Element("e0", (10, 110, 80, 125), "word", "Mayotte"), Element("e1", (10, 130, 80, 145), "word", "Brazil"),
           Element("e2", (10, 300, 200, 350), "button", "Submit")]
    acts = walk("Select Brazil from the scroll list and click Submit.", box)
    assert acts[:2] == [Click(element="e1"), Click(element="e2")]


def test_an_option_is_a_whole_line_not_a_word_of_a_longer_one():
    from omnirt.agents.everyday import option
    from omnirt.agents.plan import Step

    items = [Element("e0", (100, 300, 130, 320), "word", "6ft"), Element("e1", (100, 300, 200, 320), "line", "6ft 1in"),
             Element("e2", (140, 300, 200, 320), "word", "1in")]
    assert option(Step("pick", "6 ft"), items, None) is None  # "6ft" of "6ft 1in": not the option "6 ft"
    assert option(Step("pick", "6ft 1in"), items, None) == Click(element="e1")
    assert option(Step("pick", "6 ft"), [Element("e3", (100, 340, 130, 360), "word", "6ft")], None) == \
        Click(element="e3")  # alone on its line, OCR's "6ft" is the option


# ---------------------------------------------------------------- the nth of a paged list

def test_the_nth_result_beyond_this_page_is_counted_on_the_next():
    def page(names, y0=160):
        out = []
        for i, name in enumerate(names):
            y = y0 + 70 * i
            out += [Element(f"e{3 * i}", (8, y, 80, y + 16), "link", name),
                    Element(f"e{3 * i + 1}", (8, y + 20, 200, y + 36), "link", f"https://www.{name.lower()}.us"),
                    Element(f"e{3 * i + 2}", (8, y + 40, 120, y + 56), "word", "Sed quis.")]
        return out + [Element("e9", (112, 385, 180, 410), "link", "123\u2265")]

    instr = "find and click the 5th search result."
    pol, hist = InstructionPolicy(), []
    first = pol.decide(instr, page(["Nieves", "Kanesha", "Dolores"]), hist)
    assert first == Click(x=172, y=397)  # the pager's '>' at the right end of '123>' read as one word
    hist.append(first)
    assert pol.decide(instr, page(["Kanesha", "Marcella", "Livia"]), hist) == Click(element="e3")  # 2nd here
    # Within the page: the nth result, neither its address nor a page number.
    assert InstructionPolicy().decide("click the 2nd search result", page(["A", "B", "C"]), []) == Click(element="e3")


# ---------------------------------------------------------------- a text area with text running under its grip

def test_a_resize_grip_is_found_with_a_clipped_line_of_text_beside_it():
    """At device scale 2 the grip's corner is 28 px: the last, clipped line of text reaches into it from the left."""
    from PIL import Image, ImageDraw

    from omnirt.agents.pixels import has_grip

    def area(text: bool, grip: bool = True) -> np.ndarray:
        img = Image.new("RGB", (320, 240), (255, 255, 255))
        d = ImageDraw.Draw(img)
        d.rectangle((4, 14, 315, 225), outline=(118, 118, 118), width=2)
        if grip:
            d.line((290, 219, 309, 200), fill=(102, 102, 102), width=2)
            d.line((300, 219, 309, 210), fill=(102, 102, 102), width=2)
        if text:  # a letter's stems and bowl, clipped by the bottom border
            d.rectangle((285, 205, 287, 223), fill=(0, 0, 0))
            d.rectangle((285, 212, 292, 214), fill=(0, 0, 0))
            d.rectangle((290, 212, 292, 223), fill=(0, 0, 0))
        return np.asarray(img)

    assert has_grip(area(False), (4, 14, 316, 226), scale=2)
    assert has_grip(area(True), (4, 14, 316, 226), scale=2)
    assert not has_grip(area(True, grip=False), (4, 14, 316, 226), scale=2)
