"""A fast, level-based first guess that the user has started to make a sound, ahead of the speech detector.

Why: Silero judges whole 32 ms chunks and needs most of a chunk to be speech before it says so, so it hears a word's
first sound a chunk or two after it arrives. Barge-in must silence the assistant within 60 ms of the user's onset, and
the transport's two legs already take about half of that. A jump in level is visible in the first 10 ms block.

The guess only *holds* the reply (UserSound): the speech detector decides. If it does not confirm speech within
`confirm_ms`, the hold is released and the reply plays on (a gap of about that length), and the detector refuses to
guess again for `refractory_ms`, so a noisy room costs at most one short gap per that period.

Pure logic, no I/O: feed 16 kHz float32 samples in any sizes; tested on fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
BLOCK = 160  # 10 ms at 16 kHz


@dataclass(frozen=True)
class LevelOnsetOptions:
    """Knobs (levels in dB relative to full scale, times in ms).

    min_dbfs: a block must be at least this loud (RMS) to count as a sound. -40 dBFS sits below normal speech at
        a headset or laptop microphone and above the residual echo a browser's echo canceller leaves.
    margin_db: ... and this much louder than the background (a noise floor tracked by its minimum, which rises
        slowly: `floor_rise_per_s`), so a steady fan or hum never counts.
    confirm_ms: how long the speech detector has, after the guess, to hear speech too; else the guess is withdrawn
        (it covers the longest confirmation delay measured: docs/measurements.md). A withdrawn guess costs the reply
        a gap this long.
    refractory_ms: after a withdrawn guess, no new guess for this long (the speech detector still works).
    floor_rise_per_s: how fast (dB per second) the background estimate may rise towards a louder steady level.
    """

    min_dbfs: float = -40.0
    margin_db: float = 12.0
    confirm_ms: int = 250
    refractory_ms: int = 500
    floor_rise_per_s: float = 6.0


class LevelOnset:
    """Watches 10 ms block levels for a jump. `feed()` returns "onset" when a guess starts, "withdrawn" when the
    speech detector did not confirm it in time, else None; call `confirmed()` when the detector heard speech and
    `reset()` when the utterance is over (or was a short sound), to re-arm."""

    def __init__(self, options: LevelOnsetOptions = LevelOnsetOptions()) -> None:
        self.o = options
        self._min = 10 ** (options.min_dbfs / 20)
        self._margin = 10 ** (options.margin_db / 20)
        self._rise = 10 ** (options.floor_rise_per_s * BLOCK / SAMPLE_RATE / 20)  # factor per block
        self._pending = np.zeros(0, np.float32)
        self._floor = float("inf")
        self._at = 0  # samples seen
        self._guess_at: int | None = None  # where the unconfirmed guess began
        self._quiet_until = 0  # refractory end, in samples
        self.active = False  # a guess (confirmed or not) is in force

    def feed(self, samples: np.ndarray) -> str | None:
        buf = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        n = len(buf) // BLOCK
        self._pending = buf[n * BLOCK:]
        event = None
        for k in range(n):
            block = buf[k * BLOCK:(k + 1) * BLOCK]
            rms = float(np.sqrt(np.dot(block, block) / BLOCK))
            self._at += BLOCK
            if not self.active:
                loud = rms >= self._min and rms >= self._margin * self._floor
                if loud and self._at > self._quiet_until:
                    self.active, self._guess_at, event = True, self._at - BLOCK, "onset"
                    continue
                self._floor = min(rms, self._floor * self._rise) if self._floor != float("inf") else rms
            elif self._guess_at is not None and self._at - self._guess_at > self.o.confirm_ms * SAMPLE_RATE // 1000:
                self.active, self._guess_at = False, None
                self._quiet_until = self._at + self.o.refractory_ms * SAMPLE_RATE // 1000
                event = "withdrawn"
        return event

    def confirmed(self) -> None:
        """The speech detector heard speech: the guess stands until `reset()` (or starts now if none was made)."""
        self.active, self._guess_at = True, None

    def reset(self, refractory: bool = False) -> None:
        """The sound is over (the end of an utterance; or, with `refractory`, a short sound the speech detector
        dropped, whose tail should not start a new guess): watch for the next jump."""
        self.active, self._guess_at = False, None
        if refractory:
            self._quiet_until = self._at + self.o.refractory_ms * SAMPLE_RATE // 1000
