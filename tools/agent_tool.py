"""The computer-use agent as a voice-session tool (runtime.tool_calls.Tool): "computer, click Submit" is done, not answered.

Claiming is deterministic (no model), and errs on the side of leaving speech to the Thinker:
1. Wake phrase: an utterance that starts with "computer" (or "hey/ok computer"), followed by a request, is always
   claimed (score 1.0); the request is the rest.
2. Direct command: otherwise an utterance is claimed (score 0.8) only if it is not a question (no "?", no question
   word first), starts (after an optional "please") with a verb that only makes sense on a screen - click,
   double-click, tap, type, press - or with check/uncheck/tick/select when it also names a widget (box, checkbox,
   option, button, field, link, tab), AND the instruction policy can parse it into steps. So "click the OK button"
   is claimed; "what's the capital of France?" and "check the weather in Paris" are not.

Announcement and outcome are phrased from the steps the instruction policy parsed ("I'll click OK." / "Done:
clicked OK." / "I couldn't click OK because I can't see OK on the screen."), or from the request itself when it does
not parse (LLM policy). The agent runs in a worker thread; a barge-in stops it before its next step, and the tool
waits for that, so two runs never overlap (a lock also keeps two sessions off one screen). Each run is recorded
like `omnirt agent` runs (runs/<timestamp>/).

Any audio that reaches a session can speak a command, so the tool acts only where the user works and asks before
anything consequential:
- the pointer (and the capture) stay inside the window that has the keyboard focus when the run starts
  (`focused_window`), unless the AgentConfig gives a region: that is how a user widens it, explicitly;
- what the safety layer would not run without a person's yes (Enter after typing, a newline in typed text, window-
  or app-level chords such as ctrl+l or alt+f4) is not done: the keyboard steps of a parsed command are judged
  before the run starts, and anything else met during the run is deferred (the confirm callback answers None), so
  the result tells the Thinker, and the user hears, that the action awaits the user's confirmation. Asked before
  the run, a spoken yes as the user's next words runs the command with a yes to exactly the actions they heard of
  (runtime/tool_calls.py ToolStage); nothing on the screen is ever taken as that confirmation.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import os
import re
import threading
from typing import Any

from omnirt.agents.actions import action_to_json
from omnirt.agents.agent import Agent, AgentConfig, AgentError, AgentRun, display_name
from omnirt.agents.policies import Step, keyboard_action, parse
from omnirt.agents.safety import PENDING, SafetyPolicy
from omnirt.agents.screen import Box
from omnirt.runtime.tool_calls import Say, ToolRequest, ToolResult

from .agent_cmd import step_line

WAKE = re.compile(r"^(?:(?:hey|ok|okay)[,\s]+)?computer\b[\s,.:;!-]*(?P<rest>.*)$", re.I | re.S)
QUESTION_WORDS = {"what", "whats", "what's", "who", "whom", "whose", "when", "where", "why", "how", "which", "is",
                  "are", "can", "could", "would", "should", "do", "does", "did", "will", "shall", "may", "might"}
SCREEN_VERBS = {"click", "double-click", "doubleclick", "tap", "type", "press"}
BOX_VERBS = {"check", "uncheck", "tick", "untick", "select"}
WIDGET_WORDS = re.compile(r"\b(box|checkbox|check box|option|button|field|link|tab)s?\b", re.I)


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text.lower())


def command_of(text: str, wake: bool = True) -> tuple[str, float]:
    """(the request for the agent, claim score) for an utterance; score 0 when it is not for the agent."""
    text = " ".join(text.split())
    m = WAKE.match(text) if wake else None
    if m:
        rest = m.group("rest").strip()
        return (rest, 1.0) if _words(rest) else ("", 0.0)
    words = _words(text)
    if not words or text.rstrip().endswith("?") or words[0] in QUESTION_WORDS:
        return "", 0.0
    if words[0] == "please":
        text, words = re.sub(r"^please[\s,]*", "", text, flags=re.I), words[1:]
    if not words:
        return "", 0.0
    verb = words[0]
    direct = verb in SCREEN_VERBS or (verb in BOX_VERBS and WIDGET_WORDS.search(text) is not None)
    if direct and parse(text):
        return text, 0.8
    return "", 0.0


def _phrase(step: Step, past: bool) -> str:
    if step.op == "click":
        return ("clicked " if past else "click ") + (step.target or f"the {(step.kinds or ['button'])[0]}")
    if step.op == "focus":
        return ("clicked" if past else "click") + f" into the {step.target + ' ' if step.target else 'text '}field"
    if step.op == "type":
        return ("typed" if past else "type") + f' "{step.text}"'
    if step.op == "key":
        return ("pressed " if past else "press ") + step.text
    if step.op == "close":
        return "closed the dialog" if past else "close the dialog"
    if step.op == "scroll":
        return ("scrolled " if past else "scroll ") + step.text + (f" in the {step.target}" if step.target else "")
    return step.op


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _bare(command: str) -> str:
    c = command.strip().rstrip(".!")
    return c[:1].lower() + c[1:]


def describe(command: str, past: bool = False) -> str:
    """What the agent will do (or did) for `command`, from the instruction policy's parse of it."""
    steps = parse(command)
    return _join([_phrase(s, past) for s in steps]) if steps else _bare(command)


