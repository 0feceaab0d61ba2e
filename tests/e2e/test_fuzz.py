"""Property-based fuzzing of every parser that takes outside input: whatever arrives, the answer is the parser's
own one-line error (or a result), never another exception, a hang or a 500.

Bounded for CI (a few seconds per parser); `HYPOTHESIS_PROFILE=long` runs 50 times as many examples.
"""

import asyncio
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnirt.runtime.transports.guard import Guard, host_name
from omnirt.runtime.transports.sdp import BadRequest, asks_for_dtx, check_bundle, request_dtx, usable_candidates

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=7500, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SDP_LINES = st.sampled_from([
    "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;usedtx=0",
    "a=fmtp:111", "a=fmtp:", "a=rtpmap:111 OPUS/48000", "a=group:BUNDLE 0 1", "a=mid:0", "a=mid:",
    "a=candidate:1 1 udp 2122260223 198.18.0.1 5000 typ host", "a=candidate:1 1 UDP 1 x.local 1 typ host",
    "a=candidate:", "a=candidate:1 1 udp 1 ::1 99999999999999999999 typ host", "a=candidate:1 1 tcp 1 1.2.3.4 9 typ",
])
TEXT_LINES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


def one_line(err: Exception) -> bool:
    return "\n" not in str(err) and 0 < len(str(err)) < 300


@given(st.lists(st.one_of(SDP_LINES, TEXT_LINES), max_size=40), st.booleans())
def test_sdp_edits_answer_or_refuse_in_one_line(lines, loopback):
    sdp = "\r\n".join(lines)
    for edit in (lambda s: usable_candidates(s, loopback), request_dtx, check_bundle, asks_for_dtx):
        try:
            out = edit(sdp)
        except BadRequest as err:
            assert one_line(err)
            continue
        assert isinstance(out, (str, bool))
    out = request_dtx(sdp)
    assert request_dtx(out) == out  # idempotent on anything


@given(st.text(max_size=300), st.text(max_size=300), st.one_of(st.none(), st.text(max_size=20)))
def test_host_and_origin_checks_never_raise(host, origin, site):
    g = Guard(allowed_origins=("https://app.example:8443", "myhost.lan"), token="t")
    for problem in (g.host_problem(host), g.origin_problem(origin, host, site)):
        assert problem is None or ("\n" not in problem and len(problem) < 300)
    name = host_name(host)
    assert name is None or isinstance(name, str)
    assert g.authorised(host, origin) in (True, False)


@pytest.fixture(scope="module")
def http_server():
    """A real signalling server; offers that pass every check reach a session that cannot start (no models),
    which must still be one line."""
    from omnirt.runtime.transports.webrtc import WebRTCOptions
    from background_server import BackgroundServer

    bg = BackgroundServer(None, WebRTCOptions(port=0, body_timeout_s=1.0))
    yield bg
    bg.stop()


HEADER_VALUES = st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
                          st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")
                                                     .decode("latin-1")))
BODIES = st.one_of(st.binary(max_size=2000), st.builds(lambda d: json.dumps(d).encode(), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40)),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from(["sdp", "type", "x"]), c)),
    max_leaves=20)), st.just(b'{"type": "offer", "sdp": "v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n"}'))


@settings(max_examples=int(os.environ.get("FUZZ_HTTP_EXAMPLES", "120")))
@given(st.sampled_from(["POST /offer", "GET /stats", "GET /config", "GET /", "POST /", "GET /app.js",
                        "OPTIONS /offer", "GET /../../etc/passwd"]),
       st.dictionaries(st.sampled_from(["Host", "Origin", "Content-Type", "Authorization", "Content-Encoding",
                                        "Sec-Fetch-Site", "X-Forwarded-For"]), HEADER_VALUES, max_size=5),
       BODIES)
def test_no_request_gets_a_500_or_a_traceback(http_server, target, headers, body):
    headers = {"Host": "127.0.0.1", **headers, "Content-Length": str(len(body)), "Connection": "close"}
    raw = f"{target} HTTP/1.1\r\n".encode() + b"".join(
        f"{k}: {v}\r\n".encode("latin-1", "replace") for k, v in headers.items()) + b"\r\n" + body

    async def send() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", http_server.server.port)
        writer.write(raw)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()

    reply = asyncio.run(send())
    status = int(reply.split(b" ", 2)[1]) if reply.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")) else None
    assert status is not None and status < 500, (raw[:200], reply[:300])
    assert not http_server.server.sessions


