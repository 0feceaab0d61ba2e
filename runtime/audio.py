"""Small PCM helpers shared by stages and transports: format conversion and streaming resampling (soxr)."""

from __future__ import annotations

import numpy as np


def to_mono_float(pcm: np.ndarray) -> np.ndarray:
    """int16 or float PCM, [n] or [n, channels], to float32 mono in [-1, 1] (channels averaged).

    Runs for every 20 ms frame of every session, so it avoids ndarray.mean (~90 us a frame in numpy's Python
    wrapper): channels are summed column by column into float32 (~3 us)."""
    scale = 1.0 / 32768.0 if pcm.dtype == np.int16 else 1.0
    if pcm.ndim == 2:
        x = pcm[:, 0].astype(np.float32)
        for c in range(1, pcm.shape[1]):
            np.add(x, pcm[:, c], out=x, casting="unsafe")
        scale /= pcm.shape[1]
    else:
        x = pcm.astype(np.float32)
    if scale != 1.0:
        x *= np.float32(scale)
    return x


def to_int16(x: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] to int16, clipping."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


class StreamResampler:
    """Resamples a float32 mono stream chunk by chunk without edge artefacts (soxr keeps the filter state)."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate, self.out_rate = in_rate, out_rate
        self._stream = None
        if in_rate != out_rate:
            import soxr

            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")

    def process(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return x.astype(np.float32, copy=False)
        return self._stream.resample_chunk(x.astype(np.float32, copy=False), last=last)


def resample(x: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """One-shot resampling of a whole float32 mono signal."""
    return StreamResampler(in_rate, out_rate).process(x, last=True)