def why(run: AgentRun, command: str) -> str:
    """A spoken reason for a failed run."""
    if run.status == "failed":
        if run.summary.startswith("no element"):
            acted = [s for s in run.steps if s.action.get("action") not in ("wait", "done", None)]
            steps = parse(command)
            step = steps[len(acted)] if len(acted) < len(steps) else None
            target = step.target if step is not None and step.target else "what you meant"
            return f"I can't see {target} on the screen"
        if run.summary.startswith("instruction not understood"):
            return "I did not understand the request"
        return run.summary
    return {"denied": f"the safety layer refused it: {run.summary}",
            "needs_confirmation": f"{run.summary.removesuffix(PENDING)}, and that awaits your confirmation",
            "timeout": "it took too long",
            "max_steps": "it needed more steps than I'm allowed", "needs_user": f"I need you first: {run.summary}",
            "stopped": "I was stopped"}.get(run.status, run.summary)


def focused_window(display: str) -> Box | None:
    """(x0, y0, x1, y1) of the window with the keyboard focus on `display`: the window manager's _NET_ACTIVE_WINDOW
    (the application's own window, without the frame and its close button), else the top-level window that has X's
    input focus, else (focus follows the pointer) the one under the pointer; None when no window has it."""
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.error import XError

    if not os.environ.get("XAUTHORITY") and not os.path.exists(os.path.expanduser("~/.Xauthority")):
        os.environ["XAUTHORITY"] = os.devnull  # as the executor does: python-xlib raises without an auth file
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # python-xlib prints its Xauthority warnings on stdout
            d = xdisplay.Display(display)
    except Exception as e:  # noqa: BLE001 - Xlib's connection errors have many types
        raise AgentError(f"cannot open display {display}: {type(e).__name__}: {e}") from None
    try:
        root = d.screen().root
        win: Any = None
        atom = d.intern_atom("_NET_ACTIVE_WINDOW", only_if_exists=True)
        prop = root.get_full_property(atom, X.AnyPropertyType) if atom else None
        if prop is not None and len(prop.value) and prop.value[0]:
            win = d.create_resource_object("window", int(prop.value[0]))
        else:
            win = d.get_input_focus().focus  # X.NONE and X.PointerRoot come back as ints
            if isinstance(win, int) or win.id == root.id:
                win = root.query_pointer().child
            if isinstance(win, int) or win.id in (0, root.id):
                return None
            while (parent := win.query_tree().parent) and parent.id != root.id:  # up to the top-level window
                win = parent
        if win.get_attributes().map_state != X.IsViewable:
            return None
        g, at = win.get_geometry(), root.translate_coords(win, 0, 0)
        return at.x, at.y, at.x + g.width, at.y + g.height
    except XError:  # the window went away while we looked
        return None
    finally:
        d.close()


def _defer(action: Any, reason: str) -> None:
    """The voice tool's confirm callback: no answer now, so the action stays pending and is not performed."""
    return None


