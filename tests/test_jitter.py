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
