"""The local transport: the default (or a named) microphone and speaker through sounddevice (PortAudio).

    async with LocalAudio(LocalAudioOptions()) as audio:
        await audio.ready.wait()                # the first input callback has come: speak now
        await drive(pipeline, audio.frames(), audio)  # gated microphone frames in, replies out (playout.py)

As an OutputSink: `play` queues reply audio (any rate) for the speaker, `flush` drops what is unplayed at once
(barge-in), `hold` plays silence meanwhile (the user's first sound), `finish` waits for a turn's last sample.

Threads: PortAudio calls the input and output callbacks on its own threads. The input callback hands each block to
the event loop with `call_soon_threadsafe` into a bounded queue (the oldest block is dropped when the consumer lags,
and counted). The output callback takes reply audio from a locked buffer, plays silence when it is empty (an
underrun is counted when a reply was in progress), and logs what it really played with its DAC time: that log is
the echo gate's reference (runtime/echo.py), so microphone frames that are only the assistant's own voice are
silenced before the VAD hears them, while the user's voice passes (barge-in).

Times (all `time.perf_counter`, the clock of every frame): a microphone frame's capture_ts follows the sample count
from the earliest-arriving input callback (arrival minus block duration); played times are PortAudio's DAC times
of the output callbacks, mapped from the stream clock at each callback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator

import numpy as np

from ..audio import StreamResampler, to_int16, to_mono_float
from ..echo import EchoGate, EchoOptions
from ..frames import AudioFrame
from ..playout import OutputSink
from .audio_devices import AudioDeviceError, resolve_device, sounddevice_module

__all__ = ["AudioDeviceError", "LocalAudio", "LocalAudioOptions", "abandoned_streams"]


_abandoned = 0  # streams whose closing never returned (see close_timeout_s)


def abandoned_streams() -> int:
    """How many audio streams could not be closed in this process: if any, PortAudio's exit handler would block
    on them, and the program should leave with os._exit once its output is flushed."""
    return _abandoned


@dataclass(frozen=True)
class LocalAudioOptions:
    """input_device / output_device: a PortAudio device index or a (part of a) name; None = the system default.
    input_rate: microphone rate (16 kHz = what the VAD and recogniser use; the sound server resamples).
    output_rate: speaker rate; reply audio is resampled to it.
    blocksize: input callback size in samples, 0 (PortAudio's choice) or >= 1920: 480 and 960 were measured to
        lose input through PulseAudio.
    frame_ms: microphone frames handed to the pipeline (and judged by the echo gate) are this long.
    queue_blocks: input blocks waiting for the event loop (blocksize 0 gives 64-sample blocks at 16 kHz: 1000 are
        4 s); beyond it the oldest is dropped.
    max_reply_s: reply audio buffered for the speaker; beyond it the oldest is dropped (a runaway producer).
    echo_gate: silence microphone frames that are only the echo of what the speaker played.
    echo: the gate's knobs (its sample_rate is set to input_rate).
    input_latency / output_latency: PortAudio's suggested latency ("low", "high" or seconds). The speaker's
        "low" (8.7 ms through PulseAudio) leaves too little slack for a Python callback while the models keep two
        cores busy; 50 ms is barely audible in the reply's latency.
    stall_s: no microphone audio for this long (the first callback included, measured at up to 1.9 s through
        PulseAudio) means the device or its sound server is gone: frames() raises AudioDeviceError.
    close_timeout_s: closing the streams may take this long; beyond it they are left open (PortAudio's ALSA
        back end can block for good in abort() once the sound server has died) and `abandoned_streams()` counts
        them, so that the program can exit without PortAudio's own exit handler blocking on them again.
    """

    input_device: int | str | None = None
    output_device: int | str | None = None
    input_rate: int = 16000
    output_rate: int = 48000
    blocksize: int = 0
    frame_ms: int = 32
    queue_blocks: int = 1000
    max_reply_s: float = 120.0
    echo_gate: bool = True
    echo: EchoOptions = field(default_factory=EchoOptions)
    input_latency: str | float = "low"
    output_latency: str | float = 0.05
    stall_s: float = 5.0
    close_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        if 0 < self.blocksize < 1920:
            raise ValueError(f"blocksize must be 0 or >= 1920 (smaller loses input), got {self.blocksize}")
        if self.frame_ms <= 0 or self.input_rate <= 0 or self.output_rate <= 0:
            raise ValueError("frame_ms, input_rate and output_rate must be positive")


_STALLED = object()  # put in the input queue by the watchdog


class LocalAudio(OutputSink):
    """Microphone in, speaker out, echo gate between. Use as an async context manager."""

    def __init__(self, options: LocalAudioOptions = LocalAudioOptions()) -> None:
        self.o = options
        self.gate = EchoGate(replace(options.echo, sample_rate=options.input_rate)) if options.echo_gate else None
        self.ready = asyncio.Event()  # set at the first input callback
        self.input_name = self.output_name = ""
        self.dropped_blocks = 0  # input blocks dropped because the event loop lagged
        self.overflows = 0  # input overflows reported by PortAudio
        self.underruns = 0  # times the speaker ran out of reply audio mid-reply (an audible gap)
        self.xruns = 0  # output underflows reported by PortAudio (the callback came too late: a click)
        self.gated_frames = 0
        self.frames_out = 0
        self._sd: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._watchdog: asyncio.Task | None = None
        self._last_block = 0.0  # when the last input block reached the event loop
        self._in = self._out = None
        self._lock = threading.Lock()
        self._reply: deque[tuple[int, np.ndarray]] = deque()  # (turn, int16 at output_rate) not yet played
        self._reply_len = 0
        self._reply_open = False  # a reply is arriving: running dry now is an underrun
        self._dry = False
        self._held_until = 0.0  # while perf_counter() is below this the speaker plays silence, keeping the reply
        self._played: dict[int, int] = {}  # turn -> samples played
        self._turn_end: dict[int, float] = {}  # turn -> perf_counter time its last played sample is heard
        self._first_heard: dict[int, float] = {}  # turn -> when its first sample is heard
        self._log: deque[tuple[float, np.ndarray]] = deque(maxlen=512)  # (DAC time, block) for the echo gate
        self._resamplers: dict[int, StreamResampler] = {}
        self._ref_rs: StreamResampler | None = None
        self._ref_t = 0.0  # time of the next reference sample at input_rate
        self._ref_in = 0  # output-rate samples fed to the reference resampler since its anchor
        self._ref_out = 0  # input-rate samples it has produced since its anchor

    # ---------------------------------------------------------------- open / close

    def check_devices(self) -> tuple[int, int]:
        """Resolve both devices now (fails fast, before models load); returns (input index, output index)."""
        sd = self._sd = self._sd or sounddevice_module()
        i, o = resolve_device(sd, self.o.input_device, "input"), resolve_device(sd, self.o.output_device, "output")
        self.input_name, self.output_name = sd.query_devices(i)["name"], sd.query_devices(o)["name"]
        return i, o

    async def __aenter__(self) -> "LocalAudio":
        i, o = self.check_devices()
        sd = self._sd
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(self.o.queue_blocks)
        try:
            self._out = sd.OutputStream(device=o, samplerate=self.o.output_rate, channels=1, dtype="int16",
                                        callback=self._output_callback, latency=self.o.output_latency)
            self._in = sd.InputStream(device=i, samplerate=self.o.input_rate, channels=1, dtype="int16",
                                      blocksize=self.o.blocksize, callback=self._input_callback,
                                      latency=self.o.input_latency)
            self._out.start()
            self._in.start()
            self._last_block = time.perf_counter()
            self._watchdog = asyncio.create_task(self._watch())
        except sd.PortAudioError as err:
            self._close_streams()
            raise AudioDeviceError(f"cannot open the audio devices ({self.input_name} / {self.output_name}): "
                                   f"{str(err).splitlines()[0]}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._close_streams()
        if self._queue is not None:
            self._put(None)  # ends frames()

    def _close_streams(self) -> None:
        streams = [s for s in (self._in, self._out) if s is not None]
        self._in = self._out = None
        if not streams:
            return
        closed = threading.Event()

        def close() -> None:
            for stream in streams:
                try:
                    stream.abort()  # not stop(): no waiting for the sound server to drain what is queued
                    stream.close()
                except Exception:  # noqa: BLE001 - closing a failed stream must not hide the first error
                    pass
            closed.set()

        threading.Thread(target=close, name="omnirt-audio-close", daemon=True).start()
        if not closed.wait(self.o.close_timeout_s):
            global _abandoned
            _abandoned += len(streams)

    # ---------------------------------------------------------------- microphone

    def _input_callback(self, data: np.ndarray, frames: int, t: Any, status: Any) -> None:
        # Capture time = arrival minus the block's duration. PortAudio's inputBufferAdcTime is not used: through
        # PulseAudio it was measured 0.65 s early for the first seconds of a stream, then right.
        start = time.perf_counter() - frames / self.o.input_rate
        lost = bool(status.input_overflow)
        self.overflows += lost
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._put, (start, data[:, 0].copy(), lost))
        except RuntimeError:  # the loop is closed: we are shutting down
            pass

    async def _watch(self) -> None:
        """Tell frames() when the microphone has gone quiet for stall_s (no callbacks at all, not silence)."""
        while time.perf_counter() - self._last_block < self.o.stall_s:
            await asyncio.sleep(0.25)
        self._put(_STALLED)

    def _put(self, item: Any) -> None:
        assert self._queue is not None
        if isinstance(item, tuple):
            self.ready.set()
            self._last_block = time.perf_counter()
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped_blocks += 1
        self._queue.put_nowait(item)

    async def frames(self) -> AsyncIterator[AudioFrame]:
        """Microphone frames of frame_ms, int16 mono at input_rate, echo-gated; ends when the transport closes."""
        assert self._queue is not None, "use inside `async with LocalAudio(...)`"
        rate = self.o.input_rate
        size = rate * self.o.frame_ms // 1000
        pending = np.zeros(0, np.int16)
        t0 = 0.0  # capture time of pending[0]
        late_before = 0.0  # how late the previous block came (s), if late beyond jitter
        dropped = self.dropped_blocks
        while True:
            item = await self._queue.get()  # (not wait_for: in 3.11 it can swallow a cancellation)
            if item is None:
                return
            if item is _STALLED:
                raise AudioDeviceError(f"the microphone ({self.input_name}) delivered no audio for "
                                       f"{self.o.stall_s:.0f} s: was the device or sound server lost?")
            start, block, lost = item
            expected = t0 + len(pending) / rate  # continuity: this block follows the pending samples
            late = start - expected
            lost, dropped = lost or self.dropped_blocks != dropped, self.dropped_blocks  # by PortAudio, or by us
            if t0 == 0.0 or lost or self._gap(late, late_before, len(block) / rate):
                t0 = start - len(pending) / rate  # the first block, or samples were lost: re-anchor
                late = 0.0
            elif late > len(block) / rate:
                pass  # a late callback (the process was descheduled): the samples are continuous all the same
            elif start < expected:
                t0 -= expected - start  # a block that came sooner shows the callbacks' least delay: keep that
            else:
                t0 += 0.01 * late  # creep after a slower device clock
            late_before = late if late > 0.1 else 0.0
            pending = np.concatenate([pending, block]) if len(pending) else block
            self._feed_reference()
            while len(pending) >= size:
                pcm, pending = pending[:size], pending[size:]
                if self.gate is not None:
                    gated = self.gate.process(pcm, t0)
                    self.gated_frames += gated is not pcm
                    pcm = gated
                self.frames_out += 1
                yield AudioFrame(pcm=pcm, sample_rate=rate, capture_ts=t0)
                t0 += size / rate

    @staticmethod
    def _gap(late: float, late_before: float, block_s: float) -> bool:
        """Were samples lost without an overflow flag? A late callback is followed by the blocks that piled up
        behind it, each less late than the one before (they catch up); after lost samples every block stays as
        late as the first. Re-anchoring on a callback that was merely late would stamp the next blocks up to its
        delay too late, and the echo gate would see the echo at a delay it never learnt."""
        return late > 0.1 and late_before > 0.1 and late > late_before - block_s / 2

    def _feed_reference(self) -> None:
        """Move what the speaker played into the echo gate, at the microphone's rate, on one continuous clock."""
        while self._log:
            dac, block = self._log.popleft()
            if self.gate is None:
                continue
            expected = self._ref_t + self._ref_in / self.o.output_rate
            if self._ref_rs is None or abs(dac - expected) > 0.05:  # first block, or the stream was restarted
                self._ref_rs = StreamResampler(self.o.output_rate, self.o.input_rate)
                self._ref_t, self._ref_in, self._ref_out = dac, 0, 0
            x = self._ref_rs.process(to_mono_float(block))
            self._ref_in += len(block)
            if len(x):
                self.gate.reference(x, self._ref_t + self._ref_out / self.o.input_rate)
                self._ref_out += len(x)

    # ---------------------------------------------------------------- speaker

    def play(self, frame: AudioFrame) -> None:
        """Queue reply audio for the speaker (resampled to output_rate)."""
        if frame.sample_rate == self.o.output_rate and frame.pcm.ndim == 1:
            pcm = frame.pcm
        else:
            rs = self._resamplers.setdefault(frame.sample_rate, StreamResampler(frame.sample_rate, self.o.output_rate))
            pcm = to_int16(rs.process(to_mono_float(frame.pcm)))
        if not len(pcm):
            return
        with self._lock:
            self._reply.append((frame.turn, pcm))
            self._reply_len += len(pcm)
            self._reply_open = True
            while self._reply_len > self.o.max_reply_s * self.o.output_rate and len(self._reply) > 1:
                self._reply_len -= len(self._reply.popleft()[1])

    def end_reply(self) -> None:
        """The reply's audio is all queued: running dry from now on is the end, not an underrun."""
        tail = [to_int16(rs.process(np.zeros(0, np.float32), last=True)) for rs in self._resamplers.values()]
        self._resamplers.clear()  # the next reply starts a fresh stream
        with self._lock:
            if self._reply and any(len(x) for x in tail):
                self._reply.append((self._reply[-1][0], np.concatenate(tail)))
                self._reply_len += len(self._reply[-1][1])
            self._reply_open = False

    def hold(self, on: bool, max_s: float = 1.0) -> None:
        """Play silence instead of the reply (the user may be starting to speak), at most `max_s`; `hold(False)`
        plays on from where it stopped (it was a cough). A hold never outlives `max_s`, so a lost release cannot
        mute the assistant."""
        with self._lock:
            self._held_until = time.perf_counter() + max_s if on else 0.0

    def flush(self) -> float:
        """Drop all reply audio not yet played (barge-in); returns the seconds dropped."""
        with self._lock:
            self._held_until = 0.0
            dropped = self._reply_len
            self._reply.clear()
            self._reply_len = 0
            self._reply_open = False
        self._resamplers.clear()  # their filter state belongs to the dropped audio
        return dropped / self.o.output_rate

    @property
    def playing(self) -> bool:
        """Reply audio is queued, or its last sample has not yet reached the speaker."""
        return self._reply_len > 0 or time.perf_counter() < max(self._turn_end.values(), default=0.0)

    def played_s(self, turn: int) -> float:
        """Seconds of a turn's reply audio handed to the speaker so far."""
        return self._played.get(turn, 0) / self.o.output_rate

    def first_heard(self, turn: int) -> float | None:
        """perf_counter time at which the turn's first reply sample reaches the speaker (PortAudio's DAC time)."""
        return self._first_heard.get(turn)

    async def finish(self, turn: int) -> float:
        """The turn's audio is all queued: wait until its last sample has been heard."""
        self.end_reply()
        return await self.wait_played(turn)

    async def wait_played(self, turn: int, timeout: float = 120.0) -> float:
        """Wait until no audio of `turn` is queued and its last sample has been heard; returns seconds played."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                queued = any(t == turn for t, _ in self._reply)
            if not queued and time.perf_counter() >= self._turn_end.get(turn, 0.0):
                break
            await asyncio.sleep(0.01)
        return self.played_s(turn)

    def _output_callback(self, out: np.ndarray, frames: int, t: Any, status: Any) -> None:
        now = time.perf_counter()
        if status.output_underflow:
            self.xruns += 1
        dac = t.outputBufferDacTime + (now - t.currentTime) if t.outputBufferDacTime and t.currentTime else now
        filled = 0
        with self._lock:
            held = now < self._held_until
            while filled < frames and self._reply and not held:
                turn, pcm = self._reply[0]
                n = min(frames - filled, len(pcm))
                out[filled:filled + n, 0] = pcm[:n]
                if turn not in self._first_heard:
                    self._first_heard[turn] = dac + filled / self.o.output_rate
                filled += n
                self._played[turn] = self._played.get(turn, 0) + n
                self._turn_end[turn] = dac + filled / self.o.output_rate
                self._reply_len -= n
                if n == len(pcm):
                    self._reply.popleft()
                else:
                    self._reply[0] = (turn, pcm[n:])
            dry = filled < frames and self._reply_open and not held
            if dry and not self._dry:
                self.underruns += 1  # one per gap, however many callbacks it lasts
            self._dry = dry
        out[filled:, 0] = 0
        self._log.append((dac, out[:, 0].copy()))

    # ---------------------------------------------------------------- report

    def stats(self) -> dict[str, Any]:
        gate = self.gate
        return {"frames": self.frames_out, "echo_gated": self.gated_frames,
                "echo_gain": round(gate.gain, 3) if gate else None,
                "dropped_blocks": self.dropped_blocks, "overflows": self.overflows, "underruns": self.underruns,
                "xruns": self.xruns}
