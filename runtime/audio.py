"""Small PCM helpers shared by stages and transports: format conversion and streaming resampling (soxr)."""

from __future__ import annotations

import numpy as np


def to_mono_float(pcm: np.ndarray) -> np.ndarray:
    """int16 or float PCM, [n] or [n, channels], to float32 mono in [-1, 1] (channels averaged).

    Runs for every 20 ms frame of every session, so it avoids ndarray.mean (slow in numpy's Python wrapper for
    arrays this small): channels are summed column by column into float32."""
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


def fade_in(x: np.ndarray, n: int) -> np.ndarray:
    """x with its first n samples raised from silence on a half cosine (a copy; x itself when n < 1)."""
    n = min(int(n), len(x))
    if n < 1:
        return x
    out = x.astype(np.float32, copy=True)
    out[:n] *= (0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)).astype(np.float32)
    return out


def to_int16(x: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] to int16, clipping."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


class StreamResampler:
    """Resamples a float32 mono stream chunk by chunk without edge artefacts.

    Integer down-sampling (48 or 32 kHz to 16 kHz: every live microphone stream) uses `Decimator`, which hands out
    each chunk's samples at once. soxr, used for every other ratio, works in blocks: streaming 20 ms frames from 48 to
    16 kHz it holds audio back by about a frame (docs/measurements.md), and that delay would be added to every
    end-of-speech decision. `low_latency=False` uses soxr for every ratio (its HQ filter is the better one for offline work)."""

    def __init__(self, in_rate: int, out_rate: int, low_latency: bool = True) -> None:
        self.in_rate, self.out_rate = in_rate, out_rate
        self._stream = None
        self._decimator = None
        if in_rate == out_rate:
            return
        if low_latency and in_rate > out_rate and in_rate % out_rate == 0:
            self._decimator = Decimator(in_rate // out_rate)
        else:
            import soxr

            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")

    def process(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        x = x.astype(np.float32, copy=False)
        if self._decimator is not None:
            return self._decimator.process(x)
        if self._stream is None:
            return x
        return self._stream.resample_chunk(x, last=last)


class Decimator:
    """Streaming down-sampling by an integer factor: a Kaiser-windowed sinc low-pass (128 taps per factor of 3,
    cut-off at 92 % of the new Nyquist frequency, about 80 dB of rejection) evaluated only at the kept samples.
    Its only delay is the filter's group delay (64 input samples: 1.3 ms at 48 kHz)."""

    def __init__(self, factor: int, taps_per_factor: int = 43) -> None:
        self.factor = factor
        n = taps_per_factor * factor - (taps_per_factor * factor) % 2  # even length
        t = np.arange(n) - (n - 1) / 2
        cutoff = 0.46 / factor  # cycles per input sample
        h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(n, 8.0)
        self._taps = (h / h.sum())[::-1].astype(np.float32)
        self._history = np.zeros(n - 1, np.float32)
        self._phase = 0  # input samples to skip before the next kept one

    def process(self, x: np.ndarray) -> np.ndarray:
        buf = np.concatenate([self._history, x])
        n = len(self._taps)
        self._history = buf[len(buf) - (n - 1):]
        first = self._phase  # window k covers buf[first + k*factor : ... + n]: its last sample is input sample
        count = (len(x) - first + self.factor - 1) // self.factor if len(x) > first else 0
        self._phase = first + count * self.factor - len(x)
        if count <= 0:
            return np.zeros(0, np.float32)
        step = buf.strides[0]  # the kept windows as a strided view (sliding_window_view costs ~35 us a call)
        windows = np.lib.stride_tricks.as_strided(buf[first:], shape=(count, n), strides=(self.factor * step, step),
                                                  writeable=False)
        return np.dot(windows, self._taps)  # (np.dot takes the strided view as it is: 3x faster than @)


def resample(x: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """One-shot resampling of a whole float32 mono signal (soxr HQ)."""
    return StreamResampler(in_rate, out_rate, low_latency=False).process(x, last=True)
