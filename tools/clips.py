"""The project's spoken test clips: everyday sentences rendered by three synthetic voices, cached by content hash.

Three voices of rising difficulty for ASR: Piper (neural, natural), flite (diphone, 8 kHz) and eSpeak NG (formant,
robotic). Each clip is a mono 16-bit WAV at the voice's native rate (the readers resample), stored under
~/.cache/omnirt/clips ($OMNIRT_CLIP_DIR overrides) with a name derived from the voice, its settings and the text,
so a clip is synthesised once and a changed sentence or voice never reuses a stale file.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

# Short everyday sentences for WER: no digits in the references (numbers are spelt out), mixed lengths.
SENTENCES: tuple[str, ...] = (
    "The weather is nice today, so we are going for a walk in the park.",
    "Please turn off the lights in the kitchen before you go to bed.",
    "Can you remind me to call my mother tomorrow evening?",
    "I would like a cup of coffee with milk and no sugar.",
    "The train to the city leaves in twenty minutes.",
    "She forgot her umbrella at the office yesterday.",
    "Open the window, it is getting warm in here.",
    "How much does this book cost?",
    "We should buy bread, eggs and cheese on the way home.",
    "My phone battery is almost empty.",
)

VOICES: tuple[str, ...] = ("piper", "espeak", "flite")
_SETTINGS = {"piper": "piper-joe/v1", "espeak": "espeak-ng/en/v1", "flite": "flite/default/v1"}
_APT_HINT = "apt-get install flite espeak-ng"


@dataclass
class Clip:
    """One rendered sentence: the WAV file, the text spoken, and which voice spoke it."""

    path: Path
    text: str
    voice: str


def clip_dir() -> Path:
    """Where clips are cached: $OMNIRT_CLIP_DIR, else ~/.cache/omnirt/clips."""
    env = os.environ.get("OMNIRT_CLIP_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "omnirt" / "clips"


def clip_path(text: str, voice: str) -> Path:
    key = hashlib.sha256(f"{_SETTINGS[voice]}\n{text}".encode()).hexdigest()[:20]
    return clip_dir() / f"{voice}-{key}.wav"


@functools.lru_cache(maxsize=1)
def _piper_voice():
    from piper import PiperVoice

    from omnirt.models import assets

    d = assets.require("piper-joe")
    return PiperVoice.load(d / "voice.onnx", config_path=d / "voice.onnx.json")


def _cli(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise RuntimeError(f"`{name}` is not installed (needed to synthesise test clips): run `{_APT_HINT}`")
    return exe


def synthesise(text: str, voice: str, out: Path, options: Sequence[str] = ()) -> None:
    """Write `text` spoken by `voice` ("piper", "espeak" or "flite") to the WAV file `out`, uncached. `options` are
    the synthesiser's own command-line options (a flite -voice, an espeak-ng -v and -s); Piper takes none."""
    if voice == "piper":
        with wave.open(str(out), "wb") as w:
            _piper_voice().synthesize_wav(text, w)
    elif voice == "espeak":
        subprocess.run([_cli("espeak-ng"), *options, "-w", str(out), text], check=True, capture_output=True)
    elif voice == "flite":
        subprocess.run([_cli("flite"), *options, "-t", text, "-o", str(out)], check=True, capture_output=True)
    else:
        raise ValueError(f"unknown voice {voice!r}; known: {', '.join(VOICES)}")


def make_clip(text: str, voice: str) -> Path:
    """The WAV of `text` spoken by `voice` ("piper", "espeak" or "flite"), synthesised on first use."""
    if voice not in VOICES:
        raise ValueError(f"unknown voice {voice!r}; known: {', '.join(VOICES)}")
    if not text.strip():
        raise ValueError("clip text is empty")
    path = clip_path(text, voice)
    if path.is_file() and path.stat().st_size > 44:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.wav")
    try:
        synthesise(text, voice, tmp, ("-v", "en") if voice == "espeak" else ())
        with wave.open(str(tmp), "rb") as w:  # refuse an empty or non-mono render rather than cache it
            if w.getnframes() == 0 or w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise RuntimeError(f"{voice} produced no usable audio for {text!r}")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def make_clips(texts: Iterable[str] = SENTENCES, voices: Iterable[str] = VOICES) -> list[Clip]:
    """Every text in every voice, voice by voice (all of one voice, then the next)."""
    texts = list(texts)
    return [Clip(make_clip(t, v), t, v) for v in voices for t in texts]


def read_audio(path: str | Path, rate: int = 16000) -> np.ndarray:
    """A clip as float32 mono in [-1, 1] at `rate` (soxr high-quality resampling)."""
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if sr != rate:
        import soxr

        mono = soxr.resample(mono, sr, rate)
    return np.ascontiguousarray(mono, dtype=np.float32)
