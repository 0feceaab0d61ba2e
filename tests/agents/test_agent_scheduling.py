"""An event put on a day calendar (agents/scheduling.py): the sentence read into its steps (the window, the
duration, the name, the verb's button), times read from labels, a free run of half hours found beside an event
already there, the column scrolled while the window is out of sight, and the policy's drag. The day view is drawn
with numpy; its labels are what OCR would give."""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.agents import scheduling
from omnirt.agents.actions import Click, Drag, Scroll, Type
from omnirt.agents.elements import Element
from omnirt.agents.plan import parse_plan
from omnirt.agents.policies import InstructionPolicy
from omnirt.agents.readings import Watch
from omnirt.agents.scheduling import minutes, request

HOUR = 80  # pixels an hour
NAMES = {9: "9am", 10: "10am", 11: "11am", 12: "12pm", 13: "1pm", 14: "2pm"}


def day(first: int, busy: tuple[int, int] | None = None) -> tuple[np.ndarray, list[Element]]:
    """Hours from `first` on, the first at y 100; `busy`: an event from..to (minutes) drawn over the column."""
    rgb = np.full((460, 320, 3), 255, np.uint8)
    labels = []
    for k, h in enumerate(range(first, 15)):
        y = 100 + k * HOUR
        if y + HOUR > 440:
            break
        rgb[y, 0:300] = 181
        rgb[y + 1:y + HOUR, 58:300] = 247
        rgb[y + HOUR // 2, 58:300:4] = 181  # the dotted half-hour line
        labels.append(Element(f"h{h}", (4, y + 6, 40, y + 20), "word", NAMES[h]))
    if busy:
        y0, y1 = (100 + (t - first * 60) * HOUR // 60 for t in busy)
        rgb[max(0, y0):y1, 67:267] = (135, 247, 118)
    return rgb, labels


@pytest.mark.parametrize("text,want", [("12PM", 720), ("4pm", 960), ("12am", 0), ("9:30 am", 570), ("14:00", 840),
                                       ("noon", 720), ("Gym", None), ("13pm", None)])
def test_times_read_from_labels(text, want):
    assert minutes(text) == want


@pytest.mark.parametrize("sentence,window,length,name", [
    ('Create a 1 hour event named "Gym", between 12PM and 4PM.', "720-960", "60", "Gym"),
    ('Create a 90 mins event named "Party", between 4PM and 8PM.', "960-1200", "90", "Party"),
    ('Create a 0.5 hours event named "Phonecall", between 8AM and 12PM.', "480-720", "30", "Phonecall"),
    ("add a 30 min meeting called Sync at 2pm", "840-870", "30", "Sync"),
    ('schedule a 2 hour event "Lunch" from 11am to 3pm', "660-900", "120", "Lunch"),
])
def test_an_event_request_is_a_drag_then_its_name_then_the_verbs_button(sentence, window, length, name):
    steps, dropped = parse_plan(sentence)
    assert not dropped
    assert [(s.op, s.target, s.text) for s in steps] == [("schedule", window, length), ("focus", "", ""),
                                                        ("type", "", name), ("click", steps[3].target, "")]
    assert steps[3].target.lower() == sentence.split()[0].lower()


def test_other_clauses_are_no_event_and_a_number_range_still_holds_together():
    assert request("create", "create an account for Ann") is None
    assert [s.op for s in parse_plan("Generate a number between 3 and 8, then press submit")[0]] == ["until", "click"]


def test_the_first_free_run_in_the_window_is_dragged_across():
    rgb, labels = day(10, busy=(630, 690))  # 10:30 to 11:30 taken
    geo = scheduling.layout(scheduling.hours(labels), rgb.shape[1])
    assert scheduling.free_start(rgb, geo, (600, 840), 60) == 690
    assert scheduling.free_start(rgb, geo, (600, 840), 30) == 600
    top, per, x, _ = geo
    act = scheduling.decide(request("create", 'create a 1 hour event named "Gym" between 10am and 2pm')[0], labels,
                            Watch(), rgb)
    assert isinstance(act, Drag) and act.x == act.to_x == x and 58 < x < 267
    assert 100 + 90 * HOUR // 60 < act.y < 100 + 120 * HOUR // 60 < act.to_y < 100 + 150 * HOUR // 60  # 11:30-12:30


def test_a_window_below_the_view_is_scrolled_to_and_the_click_measured():
    step = request("create", 'create a 1 hour event named "Gym" between 2pm and 4pm')[0]
    watch = Watch()
    rgb, labels = day(9)
    first = scheduling.decide(step, labels, watch, rgb)
    assert isinstance(first, Scroll) and first.amount == -1
    rgb, labels = day(10)  # one click moved an hour
    second = scheduling.decide(step, labels, watch, rgb)
    assert isinstance(second, Scroll) and second.amount == -4  # 2pm is four hours below 10am, the top label


def test_the_policy_drags_names_and_creates():
    rgb, labels = day(10, busy=(600, 630))
    task = 'Create a 30 mins event named "Gym", between 10AM and 2PM.'
    pol, history = InstructionPolicy(), []
    field = Element("f", (20, 200, 200, 230), "input", "Event name")
    create = Element("c", (120, 240, 180, 264), "button", "Create")

    def act(elements):
        pol.see(rgb)
        a = pol.decide(task, elements, history)
        history.append(a)
        pol.observe(a, True)
        return a

    assert isinstance(act(labels), Drag)
    assert act(labels + [field, create]) == Click(element="f")
    assert act(labels + [field, create]) == Type(text="Gym")
    assert act(labels + [field, create]) == Click(element="c")


def test_the_scrolls_are_no_plan_steps():
    task = 'Create a 30 mins event named "Gym", between 2PM and 4PM.'
    pol, history = InstructionPolicy(), []
    field = Element("f", (20, 200, 200, 230), "input", "Event name")
    for first, extra, want in ((9, [], Scroll), (12, [], Drag), (12, [field], Click), (12, [field], Type)):
        rgb, labels = day(first)
        pol.see(rgb)
        act = pol.decide(task, labels + extra, history)
        history.append(act)
        pol.observe(act, True)
        assert isinstance(act, want), act


def test_a_window_in_sight_whose_time_is_taken_is_scrolled_down_not_up():
    rgb, labels = day(10, busy=(600, 780))  # 10am to 1pm taken; the window goes on below the view
    step = request("create", 'create a 2 hour event named "Gym" between 10am and 4pm')[0]
    act = scheduling.decide(step, labels, Watch(), rgb)
    assert isinstance(act, Scroll) and act.amount < 0
