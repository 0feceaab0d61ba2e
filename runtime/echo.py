"""Echo gating: the assistant must not hear itself through its own speaker.

Pure logic, no I/O: the transport feeds `EchoGate.reference()` with what the speaker really played (and when), and
passes each microphone block through `EchoGate.process()`, which returns the block unchanged (the user is speaking,
possibly over the assistant: barge-in must still work) or silence (the block is only the echo of the reference).

The decision per block, at one sample rate for both signals (16 kHz in practice):

1. A quiet block (below `silence_dbfs`) or a block with nothing recently played is passed as it is: no echo is
   possible, and silence stays silence.
2. Normalised cross-correlation of the block with the reference over the plausible delays (0 to `max_delay_ms`,
   computed with one FFT). A linear echo path (speaker -> room -> microphone, or a virtual loopback) makes the best
   lag's coherence close to 1; a user talking over the echo adds energy the reference cannot explain and lowers it.
   The fraction of the block's energy that the best-fitting echo explains is coherence squared.
3. Coherent enough (`echo_coherence`) -> pure echo: silence, and the echo path's gain and delay are learnt from it.
4. Otherwise, if what the best-fitting echo leaves unexplained is no louder than the microphone's noise floor
   (tracked by minimum statistics) plus `speech_over_noise_db`, the block is echo plus noise.
5. Otherwise an energy test with the learnt gain and delay: if the block holds no more energy than the echo could
   carry (`energy_margin_db` above the predicted echo energy), it is still echo (a slightly non-linear path);
   louder than that is the user.
6. After two blocks in a row are passed as speech the gate stays open for `hold_ms`, so the quiet parts of the
   user's words under a loud echo are not chopped out of what the recogniser hears. One block is not enough: after
   a gap in playback (a late speaker callback) the echo arrives later than before, the block that straddles the
   change matches neither delay, and holding on it would let the whole hold of echo through. For the same reason a
   block that matched the reference coherently at a delay not yet confirmed is passed as "unconfirmed", which
   opens no hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EchoOptions:
    """Knobs of the echo gate (times in ms, levels in dB relative to full scale).

    sample_rate: the rate of both the reference and the microphone (resample before feeding).
    max_delay_ms: the longest echo delay searched (speaker buffer + acoustic or loopback path + capture buffer,
        after the transport has aligned the two streams by their timestamps). Longer costs more and makes chance
        correlations likelier.
    min_delay_ms: the shortest delay searched; slightly negative tolerates timestamps that place the playback a
        little later than it really was.
    history_ms: how much played audio is kept; must cover max_delay_ms plus one microphone block.
    silence_dbfs: microphone blocks quieter than this are passed untouched (nothing to gate).
    reference_dbfs: if everything played within the delay range is quieter than this, no echo is possible.
    echo_coherence: best-lag normalised correlation at or above which a block is pure echo. 0.85 means the echo
        explains >= 72 % of the block's energy; a user speaking at the echo's level gives about 0.7.
    speech_over_noise_db: the energy that the best-fitting echo leaves unexplained must exceed the tracked noise
        floor by this much to count as the user (else the block is echo plus noise).
    noise_rise_db_per_s: how fast the noise floor estimate may rise (it falls at once to any quieter block).
    energy_margin_db: a block that fails the coherence test is still echo while its energy is within this many dB
        of the echo predicted with the learnt path gain (lower = barge-in heard earlier, more echo leaking through).
    initial_gain: echo path gain assumed before any block has been learnt (1.0 = as loud as played; a virtual
        loopback is 1.0, a laptop's speaker-to-microphone path is typically 0.1-0.5).
    gain_smoothing: weight of each newly learnt gain in the running estimate (0-1).
    lag_tolerance_ms: a coherent match counts as echo only at a delay the path already has, or one the block before
        also matched within this tolerance. A single block of speech can resemble another part of the reply by
        chance (the same vowel twice), and such a match must not be taken for the path, nor mute the user.
    hold_ms: after two blocks in a row are passed as the user's speech, later blocks pass for this long whatever
        they hold.
    """

    sample_rate: int = 16000
    max_delay_ms: float = 300.0
    min_delay_ms: float = -20.0
    history_ms: float = 1000.0
    silence_dbfs: float = -55.0
    reference_dbfs: float = -55.0
    echo_coherence: float = 0.85
    energy_margin_db: float = 2.5
    speech_over_noise_db: float = 8.0
    noise_rise_db_per_s: float = 3.0
    initial_gain: float = 1.0
    gain_smoothing: float = 0.3
    lag_tolerance_ms: float = 2.0
    hold_ms: float = 200.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if not self.min_delay_ms <= self.max_delay_ms < self.history_ms:
            raise ValueError(f"need min_delay_ms <= max_delay_ms < history_ms, got {self.min_delay_ms}, "
                             f"{self.max_delay_ms}, {self.history_ms}")
        if not 0.0 < self.echo_coherence < 1.0:
            raise ValueError(f"echo_coherence must be in (0, 1), got {self.echo_coherence}")
        if not 0.0 < self.gain_smoothing <= 1.0:
            raise ValueError(f"gain_smoothing must be in (0, 1], got {self.gain_smoothing}")


@dataclass(frozen=True)
class EchoDecision:
    """What the gate decided for one block and why (for logs, tests and tuning)."""

    echo: bool
    reason: str  # "silence", "no reference", "coherent", "residual", "energy", "unconfirmed", "speech", "hold"
    coherence: float = 0.0
    delay_ms: float = 0.0
    gain: float = 0.0  # the learnt echo path gain after this block


def _db(power: float) -> float:
    return 10.0 * np.log10(max(power, 1e-20))


class EchoGate:
    """Half-duplex gate: microphone blocks that are only the echo of the played reference become silence."""

    def __init__(self, options: EchoOptions = EchoOptions()) -> None:
        self.o = options
        self.rate = options.sample_rate
        self._cap = int(options.history_ms * self.rate / 1000)
        self._max_lag = int(options.max_delay_ms * self.rate / 1000)
        self._min_lag = int(options.min_delay_ms * self.rate / 1000)
        self._span = self._max_lag - self._min_lag  # the window is the block plus this many samples
        self._lag_tolerance = int(options.lag_tolerance_ms * self.rate / 1000)
        self.reset()

    def reset(self) -> None:
        self._ref = np.zeros(self._cap, np.float32)  # ring-free: a shifted window, newest sample last
        self._ref_end: float | None = None  # time (s) just after the newest reference sample
        self._gain = self.o.initial_gain
        self._lag: int | None = None  # learnt echo delay, as an index into the lag range
        self._candidate: int | None = None  # the previous block's coherent lag, not yet confirmed
        self._hold_until = -np.inf
        self.noise_floor_db: float | None = None  # the microphone's noise level, tracked (dBFS)
        self.passed = 0
        self.gated = 0
        self.last: EchoDecision | None = None

    @property
    def gain(self) -> float:
        return self._gain

    # ---------------------------------------------------------------- input

    @staticmethod
    def _float(pcm: np.ndarray) -> np.ndarray:
        x = np.asarray(pcm)
        if x.dtype == np.int16:
            return x.astype(np.float32) / 32768.0
        return x.astype(np.float32, copy=False)

    def reference(self, pcm: np.ndarray, t_start: float) -> None:
        """Append what the speaker played, mono at `sample_rate`, whose first sample was heard at `t_start` (s).

        The played stream is continuous; a timestamp later than the newest sample leaves a gap of silence, an
        earlier one (clock jitter) is ignored unless it is off by more than the whole history (then it restarts).
        """
        x = self._float(pcm)
        if self._ref_end is not None:
            gap = int(round((t_start - self._ref_end) * self.rate))
            if gap > self._cap or gap < -self._cap:
                self._ref[:] = 0.0
            elif gap > 0:
                x = np.concatenate([np.zeros(gap, np.float32), x])
                t_start = self._ref_end
            else:
                t_start = self._ref_end
        x = x[-self._cap:]
        n = len(x)
        if n:
            self._ref[:-n] = self._ref[n:].copy()
            self._ref[-n:] = x
        self._ref_end = t_start + len(x) / self.rate

    def _window(self, t_start: float, n: int) -> np.ndarray:
        """Reference samples from `max_delay` before the block's start to `min_delay` before its end (zeros where
        unknown)."""
        if self._ref_end is None:
            return np.zeros(n + self._span, np.float32)
        end = len(self._ref) - int(round((self._ref_end - t_start) * self.rate)) + n - self._min_lag
        start = end - n - self._span
        out = np.zeros(n + self._span, np.float32)
        a, b = max(start, 0), min(end, len(self._ref))
        if a < b:
            out[a - start:b - start] = self._ref[a:b]
        return out

    # ---------------------------------------------------------------- decision

    def decide(self, mic: np.ndarray, t_start: float) -> EchoDecision:
        """Classify one microphone block captured from `t_start` (s, same clock as the reference)."""
        m = self._float(mic)
        d = self._classify(m, t_start) if len(m) else EchoDecision(False, "silence", gain=self._gain)
        if d.reason == "speech" and self.last is not None and self.last.reason in ("speech", "hold"):
            self._hold_until = t_start + len(m) / self.rate + self.o.hold_ms / 1000
        elif d.echo and t_start < self._hold_until:
            d = EchoDecision(False, "hold", d.coherence, d.delay_ms, d.gain)
        if d.echo:
            self.gated += 1
        else:
            self.passed += 1
        self.last = d
        return d

    def process(self, mic: np.ndarray, t_start: float) -> np.ndarray:
        """The block itself if it may hold the user's voice; silence of the same shape and dtype if pure echo."""
        return np.zeros_like(mic) if self.decide(mic, t_start).echo else mic

    def _classify(self, m: np.ndarray, t_start: float) -> EchoDecision:
        o, n = self.o, len(m)
        e_mic = float(np.dot(m, m))
        power_db = _db(e_mic / n)
        self._track_noise(power_db, n)
        if power_db < o.silence_dbfs:
            return EchoDecision(False, "silence", gain=self._gain)
        w = self._window(t_start, n)
        if _db(float(np.dot(w, w)) / len(w)) < o.reference_dbfs:
            return EchoDecision(False, "no reference", gain=self._gain)
        lags = self._span + 1
        size = 1 << int(np.ceil(np.log2(len(w) + n)))
        # c[k] = <m, w[k:k+n]>: the block against the reference delayed by (max_lag - k) samples
        c = np.fft.irfft(np.fft.rfft(w, size) * np.conj(np.fft.rfft(m, size)), size)[:lags]
        cs = np.concatenate([[0.0], np.cumsum(w.astype(np.float64) ** 2)])
        e_ref = cs[n:n + lags] - cs[:lags]  # energy of each candidate reference segment
        rho = np.abs(c) / np.sqrt(np.maximum(e_ref, 1e-12) * e_mic)
        rho[e_ref < 1e-9 * n] = 0.0
        k = int(np.argmax(rho))
        coherence = float(min(rho[k], 1.0))
        if coherence < o.echo_coherence:
            self._candidate = None
        elif self._confirmed(k):  # the echo explains the block: learn the path
            g = abs(float(c[k])) / max(float(e_ref[k]), 1e-12)
            a = o.gain_smoothing if self._lag is not None else 1.0
            self._gain, self._lag = (1 - a) * self._gain + a * g, k
            return EchoDecision(True, "coherent", coherence, self._delay_ms(k), self._gain)
        # what the best-fitting echo leaves unexplained is only noise: still echo
        if _db(e_mic * (1.0 - coherence ** 2) / n) < self.noise_floor_db + o.speech_over_noise_db:
            return EchoDecision(True, "residual", coherence, self._delay_ms(k), self._gain)
        # is there more energy than the echo could carry? (at the learnt delay, else the loudest one)
        e_echo = float(e_ref[self._lag]) if self._lag is not None else float(np.max(e_ref))
        if _db(e_mic) <= _db(self._gain ** 2 * e_echo) + o.energy_margin_db:
            return EchoDecision(True, "energy", coherence, self._delay_ms(k), self._gain)
        # a coherent match at a new delay: the path moved (a playback gap) or the user resembles the reply by chance.
        # Pass the block, but do not hold the gate open on it: the next block tells which
        reason = "unconfirmed" if coherence >= o.echo_coherence else "speech"
        return EchoDecision(False, reason, coherence, self._delay_ms(k), self._gain)

    def _confirmed(self, k: int) -> bool:
        """Is a coherent match at lag `k` the echo path: the learnt delay, or the previous block's match again?"""
        near = [lag for lag in (self._lag, self._candidate) if lag is not None and abs(k - lag) <= self._lag_tolerance]
        self._candidate = k
        return bool(near)

    def _track_noise(self, power_db: float, n: int) -> None:
        """Minimum statistics: the floor drops to any quieter block at once and creeps up slowly otherwise."""
        if self.noise_floor_db is None or power_db < self.noise_floor_db:
            self.noise_floor_db = max(power_db, -100.0)
        else:
            self.noise_floor_db += self.o.noise_rise_db_per_s * n / self.rate

    def _delay_ms(self, k: int) -> float:
        return (self._max_lag - k) * 1000.0 / self.rate
