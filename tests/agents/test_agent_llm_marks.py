"""What the LLM policy shows the model and how it reads answers that a small model gets half right, each from a
failure measured on DEV with the LLM deciding (`omnirt bench miniwob --suite dev --policy llm`): elements named by
their place when they have no text, a control's label shown once, the kind of an element taken as naming it, a
rejected answer not offered again, a stale target with a fresh number, and the task's last part not done first."""

from __future__ import annotations

from omnirt.agents.actions import Click, Scroll, Type
from omnirt.agents.grounding import Element
from omnirt.agents.llm_answers import mark_numbers, ordinal_names, to_actions
from omnirt.agents.llm_policy import LLMPolicy, select_elements
from test_agent_llm_policy import Replay  # a Thinker answering from a list, keeping its prompts and schemas


INPUTS = [Element(f"e{i}", (20, 40 + 50 * i, 200, 70 + 50 * i), "input", "") for i in range(3)]
SUBMIT = Element("e3", (20, 200, 100, 230), "button", "Submit")


def test_elements_without_text_are_named_by_their_place_among_their_kind() -> None:
    # numbered out of reading order
    shown = mark_numbers([Element(f"e{i}", INPUTS[j].box, "input", "") for i, j in enumerate((2, 0, 1))] + [SUBMIT])
    assert ordinal_names(shown) == {0: "3rd input", 1: "1st input", 2: "2nd input"}
    th = Replay(['{"step": "s", "action": "click", "target": "3rd input", "id": 1}'])
    policy = LLMPolicy(th)
    # the model names the 3rd input but copies the wrong number: its words decide
    assert policy.decide("Focus into the 3rd input textbox.", list(shown.values()), []) == Click(x=110, y=155)
    assert "'3rd input' input (empty) id=0 at (110,155)" in th.prompts[0][-1]["content"]


def test_a_target_that_only_names_the_kind_of_its_element_stands() -> None:
    folder = Element("e0", (10, 10, 20, 20), "expander", "Cristin", value="+")
    other = Element("e1", (10, 40, 20, 50), "expander", "Tora", value="+")
    shown = mark_numbers([folder, other])
    assert to_actions('{"action": "click", "target": "expander", "id": 1}', shown)[2]["id"] == 1
    assert to_actions('{"action": "click", "target": "textbox", "id": 0}', mark_numbers(INPUTS))[2]["id"] == 0


def test_a_word_that_repeats_a_controls_label_is_not_shown() -> None:
    box = Element("e0", (10, 10, 22, 22), "checkbox", "ZrLlee")
    word = Element("e1", (26, 10, 70, 22), "word", "ZrLlee")
    field = Element("e2", (80, 40, 200, 60), "input", "Verify password")
    line = Element("e5", (10, 40, 75, 60), "line", "Verify password")
    assert sorted(select_elements([box, word, field, line, SUBMIT], 40, "Select ZrLlee")) == [0, 2, 3]


