"""Silero VAD v6 on onnxruntime alone: the speech probability of each 32 ms chunk of 16 kHz audio.

The upstream Python package needs torch; its ONNX file does not. The graph is recurrent: each call takes the chunk
prefixed with the last 64 samples of the previous chunk (the "context") and the LSTM state [2, 1, 128], and returns
the probability and the next state. The session is shared (cached); the context and state live in each instance,
so several streams can be tracked at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnirt.models import assets

ASSET = "silero-vad"
MODEL_FILE = "silero_vad.onnx"


@dataclass(frozen=True)
class SileroOptions:
    """Knobs for the VAD session.

    intra_threads: onnxruntime threads per operator; 1, because the VAD runs beside ASR and one chunk is a tiny
        fraction of a millisecond.
    provider: "cpu" by default: the graph is tiny and called every 32 ms, so a GPU round trip would only add
        latency; "auto" uses the probed provider.
    """

    intra_threads: int = 1
    provider: str = "cpu"


class SileroVAD:
    """Streaming speech probability. Feed consecutive 512-sample float32 chunks (16 kHz, range [-1, 1])."""

    CHUNK = 512
    SAMPLE_RATE = 16000
    CONTEXT = 64  # samples of the previous chunk the model sees before each chunk

    def __init__(self, session: Any) -> None:
        self._session = session
        self._sr = np.array(self.SAMPLE_RATE, dtype=np.int64)
        self._buf = np.zeros((1, self.CONTEXT + self.CHUNK), dtype=np.float32)  # [context | chunk]
        self._state = np.zeros((2, 1, 128), dtype=np.float32)

    @classmethod
    def load(cls, options: SileroOptions = SileroOptions()) -> "SileroVAD":
        """A new VAD (fresh state) on the cached session; ModelMissingError if the model is not installed."""
        from omnirt.models.onnx import SessionOptions, session

        path = Path(assets.require(ASSET)) / MODEL_FILE
        return cls(session(path, SessionOptions(intra_threads=options.intra_threads, provider=options.provider)))

    def reset(self) -> None:
        """Forget the stream: zero the recurrent state and the context (call between utterances or files)."""
        self._buf[:] = 0.0
        self._state = np.zeros((2, 1, 128), dtype=np.float32)

    def prob(self, chunk: np.ndarray) -> float:
        """Speech probability in [0, 1] of the next 512-sample chunk of the stream."""
        chunk = _as_float(chunk, "chunk")
        if chunk.ndim == 2 and chunk.shape[0] == 1:
            chunk = chunk[0]
        if chunk.shape != (self.CHUNK,):
            raise ValueError(f"SileroVAD.prob needs {self.CHUNK} samples at 16 kHz, got shape {chunk.shape}")
        self._buf[0, self.CONTEXT:] = chunk
        out, self._state = self._session.run(None, {"input": self._buf, "state": self._state, "sr": self._sr})
        self._buf[0, :self.CONTEXT] = self._buf[0, -self.CONTEXT:]
        return float(out[0, 0])

    def probs(self, audio: np.ndarray) -> np.ndarray:
        """One probability per 512-sample chunk of a whole 16 kHz clip, from a fresh state (the tail chunk is
        zero-padded). Leaves the instance's state at the end of the clip."""
        audio = _as_float(audio, "audio")
        if audio.ndim != 1:
            raise ValueError(f"SileroVAD.probs needs mono 1-D audio, got shape {audio.shape}")
        self.reset()
        n = -(-audio.size // self.CHUNK)
        padded = np.zeros(n * self.CHUNK, dtype=np.float32)
        padded[:audio.size] = audio
        return np.array([self.prob(c) for c in padded.reshape(n, self.CHUNK)], dtype=np.float32)


def _as_float(x: Any, what: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{what} must be float samples in [-1, 1], got {x.dtype} (scale int16 by 1/32768)")
    return x.astype(np.float32, copy=False)
