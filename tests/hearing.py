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
