"""Incoming Opus decoded on the event loop, straight to the 16 kHz mono the pipeline listens at.

aiortc decodes each incoming packet in a thread of its own per receiver, at 48 kHz stereo, and hands every frame
back to the event loop through `run_coroutine_threadsafe`; the session then converts it to int16, down-mixes it and
resamples it to 16 kHz. Per 20 ms frame of every listening session that is two thread hops, a task, an
av.AudioFrame and three passes over the samples. `OpusInput` takes the receiver's jitter-buffer slot instead
(aiortc's decoder thread then never gets a frame): it decodes each packet the moment it arrives, with libopus
itself decoding to 16 kHz mono (its synthesis is band-limited at that rate, so no resampler is needed), and calls
`deliver(pcm, rate)`. Like `jitter.ImmediateAudioBuffer` it holds nothing back: on loopback and a quiet LAN
packets arrive in order and on time.

Lost packets are concealed by libopus (up to `max_conceal_ms`), and a sender's discontinuous transmission (the
RTP clock jumps with no packet lost) becomes silence, so the voice activity detector's clock keeps real time.
The empty frames a DTX sender marks its pauses with (packets of 1-2 bytes) are silence too: libopus would fill them
by extrapolating the last sound, and a final vowel drawn out by 20 ms reads to the endpointer as the user going on.
A DTX gap's silence is only known when the next packet arrives (up to 400 ms later), and the endpointer must not
wait that long to see the hangover pass: for `fill_s` after a stream of packets (a talkspurt) ends in an empty DTX
frame, silence is delivered from `fill_after_ms` into each gap on, in real time, and the next packet's gap is
shortened by what was filled. Only after an empty frame: a sender going quiet sends one (Chromium does), while a
gap after an audio frame is the sender or the network running late (counted in `late`), and silence put there
would land inside a word once the late packets follow. After that (steady DTX: Chromium sends a comfort-noise
packet and an empty one every 400 ms) a gap's silence comes with the packet that ends it, so a silent microphone
costs a few deliveries a second.
A packet libopus rejects is counted and skipped: one corrupt packet costs 20 ms, not the session.

libopus is the copy that PyAV (an aiortc dependency) ships, loaded with ctypes; `load_libopus()` is None when it
cannot be found, and the transport then keeps aiortc's own decoding.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import glob
import os
from typing import Any, Callable

import numpy as np

from ..clock import now
from .jitter import follows

RTP_RATE = 48000  # Opus RTP timestamps always count 48 kHz ticks (RFC 7587)
_MAX_FRAME_S = 0.12  # the longest Opus packet
_STREAM_RUN = 3  # packets in a row that make a stream (a browser in DTX sends a pair every 400 ms: not one)


@functools.lru_cache(maxsize=1)
def load_libopus() -> Any | None:
    """The libopus shared library (PyAV's bundled copy first, then the system's), or None."""
    candidates = []
    try:
        import av

        libs = os.path.join(os.path.dirname(os.path.dirname(av.__file__)), "av.libs")
        candidates += sorted(glob.glob(os.path.join(libs, "libopus*.so*")))
    except ImportError:
        pass
    system = ctypes.util.find_library("opus")
    candidates += [system] if system else []
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_void_p,
                                    ctypes.c_int, ctypes.c_int]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        return lib
    return None


class OpusDecoder:
    """One libopus decoder (mono at `rate`); `decode(None, n)` conceals n lost samples."""

    def __init__(self, rate: int = 16000) -> None:
        lib = load_libopus()
        if lib is None:
            raise RuntimeError("libopus not found (neither PyAV's bundled copy nor a system one)")
        err = ctypes.c_int(0)
        self._lib, self.rate = lib, rate
        self._dec = lib.opus_decoder_create(rate, 1, ctypes.byref(err))
        if err.value != 0 or not self._dec:
            raise RuntimeError(f"opus_decoder_create({rate}, 1) failed: error {err.value}")
        self._pcm = np.zeros(int(rate * _MAX_FRAME_S), np.int16)
        self._out = self._pcm.ctypes.data

    def decode(self, data: bytes | None, conceal: int = 0) -> np.ndarray | None:
        """One packet's samples (int16, a copy), or None when libopus rejects it."""
        step = self.rate // 400  # concealment comes in multiples of 2.5 ms
        size = min(conceal, len(self._pcm)) // step * step if data is None else len(self._pcm)
        if size <= 0:
            return None
        n = self._lib.opus_decode(self._dec, data, len(data) if data else 0, self._out, size, 0)
        return self._pcm[:n].copy() if n > 0 else None

    def __del__(self) -> None:
        dec, self._dec = getattr(self, "_dec", None), None
        if dec:
            self._lib.opus_decoder_destroy(dec)


