"""The webrtcvad gate in front of Silero (models/vad.py): Silero must hear the room before the speech it judges.

Found by `omnirt bench asr --live`: flite's kal voice over a phone line (8 kHz, 300-3400 Hz, mu-law) was never heard
by the live path, though Silero scores it above 0.9 when run over the whole file. The gate had reset Silero at the
speech onset, and started cold there Silero stayed below 0.1 for the whole sentence.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soxr

from omnirt.models.vad import GatedSileroDetector, GateOptions


@pytest.fixture(scope="module")
def phone_speech() -> np.ndarray:
    """flite kal on a phone line after 1 s of the line's quiet, at 16 kHz, as the VAD stage gets it."""
    from omnirt.tools.bench.asr_corpus import _speak, degrade

    audio, rate = _speak("flite", "kal", "The soup needs a little more salt.")
    audio = np.concatenate([np.zeros(rate, np.float32), audio, np.zeros(rate // 2, np.float32)])
    line, line_rate = degrade(audio, rate, "tel8k")
    return soxr.resample(line, line_rate, 16000).astype(np.float32)


def _probs(detector: GatedSileroDetector, audio: np.ndarray) -> np.ndarray:
    n = audio.size // 512
    return np.array([detector.prob(c) for c in audio[: n * 512].reshape(n, 512)])


def test_speech_on_a_phone_line_is_heard_when_the_gate_opens(phone_speech):
    one = GateOptions(half_step=False)  # one Silero stream, as when the bug was found
    warm = _probs(GatedSileroDetector(one), phone_speech)
    cold = _probs(GatedSileroDetector(dataclasses.replace(one, warmup_ms=0)), phone_speech)
    whole = _probs(GatedSileroDetector(dataclasses.replace(one, use_gate=False)), phone_speech)
    assert (whole >= 0.5).sum() >= 20  # the speech is there: ungated Silero hears most of it
    assert (cold >= 0.5).sum() <= 2  # what the gate used to do (if this fails, the clip no longer shows the bug)
    assert (warm >= 0.5).sum() >= 0.6 * (whole >= 0.5).sum()  # at least 8 consecutive chunks make a turn (250 ms)


def test_the_gate_still_skips_silence_unheard(phone_speech):
    detector = GatedSileroDetector()
    assert _probs(detector, np.zeros(512 * 40, np.float32)).max() == 0.0 and detector.silero_calls == 0
    _probs(detector, phone_speech)
    assert 0 < detector.silero_calls < phone_speech.size // 512  # Silero ran while the gate was open, not always


def test_speech_on_a_phone_line_is_heard_at_every_phase_of_the_chunks(phone_speech):
    """Where the 32 ms chunks fall in the speech is chance (when the microphone started). With one Silero stream the
    phone-line sentence was heard in 4 chunks at one phase and 46 at another; a second stream half a chunk later
    (half_step) must hear it at every phase, beyond the 8 chunks (250 ms) that start a turn."""
    def heard(options: GateOptions) -> list[int]:
        return [int((_probs(GatedSileroDetector(options), np.concatenate([np.zeros(lead, np.float32), phone_speech]))
                     >= 0.5).sum()) for lead in range(0, 512, 64)]

    one, two = heard(GateOptions(half_step=False)), heard(GateOptions())
    assert min(one) < 8  # the clip still shows the problem at some phase
    assert min(two) >= 20 and all(b >= a for a, b in zip(one, two))
