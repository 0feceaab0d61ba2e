"""Incoming Opus decoded on arrival at 16 kHz (runtime/transports/inbound.py), on packets from the real encoder."""

from dataclasses import dataclass

import numpy as np
import pytest

from omnirt.runtime.transports.inbound import OpusInput
from omnirt.runtime.transports.tracks import FRAME, RATE, OpusPacketizer

pytestmark = pytest.mark.needs("libopus")


@dataclass
class Packet:  # the fields of aiortc's RtpPacket that a jitter buffer reads
    sequence_number: int
    timestamp: int
    _data: bytes


def packets(seconds: float, hz: float = 440.0, start_seq: int = 65530, start_ts: int = 2 ** 32 - 5 * FRAME):
    """A tone as Opus packets, with sequence numbers and timestamps that wrap around."""
    enc = OpusPacketizer()
    t = np.arange(int(RATE * seconds)) / RATE
    pcm = (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    out = []
    for k, i in enumerate(range(0, len(pcm) - FRAME + 1, FRAME)):
        data = bytes(enc.packet(pcm[i:i + FRAME], i))
        out.append(Packet((start_seq + k) % 65536, (start_ts + i) % 2 ** 32, data))
    return out


def receive(pkts):
    got = []
    opus = OpusInput(lambda pcm, rate: got.append((pcm, rate)))
    for p in pkts:
        assert opus.add(p) == (False, None)  # aiortc's own decoder gets nothing
    return opus, got


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_each_packet_comes_out_at_once_as_16khz_mono_with_the_tone_intact():
    opus, got = receive(packets(0.5))
    assert len(got) == 25 and all(rate == 16000 and len(pcm) == 320 and pcm.dtype == np.int16 for pcm, rate in got)
    audio = np.concatenate([pcm for pcm, _ in got])
    assert abs(rms(audio[1600:]) - 8000 / np.sqrt(2)) < 400
    spectrum = np.abs(np.fft.rfft(audio[1600:]))
    assert abs(np.argmax(spectrum) * 16000 / len(audio[1600:]) - 440) < 5


def test_lost_packets_are_concealed_and_dtx_gaps_become_silence_keeping_real_time():
    pkts = packets(1.0)
    lost = pkts[:10] + pkts[12:]  # two packets lost
    opus, got = receive(lost)
    assert sum(len(p) for p, _ in got) == 50 * 320 and opus.concealed == 640
    dtx = pkts[:10] + [Packet(pkts[10].sequence_number, pkts[30].timestamp, pkts[30]._data)]  # no loss, time jump
    opus, got = receive(dtx)
    assert sum(len(p) for p, _ in got) == 31 * 320  # 20 frames of silence in between
    assert not got[10][0].any()


def test_late_duplicate_and_corrupt_packets_are_counted_and_skipped():
    pkts = packets(0.2)
    corrupt = Packet(pkts[5].sequence_number, pkts[5].timestamp, b"\xff\xff\xff\xff\xff")
    opus, got = receive(pkts[:3] + [pkts[1], pkts[3], pkts[4], corrupt] + pkts[6:])
    assert opus.dropped == 1 and opus.corrupt == 1
    assert sum(len(p) for p, _ in got) == 9 * 320  # everything else came through


async def test_a_gap_after_a_talkspurt_is_filled_in_real_time_and_not_twice():
    """DTX: silence reaches the endpointer while the sender is quiet, not 400 ms later with the next packet."""
    import asyncio

    pkts = packets(2.0)
    got: list[np.ndarray] = []
    opus = OpusInput(lambda pcm, rate: got.append(pcm), fill_after_ms=60, fill_s=0.5)
    for p in pkts[:9]:
        opus.add(p)
    opus.add(Packet(pkts[9].sequence_number, pkts[9].timestamp, b"\x08"))  # the empty frame a sender going quiet sends
    assert sum(map(len, got)) == 10 * 320
    await asyncio.sleep(0.03)
    assert sum(map(len, got)) == 10 * 320  # a late packet is not silence yet
    await asyncio.sleep(0.25)
    filled = sum(map(len, got)) - 10 * 320
    assert 0.2 * 16000 <= filled <= 0.32 * 16000 and not np.concatenate(got[9:]).any()
    opus.add(Packet(pkts[10].sequence_number, pkts[30].timestamp, pkts[30]._data))  # the DTX packet, 400 ms on
    assert sum(map(len, got)) == 31 * 320  # the gap's silence was not delivered twice
    await asyncio.sleep(0.4)  # the fill goes on to 0.5 s after the talkspurt, then stops
    n = len(got)
    await asyncio.sleep(0.15)
    assert len(got) == n
    opus.close()


async def test_a_sender_running_late_mid_talkspurt_gets_no_silence_inside_its_words():
    """A gap after an audio frame (a starved client, a network stall) is waited out: the late packets follow on
    seamlessly, and silence filled there would have cut a word in two."""
    import asyncio

    pkts = packets(0.6)
    got: list[np.ndarray] = []
    opus = OpusInput(lambda pcm, rate: got.append(pcm), fill_after_ms=60, fill_s=0.5)
    for p in pkts[:10]:
        opus.add(p)
    await asyncio.sleep(0.3)  # the sender stalls 300 ms mid-tone (5x the threshold: a busy host's hiccup is not one)
    for p in pkts[10:]:  # ... then catches up in a burst
        opus.add(p)
    audio = np.concatenate(got)
    assert len(audio) == len(pkts) * 320 and opus.filled == 0 and opus.late == 1
    assert min(rms(audio[i:i + 320]) for i in range(1600, len(audio), 320)) > 4000  # no silent frame in the tone
    opus.close()


async def test_steady_dtx_pairs_are_not_filled_between_packets():
    """Chromium in DTX sends a comfort-noise packet and an empty one every 400 ms: their gaps wait for the next."""
    import asyncio

    pkts = packets(2.0)
    got: list[np.ndarray] = []
    opus = OpusInput(lambda pcm, rate: got.append(pcm), fill_after_ms=20)
    for k in (0, 20, 40):
        opus.add(Packet(pkts[k // 20 * 2].sequence_number, pkts[k].timestamp, pkts[k]._data))
        opus.add(Packet(pkts[k // 20 * 2 + 1].sequence_number, pkts[k + 1].timestamp, b"\x08"))
        n = len(got)
        await asyncio.sleep(0.1)
        assert len(got) == n
    assert sum(map(len, got)) == 42 * 320 and opus.filled == 0
    opus.close()


async def test_filling_stops_on_close():
    import asyncio

    got: list[np.ndarray] = []
    opus = OpusInput(lambda pcm, rate: got.append(pcm), fill_after_ms=20)
    for p in packets(0.1):
        opus.add(p)
    opus.close()
    n = len(got)
    await asyncio.sleep(0.1)
    assert len(got) == n


def test_an_empty_dtx_frame_after_speech_is_silence_not_extrapolated_sound():
    pkts = packets(0.2)
    opus, got = receive(pkts + [Packet(pkts[-1].sequence_number + 1, pkts[-1].timestamp + FRAME, b"\x08")])
    assert rms(got[-2][0]) > 1000 and len(got[-1][0]) == 320 and not got[-1][0].any()
