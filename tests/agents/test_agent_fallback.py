"""The instruction policy hands over to the LLM policy when it cannot parse or ground an instruction, and says
"done" only when the screen changed after every step (no models, no display: scripted elements and thinkers)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omnirt.agents.actions import Click, Done, Hotkey, Type, Wait
from omnirt.agents.agent import _outcome, make_policy
from omnirt.agents.fallback import FallbackPolicy, describe_taken, gives_up
from omnirt.agents.grounding import Element
from omnirt.agents.llm_policy import LLMPolicy
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy

SAVE = Element("e0", (10, 100, 80, 130), "button", "Save")
DARK = Element("e1", (10, 40, 30, 60), "checkbox", "Dark mode")
DARK_LABEL = Element("e2", (40, 40, 120, 60), "line", "Dark mode")
SCREEN = [SAVE, DARK, DARK_LABEL]


# ---------------------------------------------------------------- parsing: nothing dropped silently

@pytest.mark.parametrize("text, ops, dropped", [
    # everyday forms (agents/intents.py)
    ("Turn on dark mode and click Save", [("toggle", "dark mode"), ("click", "Save")], []),
    ("click Save, then export the page as PDF", [("click", "Save"), ("click", "export"), ("click", "PDF")], []),
    ("Delete the row for Bob Martin", [("row", "Bob Martin"), ("confirm", ""), ("confirm", "")], []),
    # no command verb: kept as not understood (on the screen, the policy may find a button named by its words)
    ("Frobnicate the widgets", [], [(0, "Frobnicate the widgets")]),
    # scene-setting clauses are no commands left undone
    ("Find the email by Ann and click the trash icon to delete it.",  # (the row found is where the icon is)
     [("row", "Ann"), ("confirm", ""), ("confirm", "")], []),
    ('Navigate through the file tree. Find and click on the folder named "Ida".', [("click", "Ida")], []),
    # "use X to <verb>": the means names where the action happens
    ('Use the textbox to enter "Truman" and press "Search"', [("focus", ""), ("type", ""), ("click", "Search")], []),
])
def test_parse_plan_keeps_what_it_did_not_understand(text, ops, dropped):
    steps, left = parse_plan(text)
    assert [(s.op, s.target) for s in steps] == ops
    assert left == dropped


def test_use_the_field_to_enter_types_the_text_there():
    steps, _ = parse_plan('Use the textbox to enter "Truman"')
    assert [(s.op, s.text) for s in steps] == [("focus", ""), ("type", "Truman")]


# ---------------------------------------------------------------- "done" only when the screen showed each step

def run_rules(policy: Any, instruction: str, elements: list[Element], changed: list[bool]) -> list[Any]:
    """Decide until Done; after each executed action the loop reports whether the screen changed."""
    history: list[Any] = []
    seen = iter(changed)
    for _ in range(10):
        act = policy.decide(instruction, elements, history)
        history.append(act)
        if isinstance(act, Done):
            return history
        if not isinstance(act, Wait):
            policy.observe(act, next(seen))
    raise AssertionError(f"no Done after {history}")


def test_done_is_a_success_only_when_every_step_changed_the_screen():
    pol = InstructionPolicy()
    ok = run_rules(pol, "click Save", SCREEN, [True])[-1]
    assert ok.success and ok.summary.startswith("all steps taken")
    blind = run_rules(pol, "click Save", SCREEN, [False])[-1]
    assert not blind.success and blind.summary.startswith("unverified") and "step 1 (click)" in blind.summary
    # a second episode starts clean
    assert run_rules(pol, "click Save", SCREEN, [True])[-1].success


def test_an_unverified_run_is_reported_as_such():
    class Log:
        ended_by = "done"
        steps = [type("S", (), {"action": {"action": "done", "success": False,
                                           "summary": "unverified: the screen did not change after step 1 (click)"},
                                "status": "executed", "reason": ""})()]

    ok, status, summary = _outcome(Log(), False, False, None)
    assert (ok, status) == (False, "unverified") and "step 1" in summary


def test_a_dropped_clause_ends_the_rules_at_its_place():
    pol = InstructionPolicy()
    hist = run_rules(pol, "click Save, then frobnicate the page", SCREEN, [True])
    assert isinstance(hist[0], Click) and gives_up(hist[-1])
    assert "not understood in part" in hist[-1].summary and "frobnicate the page" in hist[-1].summary
    first = pol.decide("Frobnicate dark mode and click Save", SCREEN, [])
    assert gives_up(first)  # before Save: the order of the task is kept, nothing clicked out of turn


# ---------------------------------------------------------------- the hand-over

class ScriptedLLM:
    """Stands for LLMPolicy: answers from a script, records what it was handed."""

    name = "llm:scripted"

    def __init__(self, answers: list[Any]) -> None:
        self.answers, self.notes, self.asked, self.observed = list(answers), None, 0, []

    def reset(self, notes=()) -> None:
        self.notes = list(notes)

    def needs_elements(self, instruction, history) -> bool:
        return True

    def decide(self, instruction, elements, history) -> Any:
        self.asked += 1
        return self.answers.pop(0)

    def observe(self, action, changed) -> None:
        self.observed.append(changed)


def test_not_understood_goes_to_the_llm_with_the_steps_taken():
    llm = ScriptedLLM([Click(element="e1"), Done(success=True, summary="the model says the task is complete")])
    pol = FallbackPolicy(InstructionPolicy(), lambda: llm)
    task = "click Save, then frobnicate dark mode"
    history: list[Any] = []
    deciders = []
    for _ in range(5):
        act = pol.decide(task, SCREEN, history)
        deciders.append(pol.last_decider)
        history.append(act)
        if isinstance(act, Done):
            break
        pol.observe(act, True)
    assert history == [Click(element="e0"), Click(element="e1"), Done(success=True,
                                                                       summary="the model says the task is complete")]
    assert deciders == ["instruction", "llm", "llm"]
    assert llm.notes == ["clicked 'Save' button"]  # the model goes on from there
    assert llm.observed == [True]  # the screen check after its click reached it
    s = pol.summary()
    assert s["decisions"] == {"instruction": 1, "llm": 2} and s["handovers"] == 1 and s["llm_share"] == 0.667
    assert s["median_llm_decide_ms"] is not None


def test_rules_that_succeed_never_build_the_model():
    built = []
    pol = FallbackPolicy(InstructionPolicy(), lambda: built.append(1))
    assert run_rules(pol, "click Save", SCREEN, [True])[-1].success
    assert not built and pol.summary()["decisions"] == {"instruction": 2, "llm": 0}


def test_a_target_not_on_screen_goes_to_the_llm_after_the_rules_waited():
    llm = ScriptedLLM([Click(element="e0")])
    pol = FallbackPolicy(InstructionPolicy(patience=2), lambda: llm)
    acts = [pol.decide("click the gear icon", SCREEN, h) for h in ([], [Wait(seconds=0.2)],
                                                                     [Wait(seconds=0.2)] * 2)]
    assert acts[:2] == [Wait(seconds=0.2)] * 2 and acts[2] == Click(element="e0") and pol.last_decider == "llm"
    assert llm.notes == []  # waits are no steps taken


def test_no_model_to_hand_over_to_is_said_in_the_give_up():
    def broken():
        raise FileNotFoundError("model.gguf is missing")

    pol = FallbackPolicy(InstructionPolicy(), broken)
    act = pol.decide("Frobnicate the widgets", SCREEN, [])
    assert isinstance(act, Done) and not act.success
    assert "instruction not understood" in act.summary and "no LLM fallback: FileNotFoundError" in act.summary
    assert pol.summary()["unavailable"] == 1


class JSONThinker:
    """A thinker that answers a fixed JSON action and keeps the prompts it got."""

    name = "json"

    def __init__(self, answers: list[dict]) -> None:
        self.answers, self.prompts = list(answers), []

    def complete(self, messages, schema):
        self.prompts.append(messages[-1]["content"])
        return json.dumps(self.answers.pop(0)), {"prompt_tokens": 10}


def test_the_real_llm_policy_sees_the_rules_steps_and_its_answers_are_validated():
    thinker = JSONThinker([{"step": "dark mode", "action": "click", "target": "Dark mode", "id": 99},
                           {"step": "dark mode", "action": "click", "target": "Dark mode", "id": 1}])
    pol = FallbackPolicy(InstructionPolicy(), lambda: LLMPolicy(thinker=thinker, few_shot=False))
    history: list[Any] = [pol.decide("click Save, then frobnicate dark mode", SCREEN, [])]
    pol.observe(history[0], True)
    act = pol.decide("click Save, then frobnicate dark mode", SCREEN, history)
    assert "1. clicked 'Save' button" in thinker.prompts[0]
    assert len(thinker.prompts) == 2 and "Rejected" in thinker.prompts[1]  # id 99 is no mark: asked again
    assert isinstance(act, Click) and (act.x, act.y) == DARK.center


def test_make_policy_wraps_the_rules_only_when_a_fallback_is_asked_for():
    assert isinstance(make_policy("instruction", encoder=False), InstructionPolicy)
    assert isinstance(make_policy("instruction", encoder=False, fallback="none"), InstructionPolicy)
    pol = make_policy("instruction", encoder=False, fallback="no-such-model")
    assert isinstance(pol, FallbackPolicy) and pol.fallback is None  # built on the first hand-over only
    act = pol.decide("Frobnicate the widgets", SCREEN, [])
    assert "no LLM fallback" in act.summary


def test_steps_are_described_as_the_llm_history_says_them():
    assert describe_taken(Click(element="e0"), SCREEN) == "clicked 'Save' button"
    assert describe_taken(Type(text="ann"), SCREEN) == "typed 'ann'"
    assert describe_taken(Hotkey(keys=["ctrl", "a"]), SCREEN) == "pressed ctrl+a"


def test_the_models_done_is_unverified_when_a_step_changed_nothing():
    llm = ScriptedLLM([Click(element="e1"), Done(success=True, summary="the model says the task is complete")])
    pol = FallbackPolicy(InstructionPolicy(), lambda: llm)
    history: list[Any] = []
    for changed in (True, False, None):
        act = pol.decide("click Save, then frobnicate dark mode", SCREEN, history)
        history.append(act)
        if changed is not None:
            pol.observe(act, changed)
    assert isinstance(act, Done) and not act.success
    assert act.summary.startswith("unverified") and "step 2 (click)" in act.summary and "step 1" not in act.summary


def test_the_bench_times_the_rules_and_the_fallback_apart():
    from omnirt.tools.bench.miniwob import _summary

    def step(ms, decide, by=None):
        s = {"step_ms": ms, "decide_ms": decide}
        return {**s, "decider": by} if by else s

    eps = [{"raw_reward": 1.0, "reward": 0.9, "seconds": 1.0, "steps": [step(40, 1), step(60, 2, "instruction")]},
           {"raw_reward": 0.0, "reward": 0.0, "seconds": 9.0,
            "steps": [step(50, 1, "instruction"), step(4100, 4000, "llm"), step(6100, 6000, "llm")]}]
    s = _summary(eps)
    assert s["median_step_ms"] == 50 and s["rule_steps"] == 3  # the LLM's seconds are not the rules' step time
    assert s["llm_steps"] == 2 and s["median_llm_decide_ms"] == 5000
    assert s["success"] == 0.5


def test_the_model_built_at_its_first_hand_over_sees_the_screenshot_decided_on():
    """The rules see each screenshot; a model built only when they give up gets the last one too (it names icons
    from the pixels), and every later one."""
    import numpy as np

    class Seeing(ScriptedLLM):
        frames: list = []

        def see(self, rgb, area=None) -> None:
            self.frames.append((rgb.shape, area))

    llm = Seeing([Click(element="e1"), Done(success=True, summary="ok")])
    pol = FallbackPolicy(InstructionPolicy(), lambda: llm)
    task = "frobnicate dark mode"
    pol.see(np.zeros((20, 30, 3), np.uint8), (0, 0, 30, 20))
    history = [pol.decide(task, SCREEN, [])]
    pol.observe(history[0], True)
    pol.see(np.zeros((40, 50, 3), np.uint8))
    pol.decide(task, SCREEN, history)
    assert llm.frames == [((20, 30, 3), (0, 0, 30, 20)), ((40, 50, 3), None)]
