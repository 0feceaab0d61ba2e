"""The level-based onset guess (runtime/onset.py) on synthetic fixtures, and how VADStage uses it."""

import numpy as np

from omnirt.runtime.frames import AudioFrame, UserSound
from omnirt.runtime.onset import BLOCK, LevelOnset, LevelOnsetOptions
from omnirt.runtime.vad import CHUNK, VADOptions, VADStage

RATE = 16000


def tone(ms: int, dbfs: float, hz: float = 300.0) -> np.ndarray:
    t = np.arange(ms * RATE // 1000) / RATE
    return (np.sqrt(2) * 10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def noise(ms: int, dbfs: float, seed: int = 0) -> np.ndarray:
    return (10 ** (dbfs / 20) * np.random.default_rng(seed).standard_normal(ms * RATE // 1000)).astype(np.float32)


def events(det: LevelOnset, audio: np.ndarray, step: int = 320) -> list[tuple[int, str]]:
    """(sample index at the end of the fed piece, event) for audio fed in 20 ms pieces."""
    out = []
    for i in range(0, len(audio), step):
        ev = det.feed(audio[i:i + step])
        if ev:
            out.append((i + step, ev))
    return out


def test_a_jump_above_the_background_is_guessed_in_the_first_block():
    det = LevelOnset()
    audio = np.concatenate([noise(500, -60), tone(200, -25)])
    evs = events(det, audio, step=BLOCK)
    assert evs[0] == (8000 + BLOCK, "onset")  # the first 10 ms block of the tone


def test_a_steady_background_or_a_quiet_sound_never_counts():
    assert events(LevelOnset(), noise(3000, -35)) == []  # loud fan: no jump over its own floor
    assert events(LevelOnset(), np.concatenate([noise(500, -70), tone(500, -45)])) == []  # below min_dbfs


def test_an_unconfirmed_guess_is_withdrawn_and_followed_by_a_refractory_period():
    o = LevelOnsetOptions(confirm_ms=100, refractory_ms=500)
    det = LevelOnset(o)
    clicks = np.concatenate([noise(300, -70), tone(30, -20), noise(300, -70), tone(30, -20), noise(400, -70),
                             tone(30, -20), noise(200, -70)])
    evs = [e for _, e in events(det, clicks, step=BLOCK)]
    # the second click falls inside the refractory period after the first guess was withdrawn; the third does not
    assert evs == ["onset", "withdrawn", "onset", "withdrawn"]


def test_a_confirmed_guess_stands_until_reset():
    det = LevelOnset()
    audio = np.concatenate([noise(300, -70), tone(60, -20)])
    assert [e for _, e in events(det, audio)] == ["onset"]
    det.confirmed()
    assert events(det, tone(1000, -20)) == []  # no withdrawal, no new guess while speech goes on
    det.reset()
    assert [e for _, e in events(det, np.concatenate([noise(300, -70), tone(60, -20)]))] == ["onset"]


class NoSpeech:
    """A speech detector that never hears speech (so every level guess must be withdrawn)."""

    def prob(self, chunk: np.ndarray) -> float:
        return 0.0

    def reset(self) -> None: ...

    def fork(self) -> "NoSpeech":
        return self


async def test_vad_stage_holds_at_the_level_jump_and_releases_when_silero_disagrees():
    stage = VADStage(NoSpeech(), VADOptions())
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), tone(50, -20), np.zeros(RATE, np.float32)])
    sent = []
    for i in range(0, len(audio), 320):
        pcm = (audio[i:i + 320] * 32767).astype(np.int16)
        async for f in stage.process(AudioFrame(pcm=pcm, sample_rate=RATE, ts=i / RATE)):
            if isinstance(f, UserSound):
                sent.append((i, f.active))
    assert [a for _, a in sent] == [True, False]
    assert sent[0][0] == RATE // 2  # in the very frame where the sound starts, before a whole chunk is heard
    assert sent[1][0] - sent[0][0] <= VADOptions().level_onset.confirm_ms * RATE // 1000 + CHUNK

    quiet = VADStage(NoSpeech(), VADOptions(level_onset=None))
    async for f in quiet.process(AudioFrame(pcm=(audio * 32767).astype(np.int16), sample_rate=RATE, ts=0.0)):
        assert not isinstance(f, UserSound)
