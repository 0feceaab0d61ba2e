"""How the voice ended (runtime/prosody.py) on synthetic fixtures: pitch falls, rises and holds, fades, a drawn-out
last syllable; and the VAD keeps the audio it sent so that the TurnGate can ask."""

import numpy as np
import pytest

from omnirt.runtime.frames import AudioFrame, SpeechEnded
from omnirt.runtime.prosody import Prosody, pitch_track, frames, prosody
from omnirt.runtime.vad import VADOptions, VADStage

RATE = 16000


def voiced(f0_start: float, f0_end: float, seconds: float, level: float = 0.3, fade_db: float = 0.0) -> np.ndarray:
    """A buzz (five harmonics) whose pitch glides from f0_start to f0_end and whose level falls by fade_db."""
    n = int(seconds * RATE)
    f0 = np.linspace(f0_start, f0_end, n)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    gain = level * 10 ** (np.linspace(0, -fade_db, n) / 20)
    return (gain * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def test_the_pitch_track_finds_the_pitch_not_an_octave_below():
    for f0 in (90.0, 150.0, 240.0):
        track, strength = pitch_track(frames(voiced(f0, f0, 0.5), 512, 160))
        assert np.all(np.abs(track - f0) < 0.02 * f0) and np.all(strength > 0.9)


def test_a_falling_pitch_differs_from_a_level_and_a_rising_one():
    level = prosody(np.concatenate([voiced(150, 150, 1.0), silence(0.2)]))
    fall = prosody(np.concatenate([voiced(150, 100, 1.0), silence(0.2)]))
    rise = prosody(np.concatenate([voiced(150, 200, 1.0), silence(0.2)]))
    assert abs(level.pitch_end) < 0.2 and abs(level.pitch_slope) < 1
    assert fall.pitch_end < -2 and fall.pitch_slope < -4  # semitones below the median, falling
    assert rise.pitch_end > 1.5 and rise.pitch_slope > 2
    # only the end counts: a level start then a fall in the last 300 ms
    late = prosody(np.concatenate([voiced(150, 150, 1.0), voiced(150, 110, 0.3), silence(0.2)]))
    assert late.pitch_slope < -5 and late.pitch_end < -2


def test_a_fade_and_the_silence_after_it():
    flat = prosody(np.concatenate([voiced(150, 150, 1.0), silence(0.5)]))
    fading = prosody(np.concatenate([voiced(150, 150, 0.7), voiced(150, 150, 0.3, fade_db=20), silence(0.5)]))
    assert fading.energy_end < flat.energy_end - 5
    assert flat.silence_s == pytest.approx(0.5, abs=0.04)
    assert flat.speech_s == pytest.approx(1.0, abs=0.05)


def test_a_drawn_out_last_syllable():
    syllables = [np.concatenate([voiced(150, 140, 0.15), silence(0.08)]) for _ in range(5)]
    even = prosody(np.concatenate([*syllables, voiced(150, 140, 0.15), silence(0.3)]))
    drawn = prosody(np.concatenate([*syllables, voiced(150, 140, 0.45), silence(0.3)]))
    assert abs(even.lengthening) < 0.2 and drawn.lengthening > 0.8


def test_nothing_to_hear_gives_neutral_features():
    assert prosody(silence(1.0)) == Prosody(silence_s=1.0)
    assert prosody(np.zeros(100, np.float32)) == Prosody()
    noise = np.random.default_rng(0).normal(0, 0.1, RATE).astype(np.float32)  # loud, but no pitch
    out = prosody(np.concatenate([noise, silence(0.2)]))
    assert out.pitch_end == 0.0 and out.pitch_slope == 0.0 and out.voiced_end < 0.3 and out.speech_s > 0.9


class LoudIsSpeech:
    """A detector for the stage's wiring (not a model): a chunk with a loud sample is speech."""

    prob = staticmethod(lambda chunk: float(np.abs(chunk).max() > 0.1))
    reset = staticmethod(lambda: None)
    fork = lambda self: self  # noqa: E731


async def test_the_vad_gives_the_voice_of_the_utterance_it_sent():
    vad = VADStage(LoudIsSpeech(), VADOptions(hangover_ms=400, speculate_ms=64, post_roll_ms=200))
    signal = np.concatenate([silence(0.3), voiced(160, 110, 1.0), silence(0.6)])
    pcm = (signal * 32767).astype(np.int16)
    out = []
    for i in range(0, len(pcm), 320):
        out += [f async for f in vad.process(AudioFrame(pcm=pcm[i:i + 320], sample_rate=RATE))]
    ended = [f for f in out if isinstance(f, SpeechEnded)]
    assert ended and vad.voice(ended[-1].turn) == prosody(ended[-1].audio)
    assert vad.voice(ended[-1].turn).pitch_end < -2  # the glide down is heard in the utterance the VAD held
    assert vad.voice(ended[-1].turn + 1) is None  # nothing sent for a later turn
