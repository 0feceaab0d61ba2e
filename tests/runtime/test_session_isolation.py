"""Sessions share loaded models but never state: two sessions side by side, one silent, one asking a question."""

import asyncio

import numpy as np
import pytest

from omnirt.runtime.frames import AudioFrame, TextDone
from omnirt.runtime.session import VoiceSession
from omnirt.tools.clips import make_clip, read_audio
from omnirt.tools.voice import VoiceConfig, load_components

pytestmark = pytest.mark.models


async def test_interleaved_sessions_keep_their_own_vad_state():
    components = load_components(VoiceConfig())
    quiet, talking = VoiceSession(components), VoiceSession(components)
    assert quiet.vad.detector is not talking.vad.detector
    speech = (read_audio(make_clip("What is the capital of France?", "piper"), 16000) * 32767).astype(np.int16)
    speech = np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(32000, np.int16)])
    answers: dict[str, str] = {}

    async def drain(name, pipeline):
        async for f in pipeline.frames():
            if isinstance(f, TextDone):
                answers[name] = f.text

    async with quiet as qp, talking as tp:
        tasks = [asyncio.create_task(drain("quiet", qp)), asyncio.create_task(drain("talking", tp))]
        rng = np.random.default_rng(0)
        for i in range(0, len(speech), 320):  # the same 20 ms tick feeds both: their VAD calls interleave
            await qp.push(AudioFrame(pcm=(rng.normal(0, 30, 320)).astype(np.int16), sample_rate=16000))
            await tp.push(AudioFrame(pcm=speech[i:i + 320], sample_rate=16000))
            await asyncio.sleep(0.002)
        for _ in range(400):
            if "talking" in answers:
                break
            await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
    assert "paris" in answers.get("talking", "").lower(), answers
    assert "quiet" not in answers
