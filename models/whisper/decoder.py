"""Greedy Whisper decoding in numpy over the exported ONNX encoder and KV-cache decoder step.

Mirrors what faster-whisper asks of CTranslate2 with beam_size=1 and temperature 0 (same suppression lists, the
same timestamp rules, the same no-speech probability and average log-prob), so transcripts match it, plus two
guards for short utterances that faster-whisper lacks: the encoder window shrinks to max(min_window_s,
ratio x speech) instead of always 30 s, and the number of new tokens is capped by the audio's length, so a
hallucination loop ends after a few tokens instead of 224. Audio longer than 30 s is decoded window by window,
each window seeking to the last complete timestamped segment (or by 30 s without timestamps); the log-mel is
computed per window, so memory stays bounded by one window whatever the input length.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .mel import FRAMES_PER_WINDOW, HOP, SAMPLE_RATE, log_mel, pad_frames
from .timestamps import _log_softmax, split_segments, timestamp_rules
from .tokenizer import WhisperTokenizer

if TYPE_CHECKING:
    from .batch import FirstWindow

MAX_NEW_TOKENS = 224  # CTranslate2's cap: half the decoder context


@dataclass(frozen=True)
class DecodeSettings:
    """The decoding knobs of WhisperOptions that this module needs (see WhisperOptions for their meaning)."""

    language: str = "en"
    timestamps: bool = True
    max_tokens_per_second: float = 8.0
    token_margin: int = 10
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    min_window_s: float = 10.0
    window_speech_ratio: float = 2.5
    beam_size: int = 1
    doubt_beam: int = 0
    doubt_logprob: float = -0.7
    beam_window_s: float = 30.0


@dataclass
class WindowResult:
    tokens: list[int]
    no_speech_prob: float
    sum_logprob: float
    avg_logprob: float
    token_logprobs: list[float] | None = None  # each generated token's log-probability given those before it


@dataclass
class Decoded:
    """Everything one transcription produced, before the public API wraps it."""

    segments: list[tuple[float, float, str]] = field(default_factory=list)
    no_speech_prob: float = 1.0
    avg_logprob: float = 0.0
    encode_ms: float = 0.0
    decode_ms: float = 0.0
    windows: int = 0
    doubted: int = 0  # windows redone with a beam (DecodeSettings.doubt_beam)
    end_logprob: float = 0.0  # the last word's log-probability (see GreedyDecoder.end_logprob)
    tokens: list[int] = field(default_factory=list)  # the first window's tokens (a later decode's guess)


SILENT_RMS = 1e-4  # -80 dBFS: below any microphone's own noise; only digital silence is this quiet


def _silent(audio: np.ndarray) -> bool:
    """Is this stretch digital silence (or as good as)?"""
    return audio.size == 0 or float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) < SILENT_RMS


def compression_ratio(text: str) -> float:
    """zlib ratio of the text: above ~2.4 it is a repetition loop (faster-whisper's measure)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class GreedyDecoder:
    """Runs one encoder session and one decoder-step session; `transcribe` does the windowing."""

    def __init__(self, encoder: Any, decoder: Any, tokenizer: WhisperTokenizer, config: dict, dims: dict,
                 device: str = "cpu") -> None:
        from omnirt.models.onnx import ort

        self.ort = ort()
        self.encoder, self.decoder, self.tok, self.device = encoder, decoder, tokenizer, device
        self.cache_shape = (dims["dec_layers"], 1, dims["heads"], 0, dims["head_dim"])
        self.n_text_ctx = dims["n_text_ctx"]
        tok = tokenizer
        # faster-whisper's suppress_tokens=[-1]: config's list (non-speech symbols) plus the task/special tokens.
        self.suppress = np.array(sorted(set(config["suppress_ids"]) | {
            tok.transcribe, tok.translate, tok.sot, tok.sot_prev, tok.sot_lm, tok.no_speech}), dtype=np.int64)
        self.suppress_begin = np.array(config["suppress_ids_begin"], dtype=np.int64)

    # ------------------------------------------------------------ model calls

    def _ortvalue(self, arr: np.ndarray) -> Any:
        return self.ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(arr), self.device, 0)

    def encode(self, mel: np.ndarray, ro: Any = None) -> tuple[Any, Any]:
        """mel [80, W] -> cross K/V as OrtValues that stay on the session's device for every decoder step.
        `ro`: onnxruntime RunOptions whose terminate flag aborts the call (cancelled background work)."""
        return self.encode_rows(mel[None], ro)

    def encode_rows(self, mels: np.ndarray, ro: Any = None) -> tuple[Any, Any]:
        """mels [B, 80, W] (windows of one length) -> cross K/V [L, B, H, W/2, Dh] in one encoder call."""
        binding = self.encoder.io_binding()
        binding.bind_cpu_input("mel", np.ascontiguousarray(mels, dtype=np.float32))
        binding.bind_output("cross_k", self.device)
        binding.bind_output("cross_v", self.device)
        self.encoder.run_with_iobinding(binding, ro)
        k, v = binding.get_outputs()
        return k, v

    def read_prompt(self, prompt: list[int], cross: tuple[Any, Any], ro: Any = None) -> tuple[float, np.ndarray, tuple]:
        """One window's prompt read alone: up to its start token first (the logits there give the no-speech
        probability), then the rest. (no-speech probability, the first new token's logits, the cache.)"""
        empty = self._ortvalue(np.zeros(self.cache_shape, dtype=np.float32))
        head = self.tok.head(prompt)
        first, cache = self._step(prompt[:head], (empty, empty), cross, ro)
        no_speech = float(np.exp(_log_softmax(first.astype(np.float64)))[self.tok.no_speech])
        logits, cache = self._step(prompt[head:], cache, cross, ro)
        return no_speech, logits, cache

    def no_speech_alone(self, cross: tuple[Any, Any], ro: Any = None) -> float:
        """The window's no-speech probability read at a start token with nothing before it (no context)."""
        empty = self._ortvalue(np.zeros(self.cache_shape, dtype=np.float32))
        first, _ = self._step([self.tok.sot], (empty, empty), cross, ro)
        return float(np.exp(_log_softmax(first.astype(np.float64)))[self.tok.no_speech])

    def _step(self, tokens: list[int], cache: tuple[Any, Any], cross: tuple[Any, Any],
              ro: Any = None) -> tuple[np.ndarray, tuple]:
        logits, cache = self.step_rows(np.array([tokens], dtype=np.int64), cache, cross, ro)
        return logits[0], cache

    def step_rows(self, tokens: np.ndarray, cache: tuple[Any, Any], cross: tuple[Any, Any],
                  ro: Any = None) -> tuple[np.ndarray, tuple]:
        """tokens [B, T], self K/V [L, B, H, P, Dh] and cross K/V [L, B or 1, H, A, Dh] as OrtValues -> the last
        position's logits [B, V] and the grown cache (OrtValues on the session's device)."""
        logits, cache = self.step_all(tokens, cache, cross, ro)
        return logits[:, -1], cache

    def step_all(self, tokens: np.ndarray, cache: tuple[Any, Any], cross: tuple[Any, Any],
                 ro: Any = None) -> tuple[np.ndarray, tuple]:
        """step_rows with every position's logits [B, T, V]: the next token's after each of the tokens."""
        binding = self.decoder.io_binding()
        binding.bind_cpu_input("tokens", np.ascontiguousarray(tokens, dtype=np.int64))
        binding.bind_ortvalue_input("self_k", cache[0])
        binding.bind_ortvalue_input("self_v", cache[1])
        binding.bind_ortvalue_input("cross_k", cross[0])
        binding.bind_ortvalue_input("cross_v", cross[1])
        binding.bind_output("logits", "cpu")
        binding.bind_output("new_k", self.device)
        binding.bind_output("new_v", self.device)
        self.decoder.run_with_iobinding(binding, ro)
        logits, k, v = binding.get_outputs()
        return logits.numpy(), (k, v)

    # ------------------------------------------------------------ one window

    def allowed(self, logits: np.ndarray, generated: list[int], step: int, timestamps: bool) -> np.ndarray:
        """A float32 copy of one hypothesis' next-token logits with the suppressed tokens and, with timestamps,
        the timestamp rules applied (-inf): what greedy and beam decoding both choose from."""
        logits = logits.astype(np.float32, copy=True)
        logits[self.suppress] = -np.inf
        if step == 0:
            logits[self.suppress_begin] = -np.inf
        if timestamps:
            timestamp_rules(self.tok, logits, generated)
        return logits

    def decode_window(self, cross: tuple[Any, Any], prompt: list[int], max_new: int,
                      timestamps: bool, ro: Any = None, guess: list[int] | None = None) -> WindowResult:
        """Greedy decoding of one window (decode_rows with one row), or with a guess of its first tokens (guess.py)."""
        if guess:
            from .guess import guessed_window  # (guess.py builds on this module)

            return guessed_window(self, cross, prompt, max_new, timestamps, guess, ro)
        return self.decode_rows(cross, prompt, [max_new], timestamps, ro)[0]

    def decode_rows(self, cross: tuple[Any, Any], prompt: list[int], caps: list[int], timestamps: bool,
                    ro: Any = None) -> list[WindowResult]:
        """Greedy decoding of B windows at once (cross K/V [L, B, H, A, Dh]; batch.py), each row exactly as it is
        decoded alone: up to the start token first (for the no-speech probability), then the rest of the prompt,
        then one token a step until the row's end of text or its cap. A finished row is carried on (its outputs
        unread) until half the rows are finished; then those leave the batch (their cache and cross rows are
        dropped: copying the rest of a batch costs about as much as a few steps of its finished rows)."""
        n = len(caps)
        empty = self._ortvalue(np.zeros((self.cache_shape[0], n, *self.cache_shape[2:]), dtype=np.float32))
        head = self.tok.head(prompt)
        logits, cache = self.step_rows(np.array([prompt[:head]] * n), (empty, empty), cross, ro)
        no_speech = [float(np.exp(_log_softmax(row.astype(np.float64)))[self.tok.no_speech]) for row in logits]
        logits, cache = self.step_rows(np.array([prompt[head:]] * n), cache, cross, ro)
        limits = [min(cap, MAX_NEW_TOKENS, self.n_text_ctx - len(prompt)) for cap in caps]
        generated: list[list[int]] = [[] for _ in range(n)]
        logprobs: list[list[float]] = [[] for _ in range(n)]
        sums = [0.0] * n
        present = list(range(n))  # the original rows of the batch's rows, in order
        going = {r for r in present if limits[r] > 0}
        step = 0
        while going:
            tokens = []
            for j, r in enumerate(present):
                if r not in going:
                    tokens.append([self.tok.eot])  # a finished row still in the batch: its output is never read
                    continue
                allowed = self.allowed(logits[j], generated[r], step, timestamps)
                token = int(np.argmax(allowed))
                logprob = float(_log_softmax(allowed)[token])
                sums[r] += logprob
                tokens.append([token])
                if token == self.tok.eot:
                    going.discard(r)
                    continue
                generated[r].append(token)
                logprobs[r].append(logprob)
                if step + 1 >= limits[r]:
                    going.discard(r)
            if not going:
                break
            if 2 * (len(present) - len(going)) >= len(present):  # half the rows are done: drop them (copying the
                keep = [j for j, r in enumerate(present) if r in going]  # rest costs less than carrying them on)
                cache, cross = self.keep_rows(cache, keep), self.keep_rows(cross, keep)
                tokens = [tokens[j] for j in keep]
                present = [present[j] for j in keep]
            logits, cache = self.step_rows(np.array(tokens, dtype=np.int64), cache, cross, ro)
            step += 1
        out = []
        for r in range(n):
            k = len(generated[r])  # faster-whisper's average (an empty result scores 0)
            out.append(WindowResult(generated[r], no_speech[r], sums[r], sums[r] / (k + 1) if k else 0.0, logprobs[r]))
        return out

    def keep_rows(self, kv: tuple[Any, Any], rows: list[int]) -> tuple[Any, Any]:
        """The K/V pair ([L, B, ...] OrtValues) with only these batch rows, back on the session's device."""
        return self._ortvalue(kv[0].numpy()[:, rows]), self._ortvalue(kv[1].numpy()[:, rows])

    def loops(self, res: WindowResult, s: DecodeSettings) -> bool:
        """Is the window's text a repetition loop ("ston Martin, ston Martin, ...")? Greedy decoding falls into
        them on garbled speech, often with confidence, so its average log-probability does not tell; faster-whisper
        resamples such a window, the doubt beam searches it instead."""
        return compression_ratio(self.tok.decode(res.tokens).strip()) > s.compression_ratio_threshold

    def end_logprob(self, res: WindowResult) -> float:
        """The log-probability of the window's last word (its tokens and any punctuation after it): how sure the
        decoder is of the word a speculative cut may have clipped ("spider have" heard as "has" when the cut fell
        inside the faint /v/). -inf when unknown: then it counts as unsure."""
        if res.token_logprobs is None:
            return float("-inf")
        text = [(t, lp) for t, lp in zip(res.tokens, res.token_logprobs) if t < self.tok.eot]
        total = 0.0
        for token, logprob in reversed(text):
            total += logprob
            piece = self.tok.decode([token])
            if piece[:1].isspace() and any(c.isalnum() for c in piece):
                break  # the token that starts the last word
        return total

    def window(self, cross: tuple[Any, Any], prompt: list[int], cap: int, timestamps: bool, s: DecodeSettings,
               ro: Any = None, greedy: WindowResult | None = None) -> tuple[WindowResult, int]:
        """One encoded window decoded as the settings ask: a beam search, or greedy decoding (`greedy`: made
        already, in a batch or from a guess) searched again with the doubt beam when it is unsure of doubtful
        speech. (The result, and 1 if it was searched again, else 0.)"""
        from .beam import beam_window  # (beam.py builds on this module)

        if s.beam_size > 1:
            return beam_window(self, cross, prompt, cap, timestamps, s.beam_size, ro), 0
        res = greedy if greedy is not None else self.decode_window(cross, prompt, cap, timestamps, ro)
        if (s.doubt_beam > 1 and (res.avg_logprob < s.doubt_logprob or self.loops(res, s))
                and res.no_speech_prob <= s.no_speech_threshold):  # doubtful speech: search, on the same encoder
            return beam_window(self, cross, prompt, cap, timestamps, s.doubt_beam, ro), 1  # output
        return res, 0

    # ------------------------------------------------------------ whole input

    def window_frames(self, content_frames: int, s: DecodeSettings, beam: bool = False) -> int:
        """Encoder frames for a window holding `content_frames` of audio: >= max(min window, ratio x content);
        for a beam search, at least beam_window_s."""
        if content_frames >= FRAMES_PER_WINDOW:
            return FRAMES_PER_WINDOW
        shortest = max(s.min_window_s, s.beam_window_s) if beam else s.min_window_s
        want = max(shortest * SAMPLE_RATE / HOP, s.window_speech_ratio * content_frames)
        frames = int(math.ceil(min(want, FRAMES_PER_WINDOW)))
        return frames + (frames % 2)

    def window_input(self, audio: np.ndarray, full_mel: np.ndarray | None, seek: int, segment_size: int,
                     s: DecodeSettings, beam: bool = False) -> tuple[np.ndarray, int]:
        """The window at `seek` (mel frames): its log-mel padded to the encoder's window, and its cap on new tokens.
        full_mel: the whole input's log-mel when it fits one window (else each window's is computed here).
        beam: the window is for a beam search (see window_frames)."""
        if full_mel is not None:
            mel = full_mel[:, seek: seek + segment_size]
        else:
            mel = log_mel(audio[seek * HOP: seek * HOP + FRAMES_PER_WINDOW * HOP])[:, :segment_size]
        duration = segment_size * HOP / SAMPLE_RATE
        cap = int(math.ceil(s.max_tokens_per_second * duration)) + s.token_margin
        return pad_frames(mel, self.window_frames(segment_size, s, beam)), cap

    def transcribe(self, audio: np.ndarray, s: DecodeSettings, ro: Any = None,
                   first: FirstWindow | None = None, guess: list[int] | None = None,
                   context: Sequence[int] = ()) -> Decoded:
        """Windowed greedy transcription of float32 16 kHz audio (validated by the caller).

        Input longer than one window is always decoded with timestamps: without them a window ends at a fixed
        30 s cut, often mid-word, and Whisper then tends to stop early in the next window, dropping speech.
        first: the first window already encoded and greedily decoded in a batch (greedy settings only).
        guess: the first window's tokens as an earlier decode of the start of this audio gave them (guess.py).
        context: text tokens said before this audio, read ahead of every window (WhisperTokenizer.sot_sequence). A
        window whose words echo it or bring a topic word of it is decoded again without it, on the same encoder
        output (context.py says why).
        """
        from .context import kept  # (context.py builds on this module)

        window_samples = FRAMES_PER_WINDOW * HOP
        short = len(audio) <= window_samples
        timestamps = s.timestamps or not short
        prompt = self.tok.sot_sequence(s.language, timestamps, context)
        alone = self.tok.sot_sequence(s.language, timestamps)  # the prompt without the context
        said = self.tok.decode(list(context)) if context else ""
        full_mel = None  # short input: one mel, exactly as faster-whisper slices it (a batch's, if it made one)
        if short:
            full_mel = first.full_mel if first is not None and first.full_mel is not None else log_mel(audio)
        content_frames = (len(audio) + HOP) // HOP - 1
        out = Decoded()
        kept_logprob, kept_tokens, no_speech = 0.0, 0, []
        last_avg = 0.0
        last_kept: WindowResult | None = None  # the last window whose words were kept
        seek = 0
        while seek < content_frames:
            segment_size = min(FRAMES_PER_WINDOW, content_frames - seek)
            if _silent(audio[seek * HOP: (seek + segment_size) * HOP]):
                seek += segment_size  # nothing to hear: Whisper would still say " You" (faster-whisper does too)
                continue
            batched = first if seek == 0 else None
            mel, cap = self.window_input(audio, full_mel, seek, segment_size, s, beam=s.beam_size > 1)
            t0 = time.perf_counter()
            cross = self.encode(mel, ro) if batched is None else batched.row_cross
            t1 = time.perf_counter()
            duration = segment_size * HOP / SAMPLE_RATE
            greedy = batched.greedy if batched else None
            if greedy is None and guess and seek == 0 and s.beam_size == 1:
                greedy = self.decode_window(cross, prompt, cap, timestamps, ro, guess)
            res, doubted = self.window(cross, prompt, cap, timestamps, s, ro, greedy)
            out.doubted += doubted
            out.encode_ms += (t1 - t0) * 1e3 + (batched.encode_ms if batched else 0.0)
            out.decode_ms += (time.perf_counter() - t1) * 1e3 + (batched.decode_ms if batched else 0.0)
            out.windows += 1
            no_speech_prob = self.no_speech_alone(cross, ro) if context else res.no_speech_prob
            no_speech.append(no_speech_prob)
            last_avg = res.avg_logprob
            if no_speech_prob > s.no_speech_threshold:
                # A beam finds a confident " you" in silence that greedy decoding rates as doubtful: greedy judges.
                # So with a context, which Whisper copies out of noise ("The capital of France is Paris." from a
                # cough), confidently: whether anything was said is judged on the audio alone.
                judge = res if s.beam_size == 1 and not context else self.decode_window(cross, alone, cap, timestamps,
                                                                                         ro)
                if judge.avg_logprob < s.logprob_threshold or self.loops(judge, s):
                    # Silence or noise: skip the window, as faster-whisper does; a confident repetition loop on a
                    # window the model itself rates as probably silent is noise too (faster-whisper would resample).
                    seek += segment_size
                    continue
            if context:  # the context may choose among the words the audio allows, never bring its own
                t2 = time.perf_counter()
                res = kept(said, res, lambda: self.window(cross, alone, cap, timestamps, s, ro)[0],  # noqa: B023
                           text=lambda r: self.tok.decode(r.tokens))
                out.decode_ms += (time.perf_counter() - t2) * 1e3
            previous = seek
            segments, seek = split_segments(self.tok, res.tokens, seek * HOP / SAMPLE_RATE, seek, segment_size,
                                            duration)
            if seek <= previous:  # never loop on the same window
                seek = previous + segment_size
            for start, end, toks in segments:
                text = self.tok.decode(toks)
                if start == end or not text.strip():
                    continue
                out.segments.append((start, end, text))
            if previous == 0:
                out.tokens = res.tokens
            kept_logprob += res.sum_logprob
            kept_tokens += len(res.tokens) + 1
            last_kept = res
        if last_kept is not None:
            out.end_logprob = self.end_logprob(last_kept)
        out.no_speech_prob = min(no_speech) if no_speech else 1.0
        out.avg_logprob = kept_logprob / kept_tokens if kept_tokens else last_avg
        return out
