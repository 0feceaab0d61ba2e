"""The immediate audio jitter buffer: every new packet is passed on at once, old and duplicate ones are dropped."""

from aiortc.rtp import RtpPacket

from omnirt.runtime.transports.jitter import ImmediateAudioBuffer


def _packet(seq: int, ts: int) -> RtpPacket:
    p = RtpPacket(payload_type=111, sequence_number=seq, timestamp=ts)
    p._data = bytes([seq % 256])  # what aiortc's depayloader leaves on the packet
    return p


def test_each_packet_is_released_on_arrival_in_order() -> None:
    buf = ImmediateAudioBuffer()
    for k in range(5):
        pli, frame = buf.add(_packet(100 + k, 960 * k))
        assert not pli and frame is not None
        assert frame.timestamp == 960 * k and frame.data == bytes([100 + k])


def test_duplicates_and_late_packets_are_dropped_and_counted() -> None:
    buf = ImmediateAudioBuffer()
    assert buf.add(_packet(10, 0))[1] is not None
    assert buf.add(_packet(12, 1920))[1] is not None  # 11 is lost or late
    assert buf.add(_packet(11, 960))[1] is None  # arrives after a newer one: cannot be played in order
    assert buf.add(_packet(12, 1920))[1] is None  # duplicate
    assert buf.add(_packet(13, 2880))[1] is not None
    assert buf.dropped == 2


def test_sequence_numbers_wrap_around() -> None:
    buf = ImmediateAudioBuffer()
    out = [buf.add(_packet(seq, 960 * i))[1] for i, seq in enumerate((65534, 65535, 0, 1))]
    assert all(f is not None for f in out)
    assert buf.add(_packet(65535, 0))[1] is None  # behind 1 after the wrap


def test_the_buffer_replaces_aiortcs_own_on_a_real_receiver() -> None:
    """Fails when an aiortc release moves its receiver's private buffer: the pin in pyproject.toml must move too."""
    import asyncio

    from aiortc import RTCPeerConnection

    from omnirt.runtime.transports.jitter import _RECEIVER_ATTR, set_jitter_prefetch

    async def main() -> None:
        pc = RTCPeerConnection()
        pc.addTransceiver("audio", direction="recvonly")
        set_jitter_prefetch(pc, 0)
        assert isinstance(getattr(pc.getTransceivers()[0].receiver, _RECEIVER_ATTR), ImmediateAudioBuffer)
        await pc.close()

    asyncio.run(main())


def test_a_receiver_without_the_buffer_is_refused_in_one_line() -> None:
    import pytest

    from omnirt.runtime.transports.jitter import UnsupportedAiortc, replace_audio_buffers

    class Transceiver:
        kind = "audio"
        receiver = object()

    class Peer:
        def getTransceivers(self) -> list:
            return [Transceiver()]

    with pytest.raises(UnsupportedAiortc, match="has no _RTCRtpReceiver__jitter_buffer"):
        replace_audio_buffers(Peer(), ImmediateAudioBuffer)