def test_a_target_not_shown_is_looked_for_below_once_then_its_number_left_out_of_the_re_ask() -> None:
    els = [Element("e0", (10, 10, 60, 30), "word", "Ashlea"), SUBMIT]
    th = Replay(['{"action": "click", "target": "Emile", "id": 0}'] * 2
                + ['{"action": "click", "target": "x", "id": 3}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Click Emile", els, [])]
    assert h == [Scroll(x=35, y=20, amount=-3)] and policy.stats["invalid"] == 0
    policy.decide("Click Emile", els, h)  # the same screen: the scroll showed nothing new, so no second look
    assert "1. scrolled down at 'Ashlea' word looking for 'Emile' (screen did not change)" in \
        th.prompts[1][-1]["content"]
    assert th.schemas[2]["oneOf"][0]["properties"]["id"] == {"enum": [3]}


def test_a_stale_target_with_a_fresh_number_takes_the_number() -> None:
    one, two = Element("e0", (10, 10, 60, 30), "button", "ONE"), Element("e1", (80, 10, 130, 30), "button", "TWO")
    th = Replay(['{"action": "click", "target": "ONE", "id": 0}', '{"action": "click", "target": "ONE", "id": 1}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Click button ONE, then click button TWO.", [one, two], [])]
    assert policy.decide("Click button ONE, then click button TWO.", [one, two], h) == Click(x=105, y=20)
    assert policy.stats["invalid"] == 0


def test_the_tasks_last_part_is_not_done_first() -> None:
    box = Element("e0", (10, 10, 22, 22), "checkbox", "UT")
    th = Replay(['{"action": "click", "target": "Submit", "id": 3}'] * 2)
    policy = LLMPolicy(th)
    task = "Select Ut, Lyda and click Submit."  # "Lyda and click": not two verbs of one part (a list's last item)
    h = [policy.decide(task, [box, SUBMIT], [])]
    # the first part names the box: Submit is held back up front, and an answer naming it clicks the box (one call;
    # told to do the first part and asked again, the 0.5B model wrote "Submit" again every time on DEV)
    assert h == [Click(x=16, y=16)] and len(th.prompts) == 1 and policy.stats["invalid"] == 0
    assert "'Submit' button (later) id=3" in th.prompts[0][-1]["content"]
    ticked = Element("e0", (10, 10, 22, 22), "checkbox", "UT", value="checked")
    assert policy.decide(task, [ticked, SUBMIT], h) == Click(x=60, y=215)  # once a step is taken, Submit is fine
    # a first part that names no control: refused after the answer with the reason, then asked again
    th = Replay(['{"action": "click", "target": "Submit", "id": 3}', '{"action": "click", "target": "UT", "id": 0}'])
    policy = LLMPolicy(th)
    assert policy.decide("Think it over and click Submit.", [box, SUBMIT], []) == Click(x=16, y=16)
    assert "first do the first part of the task (Think it over)" in th.prompts[1][-1]["content"]
    assert th.schemas[1]["oneOf"][0]["properties"]["id"] == {"enum": [0]}
    # a one-part task, or a label also in the first part, is not held back
    th = Replay(['{"action": "click", "target": "Submit", "id": 3}'])
    assert LLMPolicy(th).decide("Click Submit.", [SUBMIT], []) == Click(x=60, y=215)
    policy = LLMPolicy(Replay(['{"action": "type", "target": "1st input", "id": 0, "text": "a"}']))
    assert [policy.decide("Type a and press Submit", INPUTS, []), policy.decide("", [], [1])] == \
        [Click(x=110, y=55), Type(text="a")]


def test_a_toggle_is_clicked_once_an_episode_and_a_quoted_text_is_typed_before_the_last_click() -> None:
    box = Element("e0", (10, 10, 22, 22), "checkbox", "UT")
    moved = Element("e0", (10, 12, 22, 24), "checkbox", "UT")  # a screen that changed a little: not the same one
    th = Replay(['{"action": "click", "target": "UT", "id": 0}', '{"action": "click", "target": "Submit", "id": 3}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Select UT and click Submit.", [box, SUBMIT], [])]
    h.append(policy.decide("Select UT and click Submit.", [moved, SUBMIT], h))
    assert th.schemas[1]["oneOf"][0]["properties"]["id"] == {"enum": [3]}  # clicked again, it would untick
    fields = [Element("e0", (10, 10, 200, 30), "input", "Username"),
              Element("e1", (10, 50, 200, 70), "input", "Password"),
              Element("e3", (10, 90, 80, 110), "button", "Login")]
    th = Replay(['{"action": "type", "target": "Username", "id": 0, "text": "ann"}',
                 '{"action": "click", "target": "Login", "id": 3}',
                 '{"action": "type", "target": "Password", "id": 1, "text": "UT"}'])
    policy = LLMPolicy(th)
    task = 'Enter the username "ann" and the password "UT" and press login.'  # "ut" is in "input": not typed
    h = [policy.decide(task, fields, [])]
    h.append(policy.decide(task, fields, h))
    assert policy.decide(task, fields, h) == Click(x=105, y=60)
    assert 'first type "UT" (the task gives it)' in th.prompts[2][-1]["content"]


def test_a_control_the_earlier_part_names_is_used_before_the_last_click() -> None:
    one, two = Element("e0", (10, 10, 60, 30), "button", "ONE"), Element("e1", (80, 10, 130, 30), "button", "TWO")
    th = Replay(['{"action": "click", "target": "TWO", "id": 1}', '{"action": "click", "target": "ONE", "id": 0}'])
    policy = LLMPolicy(th)
    policy.reset(notes=["pressed tab"])  # a step another policy took: not the first step of the episode
    assert policy.decide("Click button ONE, then click button TWO.", [one, two], [1]) == Click(x=35, y=20)
    # the answer named TWO: ONE is what to click now, without a re-ask
    assert len(th.prompts) == 1 and policy.stats["invalid"] == 0 and policy.stats["redirected"] == 1


def test_the_answers_own_step_names_the_target_when_its_target_is_not_in_the_task() -> None:
    options = [Element(f"e{i}", (10, 10 + 30 * i, 22, 22 + 30 * i), "radio", w) for i, w in enumerate(["UT", "yMbd"])]
    th = Replay(['{"step": "Select yMbd", "action": "click", "target": "UT", "id": 0}'])
    assert LLMPolicy(th).decide("Select yMbd and click Submit.", [*options, SUBMIT], []) == Click(x=16, y=46)
    th = Replay(['{"step": "Select yMbd", "action": "click", "target": "Submit", "id": 3}'])  # a target in the task
    assert LLMPolicy(th).decide("Click Submit (not yMbd).", [*options, SUBMIT], []) == Click(x=60, y=215)


def test_told_to_type_a_quoted_text_first_a_click_on_an_empty_field_types_it_there() -> None:
    fields = [Element("e0", (10, 10, 200, 30), "input", "Username", value="ann"),
              Element("e1", (10, 50, 200, 70), "input", "Password"),
              Element("e3", (10, 90, 80, 110), "button", "Login")]
    th = Replay(['{"action": "click", "target": "Login", "id": 3}', '{"action": "click", "target": "Login", "id": 1}'])
    policy = LLMPolicy(th)
    policy.reset(notes=['typed "ann"'])
    task = 'Enter the username "ann" and the password "UT" and press login.'
    acts = [policy.decide(task, fields, [1]), policy.decide(task, [], [1, 2])]
    assert acts == [Click(x=105, y=60), Type(text="UT")]
    # a quoted text that is a label on screen is clicked, not typed: it does not hold the last click back
    search = [Element("e0", (10, 10, 200, 30), "input", "", value="Truman"),
              Element("e1", (210, 10, 260, 30), "button", "Search"), Element("e2", (10, 50, 80, 70), "link", "Nieves")]
    th = Replay(['{"action": "click", "target": "Nieves", "id": 2}'])
    policy = LLMPolicy(th)
    policy.reset(notes=['typed "Truman"', "clicked 'Search' button"])
    assert policy.decide('Enter "Truman" and press "Search", then click Nieves.', search, [1]) == Click(x=45, y=60)


def test_what_would_be_refused_as_out_of_order_is_held_back_up_front() -> None:
    # Refused after the answer, each out-of-order click cost a re-ask (~2.5 s of a 10 s episode): the grammar leaves
    # it out from the first ask (its line says "(later)"), and a click on an empty field types the text owed.
    one, two = Element("e0", (10, 10, 60, 30), "button", "ONE"), Element("e1", (80, 10, 130, 30), "button", "TWO")
    th = Replay(['{"action": "click", "target": "ONE", "id": 0}'])
    policy = LLMPolicy(th)
    policy.reset(notes=["pressed tab"])
    assert policy.decide("Click button ONE, then click button TWO.", [one, two], [1]) == Click(x=35, y=20)
    assert th.schemas[0]["oneOf"][0]["properties"]["id"] == {"enum": [0]} and len(th.prompts) == 1
    assert "'TWO' button (later) id=1" in th.prompts[0][-1]["content"]
    fields = [Element("e0", (10, 10, 200, 30), "input", "Username", value="ann"),
              Element("e1", (10, 50, 200, 70), "input", "Password"),
              Element("e3", (10, 90, 80, 110), "button", "Login")]
    th = Replay(['{"action": "click", "target": "Password", "id": 1}'])
    policy = LLMPolicy(th)
    policy.reset(notes=['typed "ann"'])
    task = 'Enter the username "ann" and the password "UT" and press login.'
    assert [policy.decide(task, fields, [1]), policy.decide(task, [], [1, 2])] == [Click(x=105, y=60), Type(text="UT")]
    assert len(th.prompts) == 1 and policy.stats["invalid"] == 0
    # it names the held button, the grammar forces a field's number: the text owed is typed there
    th = Replay(['{"action": "click", "target": "Login", "id": 1}'])
    policy = LLMPolicy(th)
    policy.reset(notes=['typed "ann"'])
    assert [policy.decide(task, fields, [1]), policy.decide(task, [], [1, 2])] == [Click(x=105, y=60), Type(text="UT")]
    # the model writes the held-back target anyway (another number): the control named first is clicked, not
    # scrolled for nor asked again
    th = Replay(['{"action": "click", "target": "TWO", "id": 3}'])
    policy = LLMPolicy(th)
    policy.reset(notes=["pressed tab"])
    assert policy.decide("Click button ONE, then click button TWO.", [one, two, SUBMIT], [1]) == Click(x=35, y=20)
    assert len(th.prompts) == 1 and policy.stats["invalid"] == 0
    # a control named first that a step already used is passed over for the next one the first part names
    box = Element("e4", (10, 60, 22, 72), "checkbox", "UT")
    th = Replay(['{"action": "click", "target": "UT", "id": 4}', '{"action": "click", "target": "TWO", "id": 1}',
                 '{"action": "click", "target": "ONE", "id": 0}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Tick UT and ONE, then click button TWO.", [one, two, box], [])]
    h.append(policy.decide("Tick UT and ONE, then click button TWO.", [one, two, box], h))
    assert h[1] == Click(x=35, y=20) and policy.stats["redirected"] == 1
    # with nothing done yet the last part is held back up front only where the first part names a control to use:
    # "I changed my mind, cancel it" has no first part to do (with Cancel out of the grammar the model chose OK)
    th = Replay(['{"action": "click", "target": "TWO", "id": 1}'])
    assert LLMPolicy(th).decide("Click button ONE, then click button TWO.", [one, two], []) == Click(x=35, y=20)
    assert "'TWO' button (later) id=1" in th.prompts[0][-1]["content"]
    th = Replay(['{"action": "click", "target": "OK", "id": 1}'] * 2)
    LLMPolicy(th).decide("I changed my mind, cancel it.", [one, Element("e1", (80, 10, 130, 30), "button", "OK")], [])
    assert "'OK' button id=1" in th.prompts[0][-1]["content"]


def test_a_box_chosen_for_a_word_no_element_shows_stands() -> None:
    # "Select words similar to depraved": the model wrote the task's word and chose the 'evil' box; a re-ask answered
    # the same target with another number. A button or a line so chosen is still refused (or looked for below).
    boxes = [Element(f"e{i}", (10, 10 + 30 * i, 22, 22 + 30 * i), "checkbox", w) for i, w in enumerate(["evil", "tv"])]
    assert to_actions('{"action": "click", "target": "depraved", "id": 0}', mark_numbers(boxes))[2]["id"] == 0
    els = [Element("e0", (10, 10, 60, 30), "word", "Ashlea"), SUBMIT]
    assert isinstance(LLMPolicy(Replay(['{"action": "click", "target": "Emile", "id": 0}'])).decide("Click Emile", els,
                                                                                                   []), Scroll)


def test_the_one_control_of_a_kind_the_first_part_names_is_used_before_the_last_click() -> None:
    # "Choose 6 ft from the dropdown, then click Yes": the model answered Yes, was told to do the first part, and the
    # re-ask's forced number clicked 'No' (DEV, 0.5B). The first part names the drop-down by its kind.
    drop = Element("e0", (20, 150, 300, 176), "dropdown", "V")
    yes, no = Element("e1", (20, 200, 80, 230), "button", "Yes"), Element("e2", (90, 200, 150, 230), "button", "No")
    th = Replay(['{"action": "click", "target": "Yes", "id": 1}'])
    policy = LLMPolicy(th)
    task = 'Choose 6 ft from the dropdown, then click the button labeled "Yes".'
    assert policy.decide(task, [drop, yes, no], []) == Click(x=160, y=163)
    assert len(th.prompts) == 1 and "'Yes' button (later) id=1" in th.prompts[0][-1]["content"]
    th = Replay(['{"action": "click", "target": "Yes", "id": 1}'])  # once the drop-down was used, Yes is fine
    policy = LLMPolicy(th)
    policy.reset(notes=["clicked 'V' dropdown"])
    assert policy.decide(task, [drop, yes, no], [1]) == Click(x=50, y=215)


def test_a_click_that_changed_nothing_is_not_made_again_on_a_twin_of_the_same_text() -> None:
    twins = [Element("e0", (10, 10, 60, 30), "word", "Tora"), Element("e1", (10, 40, 60, 60), "word", "Tora"),
             Element("e2", (10, 70, 60, 90), "word", "Lyda")]
    th = Replay(['{"action": "click", "target": "Tora", "id": 0}', '{"action": "click", "target": "Lyda", "id": 2}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Find and click Emile", twins, [])]
    h.append(policy.decide("Find and click Emile", twins, h))  # the same screen: the click showed nothing
    assert th.schemas[1]["oneOf"][0]["properties"]["id"] == {"enum": [2]}


def test_a_text_for_both_fields_is_owed_until_typed_twice() -> None:
    # "Enter the password "rUT3X" into both text fields and press submit": typed into one, the 0.5B model pressed
    # submit (DEV). Submit is held back until the text was typed twice; named anyway, it types into the empty field.
    fields = [Element("e1", (10, 10, 200, 30), "input", "Password", value="•••••"),
              Element("e5", (10, 50, 200, 70), "input", "Verify password"), Element("e6", (10, 90, 80, 110), "button",
                                                                                  "Submit")]
    th = Replay(['{"action": "click", "target": "Submit", "id": 5}'])
    policy = LLMPolicy(th)
    policy.reset(notes=['typed "rUT3X" into \'Password\' input'])
    task = 'Enter the password "rUT3X" into both text fields and press submit.'
    assert [policy.decide(task, fields, [1]), policy.decide(task, [], [1, 2])] == [Click(x=105, y=60),
                                                                                  Type(text="rUT3X")]
    assert "'Submit' button (later) id=6" in th.prompts[0][-1]["content"]


def test_a_click_on_what_the_task_never_names_goes_to_the_shown_text_it_quotes() -> None:
    # A file tree: the task's "Emile" showed as new and the 0.5B model clicked 'Tora' again (its last step, copied).
    # ("Find and click" is one part of the task: the click is not refused as its last part done first)
    tree = [Element("e0", (10, 10, 60, 30), "word", "Tora"), Element("e1", (30, 40, 80, 60), "word", "Emile"),
            Element("e2", (10, 70, 60, 90), "word", "Lyda")]
    task = 'Navigate through the file tree. Find and click on the folder or file named "Emile".'
    th = Replay(['{"step": "click \'Tora\' word", "action": "click", "target": "Tora", "id": 0}'])
    assert LLMPolicy(th).decide(task, tree, []) == Click(x=55, y=50)
    # a target the task names stands; so does any click once the quoted text was clicked or typed
    th = Replay(['{"action": "click", "target": "Lyda", "id": 2}'])
    assert LLMPolicy(th).decide('Click "Emile" or Lyda', tree, []) == Click(x=35, y=80)
    policy = LLMPolicy(Replay(['{"action": "click", "target": "Tora", "id": 0}']))
    policy.reset(notes=["clicked 'Emile' word"])
    assert policy.decide(task, tree, [1]) == Click(x=35, y=20)
    field = [Element("e0", (10, 10, 200, 30), "input", "", value="Emile"), Element("e1", (10, 40, 80, 60), "button",
                                                                                  "OK")]
    policy = LLMPolicy(Replay(['{"action": "click", "target": "OK", "id": 1}']))
    assert policy.decide('Type "Emile" and press the button', field, []) == Click(x=45, y=50)


def test_a_click_on_what_a_step_already_used_goes_to_a_control_the_task_names_and_no_step_used() -> None:
    # Typed into the 2nd textbox, the 0.5B model clicked that field twice more; "the 3rd radio" was never checked.
    radios = [Element(f"e{i}", (20 + 50 * i, 130, 40 + 50 * i, 150), "radio", "") for i in range(3)]
    fields = [Element(f"e{i + 3}", (10 + 80 * i, 190, 80 + 80 * i, 215), "input", "", value="-7" if i == 1 else "")
              for i in range(3)]
    th = Replay(['{"action": "click", "target": "2nd input", "id": 4}'])
    policy = LLMPolicy(th)
    policy.reset(notes=["typed \"-7\" into '2nd input' input"])
    task = 'Check the 3rd radio button and enter the number "-7" into the 2nd textbox.'
    assert policy.decide(task, [*radios, *fields], [1]) == Click(x=130, y=140)


def test_a_key_that_changed_nothing_takes_every_key_out_of_the_grammar_on_that_screen() -> None:
    """DEV, 1.5B: 'down' pressed on a page that did not move, then answered again and refused on every re-ask; with
    only that key left out, it tried enter, down and tab in turn: nothing there takes keys."""
    from omnirt.agents.actions import Hotkey
    from omnirt.agents.llm_answers import refused

    def keys(schema: dict) -> list:
        return [s["properties"]["key"]["enum"] for s in schema["oneOf"] if s["properties"]["action"]["const"] == "key"]

    els = [Element("e0", (10, 10, 200, 120), "textarea", "Lorem ipsum"), SUBMIT]
    th = Replay(['{"action": "key", "key": "down"}', '{"action": "key", "key": "down"}',
                 '{"action": "click", "target": "Submit", "id": 3}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Scroll down to the end, then hit submit", els, [])]
    assert h == [Hotkey(keys=["down"])] and "down" in keys(th.schemas[0])[0]
    # the same screen: no key in the schema (the Replay answers one anyway: refused, the re-ask has none either)
    h.append(policy.decide("Scroll down to the end, then hit submit", els, h))
    assert [keys(schema) for schema in th.schemas[1:]] == [[], []]
    assert h[-1] == Click(x=60, y=215)
    assert refused('{"action": "key", "key": "tab"}', {}) == {("key", "tab")}  # a key refused: not in the re-ask


def test_a_text_the_field_shows_already_is_not_typed_again_the_named_control_is_clicked() -> None:
    """DEV, 1.5B: "TORA" typed into the field showing 'TORA' again and again instead of pressing Submit."""
    field = Element("e0", (20, 40, 200, 70), "input", "", value="TORA")
    th = Replay(['{"action": "type", "target": "1st input", "id": 0, "text": "TORA"}'])
    policy = LLMPolicy(th)
    policy.reset(notes=['typed "TORA" into \'1st input\' input'])
    task = 'Type "tora" in all upper case letters in the text input and press Submit.'
    assert policy.decide(task, [field, SUBMIT], [Type(text="TORA")]) == Click(x=60, y=215)
    assert policy.stats["invalid"] == 0 and policy.stats["redirected"] == 1
    # nothing named to go on to: refused with the reason, not typed twice
    th = Replay(['{"action": "type", "target": "1st input", "id": 0, "text": "tora"}'] * 2)
    policy = LLMPolicy(th)
    policy.reset(notes=['typed "TORA" into \'1st input\' input'])
    policy.decide("Type tora into the field", [field], [Type(text="TORA")])
    assert policy.stats["invalid"] == 2
    assert "'1st input' input shows 'TORA' already" in th.prompts[1][-1]["content"]


def test_icons_without_text_are_named_by_their_look_for_the_model() -> None:
    """DEV, 1.5B: "click the trash icon" among icons shown as '1st icon' ... was a click on a number at random."""
    import numpy as np
    import pytest

    pytest.importorskip("cv2")
    from test_agent_icons import _star, _trash

    img = np.full((60, 240, 3), 255, np.uint8)
    _star(img, 170, 30, 10, (150, 150, 150), filled=False)
    _trash(img, 200, 19, 16, (120, 120, 120))
    els = [Element("e0", (6, 10, 50, 40), "word", "Ann"), Element("e1", (158, 18, 182, 42), "icon", ""),
           Element("e2", (196, 15, 220, 43), "icon", "")]
    th = Replay(['{"action": "click", "target": "trash", "id": 1}'])
    policy = LLMPolicy(th)
    policy.see(img)
    assert policy.decide("Delete Ann's row with the trash icon", els, []) == Click(x=208, y=29)
    prompt = th.prompts[0][-1]["content"]
    assert "'star' icon id=1" in prompt and "'trash' icon id=2" in prompt
    # no frame: named by place as before
    th = Replay(['{"action": "click", "target": "2nd icon", "id": 2}'])
    policy = LLMPolicy(th)
    policy.decide("Delete Ann's row with the trash icon", els, [])
    assert "'2nd icon' icon id=2" in th.prompts[0][-1]["content"]


RADIOS = [Element(f"e{i}", (10, 10 + 30 * i, 24, 24 + 30 * i), "radio", "") for i in range(4)]


def test_a_place_name_stays_the_one_the_model_saw_when_its_element_is_left_out() -> None:
    """Counted without the banned 3rd radio, the 4th took its name: "3rd radio" went to the wrong one."""
    shown = mark_numbers(RADIOS)
    got = to_actions('{"action": "click", "target": "3rd radio", "id": 0}', shown, banned={("click", 2)})
    assert got[2]["id"] != 3


def test_a_click_on_a_selected_radio_is_refused_and_left_out_of_the_re_ask() -> None:
    """DEV, 0.5B: 'the 3rd radio', selected since the model's first click on it, clicked seven times more until the
    step limit, with the task's other part (a number typed) never done."""
    radios = [*RADIOS[:2], Element("e2", RADIOS[2].box, "radio", "", value="checked"), RADIOS[3],
              Element("e4", (40, 10, 200, 30), "input", "")]
    th = Replay(['{"step": "check", "action": "click", "target": "3rd radio", "id": 2}',
                 '{"step": "check", "action": "click", "target": "3rd radio", "id": 3}',  # its name, another number
                 '{"step": "type", "action": "type", "target": "1st input", "id": 4, "text": "-7"}'])
    policy = LLMPolicy(th, retries=2)
    task = 'Check the 3rd radio button and enter the number "-7" into the textbox.'
    act = policy.decide(task, radios, [Click(x=17, y=77)])
    assert isinstance(act, Click) and 40 <= act.x < 200 and 10 <= act.y < 30  # into the field, to type there
    assert "'3rd radio' radio is selected already" in th.prompts[1][-1]["content"]
    assert "or submit the form if every part is done" in th.prompts[1][-1]["content"]  # a form the task never names
    click = next(s for s in th.schemas[1]["oneOf"] if s["properties"]["action"]["const"] == "click")
    assert 2 not in click["properties"]["id"]["enum"]
    assert "'3rd radio' radio is selected already" in th.prompts[2][-1]["content"]
