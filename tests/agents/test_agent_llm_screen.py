"""What the LLM fallback is told about a screen beyond element names, each from a DEV trajectory (`omnirt bench
miniwob --suite dev --policy llm`, prompts logged): widget states in words, what the last step opened marked
"(new)", a date typed from its field's first segment, and a step's wording not taken for a control already used."""

from __future__ import annotations

from omnirt.agents.actions import Click, Type
from omnirt.agents.grounding import Element
from omnirt.agents.llm_policy import EXAMPLES, LLMPolicy
from omnirt.agents.llm_screen import describe, fresh, identity
from test_agent_llm_policy import Replay  # a Thinker answering from a list, keeping its prompts and schemas

BOX = (10, 10, 36, 36)


def test_widget_states_are_said_in_words() -> None:
    assert describe(2, Element("e2", BOX, "checkbox", "ZrLlee", value="checked")) == \
        "'ZrLlee' checkbox (checked) id=2 at (23,23)"
    assert describe(0, Element("e0", BOX, "checkbox", "UT")) == "'UT' checkbox (unchecked) id=0 at (23,23)"
    assert describe(1, Element("e1", BOX, "radio", "", value="checked"), "3rd radio") == \
        "'3rd radio' radio (selected) id=1 at (23,23)"
    assert describe(1, Element("e1", BOX, "radio", "DpH")) == "'DpH' radio (not selected) id=1 at (23,23)"
    assert describe(4, Element("e4", BOX, "expander", "Ashlea", value="+")) == \
        "'Ashlea' expander (collapsed) id=4 at (23,23)"
    assert describe(4, Element("e4", BOX, "expander", "Ashlea", value="-")) == \
        "'Ashlea' expander (expanded) id=4 at (23,23)"
    field = (14, 157, 230, 200)
    assert describe(5, Element("e5", field, "input", "Verify password")) == \
        "'Verify password' input (empty) id=5 at (122,178)"
    assert describe(1, Element("e1", field, "input", "Password", value="\u2022" * 5)) == \
        "'Password' input value '\u2022\u2022\u2022\u2022\u2022' id=1 at (122,178)"
    assert describe(3, Element("e3", (0, 0, 40, 20), "button", "Submit")) == "'Submit' button id=3"
    # the worked examples show the same: a filled field by its value, the one still to fill as empty
    assert "'Name' input value 'ann' id=1" in EXAMPLES[0][0] and "'Code' input (empty) id=2" in EXAMPLES[0][0]


SECTION = Element("e0", (10, 10, 100, 30), "link", "Section #40")
SUBMIT = Element("e1", (10, 40, 80, 60), "button", "Submit")
TEXT = Element("e2", (10, 40, 200, 60), "line", "Ultricies curabitur metus")
MOVED = Element("e3", (10, 70, 80, 90), "button", "Submit")


