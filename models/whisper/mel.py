"""Whisper's log-mel front end in numpy, computed exactly as faster-whisper's FeatureExtractor does it.

Same float32 window, complex64 STFT, Slaney filterbank and clamping, so the features (and so the transcripts)
match faster-whisper's bit for bit on the same audio; tests compare the two.
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160  # 10 ms a frame
N_MELS = 80
FRAMES_PER_WINDOW = 3000  # 30 s: the encoder's full input


@functools.lru_cache(maxsize=4)
def mel_filters(n_mels: int = N_MELS, sr: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney-style mel filterbank [n_mels, n_fft/2+1] (librosa's default, which Whisper was trained with)."""
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mels = np.linspace(0.0, 45.245640471924965, n_mels + 2)  # mel(8 kHz) on the Slaney scale
    f_sp = 200.0 / 3  # linear part: 200/3 Hz per mel below 1 kHz
    freqs = f_sp * mels
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(freqs)
    ramps = freqs.reshape(-1, 1) - fftfreqs.reshape(1, -1)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (freqs[2: n_mels + 2] - freqs[:n_mels]))[:, None]  # equal energy per band
    return weights.astype(np.float32)


def log_mel(audio: np.ndarray, padding: int = HOP) -> np.ndarray:
    """float32 mono 16 kHz audio -> log-mel [80, frames] with frames = (len + padding) // 160.

    `padding` zeros are appended first, as faster-whisper does (so the last real samples get a full frame).
    """
    x = np.asarray(audio, dtype=np.float32)
    if padding:
        x = np.pad(x, (0, padding))
    x = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    n_frames = 1 + (len(x) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(x, (n_frames, N_FFT), (HOP * x.strides[0], x.strides[0]))
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    spec = np.fft.rfft(frames * window, n=N_FFT, axis=-1).astype(np.complex64).T  # [freq, frames]
    power = np.abs(spec[:, :-1]) ** 2
    mel = mel_filters() @ power
    log_spec = np.log10(np.clip(mel, 1e-10, None))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def pad_frames(mel: np.ndarray, frames: int) -> np.ndarray:
    """Zero-pad (or cut) a [80, n] log-mel to exactly `frames` columns, as Whisper's pad_or_trim does."""
    n = mel.shape[-1]
    if n >= frames:
        return np.ascontiguousarray(mel[:, :frames])
    return np.pad(mel, ((0, 0), (0, frames - n)))
