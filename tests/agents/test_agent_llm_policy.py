"""The LLM policy: the LLM-facing schema and its mapping onto typed actions (every invalid answer rejected with a
reason), the re-ask loop, and real Thinkers choosing among set-of-marks ids: the embedded Qwen2.5-Coder-0.5B
(grammar-constrained) and llama-cpp-python's OpenAI-compatible server on loopback."""

from __future__ import annotations

import importlib.util
import json
import time
from typing import Any

import pytest

from omnirt.agents.actions import Click, Done, Hotkey, InvalidAction, Type, Wait
from omnirt.agents.grounding import Element
from omnirt.agents.llm_answers import extract_json, mark_numbers, to_actions
from omnirt.agents.llm_policy import LLMPolicy, describe, llm_schema, select_elements

CANCEL = Element("e1", (10, 100, 70, 130), "button", "Cancel")
SUBMIT = Element("e2", (90, 100, 170, 130), "button", "Submit")
NAME_WORD = Element("e3", (10, 40, 60, 60), "word", "Name")
NAME_FIELD = Element("e4", (80, 35, 250, 65), "input", "Name")
SHOWN = mark_numbers([CANCEL, SUBMIT, NAME_WORD, NAME_FIELD])


# ---------------------------------------------------------------- schema and mapping

def test_schema_limits_ids_to_the_marks_shown() -> None:
    schema = llm_schema([4, 1, 2])
    actions = [s["properties"]["action"]["const"] for s in schema["oneOf"]]
    assert actions == ["click", "type", "key", "done"]
    assert schema["oneOf"][0]["properties"]["id"] == {"enum": [1, 2, 4]}
    assert list(schema["oneOf"][0]["properties"])[:3] == ["step", "action", "target"]  # words before the number
    assert [s["properties"]["action"]["const"] for s in llm_schema([])["oneOf"]] == ["key", "done"]


def test_answers_map_to_typed_actions_at_element_centres() -> None:
    acts, note, _ = to_actions('{"action": "click", "id": 2}', SHOWN)
    assert acts == [Click(x=130, y=115)] and note == "clicked 'Submit' button"
    acts, note, _ = to_actions({"step": "s", "action": "type", "target": "Name", "id": 4, "text": "bob"}, SHOWN)
    assert acts == [Click(x=165, y=50), Type(text="bob")] and note == "typed \"bob\" into 'Name' input"
    assert to_actions('{"action": "key", "key": "enter"}', SHOWN)[0] == [Hotkey(keys=["enter"])]
    assert isinstance(to_actions('{"action": "done"}', SHOWN)[0][0], Done)
    # Prose or code fences around the object (a server without constrained decoding)
    assert to_actions('Sure! ```json\n{"action": "click", "id": "e1"}\n```', SHOWN)[0] == [Click(x=40, y=115)]


@pytest.mark.parametrize("answer, reason", [
    ('{"action": "click", "id": 9}', "no element with id=9"),
    ('{"action": "type", "id": 4}', "missing 'text'"),
    ('{"action": "type", "id": 4, "text": ""}', "missing 'text'"),
    ('{"action": "scroll", "id": 1}', "unknown action 'scroll'"),
    ('{"id": 1}', "unknown action None"),
    ('{"action": "click", "id": 1, "x": 5}', "unexpected field(s) x"),
    ('{"action": "click", "id": true}', "id must be an element number"),
    ('{"action": "key", "key": "f13"}', "'f13' is not one of"),
    ('{"action": "type", "id": 4, "text": "caf\\u00e9"}', "cannot be typed"),
    ('{"action": "click", "id": 2', "not valid JSON"),
    ("I would click Submit", "no JSON object"),
    ("[1, 2]", "must be a JSON object"),
    ('{"action": "click", "target": "Delete", "id": 1}', "shows 'Cancel', not 'Delete'"),
])
def test_invalid_answers_are_rejected_with_a_reason(answer: str, reason: str) -> None:
    with pytest.raises(InvalidAction) as e:
        to_actions(answer, SHOWN)
    assert reason in e.value.reason and "\n" not in e.value.reason


