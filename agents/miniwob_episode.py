"""One MiniWoB++ episode played from pixels: the agent loop in a `MiniWoBEnv`, the reward read from the page.

The agent reads the instruction by OCR from the page's query strip (afresh at every step, as it grounds the rest),
sees the task area and the strip below it (`page_box`), and acts with the real mouse and keyboard behind the safety
layer. Only the environment's side reads the DOM: it starts the seeded episode and judges it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from omnirt.agents.executor import Executor, PyAutoGUIBackend
from omnirt.agents.grounding import Grounder
from omnirt.agents.instruction_text import strip_reader
from omnirt.agents.loop import EpisodeLog, LoopOptions, Policy, run_episode
from omnirt.agents.miniwob_env import MiniWoBEnv, MiniWoBError
from omnirt.agents.safety import SafetyPolicy
from omnirt.agents.screen import Screen, Screenshot, expect_change
from omnirt.agents.steps import AgentStep


@dataclass
class EpisodeResult:
    """The environment's verdict: reward (time-discounted), raw_reward, reason, done (False: step limit hit); and
    the agent's side: the instruction it read, why its loop ended (agents.loop.EpisodeLog) and its steps."""

    task: str
    seed: str
    reward: float
    raw_reward: float
    done: bool
    reason: str | None
    seconds: float
    instruction: str = ""
    ended_by: str = ""
    steps: list[AgentStep] = field(default_factory=list)


def start_episode(env: MiniWoBEnv, screen: Screen, seed: int | str) -> float:
    """Start the seeded episode and wait until the new problem is painted; returns when it started
    (time.perf_counter)."""
    box = env.page_box
    before = screen.capture(region=box)
    t0 = time.perf_counter()
    env.reset(seed)
    deadline = time.monotonic() + 2.0
    while not expect_change(before, screen.capture(region=box)) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.03 * env.options.scale)  # let the new problem finish painting
    return t0


def instruction_reader(env: MiniWoBEnv, grounder: Grounder) -> Callable[[Screenshot], str]:
    """The instruction as OCR reads it from the query strip of a step's frame, and below the strip when a long
    instruction runs on over the task area (agents/instruction_text.py). One reader per episode."""
    return strip_reader(grounder.text_words, env.query_box, env.page_box[3])


def play_episode(env: MiniWoBEnv, screen: Screen, grounder: Grounder, policy: Policy, backend: PyAutoGUIBackend,
                 seed: int | str, max_steps: int = 12,
                 on_step: Callable[[AgentStep], Any] | None = None) -> EpisodeResult:
    """One seeded episode of the open task, played from pixels through the loop; the reward comes from the page.
    on_step: gets each step as it ends (e.g. a trajectory Recorder's record_step)."""
    if env.task is None:
        raise MiniWoBError("open a task first")
    box = env.page_box
    opts = LoopOptions(region=box, area_box=(0, env.query_box[3], box[2], box[3]), max_steps=max_steps)
    # The pointer may only touch the task area; Executor maps frame pixels to pointer coordinates (offset 0 here).
    # Enter may submit what was typed: the task page is a sandbox whose forms reach nothing but the reward.
    safety = SafetyPolicy(allowed_region=box, max_steps=max_steps + 1, max_seconds=30.0, confirm_submit=False)
    t0 = start_episode(env, screen, seed)
    log = run_episode(screen, grounder, policy, Executor(safety, backend), opts, instruction_reader(env, grounder),
                      is_done=lambda: bool(env.status()["done"]), on_step=on_step)
    return _verdict(env, seed, log, t0)


def _verdict(env: MiniWoBEnv, seed: int | str, log: EpisodeLog, t0: float) -> EpisodeResult:
    st = env.status()
    if not st["done"]:  # give a last click a moment to land
        time.sleep(0.1)
        st = env.status()
    assert env.task is not None
    return EpisodeResult(env.task, str(seed), float(st["reward"] or 0.0), float(st["raw_reward"] or 0.0),
                         bool(st["done"]), st.get("reason"), round(time.perf_counter() - t0, 3), log.instruction,
                         log.ended_by, log.steps)
