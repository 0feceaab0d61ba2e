"""The streaming core without models: ordering, back-pressure, interrupts overtaking data, cancellation, errors."""

import asyncio

import numpy as np
import pytest

from omnirt.runtime.clock import now
from omnirt.runtime.frames import (AudioFrame, EndOfStream, ErrorFrame, Interrupt, SpeechStarted, TextDelta, TextDone,
                                   Transcript)
from omnirt.runtime.stage import FrameQueue, Pipeline, Stage
from omnirt.runtime.testing import run_test


class Upper(Stage):
    async def process(self, frame):
        if isinstance(frame, TextDelta):
            yield TextDelta(text=frame.text.upper(), turn=frame.turn)
        else:
            yield frame


class Joiner(Stage):
    """Collects deltas, emits TextDone at end of stream."""

    def __init__(self):
        super().__init__()
        self.parts = []

    async def process(self, frame):
        if isinstance(frame, TextDelta):
            self.parts.append(frame.text)
        elif isinstance(frame, EndOfStream):
            yield TextDone(text="".join(self.parts))
            yield frame
        else:
            yield frame


class SlowSpeaker(Stage):
    """Emits one audio frame every 10 ms for each TextDelta, like a Talker."""

    def __init__(self, frames_per_text=50):
        super().__init__()
        self.n = frames_per_text
        self.interrupted_at = None

    async def process(self, frame):
        if isinstance(frame, TextDelta):
            for _ in range(self.n):
                await asyncio.sleep(0.01)
                yield AudioFrame(pcm=np.zeros(160, np.int16), sample_rate=16000, turn=frame.turn)
        elif isinstance(frame, Interrupt):
            self.interrupted_at = now()
            yield frame
        else:
            yield frame


class Boom(Stage):
    async def process(self, frame):
        if isinstance(frame, TextDelta) and frame.text == "bad":
            raise RuntimeError("cannot handle this\nsecond line")
        yield frame


async def test_frames_flow_in_order_through_stages():
    frames = [TextDelta(text=c) for c in "abc"]
    out = await run_test([Upper(), Joiner()], frames, expected=[TextDone])
    assert out[0].text == "ABC"


async def test_run_test_reports_a_mismatch():
    with pytest.raises(AssertionError, match="expected"):
        await run_test(Upper(), [TextDelta(text="a")], expected=[TextDone])


async def test_failing_frame_becomes_error_frame_and_stream_goes_on():
    out = await run_test([Boom(), Joiner()], [TextDelta(text="x"), TextDelta(text="bad"), TextDelta(text="y")])
    errors = [f for f in out if isinstance(f, ErrorFrame)]
    assert len(errors) == 1 and errors[0].stage == "Boom"
    assert errors[0].message == "RuntimeError: cannot handle this"  # one line
    assert [f.text for f in out if isinstance(f, TextDone)] == ["xy"]


async def test_interrupt_cancels_audio_in_flight_at_once():
    speaker = SlowSpeaker(frames_per_text=100)  # a full second of audio
    async with Pipeline([Upper(), speaker]) as p:
        await p.push(TextDelta(text="hello", turn=1))
        got = []
        t_interrupt = None
        async for f in p.frames():
            got.append((now(), f))
            if isinstance(f, AudioFrame) and t_interrupt is None and len(got) == 5:
                t_interrupt = now()
                await p.push(Interrupt())
            if isinstance(f, Interrupt):
                await p.push(EndOfStream())
    kinds = [f.kind for _, f in got]
    after = kinds[kinds.index("Interrupt"):]
    assert "AudioFrame" not in after, "the Talker kept producing audio after the interrupt"
    assert kinds.count("AudioFrame") < 10  # of 100: its work in flight was cancelled, not finished
    assert speaker.interrupted_at is not None


async def test_interrupt_overtakes_queued_data():
    q = FrameQueue(maxsize=10)
    for i in range(5):
        await q.put(TextDelta(text=str(i)))
    await q.put(EndOfStream())
    q.put_control(Interrupt())
    assert isinstance(await q.get(), Interrupt)
    assert isinstance(await q.get(), EndOfStream)  # data dropped, end of stream kept
    assert len(q) == 0


