"""Barge-in with the real models and no network: the user speaks over the assistant's reply.

The session is driven as every transport drives it (runtime/playout.py), into a speaker that plays the reply in real
time; the second question starts after one second of the first answer. The reply must fall silent quickly (held at
the user's first sound), the interrupt must follow once the words show a question (runtime/backchannel.py) with no
audio of the interrupted turn after it, the conversation must keep only the words that were played, and the second
question must be answered.
"""

import asyncio

import numpy as np
import pytest

from omnirt.runtime.clock import now
from omnirt.runtime.frames import AudioFrame, Interrupt, Played, SpeechDone, TextDone, Transcript, UserSound
from omnirt.runtime.playout import OutputSink, drive
from omnirt.runtime.session import VoiceSession
from omnirt.tools.clips import make_clip, read_audio
from omnirt.tools.voice import VoiceConfig, load_components

pytestmark = pytest.mark.models
RATE = 16000
FRAME = 320  # 20 ms


@pytest.fixture(scope="module")
def long_reply_components():
    """Replies long enough to still be playing when the user interrupts."""
    return load_components(VoiceConfig(max_tokens=120))


def pcm(path):
    return (read_audio(path, RATE) * 32767).astype(np.int16)


class Speaker(OutputSink):
    """Plays reply audio in real time, as a transport's speaker does, and records what left the pipeline."""

    def __init__(self):
        self.buffer: list[AudioFrame] = []
        self.played: dict[int, float] = {}
        self.events: list[tuple[float, object]] = []
        self.marks: dict[str, float] = {}
        self.start_q2 = asyncio.Event()
        self.held = False
        self.sounded: list[tuple[float, int]] = []  # (when, turn) of each frame played
        self.task = asyncio.create_task(self._speak())

    async def _speak(self):
        while True:
            if self.buffer and not self.held:
                f = self.buffer.pop(0)
                self.sounded.append((now(), f.turn))
                await asyncio.sleep(f.duration)
                self.played[f.turn] = self.played.get(f.turn, 0.0) + f.duration
                if self.played.get(1, 0.0) >= 1.0:
                    self.start_q2.set()
            else:
                await asyncio.sleep(0.005)

    def play(self, frame):
        self.buffer.append(frame)

    async def finish(self, turn):
        while any(f.turn == turn for f in self.buffer):
            await asyncio.sleep(0.01)
        return self.played_s(turn)

    def flush(self):
        self.buffer.clear()
        self.held = False

    def hold(self, active):
        self.held = active

    def played_s(self, turn):
        return self.played.get(turn, 0.0)

    def show(self, frame):
        self.events.append((now(), frame))
        if isinstance(frame, UserSound) and frame.active and "q2_fed" in self.marks and "hold" not in self.marks:
            self.marks["hold"] = now()
        if isinstance(frame, Interrupt) and "q2_fed" in self.marks and "interrupt" not in self.marks:
            self.marks["interrupt"] = now()
        elif isinstance(frame, Played) and frame.turn == 1:
            self.marks["heard"] = frame.heard


async def test_user_interrupts_the_reply(long_reply_components):
    q1 = pcm(make_clip("Tell me a long story about a dragon who lives in a castle.", "piper"))
    q2 = pcm(make_clip("What is two plus three?", "piper"))
    session = VoiceSession(long_reply_components)
    speaker = Speaker()
    marks, events = speaker.marks, speaker.events

    async def microphone():
        t0 = now()
        sent = 0

        async def frames(samples):
            nonlocal sent
            for i in range(0, len(samples), FRAME):
                block = samples[i:i + FRAME]
                sent += len(block)
                await asyncio.sleep(max(0.0, t0 + sent / RATE - now()))
                yield AudioFrame(pcm=block, sample_rate=RATE, capture_ts=now() - len(block) / RATE)

        silence = np.zeros(FRAME, np.int16)
        async for f in frames(q1):
            yield f
        while not speaker.start_q2.is_set():
            async for f in frames(silence):
                yield f
        marks["q2_fed"] = now()
        async for f in frames(q2):
            yield f
        while not any(isinstance(f, SpeechDone) and f.turn == 2 for _, f in events):
            if now() - marks["q2_fed"] > 30:
                pytest.fail("the second turn was never answered")
            async for f in frames(silence):  # silence until the second turn is answered
                yield f

    async with session as pipeline:
        try:
            await drive(pipeline, microphone(), speaker)
        finally:
            speaker.task.cancel()

    assert "hold" in marks and "interrupt" in marks, "no hold, or no interrupt, reached the output"
    print(f"\nreply held {1e3 * (marks['hold'] - marks['q2_fed']):.0f} ms and interrupted "
          f"{1e3 * (marks['interrupt'] - marks['q2_fed']):.0f} ms after the interrupting speech began; "
          f"context keeps {marks['heard']!r}")
    # silent at the user's first sound (the level onset), long before min_speech_ms (250) of speech
    assert marks["hold"] - marks["q2_fed"] < 0.25
    assert not [t for t, turn in speaker.sounded if turn == 1 and t > marks["hold"]], "the reply sounded on"
    asked = next(t for t, f in events if isinstance(f, Transcript) and f.final and f.turn == 2)
    assert marks["hold"] < marks["interrupt"] <= asked  # the cut leaves before the question it was for
    late = [f for t, f in events if isinstance(f, AudioFrame) and f.turn == 1 and t > marks["interrupt"]]
    assert late == [], "audio of the interrupted turn came after the interrupt"
    first = session.thinker.exchanges[0]
    full = next((f.text for _, f in events if isinstance(f, TextDone) and f.turn == 1), None)
    assert marks["heard"] and first.answer == marks["heard"]
    assert full is None or len(first.answer) < len(full), "the context kept words that were never played"
    second = session.thinker.exchanges[1]
    assert "two plus three" in second.question.lower() or "2 plus 3" in second.question.lower()
    assert "5" in second.answer or "five" in second.answer.lower()
