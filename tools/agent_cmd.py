"""`omnirt agent "TASK"`: the command line of the computer-use agent (omnirt.agents.agent) on the current display.

The task comes from the command line (not from the screen). The agent captures the whole screen of $DISPLAY (or
--region), grounds it (OCR, pixel heuristics and the learned widget detector), lets the policy decide (instruction
policy by default, handing over to the LLM policy of --fallback when it cannot parse or ground the task; --policy llm
for the LLM one alone) and acts through the safety layer, which denies by default: what needs a person's yes is
asked on the terminal only with --confirm (else it is denied). Key chords in the task ("press ctrl+alt+delete") are
keys, judged as keys. Each step is printed as it ends (a step the LLM fallback decided says so); every run is
recorded in runs/<timestamp>/ (or --record DIR), see omnirt.agents.agent.

`omnirt replay RUN` (tools/agent_replay.py) re-runs a recorded run's actions through a fresh safety layer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from omnirt.agents.agent import SUMMARY_REPORT, Agent, AgentConfig, AgentError
from omnirt.agents.screen import Box
from omnirt.agents.steps import AgentStep


def parse_region(text: str) -> Box:
    """'x,y,w,h' -> (x0, y0, x1, y1)."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise AgentError(f"--region wants x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise AgentError(f"--region {text}: width and height must be positive, x and y not negative")
    return x, y, x + w, y + h


# ---------------------------------------------------------------- printing

def describe_action(screen_action: Any, action: Any) -> str:
    """One short phrase for a step's action, in pointer coordinates where it has them (`screen_action`, resolved)
    and with the element it was given by (`action`, as the policy gave it). A recording may hold anything: neither
    is trusted to be what it should."""
    a = screen_action or action or {}
    given = action or {}
    if not isinstance(a, dict) or not isinstance(given, dict):
        return json.dumps(a, separators=(",", ":"), default=str)[:120]
    kind = a.get("action", "?")
    if "x" in a and "y" in a and kind != "scroll":
        el = f" {given['element']}" if given.get("element") else ""
        to = f" to ({a['to_x']}, {a['to_y']})" if "to_x" in a else ""
        return f"{kind}{el} at ({a['x']}, {a['y']}){to}"
    if kind == "type":
        return f"type {a.get('text', '')!r}"
    if kind == "hotkey":  # keys are shown, never trusted to be strings
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


def step_line(step: AgentStep) -> str:
    by = " [decided by the LLM fallback]" if step.decider == "llm" else ""
    return (f"step {step.index}: {describe_action(step.outcome.screen_action, step.outcome.action)} -> "
            f"{step.status} ({step.reason}) {step.timings.step_ms:.0f} ms{by}")


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
    p.add_argument("--fallback", default="0.5b",
                   help="--policy instruction: the LLM (0.5b, 1.5b or a URL) it hands over to when it cannot parse or "
                        "ground the task; 'none': no fallback")
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
                             thinker=args.thinker, fallback=None if args.fallback.lower() == "none" else args.fallback,
                             encoder=not args.no_encoder, scale=args.scale,
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


__all__ = ["add_arguments", "describe_action", "parse_region", "run", "step_line", "terminal_confirm"]
