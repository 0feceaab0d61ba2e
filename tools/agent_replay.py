"""`omnirt replay RUN`: re-run a recorded agent run's actions and say per step whether the screen matched the recording.

The recorded actions (pointer coordinates) go through `trajectory.replay`, so through a fresh executor and safety
layer: the allowed region is the run's recorded one, deny-listed keys need --confirm (asked on the terminal), and
--dry-run checks every action without acting. Before each action the screen is compared with the recorded 'before'
screenshot, and after an executed one with the recorded 'after' screenshot; each comparison waits up to --settle s
for the screen to get there (pages paint late). "matched": at most 1 % of the 16-px tiles differ noticeably.
Without a display, a --dry-run replay still checks every action and compares nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from omnirt.agents.screen import Box, changed_tiles
from omnirt.agents.trajectory import load, replay

from .agent_cmd import MATCH_MAX, RUN_META, AgentError, describe_action, open_screen, terminal_confirm


@dataclass
class StepReplay:
    """One replayed step: the recorded step, what happened now, and the share of tiles that differed from the
    recording before and after the action (None: not compared)."""

    step: dict[str, Any]
    outcome: Any
    before: float | None = None
    after: float | None = None


def mismatch(recorded: np.ndarray, now: np.ndarray) -> float | None:
    """Share of 16-px tiles where some pixel differs by more than 32 (None: the images differ in size)."""
    if recorded.shape != now.shape:
        return None
    return float(changed_tiles(recorded, now, tile=16, threshold=32).mean())


def _recorded(run_dir: Path, step: dict[str, Any], tag: str) -> np.ndarray | None:
    from PIL import Image

    obs = (step.get("observation") or {}).get(tag)
    path = run_dir / obs["png"] if obs and obs.get("png") else None
    if path is None or not path.is_file():
        return None
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _wait_for(screen: Any, region: Box, want: np.ndarray, settle: float) -> float | None:
    """Capture until the screen matches `want` or `settle` s pass; the last mismatch."""
    deadline = time.monotonic() + settle
    while True:
        m = mismatch(want, screen.capture(region=region).rgb)
        if m is None or m <= MATCH_MAX or time.monotonic() > deadline:
            return m
        time.sleep(0.02)


def recorded_region(run_dir: Path, steps: list[dict[str, Any]]) -> Box:
    """The region the run captured (run.json, else the first screenshot's capture rectangle)."""
    meta = run_dir / RUN_META
    if meta.is_file():
        region = json.loads(meta.read_text()).get("region")
        if region:
            return tuple(int(v) for v in region)  # type: ignore[return-value]
    for s in steps:
        mon = ((s.get("observation") or {}).get("before") or {}).get("monitor")
        if mon:
            return tuple(int(v) for v in mon)  # type: ignore[return-value]
    raise AgentError(f"{run_dir}: the recording says nothing about the screen region it captured")


class _Watcher:
    """Stands in for the executor in `trajectory.replay`: compares the screen with the step's recorded 'before'
    screenshot, then executes. trajectory.replay submits the steps that have a screen_action, in order."""

    def __init__(self, executor: Any, screen: Any, region: Box, run_dir: Path, steps: list[dict[str, Any]],
                 settle: float) -> None:
        self.executor, self.screen, self.region, self.run_dir, self.settle = executor, screen, region, run_dir, settle
        self._steps = iter(steps)
        self.before: float | None = None

    def execute(self, action: Any, frame: Any = None) -> Any:
        step = next(self._steps)
        want = _recorded(self.run_dir, step, "before") if self.screen is not None else None
        self.before = _wait_for(self.screen, self.region, want, self.settle) if want is not None else None
        return self.executor.execute(action, frame)


def replay_run_dir(run_dir: Path, display: str | None, dry_run: bool = False,
                   confirm: Callable[[Any, str], bool] | None = None, settle: float = 1.0, delay: float = 0.0,
                   on_step: Callable[[StepReplay], None] | None = None) -> tuple[list[StepReplay], bool]:
    """Replay a run folder; returns the replayed steps and whether the recording's last line was cut off."""
    from omnirt.agents.executor import Executor, PyAutoGUIBackend
    from omnirt.agents.safety import SafetyPolicy

    from .agent_cmd import input_backend

    try:
        traj = load(run_dir)
    except (FileNotFoundError, ValueError) as e:
        raise AgentError(str(e)) from None
    steps = [s for s in traj.steps if s.get("screen_action") is not None]
    region = recorded_region(run_dir, traj.steps)
    if display is None and not dry_run:
        raise AgentError("no display: set DISPLAY (or use --dry-run)")
    screen = open_screen(display) if display else None
    safety = SafetyPolicy(allowed_region=region, confirm=confirm, max_steps=None, max_seconds=None, dry_run=dry_run)
    backend = PyAutoGUIBackend(display) if dry_run else input_backend(display)  # type: ignore[arg-type]
    watcher = _Watcher(Executor(safety, backend), screen, region, run_dir, steps, settle)
    done: list[StepReplay] = []

    def after(step: dict[str, Any], out: Any) -> None:
        want = _recorded(run_dir, step, "after") if screen is not None and out.executed else None
        r = StepReplay(step, out, watcher.before, _wait_for(screen, region, want, settle) if want is not None else None)
        done.append(r)
        if on_step is not None:
            on_step(r)

    try:
        replay(run_dir, watcher, delay=delay, on_step=after)  # type: ignore[arg-type]
    finally:
        if screen is not None:
            screen.close()
    return done, traj.truncated


def _match(m: float | None) -> str:
    if m is None:
        return "not compared"
    return f"{'matched' if m <= MATCH_MAX else 'differs'} ({100 * m:.1f} % of tiles differ)"


def replay_line(r: StepReplay) -> str:
    out = r.outcome
    line = f"step {r.step.get('index')}: {describe_action(r.step)} -> {out.status} ({out.reason}); screen before: "
    line += _match(r.before)
    if out.executed and r.after is not None:
        line += f"; after: {_match(r.after)}"
    return line


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run folder written by omnirt agent (runs/<timestamp>)")
    p.add_argument("--dry-run", action="store_true", help="check each action through the safety layer, do not act")
    p.add_argument("--confirm", action="store_true", help="ask on the terminal before a deny-listed key (else denied)")
    p.add_argument("--settle", type=float, default=1.0, help="longest wait (s) for the screen to match the recording")
    p.add_argument("--delay", type=float, default=0.0, help="pause (s) after each step")


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.markup import escape

    run_dir = Path(args.run)
    try:
        steps, truncated = replay_run_dir(run_dir, os.environ.get("DISPLAY") or None, args.dry_run,
                                          terminal_confirm if args.confirm else None, args.settle, args.delay,
                                          on_step=lambda r: console.print(replay_line(r), markup=False,
                                                                             soft_wrap=True))
    except AgentError as e:
        print(f"omnirt: error: {e}", file=sys.stderr)
        return 2
    counts: dict[str, int] = {}
    for r in steps:
        counts[r.outcome.status] = counts.get(r.outcome.status, 0) + 1
    compared = [r.before for r in steps if r.before is not None]
    after = [r.after for r in steps if r.after is not None]
    bad = sum(counts.get(k, 0) for k in ("denied", "invalid", "error"))
    console.print(f"[{'red' if bad else 'green'}]replayed[/] {len(steps)} steps of {escape(str(run_dir))}: "
                  + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                  + f"; screen matched the recording before {sum(m <= MATCH_MAX for m in compared)}/{len(compared)}"
                  + f" and after {sum(m <= MATCH_MAX for m in after)}/{len(after)} steps"
                  + (" (the recording's last step was cut off and is skipped)" if truncated else ""), soft_wrap=True)
    return 1 if bad else 0