def test_the_models_own_target_text_decides_when_its_id_disagrees() -> None:
    # the right words, the wrong number: the element that shows the words
    assert to_actions('{"action": "click", "target": "Submit", "id": 1}', SHOWN)[2]["id"] == 2
    # typing "into" a label goes into the field that carries it
    assert to_actions('{"action": "type", "target": "Name", "id": 3, "text": "x"}', SHOWN)[2]["id"] == 4
    # nothing to compare (an unlabelled icon): the id stands
    icon = mark_numbers([Element("e0", (200, 0, 220, 20), "icon", ""), SUBMIT])
    assert to_actions('{"action": "click", "target": "x", "id": 0}', icon)[2]["id"] == 0


def test_a_multi_word_target_is_found_as_words_of_one_line() -> None:
    words = [Element(f"e{i}", (10 + 40 * i, 130, 40 + 40 * i, 146), "word", w, line=0)
             for i, w in enumerate(["Tab", "#1", "Tab", "#2"])]
    line = Element("e4", (10, 130, 160, 146), "line", "Tab #1 Tab #2")
    els = [*words, line]
    shown = select_elements(els, 40, "Click on Tab #1")
    # the model names "Tab #1" but points at the whole line: the click goes to the middle of the two words
    acts, note, data = to_actions('{"action": "click", "target": "Tab #1", "id": 4}', shown, els)
    assert acts == [Click(x=45, y=138)] and data["id"] == 0  # words at x 10-40 and 50-80
    # a one-word target shared by several elements: the one numbered nearest the model's id
    assert to_actions('{"action": "click", "target": "Tab", "id": 4}', shown, els)[2]["id"] == 2


def test_prompt_lines_and_element_selection() -> None:
    assert describe(2, SUBMIT) == "'Submit' button id=2"
    assert describe(4, NAME_FIELD) == "'Name' input (empty) id=4 at (165,50)"  # a field gets its position
    words = [Element(f"e{i}", (10 + 40 * i, 200, 45 + 40 * i, 215), "word", w, line=0)
             for i, w in enumerate(["lorem", "ipsum", "dolor"])]
    line = Element("e3", (10, 200, 125, 215), "line", "lorem ipsum dolor")
    els = [*words, line, SUBMIT.__class__("e9", SUBMIT.box, "button", "Submit")]
    # a plain word inside a line is left out, unless the instruction names it
    assert sorted(select_elements(els, 40, "Click Submit")) == [3, 9]
    assert sorted(select_elements(els, 40, "Click the word ipsum")) == [1, 3, 9]
    # the cap keeps controls first, then reading order
    assert list(select_elements(els, 1, "")) == [9]
    assert extract_json(' {"a": 1} trailing') == {"a": 1}


# ---------------------------------------------------------------- the policy's loop over answers

class Replay:
    """A stand-in Thinker that answers from a list and keeps the prompts it was given: tests the policy's own
    bookkeeping (re-asks, history notes); the real models are tested below."""

    name = "replay"

    def __init__(self, answers: list[str]) -> None:
        self.answers = list(answers)
        self.prompts: list[list[dict[str, str]]] = []
        self.schemas: list[dict[str, Any]] = []

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.prompts.append(messages)
        self.schemas.append(schema)
        return self.answers.pop(0), {}


