"""Whisper over a batch of utterances: one encoder call per window length, one greedy decoding loop over the rows.

Why: a shared ASR deployment (tools/cluster/shared_models.py) receives utterances from many sessions at once. Each
decoder step of one utterance is a small matrix product that leaves most of a GPU (or of a CPU core's vector units)
idle; B rows in one step cost little more than one, and the encoder likewise runs B windows in one call.

What a row gets is what `WhisperOnnx.transcribe` gives it alone:
- Windows are batched only with windows of the same length. Whisper's encoder attends over its whole window with no
  mask, and the decoder's cross-attention over every encoder position, so padding a window to a longer one would
  change its transcript. Live turns are mostly one length anyway: every utterance up to min_window_s /
  window_speech_ratio (4 s by default) gets the 10 s window.
- Each row stops on its own (end of text or its own token cap) and leaves the batch; the others go on.
- Only the first window of a short input (one that fits 30 s) is batched; the rest of its handling (the doubt beam
  on its own encoder output, the no-speech rule, segments, the last word's log-probability) is `transcribe`'s own,
  given the batch's results (FirstWindow). Longer inputs, silent ones and beam search run alone.
- Each row reads its own context (its conversation's last exchange) ahead of its audio: the encoder does not see it,
  so rows of every context share the encoder call, and the rows of each distinct prompt share a decoding loop.
- fp32 rows equal single calls to float rounding. The int8 export quantizes each matrix product's input
  dynamically with one scale per tensor, so a row's activations are quantized with the batch's range: its logits
  move by a little, and a token whose lead is smaller than that can change (docs/cluster.md has the figures).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from . import Transcription, WhisperOnnx, _validate, transcription
from .decoder import GreedyDecoder, WindowResult, _silent
from .mel import FRAMES_PER_WINDOW, HOP, log_mel


class LazyPair:
    """A pair made on first indexing (FirstWindow.row_cross): a batched window's cross K/V is copied out for its
    row only if it is read again (a beam search, or a decode without the context)."""

    def __init__(self, make: Callable[[], tuple[Any, Any]]) -> None:
        self._make, self._pair = make, None

    def __getitem__(self, i: int) -> Any:
        if self._pair is None:
            self._pair = self._make()
        return self._pair[i]


@dataclass
class FirstWindow:
    """An input's first window, encoded and greedily decoded together with other inputs': `GreedyDecoder.transcribe`
    takes these instead of making the two model calls itself, and does everything else as it always does."""

    row_cross: LazyPair  # this row's cross K/V [L, 1, H, A, Dh], copied out of the batch's when first read
    greedy: WindowResult  # only when asked for (a doubtful window's beam search)
    encode_ms: float  # the batch's time in the encoder / the decoding loop (shared by its rows)
    decode_ms: float
    full_mel: np.ndarray | None = None  # the input's whole log-mel, made to batch it: not computed again here


def transcribe_batch(asr: WhisperOnnx, audios: Sequence[object], drafts: Sequence[bool] | None = None,
                     contexts: Sequence[str] | None = None) -> list[Transcription | Exception]:
    """Transcribe each audio (float32 mono 16 kHz) as `asr.transcribe(audio, draft=drafts[i], context=contexts[i])`
    would; an input that cannot be transcribed gets its exception in its place (one caller's bad input fails no
    other). Rows with different contexts share the encoder call; the decoding loop runs once per distinct prompt."""
    drafts = list(drafts) if drafts is not None else [False] * len(audios)
    contexts = list(contexts) if contexts is not None else [""] * len(audios)
    dec = asr._decoder
    results: list[Transcription | Exception | None] = [None] * len(audios)
    groups: dict[int, list[tuple[int, np.ndarray, np.ndarray, int, np.ndarray]]] = {}  # window frames ->
    # (row, audio, its padded first window, cap, its whole log-mel)
    for i, raw in enumerate(audios):
        try:
            audio = _validate(raw)
        except ValueError as err:
            results[i] = err
            continue
        first = _first_window(dec, asr, audio)
        if first is None:
            results[i] = _alone(asr, audio, drafts[i], contexts[i])
        else:
            groups.setdefault(first[0].shape[1], []).append((i, audio, *first))
    timestamps = asr.options.timestamps
    for rows in groups.values():
        t0 = time.perf_counter()
        cross = dec.encode_rows(np.stack([mel for _, _, mel, _, _ in rows]))
        t1 = time.perf_counter()
        greedy: dict[int, WindowResult] = {}  # batch row -> its first window, greedily decoded
        by_context: dict[tuple[int, ...], list[int]] = {}  # context tokens -> batch rows
        for b, (i, *_) in enumerate(rows):
            by_context.setdefault(asr.context_tokens(contexts[i]), []).append(b)
        for context, members in by_context.items():
            prompt = dec.tok.sot_sequence(asr.options.language, timestamps, context)
            part = cross if len(members) == len(rows) else dec.keep_rows(cross, members)
            decoded = dec.decode_rows(part, prompt, [rows[b][3] for b in members], timestamps)
            greedy.update(zip(members, decoded))
        t2 = time.perf_counter()
        for b, (i, audio, _, _, full_mel) in enumerate(rows):
            first = FirstWindow(LazyPair(lambda b=b: dec.keep_rows(cross, [b])), greedy[b], (t1 - t0) * 1e3,
                                (t2 - t1) * 1e3, full_mel)
            try:
                d = dec.transcribe(audio, asr.settings(drafts[i]), None, first, context=asr.context_tokens(contexts[i]))
                results[i] = transcription(d, len(audio))
            except Exception as err:  # noqa: BLE001 - handed to that row's caller
                results[i] = err
    return results  # type: ignore[return-value]


def _first_window(dec: GreedyDecoder, asr: WhisperOnnx,
                  audio: np.ndarray) -> tuple[np.ndarray, int, np.ndarray] | None:
    """The input's first window (padded log-mel, token cap) and its whole log-mel (which `transcribe` then reuses)
    when it can join a batch, else None."""
    if asr.options.beam_size > 1 or len(audio) > FRAMES_PER_WINDOW * HOP:
        return None
    content_frames = (len(audio) + HOP) // HOP - 1
    if content_frames <= 0 or _silent(audio[: content_frames * HOP]):
        return None
    full_mel = log_mel(audio)
    return (*dec.window_input(audio, full_mel, 0, content_frames, asr.settings()), full_mel)


def _alone(asr: WhisperOnnx, audio: np.ndarray, draft: bool, context: str) -> Transcription | Exception:
    try:
        return asr.transcribe(audio, draft=draft, context=context)
    except Exception as err:  # noqa: BLE001 - handed to that row's caller
        return err
