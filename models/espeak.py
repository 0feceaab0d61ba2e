"""The fallback Talker: espeak-ng in-process through ctypes (the `espeakng-loader` wheel; no apt, no model files).

Robotic but tiny and ~500x faster than real time, so it serves where the Piper voice is absent. libespeak-ng keeps
global state (one voice, one callback, one set of parameters), so every call into it holds one process-wide lock.
Text is split into sentences here and each is synthesized by its own `espeak_Synth` call: each chunk is ready in
about a millisecond and the generator hands it out before the next sentence is started.
"""

from __future__ import annotations

import ctypes
import functools
import re
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: synth callback receives the audio, espeak_Synth blocks
_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data dir as an error instead of calling exit()
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7  # espeak_PARAMETER
_EE_OK = 0
_BUFFER_MS = 200  # audio per callback inside one espeak_Synth call

_LOCK = threading.Lock()
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# A sentence ends at . ! ? (or ; :) followed by white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences (and ;/: clauses) of the text, stripped, blanks dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


@dataclass(frozen=True)
class EspeakOptions:
    """Knobs for the espeak-ng Talker.

    voice: espeak-ng voice name ("en-us", "en-gb", "en-us+f3" for a variant); an unknown name raises ValueError.
    rate: speaking rate in words per minute (espeak's default 175; 80-450).
    pitch: base pitch, 0-100 (default 50).
    pitch_range: intonation range, 0 (monotone) to 100 (default 50).
    volume: amplitude, 0-200 (default 100).
    word_gap: extra pause between words in units of 10 ms (0 = none); helps ASR and clarity at a cost in speed.
    """

    voice: str = "en-us"
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    volume: int = 100
    word_gap: int = 0

    def __post_init__(self) -> None:
        if not (80 <= self.rate <= 450 and 0 <= self.pitch <= 100 and 0 <= self.pitch_range <= 100
                and 0 <= self.volume <= 200 and self.word_gap >= 0):
            raise ValueError(f"invalid EspeakOptions: {self}")


class _Engine:
    """The process-wide libespeak-ng, initialised once; audio from the callback collects into `buffer`."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise RuntimeError("espeakng-loader is not installed: run `make setup`") from None
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetVoiceByName.restype = ctypes.c_int
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_SetParameter.restype = ctypes.c_int
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint),
                                          ctypes.c_void_p]
        self.lib.espeak_Synth.restype = ctypes.c_int
        data = espeakng_loader.get_data_path().encode()
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise RuntimeError(f"espeak-ng failed to initialise (data dir {data.decode()})")
        self.sample_rate = rate
        self.buffer: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._on_audio)  # kept referenced: C holds only the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav: Any, n: int, _events: Any) -> int:
        if n > 0 and wav:
            self.buffer.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = go on

    def configure(self, o: EspeakOptions) -> None:
        if self.lib.espeak_SetVoiceByName(o.voice.encode()) != _EE_OK:
            raise ValueError(f"unknown espeak-ng voice {o.voice!r}")
        for param, value in ((_RATE, o.rate), (_PITCH, o.pitch), (_RANGE, o.pitch_range), (_VOLUME, o.volume),
                             (_WORDGAP, o.word_gap)):
            self.lib.espeak_SetParameter(param, value, 0)

    def synth(self, text: str) -> np.ndarray:
        raw = text.encode("utf-8")
        self.buffer = []
        err = self.lib.espeak_Synth(raw, len(raw) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with error {err}")
        audio = np.concatenate(self.buffer) if self.buffer else np.zeros(0, dtype=np.int16)
        self.buffer = []
        return audio.astype(np.int16, copy=False)


@functools.lru_cache(maxsize=1)
def _engine() -> _Engine:
    with _LOCK:
        return _Engine()


class EspeakTalker:
    """espeak-ng behind the same interface as PiperTalker; use `EspeakTalker.load(options)`."""

    def __init__(self, options: EspeakOptions) -> None:
        self.options = options
        self._engine = _engine()
        self.sample_rate: int = self._engine.sample_rate
        with _LOCK:
            self._engine.configure(options)  # fail early on an unknown voice

    @staticmethod
    def load(options: EspeakOptions = EspeakOptions()) -> "EspeakTalker":
        """The Talker for these options (cached; the library is initialised once per process)."""
        return _load(options)

    def stream(self, text: str) -> Iterator[np.ndarray]:
        """Yield int16 mono chunks, one per sentence; blank text yields none."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return self._generate(split_sentences(text))

    def _generate(self, sentences: list[str]) -> Iterator[np.ndarray]:
        for sentence in sentences:
            with _LOCK:  # not held across the yield: another Talker may speak between our sentences
                self._engine.configure(self.options)
                audio = self._engine.synth(sentence)
            if audio.size:
                yield audio

    def synthesize(self, text: str) -> np.ndarray:
        """The whole text as one int16 array."""
        chunks = list(self.stream(text))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


@functools.lru_cache(maxsize=8)
def _load(options: EspeakOptions) -> EspeakTalker:
    return EspeakTalker(options)
