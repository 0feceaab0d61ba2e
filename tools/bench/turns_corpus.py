"""The spoken corpus of `omnirt bench turns`: requests that pause mid-sentence, requests that do not, short answers
and backchannels, each with its pauses and its real end marked in samples.

Why these four kinds: an end-of-turn policy fails two ways. It cuts the user off at a pause in an unfinished
request ("How many legs does an | octopus have?"), or it keeps a finished user waiting. Silence alone cannot tell
the two apart; the words can, except where they are few ("Paris.", "Okay."), which is why short answers and
backchannels are measured on their own: a detector that waits long on every short answer buys its cutoff rate with
their latency.

Why two halves: the detector's threshold and waits are chosen on the tuning half and the figures are read on the
held-out half, which shares no sentence and no voice with it (a unit test checks), so a setting fitted to one
synthetic voice or sentence does not flatter the result. A held-out set read again and again while the detector
changes stops being held out, so it is replaced by a fresh one (HELDOUT_SETS). No sentence comes from
tools/clips.py SENTENCES, tools/questions.py or tools/bench/asr_corpus.py HELD_OUT: those tuned the recogniser and
the endpointing.

How a pause is made: the sentence is spoken whole, once, and cut at the word boundary where it is unfinished
(tools/bench/turns_cut.py: flite's own phone timings; for eSpeak NG and Piper, each part spoken alone and aligned to
the whole), so that the words before a pause keep the pitch and loudness of mid-sentence speech. (Until v1 of the
cut each part was spoken on its own and ended with the synthesiser's sentence-final fall, which a classifier of the
voice then learned.) The sentence is trimmed of the synthesiser's own leading and trailing silence so that the
pause is exactly what the plan says, and the pieces are joined with digital silence of 200-2000 ms (log-uniform,
seeded by the utterance: the same corpus on every machine). The same voices as `bench asr --live`
(tools/bench/asr_corpus.py _speak). Each utterance is
a 16 kHz mono WAV with its marks in a JSON file beside it, cached under ~/.cache/omnirt/turns
($OMNIRT_TURNS_DIR overrides) by a hash of how it was made. The cache is what makes runs comparable: Piper samples
noise as it speaks, so a fresh cache renders its utterances a little differently (two builds: 10 of 28 Piper
utterances heard differently), while flite and eSpeak NG render the same audio every time.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .asr_corpus import _speak, pick, voice_command, write_wav
from .turns_cut import boundaries, flite_boundaries, split
from .turns_sentences import (BACKCHANNEL, COMPLETE, HALF_VOICES, PAUSED, PER_SENTENCE,  # noqa: F401 - the corpus API
                              SENTENCES, SHORT)

RATE = 16000
LEAD_S, TAIL_S = 0.3, 0.5
PAUSE_MS = (200, 2000)
KINDS = ("paused", "complete", "short", "backchannel")
HALVES = ("tuning", "heldout")
# The held-out half is one of these sets. A set read again and again while the detector changes is no longer held
# out: "heldout" (read three times, 2026-12-03..06) joined the tuning half on 2026-12-06, and "heldout3" (read twice
# offline and three times live) later that day, each less its utterances by a speaker a held-out set still has;
# "heldout2" (read twice) stays for comparing with earlier runs; "heldout4" was read once with the 0.5B Thinker
# (session 21) and once with the 1.5B (2026-12-06, session 22), and stays selectable; "heldout5", written 2026-12-06
# (session 23), was read once offline and live (session 23) and twice more offline (with and without the recogniser's
# context, session 24), and stays selectable; "heldout6", written 2026-12-07 (session 25),
# was read twice offline and five times live (sessions 25-26), and stays selectable; "heldout7", written 2026-12-07
# (session 27), was read three times offline and three times live (session 27), and stays selectable; "heldout8",
# written 2026-12-07 (session 28), was read four times offline and three times live (sessions 28-29), and stays
# selectable; "heldout9", written 2026-12-07 (session 29) before any model heard it, is the fresh one, to be read
# once per change of the detector or of how turns are joined.
HELDOUT_SETS = ("heldout9", "heldout8", "heldout7", "heldout6", "heldout5", "heldout4", "heldout2")
TUNING_SETS = ("tuning", "heldout", "heldout3")
_VERSION = "v1"
CUT_VERSION = "whole sentence cut, v1"  # in the key of utterances with a pause only: the others are unchanged


@dataclass(frozen=True)
class Planned:
    """One utterance as planned: which words, which voice, how long each inner pause is (none for most kinds)."""

    half: str
    kind: str
    family: str
    voice: str
    parts: tuple[str, ...]
    pauses_ms: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.parts)

    @property
    def key(self) -> str:
        spec = " ".join(voice_command(self.family, self.voice))
        cut = f"\n{CUT_VERSION}" if len(self.parts) > 1 else ""
        made = f"{_VERSION}\n{spec}\n{'|'.join(self.parts)}\n{self.pauses_ms}\n{LEAD_S} {TAIL_S}{cut}"
        return hashlib.sha256(made.encode()).hexdigest()[:16]


@dataclass
class Utterance:
    """A built utterance: the WAV, its plan, where each inner pause starts and lasts, and where the speech ends
    (all in samples at 16 kHz)."""

    path: Path
    plan: Planned
    pauses: list[tuple[int, int]] = field(default_factory=list)
    end: int = 0


def corpus_dir() -> Path:
    env = os.environ.get("OMNIRT_TURNS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "omnirt" / "turns"


def pause_lengths(text: str, voice: str, n: int) -> tuple[int, ...]:
    """`n` pause lengths in ms, log-uniform over PAUSE_MS, rounded to 10 ms, seeded by the sentence and voice."""
    seed = int(hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()[:8], 16)
    lo, hi = np.log(PAUSE_MS[0]), np.log(PAUSE_MS[1])
    drawn = np.exp(np.random.default_rng(seed).uniform(lo, hi, n))
    return tuple(int(min(PAUSE_MS[1], max(PAUSE_MS[0], round(x / 10) * 10))) for x in drawn)


def after_question(p: Planned) -> bool:
    """The conversation each utterance is imagined in, for the classifier's context feature: a short answer
    ("Paris.") answers a question the assistant asked, a backchannel is said while the assistant talks, and a
    request follows a question ("Anything else?") one time in three (seeded by the sentence and voice), so that the
    context alone cannot tell a finished request from a fragment."""
    if p.kind in ("short", "backchannel"):
        return p.kind == "short"
    return int(hashlib.sha256(f"asked\n{p.voice}\n{p.text}".encode()).hexdigest()[:8], 16) % 3 == 0


def speaker(family: str, voice: str) -> tuple[str, str]:
    """Who speaks: flite's kal and kal16 are one speaker, and so is an eSpeak NG voice at any speed."""
    return family, (voice.rsplit("-", 1)[0] if family == "espeak" else voice.replace("kal16", "kal"))


