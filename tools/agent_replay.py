"""`omnirt replay RUN`: re-run a recorded agent run's actions and say per step whether the screen matched the recording.

A recording is data, not a permission: the allowed region and every limit come from this command line (--region,
default the whole current screen, or with no display no pointer action at all; --max-steps, --max-seconds), never
from the run folder, and the recorded actions (pointer coordinates) go through `trajectory.replay`, so through a
fresh executor and safety layer: what needs confirmation (a deny-listed chord, Enter after typing) is asked on the
terminal only with --confirm (else denied), and --dry-run checks every action without acting. The folder is checked
before anything is replayed (`trajectory.check_replayable`): anything corrupt, or a file outside the folder, is one
line of error. Before each action the screen is compared with the recorded 'before' screenshot, and after an
executed one with the recorded 'after' screenshot, in the rectangle the run captured; each comparison waits up to
--settle s for the screen to get there (pages paint late). "matched": at most 1 % of the 16-px tiles differ
noticeably. Without a display, a --dry-run replay still checks every action and compares nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from omnirt.agents.screen import Box, changed_tiles
from omnirt.agents.trajectory import TrajectoryError, check_replayable, load, member, read_png, replay, screenshot

from omnirt.agents.agent import RUN_META, AgentError, input_backend, open_screen

from .agent_cmd import describe_action, parse_region, terminal_confirm

MATCH_MAX = 0.01  # a screen "matches" its recording when at most 1 % of its 16-px tiles differ (cursor blink, clock)


@dataclass
class ReplayOptions:
    """This replay's own permissions and limits. region: where the pointer may act (None: the whole current screen,
    or no pointer action at all without a display). confirm: asks about an action that needs confirmation (None:
    denied). settle: longest wait (s) for the screen to match; delay: pause (s) after each step."""

    region: Box | None = None
    max_steps: int = 100
    max_seconds: float = 300.0
    dry_run: bool = False
    confirm: Callable[[Any, str], bool | None] | None = None
    settle: float = 1.0
    delay: float = 0.0


@dataclass
class StepReplay:
    """One replayed step: the recorded step, what happened now, and the share of tiles that differed from the
    recording before and after the action (None: not compared)."""

    step: dict[str, Any]
    outcome: Any
    before: float | None = None
    after: float | None = None


@dataclass
class Replayed:
    """steps: those replayed. truncated: the recording's last line was cut off. stopped: the limit that ended the
    replay early (None: every recorded action was replayed)."""

    steps: list[StepReplay] = field(default_factory=list)
    truncated: bool = False
    stopped: str | None = None


def one_line(text: str) -> str:
    """Control characters a recording may carry (newlines, terminal escapes) shown escaped: one inert line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def mismatch(recorded: np.ndarray, now: np.ndarray) -> float | None:
    """Share of 16-px tiles where some pixel differs by more than 32 (None: the images differ in size)."""
    if recorded.shape != now.shape:
        return None
    return float(changed_tiles(recorded, now, tile=16, threshold=32).mean())


def _box(value: Any, where: str) -> Box:
    if not (isinstance(value, list) and len(value) == 4 and all(type(v) is int for v in value)
            and 0 <= value[0] < value[2] and 0 <= value[1] < value[3]):
        raise AgentError(f"{where}: the region {one_line(repr(value))[:60]} is not [x0, y0, x1, y1] in pixels")
    return tuple(value)  # type: ignore[return-value]


def recorded_region(run_dir: Path, steps: list[dict[str, Any]]) -> Box | None:
    """The rectangle the run captured (run.json, else the first screenshot's): where to look when comparing
    screens, never where the pointer may go. None: the recording does not say."""
    if (run_dir / RUN_META).exists() or (run_dir / RUN_META).is_symlink():
        path = member(run_dir, RUN_META)
        if not path.is_file() or path.stat().st_size > 1 << 20:
            raise AgentError(f"{run_dir / RUN_META} is not a regular file of at most 1 MB")
        try:
            meta = json.loads(path.read_bytes())
        except (ValueError, RecursionError) as e:
            raise AgentError(f"{run_dir / RUN_META} is not valid JSON ({type(e).__name__})") from None
        if not isinstance(meta, dict):
            raise AgentError(f"{run_dir / RUN_META} is not a JSON object")
        if meta.get("region") is not None:
            return _box(meta["region"], RUN_META)
    for i, s in enumerate(steps):
        mon = ((s.get("observation") or {}).get("before") or {}).get("monitor")  # shapes checked: dicts or None
        if mon is not None:
            return _box(mon, f"step {i}")
    return None


