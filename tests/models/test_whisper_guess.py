"""A final decode that reads the last partial transcript as its guess: the same words, in fewer decoder calls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from omnirt.models.whisper import Transcription, WhisperOnnx, WhisperOptions
from omnirt.tools.clips import SENTENCES, make_clips, read_audio

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def asr() -> WhisperOnnx:
    return WhisperOnnx.load(WhisperOptions(intra_threads=2))


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    return [read_audio(c.path) for c in make_clips(SENTENCES[:4], ("piper", "espeak"))]


class _Calls:
    """Counts the decoder's calls (a guess is read in one; greedy decoding makes one per token)."""

    def __init__(self, asr: WhisperOnnx, monkeypatch: pytest.MonkeyPatch) -> None:
        self.n = 0
        dec = asr._decoder
        real = dec.step_all

        def counted(*args, **kwargs):
            self.n += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(dec, "step_all", counted)


def test_a_partials_guess_gives_the_same_words_in_fewer_calls(asr, clips, monkeypatch) -> None:
    calls = _Calls(asr, monkeypatch)
    saved = 0
    for audio in clips:
        calls.n = 0
        plain = asr.transcribe(audio)
        alone = calls.n
        partial = asr.transcribe(audio[:int(len(audio) * 0.7)], draft=True)
        calls.n = 0
        guessed = asr.transcribe(audio, guess=partial)
        assert guessed.text == plain.text and guessed.tokens == plain.tokens, (partial.text, plain.text)
        assert guessed.avg_logprob == pytest.approx(plain.avg_logprob, abs=0.02)
        assert calls.n <= alone + 3  # at worst: three calls for the guess, each of its tokens read again
        saved += alone - calls.n
    print(f"\n[guess] {saved} of the decoder calls saved over {len(clips)} clips")
    assert saved >= 2 * len(clips)  # most of a partial's words are read in one call


def test_a_wrong_or_odd_guess_changes_nothing(asr, clips) -> None:
    audio, other = clips[0], clips[3]
    plain = asr.transcribe(audio)
    wrong = asr.transcribe(other)
    for guess in (wrong, dataclasses.replace(plain, tokens=plain.tokens * 3), Transcription(text="", tokens=[]),
                  dataclasses.replace(plain, tokens=plain.tokens[:1])):
        again = asr.transcribe(audio, guess=guess)
        assert again.tokens == plain.tokens and again.text == plain.text