def plan(halves: tuple[str, ...] = HALVES, heldout: str = HELDOUT_SETS[0]) -> list[Planned]:
    """Every utterance of the corpus, nothing synthesised, the held-out half spoken from the set `heldout`. The
    tuning half is every set of TUNING_SETS, less the utterances of a speaker that some held-out set has. Ordered
    so that any prefix mixes halves and kinds (`--limit N` then still measures a bit of everything)."""
    if heldout not in HELDOUT_SETS:
        raise ValueError(f"unknown held-out set {heldout!r}; known: {', '.join(HELDOUT_SETS)}")
    held = {speaker(*v) for name in HELDOUT_SETS for v in HALF_VOICES[name]}
    # Each half's own set first, then the tuning half's older sets, so that a prefix mixes the halves.
    sets = [(TUNING_SETS[0] if h == "tuning" else heldout, h) for h in halves]
    sets += [(n, "tuning") for n in TUNING_SETS[1:] if "tuning" in halves]
    groups: list[list[Planned]] = []
    for name, half in sets:
        voices = HALF_VOICES[name]
        for kind in KINDS:
            group = []
            for i, sentence in enumerate(SENTENCES[kind][name]):
                parts = tuple(p.strip() for p in sentence.split("|"))
                for v in pick(len(voices), i, PER_SENTENCE[kind]):
                    family, voice = voices[v]
                    if half != "tuning" or speaker(family, voice) not in held:
                        group.append(Planned(half, kind, family, voice, parts,
                                             pause_lengths(sentence, voice, len(parts) - 1)))
            groups.append(group)
    longest = max(len(g) for g in groups)
    return [g[i] for i in range(longest) for g in groups if i < len(g)]


