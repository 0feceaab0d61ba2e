"""The start-up warm-up does a turn's work: the Talker speaks, the recogniser hears a growing window, then the whole."""

from types import SimpleNamespace

import numpy as np
import pytest

from omnirt.runtime.warmup import warm_up


class Tone:
    """A synthesiser at 22.05 kHz (Piper's rate) that makes `seconds` of a tone per call, in 0.1 s chunks."""

    sample_rate = 22050

    def __init__(self, seconds: float) -> None:
        self.seconds, self.texts = seconds, []

    def stream(self, text: str):
        self.texts.append(text)
        n = int(self.seconds * self.sample_rate)
        x = (8000 * np.sin(np.arange(n) * 2 * np.pi * 220 / self.sample_rate)).astype(np.int16)
        for i in range(0, n, 2205):
            yield x[i:i + 2205]


class Ears:
    def __init__(self) -> None:
        self.lengths: list[int] = []

    def transcribe(self, audio: np.ndarray):
        assert audio.dtype == np.float32 and audio.ndim == 1 and np.abs(audio).max() <= 1.0
        self.lengths.append(len(audio))
        return SimpleNamespace(text="")


def test_the_recogniser_hears_a_growing_window_then_the_whole_at_16_khz():
    synth, ears = Tone(3.5), Ears()
    w = warm_up(SimpleNamespace(synthesizer=synth, recognizer=ears), step_s=1.0)
    assert synth.texts and len(synth.texts[0].split()) > 10
    assert ears.lengths[:3] == [16000, 32000, 48000]
    assert abs(ears.lengths[-1] - 56000) <= 16  # the whole 3.5 s, resampled from 22.05 kHz
    assert w.decodes == 4 and abs(w.speech_s - 3.5) < 0.01


def test_silence_from_the_talker_is_not_decoded():
    ears = Ears()
    w = warm_up(SimpleNamespace(synthesizer=Tone(0.0), recognizer=ears))
    assert ears.lengths == [] and w.decodes == 0


@pytest.mark.models
def test_the_real_models_warm_up(components):
    w = warm_up(components)
    assert 4.0 < w.speech_s < 12.0, w
    assert w.decodes == int(np.ceil(w.speech_s - 1e-6)), w
