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
  given the batch's results (decoder.FirstWindow). Longer inputs, silent ones and beam search run alone.
- fp32 rows equal single calls to float rounding. The int8 export quantizes each matrix product's input
  dynamically with one scale per tensor, so a row's activations are quantized with the batch's range: its logits
  move by a little, and a token whose lead is smaller than that can change (docs/cluster.md has the figures).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from . import Transcription, WhisperOnnx, _validate, transcription
from .decoder import MAX_NEW_TOKENS, FirstWindow, GreedyDecoder, WindowResult, _log_softmax, _silent
from .mel import FRAMES_PER_WINDOW, HOP, log_mel


def transcribe_batch(asr: WhisperOnnx, audios: Sequence[object],
                     drafts: Sequence[bool] | None = None) -> list[Transcription | Exception]:
    """Transcribe each audio (float32 mono 16 kHz) as `asr.transcribe(audio, draft=drafts[i])` would; an input that
    cannot be transcribed gets its exception in its place (one caller's bad input fails no other)."""
    drafts = list(drafts) if drafts is not None else [False] * len(audios)
    dec = asr._decoder
    results: list[Transcription | Exception | None] = [None] * len(audios)
    groups: dict[int, list[tuple[int, np.ndarray, np.ndarray, int]]] = {}  # window frames -> (row, audio, mel, cap)
    for i, raw in enumerate(audios):
        try:
            audio = _validate(raw)
        except ValueError as err:
            results[i] = err
            continue
        first = _first_window(dec, asr, audio)
        if first is None:
            results[i] = _alone(asr, audio, drafts[i])
        else:
            groups.setdefault(first[0].shape[1], []).append((i, audio, *first))
    for rows in groups.values():
        t0 = time.perf_counter()
        cross = dec.encode_rows(np.stack([mel for _, _, mel, _ in rows]))
        t1 = time.perf_counter()
        timestamps = asr.options.timestamps
        prompt = dec.tok.sot_sequence(asr.options.language, timestamps)
        greedy = decode_rows(dec, cross, prompt, [cap for *_, cap in rows], timestamps)
        t2 = time.perf_counter()
        for b, (i, audio, _, _) in enumerate(rows):
            first = FirstWindow(lambda b=b: _keep(dec, cross, [b]), greedy[b], (t1 - t0) * 1e3, (t2 - t1) * 1e3)
            try:
                results[i] = transcription(dec.transcribe(audio, asr.settings(drafts[i]), None, first), len(audio))
            except Exception as err:  # noqa: BLE001 - handed to that row's caller
                results[i] = err
    return results  # type: ignore[return-value]


def _first_window(dec: GreedyDecoder, asr: WhisperOnnx, audio: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The input's first window (padded log-mel, token cap) when it can join a batch, else None."""
    if asr.options.beam_size > 1 or len(audio) > FRAMES_PER_WINDOW * HOP:
        return None
    content_frames = (len(audio) + HOP) // HOP - 1
    if content_frames <= 0 or _silent(audio[: content_frames * HOP]):
        return None
    return dec.window_input(audio, log_mel(audio), 0, content_frames, asr.settings())


def _alone(asr: WhisperOnnx, audio: np.ndarray, draft: bool) -> Transcription | Exception:
    try:
        return asr.transcribe(audio, draft=draft)
    except Exception as err:  # noqa: BLE001 - handed to that row's caller
        return err


def decode_rows(dec: GreedyDecoder, cross: tuple[Any, Any], prompt: list[int], caps: list[int],
                timestamps: bool) -> list[WindowResult]:
    """Greedy decoding of B windows at once (cross K/V [L, B, H, A, Dh]), each row exactly as
    `GreedyDecoder.decode_window` decodes it alone: the start token first (for the no-speech probability), then the
    rest of the prompt, then one token a step until the row's end of text or its cap. A finished row is carried
    on (its outputs unread) until half the rows are finished; then those leave the batch (their cache and cross
    rows are dropped: copying the rest of a batch costs about as much as a few steps of its finished rows)."""
    n = len(caps)
    empty = dec._ortvalue(np.zeros((dec.cache_shape[0], n, *dec.cache_shape[2:]), dtype=np.float32))
    logits, cache = dec.step_rows(np.array([prompt[:1]] * n), (empty, empty), cross)
    no_speech = [float(np.exp(_log_softmax(row.astype(np.float64)))[dec.tok.no_speech]) for row in logits]
    logits, cache = dec.step_rows(np.array([prompt[1:]] * n), cache, cross)
    limits = [min(cap, MAX_NEW_TOKENS, dec.n_text_ctx - len(prompt)) for cap in caps]
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
                tokens.append([dec.tok.eot])  # a finished row still in the batch: its output is never read
                continue
            allowed = dec.allowed(logits[j], generated[r], step, timestamps)
            token = int(np.argmax(allowed))
            logprob = float(_log_softmax(allowed)[token])
            sums[r] += logprob
            tokens.append([token])
            if token == dec.tok.eot:
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
            cache, cross = _keep(dec, cache, keep), _keep(dec, cross, keep)
            tokens = [tokens[j] for j in keep]
            present = [present[j] for j in keep]
        logits, cache = dec.step_rows(np.array(tokens, dtype=np.int64), cache, cross)
        step += 1
    out = []
    for r in range(n):
        k = len(generated[r])
        out.append(WindowResult(generated[r], no_speech[r], sums[r], sums[r] / (k + 1) if k else 0.0, logprobs[r]))
    return out


def _keep(dec: GreedyDecoder, kv: tuple[Any, Any], rows: list[int]) -> tuple[Any, Any]:
    """The K/V pair ([L, B, ...] OrtValues) with only these batch rows, back on the session's device."""
    return dec._ortvalue(kv[0].numpy()[:, rows]), dec._ortvalue(kv[1].numpy()[:, rows])
