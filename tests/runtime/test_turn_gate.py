"""The turn gate: a speculative turn's reply is held until its Commit, which overtakes busy stages."""

import asyncio

import numpy as np

from omnirt.runtime.clock import now
from omnirt.runtime.frames import AudioFrame, Commit, EndOfStream, Interrupt, TextDelta, TextDone, Transcript
from omnirt.runtime.stage import Pipeline, Stage
from omnirt.runtime.turn import TurnGate


def audio(turn):
    return AudioFrame(pcm=np.zeros(160, np.int16), sample_rate=16000, turn=turn)


async def through(gate, frames):
    """Each frame's output, frame by frame (the gate's logic without a pipeline's overtaking)."""
    return [[o.kind for o in [x async for x in gate.process(f)]] for f in frames]


async def test_holds_until_commit_and_keeps_order():
    frames = [Transcript(text="q", turn=1), TextDelta(text="a", turn=1), audio(1), Commit(turn=1), audio(1)]
    assert await through(TurnGate(), frames) == [
        [], [], [], ["Transcript", "TextDelta", "AudioFrame", "Commit"], ["AudioFrame"]]


async def test_interrupt_drops_held_reply_and_other_turns_pass():
    frames = [TextDelta(text="a", turn=1), audio(1), Interrupt(reason="resume", turn=1), TextDelta(text="b", turn=1),
              Commit(turn=1), audio(0)]
    assert await through(TurnGate(), frames) == [[], [], ["Interrupt"], [], ["TextDelta", "Commit"], ["AudioFrame"]]


async def test_in_a_pipeline_nothing_leaves_before_the_commit():
    async with Pipeline([TurnGate()]) as p:
        for f in (Transcript(text="q", turn=2), TextDelta(text="a", turn=2), audio(2)):
            await p.push(f)
        await asyncio.sleep(0.05)
        assert len(p.output) == 0
        await p.push(Commit(turn=2))
        await p.push(EndOfStream())
        kinds = [f.kind async for f in p.frames()]
    # the Commit itself is a control frame: at the output it is served before queued data
    assert [k for k in kinds if k != "Commit"] == ["Transcript", "TextDelta", "AudioFrame", "EndOfStream"]
    assert "Commit" in kinds


class SlowThinker(Stage):
    async def process(self, frame):
        yield frame
        if isinstance(frame, Transcript):
            for i in range(20):
                await asyncio.sleep(0.02)
                yield TextDelta(text=str(i), turn=frame.turn)
            yield TextDone(text="", turn=frame.turn)


async def test_commit_overtakes_a_busy_stage():
    gate = TurnGate()
    async with Pipeline([SlowThinker(), gate]) as p:
        await p.push(Transcript(text="q", turn=1))
        await asyncio.sleep(0.1)  # the Thinker is mid-answer
        await p.push(Commit(turn=1))
        got = []
        async for f in p.frames():
            got.append((now(), f))
            if isinstance(f, TextDone):
                await p.push(EndOfStream())
    kinds = [f.kind for _, f in got]
    assert kinds.index("Commit") < kinds.index("TextDone"), "the commit waited behind the Thinker's answer"
    assert kinds.index("Commit") < kinds.index("TextDone")
    deltas = [int(f.text) for _, f in got if isinstance(f, TextDelta)]
    assert deltas == list(range(20))  # released then streamed, in order


async def test_a_finished_sentence_is_released_when_the_pause_settles():
    from omnirt.runtime.frames import Settled

    gate = TurnGate()
    frames = [Transcript(text="What is the capital of France?", turn=1), TextDelta(text="Paris", turn=1),
              Settled(turn=1), audio(1), Commit(turn=1)]
    assert await through(gate, frames) == [[], [], ["Transcript", "TextDelta", "Settled"], ["AudioFrame"], ["Commit"]]
    assert gate.early == {1}


