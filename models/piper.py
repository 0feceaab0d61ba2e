"""The Talker on Piper (VITS voice in ONNX): text in, int16 mono audio out, streamed within each sentence.

Piper phonemizes the whole text (milliseconds, with its bundled espeak-ng); each sentence is then read into the
voice's latent frames and decoded stretch by stretch (models/piper_stream.py), so a sentence starts to sound after
a fraction of its synthesis. With `PiperOptions.stream = None` the voice runs once per sentence, as piper itself
does. The ONNX sessions come from `omnirt.models.onnx` (cached, provider chosen by the quiet CUDA probe) rather
than piper's own loader, which would ask for CUDA loudly or never.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from omnirt.models import assets, onnx
from omnirt.models.piper_stream import DECODER, FRONT, SplitVoice, StreamOptions


@dataclass(frozen=True)
class PiperOptions:
    """Knobs for the Piper Talker.

    voice: asset name of the voice (a folder with voice.onnx and voice.onnx.json).
    length_scale: phoneme duration factor; < 1 speaks faster, > 1 slower.
    noise_scale: generator noise (voice liveliness); the voice's own default is 0.667.
    noise_w_scale: phoneme-duration noise (rhythm variation); the voice's own default is 0.8.
    volume: output gain after peak normalisation (1.0 = peaks at full scale).
    sentence_silence: seconds of silence appended to each sentence's chunk (0 = the voice's natural pause).
    intra_threads: onnxruntime threads; 0 = all cores. 2: a turn's first clause is made while token generation
        pauses (runtime/threads.py Foreground), where 2 threads are clearly faster than 1; later clauses run beside
        1-thread generation, where 2 threads cost no more than 1 (docs/measurements.md).
    use_cuda: None = CUDA when `onnx.probe_providers()` says it really runs, else the CPU; True/False force it.
    stream: how a sentence's audio is cut as it is made (models/piper_stream.py StreamOptions), from the voice's
        split export (`<voice>-stream`); None makes each sentence whole, as piper does (the first sound then waits
        for the whole sentence's synthesis).
    peak: a streamed sentence is scaled as if this were its peak, then by `volume` (louder samples are clipped).
        Why: piper scales each sentence to its own peak, which is not known when its first stretch plays; this is
        about the highest the voice's sentences reach (docs/measurements.md). Whole sentences keep piper's scaling.
    """

    voice: str = "piper-joe"
    length_scale: float = 1.0
    noise_scale: float = 0.667
    noise_w_scale: float = 0.8
    volume: float = 1.0
    sentence_silence: float = 0.0
    intra_threads: int = 2
    use_cuda: bool | None = None
    stream: StreamOptions | None = StreamOptions()
    peak: float = 0.7

    def __post_init__(self) -> None:
        if self.length_scale <= 0 or self.noise_scale < 0 or self.noise_w_scale < 0 or self.volume <= 0:
            raise ValueError(f"invalid PiperOptions: {self}")
        if self.sentence_silence < 0 or self.intra_threads < 0 or self.peak <= 0:
            raise ValueError(f"invalid PiperOptions: {self}")

    @property
    def provider(self) -> str:
        return "auto" if self.use_cuda is None else ("cuda" if self.use_cuda else "cpu")


def _piper() -> Any:
    try:
        import piper
    except ImportError:
        raise RuntimeError("piper-tts is not installed: run `make setup`") from None
    return piper


class PiperTalker:
    """A loaded Piper voice; use `PiperTalker.load(options)` (cached)."""

    def __init__(self, voice: Any, options: PiperOptions, split: SplitVoice | None = None) -> None:
        from piper import SynthesisConfig

        self.voice = voice  # phonemizes; runs whole sentences when there is no split voice
        self.options = options
        self.split = split
        self.sample_rate: int = int(voice.config.sample_rate)
        self._syn = SynthesisConfig(length_scale=options.length_scale, noise_scale=options.noise_scale,
                                    noise_w_scale=options.noise_w_scale, volume=options.volume)
        self._scales = np.array([options.noise_scale, options.length_scale, options.noise_w_scale], dtype=np.float32)
        self._silence = np.zeros(int(round(options.sentence_silence * self.sample_rate)), dtype=np.int16)

    @staticmethod
    def load(options: PiperOptions = PiperOptions()) -> "PiperTalker":
        """The Talker for these options; the voice is loaded once per options."""
        return _load(options)

    @property
    def provider(self) -> str:
        """'cuda' or 'cpu': where the voice runs."""
        return onnx.provider_of(self.voice.session)

    def stream(self, text: str) -> Iterator[np.ndarray]:
        """Yield int16 mono chunks as they are made: stretches of each sentence (PiperOptions.stream), or one chunk
        per sentence; blank text yields none."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}")
        return self._generate(text)

    def _generate(self, text: str) -> Iterator[np.ndarray]:
        if not text.strip():
            return
        if self.split is None:
            for chunk in self.voice.synthesize(text, syn_config=self._syn):
                audio = chunk.audio_int16_array
                if audio.size:
                    yield np.concatenate([audio, self._silence]) if self._silence.size else audio
            return
        gain = self.options.volume / self.options.peak
        for phonemes in self.voice.phonemize(text):
            if not phonemes:
                continue
            latent = self.split.frames(self.voice.phonemes_to_ids(phonemes), self._scales)
            for audio in self.split.decode(latent):
                yield (np.clip(audio * gain, -1.0, 1.0) * 32767).astype(np.int16)
            if self._silence.size:
                yield self._silence

    def synthesize(self, text: str) -> np.ndarray:
        """The whole text as one int16 array."""
        chunks = list(self.stream(text))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


@functools.lru_cache(maxsize=4)
def _load(options: PiperOptions) -> PiperTalker:
    piper = _piper()
    from piper.config import PiperConfig

    folder = assets.require(options.voice)
    config = PiperConfig.from_dict(json.loads((folder / "voice.onnx.json").read_text(encoding="utf-8")))
    so = onnx.SessionOptions(intra_threads=options.intra_threads, provider=options.provider,
                             mem_pattern=False)  # any sentence length: see SessionOptions
    if options.stream is None:
        return PiperTalker(piper.PiperVoice(session=onnx.session(folder / "voice.onnx", so), config=config), options)
    split = assets.require_export(stream_export(options.voice))
    front, decoder = onnx.session(split / FRONT, so), onnx.session(split / DECODER, so)
    voice = piper.PiperVoice(session=front, config=config)  # it phonemizes; the split sessions make the audio
    return PiperTalker(voice, options, SplitVoice(front, decoder, config.hop_length, options.stream))


def stream_export(voice: str) -> str:
    """The name of a voice's split export (models/assets.py EXPORTS); ValueError when there is none."""
    name = f"{voice}-stream"
    if name not in assets.EXPORTS:
        raise ValueError(f"voice {voice!r} has no split export to stream from: load it with PiperOptions(stream=None)")
    return name
