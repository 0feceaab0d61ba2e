"""What a test hears in recorded speech: our Whisper's transcript, lower case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from omnirt.runtime.audio import resample, to_mono_float


def hear(audio: str | Path | np.ndarray, asr, rate: int | None = None) -> str:
    """Transcribe a WAV file, or int16/float samples at `rate`, with `asr` (the `asr` fixture)."""
    if isinstance(audio, (str, Path)):
        audio, rate = sf.read(str(audio), dtype="int16")
    if rate is None:
        raise ValueError("samples need their rate")
    return asr.transcribe(resample(to_mono_float(audio), rate, 16000)).text.lower()


def sounds_like(heard: str, *texts: str, limit: float = 0.7) -> bool:
    """Is `heard` one of `texts` as Whisper base may hear it: a character error rate within `limit` after the
    benches' normaliser. Why not the words: Piper renders a sentence a little differently each time, and Whisper
    base hears some renderings of short answers badly ("Bees make honey." as "These may conny.", "5" as "bye."),
    though a listener hears them right; silence or another sentence is still far off (above 1)."""
    import jiwer

    from omnirt.tools.bench.asr import normalise

    h = normalise(heard)
    return bool(h) and any(jiwer.cer(normalise(t), h) <= limit for t in texts if normalise(t))


def speech_span(audio: np.ndarray, rate: int, level: float = 0.02) -> float:
    """Seconds from the first to the last sample above `level` (full scale 1) in int16 or float samples."""
    x = np.abs(to_mono_float(audio))
    loud = np.flatnonzero(x > level)
    return float(loud[-1] - loud[0]) / rate if len(loud) else 0.0


def as_long_as_spoken(audio: np.ndarray, rate: int, spoken: np.ndarray, spoken_rate: int) -> bool:
    """Does `audio` hold about as much sound as `spoken` (the Talker's own rendering of the same answer)? What a
    test can still check of a short answer that Whisper base mishears: silence or another sentence fails."""
    own = speech_span(spoken, spoken_rate)
    return 0.6 * own < speech_span(audio, rate) < 1.6 * own + 0.1
