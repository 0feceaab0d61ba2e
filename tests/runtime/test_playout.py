"""Playout with a sink in memory: barge-in, the user's button, holding, and what the conversation keeps, once for
every output (WebRTC, the local speaker and the WAV writer are sinks of the same loop)."""

import asyncio

import numpy as np
import pytest

from omnirt.runtime.frames import (AudioFrame, EndOfStream, Interrupt, Played, SpeechDone, TextDelta, TextDone,
                                   Transcript, UserSound)
from omnirt.runtime.playout import OutputSink, Playout, SpokenText, drive
from omnirt.runtime.stage import Pipeline
from omnirt.runtime.talker import TalkerOptions, TalkerStage
from omnirt.runtime.testing import run_test
from omnirt.runtime.thinker import ThinkerStage


class Synth:
    """Half a second of audio a word, at 1 kHz."""

    sample_rate = 1000

    def stream(self, text):
        for _ in text.split():
            yield np.full(500, 1000, np.int16)


class Scripted:
    def __init__(self, answers):
        self.answers = list(answers)

    async def stream(self, messages):
        for word in self.answers.pop(0).split(" "):
            await asyncio.sleep(0)
            yield word + " "


class MemorySink(OutputSink):
    """Queues what it is given; the test decides how much of it the listener has heard (`speak`)."""

    def __init__(self):
        self.queue: list[AudioFrame] = []
        self.heard: dict[int, float] = {}
        self.shown: list = []
        self.holding = False
        self.flushes = 0
        self.changed = asyncio.Event()

    def play(self, frame):
        self.queue.append(frame)
        self.changed.set()

    def speak(self, seconds):
        while self.queue and seconds > 1e-9:
            f = self.queue.pop(0)
            self.heard[f.turn] = self.heard.get(f.turn, 0.0) + f.duration
            seconds -= f.duration
        self.changed.set()

    async def finish(self, turn):
        while any(f.turn == turn for f in self.queue):
            self.changed.clear()
            await self.changed.wait()
        return self.played_s(turn)

    def flush(self):
        self.queue.clear()
        self.flushes += 1

    def played_s(self, turn):
        return self.heard.get(turn, 0.0)

    def hold(self, active):
        self.holding = active

    def show(self, frame):
        self.shown.append(frame)
        self.changed.set()

    async def until(self, predicate, timeout=5.0):
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


class Source:
    def __init__(self):
        self.q: asyncio.Queue = asyncio.Queue()

    async def frames(self):
        while True:
            frame = await self.q.get()
            if frame is None:
                return
            yield frame


def played_frames(sink):
    return [f for f in sink.shown if isinstance(f, Played)]


@pytest.fixture
async def session():
    """Thinker and Talker over a memory sink, driven as a transport drives them."""
    thinker = ThinkerStage(Scripted(["Paris is big. It has a river.", "Two."]))
    talker = TalkerStage(Synth(), TalkerOptions(first_chunk_words=0, lead_in_ms=None, max_pause_ms=None))
    sink, source = MemorySink(), Source()
    async with Pipeline([thinker, talker]) as pipeline:
        playout = Playout(pipeline, sink)
        task = asyncio.create_task(drive(pipeline, source.frames(), sink, playout))
        yield thinker, sink, source, playout
        await source.q.put(None)
        await asyncio.wait_for(task, 5)


async def test_a_barge_in_keeps_only_the_words_heard(session):
    thinker, sink, source, _ = session
    await source.q.put(Transcript(text="Tell me about Paris", turn=1))
    await sink.until(lambda: any(isinstance(f, SpeechDone) for f in sink.shown))
    sink.speak(1.5)  # "Paris is big." is three words: 1.5 s
    await source.q.put(Interrupt(turn=2))  # the VAD heard the user start turn 2
    await sink.until(lambda: played_frames(sink))
    [played] = played_frames(sink)
    assert (played.turn, played.cut, round(played.seconds, 3), played.heard) == (1, True, 1.5, "Paris is big.")
    assert sink.queue == [] and sink.flushes >= 1
    assert thinker.exchanges[0].answer == "Paris is big."  # the Played frame reached the Thinker


