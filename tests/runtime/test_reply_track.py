"""The reply track that carries the assistant's voice to a WebRTC peer, without a peer or a model: 20 ms frames
paced in real time, an interrupt that drops the buffer at once, a held reply that plays on from where it stopped,
one packet per DTX interval while quiet, Opus encoded by the track itself with silence from a cache, and incoming
packed stereo turned into an int16 frame (runtime/transports/webrtc.py). tests/runtime/test_webrtc.py runs the
transport with a real client."""

import asyncio
import fractions

import numpy as np

from omnirt.runtime.clock import now
from omnirt.runtime.transports.webrtc import RATE, ReplyTrack, to_audio_frame


async def test_reply_track_paces_20ms_frames_and_an_interrupt_drops_the_buffer_at_once():
    heard: list[tuple[str, int, float]] = []
    track = ReplyTrack(lambda *a: heard.append(a))
    track.write(1, np.full(RATE, 1000, np.int16))  # one second of turn 1
    t0 = now()
    frames = [await track.recv() for _ in range(10)]
    elapsed = now() - t0
    assert [f.pts for f in frames] == [i * 960 for i in range(10)]
    assert all(f.samples == 960 and f.sample_rate == RATE and f.time_base == fractions.Fraction(1, RATE)
               and f.layout.name == "mono" for f in frames)
    assert 0.17 <= elapsed < 0.4, elapsed  # real time: 9 frame periods after the first
    assert heard == [("speaking", 1, 0.0)]
    track.flush()
    assert heard[-1] == ("cut", 1, 0.2)
    silent = await track.recv()
    assert not np.any(silent.to_ndarray())
    track.write(2, np.full(480, 500, np.int16))
    track.finish_turn(2)
    assert not np.any((await track.recv()).to_ndarray()[0, 480:])
    assert heard[-1] == ("played", 2, 0.01)
    track.stop()


async def test_a_held_reply_sends_silence_and_plays_on_from_where_it_stopped():
    heard: list[tuple[str, int, float]] = []
    track = ReplyTrack(lambda *a: heard.append(a), max_hold_s=0.1)
    ramp = np.arange(1, 4801, dtype=np.int16)  # 100 ms whose samples say where they come from
    track.write(1, ramp)
    first = (await track.recv()).to_ndarray()[0]
    track.hold(True)  # the user may be starting to talk
    held = [(await track.recv()).to_ndarray()[0] for _ in range(2)]
    assert not any(np.any(h) for h in held) and track.sent[1] == 960  # nothing of the reply went meanwhile
    track.hold(False)  # a cough: play on
    after = (await track.recv()).to_ndarray()[0]
    assert first[0] == 1 and after[0] == 961  # continues with the next unplayed sample
    track.hold(True)
    frames = [(await track.recv()).to_ndarray()[0] for _ in range(10)]  # a release that never comes:
    assert not frames[0].any() and any(f.any() for f in frames[6:])  # the hold gives up after max_hold_s
    track.stop()


def test_incoming_packed_stereo_becomes_an_int16_frame_with_channels():
    import av

    frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
    pcm = np.arange(1920, dtype=np.int16)
    frame.planes[0].update(pcm.tobytes())
    frame.sample_rate = 48000
    out = to_audio_frame(frame)
    assert out.pcm.shape == (960, 2) and out.channels == 2 and out.sample_rate == 48000
    assert out.pcm[1].tolist() == [2, 3]
    assert out.capture_ts is not None and out.capture_ts <= now()


async def test_a_quiet_reply_track_sends_one_packet_per_dtx_interval_and_speaks_again_at_once():
    track = ReplyTrack(lambda *a: None, encode=True, dtx_s=0.1)
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(RATE // 10) / RATE)).astype(np.int16)  # 100 ms
    track.write(1, tone)
    t0 = now()
    sent = []
    while now() - t0 < 0.6:  # 100 ms of tone, the encoder's fade-out, then silence
        packet = await track.recv()
        sent.append((now() - t0, packet.pts))
    quiet = [t for t, _ in sent if t > 0.25]
    assert 3 <= len(quiet) <= 5, sent  # ~one packet per 100 ms, not fifty a second
    for (ta, pa), (tb, pb) in zip(sent, sent[1:]):  # the RTP clock keeps real time through the gaps
        assert abs((pb - pa) / RATE - (tb - ta)) < 0.03, (ta, tb, pa, pb)
    recv = asyncio.ensure_future(track.recv())  # waiting out a quiet interval ...
    await asyncio.sleep(0.02)
    track.write(2, tone)  # ... when the next reply comes: it goes out at once
    woke = now()
    packet = await recv
    assert now() - woke < 0.1 / 2  # at once: not at the end of the quiet interval (dtx_s = 0.1)
    assert (await track.recv()).pts - packet.pts == 960  # and paced at 20 ms again
    track.stop()


# ---------------------------------------------------------------- with models


async def test_reply_track_encodes_opus_itself_and_sends_silence_from_a_cache():
    import av

    track = ReplyTrack(lambda *a: None, encode=True)
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(RATE // 5) / RATE)).astype(np.int16)  # 200 ms
    track.write(1, tone)
    packets = [await track.recv() for _ in range(30)]  # 200 ms of tone, then 400 ms of silence
    assert [p.pts for p in packets] == [i * 960 for i in range(30)]
    assert all(isinstance(p, av.Packet) and p.time_base == fractions.Fraction(1, RATE) for p in packets)
    assert track.opus.cached >= 15 and track.opus.encoded <= 15  # steady silence skips libopus
    decoder = av.CodecContext.create("opus", "r")
    decoder.sample_rate, decoder.layout = RATE, "stereo"
    left = np.concatenate([f.to_ndarray()[0] for p in packets for f in decoder.decode(p)])  # float, planar
    level = lambda a: float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))  # noqa: E731
    assert abs(level(left[RATE // 50: RATE // 5]) - 8000 / 32768 / np.sqrt(2)) < 0.03  # the tone came through
    assert level(left[-RATE // 5:]) < 1e-3  # and silence after it
    track.stop()
