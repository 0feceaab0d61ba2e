"""Outgoing audio tracks for aiortc: paced 20 ms frames, the reply buffer, and Opus encoded in the track.

`PacedAudioTrack` hands aiortc one 20 ms frame of 48 kHz mono per period, paced on its own clock like a sound card.
`ReplyTrack` fills those frames from the reply buffer (silence when empty) and reports what was really played.

Why encode in the track (`OpusPacketizer`): an idle session sends 50 silent frames a second, and for each one aiortc
meters the audio level in Python and hops to a worker thread to run libopus. With eight idle sessions on two cores
that is a measurable share of a core. The track instead encodes speech itself on the event loop (libopus takes
~0.1 ms a frame, less than the thread hop) and sends digital silence as one cached Opus packet, so silence costs
nothing but the packet's send. aiortc passes encoded packets through unchanged (`Encoder.pack`).

Discontinuous transmission (`dtx_s`): while a track has nothing but silence to send, it sends one silent packet
per `dtx_s` instead of fifty a second, as an Opus sender with DTX does, and its RTP clock runs on through the gap.
The first audio after it goes out at once (`wake`). Receivers treat the gap as silence (browsers' NetEq, and the
aiortc clients here). With 7 idle sessions the server took 15.5-16.3 % of a core instead of 20.6-20.7 %, and
their clients 5.9-6.1 % instead of 8.3-8.5 %.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections import deque
from typing import Any, Callable

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from ..clock import now

log = logging.getLogger("omnirt.webrtc")
RATE, FRAME = 48000, 960  # outgoing audio: 20 ms frames at 48 kHz
TIME_BASE = fractions.Fraction(1, RATE)


class OpusPacketizer:
    """20 ms int16 mono frames -> Opus packets with the caller's timestamps; one cached packet for silence.

    Settings follow aiortc's own encoder (stereo, 96 kb/s) but for the application: "lowdelay" (CELT only) has less
    than half the algorithmic delay of "voip" (docs/measurements.md), and at 96 kb/s a synthetic voice loses nothing
    to it.
    After speech, silent frames are still encoded until the encoder's look-ahead has drained (a clean fade-out);
    only then is the cached silence packet reused.
    """

    def __init__(self) -> None:
        import av

        self._av = av
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.bit_rate, self.codec.format, self.codec.layout = 96000, "s16", "stereo"
        self.codec.sample_rate, self.codec.time_base = RATE, TIME_BASE
        self.codec.options = {"application": "lowdelay"}
        self._silence: bytes | None = None
        self._quiet_frames = 0  # consecutive silent frames encoded since the last sound
        self.settled = False  # the last packet was the cached silence (the encoder holds no sound)
        self.encoded = self.cached = 0  # counters: frames through libopus / silent frames sent from the cache

    def _encode(self, samples: np.ndarray, pts: int) -> bytes | None:
        frame = self._av.AudioFrame(format="s16", layout="stereo", samples=FRAME)
        frame.planes[0].update(np.repeat(samples, 2).tobytes())  # interleaved L=R
        frame.sample_rate, frame.pts, frame.time_base = RATE, pts, TIME_BASE
        packets = self.codec.encode(frame)
        self.encoded += 1
        return bytes(packets[0]) if packets else None

    def packet(self, samples: np.ndarray, pts: int) -> Any:
        """The Opus packet for one frame of `samples`, stamped with `pts` (48 kHz ticks)."""
        silent = not samples.any()
        data = None
        self.settled = silent and self._silence is not None and self._quiet_frames >= 3
        if self.settled:
            data = self._silence
            self.cached += 1
        else:
            data = self._encode(samples, pts)
            self._quiet_frames = self._quiet_frames + 1 if silent else 0
            if silent and self._quiet_frames >= 3 and data is not None:
                self._silence = data  # steady-state silence: the encoder's look-ahead holds no sound any more
        if data is None:  # libopus primes on the first frame: send silence meanwhile
            data = self._silence or _SILENT_OPUS_PACKET
        packet = self._av.Packet(data)
        packet.pts, packet.time_base = pts, TIME_BASE
        return packet


# An Opus packet (RFC 6716 TOC 0xF8: CELT fullband 20 ms, mono, one frame) that decodes to silence.
_SILENT_OPUS_PACKET = bytes([0xF8, 0xFF, 0xFE])


class PacedAudioTrack(MediaStreamTrack):
    """An audio track that hands aiortc 20 ms 48 kHz frames in real time (paced on its own clock, like a sound
    card); subclasses say what each frame holds by implementing `next_samples()`. With `encode=True` it hands
    aiortc Opus packets instead of raw frames (see the module docstring)."""

    kind = "audio"

    def __init__(self, encode: bool = False, dtx_s: float = 0.0) -> None:
        super().__init__()
        self.dtx_s = dtx_s if encode else 0.0  # (needs the packetizer to know the encoder holds no sound)
        self._start: float | None = None
        self._pts = 0
        self.opus = OpusPacketizer() if encode else None
        self._waiter: asyncio.Future | None = None  # the pacing sleep in progress (wake() ends it early)

    def next_samples(self) -> np.ndarray:
        """The next FRAME int16 samples to send."""
        raise NotImplementedError

    def quiet(self) -> bool:
        """Nothing but silence to send until woken: with `dtx_s`, one packet per dtx_s goes out meanwhile."""
        return False

    def wake(self) -> None:
        """Send the next frame now instead of at its turn, and pace on from there. For the first audio after
        silence: it would otherwise wait up to a frame (10 ms on average) for the next tick. The stream then runs
        that much ahead of its RTP clock, which a receiver's jitter buffer absorbs like any early packet."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(True)

    async def recv(self) -> Any:
        import av

        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = now()
        else:
            self._pts += FRAME
            dtx = self.dtx_s and self.opus is not None and self.opus.settled and self.quiet()
            wait = self.dtx_s if dtx else self._start + self._pts / RATE - now()
            if wait > 0:  # asyncio.sleep, but wake() can end it (a future and a timer: no task per frame)
                loop = asyncio.get_running_loop()
                self._waiter = waiter = loop.create_future()
                timer = loop.call_later(wait, _resolve, waiter, False)
                try:
                    if await waiter and not dtx:
                        self._start = now() - self._pts / RATE  # woken early: pace on from now
                finally:
                    timer.cancel()
                    self._waiter = None
            if dtx:  # the RTP clock runs on through the gap, as a sender with Opus DTX does
                self._pts = max(self._pts, int((now() - self._start) * RATE))
        samples = self.next_samples()
        if self.opus is not None:
            return self.opus.packet(samples, self._pts)
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(samples.tobytes())
        frame.pts, frame.sample_rate, frame.time_base = self._pts, RATE, TIME_BASE
        return frame


