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
    from omnirt.tools.serve import BackgroundServer

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