def _recorded(run_dir: Path, step: dict[str, Any], tag: str, region: Box) -> np.ndarray | None:
    """The step's recorded screenshot if it is the size of `region` (checked before it is decoded)."""
    path = screenshot(run_dir, step, tag)
    if path is None or not path.is_file():
        return None
    try:
        return read_png(path, (region[2] - region[0], region[3] - region[1]))
    except TrajectoryError as e:
        raise AgentError(f"step {step.get('index')!r:.12}: {e}") from None


def _wait_for(screen: Any, region: Box, want: np.ndarray, settle: float) -> float | None:
    """Capture until the screen matches `want` or `settle` s pass; the last mismatch."""
    deadline = time.monotonic() + settle
    while True:
        m = mismatch(want, screen.capture(region=region).rgb)
        if m is None or m <= MATCH_MAX or time.monotonic() > deadline:
            return m
        time.sleep(0.02)


class _Watcher:
    """Stands in for the executor in `trajectory.replay`: compares the screen with the step's recorded 'before'
    screenshot, then executes. trajectory.replay submits the steps that have a screen_action, in order."""

    def __init__(self, executor: Any, screen: Any, region: Box | None, run_dir: Path, steps: list[dict[str, Any]],
                 settle: float) -> None:
        self.executor, self.screen, self.region, self.run_dir, self.settle = executor, screen, region, run_dir, settle
        self._steps = iter(steps)
        self.before: float | None = None

    def compare(self, step: dict[str, Any], tag: str) -> float | None:
        if self.screen is None or self.region is None:
            return None
        want = _recorded(self.run_dir, step, tag, self.region)
        return _wait_for(self.screen, self.region, want, self.settle) if want is not None else None

    def execute(self, action: Any, frame: Any = None) -> Any:
        self.before = self.compare(next(self._steps), "before")
        return self.executor.execute(action, frame)


def _inside(box: Box, outer: Box) -> bool:
    return outer[0] <= box[0] < box[2] <= outer[2] and outer[1] <= box[1] < box[3] <= outer[3]


def replay_run_dir(run_dir: Path, display: str | None, options: ReplayOptions = ReplayOptions(),
                   on_step: Callable[[StepReplay], None] | None = None) -> Replayed:
    """Check a run folder, then replay it under `options` (AgentError, one line, for anything wrong)."""
    from omnirt.agents.executor import Executor, PyAutoGUIBackend
    from omnirt.agents.safety import SafetyPolicy

    o = options
    if o.max_steps < 1 or not o.max_seconds > 0:
        raise AgentError("--max-steps and --max-seconds must be positive")
    try:
        traj = load(run_dir)
        check_replayable(traj)
    except (FileNotFoundError, TrajectoryError) as e:
        raise AgentError(str(e)) from None
    steps = [s for s in traj.steps if s.get("screen_action") is not None]
    look = recorded_region(run_dir, traj.steps)
    if display is None and not o.dry_run:
        raise AgentError("no display: set DISPLAY (or use --dry-run)")
    screen = open_screen(display) if display else None
    try:
        allowed = o.region
        if screen is not None:
            full = screen.monitors()[0].box
            if allowed is not None and not _inside(allowed, full):
                raise AgentError(f"--region {allowed} is not inside the screen {full}")
            allowed = allowed or full
            look = look if look is not None and _inside(look, full) else None  # another screen: compare nothing
        safety = SafetyPolicy(allowed_region=allowed, confirm=o.confirm, max_steps=o.max_steps,
                              max_seconds=o.max_seconds, dry_run=o.dry_run)
        backend = PyAutoGUIBackend(display) if o.dry_run else input_backend(display)  # type: ignore[arg-type]
        watcher = _Watcher(Executor(safety, backend), screen, look, run_dir, steps, o.settle)
        result = Replayed(truncated=traj.truncated)

        def after(step: dict[str, Any], out: Any) -> None:
            r = StepReplay(step, out, watcher.before, watcher.compare(step, "after") if out.executed else None)
            result.steps.append(r)
            if on_step is not None:
                on_step(r)

        t0 = time.monotonic()
        replay(run_dir, watcher, delay=o.delay, on_step=after, steps=steps,  # type: ignore[arg-type]
               max_steps=o.max_steps, max_seconds=o.max_seconds)
        if len(result.steps) < len(steps):
            result.stopped = (f"step limit ({o.max_steps} steps)" if len(result.steps) >= o.max_steps else
                              f"time limit ({o.max_seconds:g} s, {time.monotonic() - t0:.1f} s spent)")
        return result
    finally:
        if screen is not None:
            screen.close()


