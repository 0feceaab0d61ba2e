"""Whisper's timestamp tokens: the rules that keep them well formed while decoding, and the segments they mark.

Both copy what faster-whisper asks of CTranslate2 (ApplyTimestampRules; _split_segments_by_timestamps), so that
greedy and beam decoding (decoder.py, beam.py) place segments and seek through long input exactly as it does.
"""

from __future__ import annotations

import numpy as np

from .tokenizer import TIME_PRECISION, WhisperTokenizer

INPUT_STRIDE = 2  # mel frames per encoder position (conv2 has stride 2): one timestamp step = 2 frames
MAX_INITIAL_TIMESTAMP = 1.0  # seconds: the first timestamp may not be later (faster-whisper's default)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    """log(softmax(x)) of one row of logits, computed stably."""
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def timestamp_rules(tok: WhisperTokenizer, logits: np.ndarray, generated: list[int]) -> None:
    """CTranslate2's ApplyTimestampRules, in place: pairs, monotonic times, first token a timestamp."""
    tb, eot = tok.timestamp_begin, tok.eot
    logits[tok.no_timestamps] = -np.inf
    if not generated:
        logits[:tb] = -np.inf
        logits[tb + int(round(MAX_INITIAL_TIMESTAMP / TIME_PRECISION)) + 1:] = -np.inf
        return
    check_prob = True
    if generated[-1] >= tb:
        penultimate = generated[-2] if len(generated) > 1 else generated[-1]
        if penultimate >= tb:
            logits[tb:] = -np.inf  # a pair just closed: text (or end) next
            check_prob = False
        else:
            logits[:eot] = -np.inf  # a segment just ended: its closing timestamp or end next
    last_ts = next((t for t in reversed(generated) if t >= tb), None)
    if last_ts is not None:
        logits[tb:last_ts] = -np.inf  # timestamps never go back
    if check_prob:
        lp = _log_softmax(logits)
        ts_total = np.logaddexp.reduce(lp[tb:])
        if ts_total > lp[:tb].max():
            logits[:tb] = -np.inf


def split_segments(tok: WhisperTokenizer, tokens: list[int], time_offset: float, seek: int, segment_size: int,
                   segment_duration: float) -> tuple[list[tuple[float, float, list[int]]], int]:
    """faster-whisper's _split_segments_by_timestamps: the segments of one window (start, end, tokens) and the
    next seek (mel frames)."""
    tb = tok.timestamp_begin
    single_ending = len(tokens) >= 2 and tokens[-2] < tb <= tokens[-1]
    consecutive = [i for i in range(1, len(tokens)) if tokens[i] >= tb and tokens[i - 1] >= tb]
    out = []
    if consecutive:
        slices = consecutive + ([len(tokens)] if single_ending else [])
        last = 0
        for cur in slices:
            part = tokens[last:cur]
            out.append((time_offset + (part[0] - tb) * TIME_PRECISION,
                        time_offset + (part[-1] - tb) * TIME_PRECISION, part))
            last = cur
        if single_ending:
            seek += segment_size
        else:
            seek += (tokens[last - 1] - tb) * INPUT_STRIDE
    else:
        duration = segment_duration
        stamps = [t for t in tokens if t >= tb]
        if stamps and stamps[-1] != tb:
            duration = (stamps[-1] - tb) * TIME_PRECISION
        out.append((time_offset, time_offset + duration, tokens))
        seek += segment_size
    return out, seek