def _resolve(future: asyncio.Future, value: bool) -> None:
    if not future.done():
        future.set_result(value)


class ReplyTrack(PacedAudioTrack):
    """Outgoing audio: 20 ms 48 kHz mono frames in real time from a buffer of reply audio; silence when empty.

    Counts per turn how much audio was really handed to aiortc, and reports to `listener`:
    ("speaking", turn, s) at a turn's first audio, ("played", turn, s) when a finished turn has all been sent,
    ("cut", turn, s) when an interrupt dropped the rest of it. `starved[turn]`: samples of silence sent inside a
    turn because its next audio was not made yet (underruns), until the turn is reported.
    `hold(True)` sends silence while keeping the buffer (the user may be starting to speak); `hold(False)` plays on
    from where it stopped. A hold lasts at most `max_hold_s`, so a lost release cannot mute the assistant.
    """

    def __init__(self, listener: Callable[[str, int, float], None], max_seconds: float = 120.0,
                 encode: bool = False, max_hold_s: float = 1.0, dtx_s: float = 0.0) -> None:
        super().__init__(encode, dtx_s)
        self.max_hold_s = max_hold_s
        self._held_until = 0.0  # while now() is below this, silence goes out and the reply waits
        self.listener, self.max_samples = listener, int(max_seconds * RATE)
        self._chunks: deque[tuple[int, np.ndarray]] = deque()
        self._buffered = 0
        self._finished: set[int] = set()  # turns whose audio is complete (SpeechDone seen)
        self.sent: dict[int, int] = {}  # turn -> samples sent
        self.starved: dict[int, int] = {}  # turn -> samples of silence sent mid-turn because no audio was ready
        self.dropped_samples = 0

    def write(self, turn: int, pcm: np.ndarray) -> None:
        if self._buffered + len(pcm) > self.max_samples:
            self.dropped_samples += len(pcm)
            return
        if len(pcm):
            if not self._chunks and turn not in self.sent:
                self.wake()  # a turn's first audio: out now, not at the next tick
            self._chunks.append((turn, pcm))
            self._buffered += len(pcm)

    def hold(self, on: bool) -> None:
        released = self.holding and not on
        self._held_until = now() + self.max_hold_s if on else 0.0
        if released and self._chunks:
            self.wake()  # play on at once

    @property
    def holding(self) -> bool:
        return now() < self._held_until

    def finish_turn(self, turn: int) -> None:
        self._finished.add(turn)
        self._report_played()

    def flush(self) -> None:
        """Drop everything buffered now (barge-in / interrupt)."""
        cut = {turn for turn, _ in self._chunks} | set(self.sent)
        self._held_until = 0.0
        self._chunks.clear()
        self._buffered = 0
        self._finished.clear()
        for turn in sorted(cut):
            self._tell("cut", turn, self.sent.pop(turn, 0) / RATE)

    def _tell(self, what: str, turn: int, seconds: float) -> None:
        try:
            self.listener(what, turn, seconds)
        except Exception:  # noqa: BLE001 - raising inside recv() would stop aiortc's sender for good
            log.exception("playback listener failed")

    def _report_played(self) -> None:
        pending = {turn for turn, _ in self._chunks}
        for turn in sorted(self._finished - pending):
            self._finished.discard(turn)
            self._tell("played", turn, self.sent.pop(turn, 0) / RATE)

    def _take(self) -> np.ndarray:
        out = np.zeros(FRAME, np.int16)
        if self.holding:
            return out
        n = 0
        while n < FRAME and self._chunks:
            turn, pcm = self._chunks[0]
            k = min(FRAME - n, len(pcm))
            out[n:n + k] = pcm[:k]
            if turn not in self.sent:
                self.sent[turn] = 0
                self._tell("speaking", turn, 0.0)
            self.sent[turn] += k
            n += k
            if k == len(pcm):
                self._chunks.popleft()
            else:
                self._chunks[0] = (turn, pcm[k:])
        self._buffered -= n
        if n < FRAME and self.sent:  # an underrun: a turn under way and its next audio not made yet
            turn = max(self.sent)
            if turn not in self._finished:
                self.starved[turn] = self.starved.get(turn, 0) + FRAME - n
        if self._finished:
            self._report_played()
        return out

    def next_samples(self) -> np.ndarray:
        return self._take()

    def quiet(self) -> bool:
        return not self._chunks