async def test_an_interrupt_that_keeps_later_turns_drops_only_its_own_turn_and_earlier():
    q = FrameQueue(maxsize=10)
    for turn in (0, 1, 2, 1, 2):
        await q.put(TextDelta(text=str(turn), turn=turn))
    q.put_control(Interrupt(turn=1, keeps_later=True))
    assert isinstance(await q.get(), Interrupt)
    assert [(await q.get()).text for _ in range(len(q))] == ["2", "2"]
    await q.put(SpeechStarted(turn=2))
    q.put_control(Interrupt(reason="resume", turn=2))  # the user went on after a pause: still speaking
    assert isinstance(await q.get(), Interrupt) and isinstance(await q.get(), SpeechStarted)
    q.put_control(Interrupt())  # one that names no turns it keeps stops everything
    await q.put(TextDelta(text="3", turn=3))
    q.put_control(Interrupt(turn=1))
    assert [type(await q.get()) for _ in range(len(q))] == [Interrupt, Interrupt]


async def test_the_interrupting_turn_queued_behind_a_busy_stage_survives_a_late_interrupt():
    """The barge-in's Interrupt can reach a stage after the new utterance's first frames (it waited in a control
    lane, as behind a backchannel gate): they are queued behind the reply the stage is still making, and the
    Interrupt must cancel that reply without dropping them."""
    speaker = SlowSpeaker(frames_per_text=100)
    async with Pipeline([Stage(), speaker]) as p:
        await p.push(TextDelta(text="reply", turn=1))
        await p.push(TextDelta(text="question", turn=2))  # waits behind turn 1's second of audio
        out = []
        async for f in p.frames():
            out.append(f)
            if isinstance(f, AudioFrame) and len(out) == 3:
                await p.push(Interrupt(turn=1, keeps_later=True))
            if isinstance(f, AudioFrame) and f.turn == 2 and [g.turn for g in out].count(2) == 1:
                await p.push(EndOfStream())
    turns = [f.turn for f in out if isinstance(f, AudioFrame)]
    assert turns.count(1) < 10, "turn 1's reply was not cancelled"
    assert turns.count(2) == 100 and turns[-1] == 2, "the interrupting turn was dropped or cut"


async def test_bounded_queue_pushes_back():
    q = FrameQueue(maxsize=2)
    await q.put(TextDelta(text="a"))
    await q.put(TextDelta(text="b"))
    blocked = asyncio.ensure_future(q.put(TextDelta(text="c")))
    await asyncio.sleep(0.02)
    assert not blocked.done()
    assert (await q.get()).text == "a"
    await asyncio.wait_for(blocked, 1)
    assert [(await q.get()).text for _ in range(2)] == ["b", "c"]


async def test_pipeline_needs_stages():
    with pytest.raises(ValueError):
        Pipeline([])


async def test_exit_cancels_running_stages():
    async with Pipeline([SlowSpeaker(frames_per_text=1000)]) as p:
        await p.push(TextDelta(text="x", turn=1))
        await asyncio.sleep(0.05)
    assert all(t.done() for t in p._tasks)


async def test_transcript_passthrough_default_stage():
    out = await run_test(Stage(), [Transcript(text="hi")], expected=[Transcript])
    assert out[0].text == "hi"


async def test_an_interrupt_frees_room_for_a_blocked_writer_and_a_cancelled_reader_loses_nothing():
    q = FrameQueue(maxsize=1)
    await q.put(TextDelta(text="a"))
    blocked = asyncio.ensure_future(q.put(TextDelta(text="b")))
    await asyncio.sleep(0.01)
    q.put_control(Interrupt())  # drops "a": the writer gets its room
    await asyncio.wait_for(blocked, 1)
    assert isinstance(await q.get(), Interrupt) and (await q.get()).text == "b"
    gone = asyncio.ensure_future(q.get())
    reader = asyncio.ensure_future(q.get())
    await asyncio.sleep(0.01)
    gone.cancel()
    await q.put(TextDelta(text="c"))
    assert (await asyncio.wait_for(reader, 1)).text == "c"


async def test_a_runner_cancelled_mid_frame_stops_instead_of_taking_the_next_frame():
    started = asyncio.Event()

    class Slow(Stage):
        async def process(self, frame):
            started.set()
            await asyncio.sleep(10)
            yield frame

    async def run() -> Pipeline:
        async with Pipeline([Slow()]) as p:
            await p.push(TextDelta(text="x"))
            await asyncio.wait_for(started.wait(), 1)
        return p

    p = await asyncio.wait_for(run(), 5)  # a runner that swallowed its own cancellation would hang __aexit__
    assert all(t.done() for t in p._tasks)