def _approving(heard: list[dict[str, Any]]) -> Any:
    """The confirm callback of a run the user said yes to: a yes to the actions they were told about, each once;
    anything else stays pending, as with _defer."""
    left = list(heard)

    def confirm(action: Any, reason: str) -> bool | None:
        js = action_to_json(action)
        if js in left:
            left.remove(js)
            return True
        return None

    return confirm


class AgentTool:
    """The computer-use agent on the current display (AgentConfig.display, else $DISPLAY) as a `Tool`. With no
    region in the config, the pointer may touch only the focused window (see the module's docstring)."""

    name = "computer"
    description = "does things on this computer's screen with the mouse and keyboard"

    def __init__(self, config: AgentConfig | None = None, agent: Agent | None = None, wake: bool = True) -> None:
        if agent is None:
            config = config or AgentConfig()
            if config.region is None and config.region_of is None:
                config = dataclasses.replace(config, region_of=focused_window)
            agent = Agent(config)
        self.agent = agent
        self.wake = wake
        self._busy = threading.Lock()

    def pending(self, command: str) -> list[tuple[Any, str]]:
        """The keyboard steps of `command` that need the user's yes, with the safety layer's reasons, judged in
        order as the run would meet them (pointer steps are judged during the run, against the region)."""
        asked: list[tuple[Any, str]] = []
        safety = SafetyPolicy(max_steps=None, max_seconds=None, typed=self.agent.typed,
                              confirm=lambda a, r: asked.append((a, r)) or True)
        for step in parse(command):
            action = keyboard_action(step)
            if action is not None:
                safety.check(action)
        return asked

    def load(self) -> "AgentTool":
        """Check that there is a display and load the OCR and the policy now, not on the first request."""
        display_name(self.agent.config.display)
        self.agent.load()
        return self

    def claims(self, text: str) -> float:
        return command_of(text, self.wake)[1]

    def command(self, text: str) -> str:
        return command_of(text, self.wake)[0] or text.strip()

    def announce(self, request: ToolRequest) -> str:
        command = self.command(request.text)
        if self.agent.config.confirm is None and not request.confirmed and self.pending(command):
            return f"Before I {describe(command)}, I need your confirmation."
        return f"I'll {describe(command)}." if parse(command) else f"I'll try to {_bare(command)}."

    async def run(self, request: ToolRequest, say: Say) -> ToolResult:
        command = self.command(request.text)
        stop = threading.Event()
        confirm = self.agent.config.confirm
        if confirm is None:  # no way to ask during the run: ask now, before anything is done
            asks = self.pending(command)
            if asks and not request.confirmed:
                pending = [{"action": action_to_json(a), "reason": r} for a, r in asks]
                return ToolResult(False, f"I haven't done it: {asks[0][1]}, and that needs your confirmation. "
                                         "Shall I go ahead? Say yes to confirm.",
                                  {"status": "needs_confirmation", "pending": pending, "steps": 0}, ask=True)
            confirm = _approving([action_to_json(a) for a, _ in asks]) if asks else _defer

        def work() -> AgentRun | None:
            if not self._busy.acquire(blocking=False):
                return None
            try:
                return self.agent.run(command, stop=stop, on_step=lambda s: say(step_line(s)), confirm=confirm)
            finally:
                self._busy.release()

        job = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            run = await asyncio.shield(job)
        except asyncio.CancelledError:
            stop.set()  # the agent stops before its next step; wait for it, so no run overlaps the next one
            await asyncio.wait({job})
            raise
        except AgentError as e:
            return ToolResult(False, f"I couldn't {describe(command)} because {e}.")
        if run is None:
            return ToolResult(False, "I couldn't do that because I am busy with another task on this screen.")
        details = {"run_dir": str(run.run_dir), "status": run.status, "steps": len(run.steps), "summary": run.summary}
        if run.status == "needs_confirmation":
            details["pending"] = [{"reason": run.summary}]
        if run.ok:
            dry = self.agent.config.dry_run
            return ToolResult(True, f"{'Dry run: I would have' if dry else 'Done:'} {describe(command, past=True)}.",
                              details)
        return ToolResult(False, f"I couldn't {describe(command)} because {why(run, command)}.", details)