def build(planned: list[Planned]) -> list[Utterance]:
    """Each planned utterance as a cached WAV with its marks (synthesised on first use)."""
    return [_build(p) for p in planned]


def _build(p: Planned) -> Utterance:
    path = corpus_dir() / f"{p.half}-{p.kind}-{p.family}-{p.voice}-{p.key}.wav"
    marks = path.with_suffix(".json")
    if path.is_file() and marks.is_file():
        m = json.loads(marks.read_text())
        return Utterance(path, p, [tuple(x) for x in m["pauses"]], m["end"])
    audio, pauses = join(pieces(p.family, p.voice, p.parts), p.pauses_ms)
    end = len(audio) - int(TAIL_S * RATE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.wav")
    try:
        write_wav(tmp, audio, RATE)
        marks.write_text(json.dumps({"text": p.text, "pauses": pauses, "end": end}))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return Utterance(path, p, [tuple(x) for x in pauses], end)


def pieces(family: str, voice: str, parts: tuple[str, ...]) -> list[np.ndarray]:
    """The speech of each part: a single part spoken alone; several cut from the sentence spoken whole."""
    if len(parts) == 1:
        return [_part(family, voice, parts[0])]
    if family == "flite":
        tmp = corpus_dir() / f".cut-{os.getpid()}.wav"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            ends = flite_boundaries(voice_command(family, voice)[1:], list(parts), tmp)
            audio = _resampled(*_read(tmp))
        finally:
            tmp.unlink(missing_ok=True)
        start, stop = trim_span(audio)
        if ends is not None:
            return split(audio[start:stop], [round(t * RATE) - start for t in ends])
    whole = _part(family, voice, " ".join(parts))
    return split(whole, boundaries([_part(family, voice, part) for part in parts], whole))


def _read(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), rate


def _resampled(audio: np.ndarray, rate: int) -> np.ndarray:
    import soxr

    return np.asarray(soxr.resample(audio, rate, RATE) if rate != RATE else audio, np.float32)


def _part(family: str, voice: str, text: str) -> np.ndarray:
    return trim(_resampled(*_speak(family, voice, text)))


def trim(audio: np.ndarray, floor_db: float = -40.0, margin_ms: int = 10) -> np.ndarray:
    """The speech without the synthesiser's leading and trailing silence: 10 ms frames quieter than `floor_db`
    under the loudest frame are cut from both ends, `margin_ms` kept either side."""
    start, stop = trim_span(audio, floor_db, margin_ms)
    return audio[start:stop]


def trim_span(audio: np.ndarray, floor_db: float = -40.0, margin_ms: int = 10) -> tuple[int, int]:
    """(start, stop) of what `trim` keeps."""
    frame = RATE // 100
    n = len(audio) // frame
    if n == 0:
        return 0, len(audio)
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (floor_db / 20))
    margin = margin_ms * RATE // 1000
    return max(0, loud[0] * frame - margin), min(len(audio), (loud[-1] + 1) * frame + margin)


def join(parts: list[np.ndarray], pauses_ms: tuple[int, ...]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The parts with LEAD_S of silence before, the pauses between and TAIL_S after; the pauses as
    (start sample, length in samples)."""
    if len(pauses_ms) != len(parts) - 1:
        raise ValueError(f"{len(parts)} parts need {len(parts) - 1} pauses, got {len(pauses_ms)}")
    pieces = [np.zeros(int(LEAD_S * RATE), np.float32)]
    at, marks = len(pieces[0]), []
    for i, part in enumerate(parts):
        pieces.append(part)
        at += len(part)
        if i < len(pauses_ms):
            gap = pauses_ms[i] * RATE // 1000
            marks.append((at, gap))
            pieces.append(np.zeros(gap, np.float32))
            at += gap
    pieces.append(np.zeros(int(TAIL_S * RATE), np.float32))
    return np.concatenate(pieces).astype(np.float32), marks