async def test_a_turn_heard_to_the_end_is_reported_whole_and_the_next_turn_plays(session):
    thinker, sink, source, _ = session
    await source.q.put(Transcript(text="Tell me about Paris", turn=1))
    await sink.until(lambda: any(isinstance(f, SpeechDone) for f in sink.shown))
    sink.speak(100)
    await sink.until(lambda: played_frames(sink))
    assert played_frames(sink)[0].cut is False
    assert played_frames(sink)[0].heard == "Paris is big. It has a river."
    await source.q.put(Transcript(text="One plus one?", turn=2))
    await sink.until(lambda: any(f.turn == 2 for f in sink.queue))
    sink.speak(100)
    await sink.until(lambda: len(played_frames(sink)) == 2)
    assert [p.heard for p in played_frames(sink)] == ["Paris is big. It has a river.", "Two."]
    assert [ex.answer for ex in thinker.exchanges] == ["Paris is big. It has a river.", "Two."]


async def test_the_button_silences_the_reply_and_its_late_audio_is_not_played(session):
    _, sink, source, playout = session
    await source.q.put(Transcript(text="Tell me about Paris", turn=1))
    await sink.until(lambda: sum(f.duration for f in sink.queue) >= 1.5)  # the first clause is all made
    sink.speak(0.6)  # the first word of three in 1.5 s
    playout.interrupt("button")
    assert sink.queue == []  # at once, not when the frame has crossed the pipeline
    late = AudioFrame(pcm=np.ones(500, np.int16), sample_rate=1000, turn=1)
    playout.on_frame(late)  # audio of the interrupted turn that was already on its way
    assert sink.queue == []
    await sink.until(lambda: played_frames(sink))
    assert played_frames(sink)[0].heard == "Paris" and played_frames(sink)[0].cut


async def test_the_users_first_sound_holds_the_reply(session):
    _, sink, source, _ = session
    await source.q.put(UserSound(active=True))
    await sink.until(lambda: sink.holding)
    await source.q.put(UserSound(active=False))
    await sink.until(lambda: not sink.holding)


async def test_a_failing_source_is_raised_at_once():
    class Broken:
        async def frames(self):
            yield Transcript(text="hi", turn=1)
            raise OSError("the microphone is gone")

    sink = MemorySink()
    async with Pipeline([ThinkerStage(Scripted(["Hello there."]))]) as pipeline:
        with pytest.raises(OSError, match="microphone"):
            await asyncio.wait_for(drive(pipeline, Broken().frames(), sink), 5)


async def test_a_frame_the_sink_cannot_take_costs_that_frame_only():
    class Picky(MemorySink):
        def play(self, frame):
            if frame.pcm[0] == 7:
                raise ValueError("bad frame")
            super().play(frame)

    sink = Picky()

    async def frames():
        for v in (7, 1):
            yield AudioFrame(pcm=np.full(10, v, np.int16), sample_rate=1000, turn=1)

    async with Pipeline([TalkerStage(Synth())]) as pipeline:
        await asyncio.wait_for(drive(pipeline, frames(), sink), 5)
    assert [f.pcm[0] for f in sink.queue] == [1]
    assert any(getattr(f, "stage", None) == "output" and "bad frame" in f.message for f in sink.shown)
    assert isinstance(sink.shown[-1], EndOfStream)


async def test_the_talker_marks_each_clause_so_the_heard_words_can_be_told():
    out = await run_test(TalkerStage(Synth(), TalkerOptions(first_chunk_words=0)),
                         [TextDelta(text="Paris is big. ", turn=3), TextDelta(text="It has a river.", turn=3),
                          TextDone(text="", turn=3)])
    spoken = SpokenText()
    for f in out:
        if isinstance(f, AudioFrame):
            spoken.add(f)
    assert spoken.heard(3, 10.0) == "Paris is big. It has a river."
    assert spoken.heard(3, 1.5) == "Paris is big."
    assert spoken.heard(3, 2.6) == "Paris is big. It has"  # 1.1 s of a 2 s, four-word clause
    assert spoken.heard(3, 0.0) == ""
    assert spoken.heard(99, 1.0) == ""
