"""A speaker who goes on soon after their turn was answered, with real models (VADOptions.rejoin_ms): one request,
heard and answered whole; the turn before it withdrawn. Without rejoining, the same audio is two turns."""

from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from omnirt.tools.clips import make_clip, read_audio
from omnirt.tools.reply import reply
from omnirt.tools.voice import VoiceConfig, load_components

pytestmark = [pytest.mark.models, pytest.mark.slow]
RATE = 16000


@pytest.fixture(scope="module")
def components():
    return load_components(VoiceConfig())


def said_with_a_pause(path, first, then, pause_s):
    """`first`, a pause, then `then`, in the Piper voice: a question complete enough to be released at the pause."""
    a, b = (read_audio(make_clip(text, "piper"), RATE) for text in (first, then))
    silence = np.zeros(int(pause_s * RATE), np.float32)
    sf.write(path, np.concatenate([silence[:RATE // 2], a, silence, b, silence[:RATE]]), RATE)
    return path


async def test_speech_soon_after_a_released_turn_is_one_request(tmp_path, components):
    question = said_with_a_pause(tmp_path / "q.wav", "What is the capital of France?", "And of Germany?", 1.0)
    result = await reply(question, tmp_path / "a.wav", VoiceConfig(), components)
    standing = [t for t in result.turns if not t.rejoined_by]
    withdrawn = [t for t in result.turns if t.rejoined_by]
    print("\n" + "\n".join(f"turn {t.turn}: {t.transcript!r} -> {t.answer!r}"
                           + (f" (withdrawn after {t.reply_heard_s:.2f} s)" if t.rejoined_by else "")
                           for t in result.turns))
    assert len(standing) == 1 and len(withdrawn) == 1, result.turns
    whole = standing[0].transcript.lower()
    assert "france" in whole and "germany" in whole  # both parts heard as one utterance
    assert withdrawn[0].rejoined_by == standing[0].turn and withdrawn[0].reply_heard_s <= 1.0
    assert standing[0].answer and not result.errors

    apart = await reply(question, tmp_path / "b.wav", replace(VoiceConfig(), rejoin_ms=0), components)
    assert len(apart.turns) == 2 and not any(t.rejoined_by for t in apart.turns)
    assert "france" not in apart.turns[1].transcript.lower()
