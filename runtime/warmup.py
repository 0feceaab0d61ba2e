"""Warm a server's models up once, before the first user, with the work a turn does.

Why: onnxruntime grows its memory arena (and plans) on the first runs of each size, so a fresh server's first spoken
turn paid for allocations the later ones did not, and its memory climbed over its first tens of turns before it
levelled off. A soak test could not tell that climb from a leak. The Talker speaks a few short sentences and the
recogniser decodes them as the live path does (a growing window, then the whole), so the first user meets a warm
server and the memory a server shows after start-up is the memory it keeps while serving. The Thinker is warmed by
its own `warmup` (its system prompt, kept in the KV cache); a reply is not generated here, so no conversation is
touched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .audio import resample

# About seven seconds of speech, as long as most spoken requests, so the recogniser's arena reaches the size turns
# need; made of sentences no longer than a reply's, so the Talker's arena grows no larger than replies make it.
SENTENCE = ("Good morning. What will the weather be like this afternoon? Should I take an umbrella to the station? "
            "And when does the last train leave?")


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up did: seconds of speech made, recogniser calls, and the wall time each part took."""

    speech_s: float
    decodes: int
    synthesis_s: float
    recognition_s: float


def warm_up(components: Any, step_s: float = 1.0, sentence: str = SENTENCE) -> WarmUp:
    """Synthesise `sentence` with the components' Talker, then transcribe every `step_s` prefix of it and the whole.
    Blocking: call it from a thread, or before the event loop serves anyone."""
    t0 = time.perf_counter()
    synth = components.synthesizer
    pcm = np.concatenate([np.asarray(c, np.int16).ravel() for c in synth.stream(sentence)] or [np.zeros(0, np.int16)])
    audio = resample(pcm.astype(np.float32) / 32768.0, synth.sample_rate, 16000)
    t1 = time.perf_counter()
    step = max(1, int(step_s * 16000))
    ends = list(range(step, len(audio), step)) + [len(audio)] if len(audio) else []
    for end in ends:
        components.recognizer.transcribe(np.ascontiguousarray(audio[:end], np.float32))
    t2 = time.perf_counter()
    return WarmUp(round(len(audio) / 16000, 2), len(ends), round(t1 - t0, 2), round(t2 - t1, 2))
