"""Tool calls in the voice session: ToolStage routing (commit, pass-through, interrupt), the agent tool's claim rule,
and a real VoiceSession whose agent tool clicks a button in Chromium on a private Xvfb."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from choice_page import PAGE, wait_title, window_titles
from omnirt.runtime.frames import Commit, EndOfStream, Interrupt, TextDelta, TextDone, Transcript
from omnirt.runtime.stage import Pipeline
from omnirt.runtime.testing import run_test
from omnirt.runtime.tool_calls import (ToolAwareThinker, ToolCall, ToolOutcome, ToolProgress, ToolRequest, ToolResult,
                                  ToolStage, claimant)


class CountingTool:
    """Claims utterances starting with 'do '; reports progress from a worker thread, like the agent tool."""

    name, description = "counter", "counts"

    def __init__(self, score: float = 1.0) -> None:
        self.score, self.runs = score, []

    def claims(self, text: str) -> float:
        return self.score if text.lower().startswith("do ") else 0.0

    def announce(self, request: ToolRequest) -> str:
        return f"I'll {request.text}"

    async def run(self, request: ToolRequest, say) -> ToolResult:
        self.runs.append(request)

        def work() -> int:
            say("halfway")  # from another thread
            return len(request.text)

        n = await asyncio.to_thread(work)
        return ToolResult(True, f"Done: {n} characters", {"n": n})


class BlockingTool(CountingTool):
    """Works in a thread until told to stop (the agent's pattern: stop event, shield, wait for the thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.started, self.stop = threading.Event(), threading.Event()
        self.thread_done = threading.Event()

    async def run(self, request: ToolRequest, say) -> ToolResult:
        self.runs.append(request)

        def work() -> str:
            self.started.set()
            while not self.stop.wait(0.01):
                pass
            time.sleep(0.05)  # finishing its step
            self.thread_done.set()
            return "stopped"

        job = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            await asyncio.shield(job)
        except asyncio.CancelledError:
            self.stop.set()
            await asyncio.wait({job})
            raise
        return ToolResult(True, "finished")


async def collect(pipeline: Pipeline, out: list, until) -> None:
    async for f in pipeline.frames():
        out.append(f)
        if until(f):
            return


async def test_claimed_turn_is_announced_run_and_reported():
    tool = CountingTool()
    frames = [Transcript(text="do the thing", turn=1), Commit(turn=1)]
    out = await run_test(ToolStage([tool]), frames,
                         expected=[ToolCall, TextDelta, ToolProgress, TextDelta, ToolOutcome, TextDone],
                         ignore=(Commit,))
    call, announce, progress, outcome_text, outcome, done = [f for f in out if not isinstance(f, Commit)]
    assert call.text == "do the thing" and call.tool == "counter" and call.final and call.turn == 1
    assert announce.text == "I'll do the thing. "
    assert progress.text == "halfway"
    assert outcome_text.text == "Done: 12 characters." and outcome.ok and outcome.details == {"n": 12}
    assert done.text == "I'll do the thing. Done: 12 characters."
    assert all(f.turn == 1 for f in out)
    assert [r.text for r in tool.runs] == ["do the thing"]


async def test_unclaimed_frames_pass_untouched():
    tool = CountingTool()
    question = Transcript(text="What's the capital of France?", turn=1)
    partial = Transcript(text="do the", final=False, turn=2)  # partials are never claimed
    delta = TextDelta(text="Paris.", turn=1)
    out = await run_test(ToolStage([tool]), [question, partial, delta, Commit(turn=1)])
    assert [f for f in out if not isinstance(f, Commit)] == [question, partial, delta]
    assert all(a is b for a, b in zip([f for f in out if not isinstance(f, Commit)], [question, partial, delta]))
    assert tool.runs == []


async def test_best_claim_wins_and_a_broken_claim_is_no_claim():
    low, high = CountingTool(0.3), CountingTool(0.9)

    class Broken(CountingTool):
        def claims(self, text: str) -> float:
            raise RuntimeError("boom")

    assert claimant([low, Broken(), high], "do it") is high
    assert claimant([low, high], "say it") is None


async def test_tool_waits_for_the_commit():
    """A speculative transcript may still be extended by the user: the tool acts only once the turn is committed."""
    tool = CountingTool()
    out: list = []
    async with Pipeline([ToolStage([tool])]) as p:
        reader = asyncio.create_task(collect(p, out, lambda f: isinstance(f, TextDone)))
        await p.push(Transcript(text="do it", turn=3))
        await asyncio.sleep(0.2)
        assert tool.runs == [] and out == []
        await p.push(Commit(turn=3))
        await asyncio.wait_for(reader, 5)
    assert [type(f) for f in out if not isinstance(f, Commit)][:2] == [ToolCall, TextDelta] and len(tool.runs) == 1


async def test_interrupt_cancels_a_running_tool_cleanly():
    tool = BlockingTool()
    out: list = []
    async with Pipeline([ToolStage([tool])]) as p:
        reader = asyncio.create_task(collect(p, out, lambda f: isinstance(f, EndOfStream)))
        await p.push(Transcript(text="do a long thing", turn=1))
        await p.push(Commit(turn=1))
        assert await asyncio.to_thread(tool.started.wait, 5)
        await p.push(Interrupt(reason="barge-in", turn=1))
        assert await asyncio.to_thread(tool.thread_done.wait, 5), "the tool's thread was not stopped"
        # The stage goes on: the next claimed turn runs normally, after the cancelled one has finished.
        tool2 = CountingTool()
        p.stages[0].tools.insert(0, tool2)
        await p.push(Transcript(text="do more", turn=2))
        await p.push(Commit(turn=2))
        await p.push(EndOfStream())
        await asyncio.wait_for(reader, 5)
    turn1 = [f for f in out if f.turn == 1 and not isinstance(f, (Commit, Interrupt))]
    assert [type(f) for f in turn1] == [ToolCall, TextDelta], "nothing after the announcement of a cancelled call"
    assert any(isinstance(f, Interrupt) for f in out)
    assert [f.text for f in out if isinstance(f, TextDone)] == ["I'll do more. Done: 7 characters."]


class RefusingChat:
    """A chat backend for turns the Thinker must not answer: any call fails the test."""

    def stream(self, messages):
        raise AssertionError(f"the Thinker was asked: {messages}")


async def test_thinker_keeps_the_tool_exchange_without_answering_it():
    thinker = ToolAwareThinker(RefusingChat())
    frames = [Transcript(text="do the thing", turn=1), Commit(turn=1)]
    out = await run_test([ToolStage([CountingTool()]), thinker], frames, ignore=(Commit,))
    assert sum(isinstance(f, TextDone) for f in out) == 1
    assert thinker.history == [{"role": "user", "content": "do the thing"},
                               {"role": "assistant", "content": "I'll do the thing. Done: 12 characters."}]
    thinker.set_answer(1, "I'll do the thing.")  # a barge-in after the announcement: only that was heard
    assert thinker.history[-1]["content"] == "I'll do the thing."


def test_core_tools_module_imports_no_agent_model_or_transport():
    code = ("import sys, omnirt.runtime.tool_calls, omnirt.runtime.session; bad = [m for m in sys.modules if m.startswith("
            "('omnirt.agents', 'omnirt.models', 'omnirt.runtime.transports', 'omnirt.tools'))]; print(bad); "
            "sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- the agent tool's claim rule

CLAIMED = ["click the OK button", "Click the OK button.", "Computer, click Submit.", "hey computer, open the menu",
           "Please type hello into the name field and press enter.", "press enter", "tap Cancel",
           "check the I agree box"]
NOT_CLAIMED = ["What's the capital of France?", "what is the capital of France", "check the weather in Paris",
               "tell me a joke", "Can you click OK?", "Type A personality?", "Computer.", "thank you",
               "write me a poem", "select a good wine for dinner"]


@pytest.mark.parametrize("text", CLAIMED)
def test_agent_tool_claims_desktop_commands(text):
    from omnirt.tools.agent_tool import AgentTool

    assert AgentTool().claims(text) > 0


@pytest.mark.parametrize("text", NOT_CLAIMED)
def test_agent_tool_leaves_conversation_to_the_thinker(text):
    from omnirt.tools.agent_tool import AgentTool

    assert AgentTool().claims(text) == 0


def test_agent_tool_phrasing():
    from omnirt.tools.agent_tool import AgentTool, describe

    tool = AgentTool()
    assert tool.command("Computer, click Submit.") == "click Submit."
    assert tool.announce(ToolRequest("computer, click Submit")) == "I'll click Submit."
    assert describe("type Ada into the name field and press enter", past=True) == \
        'clicked into the name field, typed "Ada" and pressed enter'
    assert tool.announce(ToolRequest("computer, scroll down a bit")) == "I'll scroll down."  # how far is no place
    assert tool.announce(ToolRequest("computer, scroll to the top of the list")) == "I'll scroll up in the list."
    assert tool.announce(ToolRequest("computer, frobnicate the widget")) == "I'll try to frobnicate the widget."


# ---------------------------------------------------------------- a real session, a real screen

@pytest.mark.models
@pytest.mark.needs("Xvfb", "chromium", "xdotool")
async def test_voice_session_agent_tool_clicks_ok(tmp_path: Path):
    pytest.importorskip("rapidocr")
    from omnirt.agents.display import Desk
    from omnirt.models import registry
    from omnirt.runtime.session import Components, VoiceSession
    from omnirt.runtime.thinker import ThreadedChat
    from omnirt.agents.agent import AgentConfig
    from omnirt.tools.agent_tool import AgentTool

    page = tmp_path / "choice.html"
    page.write_text(PAGE)

    def components(tool: AgentTool) -> Components:
        """The real models; the Thinker is loaded but not warmed up (a claimed turn never reaches it)."""
        tool.load()
        return Components(detector=registry.load_vad(), recognizer=registry.load_asr(),
                          chat=ThreadedChat(registry.load_thinker("0.5b")), synthesizer=registry.load_talker("espeak"),
                          tools=[tool])

    with Desk(640, 400) as desk:
        browser = desk.page(page)
        try:
            assert "choice" in window_titles(desk.display.name)
            tool = AgentTool(AgentConfig(display=desk.display.name, runs_root=tmp_path / "runs"))
            session = VoiceSession(await asyncio.to_thread(components, tool))
            out: list = []
            async with session as pipeline:
                reader = asyncio.create_task(collect(pipeline, out, lambda f: type(f).__name__ == "SpeechDone"))
                await pipeline.push(Transcript(text="click the OK button", turn=1))
                await pipeline.push(Commit(turn=1))
                await asyncio.wait_for(reader, 60)
            assert wait_title(desk.display.name, "clicked OK"), window_titles(desk.display.name)
            # A barge-in while the agent works: it stops before its next step, and run() returns only then.
            first_step = threading.Event()
            job = asyncio.create_task(tool.run(ToolRequest("click Cancel, then click OK, then click Cancel, then "
                                                           "click OK, then click Cancel"), lambda t: first_step.set()))
            assert await asyncio.to_thread(first_step.wait, 30)
            job.cancel()
            with pytest.raises(asyncio.CancelledError):
                await job
            stopped = sorted((tmp_path / "runs").iterdir())[-1]
            meta = json.loads((stopped / "run.json").read_text())
            assert meta["status"] == "stopped" and meta["steps"] < 6, meta
        finally:
            browser.stop()
    done = [f for f in out if isinstance(f, TextDone)]
    assert len(done) == 1 and done[0].text.startswith("I'll click OK.") and "Done: clicked OK." in done[0].text
    assert any(isinstance(f, ToolCall) and f.text == "click the OK button" for f in out)
    assert any(type(f).__name__ == "AudioFrame" and f.turn == 1 for f in out), "the reply was not spoken"
    outcome = next(f for f in out if isinstance(f, ToolOutcome))
    assert outcome.ok and (Path(outcome.details["run_dir"]) / "steps.jsonl").is_file()
    assert session.thinker.history[0] == {"role": "user", "content": "click the OK button"}
    assert "Done: clicked OK." in session.thinker.history[1]["content"]


# ---------------------------------------------------------------- issue 17 row 5: confirmation and a default region

class FakeAgent:
    """Stands in for the agent: records what it was asked to run (and with which confirm callback)."""

    def __init__(self, status: str = "done", summary: str = "all steps taken") -> None:
        from omnirt.agents.agent import AgentConfig

        self.config, self.status, self.summary, self.runs, self.typed = AgentConfig(), status, summary, [], False

    def run(self, task, stop=None, on_step=None, confirm=None):
        from omnirt.agents.agent import AgentRun

        self.runs.append((task, confirm))
        return AgentRun(task, Path("runs/fake"), self.status == "done", self.status, self.summary)


@pytest.mark.parametrize("text", ['computer, type "rm -rf /" into the terminal and press enter',
                                  'type "ls" into the command field and press enter', "computer, press ctrl+shift+t",
                                  "press ctrl+l", "computer, press alt+f4", 'computer, type "hello" and press return'])
async def test_agent_tool_asks_before_submitting_or_a_window_chord(text):
    """Nothing is done: the Thinker is told (and the user hears) that the action awaits the user's confirmation."""
    from omnirt.tools.agent_tool import AgentTool

    agent = FakeAgent()
    result = await AgentTool(agent=agent).run(ToolRequest(text), lambda s: None)
    assert agent.runs == [], "the agent acted before the user confirmed"
    assert not result.ok and result.details["status"] == "needs_confirmation", result
    assert "confirmation" in result.summary and "\n" not in result.summary and result.details["pending"]


async def test_agent_tool_defers_what_only_shows_up_mid_run():
    """What no plan shows in advance (an LLM policy's chord) is asked of a callback that defers: the run stops there
    and the result says the action awaits the user's confirmation."""
    from omnirt.agents.actions import Hotkey
    from omnirt.tools.agent_tool import AgentTool

    ok = FakeAgent()
    result = await AgentTool(agent=ok).run(ToolRequest("click the OK button"), lambda s: None)
    assert result.ok and len(ok.runs) == 1
    pending = FakeAgent("needs_confirmation", "ctrl+l is a window- or app-level key chord; awaits the user's "
                                              "confirmation")
    result = await AgentTool(agent=pending).run(ToolRequest("computer, open the address bar"), lambda s: None)
    (task, confirm), = pending.runs
    assert confirm is not None and confirm(Hotkey(keys=["ctrl", "l"]), "chord") is None  # deferred, never a yes
    assert not result.ok and "confirmation" in result.summary and result.details["status"] == "needs_confirmation"


@pytest.mark.needs("Xvfb")
def test_agent_tool_pointer_defaults_to_the_focused_window():
    from Xlib import X
    from Xlib import display as xdisplay

    from omnirt.agents.display import VirtualDisplay
    from omnirt.agents.agent import Agent, AgentConfig, AgentError
    from omnirt.tools.agent_tool import AgentTool, focused_window

    full = (0, 0, 640, 400)
    with VirtualDisplay(640, 400) as vd:
        tool = AgentTool(AgentConfig(display=vd.name))
        assert focused_window(vd.name) is None
        with pytest.raises(AgentError, match="no window"):
            tool.agent.pointer_region(vd.name, full)
        d = xdisplay.Display(vd.name)
        try:
            win = d.screen().root.create_window(50, 60, 200, 100, 0, X.CopyFromParent)
            win.map()
            d.sync()
            win.set_input_focus(X.RevertToParent, X.CurrentTime)
            d.sync()
            assert focused_window(vd.name) == (50, 60, 250, 160)
            other = d.screen().root.create_window(300, 200, 100, 50, 0, X.CopyFromParent)
            other.map()
            active = d.intern_atom("_NET_ACTIVE_WINDOW")  # a window manager names the active window
            d.screen().root.change_property(active, d.intern_atom("WINDOW"), 32, [other.id])
            d.sync()
            assert focused_window(vd.name) == (300, 200, 400, 250)
            d.screen().root.delete_property(active)
            d.sync()
            assert tool.agent.pointer_region(vd.name, full) == (50, 60, 250, 160)
            wide = AgentTool(AgentConfig(display=vd.name, region=full))  # widened explicitly by the user
            assert wide.agent.pointer_region(vd.name, full) == full
            assert Agent(AgentConfig(display=vd.name)).pointer_region(vd.name, full) == full  # omnirt agent: screen
        finally:
            d.close()


class AskingTool(CountingTool):
    """Claims 'do ...'; needs the user's yes before it acts."""

    async def run(self, request: ToolRequest, say) -> ToolResult:
        self.runs.append(request)
        if not request.confirmed:
            return ToolResult(False, "That needs your yes", ask=True)
        return ToolResult(True, f"Done: {request.text}")


async def test_a_spoken_yes_runs_the_request_that_asked_for_it_and_nothing_else_does():
    from omnirt.runtime.tool_calls import is_yes

    assert is_yes("Yes.") and is_yes("okay, go ahead!") and is_yes("Go ahead")
    assert not is_yes("yes, but click cancel") and not is_yes("no") and not is_yes("what was that?")
    tool = AskingTool()
    frames = [Transcript(text="do delete the file", turn=1), Commit(turn=1),
              Transcript(text="Yes, go ahead.", turn=2), Commit(turn=2),
              Transcript(text="yes", turn=3), Commit(turn=3)]  # a second yes has nothing left to confirm
    out = await run_test(ToolStage([tool]), frames, ignore=(Commit, ToolProgress))
    assert [(r.text, r.turn, r.confirmed) for r in tool.runs] == [("do delete the file", 1, False),
                                                                  ("do delete the file", 2, True)]
    outcomes = [f for f in out if isinstance(f, ToolOutcome)]
    assert [o.ok for o in outcomes] == [False, True] and outcomes[1].turn == 2
    assert [f.text for f in out if type(f) is Transcript] == ["yes"]  # the third turn goes to the Thinker

    tool = AskingTool()
    frames = [Transcript(text="do delete the file", turn=1), Commit(turn=1),
              Transcript(text="no, leave it", turn=2), Commit(turn=2), Transcript(text="yes", turn=3), Commit(turn=3)]
    out = await run_test(ToolStage([tool]), frames, ignore=(Commit, ToolProgress))
    assert len(tool.runs) == 1, "anything but a yes drops the request"


async def test_agent_tool_runs_after_a_yes_with_only_what_the_user_heard_of_approved():
    from omnirt.agents.actions import Hotkey, Type
    from omnirt.tools.agent_tool import AgentTool

    agent = FakeAgent()
    tool = AgentTool(agent=agent)
    text = 'computer, type "ls" into the command field and press enter'
    asked = await tool.run(ToolRequest(text, 1), lambda s: None)
    assert asked.ask and not agent.runs and "Say yes" in asked.summary
    assert tool.announce(ToolRequest(text, 2, confirmed=True)).startswith("I'll ")
    done = await tool.run(ToolRequest(text, 2, confirmed=True), lambda s: None)
    (task, confirm), = agent.runs
    assert done.ok and not done.ask
    assert confirm(Hotkey(keys=["enter"]), "enter after typing") is True  # what the user was told about, once
    assert confirm(Hotkey(keys=["enter"]), "enter after typing") is None
    assert confirm(Hotkey(keys=["ctrl", "l"]), "chord") is None  # never heard of: stays pending
    assert confirm(Type(text="rm -rf /\n"), "newline") is None