def test_invalid_answer_is_re_asked_with_the_reason_then_the_step_given_up() -> None:
    els = [CANCEL, SUBMIT]
    th = Replay(['{"action": "click", "id": 7}', '{"action": "click", "id": 2}'])
    policy = LLMPolicy(th)
    assert policy.decide("Click Submit", els, []) == Click(x=130, y=115)
    assert "Rejected: click: there is no element with id=7" in th.prompts[1][-1]["content"]
    assert policy.stats["invalid"] == 1 and policy.stats["given_up"] == 0
    # two bad answers: the step is given up (nothing executed) and the reason shows in the next prompt
    th = Replay(['{"action": "fly"}', '{"action": "fly"}', '{"action": "done"}', "x", "y", "z", "w"])
    policy = LLMPolicy(th, max_rejections=2)
    act = policy.decide("Click Submit", els, [])
    assert isinstance(act, Wait)
    assert policy.decide("Click Submit", els, [act]) == Done(success=True, summary="the model says the task is "
                                                                                    "complete")
    assert "1. (no action: rejected, unknown action 'fly'" in th.prompts[2][-1]["content"]
    assert isinstance(policy.decide("Click Submit", els, []), Wait)  # a new episode (empty history) starts over
    done = policy.decide("Click Submit", els, [act])  # 2 steps given up in a row: the policy gives up
    assert isinstance(done, Done) and not done.success and "no valid action from the model" in done.summary
    assert policy.stats["given_up"] == 3


def test_type_is_a_click_then_typing_and_an_unchanged_screen_is_noted() -> None:
    els = [NAME_WORD, NAME_FIELD, SUBMIT]
    th = Replay(['{"action": "type", "target": "Name", "id": 4, "text": "bob"}',
                 '{"action": "click", "target": "Submit", "id": 2}', '{"action": "click", "target": "Submit", "id": 2}',
                 '{"action": "done"}'])
    policy = LLMPolicy(th)
    h: list[Any] = []
    for want in (Click(x=165, y=50), Type(text="bob")):
        assert policy.needs_elements("Enter bob", h) == (not h)  # no grounding for the queued typing
        h.append(policy.decide("Enter bob", els if not h else [], h))
        assert h[-1] == want
    typed = [NAME_WORD, Element("e4", NAME_FIELD.box, "input", "Name", value="bob"), SUBMIT]
    h.append(policy.decide("Enter bob", typed, h))
    assert h[-1] == Click(x=130, y=115)
    els = typed
    # the same screen again: noted for the model, and the same action again is refused with that reason
    assert isinstance(policy.decide("Enter bob", els, h), Done)
    last = th.prompts[-1]
    assert "1. typed \"bob\" into 'Name' input\n2. clicked 'Submit' button (screen did not change)" in \
        last[-3]["content"]
    assert "already taken on this same screen; choose another" in last[-1]["content"]
    assert len(th.prompts) == 4  # one decision a screen: the typing did not ask the model
    # a constrained model could not even have repeated it: that click is left out of the schema
    # (the word 'Name' (3) is not shown: the field carries it)
    assert th.schemas[2]["oneOf"][0]["properties"]["id"] == {"enum": [4]}
    assert th.schemas[1]["oneOf"][0]["properties"]["id"] == {"enum": [2, 4]}


def test_a_step_given_up_does_not_hide_an_unchanged_screen() -> None:
    els = [CANCEL, SUBMIT]
    th = Replay(['{"action": "click", "id": 1}', '{"action": "fly"}', '{"action": "fly"}',
                 '{"action": "click", "id": 1}', '{"action": "click", "id": 2}'])
    policy = LLMPolicy(th)
    # a task naming neither button (a click on what the task does not name would be moved to what it names)
    h = [policy.decide("Press the right button", els, [])]
    h.append(policy.decide("Press the right button", els, h))
    assert isinstance(h[-1], Wait)
    assert policy.decide("Press the right button", els, h) == Click(x=130, y=115)  # the repeat of step 1 was refused
    notes = th.prompts[-1][-3]["content"]
    assert "1. clicked 'Cancel' button (screen did not change)\n2. (no action: rejected" in notes


# ---------------------------------------------------------------- real Thinkers

def _screen() -> tuple[str, list[Element]]:
    return "Click the Submit button.", [CANCEL, SUBMIT]