def _match(m: float | None) -> str:
    if m is None:
        return "not compared"
    return f"{'matched' if m <= MATCH_MAX else 'differs'} ({100 * m:.1f} % of tiles differ)"


def replay_line(r: StepReplay) -> str:
    out = r.outcome
    index = r.step.get("index")
    what = describe_action(r.step.get("screen_action"), r.step.get("action"))
    line = (f"step {index if type(index) is int else '?'}: {what[:200]} -> {out.status} "
            f"({out.reason}); screen before: {_match(r.before)}")
    if out.executed and r.after is not None:
        line += f"; after: {_match(r.after)}"
    return one_line(line)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run folder written by omnirt agent (runs/<timestamp>)")
    p.add_argument("--dry-run", action="store_true", help="check each action through the safety layer, do not act")
    p.add_argument("--confirm", action="store_true", help="ask on the terminal before an action that needs "
                                                          "confirmation (else denied)")
    p.add_argument("--region", help="x,y,w,h: where the pointer may act (default: the whole current screen; the "
                                    "recording's region is never used)")
    p.add_argument("--max-steps", type=int, default=ReplayOptions.max_steps, help="replay at most this many actions")
    p.add_argument("--max-seconds", type=float, default=ReplayOptions.max_seconds, help="stop after this long")
    p.add_argument("--settle", type=float, default=1.0, help="longest wait (s) for the screen to match the recording")
    p.add_argument("--delay", type=float, default=0.0, help="pause (s) after each step")


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.markup import escape

    run_dir = Path(args.run)
    try:
        options = ReplayOptions(region=parse_region(args.region) if args.region else None, max_steps=args.max_steps,
                                max_seconds=args.max_seconds, dry_run=args.dry_run,
                                confirm=terminal_confirm if args.confirm else None, settle=args.settle,
                                delay=args.delay)
        result = replay_run_dir(run_dir, os.environ.get("DISPLAY") or None, options,
                                on_step=lambda r: console.print(replay_line(r), markup=False, soft_wrap=True))
    except AgentError as e:
        print(f"omnirt: error: {one_line(str(e))}", file=sys.stderr)
        return 2
    steps = result.steps
    counts: dict[str, int] = {}
    for r in steps:
        counts[r.outcome.status] = counts.get(r.outcome.status, 0) + 1
    compared = [r.before for r in steps if r.before is not None]
    after = [r.after for r in steps if r.after is not None]
    bad = sum(counts.get(k, 0) for k in ("denied", "needs_confirmation", "invalid", "error")) + bool(result.stopped)
    if not steps and not result.stopped:
        console.print(f"replayed nothing: {escape(one_line(str(run_dir)))} recorded no step"
                      + (" (its only step was cut off)" if result.truncated else ""), soft_wrap=True)
        return 0
    console.print(f"[{'red' if bad else 'green'}]replayed[/] {len(steps)} steps of {escape(one_line(str(run_dir)))}: "
                  + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                  + f"; screen matched the recording before {sum(m <= MATCH_MAX for m in compared)}/{len(compared)}"
                  + f" and after {sum(m <= MATCH_MAX for m in after)}/{len(after)} steps"
                  + (f"; stopped at the {result.stopped}" if result.stopped else "")
                  + (" (the recording's last step was cut off and is skipped)" if result.truncated else ""),
                  soft_wrap=True)
    return 1 if bad else 0
