"""Incoming audio for aiortc: a jitter buffer that hands each Opus packet to the decoder the moment it arrives.

aiortc's `JitterBuffer` releases an audio frame only when the *next* packet (a different RTP timestamp) has arrived,
because for video a frame spans several packets and only the next timestamp proves it complete. An Opus packet is a
whole 20 ms frame, so that rule adds one packet time (20 ms) of delay to every frame, on top of any prefetch. On
loopback or a quiet LAN packets arrive in order and on time, so there is nothing to wait for: `ImmediateAudioBuffer`
passes each packet on at once and drops only duplicates and packets older than the last one passed on (a late
packet cannot be played in order anyway; the decoder simply continues).
"""

from __future__ import annotations

from typing import Any, Callable

from aiortc.jitterbuffer import JitterBuffer, JitterFrame

# aiortc keeps the buffer on a private, name-mangled attribute; pyproject.toml pins aiortc below its next minor
# release, and replace_audio_buffers fails loudly rather than silently keeping aiortc's buffer if the name changes.
_RECEIVER_ATTR = "_RTCRtpReceiver__jitter_buffer"


class UnsupportedAiortc(RuntimeError):
    """The installed aiortc keeps its jitter buffer somewhere this module does not know."""


def follows(seq: int, last: int | None) -> bool:
    """Is RTP sequence number `seq` newer than `last` (None: nothing seen yet), modulo the 16-bit wrap? A duplicate
    or a packet later than a newer one is not: it cannot be played in order."""
    return last is None or 0 < (seq - last) % 65536 < 32768


class ImmediateAudioBuffer(JitterBuffer):
    """A jitter buffer for one-packet audio frames that never holds a packet back."""

    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._last: int | None = None  # sequence number of the last packet passed on
        self.dropped = 0  # duplicates and packets that arrived after a newer one

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if not follows(seq, self._last):
            self.dropped += 1
            return False, None
        self._last = seq
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)


def replace_audio_buffers(pc: Any, make: Callable[[], Any]) -> None:
    """Put `make()` in place of aiortc's jitter buffer on every audio receiver of `pc` (anything with its
    `add(packet) -> (pli_flag, frame or None)`)."""
    for t in pc.getTransceivers():
        if t.kind != "audio":
            continue
        if not hasattr(t.receiver, _RECEIVER_ATTR):
            import aiortc
            raise UnsupportedAiortc(f"aiortc {aiortc.__version__} has no {_RECEIVER_ATTR}: install the aiortc version "
                                    "pyproject.toml names, or run with jitter_prefetch=None (aiortc's own buffer)")
        setattr(t.receiver, _RECEIVER_ATTR, make())


def set_jitter_prefetch(pc: Any, prefetch: int) -> None:
    """Replace aiortc's audio jitter buffer on every audio receiver of `pc`: 0 = `ImmediateAudioBuffer` (no added
    delay), N > 0 = aiortc's own buffer holding N packets before decoding (its default is 4: 80 ms + 20 ms)."""
    replace_audio_buffers(pc, lambda: ImmediateAudioBuffer() if prefetch == 0
                          else JitterBuffer(capacity=16, prefetch=prefetch))
