"""How the voice ended: pitch, loudness and timing at the end of an utterance, as a few numbers.

The words cannot always tell a finished turn from a pause: the recogniser rounds a fragment off into a sentence
("Book a table for" -> "Book a table for it."), and a short answer ("Paris.") looks unfinished to a language model.
Speakers mark the end of a turn in the voice as well: the pitch falls to the bottom of their range, the voice
fades, and the last syllable is drawn out; a speaker who only pauses tends to hold the pitch level. These features
measure that at a decision point, from the utterance audio the VAD holds (16 kHz mono float, ending in the silence
heard so far). Pure numpy (frame autocorrelation; no pitch-tracking library), a few milliseconds per utterance, and
only the last `ProsodyOptions.context_s` seconds are analysed, so the cost does not grow with the turn.

Each feature has a neutral value that it takes when the audio cannot say (no voiced frames: a whisper, a click, an
unvoiced last word), so a classifier over them degrades to the words alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

RATE = 16000


@dataclass(frozen=True)
class ProsodyOptions:
    """frame_ms/hop_ms: the analysis frames. f0_min/f0_max: the pitch range searched (Hz). voicing: the normalised
    autocorrelation peak above which a frame is voiced. octave: a peak at a shorter lag within this share of the
    highest is taken instead (no octave errors downwards). floor_db: frames quieter than this under the loud level
    (the 90th percentile) are silence. final_ms: the end region whose pitch and loudness are compared with the rest.
    context_s: how much audio before the speech end is analysed."""

    frame_ms: float = 32.0
    hop_ms: float = 10.0
    f0_min: float = 60.0
    f0_max: float = 400.0
    voicing: float = 0.45
    octave: float = 0.85
    floor_db: float = 35.0
    final_ms: float = 300.0
    context_s: float = 4.0


@dataclass(frozen=True)
class Prosody:
    """pitch_end: the pitch of the last voiced 100 ms in semitones against the utterance's median (a fall is
    negative). pitch_slope: the pitch's slope over the final region, semitones per second. energy_end: the loudness
    of the last 100 ms of speech in dB against the loud level (a fade is negative). lengthening: log of the last
    voiced stretch's length over the median voiced stretch (a drawn-out last syllable is positive). voiced_end: the
    share of voiced frames in the last 100 ms of speech. speech_s: the speech analysed, seconds. silence_s: the
    silence after the speech end, seconds."""

    pitch_end: float = 0.0
    pitch_slope: float = 0.0
    energy_end: float = 0.0
    lengthening: float = 0.0
    voiced_end: float = 0.0
    speech_s: float = 0.0
    silence_s: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def frames(audio: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """Overlapping frames (n, frame) of `audio`, a view (no copy)."""
    if len(audio) < frame:
        return np.zeros((0, frame), audio.dtype)
    n = 1 + (len(audio) - frame) // hop
    return np.lib.stride_tricks.as_strided(audio, (n, frame), (audio.strides[0] * hop, audio.strides[0]),
                                           writeable=False)


def pitch_track(framed: np.ndarray, options: ProsodyOptions = ProsodyOptions()) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: F0 in Hz (0 where unvoiced) and the normalised autocorrelation peak (the voicing strength).
    Autocorrelation by FFT over mean-removed, Hann-windowed frames, normalised by the window's own autocorrelation
    so that a periodic frame scores near 1 at any lag; the peak is refined by a parabola through its neighbours."""
    n, size = framed.shape
    if n == 0:
        return np.zeros(0), np.zeros(0)
    lo, hi = int(RATE / options.f0_max), min(int(RATE / options.f0_min), size - 2)
    window = np.hanning(size)
    x = (framed - framed.mean(axis=1, keepdims=True)) * window
    nfft = 1 << int(np.ceil(np.log2(2 * size)))
    ac = np.fft.irfft(np.abs(np.fft.rfft(x, nfft, axis=1)) ** 2, nfft, axis=1)[:, : hi + 2]
    wac = np.fft.irfft(np.abs(np.fft.rfft(window, nfft)) ** 2, nfft)[: hi + 2]
    energy = ac[:, :1]
    norm = np.where(energy > 1e-12, ac / np.maximum(energy, 1e-12), 0.0) / np.maximum(wac / wac[0], 1e-3)
    band = norm[:, lo - 1:hi + 2]
    local = (band[:, 1:-1] >= band[:, :-2]) & (band[:, 1:-1] >= band[:, 2:])
    best = band[:, 1:-1].max(axis=1, keepdims=True)
    # the shortest lag near the best peak: a periodic frame peaks again at twice its period (an octave too low)
    lag = lo + np.argmax(local & (band[:, 1:-1] >= options.octave * best), axis=1)
    rows = np.arange(n)
    peak = norm[rows, lag]
    a, b, c = norm[rows, lag - 1], peak, norm[rows, lag + 1]
    shift = np.clip(0.5 * (a - c) / np.where(np.abs(a - 2 * b + c) > 1e-9, a - 2 * b + c, 1e-9), -0.5, 0.5)
    f0 = RATE / (lag + shift)
    return np.where(peak >= options.voicing, f0, 0.0), peak


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def prosody(audio: np.ndarray, options: ProsodyOptions = ProsodyOptions()) -> Prosody:
    """The features of `audio` (16 kHz mono float) at its end; neutral ones where there is too little voice."""
    audio = np.asarray(audio, np.float32)
    frame, hop = int(options.frame_ms * RATE / 1000), int(options.hop_ms * RATE / 1000)
    framed = frames(audio, frame, hop)
    if len(framed) < 3:
        return Prosody()
    rms = np.sqrt(np.mean(framed.astype(np.float64) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-7))
    loud_level = float(np.percentile(db, 90))
    loud = (db > loud_level - options.floor_db) & (rms > 1e-4)
    if not loud.any():
        return Prosody(silence_s=len(audio) / RATE)
    last = int(np.flatnonzero(loud)[-1])
    silence_s = max(0.0, (len(audio) - (last * hop + frame)) / RATE)
    first = max(int(np.flatnonzero(loud)[0]), last + 1 - int(options.context_s * 1000 / options.hop_ms))
    sel = slice(first, last + 1)
    f0, _ = pitch_track(framed[sel], options)
    f0 = np.where(loud[sel], f0, 0.0)
    speech_s = float(loud[sel].sum() * options.hop_ms / 1000)
    tail = max(1, int(100 / options.hop_ms))
    energy_end = float(np.mean(db[sel][loud[sel]][-tail:]) - loud_level)
    voiced = f0 > 0
    out = Prosody(energy_end=energy_end, voiced_end=float(voiced[-tail:].mean()), speech_s=speech_s,
                  silence_s=silence_s)
    if voiced.sum() < 5:
        return out
    semis = np.zeros_like(f0)
    semis[voiced] = 12 * np.log2(f0[voiced] / np.median(f0[voiced]))
    idx = np.flatnonzero(voiced)
    final = int(options.final_ms / options.hop_ms)
    region = idx[idx >= len(f0) - final]
    pitch_end = float(np.median(semis[idx[-tail:]]))
    slope = 0.0
    if len(region) >= 4:
        t = region * options.hop_ms / 1000
        slope = float(np.polyfit(t, semis[region], 1)[0])
    # voiced stretches, bridging one-frame gaps (a pitch error inside a vowel)
    bridged = voiced.copy()
    gaps = np.flatnonzero(~voiced[1:-1] & voiced[:-2] & voiced[2:]) + 1
    bridged[gaps] = True
    lengths = np.array([b - a for a, b in _runs(bridged)], float)
    lengthening = float(np.log(lengths[-1] / np.median(lengths))) if len(lengths) else 0.0
    return Prosody(pitch_end=pitch_end, pitch_slope=float(np.clip(slope, -200, 200)), energy_end=energy_end,
                   lengthening=lengthening, voiced_end=out.voiced_end, speech_s=speech_s, silence_s=silence_s)