async def test_an_unfinished_sentence_waits_for_the_hangover():
    from omnirt.runtime.frames import Settled

    for text in ("We should buy bread,", "and then", "Well..."):
        gate = TurnGate()
        frames = [Transcript(text=text, turn=1), TextDelta(text="ok", turn=1), Settled(turn=1), Commit(turn=1)]
        assert await through(gate, frames) == [[], [], ["Settled"], ["Transcript", "TextDelta", "Commit"]], text
        assert gate.early == set()


async def test_settled_before_the_transcript_releases_it_on_arrival_unless_interrupted():
    from omnirt.runtime.frames import Settled

    gate = TurnGate()
    frames = [Settled(turn=3), Transcript(text="Hello there.", turn=3), TextDelta(text="Hi", turn=3)]
    assert await through(gate, frames) == [["Settled"], ["Transcript"], ["TextDelta"]]
    gate = TurnGate()  # the user went on talking: the redone turn has to settle again
    frames = [Settled(turn=3), Interrupt(reason="resume", turn=3), Transcript(text="Hello there.", turn=3)]
    assert await through(gate, frames) == [["Settled"], ["Interrupt"], []]
    off = TurnGate(early_on_sentence_end=False)
    assert await through(off, [Transcript(text="Done.", turn=1), Settled(turn=1)]) == [[], ["Settled"]]


async def test_a_judged_turn_goes_by_its_judgement_not_by_punctuation():
    from omnirt.runtime.frames import EndOfTurn, Settled

    asked: list[tuple[int, bool]] = []
    told = lambda turn, finished, wait: asked.append((turn, finished))  # noqa: E731
    gate = TurnGate(threshold=0.01, on_judged=told)
    # Whisper punctuates a fragment; the judgement says it is unfinished: held, and the VAD is asked to wait longer
    frames = [EndOfTurn(prob=1e-5, turn=1), Transcript(text="How many legs does a.", turn=1),
              TextDelta(text="A", turn=1), Settled(turn=1), Commit(turn=1)]
    assert await through(gate, frames) == [["EndOfTurn"], [], [], ["Settled"], ["Transcript", "TextDelta", "Commit"]]
    assert asked == [(1, False)] and gate.early == set()
    # no punctuation, but judged finished: released at the settle
    gate = TurnGate(threshold=0.01, on_judged=told)
    frames = [EndOfTurn(prob=0.6, turn=2), Transcript(text="what is the capital of france", turn=2), Settled(turn=2)]
    assert await through(gate, frames) == [["EndOfTurn"], [], ["Transcript", "Settled"]]
    assert asked == [(1, False), (2, True)] and gate.early == {2}
    # judged after the settle: released by the judgement itself
    gate = TurnGate(threshold=0.01)
    frames = [Settled(turn=3), EndOfTurn(prob=0.5, turn=3), Transcript(text="Yes", turn=3)]
    assert await through(gate, frames) == [["Settled"], ["EndOfTurn"], ["Transcript"]]


async def test_an_interrupt_forgets_the_judgement_of_the_words_before_it():
    from omnirt.runtime.frames import EndOfTurn, Settled

    gate = TurnGate(threshold=0.01)
    frames = [EndOfTurn(prob=0.9, turn=1), Interrupt(reason="resume", turn=1), Settled(turn=1),
              Transcript(text="Yes, and also the lights.", turn=1)]
    assert await through(gate, frames) == [["EndOfTurn"], ["Interrupt"], ["Settled"], ["Transcript"]]
    # (no judgement for the redone turn yet: it went by punctuation, as a backend that cannot judge would)
    gate = TurnGate(threshold=0.01)
    frames = [EndOfTurn(prob=0.9, turn=1), Interrupt(reason="resume", turn=1), Settled(turn=1),
              Transcript(text="Yes, and also the", turn=1)]
    assert await through(gate, frames) == [["EndOfTurn"], ["Interrupt"], ["Settled"], []]
