"""`omnirt agent "TASK"`: the computer-use agent on the current display, every run recorded.

agent: the task comes from the command line (not from the screen). The agent captures the whole screen of $DISPLAY
(or --region), grounds it, lets the policy decide (instruction policy by default, --policy llm for the LLM one) and
acts through the safety layer, which denies by default: the pointer may only touch the captured region, and what
needs a person's yes (a deny-listed or window-level key chord, Enter after typing) is asked on the terminal only
with --confirm (else it is denied). Key chords in the task ("press ctrl+alt+delete") are keys, judged as keys.
Every run is recorded in runs/<timestamp>/ (or --record DIR): steps.jsonl (elements, action, timings, outcome),
before/after screenshots, index.html (the step table), report.html (the run's summary and that table) and run.json.
All of it is written atomically (temp file + rename, JSONL lines in single appends), so a killed run leaves whole files.

`omnirt replay RUN` (tools/agent_replay.py) re-runs a recorded run's actions through a fresh safety layer.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from omnirt.agents.screen import Box
from omnirt.agents.trajectory import Recorder, build_report, load, write_atomic

RUN_META = "run.json"
SUMMARY_REPORT = "report.html"
MATCH_MAX = 0.01  # a screen "matches" its recording when at most 1 % of its 16-px tiles differ (cursor blink, clock)


class AgentError(RuntimeError):
    """Bad input or an unusable environment; the message is one line for a person."""


@dataclass
class AgentConfig:
    """display: X display (None: $DISPLAY). region: capture and allowed rectangle (None: region_of's answer at the
    start of each run if set, else the whole screen; the voice tool sets region_of to the focused window's rectangle).
    policy: instruction | llm (thinker: its model, '0.5b', '1.5b' or an OpenAI-compatible URL). confirm: asks a person
    about an action that needs confirmation (None: denied). record: the run folder (None: a new
    runs_root/<timestamp>)."""

    display: str | None = None
    region: Box | None = None
    region_of: Callable[[str], Box | None] | None = None
    policy: str = "instruction"
    thinker: str = "0.5b"
    encoder: bool = True
    scale: float = 1.0
    dry_run: bool = False
    confirm: Callable[[Any, str], bool | None] | None = None
    max_steps: int = 12
    max_seconds: float = 60.0
    settle: float = 0.3
    record: Path | None = None
    runs_root: Path = Path("runs")


@dataclass
class AgentRun:
    """status: done | failed | denied | needs_confirmation | invalid | error | max_steps | timeout | stopped |
    needs_user."""

    task: str
    run_dir: Path
    ok: bool
    status: str
    summary: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def parse_region(text: str) -> Box:
    """'x,y,w,h' -> (x0, y0, x1, y1)."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise AgentError(f"--region wants x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise AgentError(f"--region {text}: width and height must be positive, x and y not negative")
    return x, y, x + w, y + h


def new_run_dir(root: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        d = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            d.mkdir(parents=True)
            return d
        except FileExistsError:
            continue
    raise AgentError(f"cannot make a new run folder under {root}")


def display_name(config_display: str | None) -> str:
    """The X display to act on: the configured one, else $DISPLAY."""
    d = config_display or os.environ.get("DISPLAY")
    if not d:
        raise AgentError("no display: set DISPLAY (the agent acts on the current X display)")
    return d


def open_screen(display: str) -> Any:
    from omnirt.agents.screen import Screen, ScreenOptions

    try:
        return Screen(ScreenOptions(display=display))
    except Exception as e:  # mss: ScreenShotError
        raise AgentError(f"cannot open display {display}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")


def input_backend(display: str, backend: Any = None) -> Any:
    """The pyautogui backend for `display`, bound now; python-xlib prints a warning about a missing Xauthority file
    on stdout at every connection, which would end up in the middle of the command's output: it is swallowed."""
    from omnirt.agents.executor import PyAutoGUIBackend

    backend = backend if backend is not None and backend.display == display else PyAutoGUIBackend(display)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            backend.pg
    except Exception as e:  # noqa: BLE001 - Xlib's connection errors have many types
        raise AgentError(f"cannot use the mouse and keyboard of {display}: {type(e).__name__}: {e}") from None
    return backend


def make_policy(name: str, thinker: str = "0.5b", encoder: bool = True) -> Any:
    """The policy by name; the LLM one is imported only when asked for."""
    if name == "instruction":
        from omnirt.agents.policies import InstructionPolicy

        enc = None
        if encoder:
            try:
                from omnirt.models.text_encoder import TextEncoder

                enc = TextEncoder.load()
            except Exception:  # no cached encoder: labels are then matched by spelling only
                enc = None
        return InstructionPolicy(encoder=enc)
    if name == "llm":
        try:
            from omnirt.agents import llm_policy
        except ImportError as e:
            raise AgentError(f"--policy llm needs omnirt.agents.llm_policy, which cannot be imported ({e})") from None
        try:
            return llm_policy.LLMPolicy(thinker=llm_policy.make_thinker(thinker))
        except Exception as e:  # a missing model, an unknown spec
            raise AgentError(f"--policy llm: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    raise AgentError(f"unknown policy {name!r} (instruction or llm)")


class _TaskText:
    """The grounder, except that the instruction is the task given to the agent, not text read off the screen."""

    def __init__(self, grounder: Any, task: str) -> None:
        self.grounder, self.task = grounder, task

    def text(self, *args: Any, **kwargs: Any) -> str:
        return self.task

    def ground(self, *args: Any, **kwargs: Any) -> Any:
        return self.grounder.ground(*args, **kwargs)


class _Recorder(Recorder):
    """The trajectory recorder; after each step it rebuilds index.html and report.html and tells `on_step`."""

    def __init__(self, run_dir: Path, meta: dict[str, Any], on_step: Callable[[dict[str, Any]], None] | None) -> None:
        super().__init__(run_dir, report=False)  # write_summary builds index.html itself
        self.meta, self.on_step = meta, on_step

    def record(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        step = super().record(*args, **kwargs)
        write_summary(self.run_dir, self.meta)
        if self.on_step is not None:
            self.on_step(step)
        return step


def write_summary(run_dir: Path, meta: dict[str, Any]) -> Path:
    """run.json and report.html (the run's facts above the step table of index.html), both atomically."""
    import html

    write_atomic(run_dir / RUN_META, json.dumps(meta, indent=1).encode())
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in meta.items()
                   if k not in ("started_at",))
    summary = f'<table class="summary">{rows}</table><p><a href="{RUN_META}">run.json</a></p>'
    build_report(run_dir)  # index.html: the step table alone
    return build_report(run_dir, summary, name=SUMMARY_REPORT)


def _outcome(log: Any, stopped: bool, timed_out: bool, config: AgentConfig) -> tuple[bool, str, str]:
    """(ok, status, one-line summary) from the loop's episode log."""
    last = log.steps[-1] if log.steps else None
    if stopped:
        return False, "stopped", "stopped before finishing"
    if log.ended_by == "env" or timed_out:
        return False, "timeout", f"not finished within {config.max_seconds:g} s"
    if log.ended_by == "max_steps":
        return False, "max_steps", f"not finished after {config.max_steps} steps"
    if last is None:
        return False, "error", "no step was taken"
    if log.ended_by == "error":
        return False, last.status, last.reason
    act = last.action or {}
    if act.get("action") == "call_user":
        return False, "needs_user", str(act.get("question", ""))
    ok = bool(act.get("success", True))
    return ok, "done" if ok else "failed", str(act.get("summary") or ("finished" if ok else "gave up"))


class Agent:
    """Runs tasks on one display; loads the OCR and the policy once (the voice tool keeps one Agent)."""

    def __init__(self, config: AgentConfig | None = None) -> None:
        self.config = config or AgentConfig()
        self._grounder: Any = None
        self._policy: Any = None
        self._backend: Any = None
        self.typed = False  # a run typed text nothing has submitted yet: Enter in the next run submits it

    def load(self) -> "Agent":
        """Load the OCR and the policy now (else on the first run)."""
        from omnirt.agents.grounding import Grounder, GroundingOptions

        if self._policy is None:
            self._policy = make_policy(self.config.policy, self.config.thinker, self.config.encoder)
        if self._grounder is None:
            try:
                self._grounder = Grounder(GroundingOptions(scale=self.config.scale))
            except Exception as e:  # the OCR model is missing or broken
                raise AgentError(f"cannot load the OCR: {type(e).__name__}: {str(e).splitlines()[0]}") from None
        return self

    def pointer_region(self, display: str, full: Box) -> Box:
        """What a run captures and lets the pointer touch: config.region, else config.region_of(display) (clipped to
        the screen `full`), else the whole screen."""
        c = self.config
        if c.region is not None:
            r = c.region
            if not (full[0] <= r[0] < r[2] <= full[2] and full[1] <= r[1] < r[3] <= full[3]):
                raise AgentError(f"region {r} is not inside the screen {full}")
            return r
        if c.region_of is None:
            return full
        box = c.region_of(display)
        if box is None:
            raise AgentError("no window has the keyboard focus, so the pointer has nowhere to act (give a region)")
        r = (max(box[0], full[0]), max(box[1], full[1]), min(box[2], full[2]), min(box[3], full[3]))
        if r[0] >= r[2] or r[1] >= r[3]:
            raise AgentError(f"the focused window {tuple(box)} is off the screen {full}")
        return r

    def run(self, task: str, stop: threading.Event | None = None,
            on_step: Callable[[dict[str, Any]], None] | None = None,
            confirm: Callable[[Any, str], bool | None] | None = None) -> AgentRun:
        """Do `task` on the display; `stop` ends the run before its next step (the voice session's barge-in);
        `confirm`: this run's confirmation callback (else config.confirm; see safety.Confirm)."""
        from omnirt.agents.executor import Executor
        from omnirt.agents.loop import LoopOptions, run_episode
        from omnirt.agents.safety import SafetyPolicy

        c = self.config
        task = " ".join(task.split())
        if not task:
            raise AgentError("the task is empty")
        display = display_name(c.display)
        screen = open_screen(display)
        try:
            region = self.pointer_region(display, screen.monitors()[0].box)
            self.load()
            run_dir = Path(c.record) if c.record else new_run_dir(c.runs_root)
            meta = {"task": task, "policy": c.policy, "display": display, "region": list(region),
                    "dry_run": c.dry_run, "max_steps": c.max_steps, "max_seconds": c.max_seconds,
                    "started_at": time.time(), "status": "running"}
            safety = SafetyPolicy(allowed_region=region, confirm=confirm or c.confirm, max_steps=c.max_steps,
                                  max_seconds=c.max_seconds, dry_run=c.dry_run, typed=self.typed)
            self._backend = input_backend(display, self._backend)
            executor = Executor(safety, self._backend)
            t0 = time.monotonic()
            timed_out = [False]

            def is_done() -> bool:  # checked before each step: a stop request or the time limit ends the run there
                timed_out[0] = time.monotonic() - t0 > c.max_seconds
                return bool(stop is not None and stop.is_set()) or timed_out[0]

            # Any query box makes the loop ask for the instruction: _TaskText answers with the task itself.
            opts = LoopOptions(region=region, query_box=(0, 0, 1, 1), max_steps=c.max_steps, settle=c.settle)
            with _Recorder(run_dir, meta, on_step) as rec:
                write_summary(run_dir, meta)
                try:
                    log = run_episode(screen, _TaskText(self._grounder, task), self._policy, executor, opts,
                                      is_done=is_done, recorder=rec)
                finally:
                    self.typed = safety.typed
            ok, status, summary = _outcome(log, bool(stop is not None and stop.is_set()), timed_out[0], c)
            meta.update(status=status, ok=ok, summary=summary, steps=len(log.steps), seconds=log.seconds)
            write_summary(run_dir, meta)
            return AgentRun(task, run_dir, ok, status, summary, load(run_dir).steps, log.seconds)
        finally:
            screen.close()


# ---------------------------------------------------------------- printing

def describe_action(step: dict[str, Any]) -> str:
    """One short phrase for a recorded step's action, in pointer coordinates where it has them."""
    a = step.get("screen_action") or step.get("action") or {}
    given = step.get("action") or {}
    if not isinstance(a, dict) or not isinstance(given, dict):
        return json.dumps(a, separators=(",", ":"), default=str)[:120]
    kind = a.get("action", "?")
    if "x" in a and "y" in a and kind != "scroll":
        el = f" {given['element']}" if given.get("element") else ""
        to = f" to ({a['to_x']}, {a['to_y']})" if "to_x" in a else ""
        return f"{kind}{el} at ({a['x']}, {a['y']}){to}"
    if kind == "type":
        return f"type {a.get('text', '')!r}"
    if kind == "hotkey":  # a recording may hold anything: keys are shown, never trusted to be strings
        keys = a.get("keys", [])
        return "press " + ("+".join(map(str, keys)) if isinstance(keys, list) else str(keys))
    if kind == "scroll":
        return f"scroll {a.get('amount')} at ({a.get('x')}, {a.get('y')})"
    if kind == "wait":
        return f"wait {a.get('seconds')} s"
    if kind == "done":
        return f"done ({'success' if a.get('success', True) else 'failed'}: {a.get('summary', '')})"
    if kind == "call_user":
        return f"ask: {a.get('question', '')}"
    return json.dumps(a, separators=(",", ":"))[:120]


def step_line(step: dict[str, Any]) -> str:
    tl = step.get("timings_loop") or {}
    ms = tl.get("step_ms", (step.get("timings") or {}).get("total_ms", 0.0))
    return (f"step {step.get('index')}: {describe_action(step)} -> {step.get('outcome')} "
            f"({step.get('reason')}) {ms:.0f} ms")


def terminal_confirm(action: Any, reason: str) -> bool:
    """Ask on the terminal (stderr + stdin); anything but y/yes, or end of input, is a no."""
    from omnirt.agents.actions import action_to_json

    print(f"confirm {action_to_json(action)}? ({reason}) [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


# ---------------------------------------------------------------- omnirt agent

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", help='what to do, e.g. "click Submit" or "type hello into the name field"')
    p.add_argument("--region", help="x,y,w,h: capture (and let the pointer touch) only this rectangle")
    p.add_argument("--policy", default="instruction", choices=["instruction", "llm"])
    p.add_argument("--thinker", default="0.5b", help="--policy llm: 0.5b, 1.5b or an OpenAI-compatible URL")
    p.add_argument("--dry-run", action="store_true", help="decide and record, but do not touch mouse or keyboard")
    p.add_argument("--confirm", action="store_true", help="ask on the terminal before an action that needs "
                                                          "confirmation (else denied)")
    p.add_argument("--max-steps", type=int, default=12)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--record", help="run folder (default: runs/<timestamp>)")
    p.add_argument("--scale", type=float, default=1.0, help="device pixels per CSS pixel of the screen (HiDPI: 2)")
    p.add_argument("--no-encoder", action="store_true", help="match labels by spelling only (no sentence encoder)")


def run(args: argparse.Namespace, console: Any) -> int:
    try:
        if args.max_steps < 1 or args.max_seconds <= 0:
            raise AgentError("--max-steps and --max-seconds must be positive")
        config = AgentConfig(region=parse_region(args.region) if args.region else None, policy=args.policy,
                             thinker=args.thinker, encoder=not args.no_encoder, scale=args.scale,
                             dry_run=args.dry_run, confirm=terminal_confirm if args.confirm else None,
                             max_steps=args.max_steps, max_seconds=args.max_seconds,
                             record=Path(args.record) if args.record else None)
        result = Agent(config).run(args.task, on_step=lambda s: console.print(step_line(s), markup=False,
                                                                              soft_wrap=True))
    except AgentError as e:
        print(f"omnirt: error: {e}", file=sys.stderr)
        return 2
    from rich.markup import escape

    colour = "green" if result.ok else "red"
    dry = " (dry run)" if args.dry_run else ""
    console.print(f"[{colour}]{result.status}[/]{dry}: {escape(result.summary)} ({len(result.steps)} steps, "
                  f"{result.seconds:.1f} s); report: {escape(str(result.run_dir / SUMMARY_REPORT))}", soft_wrap=True)
    return 0 if result.ok else 1


__all__ = ["Agent", "AgentConfig", "AgentError", "AgentRun", "add_arguments", "open_screen", "parse_region", "run",
           "step_line", "terminal_confirm", "write_summary"]
