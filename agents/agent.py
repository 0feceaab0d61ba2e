"""The computer-use agent as a library: `Agent(config).run(task)` does a task on an X display and records the run.

The task comes from the caller (a command line, a voice session), never from the screen. A run captures the display
(or the configured region), grounds it, lets the policy decide and acts through the safety layer, which denies by
default: the pointer may only touch the captured region, and what needs a person's yes (a deny-listed or window-level
key chord, Enter after typing) is asked of the `confirm` callback (without one it is denied). Every run is recorded in
runs/<timestamp>/ (or config.record): steps.jsonl (elements, action, timings, outcome), before/after screenshots,
index.html (the step table), report.html (the run's summary and that table) and run.json, all written atomically
(temp file + rename, JSONL lines in single appends), so a killed run leaves whole files.

`omnirt agent` (tools/agent_cmd.py) is its command line; the voice session's tool is tools/agent_tool.py.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from omnirt.agents.screen import Box
from omnirt.agents.steps import AgentStep
from omnirt.agents.trajectory import build_report, write_atomic

if TYPE_CHECKING:
    from omnirt.agents.executor import PyAutoGUIBackend
    from omnirt.agents.loop import EpisodeLog, Grounder, Policy
    from omnirt.agents.screen import Screen

RUN_META = "run.json"
SUMMARY_REPORT = "report.html"


class AgentError(RuntimeError):
    """Bad input or an unusable environment; the message is one line for a person."""


@dataclass
class AgentConfig:
    """display: X display (None: $DISPLAY). region: capture and allowed rectangle (None: region_of's answer at the
    start of each run if set, else the whole screen; the voice tool sets region_of to the focused window's rectangle).
    policy: instruction | llm (thinker: its model, '0.5b', '1.5b' or an OpenAI-compatible URL); fallback: the thinker
    the instruction policy hands over to when it cannot parse or ground the task (None: none; `omnirt agent` gives
    '0.5b' unless told otherwise, while the voice tool, which claims only what the rules parse, keeps none). confirm:
    asks a person about an action that needs confirmation (None: denied). record: the run folder (None: a new
    runs_root/<timestamp>)."""

    display: str | None = None
    region: Box | None = None
    region_of: Callable[[str], Box | None] | None = None
    policy: str = "instruction"
    thinker: str = "0.5b"
    fallback: str | None = None
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
    """status: done | unverified (every step taken, one or more not seen on the screen) | failed | denied |
    needs_confirmation | invalid | error | max_steps | timeout | stopped | needs_user."""

    task: str
    run_dir: Path
    ok: bool
    status: str
    summary: str
    steps: list[AgentStep] = field(default_factory=list)
    seconds: float = 0.0


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


def open_screen(display: str) -> Screen:
    from omnirt.agents.screen import Screen, ScreenOptions

    try:
        return Screen(ScreenOptions(display=display))
    except Exception as e:  # mss: ScreenShotError
        raise AgentError(f"cannot open display {display}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")


def input_backend(display: str, backend: PyAutoGUIBackend | None = None) -> PyAutoGUIBackend:
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


def load_encoder(note: Callable[[str], Any] | None = None) -> Any:
    """The sentence encoder for synonym matching, or None (labels are then matched by spelling only; `note` hears
    why)."""
    try:
        from omnirt.models.text_encoder import TextEncoder

        return TextEncoder.load()
    except Exception as e:  # ModelMissingError, missing tokenizers: run without it
        if note is not None:
            note(f"  text encoder unavailable ({type(e).__name__}: {e}); matching by spelling only")
        return None


def llm_policy(thinker: str = "0.5b", threads: int = 1, what: str = "--policy llm") -> Any:
    """The LLM policy on `thinker` ('0.5b', '1.5b', a model asset or an OpenAI-compatible URL); AgentError if it
    cannot be made."""
    try:
        from omnirt.agents.llm_backends import make_thinker
        from omnirt.agents.llm_policy import LLMPolicy
    except ImportError as e:
        raise AgentError(f"{what} needs omnirt.agents.llm_policy, which cannot be imported ({e})") from None
    try:
        return LLMPolicy(thinker=make_thinker(thinker, n_threads=threads))
    except Exception as e:  # a missing model, an unknown spec
        raise AgentError(f"{what}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None


def make_policy(name: str, thinker: str = "0.5b", encoder: bool = True, threads: int = 1,
                note: Callable[[str], Any] | None = None, fallback: str | None = None) -> Policy:
    """The policy by name; the LLM one is imported only when asked for (threads: an embedded Thinker's).
    fallback: for the instruction policy, the thinker of an LLM policy that takes over when the rules cannot parse
    or ground the instruction (agents/fallback.py; built on the first hand-over); None or 'none': no fallback."""
    if name == "instruction":
        from omnirt.agents.policies import InstructionPolicy

        rules = InstructionPolicy(encoder=load_encoder(note) if encoder else None)
        if not fallback or fallback.lower() == "none":
            return rules
        from omnirt.agents.fallback import FallbackPolicy

        return FallbackPolicy(rules, lambda: llm_policy(fallback, threads, "the LLM fallback"))
    if name == "llm":
        return llm_policy(thinker, threads)
    raise AgentError(f"unknown policy {name!r} (instruction or llm)")


def write_summary(run_dir: Path, meta: dict[str, Any]) -> Path:
    """run.json and report.html (the run's facts above the step table of index.html), both atomically."""
    write_atomic(run_dir / RUN_META, json.dumps(meta, indent=1).encode())
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in meta.items()
                   if k not in ("started_at",))
    summary = f'<table class="summary">{rows}</table><p><a href="{RUN_META}">run.json</a></p>'
    build_report(run_dir)  # index.html: the step table alone
    return build_report(run_dir, summary, name=SUMMARY_REPORT)


def _outcome(log: EpisodeLog, stopped: bool, timed_out: bool, config: AgentConfig) -> tuple[bool, str, str]:
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
    act = last.action
    if act.get("action") == "call_user":
        return False, "needs_user", str(act.get("question", ""))
    ok = bool(act.get("success", True))
    summary = str(act.get("summary") or ("finished" if ok else "gave up"))
    if not ok and summary.startswith("unverified"):  # every step taken, but the screen did not show them all
        return False, "unverified", summary
    return ok, "done" if ok else "failed", summary


class Agent:
    """Runs tasks on one display; loads the OCR and the policy once (the voice tool keeps one Agent)."""

    def __init__(self, config: AgentConfig | None = None) -> None:
        self.config = config or AgentConfig()
        self._grounder: Grounder | None = None
        self._policy: Policy | None = None
        self._backend: PyAutoGUIBackend | None = None
        self.typed = False  # a run typed text nothing has submitted yet: Enter in the next run submits it

    def load(self) -> "Agent":
        """Load the OCR and the policy now (else on the first run)."""
        from omnirt.agents.grounding import Grounder, GroundingOptions, load_detector

        if self._policy is None:
            self._policy = make_policy(self.config.policy, self.config.thinker, self.config.encoder,
                                       fallback=self.config.fallback)
        if self._grounder is None:
            try:
                self._grounder = Grounder(GroundingOptions(scale=self.config.scale), detector=load_detector())
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

    def run(self, task: str, stop: threading.Event | None = None, on_step: Callable[[AgentStep], None] | None = None,
            confirm: Callable[[Any, str], bool | None] | None = None) -> AgentRun:
        """Do `task` on the display; `stop` ends the run before its next step (the voice session's barge-in);
        `on_step` gets each step once it is recorded; `confirm`: this run's confirmation callback (else
        config.confirm; see safety.Confirm)."""
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
            self._backend = input_backend(display, self._backend)
            log, timed_out = self._recorded_episode(screen, region, task, run_dir, meta, stop, on_step, confirm)
            ok, status, summary = _outcome(log, bool(stop is not None and stop.is_set()), timed_out, c)
            meta.update(status=status, ok=ok, summary=summary, steps=len(log.steps), seconds=log.seconds)
            write_summary(run_dir, meta)
            return AgentRun(task, run_dir, ok, status, summary, log.steps, log.seconds)
        finally:
            screen.close()

    def _recorded_episode(self, screen: Screen, region: Box, task: str, run_dir: Path, meta: dict[str, Any],
                          stop: threading.Event | None, on_step: Callable[[AgentStep], None] | None,
                          confirm: Callable[[Any, str], bool | None] | None) -> tuple[EpisodeLog, bool]:
        """The loop on `task`, each step recorded (and the run's summary rewritten) as it ends; (log, whether the
        time limit ended it)."""
        from omnirt.agents.executor import Executor
        from omnirt.agents.loop import LoopOptions, run_episode
        from omnirt.agents.safety import SafetyPolicy
        from omnirt.agents.trajectory import Recorder

        c = self.config
        assert self._grounder is not None and self._policy is not None and self._backend is not None
        safety = SafetyPolicy(allowed_region=region, confirm=confirm or c.confirm, max_steps=c.max_steps,
                              max_seconds=c.max_seconds, dry_run=c.dry_run, typed=self.typed)
        t0 = time.monotonic()
        timed_out = False

        def is_done() -> bool:  # checked before each step: a stop request or the time limit ends the run there
            nonlocal timed_out
            timed_out = time.monotonic() - t0 > c.max_seconds
            return bool(stop is not None and stop.is_set()) or timed_out

        with Recorder(run_dir, report=False) as rec:  # write_summary builds index.html itself
            def recorded(step: AgentStep) -> None:
                rec.record_step(step)
                write_summary(run_dir, meta)
                if on_step is not None:
                    on_step(step)

            write_summary(run_dir, meta)
            try:
                log = run_episode(screen, self._grounder, self._policy, Executor(safety, self._backend),
                                  LoopOptions(region=region, max_steps=c.max_steps, settle=c.settle), task,
                                  is_done=is_done, on_step=recorded)
            finally:
                self.typed = safety.typed
        return log, timed_out
