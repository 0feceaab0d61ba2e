"""Where a word ends inside a whole sentence as a synthesiser spoke it: the cut points of the paused utterances of
`omnirt bench turns` (tools/bench/turns_corpus.py).

Why cut a whole sentence: a fragment synthesised on its own ("How many legs does an") ends the way a synthesiser
ends every text, with a sentence-final fall and fade, so a classifier fitted on such fragments learns the
synthesiser, not the speaker. A person who pauses mid-sentence stops with the pitch and loudness of mid-sentence
speech; the closest a synthesiser comes to that is its own rendering of the whole sentence, cut at the word
boundary where the pause goes.

How the boundary is found. flite says when each of its phones ends (-psdur), so its cut is exact: the phones of
the part before the pause, counted in that part spoken alone, end at the boundary. eSpeak NG's command line and
Piper give no timings, so for them each part is synthesised on its own too and the parts, joined, are aligned to
the whole sentence by dynamic time warping over cepstra (same voice, same phonemes; only the prosody differs); a
part ends where its last frame lands. Checked against flite's timings (`flite_boundaries` as the truth) the
alignment is off by tens of milliseconds (`python -m omnirt.tools.bench.turns_cut`; docs/measurements.md). Each
side of a cut is faded over `CutOptions.fade_ms` so that it does not click. Pure numpy apart from the synthesisers.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000


@dataclass(frozen=True)
class CutOptions:
    """frame_ms/hop_ms: the analysis frames. mels/ceps: the mel bands and cepstra compared (c0, the loudness, is
    left out: a part alone fades where the whole sentence goes on). fade_ms: the raised-cosine fade either side of
    a cut."""

    frame_ms: float = 25.0
    hop_ms: float = 10.0
    mels: int = 40
    ceps: int = 13
    fade_ms: float = 8.0


def _mel_filters(n_fft: int, mels: int) -> np.ndarray:
    """Triangular mel filters (mels, n_fft // 2 + 1) from 60 Hz to just under Nyquist."""
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    edges = 700 * (10 ** (np.linspace(mel(60.0), mel(RATE / 2 - 400), mels + 2) / 2595) - 1)
    freqs = np.fft.rfftfreq(n_fft, 1 / RATE)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))


def cepstra(audio: np.ndarray, options: CutOptions = CutOptions()) -> np.ndarray:
    """Cepstra c1..c(ceps-1) per frame (frames, ceps - 1) of 16 kHz mono audio."""
    frame, hop = int(options.frame_ms * RATE / 1000), int(options.hop_ms * RATE / 1000)
    audio = np.asarray(audio, np.float64)
    if len(audio) < frame:
        audio = np.pad(audio, (0, frame - len(audio)))
    n = 1 + (len(audio) - frame) // hop
    framed = np.lib.stride_tricks.as_strided(audio, (n, frame), (audio.strides[0] * hop, audio.strides[0]))
    n_fft = 1 << int(np.ceil(np.log2(frame)))
    power = np.abs(np.fft.rfft(framed * np.hamming(frame), n_fft, axis=1)) ** 2
    logmel = np.log(power @ _mel_filters(n_fft, options.mels).T + 1e-10)
    k = np.arange(options.mels)
    dct = np.cos(np.pi / options.mels * (k[None, :] + 0.5) * np.arange(options.ceps)[:, None])
    return (logmel @ dct.T)[:, 1:]


