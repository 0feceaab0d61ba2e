"""Barge-in with the real models and no network: the user speaks over the assistant's reply.

A driver plays the reply in real time (as a transport would), and starts the second question after one second of
the first answer. The interrupt must reach the output quickly, no audio of the interrupted turn may follow it, the
conversation must keep only the words that were played, and the second question must be answered.
"""

import asyncio

import numpy as np
import pytest

from omnirt.runtime.clock import now
from omnirt.runtime.frames import AudioFrame, EndOfStream, Interrupt, SpeechDone, SpeechStarted, TextDone
from omnirt.runtime.session import VoiceSession
from omnirt.tools.clips import make_clip, read_audio
from omnirt.tools.voice import VoiceConfig, load_components

pytestmark = pytest.mark.models
RATE = 16000
FRAME = 320  # 20 ms


@pytest.fixture(scope="module")
def components():
    return load_components(VoiceConfig(max_tokens=120))


def pcm(path):
    return (read_audio(path, RATE) * 32767).astype(np.int16)


async def test_user_interrupts_the_reply(components):
    q1 = pcm(make_clip("Tell me a long story about a dragon who lives in a castle.", "piper"))
    q2 = pcm(make_clip("What is two plus three?", "piper"))
    session = VoiceSession(components)
    start_q2 = asyncio.Event()
    marks: dict[str, float] = {}
    played = {1: 0.0}
    buffer: list[AudioFrame] = []
    events: list[tuple[float, object]] = []

    async with session as pipeline:
        async def feed():
            t0 = now()
            sent = 0

            async def push(samples):
                nonlocal sent
                for i in range(0, len(samples), FRAME):
                    block = samples[i:i + FRAME]
                    sent += len(block)
                    await asyncio.sleep(max(0.0, t0 + sent / RATE - now()))
                    await pipeline.push(AudioFrame(pcm=block, sample_rate=RATE, capture_ts=now() - len(block) / RATE))

            silence = np.zeros(FRAME, np.int16)
            await push(q1)
            while not start_q2.is_set():
                await push(silence)
            marks["q2_fed"] = now()
            await push(q2)
            for _ in range(200):  # 4 s of silence: the second turn ends and is answered
                await push(silence)

        async def play():
            """Consume reply audio in real time, like a speaker."""
            while True:
                if buffer:
                    f = buffer.pop(0)
                    await asyncio.sleep(f.duration)
                    if f.turn == 1:
                        played[1] += f.duration
                        if played[1] >= 1.0:
                            start_q2.set()
                else:
                    await asyncio.sleep(0.005)

        feeder, player = asyncio.create_task(feed()), asyncio.create_task(play())
        try:
            async for f in pipeline.frames():
                events.append((now(), f))
                if isinstance(f, AudioFrame):
                    buffer.append(f)
                elif isinstance(f, Interrupt) and "q2_fed" in marks and "interrupt" not in marks:
                    marks["interrupt"] = now()
                    buffer.clear()
                    marks["heard"] = session.mark_played(1, played[1])
                elif isinstance(f, SpeechDone) and f.turn == 2:
                    break
                if now() - (marks.get("q2_fed") or now()) > 30:
                    pytest.fail("the second turn was never answered")
        finally:
            feeder.cancel()
            player.cancel()
            await pipeline.push(EndOfStream())

    assert "interrupt" in marks, "no interrupt reached the output"
    print(f"\ninterrupt {1e3 * (marks['interrupt'] - marks['q2_fed']):.0f} ms after the interrupting speech began; "
          f"context keeps {marks['heard']!r}")
    onset = next(t for t, f in events if isinstance(f, SpeechStarted) and f.turn == 2)
    # the interrupt leaves the pipeline with the second turn's start, min_speech_ms (250) after the speech began
    assert marks["interrupt"] - marks["q2_fed"] < 0.6
    assert abs(marks["interrupt"] - onset) < 0.05
    late = [f for t, f in events if isinstance(f, AudioFrame) and f.turn == 1 and t > marks["interrupt"]]
    assert late == [], "audio of the interrupted turn came after the interrupt"
    first = session.thinker.exchanges[0]
    full = next((f.text for _, f in events if isinstance(f, TextDone) and f.turn == 1), None)
    assert marks["heard"] and first.answer == marks["heard"]
    assert full is None or len(first.answer) < len(full), "the context kept words that were never played"
    second = session.thinker.exchanges[1]
    assert "two plus three" in second.question.lower() or "2 plus 3" in second.question.lower()
    assert "5" in second.answer or "five" in second.answer.lower()
