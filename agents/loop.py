"""The agent loop: observe -> ground -> decide -> act (executor behind the safety layer) -> verify, one `AgentStep`
per step.

The instruction is given by the caller: a task's text (`omnirt agent "..."`), or a reader that takes it from each
step's screenshot (MiniWoB shows it on the page: it is read by OCR, and read afresh after a Wait, when the grounder
forgets its cached readings). Elements are grounded in `area_box` only. `is_done` is the environment's verdict
(e.g. MiniWoB's WOB_DONE_GLOBAL) and only ends the loop; it never feeds the policy.

Verify waits for the screen to change and then to hold still for `quiet` seconds, so the next step never grounds a
half-drawn page (an opening section or a sliding panel moves what the next click aims at).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol, Sequence, Union

from omnirt.agents.actions import Action, CallUser, Done, Drag, Scroll, Wait
from omnirt.agents.elements import Element
from omnirt.agents.executor import Executor
from omnirt.agents.screen import Box, Screen, Screenshot, expect_change
from omnirt.agents.steps import AgentStep, StepTimings

WATCH_EVERY_S = 0.03  # between the frames a watching Wait captures


class Policy(Protocol):
    """Decides the next action from the instruction, the elements on screen now and the actions taken so far this
    episode (an empty history starts a new episode)."""

    def needs_elements(self, instruction: str, history: Sequence[Action]) -> bool:
        """False when the next action does not depend on the screen (typing the text of a planned step): the loop
        then skips grounding."""

    def decide(self, instruction: str, elements: Sequence[Element], history: Sequence[Action]) -> Action:
        ...

    # Optional: `observe(action, changed)` hears, after each executed pointer or keyboard action, whether the screen
    # changed (verify); `last_decider` names which policy took the last decision (a fallback policy has two);
    # `watched(rgb) -> bool` takes the step's frame before a Wait and, when it returns True, every frame the loop
    # captures while the Wait lasts (see `watch`).


class Grounder(Protocol):
    """Turns a screenshot into elements (agents.grounding.Grounder)."""

    def ground(self, frame: Screenshot, box: Box | None = None, region: str = "area") -> list[Element]:
        ...

    def forget(self) -> None:
        """Drop cached readings: after a Wait the target was not found, so the next look reads afresh."""


# The task's text, or a reader of it from the step's screenshot.
Instruction = Union[str, Callable[[Screenshot], str]]


@dataclass
class LoopOptions:
    """region: screen rectangle captured each step (mss coordinates); area_box: where the UI is, in pixels of that
    capture (None: the whole capture). max_steps: decisions per episode. settle: seconds to wait for the screen to
    change after an executed action (verify); quiet: then how long it must stay unchanged (an animation is over), at
    most max_settle seconds in all; scroll_quiet: the same after a scroll, whose smooth animation runs in steps (one
    per wheel notch) with pauses longer than `quiet` between them: read in such a pause, the page was still moving,
    and the rows it showed were not where the next click landed."""

    region: Box
    area_box: Box | None = None
    max_steps: int = 12
    settle: float = 0.3
    quiet: float = 0.05
    max_settle: float = 1.5
    scroll_quiet: float = 0.2


@dataclass
class EpisodeLog:
    """instruction: the one the policy acted on first. ended_by: done | env | max_steps | error."""

    instruction: str
    steps: list[AgentStep] = field(default_factory=list)
    ended_by: str = ""
    seconds: float = 0.0


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def settle(screen: Screen, frame: Screenshot, options: LoopOptions, quiet: float | None = None
           ) -> tuple[Screenshot, bool]:
    """After an action: wait up to `settle` s for the area to change, then until it holds still for `quiet` s, or
    for 2.5x the longest pause seen between two changes (a busy machine paints an animation's frames further
    apart). Returns the last frame and whether anything changed."""
    t0 = time.monotonic()
    after, changed, last_change, longest = frame, False, 0.0, 0.0
    while True:
        cur = screen.capture(region=options.region)
        now = time.monotonic()
        if expect_change(after, cur, options.area_box):
            if changed:
                longest = max(longest, now - last_change)
            changed, last_change = True, now
        after = cur
        if not changed and now - t0 > options.settle:
            return after, False
        if changed and now - last_change >= max(options.quiet if quiet is None else quiet, 2.5 * longest):
            return after, True
        if now - t0 > options.max_settle:
            return after, changed
        time.sleep(0.01)


def watch(screen: Screen, options: LoopOptions, run: Callable[[], Any], watched: Callable[[Any], bool]) -> Any:
    """Runs a Wait (`run`, in a thread: it only sleeps) while capturing the screen every WATCH_EVERY_S and handing
    each frame to the policy's `watched`: a policy that watches the page change (the order a page lights its
    controls in) sees more than one frame per step."""
    import threading

    box: list[Any] = []

    def wait() -> None:
        try:
            box.append(run())
        except BaseException as e:  # raised again here, in the loop's thread
            box.append(e)

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    while t.is_alive():
        watched(screen.capture(region=options.region).rgb)
        t.join(WATCH_EVERY_S)
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def take_step(index: int, screen: Screen, grounder: Grounder, policy: Policy, executor: Executor,
              options: LoopOptions, instruction: Instruction, history: list[Action]) -> AgentStep:
    """Capture, ground, decide, act and verify once; the action joins `history`."""
    tm = StepTimings()
    t0 = time.perf_counter()
    frame = screen.capture(region=options.region)
    tm.capture_ms = _ms(t0)
    t0 = time.perf_counter()
    text = instruction if isinstance(instruction, str) else instruction(frame)
    elements = grounder.ground(frame, options.area_box, region="area") \
        if policy.needs_elements(text, history) else []
    tm.ground_ms = _ms(t0)
    t0 = time.perf_counter()
    see = getattr(policy, "see", None)
    if see is not None:  # optional: a policy that reads pixels too (a switch's state, a row's icons)
        see(frame.rgb, options.area_box)
    action = policy.decide(text, elements, history)
    tm.decide_ms = _ms(t0)
    t0 = time.perf_counter()
    def run() -> Any:
        return executor.execute(action.model_dump(exclude_none=True), frame, {e.id: e.center for e in elements})

    watched = getattr(policy, "watched", None)
    out = watch(screen, options, run, watched) if isinstance(action, Wait) and watched is not None and \
        watched(frame.rgb) else run()
    tm.act_ms = _ms(t0)
    history.append(action)
    t0 = time.perf_counter()
    after, changed = frame, False
    if out.executed and not isinstance(action, (Wait, Done, CallUser)):
        # (a drop too: a page may swallow the click that comes right after a drag, as d3's drag does)
        quiet = options.scroll_quiet if isinstance(action, (Scroll, Drag)) else None
        hurry = getattr(policy, "settle_limit", None)  # a page that moves on its own never holds still
        limit = hurry(action) if hurry is not None else None
        after, changed = settle(screen, frame, options if limit is None else replace(options, max_settle=limit), quiet)
    tm.verify_ms = _ms(t0)
    if isinstance(action, Wait):
        grounder.forget()  # the target was not found: look again without cached readings
    observe = getattr(policy, "observe", None)
    if observe is not None and out.executed and not isinstance(action, (Wait, Done, CallUser)):
        observe(action, changed)  # what the screen showed after it: a policy's "done" is only as good as this
    return AgentStep(index, text, elements, out, frame, after, changed, tm, getattr(policy, "last_decider", ""))


def run_episode(screen: Screen, grounder: Grounder, policy: Policy, executor: Executor, options: LoopOptions,
                instruction: Instruction, is_done: Callable[[], bool] | None = None,
                on_step: Callable[[AgentStep], None] | None = None) -> EpisodeLog:
    """Run the policy until it says done, the environment is done, or max_steps; `on_step` gets each step as it
    ends (e.g. a trajectory Recorder's record_step)."""
    t_start = time.perf_counter()
    history: list[Action] = []
    log = EpisodeLog(instruction="")
    for index in range(options.max_steps):
        if is_done is not None and is_done():
            log.ended_by = "env"
            break
        step = take_step(index, screen, grounder, policy, executor, options, instruction, history)
        log.instruction = log.instruction or step.instruction
        if on_step is not None:
            on_step(step)
        log.steps.append(step)
        if isinstance(history[-1], (Done, CallUser)):
            log.ended_by = "done"
            break
        if step.status in ("denied", "needs_confirmation", "invalid", "error"):
            log.ended_by = "error"
            break
    else:
        log.ended_by = "max_steps"
    log.seconds = round(time.perf_counter() - t_start, 3)
    return log
