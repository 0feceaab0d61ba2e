"""Whisper base speech recognition on onnxruntime: no torch, no CTranslate2 at run time.

    from omnirt.models.whisper import WhisperOnnx, WhisperOptions
    asr = WhisperOnnx.load(WhisperOptions(precision="int8"))
    result = asr.transcribe(audio_16k_float32)   # result.text, result.segments, result.no_speech_prob, ...

The ONNX graphs are the "whisper-base-onnx" export (built at set-up time from the CTranslate2 weights by
`export.py`); decoding is greedy in numpy (`decoder.py`) and matches faster-whisper's transcripts.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field, fields

from typing import Any

import numpy as np

from .context import encoded
from .decoder import DecodeSettings, Decoded, GreedyDecoder
from .mel import SAMPLE_RATE

__all__ = ["Segment", "Transcription", "WhisperOnnx", "WhisperOptions", "SAMPLE_RATE", "EXPORT"]

EXPORT = "whisper-base-onnx"


@dataclass(frozen=True)
class WhisperOptions:
    """How to load and run Whisper.

    precision: "int8" (dynamically quantised MatMul weights: faster on CPU, same transcripts on clean speech;
        docs/measurements.md) or "fp32" (the reference; matches faster-whisper fp32 token for token).
    intra_threads: onnxruntime threads per operator; 0 lets onnxruntime use every core. Give 1-2 when ASR
        shares the machine with other stages.
    provider: "auto" (CUDA when it really works here, else CPU), "cpu" or "cuda".
    timestamps: decode with Whisper's timestamp tokens, giving per-segment start/end; False is a little faster
        (fewer tokens) and gives one segment. Input over 30 s is always decoded with timestamps, because sliding
        windows seek to the last complete segment (fixed 30 s cuts split words and lose speech).
    max_tokens_per_second: cap on new tokens per second of audio in a window (plus token_margin); speech rarely
        needs more than 4, so 8 only stops hallucination loops early.
    token_margin: tokens allowed on top of that rate (short clips still get room for punctuation/timestamps).
    no_speech_threshold: a window is dropped as silence when the no-speech probability is above this ...
    logprob_threshold: ... and the average token log-probability is below this (faster-whisper's rule; without
        it a noise-only input decodes as " you") ...
    compression_ratio_threshold: ... or its text is a repetition loop (zlib ratio above this), which long noise
        can provoke with high confidence.
    language: Whisper language code of the speech ("en", "de", ...); no language detection is done.
    min_window_s: shortest encoder window for short audio. The encoder's time grows with its window, and a spoken
        question is 1-3 s, but a shorter window mishears some voices: at 5 s the word error rate over many
        questions is about the same, yet espeak's voice is heard worse and its "opposite of hot" becomes "opposite
        on heart" at every cut (30 = always full windows, exactly as faster-whisper does; docs/measurements.md).
    window_speech_ratio: the encoder window is at least this many times the audio in it (a window fitted tightly
        to the speech makes the decoder loop).
    beam_size: hypotheses kept while decoding (models/whisper/beam.py); 1 is greedy. faster-whisper's default is 5.
    doubt_beam: with greedy decoding, a window whose tokens average a log-probability below doubt_logprob, or whose
        text is a repetition loop (compression_ratio_threshold), is decoded again with a beam this wide, on the
        same encoder output (0: never). Why: a beam hears a phone line or a noisy
        room better than greedy decoding does, but costs about twice the decoding time, and on clean speech it is
        no better; greedy's own confidence tells the two apart, so only doubtful turns pay (docs/measurements.md).
    doubt_logprob: see doubt_beam.
    beam_window_s: with beam_size > 1, the shortest encoder window (30: always full windows, as faster-whisper).
        Why: a beam asked for on every window is asked for accuracy, and a window cut to min_window_s costs the
        search much of what it gains: Whisper heard only 30 s windows in training, and the less likely words that
        a beam weighs suffer first. The doubt beam keeps the greedy window's encoder output: encoding again would
        cost each doubtful live turn an encoder run for about a point of error rate (docs/measurements.md).
    """

    precision: str = "int8"
    intra_threads: int = 0
    provider: str = "auto"
    timestamps: bool = True
    max_tokens_per_second: float = 8.0
    token_margin: int = 10
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    language: str = "en"
    min_window_s: float = 10.0
    window_speech_ratio: float = 2.5
    beam_size: int = 1
    doubt_beam: int = 5
    doubt_logprob: float = -0.7
    beam_window_s: float = 30.0

    def __post_init__(self) -> None:
        if self.precision not in ("int8", "fp32"):
            raise ValueError(f"precision must be 'int8' or 'fp32', not {self.precision!r}")
        if self.provider not in ("auto", "cpu", "cuda"):
            raise ValueError(f"provider must be 'auto', 'cpu' or 'cuda', not {self.provider!r}")
        if self.intra_threads < 0 or self.max_tokens_per_second <= 0 or self.token_margin < 0:
            raise ValueError("intra_threads, token_margin must be >= 0 and max_tokens_per_second > 0")
        if not 1 <= self.beam_size <= 16 or not (self.doubt_beam == 0 or 2 <= self.doubt_beam <= 16):
            raise ValueError(f"beam_size must be 1 (greedy) to 16 and doubt_beam 0 or 2 to 16, not {self.beam_size} "
                             f"and {self.doubt_beam}")
        if not 0 < self.min_window_s <= 30 or not 0 < self.beam_window_s <= 30 or self.window_speech_ratio < 1:
            raise ValueError("min_window_s and beam_window_s must be in (0, 30] and window_speech_ratio >= 1")

    def settings(self) -> DecodeSettings:
        """The decoding knobs, for the decoder (which knows nothing of loading or providers)."""
        return DecodeSettings(**{f.name: getattr(self, f.name) for f in fields(DecodeSettings)})


@dataclass
class Segment:
    """A stretch of the transcript with its times in seconds from the start of the input."""

    start: float
    end: float
    text: str


@dataclass
class Transcription:
    """The result of one `transcribe` call.

    text: the whole transcript, stripped ("" when no window held speech).
    no_speech_prob: the lowest no-speech probability over the windows (high = nothing was said anywhere).
    avg_logprob: average log-probability of the kept tokens (confidence; below -1 is doubtful).
    duration: input length in seconds; encode_ms / decode_ms: time in the encoder / the decoding loop.
    doubted: windows decoded again with a beam because greedy decoding was unsure (WhisperOptions.doubt_beam).
    end_logprob: the log-probability of the last word (with its punctuation), given the words before it.
    tokens: the first window's tokens: a later transcription of the same audio grown longer reads them as its
        guess (`transcribe(guess=...)`).
    """

    text: str
    segments: list[Segment] = field(default_factory=list)
    no_speech_prob: float = 1.0
    avg_logprob: float = 0.0
    duration: float = 0.0
    encode_ms: float = 0.0
    decode_ms: float = 0.0
    doubted: int = 0
    end_logprob: float = 0.0
    tokens: list[int] = field(default_factory=list)


class WhisperOnnx:
    """Whisper base on onnxruntime; create with `WhisperOnnx.load(options)` (cached per options)."""

    def __init__(self, options: WhisperOptions, decoder: GreedyDecoder, provider: str) -> None:
        self.options = options
        self._decoder = decoder
        self.provider = provider  # "cpu" or "cuda": where the encoder's first node runs

    @classmethod
    def load(cls, options: WhisperOptions = WhisperOptions()) -> "WhisperOnnx":
        """Load (once per distinct options) from the whisper-base-onnx export; ModelMissingError if absent."""
        return _load(options)

    def transcribe(self, audio: np.ndarray, cancel: Any = None, draft: bool = False,
                   guess: Transcription | None = None, context: str = "") -> Transcription:
        """Transcribe float32 mono 16 kHz audio in [-1, 1]. ValueError on anything else that cannot be speech.
        `cancel`: a runtime CancelToken; setting it aborts the running model call (raises Cancelled).
        `draft`: a partial transcript while the user talks: never decoded again with the doubt beam.
        `guess`: an earlier transcription of the start of this audio (the last partial): greedy decoding reads its
        tokens in one decoder call and keeps those it would have chosen (guess.py): the same
        words, sooner.
        `context`: what was said before this audio (the conversation's last exchange), read by the decoder ahead of
        the audio as Whisper's prompt: words the conversation makes likely are heard more surely. A window whose
        words echo it, or hold a topic word of it that a decode without it does not, gives way to that decode, made
        on the same encoder output (context.py)."""
        from omnirt.runtime.threads import Cancelled

        audio = _validate(audio)
        ro = None
        if cancel is not None:
            ro = self._decoder.ort.RunOptions()
            cancel.attach(lambda: setattr(ro, "terminate", True))
        try:
            d = self._decoder.transcribe(audio, self.settings(draft), ro, guess=guess.tokens if guess else None,
                                         context=self.context_tokens(context))
            result = transcription(d, len(audio))
        except Exception:
            if cancel is not None and cancel.is_set():
                raise Cancelled("transcription cancelled") from None
            raise
        return result

    def context_tokens(self, text: str) -> tuple[int, ...]:
        """A context's text tokens (none for empty text), as `transcribe` reads them."""
        return encoded(self._decoder.tok, text)

    def settings(self, draft: bool = False) -> DecodeSettings:
        """The decoder's settings for a final transcript, or a draft's (never decoded again with the doubt beam)."""
        settings = self.options.settings()
        return dataclasses.replace(settings, doubt_beam=0) if draft else settings


def transcription(d: Decoded, samples: int) -> Transcription:
    """The public result of one decoded input of `samples` samples. Segment times are held within the input:
    Whisper may put a window's closing timestamp after the audio's end (4.0 s on a 3.3 s clip: it was trained on
    windows that went on), and no caller can use a time the input does not have."""
    end = samples / SAMPLE_RATE
    segments = [Segment(round(min(s, end), 3), round(min(e, end), 3), t.strip()) for s, e, t in d.segments]
    text = "".join(t for _, _, t in d.segments).strip()
    return Transcription(text=text, segments=segments, no_speech_prob=d.no_speech_prob,
                         avg_logprob=d.avg_logprob, duration=end,
                         encode_ms=d.encode_ms, decode_ms=d.decode_ms, doubted=d.doubted,
                         end_logprob=d.end_logprob, tokens=d.tokens)


def _validate(audio: object) -> np.ndarray:
    if not isinstance(audio, np.ndarray):
        raise ValueError(f"audio must be a numpy array, not {type(audio).__name__}")
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples, got shape {audio.shape}")
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"audio must be float samples in [-1, 1] at 16 kHz, got dtype {audio.dtype}")
    if audio.size == 0:
        raise ValueError("audio is empty")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        raise ValueError("audio contains NaN or infinite samples")
    return audio


@functools.lru_cache(maxsize=8)
def _load(options: WhisperOptions) -> WhisperOnnx:
    from omnirt.models import assets, onnx
    from .tokenizer import WhisperTokenizer

    d = assets.require_export(EXPORT)
    suffix = ".int8.onnx" if options.precision == "int8" else ".onnx"
    so = onnx.SessionOptions(intra_threads=options.intra_threads, provider=options.provider)
    encoder = onnx.session(d / f"encoder{suffix}", so)
    decoder = onnx.session(d / f"decoder{suffix}", so)
    provider = onnx.provider_of(encoder)
    meta = json.loads((d / "whisper.json").read_text())
    config = json.loads((d / "config.json").read_text())
    # (the BPE merges, to encode a context, are read from the export's source on first use)
    bpe = assets.ASSETS[assets.EXPORTS[EXPORT].source].path / "tokenizer.json"
    tokenizer = WhisperTokenizer.from_file(d / "vocabulary.txt", bpe)
    tokenizer.language_id(options.language)  # unknown language: fail at load, not mid-stream
    device = "cuda" if provider == "cuda" else "cpu"
    return WhisperOnnx(options, GreedyDecoder(encoder, decoder, tokenizer, config, meta["dims"], device), provider)
