"""VoiceSession.ask: words the session never heard (a moved session's unanswered question) answered as the user's
next turn, released at once, and numbered so that the user's later utterances come after it."""

import asyncio

import numpy as np
import pytest

from omnirt.runtime.frames import AudioFrame, SpeechStarted, TextDone, Transcript
from omnirt.runtime.session import VoiceSession
from omnirt.tools.clips import make_clip, read_audio
from omnirt.tools.voice import VoiceConfig, load_components

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def components():
    return load_components(VoiceConfig())


async def _collect(pipeline, out: list, until) -> None:
    async for f in pipeline.frames():
        out.append(f)
        if until(out):
            return


async def test_an_asked_question_is_answered_and_its_reply_released(components):
    session = VoiceSession(components)
    out: list = []
    async with session as pipeline:
        reader = asyncio.create_task(_collect(pipeline, out, lambda o: any(isinstance(f, TextDone) for f in o)
                                              and any(isinstance(f, AudioFrame) for f in o)))
        turn = await session.ask("What is the capital of France?")
        await asyncio.wait_for(reader, 60)
    assert turn == 1
    said = [f for f in out if isinstance(f, Transcript) and f.final]
    assert [(f.text, f.turn) for f in said] == [("What is the capital of France?", 1)]
    done = next(f for f in out if isinstance(f, TextDone))
    assert "paris" in done.text.lower() and done.turn == 1
    assert any(isinstance(f, AudioFrame) and f.turn == 1 for f in out)  # the gate let the spoken reply out
    assert [(ex.turn, ex.question) for ex in session.thinker.exchanges] == [(1, "What is the capital of France?")]


async def test_nothing_is_asked_while_the_user_speaks_and_later_speech_is_a_later_turn(components):
    session = VoiceSession(components)
    speech = (read_audio(make_clip("What is two plus two?", "piper"), 16000) * 32767).astype(np.int16)
    out: list = []
    dones = lambda o: [f for f in o if isinstance(f, TextDone)]  # noqa: E731
    async with session as pipeline:
        reader = asyncio.create_task(_collect(pipeline, out, lambda o: len(dones(o)) == 2))
        assert await session.ask("   ") is None  # no words: nothing asked
        assert await session.ask("What is the capital of France?") == 1
        for _ in range(600):
            if dones(out):
                break
            await asyncio.sleep(0.05)
        refused = []
        for i in range(0, len(speech), 320):
            await pipeline.push(AudioFrame(pcm=speech[i:i + 320], sample_rate=16000))
            await asyncio.sleep(0.001)
            if session.vad.endpointer.in_speech and not refused:
                refused.append(await session.ask("What is the capital of Spain?"))
        assert refused == [None]  # the user is speaking: their words come first
        for _ in range(100):  # the silence after it ends the utterance
            await pipeline.push(AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000))
            await asyncio.sleep(0.001)
        await asyncio.wait_for(reader, 60)
    assert [f.turn for f in out if isinstance(f, SpeechStarted)] == [2]  # after the asked turn
    assert [d.turn for d in dones(out)] == [1, 2]
    assert "paris" in dones(out)[0].text.lower()
    assert "four" in dones(out)[1].text.lower() or "4" in dones(out)[1].text
    assert not any(isinstance(f, Transcript) and "Spain" in f.text for f in out)


def test_a_restored_conversation_sets_the_thinkers_history_and_the_gates_context(components):
    session = VoiceSession(components)
    assert session.gate.asked is False
    kept = session.restore([("My name is Ada.", "Hello Ada."), ("And yours?", ""), ("Book a table.", "For how many?")])
    assert kept == 2 and [e.question for e in session.thinker.exchanges] == ["My name is Ada.", "Book a table."]
    assert session.gate.asked is True  # the last answer heard asked the user something: a short reply may end it
    assert session.restore([("Hi.", "Hello, Ada.")]) == 1 and session.gate.asked is False
    assert session.restore([]) == 0 and session.thinker.exchanges == []


@pytest.mark.parametrize("context", [True, False])
async def test_the_recogniser_hears_a_turn_in_the_conversation_it_belongs_to(components, context):
    """eSpeak's "What is the capital of Spain?" is heard as "... capital on Spain?" alone; after France's question
    and answer, the recogniser reads them ahead of the audio and hears "of". The Thinker's exchange of the turn
    itself (its speculative answer, if any) is never part of it."""
    from omnirt.runtime.session import SessionOptions

    class Spy:  # the real recogniser, noting the context each decode was given
        def __init__(self, inner):
            self.inner, self.contexts = inner, []

        def transcribe(self, audio, cancel=None, draft=False, guess=None, context=""):
            self.contexts.append(context)
            return self.inner.transcribe(audio, cancel=cancel, draft=draft, guess=guess, context=context)

    from dataclasses import replace

    spy = Spy(components.recognizer)
    session = VoiceSession(replace(components, recognizer=spy), SessionOptions(asr_context=context))
    before = "What is the capital of France?", "The capital of France is Paris."
    session.restore([before])
    speech = (read_audio(make_clip("What is the capital of Spain?", "espeak"), 16000) * 32767).astype(np.int16)
    out: list = []
    async with session as pipeline:
        reader = asyncio.create_task(_collect(pipeline, out, lambda o: any(isinstance(f, TextDone) for f in o)))
        for i in range(0, len(speech), 320):
            await pipeline.push(AudioFrame(pcm=speech[i:i + 320], sample_rate=16000))
            await asyncio.sleep(0.001)
        for _ in range(100):
            await pipeline.push(AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000))
            await asyncio.sleep(0.001)
        await asyncio.wait_for(reader, 60)
    heard = [f.text for f in out if isinstance(f, Transcript) and f.final]
    assert spy.contexts and spy.contexts[-1] == (" ".join(before) if context else "")  # (the final decode's; a
    assert set(spy.contexts) <= {" ".join(before) if context else ""} | {""}  # partial under 1 s is heard alone)
    if context:
        assert heard[-1] == "What is the capital of Spain?"
