"""The computer-use agent as a voice-session tool (runtime.tools.Tool): "computer, click Submit" is done, not answered.

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
"""

from __future__ import annotations

import asyncio
import re
import threading

from omnirt.agents.policies import Step, parse
from omnirt.runtime.tools import Say, ToolRequest, ToolResult

from .agent_cmd import Agent, AgentConfig, AgentError, AgentRun, display_name, step_line

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
            acted = [s for s in run.steps if (s.get("action") or {}).get("action") not in ("wait", "done", None)]
            steps = parse(command)
            step = steps[len(acted)] if len(acted) < len(steps) else None
            target = step.target if step is not None and step.target else "what you meant"
            return f"I can't see {target} on the screen"
        if run.summary.startswith("instruction not understood"):
            return "I did not understand the request"
        return run.summary
    return {"denied": f"the safety layer refused it: {run.summary}", "timeout": "it took too long",
            "max_steps": "it needed more steps than I'm allowed", "needs_user": f"I need you first: {run.summary}",
            "stopped": "I was stopped"}.get(run.status, run.summary)


class AgentTool:
    """The computer-use agent on the current display (AgentConfig.display, else $DISPLAY) as a `Tool`."""

    name = "computer"
    description = "does things on this computer's screen with the mouse and keyboard"

    def __init__(self, config: AgentConfig | None = None, agent: Agent | None = None, wake: bool = True) -> None:
        self.agent = agent or Agent(config)
        self.wake = wake
        self._busy = threading.Lock()

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
        return f"I'll {describe(command)}." if parse(command) else f"I'll try to {_bare(command)}."

    async def run(self, request: ToolRequest, say: Say) -> ToolResult:
        command = self.command(request.text)
        stop = threading.Event()

        def work() -> AgentRun | None:
            if not self._busy.acquire(blocking=False):
                return None
            try:
                return self.agent.run(command, stop=stop, on_step=lambda s: say(step_line(s)))
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
        if run.ok:
            dry = self.agent.config.dry_run
            return ToolResult(True, f"{'Dry run: I would have' if dry else 'Done:'} {describe(command, past=True)}.",
                              details)
        return ToolResult(False, f"I couldn't {describe(command)} because {why(run, command)}.", details)