def warp(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The dynamic time warping of cepstra `x` onto `y`, both ends anchored (steps: both, x only, y only): for each
    frame of x, the first frame of y it is matched with."""
    cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2))
    n, m = cost.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(cost[0])
    for i in range(1, n):
        diag = np.concatenate([[np.inf], acc[i - 1, :-1]])
        arrive = np.minimum(diag, acc[i - 1]) + cost[i]  # from (i-1, j-1) or (i-1, j)
        run = np.cumsum(cost[i])  # then along y: acc[i, j] = min over k <= j of arrive[k] + cost[i, k+1..j]
        acc[i] = run + np.minimum.accumulate(arrive - run)
    first = np.zeros(n, int)
    i, j = n - 1, m - 1
    while i > 0 or j > 0:
        first[i] = j
        steps = [(acc[i - 1, j - 1], i - 1, j - 1)] if i and j else []
        steps += [(acc[i - 1, j], i - 1, j)] if i else []
        steps += [(acc[i, j - 1], i, j - 1)] if j else []
        _, i, j = min(steps)
    first[0] = 0
    return first


def boundaries(parts: list[np.ndarray], whole: np.ndarray, options: CutOptions = CutOptions()) -> list[int]:
    """The samples of `whole` where each of `parts` but the last ends: the parts (each synthesised on its own and
    trimmed) are joined and warped onto the whole sentence (trimmed too); a boundary is the middle of the last
    frame its part matched. (Not where the next part's first frame lands: a part alone is trimmed of the silent
    closure of a first stop consonant, which the whole sentence keeps.)"""
    hop, frame = int(options.hop_ms * RATE / 1000), int(options.frame_ms * RATE / 1000)
    lengths = [len(cepstra(p, options)) for p in parts]
    first = warp(np.concatenate([cepstra(p, options) for p in parts]), cepstra(whole, options))
    return [min(len(whole) - 1, int(first[s - 1]) * hop + frame // 2) for s in np.cumsum(lengths)[:-1]]


def flite_segments(options: tuple[str, ...], text: str, out: Path) -> list[tuple[str, float]]:
    """Speak `text` with flite (`options`: its -voice) into the WAV `out`; its segments as (phone, end in s)."""
    done = subprocess.run(["flite", *options, "-psdur", "-t", text, "-o", str(out)], check=True,
                          capture_output=True, text=True)
    return [(phone, float(end)) for phone, end in re.findall(r"(\S+):([0-9.]+)", done.stdout)]


def flite_boundaries(options: tuple[str, ...], parts: list[str], out: Path) -> list[float] | None:
    """Where each of `parts` but the last ends in flite's whole-sentence rendering (left in `out`), in seconds of
    that file: the part's phones, counted in the part spoken alone, end there. (A word may sound otherwise in
    context, "a" as "ey" alone and "ax" in a sentence, but it keeps its number of phones.) None where the counts
    disagree."""
    phones = [sum(p != "pau" for p, _ in flite_segments(options, part, out)) for part in parts]
    whole = [end for p, end in flite_segments(options, " ".join(parts), out) if p != "pau"]
    if len(whole) != sum(phones):
        return None
    return [whole[n - 1] for n in np.cumsum(phones)[:-1]]


def split(whole: np.ndarray, cuts: list[int], options: CutOptions = CutOptions()) -> list[np.ndarray]:
    """`whole` cut at the samples `cuts` (rising), each piece faded out before a cut and in after it."""
    if any(b <= a for a, b in zip([0, *cuts], [*cuts, len(whole)])):
        raise ValueError(f"cuts {cuts} must rise strictly inside 0..{len(whole)}")
    fade = int(options.fade_ms * RATE / 1000)
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade))).astype(np.float32)
    pieces = [np.array(whole[a:b], np.float32) for a, b in zip([0, *cuts], [*cuts, len(whole)])]
    for i, piece in enumerate(pieces):
        n = min(fade, len(piece))
        if i > 0:
            piece[:n] *= ramp[:n]
        if i < len(pieces) - 1:
            piece[len(piece) - n:] *= ramp[::-1][fade - n:]
    return pieces


def check_alignment(voices: tuple[str, ...] = ("kal", "kal16", "awb", "rms", "slt")) -> np.ndarray:
    """The alignment's error in ms at every cut of the corpus's paused sentences in flite's voices, with flite's
    own timings as the truth (what docs/measurements.md reports)."""
    import tempfile

    from .turns_corpus import HALVES, PAUSED, _read, _resampled, trim, trim_span

    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "w.wav"
        for voice in voices:
            for sentence in (s for half in HALVES for s in PAUSED[half]):
                parts = [p.strip() for p in sentence.split("|")]
                alone = []
                for part in parts:
                    flite_segments(("-voice", voice), part, out)
                    alone.append(trim(_resampled(*_read(out))))
                truth = flite_boundaries(("-voice", voice), parts, out)
                if truth is None:
                    continue
                whole = _resampled(*_read(out))
                start, stop = trim_span(whole)
                found = boundaries(alone, whole[start:stop])
                errors += [(f + start - t * RATE) * 1000 / RATE for f, t in zip(found, truth)]
    return np.array(errors)


if __name__ == "__main__":
    e = np.abs(check_alignment())
    print(f"{len(e)} cuts: median |error| {np.median(e):.0f} ms, 90 % within {np.percentile(e, 90):.0f} ms, "
          f"{100 * np.mean(e <= 30):.0f} % within 30 ms, worst {e.max():.0f} ms")