@pytest.mark.models
def test_embedded_model_chooses_the_submit_button() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup)")
    from omnirt.agents.llm_backends import EmbeddedThinker

    t0 = time.perf_counter()
    policy = LLMPolicy(EmbeddedThinker(n_threads=1))
    warm = policy.warmup()
    instruction, els = _screen()
    t1 = time.perf_counter()
    action = policy.decide(instruction, els, [])
    decide_ms = (time.perf_counter() - t1) * 1000
    print(f"\n[llm-policy] load {t1 - t0 - warm:.2f} s, warm-up {warm:.2f} s, decide {decide_ms:.0f} ms: "
          f"{policy.log[-1]['answer']}")
    assert json.loads(policy.log[-1]["answer"])["id"] == 2  # the model's own id, not a correction
    assert action == Click(x=130, y=115) and policy.stats["corrected"] == 0
    # typing: into the field, not onto its label
    act = policy.decide('Type "bob" into the Name field.', [NAME_WORD, NAME_FIELD, SUBMIT], [])
    print(f"[llm-policy] {policy.log[-1]['answer']} ({policy.log[-1]['ms']:.0f} ms)")
    assert act == Click(x=165, y=50) and policy.decide("", [], [act]) == Type(text="bob")


SERVER_DEPS = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")


@pytest.mark.models
def test_openai_compatible_server_chooses_the_submit_button() -> None:
    missing = [m for m in SERVER_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"llama-cpp-python[server] deps missing: {', '.join(missing)}")
    from omnirt.agents.llm_backends import OpenAIThinker
    from omnirt.tools.llm_server import LlamaServer

    with LlamaServer() as server:
        thinker = OpenAIThinker(server.base_url)
        try:
            policy = LLMPolicy(thinker)
            warm = policy.warmup()
            t0 = time.perf_counter()
            action = policy.decide(*_screen(), [])
            print(f"\n[llm-policy] server mode {thinker.MODES[thinker.mode]}, warm-up {warm:.2f} s, decide "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms: {policy.log[-1]['answer']}")
        finally:
            thinker.close()
    # llama-cpp-python's server refuses OpenAI's json_schema response_format (HTTP 422): the thinker falls back to
    # its json_object + schema, which constrains decoding the same way.
    assert thinker.MODES[thinker.mode] == "json_object"
    assert json.loads(policy.log[-1]["answer"])["id"] == 2
    assert action == Click(x=130, y=115)


def test_going_round_in_a_circle_is_noted_and_not_offered_again() -> None:
    section = Element("e0", (10, 10, 90, 30), "link", "Section")
    header = Element("e1", (10, 10, 120, 30), "line", "Section #4")  # the same spot under another number
    closed = [section, header, SUBMIT]
    opened = [section, header, Element("e5", (10, 40, 90, 60), "word", "Lorem"), SUBMIT]
    th = Replay(['{"action": "click", "target": "Section", "id": 0}'] * 2 + ['{"action": "click", "id": 2}'])
    policy = LLMPolicy(th)
    h = [policy.decide("Expand the section", closed, [])]
    h.append(policy.decide("Expand the section", opened, h))  # a toggle: clicking it again closes it
    h.append(policy.decide("Expand the section", closed, h))
    assert h[-1] == Click(x=130, y=115)
    assert "2. clicked 'Section' link (screen went back to an earlier state)" in th.prompts[2][-1]["content"]
    assert th.schemas[2]["oneOf"][0]["properties"]["id"] == {"enum": [2]}  # Section is not offered on that screen
    # a model that names it anyway while its number points elsewhere: the number is its next choice (the words
    # are copied from the step before; re-asking it answered the same every time on DEV)
    assert to_actions('{"action": "click", "target": "Section", "id": 2}', mark_numbers(closed), closed,
                      {("click", 0), ("click", 1)})[2]["id"] == 2
