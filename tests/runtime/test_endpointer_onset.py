"""Where an utterance begins: the onset moved back over sound the detector missed, a stream that begins inside
speech, the pre-roll's fade-in and its reach, and an unsure word that stands clear of the room (runtime/vad.py;
fixtures, no model). The rest of the endpointer's logic is in tests/runtime/test_endpointer.py."""

import dataclasses

import numpy as np
import pytest

from omnirt.runtime.frames import AudioFrame, SpeechEnded, SpeechStarted, UserSound
from omnirt.runtime.testing import run_test
from omnirt.runtime.vad import VADOptions, VADStage

from test_endpointer import EnergyDetector, tone_frames


def _room_then_voice(room: float, quiet_voice: float, rate: int = 16000) -> list[AudioFrame]:
    """1.2 s of a room at `room` RMS, 0.5 s of a voice too quiet for the detector (`quiet_voice` RMS), 1 s that it
    hears, 1 s of the room again."""
    rng = np.random.default_rng(1)
    t = np.arange(rate) / rate
    parts = [room * rng.standard_normal(int(1.2 * rate)),
             quiet_voice * np.sqrt(2) * np.sin(2 * np.pi * 180 * t[: rate // 2])
             + room * rng.standard_normal(rate // 2),
             0.3 * np.sin(2 * np.pi * 220 * t), room * rng.standard_normal(rate)]
    sig = (np.concatenate(parts) * 32767).astype(np.int16)
    return [AudioFrame(pcm=sig[i:i + 320], sample_rate=rate) for i in range(0, len(sig), 320)]


@pytest.mark.parametrize("room, voice, heard_s", [(0.001, 0.02, 1.7), (0.02, 0.02, 1.2)])
async def test_the_onset_moves_back_over_sound_the_detector_missed(room, voice, heard_s):
    """A phone line's first words can pass Silero's threshold only words later: the recogniser still gets them when
    they stand out of the room (the quiet voice, 0.5 s before the heard onset), but not the room itself."""
    opts = VADOptions(hangover_ms=300, speculate_ms=0, pre_roll_ms=200, post_roll_ms=0, level_onset=None)
    for lookback, expect in ((800, heard_s), (0, 1.2)):
        out = await run_test(VADStage(EnergyDetector(), dataclasses.replace(opts, lookback_ms=lookback)),
                             _room_then_voice(room, voice), ignore=(AudioFrame, UserSound))
        (ended,) = [f for f in out if isinstance(f, SpeechEnded)]
        assert abs(len(ended.audio) / 16000 - expect) < 0.07, (room, lookback, len(ended.audio) / 16000)
        assert abs(ended.audio_start - 1.7) < 0.05  # the turn's own onset is where the detector heard it


async def test_a_stream_that_begins_inside_speech_keeps_its_first_words():
    """A file (or a call) whose first sample is already the user's voice has no room before it to measure the voice
    against: the words the detector missed at the start are kept by the level floor alone (espeak's "What colour is
    a lemon?" from sample 0 was heard "Cutlery's out there" with its first word cut)."""
    rate, rng = 16000, np.random.default_rng(2)
    t = np.arange(rate) / rate
    quiet = 0.02 * np.sqrt(2) * np.sin(2 * np.pi * 180 * t[: rate // 2])  # 0.5 s the detector does not hear
    sig = np.concatenate([quiet, 0.3 * np.sin(2 * np.pi * 220 * t), 0.001 * rng.standard_normal(rate)])
    pcm = (sig * 32767).astype(np.int16)
    frames = [AudioFrame(pcm=pcm[i:i + 320], sample_rate=rate) for i in range(0, len(pcm), 320)]
    opts = VADOptions(hangover_ms=300, speculate_ms=0, pre_roll_ms=200, post_roll_ms=0, level_onset=None)
    for lookback, expect in ((800, 1.5), (0, 1.2)):
        out = await run_test(VADStage(EnergyDetector(), dataclasses.replace(opts, lookback_ms=lookback)), frames,
                             ignore=(AudioFrame, UserSound))
        (ended,) = [f for f in out if isinstance(f, SpeechEnded)]
        assert abs(len(ended.audio) / rate - expect) < 0.07, (lookback, len(ended.audio) / rate)
    # from the stream's first sample, not faded: it is the voice, not a room's step
    kept = [f for f in (await run_test(VADStage(EnergyDetector(), opts), frames, ignore=(AudioFrame, UserSound)))
            if isinstance(f, SpeechEnded)][0].audio
    assert np.sqrt(np.mean(kept[:160] ** 2)) > 0.01


async def test_the_pre_roll_fades_in_from_silence_and_leaves_the_speech_alone():
    """Cut out of a room's noise, an utterance would start with a step that Whisper hears as a consonant."""
    opts = VADOptions(hangover_ms=300, speculate_ms=0, pre_roll_ms=200, post_roll_ms=0, level_onset=None,
                      lookback_ms=0)
    heard = {}
    for fade in (100, 0):
        out = await run_test(VADStage(EnergyDetector(), dataclasses.replace(opts, fade_in_ms=fade)),
                             _room_then_voice(0.02, 0.2), ignore=(AudioFrame, UserSound))
        (ended,) = [f for f in out if isinstance(f, SpeechEnded)]
        heard[fade] = ended.audio
    rms = lambda a: float(np.sqrt(np.mean(a ** 2)))  # noqa: E731
    faded, plain = heard[100], heard[0]
    assert len(faded) == len(plain)
    assert rms(plain[:160]) > 0.015 and rms(faded[:160]) < 0.1 * rms(plain[:160])  # the first 10 ms: a step, or not
    assert rms(faded[800:1440]) == pytest.approx(rms(plain[800:1440]), rel=0.3)  # halfway up the fade
    np.testing.assert_array_equal(faded[1600:], plain[1600:])  # from 100 ms on, the audio as heard


async def test_the_audio_before_an_onset_never_reaches_into_the_previous_utterance():
    opts = VADOptions(hangover_ms=300, speculate_ms=0, pre_roll_ms=600, post_roll_ms=0, level_onset=None,
                      rejoin_ms=0)  # (else the second utterance would go on the first: tests/runtime/test_rejoin.py)
    frames = tone_frames([(1.2, False), (0.6, True), (0.35, False), (0.6, True), (0.6, False)])
    out = await run_test(VADStage(EnergyDetector(), opts), frames, ignore=(AudioFrame, UserSound))
    first, second = [f for f in out if isinstance(f, SpeechEnded)]
    assert abs(len(first.audio) / 16000 - 1.2) < 0.07  # the whole pre-roll of silence, then the tone
    assert len(second.audio) / 16000 < 0.35 + 0.6 + 0.04  # the gap since the first one's end, not 0.6 s back


class Unsure:
    """A detector that scores any sound `p`, never sure it is speech (Silero on a phone line's words)."""

    def __init__(self, p):
        self.p = p

    def prob(self, chunk):
        return self.p if np.abs(chunk).max() > 1e-3 else 0.01

    reset = lambda self: None  # noqa: E731
    fork = lambda self: self  # noqa: E731


async def test_an_unsure_word_that_stands_clear_of_the_room_is_heard():
    rng = np.random.default_rng(3)

    def frames(room_db, word_db, seconds=(1.0, 0.6, 1.0)):
        n = [int(s * 16000) for s in seconds]
        x = rng.standard_normal(sum(n)) * 10 ** (room_db / 20)
        x[n[0]:n[0] + n[1]] += np.sin(2 * np.pi * 300 * np.arange(n[1]) / 16000) * 10 ** (word_db / 20) * 1.41
        pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
        return [AudioFrame(pcm=pcm[i:i + 320], sample_rate=16000) for i in range(0, len(pcm), 320)]

    async def turns(detector, room_db, word_db, **opts):
        out = await run_test(VADStage(detector, VADOptions(**opts)), frames(room_db, word_db))
        return sum(isinstance(f, SpeechStarted) for f in out)

    assert await turns(Unsure(0.3), -70, -18) == 1  # 52 dB out of a quiet line: heard
    assert await turns(Unsure(0.3), -70, -18, clear_db=0) == 0  # (off: the detector alone never passes 0.5)
    assert await turns(Unsure(0.3), -35, -18) == 0  # 17 dB out of a noisy room: the detector decides
    assert await turns(Unsure(0.1), -70, -18) == 0  # a sound the detector thinks is not speech at all