class OpusInput:
    """In a receiver's jitter-buffer slot: `add(packet)` decodes it at once and calls `deliver(pcm, rate)`;
    returns (False, None) so that aiortc's own decoder has nothing to do."""

    def __init__(self, deliver: Callable[[np.ndarray, int], None], rate: int = 16000, max_conceal_ms: int = 100,
                 max_silence_s: float = 2.0, fill_after_ms: int = 60, fill_s: float = 1.0) -> None:
        self.deliver, self.rate = deliver, rate
        self.decoder = OpusDecoder(rate)
        self._max_conceal = max_conceal_ms * rate // 1000
        self._max_silence = int(max_silence_s * rate)
        self._fill_after, self._fill_s = fill_after_ms / 1e3, fill_s
        self._seq: int | None = None
        self._next_ts: int | None = None  # the RTP timestamp the next packet should carry
        self._arrived = 0.0  # when the last packet came
        self._filled = 0  # silence delivered since then, in samples
        self._run = 0  # packets in a row that continued the stream (no gap before them)
        self._fill_until = 0.0  # gaps are filled in real time until then
        self._timer: asyncio.TimerHandle | None = None
        self._dtx = False  # the last packet was an empty DTX frame: the sender says it has gone quiet
        self.packets = self.dropped = self.corrupt = self.concealed = 0  # counters (the last two: in samples)
        self.filled = 0  # samples of silence delivered before the packet that ended their gap
        self.late = 0  # audio packets that came over fill_after_ms after the one before them, with no time skipped

    def add(self, packet: Any) -> tuple[bool, None]:
        seq, ts = packet.sequence_number, packet.timestamp
        if not follows(seq, self._seq):
            self.dropped += 1
            return False, None
        self.packets += 1
        lost = (seq - self._seq - 1) % 65536 if self._seq is not None else 0
        missing = (ts - self._next_ts) % 2 ** 32 if self._next_ts is not None else 0
        self._seq = seq
        t = now()
        waited, filled, self._filled, self._arrived = t - self._arrived, self._filled, 0, t
        gap = missing * self.rate // RTP_RATE if 0 < missing < 2 ** 31 else 0
        self._run = 0 if gap else self._run + 1
        if self._run >= _STREAM_RUN:
            self._fill_until = self._arrived + self._fill_s
        if not gap and not self._dtx and self.packets > 1 and waited > self._fill_after:
            self.late += 1  # a stalled sender or network: waited out, never filled
        gap -= filled
        if gap > 0:  # time the sender's clock moved on without audio reaching us
            if lost:  # packets were lost: let libopus conceal them
                concealed = self.decoder.decode(None, min(gap, self._max_conceal))
                if concealed is not None:
                    self.concealed += len(concealed)
                    self.deliver(concealed, self.rate)
            else:  # discontinuous transmission: the sender was silent
                self.deliver(np.zeros(min(gap, self._max_silence), np.int16), self.rate)
        pcm = self.decoder.decode(packet._data)
        if pcm is None:
            self.corrupt += 1
            self._next_ts = None
            return False, None
        self._next_ts = (ts + len(pcm) * RTP_RATE // self.rate) % 2 ** 32
        self._dtx = len(packet._data) <= 2
        if self._dtx:  # a DTX frame (no audio coded): libopus extrapolates the last sound into it
            pcm[:] = 0
        self.deliver(pcm, self.rate)
        if self._dtx and self._arrived < self._fill_until and self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(self._fill_after, self._fill)
            except RuntimeError:  # no event loop (decoding a capture offline): nothing to fill in real time
                pass
        return False, None

    def _fill(self) -> None:
        """The timer: deliver the silence owed since the last packet, until `_fill_until`."""
        self._timer = None
        if not self._dtx:  # the sender went on talking: a gap now is a late packet, not silence
            return
        loop, t = asyncio.get_running_loop(), now()
        if t - self._arrived < self._fill_after:  # a packet came meanwhile: look again fill_after after it
            self._timer = loop.call_later(self._arrived + self._fill_after - t, self._fill)
            return
        owed = int((min(t, self._fill_until) - self._arrived) * self.rate) - self._filled
        if owed > 0:
            self._filled += owed
            self.filled += owed
            self.deliver(np.zeros(owed, np.int16), self.rate)
        if t < self._fill_until:
            self._timer = loop.call_later(0.02, self._fill)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
