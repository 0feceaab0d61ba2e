"""The agent loop: observe -> ground -> decide -> act (executor behind the safety layer) -> verify, recorded.

Everything the policy learns comes from pixels: the instruction is OCR'd from `query_box`, elements are grounded in
`area_box`. `is_done` is the environment's verdict (e.g. MiniWoB's WOB_DONE_GLOBAL) and only ends the loop; it
never feeds the policy. Each step's timings are kept in ms: capture, ground, decide, act, verify; step_ms is the
agent's reaction time (screenshot -> grounding -> decision -> action issued), cycle_ms adds the verify wait.

Verify waits for the screen to change and then to hold still for `quiet` seconds, so the next step never grounds a
half-drawn page (an opening section or a sliding panel moves what the next click aims at).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from omnirt.agents.actions import CallUser, Done, Wait
from omnirt.agents.executor import Executor
from omnirt.agents.grounding import Grounder
from omnirt.agents.screen import Box, Screenshot, Screen, expect_change
from omnirt.agents.trajectory import Recorder


@dataclass
class LoopOptions:
    """region: screen rectangle captured each step (mss coordinates); query_box / area_box: where the instruction
    and the UI are, in pixels of that capture (None: no instruction / the whole capture). max_steps: decisions per
    episode. settle: seconds to wait for the screen to change after an executed action (verify); quiet: then how
    long it must stay unchanged (an animation is over), at most max_settle seconds in all."""

    region: Box
    query_box: Box | None = None
    area_box: Box | None = None
    max_steps: int = 12
    settle: float = 0.3
    quiet: float = 0.05
    max_settle: float = 1.5


@dataclass
class StepRecord:
    action: dict[str, Any]
    status: str
    reason: str
    changed: bool
    timings: dict[str, float]


@dataclass
class EpisodeLog:
    instruction: str
    steps: list[StepRecord] = field(default_factory=list)
    ended_by: str = ""  # done | env | max_steps | error
    seconds: float = 0.0


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def settle(screen: Screen, frame: Screenshot, options: LoopOptions) -> tuple[Screenshot, bool]:
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
        if changed and now - last_change >= max(options.quiet, 2.5 * longest):
            return after, True
        if now - t0 > options.max_settle:
            return after, changed
        time.sleep(0.01)


def run_episode(screen: Screen, grounder: Grounder, policy: Any, executor: Executor, options: LoopOptions,
                is_done: Callable[[], bool] | None = None, recorder: Recorder | None = None) -> EpisodeLog:
    """Run the policy until it says done, the environment is done, or max_steps."""
    t_start = time.perf_counter()
    history: list[Any] = []
    log = EpisodeLog(instruction="")
    frame: Screenshot | None = None
    for _ in range(options.max_steps):
        if is_done is not None and is_done():
            log.ended_by = "env"
            break
        tm: dict[str, float] = {}
        t0 = time.perf_counter()
        frame = screen.capture(region=options.region)
        tm["capture_ms"] = _ms(t0)
        t0 = time.perf_counter()
        instruction = grounder.text(frame, options.query_box, region="query") if options.query_box else ""
        log.instruction = log.instruction or instruction  # what the policy acted on first
        needs = getattr(policy, "needs_elements", None)  # e.g. a typing step: skip OCR of the area
        elements = grounder.ground(frame, options.area_box, region="area") \
            if needs is None or needs(instruction, history) else []
        tm["ground_ms"] = _ms(t0)
        t0 = time.perf_counter()
        action = policy.decide(instruction, elements, history)
        tm["decide_ms"] = _ms(t0)
        executor.elements = {e.id: e.center for e in elements}
        t0 = time.perf_counter()
        out = executor.execute(action.model_dump(exclude_none=True), frame)
        tm["act_ms"] = _ms(t0)
        history.append(action)
        t0 = time.perf_counter()
        after = frame
        changed = False
        if out.executed and not isinstance(action, (Wait, Done, CallUser)):
            after, changed = settle(screen, frame, options)
        tm["verify_ms"] = _ms(t0)
        tm["step_ms"] = round(tm["capture_ms"] + tm["ground_ms"] + tm["decide_ms"] + tm["act_ms"], 2)
        tm["cycle_ms"] = round(tm["step_ms"] + tm["verify_ms"], 2)
        if isinstance(action, Wait) and hasattr(grounder, "forget"):
            grounder.forget()  # the target was not found: look again without cached readings
        if recorder is not None:
            seen = [f"{e.id}:{e.kind}:{e.label}" + (f"={e.value}" if e.value else "") for e in elements[:80]]
            recorder.record(out, frame, after, extra={"instruction": instruction, "timings_loop": tm,
                                                      "elements": len(elements), "seen": seen})
        log.steps.append(StepRecord(out.action or {}, out.status, out.reason, changed, tm))
        if isinstance(action, (Done, CallUser)):
            log.ended_by = "done"
            break
        if out.status in ("denied", "needs_confirmation", "invalid", "error"):
            log.ended_by = "error"
            break
    else:
        log.ended_by = "max_steps"
    log.seconds = round(time.perf_counter() - t_start, 3)
    return log