@given(st.binary(max_size=400), st.sampled_from([b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"RIFF\xff\xff\xff\xffWAVE"]))
def test_wav_input_is_read_or_refused_in_one_line(tmp_path_factory, data, head):
    from omnirt.runtime.transports.file import AudioInputError, wav_frames

    path = tmp_path_factory.mktemp("wav") / "in.wav"
    path.write_bytes(head + data)

    async def read() -> int:
        n = 0
        async for frame in wav_frames(path, tail_silence_s=0):
            n += len(frame.pcm)
        return n

    try:
        assert asyncio.run(read()) >= 0
    except AudioInputError as err:
        assert one_line(err)


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(
        st.sampled_from(["action", "x", "y", "text", "keys", "target", "element", "dx", "dy", "seconds"]), c)),
    max_leaves=15)))
def test_actions_parse_or_are_rejected_with_a_reason(data):
    from omnirt.agents.actions import InvalidAction, parse_action

    try:
        parse_action(json.dumps(data) if not isinstance(data, (str, bytes)) else data)
    except InvalidAction as err:
        assert one_line(err)


def _png_bytes() -> list[bytes]:
    """A sound 16x10 PNG, the same cut short, garbage after the signature, and a bomb's header (100k x 100k)."""
    import io
    import struct
    import zlib

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((10, 16, 3), np.uint8)).save(buf, format="PNG")
    good = buf.getvalue()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    return [good, good[:len(good) // 2], good[:8] + b"garbage" * 20, bomb, b""]


STEP_KEYS = st.sampled_from(["index", "action", "screen_action", "observation", "before", "after", "png", "monitor",
                             "region", "keys", "text", "x", "y"])
JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
                       lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(STEP_KEYS, c, max_size=4)),
                       max_leaves=15)
RECORDED_ACTIONS = st.one_of(JSONISH, st.fixed_dictionaries(
    {"action": st.sampled_from(["click", "drag", "type", "hotkey", "scroll", "wait", "done", "call_user", "x"])},
    optional={"x": st.integers(-5, 200), "y": st.integers(-5, 200), "to_x": st.integers(0, 200),
              "to_y": st.integers(0, 200), "text": st.text(max_size=12), "amount": st.integers(-3, 3),
              "keys": st.lists(st.sampled_from(["ctrl", "alt", "enter", "f4", "l", "a", "win", "\n"]), max_size=3),
              "seconds": st.floats(0, 0.01), "summary": st.text(max_size=12)}))
PNG_NAMES = st.sampled_from(["step_0000_before.png", "missing.png", "../outside.png", "../../../../etc/passwd",
                             "/etc/hostname", "sub/x.png", "", ".", "..", "a\x00b", "link.png"])
SHOT = st.fixed_dictionaries({"png": st.one_of(PNG_NAMES, JSONISH)}, optional={"monitor": st.one_of(
    JSONISH, st.lists(st.integers(0, 120), min_size=4, max_size=4))})
RECORDED_STEPS = st.fixed_dictionaries({}, optional={
    "index": JSONISH, "action": RECORDED_ACTIONS, "screen_action": RECORDED_ACTIONS,
    "observation": st.one_of(JSONISH, st.fixed_dictionaries({}, optional={"before": SHOT, "after": SHOT}))})
JSONL_LINES = st.one_of(RECORDED_STEPS.map(json.dumps), JSONISH.map(json.dumps), st.text(max_size=40),
                        st.sampled_from(["[" * 5000, "[" * 5000 + "]" * 5000, '{"index": ' + "9" * 5000 + "}"]))


@given(st.lists(JSONL_LINES, max_size=8), st.booleans(),
       st.one_of(st.none(), JSONISH.map(json.dumps), st.text(max_size=30),
                 st.lists(st.integers(0, 120), min_size=4, max_size=4).map(lambda r: json.dumps({"region": r}))),
       st.sampled_from(range(5)))
def test_trajectory_files_replay_or_fail_in_one_line(tmp_path_factory, lines, newline, meta, shot):
    """A run folder from anyone: `omnirt replay --dry-run` checks every action or refuses in one line, and never
    reads outside the folder (the folder's neighbour 'outside.png' and a symlink to it are refused)."""
    from omnirt.tools.agent_cmd import AgentError
    from omnirt.tools.agent_replay import ReplayOptions, replay_line, replay_run_dir

    root = tmp_path_factory.mktemp("traj")
    run = root / "run"
    run.mkdir()
    pngs = _png_bytes()
    (root / "outside.png").write_bytes(pngs[0])
    (run / "link.png").symlink_to(root / "outside.png")
    (run / "steps.jsonl").write_text("\n".join(lines) + ("\n" if newline else ""))
    if meta is not None:
        (run / "run.json").write_text(meta)
    (run / "step_0000_before.png").write_bytes(pngs[shot])
    try:
        result = replay_run_dir(run, None, ReplayOptions(region=(0, 0, 100, 100), dry_run=True, max_seconds=5))
    except AgentError as err:
        assert one_line(err), str(err)
        return
    for r in result.steps:
        assert r.outcome.status in ("dry_run", "denied", "invalid"), r.outcome
        assert "\n" not in replay_line(r)