def test_what_the_last_step_opened_is_marked_new() -> None:
    before = {identity(e) for e in (SECTION, SUBMIT)}
    assert fresh({0: SECTION, 2: TEXT, 3: MOVED}, before) == {2}  # the Submit button moved down: the same one
    assert fresh({0: SECTION, 1: SUBMIT}, None) == set()  # a first screen
    assert fresh({2: TEXT}, before) == set()  # a new page: nothing carried over
    th = Replay(['{"step": "expand", "action": "click", "target": "Section #40", "id": 0}',
                 '{"step": "submit", "action": "click", "target": "Submit", "id": 3}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Expand the section below and click submit.", [SECTION, SUBMIT], [])]
    assert "(new)" not in th.prompts[0][-1]["content"]
    policy.decide("Expand the section below and click submit.", [SECTION, TEXT, MOVED], h)
    prompt = th.prompts[1][-1]["content"]
    assert "'Ultricies curabitur metus' line (new) id=2" in prompt and "'Submit' button id=3" in prompt


def test_a_date_is_typed_from_its_fields_first_segment() -> None:
    date = Element("e0", (14, 124, 264, 167), "dropdown", "mm/dd/yyyy")
    th = Replay(['{"step": "date", "action": "type", "target": "mm/dd/yyyy", "id": 0, "text": "10/20/2017"}'])
    policy = LLMPolicy(th)
    first = policy.decide("Enter 10/20/2017 as the date and hit submit.", [date, SUBMIT], [])
    assert first == Click(x=35, y=145)  # the month segment; the centre (139,145) is the day
    assert policy.decide("Enter 10/20/2017 as the date and hit submit.", [date, SUBMIT], [first]) == \
        Type(text="10/20/2017")


def play(task: str, answers: list[str], screens: list[list[Element]]) -> tuple[Replay, list]:
    """One decision per screen, the model answering `answers` in turn: (the thinker, the actions)."""
    th = Replay(answers)
    policy, acts = LLMPolicy(th), []
    for els in screens:
        acts.append(policy.decide(task, els, acts))
    return th, acts


def test_a_step_that_names_a_control_already_used_does_not_redirect_the_target() -> None:
    field = Element("e0", (10, 10, 200, 40), "input", "", value="Truman")
    search = Element("e1", (210, 10, 260, 40), "button", "Search")
    result = Element("e2", (10, 60, 80, 80), "link", "Nieves")
    task = 'Use the textbox to enter "Truman" and press "Search", then find and click the 5th search result.'
    _, acts = play(task, ['{"step": "s", "action": "click", "target": "Search", "id": 1}',
                          '{"step": "find and click the 5th search result", "action": "click", "target": "Nieves",'
                          ' "id": 2}'], [[field, search], [field, search, result]])
    assert acts == [Click(x=235, y=25), Click(x=45, y=70)]  # Nieves, not Search again
    # unused, the control the step names still corrects a target the task does not hold
    th = Replay(['{"step": "press Search", "action": "click", "target": "Nieves", "id": 2}'])
    assert LLMPolicy(th).decide(task, [field, search, result], []) == Click(x=235, y=25)


def test_a_click_that_changed_the_screen_is_not_repeated_on_the_screen_it_opened() -> None:
    header = Element("e0", (10, 10, 60, 30), "link", "Section")
    line = Element("e4", (10, 10, 100, 30), "line", "Section #40")
    task = "Expand the section below and click submit."
    th, acts = play(task, ['{"step": "expand", "action": "click", "target": "Section", "id": 0}',
                           '{"step": "click", "action": "click", "target": "Section", "id": 3}'],
                    [[header, line, SUBMIT], [header, line, TEXT, MOVED]])
    assert acts[1] == Click(x=45, y=80)
    # neither the header nor the line holding it is offered again; what it opened is
    assert th.schemas[1]["oneOf"][0]["properties"]["id"] == {"enum": [2, 3]}
    # a click that changed nothing is handled as before (not offered again on that same screen); a text-less
    # control (a spinner's arrow) may be clicked again on the screen its click changed
    arrow = Element("e4", (200, 10, 216, 26), "icon", "")
    th = Replay(['{"action": "click", "target": "", "id": 4}'] * 2)
    policy = LLMPolicy(th)
    h = [policy.decide("Select 5 with the spinner", [arrow, SUBMIT], [])]
    policy.decide("Select 5 with the spinner", [arrow, MOVED], h)
    assert th.schemas[1]["oneOf"][0]["properties"]["id"] == {"enum": [3, 4]}


RADIOS = [Element(f"e{i}", (10 + 50 * i, 10, 36 + 50 * i, 36), "radio", "") for i in range(3)]
FORM = [*RADIOS, Element("e3", (10, 60, 80, 90), "input", "", value="-7"),
        Element("e4", (10, 100, 80, 130), "button", "Submit")]
TO_SUBMIT, TO_RADIO = ('{"step": "s", "action": "click", "target": "Submit", "id": 4}',
                       '{"step": "s", "action": "click", "target": "3rd radio", "id": 2}')


def submit_first(task: str, notes: list[str]) -> tuple[LLMPolicy, Replay, Click]:
    """The model answers Submit, then (if asked again) the 3rd radio, after `notes` were taken."""
    th = Replay([TO_SUBMIT, TO_RADIO])
    policy = LLMPolicy(th)
    policy.reset(notes=notes)
    return policy, th, policy.decide(task, FORM, list(range(len(notes))))


def test_a_text_less_control_named_by_its_place_is_used_before_the_last_click() -> None:
    task = 'Enter the number "-7" into the 1st textbox and check the 3rd radio button, then click Submit.'
    policy, th, act = submit_first(task, ['typed "-7" into \'1st input\' input'])
    assert act == Click(x=123, y=23)
    assert len(th.prompts) == 1 and policy.stats["redirected"] == 1  # named Submit: the radio, without a re-ask
    assert policy._notes[-1] == "clicked '3rd radio' radio"  # the step is noted by the name the model saw


def test_a_drop_down_read_as_a_field_after_its_choice_is_not_opened_again() -> None:
    closed = Element("e0", (14, 120, 294, 146), "dropdown", "Mayotte")
    options = [Element(f"e{i}", (20, 150 + 20 * i, 90, 166 + 20 * i), "word", w)
               for i, w in enumerate(["Somalia", "Brazil"], start=2)]
    chosen = Element("e0", (14, 121, 294, 147), "input", "", value="Somalia")  # no arrow found this time
    task = "Select Somalia from the list and click Submit."
    th, acts = play(task, ['{"step": "s", "action": "click", "target": "Mayotte", "id": 0}',
                           '{"step": "s", "action": "click", "target": "Somalia", "id": 2}',
                           # what it may not do again in words, its only choice in number
                           '{"step": "s", "action": "click", "target": "Dropdown", "id": 1}'],
                    [[closed, SUBMIT], [closed, *options], [chosen, SUBMIT]])
    assert th.schemas[2]["oneOf"][0]["properties"]["id"] == {"enum": [1]}
    assert acts[2] == Click(x=45, y=50)


def test_an_icon_the_task_names_and_no_element_holds_gets_a_mark_of_its_own() -> None:
    """DEV, 0.5B: an opened email's trash can, drawn with no outline, was no element, and "click the trash icon"
    was refused 8 times of 10 ("no element shows 'trash'")."""
    import numpy as np
    import pytest

    pytest.importorskip("cv2")
    from test_agent_icons import _star, _trash

    img = np.full((60, 240, 3), 255, np.uint8)
    _star(img, 170, 30, 10, (150, 150, 150), filled=False)
    _trash(img, 200, 19, 16, (120, 120, 120))
    els = [Element("e0", (6, 10, 50, 40), "word", "Ann"), Element("e1", (60, 10, 120, 40), "button", "Reply")]
    th = Replay(['{"step": "delete it", "action": "click", "target": "trash", "id": 2}'])
    policy = LLMPolicy(th)
    policy.see(img)
    act = policy.decide("Click the trash icon to delete this email.", els, [])
    assert "'trash' icon id=2" in th.prompts[0][-1]["content"]
    assert isinstance(act, Click) and 196 <= act.x <= 220 and 15 <= act.y <= 45
    # what the task does not name is not marked (the star), and nothing when no icon is named
    assert "star" not in th.prompts[0][-1]["content"]
    th = Replay(['{"step": "reply", "action": "click", "target": "Reply", "id": 1}'])
    policy = LLMPolicy(th)
    policy.see(img)
    policy.decide("Reply to Ann.", els, [])
    assert "icon" not in th.prompts[0][-1]["content"].split("Elements:")[1]


def test_a_dropdown_without_a_down_arrow_is_shown_to_the_model_as_a_field() -> None:
    """DEV (enter-date's page, both models): the field drawn with a calendar glyph was a 'dropdown', and the model
    pressed 'down' at it and clicked it instead of typing the date. A real drop-down keeps its arrow and its kind."""
    import numpy as np

    from omnirt.agents.llm_screen import as_fields

    box = (14, 124, 264, 167)
    img = np.full((200, 300, 3), 255, np.uint8)
    img[box[1], box[0]:box[2]] = img[box[3] - 1, box[0]:box[2]] = 120
    img[box[1]:box[3], box[0]] = img[box[1]:box[3], box[2] - 1] = 120
    img[138:152, 236:250] = 60  # a calendar glyph: a filled square, no narrowing rows
    img[140:150, 238:248] = 255
    date = Element("e0", box, "dropdown", "mm/dd/yyyy")
    shown = as_fields({0: date, 1: SUBMIT}, (img, None))
    assert shown[0].kind == "input" and shown[0].value == "mm/dd/yyyy" and shown[1] == SUBMIT
    assert describe(0, shown[0], "1st input") == "'1st input' input value 'mm/dd/yyyy' id=0 at (139,145)"
    arrow = img.copy()
    arrow[136:152, 230:256] = 255
    for k in range(6):  # a down-pointing triangle at the right end
        arrow[142 + k, 237 + k:249 - k] = 40
    assert as_fields({0: date}, (arrow, None))[0] == date
    assert as_fields({0: date}, None)[0] == date  # no frame: as grounded
    # a select whose arrow was not found (DEV: 'Mayotte') shows no date: still a drop-down
    select = Element("e0", box, "dropdown", "Mayotte")
    assert as_fields({0: select}, (img, None))[0] == select


def _results(names: list[str], top: int = 60) -> list[Element]:
    """A page of search results: each a link, its web address below it, then a pager."""
    els = []
    for i, name in enumerate(names):
        y = top + 50 * i
        els += [Element(f"e{2 * i + 2}", (10, y, 90, y + 14), "link", name),
                Element(f"e{2 * i + 3}", (10, y + 16, 160, y + 28), "line", f"https://www.{name.lower()}.com")]
    n = 2 * len(names) + 2
    return els + [Element(f"e{n}", (40, 220, 100, 236), "link", "123\u2265")]  # the pager, read as one word


def test_the_nth_text_item_the_task_counts_is_said_on_its_line_across_pages() -> None:
    """DEV (search-engine, both models): told to click "the 5th search result", the model clicked the 2nd."""
    field = Element("e0", (10, 10, 200, 40), "input", "", value="Truman")
    search = Element("e1", (210, 10, 260, 40), "button", "Search")
    task = 'Use the textbox to enter "Truman" and press "Search", then find and click the 5th search result.'
    page1 = [field, search, *_results(["Nieves", "Kasie", "Truman"])]
    page2 = [field, search, *_results(["Ardith", "Cole", "Deann"])]
    th, acts = play(task, ['{"step": "s", "action": "click", "target": "next page", "id": 8}',
                           # its words for the result, the number of another: the task's 5th is taken
                           '{"step": "s", "action": "click", "target": "5th search result", "id": 2}'],
                    [page1, page2])
    assert "'123\u2265' link (next page: the 5th search result is further on) id=8" in th.prompts[0][-1]["content"]
    assert "'Cole' link (new) (the 5th search result) id=4" in th.prompts[1][-1]["content"]
    assert acts[0].x > 90 and acts[0].y == 228 and acts[1] == Click(x=50, y=117)  # the pager's right end
    # another result of those counted, chosen anyway (0.5B, DEV: the 1st): the pager, then the 5th
    _, acts = play(task, ['{"step": "s", "action": "click", "target": "Nieves", "id": 2}',
                          '{"step": "s", "action": "click", "target": "Ardith", "id": 2}'], [page1, page2])
    assert acts[0].x > 90 and acts[1] == Click(x=50, y=117)
    # on one page, the nth of its kind; an ordinal of text-less controls or none at all: no note
    from omnirt.agents.llm_answers import mark_numbers
    from omnirt.agents.llm_screen import counted_marks

    shown = mark_numbers(page2)
    assert counted_marks(shown, page2, "Click the 2nd link.").notes == {4: "the 2nd link"}
    assert counted_marks(shown, page2, "Check the 3rd radio button.").notes == {}
    assert counted_marks(shown, page2, "Click on Cole.").notes == {}


def test_a_word_of_a_fields_label_is_no_mark_of_its_own_even_where_the_task_says_it() -> None:
    """DEV (use-spinner, 0.5B): 'Select' of the label "Select a value:" was a mark because the task says "Select",
    and the model clicked it instead of the field."""
    from omnirt.agents.llm_screen import select_elements

    els = [Element("e0", (11, 112, 66, 128), "word", "Select"), Element("e1", (11, 112, 140, 128), "line",
                                                                      "Select a value:"),
           Element("e2", (72, 116, 81, 128), "word", "a"), Element("e3", (90, 112, 140, 128), "word", "value:"),
           Element("e4", (11, 134, 277, 176), "input", "Select a value:", value="0"),
           Element("e5", (277, 134, 309, 176), "icon", ""), Element("e6", (10, 187, 201, 250), "button", "Submit")]
    assert sorted(select_elements(els, 40, "Select 5 with the spinner and hit Submit.")) == [4, 5, 6]
    # a word of a line that labels nothing stays where the task says it
    free = [Element("e0", (11, 112, 66, 128), "word", "Select"),
            Element("e1", (11, 112, 140, 128), "line", "Select a value:")]
    assert sorted(select_elements(free, 40, "Select 5")) == [0, 1]


def test_a_second_option_the_task_names_in_a_list_box_is_added_with_ctrl() -> None:
    """DEV (click-scroll-list, 1.5B): "Select Brazil, Mauritania from the scroll list": clicked plainly, the second
    option replaced the first. Screens as grounded there (the list scrolled between the two)."""
    task = "Select Brazil, Mauritania from the scroll list and click Submit."
    first = [Element("e0", (12, 154, 107, 175), "word", "Somalia"), Element("e1", (12, 188, 75, 209), "word", "Brazil"),
             Element("e2", (4, 305, 195, 368), "button", "Submit")]
    second = [Element("e0", (14, 194, 102, 220), "word", "Georgia"),
              Element("e1", (16, 228, 135, 249), "word", "Mauritania"), Element("e2", (4, 305, 195, 368), "button",
                                                                              "Submit")]
    _, acts = play(task, ['{"step": "s", "action": "click", "target": "Brazil", "id": 1}',
                          '{"step": "s", "action": "click", "target": "Mauritania", "id": 1}',
                          '{"step": "s", "action": "click", "target": "Submit", "id": 2}'], [first, second, second])
    assert [a.hold for a in acts] == [None, ["ctrl"], None]
    # a text the task does not name, or a control, is clicked plainly
    _, acts = play(task, ['{"step": "s", "action": "click", "target": "Brazil", "id": 1}',
                          '{"step": "s", "action": "click", "target": "Georgia", "id": 0}'], [first, second])
    assert [a.hold for a in acts] == [None, None]


def test_a_click_on_a_screen_that_only_blinked_is_taken_as_changing_nothing() -> None:
    """DEV (use-autocomplete, after the rules handed over): the model clicked one suggestion six times, the field's
    caret making each screen a little different from the last, so none counted as the same screen."""
    from omnirt.agents.llm_screen import alike

    field = Element("e0", (10, 10, 200, 40), "input", "Food", value="Sa")
    word = Element("e1", (12, 44, 90, 60), "word", "Sardine")
    blinked = [Element("e0", (10, 10, 200, 41), "input", "Food", value="Sa|"), word, SUBMIT]
    task = 'Enter an item that starts with "Sa" and ends with "ine".'
    th, acts = play(task, ['{"step": "s", "action": "click", "target": "Sardine", "id": 1}',
                           '{"step": "s", "action": "click", "target": "Submit", "id": 2}'],
                    [[field, word, SUBMIT], blinked])
    assert "clicked 'Sardine' word (screen did not change)" in th.prompts[1][-1]["content"]
    assert 1 not in th.schemas[1]["oneOf"][0]["properties"]["id"]["enum"]  # not the suggestion again
    sig = [(e.kind, e.label, e.value, e.box) for e in (field, word, SUBMIT)]
    caret = (("word", "|", "", (60, 14, 62, 36)),)
    assert alike(sig, sig[:1] + sig[1:] + list(caret))  # the caret read as a word of its own
    assert not alike(sig, [sig[0], ("checkbox", "Sardine", "checked", word.box), sig[2]])  # a state changed
    assert not alike(sig, [("input", "Food", "Sardine", field.box), *sig[1:]])  # the field took the suggestion


def test_a_value_for_a_spinner_is_typed_over_what_the_field_shows() -> None:
    """DEV (use-spinner, 0.5B): "Select 5 with the spinner": it clicked the field twice and never typed."""
    from omnirt.agents.actions import Hotkey

    spin = Element("e4", (11, 134, 277, 176), "input", "Select a value:", value="0")
    arrows = Element("e5", (277, 134, 309, 176), "icon", "")
    task = "Select 5 with the spinner and hit Submit."
    th = Replay(['{"step": "s", "action": "click", "target": "Select a value:", "id": 4}'])
    policy = LLMPolicy(th)
    first = policy.decide(task, [spin, arrows, SUBMIT], [])
    assert isinstance(first, Click) and policy.decide(task, [], [first]) == Hotkey(keys=["up"], presses=5)
    # a value not stepped to by keys from what it shows: typed over it
    th = Replay(['{"step": "s", "action": "click", "target": "Select a value:", "id": 4}'])
    policy = LLMPolicy(th)
    empty = Element("e4", spin.box, "input", "Select a value:")
    first = policy.decide(task, [empty, arrows, SUBMIT], [])
    rest = [policy.decide(task, [], [first]), policy.decide(task, [], [first, 1])]
    assert rest == [Hotkey(keys=["ctrl", "a"]), Type(text="5")]
    # a field showing the value already, or a task naming no such widget: the click stands
    th = Replay(['{"step": "s", "action": "click", "target": "Select a value:", "id": 4}'])
    shows = Element("e4", spin.box, "input", "Select a value:", value="5")
    assert isinstance(LLMPolicy(th).decide(task, [shows, arrows, SUBMIT], []), Click)


def test_a_step_that_says_scroll_scrolls_the_element_once() -> None:
    """A task from neither suite (sign-agreement, run with --policy llm): "Scroll to the bottom of the textarea, ...";
    the 0.5B model answered a click on the text box, which changed nothing. The click becomes a scroll to its end."""
    from omnirt.agents.actions import Scroll

    box = Element("e0", (10, 50, 150, 150), "textarea", "Lorem ipsum dolor")
    name = Element("e1", (10, 160, 150, 180), "input", "Name")
    click_box = '{"step": "Scroll to the bottom of the textarea", "action": "click", "target": "textarea", "id": 0}'
    th = Replay([click_box, click_box, '{"step": "Enter the name", "action": "type", "target": "Name", "id": 1, '
                 '"text": "Enola"}'])
    policy = LLMPolicy(th)
    task = 'Scroll to the bottom of the textarea, enter the name "Enola" then press "Cancel"'
    first = policy.decide(task, [box, name], [])
    assert isinstance(first, Scroll) and first.amount < 0 and (first.x, first.y) == (80, 100)
    assert "scrolled down to the end of the textarea 'Lorem ipsum dolor'" in policy._notes[-1]
    scrolled = Element("e0", (10, 50, 150, 150), "textarea", "sit amet")
    assert isinstance(policy.decide(task, [scrolled, name], [first]), Click)  # asked again: taken as the click
    assert not isinstance(policy.decide(task, [scrolled, name], [first, first]), Scroll)
