"""The speech detector the VAD stage uses: webrtcvad as a cheap gate in front of Silero.

webrtcvad costs microseconds but fires on noise; Silero is accurate and costs ~0.1 ms a chunk plus its state. While
webrtcvad has heard nothing voiced for `gate_hold_ms`, Silero is not run at all (an idle session costs almost
nothing) and its state is reset when the gate opens again; while the gate is open every chunk goes to Silero so its
recurrent state sees continuous audio.

Silero reads fixed 32 ms chunks, and where those chunks fall in a word changes its score a lot on band-limited
speech (a phone line): one recording passed 0.5 in 6 chunks at one phase and in 24 half a chunk later, so whether
a short answer was heard at all depended on when the microphone had started. A second Silero stream therefore
scores windows half a chunk later, and a chunk takes the higher of its two scores (GateOptions.half_step; the
mean of the two was tried and helped less: docs/measurements.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GateOptions:
    """aggressiveness: webrtcvad mode 0 (lenient) .. 3 (strict); the gate should be lenient: Silero decides.
    gate_hold_ms: how long the gate stays open after webrtcvad last heard voice.
    use_gate: False runs Silero on every chunk (for comparison and benchmarks).
    warmup_ms: when the gate opens, Silero is reset and first run over this much of the audio the gate skipped
        (outputs discarded), so its recurrent state has heard the room before the speech. Why: started cold at the
        onset, Silero can stay below its threshold for a whole utterance of narrow-band or noisy speech that it
        scores above 0.9 when it has heard the second before it (docs/measurements.md). 0: a cold start.
    half_step: score every chunk also at half a chunk's offset with a second Silero stream and keep the higher
        score (see the module's docstring); False: one stream, half the Silero calls."""

    aggressiveness: int = 1
    gate_hold_ms: int = 600
    use_gate: bool = True
    warmup_ms: int = 256
    half_step: bool = True


class GatedSileroDetector:
    """SpeechDetector (see omnirt.runtime.vad) for 512-sample float32 chunks at 16 kHz."""

    SUBFRAME = 160  # webrtcvad takes 10/20/30 ms frames; 10 ms sub-frames tile most of a 32 ms chunk

    def __init__(self, options: GateOptions = GateOptions()) -> None:
        try:
            import webrtcvad
        except ImportError:
            raise RuntimeError("webrtcvad is not installed: run `make setup`") from None
        from .vad_silero import SileroVAD

        self.options = options
        self._gate = webrtcvad.Vad(options.aggressiveness)
        self._silero = SileroVAD.load()
        self._shifted = SileroVAD.load() if options.half_step else None  # fed windows half a chunk later
        self._last = np.zeros(512, np.float32)  # the previous chunk, whose second half starts a shifted window
        self._hold_chunks = max(1, options.gate_hold_ms * 16 // 512)
        self._since_voice = self._hold_chunks  # start closed
        self._skipped: deque[np.ndarray] = deque(maxlen=max(0, options.warmup_ms * 16 // 512))
        self.silero_calls = 0

    def reset(self) -> None:
        self._silero.reset()
        if self._shifted is not None:
            self._shifted.reset()
        self._last[:] = 0.0
        self._since_voice = self._hold_chunks
        self._skipped.clear()

    def fork(self) -> "GatedSileroDetector":
        """A detector with fresh state (its own gate and recurrent state) over the same loaded Silero session."""
        return GatedSileroDetector(self.options)

    def _voiced(self, chunk: np.ndarray) -> bool:
        pcm = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
        for k in range(0, len(pcm) - self.SUBFRAME + 1, self.SUBFRAME):
            if self._gate.is_speech(pcm[k:k + self.SUBFRAME].tobytes(), 16000):
                return True
        return False

    def prob(self, chunk: np.ndarray) -> float:
        if self.options.use_gate:
            was_closed = self._since_voice >= self._hold_chunks
            self._since_voice = 0 if self._voiced(chunk) else self._since_voice + 1
            if self._since_voice >= self._hold_chunks:
                if self._skipped.maxlen:
                    self._skipped.append(chunk.copy())
                self._last = np.array(chunk, np.float32)
                return 0.0
            if was_closed:
                self._warm(list(self._skipped))
                self._skipped.clear()
        self.silero_calls += 1
        p = float(self._silero.prob(chunk))
        if self._shifted is not None:
            half = len(self._last) // 2
            p = max(p, float(self._shifted.prob(np.concatenate([self._last[half:], chunk[:half]]))))
        self._last = np.array(chunk, np.float32)
        return p

    def _warm(self, skipped: list[np.ndarray]) -> None:
        """Restart both streams on the audio the gate skipped, so their state has heard the room (warmup_ms)."""
        self._silero.reset()
        for old in skipped:
            self._silero.prob(old)
        if self._shifted is not None:
            self._shifted.reset()
            audio = np.concatenate(skipped) if skipped else np.zeros(0, np.float32)
            half = len(self._last) // 2
            for i in range(half, len(audio) - len(self._last) + 1, len(self._last)):
                self._shifted.prob(audio[i:i + len(self._last)])
