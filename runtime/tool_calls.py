"""Tool calls in a voice session: a spoken request that a tool claims is carried out by the tool, not answered.

`ToolStage` sits between ASR and the Thinker. Each final Transcript is offered to every tool (`claims(text)`, a cheap
deterministic test); the highest score above 0 wins, ties go to the tool registered first. Anything unclaimed passes
through untouched. A claimed turn goes like this:

1. Wait for the turn's `Commit`. A tool ACTS (it may click on the screen), so it never starts on a speculative
   transcript the user may still extend; an Interrupt while waiting drops the request and the redone transcript is
   judged afresh.
2. Emit `ToolCall`, a final Transcript naming the tool: transports show it as the user's words like any transcript,
   and `ToolAwareThinker` passes it on without answering it.
3. Emit the announcement ("I'll click Submit. ") as a TextDelta: the Talker speaks it while the tool works.
4. Run the tool. `say(text)` reports progress from any thread (ToolProgress frames: shown, not spoken).
5. Emit the outcome sentence as a TextDelta, a `ToolOutcome`, and the whole reply as TextDone.

A tool may answer that the request needs the user's yes first (`ToolResult.ask`: it did nothing). If the user's next
final words are a plain yes (`is_yes`), the same request runs again, marked `confirmed`; any other words drop it.
Consent is spoken by the user, turn by turn; nothing a tool reads (the screen) can give it.

An `Interrupt` (barge-in) cancels the stage's work in flight, and with it the tool's `run`; a tool that works in a
thread must stop at its next safe point and wait for the thread before it lets the cancellation through, so two runs
never overlap. `ToolAwareThinker` keeps the exchange (the request and what was said about it) in the conversation,
so a later question ("did it work?") has the context; like any answer, an interrupted one keeps what was said.

This module knows no particular tool: tools/agent_tool.py adapts the computer-use agent to `Tool`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Protocol, Sequence

from .frames import Commit, ErrorFrame, Frame, TextDelta, TextDone, Transcript
from .stage import Stage
from .thinker import Exchange, ThinkerStage

Say = Callable[[str], None]  # thread-safe: queue a progress note for the user


@dataclass(frozen=True)
class ToolRequest:
    """What the user said (`text`, as transcribed) in turn `turn`. confirmed: the user has just said yes to the
    confirmation this tool asked for this request (the request is the earlier one; `turn` is the yes)."""

    text: str
    turn: int = 0
    confirmed: bool = False


@dataclass(frozen=True)
class ToolResult:
    """ok: the tool did what was asked. summary: the outcome sentence the assistant speaks ("Done: clicked Submit.").
    details: anything for logs and tests (e.g. the agent's run folder). ask: the tool did nothing yet because the
    request needs the user's yes; the summary asks for it, and if the user's next words are a plain yes the same
    request runs again with `confirmed` (anything else drops it)."""

    ok: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    ask: bool = False


_YES = re.compile(r"(yes|yeah|yep|sure|ok|okay|confirm(ed)?|go ahead|do it|please do|yes please|"
                  r"(yes|yeah|ok|okay)\W+(go ahead|do it|please|confirm(ed)?))", re.I)


def is_yes(text: str) -> bool:
    """Whether words are a plain yes (nothing else: "yes, but click Cancel" is not consent to the earlier request)."""
    return bool(_YES.fullmatch(re.sub(r"[\s.,!]+$", "", text.strip())))


class Tool(Protocol):
    """name and description: for people and logs. claims: 0/False (not mine) or a score in (0, 1]; must be quick,
    deterministic and side-effect free (it sees every final transcript). announce: the sentence said before running.
    run: do it; may call `say` (from any thread) with progress; cancellation must stop it cleanly."""

    name: str
    description: str

    def claims(self, text: str) -> bool | float: ...

    def announce(self, request: ToolRequest) -> str: ...

    async def run(self, request: ToolRequest, say: Say) -> ToolResult: ...


@dataclass(frozen=True, kw_only=True)
class ToolCall(Transcript):
    """The user's final transcript, claimed by `tool`: shown like any transcript, not answered by the Thinker."""

    tool: str = ""


@dataclass(frozen=True, kw_only=True)
class ToolProgress(Frame):
    """A progress note from a running tool (for displays and logs; not spoken)."""

    tool: str
    text: str


@dataclass(frozen=True, kw_only=True)
class ToolOutcome(Frame):
    """How a tool call ended (also spoken: `summary` is the outcome sentence)."""

    tool: str
    ok: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def _score(tool: Any, text: str) -> float:
    try:
        s = tool.claims(text)
    except Exception:  # noqa: BLE001 - a broken claim test must not cost the user their turn
        return 0.0
    return float(s) if s is not True else 1.0


def claimant(tools: Sequence[Tool], text: str) -> Tool | None:
    """The tool that claims `text` with the highest score (> 0), the first registered on a tie; None if none does."""
    best, best_score = None, 0.0
    for t in tools:
        s = _score(t, text)
        if s > best_score:
            best, best_score = t, s
    return best


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else text + "."


class ToolStage(Stage):
    """Routes claimed final transcripts to their tool (see the module doc). wait_for_commit: False for pipelines
    without a VAD (no Commit ever comes); turn 0 never waits."""

    def __init__(self, tools: Sequence[Tool], wait_for_commit: bool = True, name: str = "tools") -> None:
        super().__init__(name)
        self.tools = list(tools)
        self.wait_for_commit = wait_for_commit
        self.committed: set[int] = set()
        self._commits: dict[int, asyncio.Event] = {}
        self._asked: tuple[Any, ToolRequest] | None = None  # a request awaiting the user's yes (the next turn only)

    def _commit_event(self, turn: int) -> asyncio.Event:
        ev = self._commits.setdefault(turn, asyncio.Event())
        if turn in self.committed:
            ev.set()
        return ev

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, Commit):
            self.committed = {t for t in self.committed if t > frame.turn - 8} | {frame.turn}
            self._commit_event(frame.turn).set()
            for t in [t for t in self._commits if t < frame.turn - 8]:
                del self._commits[t]
            yield frame
            return
        tool, request = None, None
        if isinstance(frame, Transcript) and frame.final and not isinstance(frame, ToolCall) and frame.text.strip():
            asked, self._asked = self._asked, None
            if asked is not None and is_yes(frame.text):
                tool, request = asked[0], ToolRequest(asked[1].text, frame.turn, confirmed=True)
            else:
                tool = claimant(self.tools, frame.text)
        if tool is None:
            yield frame
            return
        if self.wait_for_commit and frame.turn > 0:
            await self._commit_event(frame.turn).wait()  # an Interrupt cancels this wait: the request is dropped
        async for out in self._call(tool, frame, request):
            yield out

    async def _call(self, tool: Any, frame: Transcript, request: ToolRequest | None = None) -> AsyncIterator[Frame]:
        turn, name = frame.turn, tool.name
        request = request or ToolRequest(frame.text, turn)
        yield ToolCall(text=frame.text, tool=name, turn=turn)
        try:
            announcement = _sentence(tool.announce(request))
        except Exception as err:  # noqa: BLE001 - the turn still gets its run and its outcome
            yield ErrorFrame(stage=self.name, message=f"tool {name}: announce failed: {err}".splitlines()[0], turn=turn)
            announcement = "I'll do that."
        said = [announcement]
        yield TextDelta(text=announcement + " ", turn=turn)
        loop = asyncio.get_running_loop()
        notes: asyncio.Queue[str] = asyncio.Queue()

        def say(text: str) -> None:
            loop.call_soon_threadsafe(notes.put_nowait, text)

        task = loop.create_task(tool.run(request, say))
        getter: asyncio.Task | None = None
        try:
            while True:
                getter = loop.create_task(notes.get())
                done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()  # at once: no note may be taken off the queue and then dropped
                    break
                yield ToolProgress(tool=name, text=getter.result(), turn=turn)
            while not notes.empty():
                yield ToolProgress(tool=name, text=notes.get_nowait(), turn=turn)
            try:
                result = task.result()
            except Exception as err:  # noqa: BLE001 - a failing tool costs one turn, not the session
                reason = f"{type(err).__name__}: {err}".splitlines()[0]
                yield ErrorFrame(stage=self.name, message=f"tool {name} failed: {reason}", turn=turn)
                result = ToolResult(False, f"Sorry, that did not work: {reason}.")
        finally:
            if getter is not None:
                getter.cancel()
            if not task.done():  # cancelled (barge-in): let the tool stop cleanly before the next turn runs
                task.cancel()
                await asyncio.wait({task})
        if result.ask and not request.confirmed:
            self._asked = (tool, request)
        summary = _sentence(result.summary)
        said.append(summary)
        yield TextDelta(text=summary, turn=turn)
        yield ToolOutcome(tool=name, ok=result.ok, summary=summary, details=dict(result.details), turn=turn)
        yield TextDone(text=" ".join(said), turn=turn)


class ToolAwareThinker(ThinkerStage):
    """The Thinker for a session with tools: it does not answer a ToolCall, but keeps it in the conversation with
    the words the tool stage said about it (streamed TextDelta, then TextDone), as it does for its own answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tool_turns: dict[int, Exchange] = {}

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, ToolCall):
            self.exchanges = [ex for ex in self.exchanges if ex.turn != frame.turn]  # a redone turn
            self._trim_history()
            ex = self.tool_turns[frame.turn] = Exchange(frame.turn, frame.text)
            self.exchanges.append(ex)
            for t in [t for t in self.tool_turns if t < frame.turn - 8]:
                del self.tool_turns[t]
            yield frame
            return
        ex = self.tool_turns.get(frame.turn) if isinstance(frame, (TextDelta, TextDone)) else None
        if ex is not None:  # the tool stage speaking about its call (the Thinker's own deltas start below it)
            ex.answer = frame.text.strip() if isinstance(frame, TextDone) else ex.answer + frame.text
            yield frame
            return
        async for out in super().process(frame):
            yield out


__all__ = ["Say", "Tool", "ToolAwareThinker", "ToolCall", "ToolOutcome", "ToolProgress", "ToolRequest", "ToolResult",
           "ToolStage", "claimant"]
