"""SDP edits (runtime/transports/sdp.py) on session descriptions shaped like aiortc's and Chromium's."""

import pytest

from omnirt.runtime.transports.sdp import BadRequest, asks_for_dtx, loopback_candidates, request_dtx

AIORTC_ANSWER = """v=0
o=- 3918 3918 IN IP4 0.0.0.0
s=-
t=0 0
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8
c=IN IP4 0.0.0.0
a=sendrecv
a=rtpmap:111 opus/48000/2
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host
"""

CHROME_OFFER = """v=0
o=- 1 2 IN IP4 127.0.0.1
s=-
t=0 0
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1;usedtx=0
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=candidate:2 1 udp 2113937151 192.168.1.4 50000 typ host
a=candidate:3 1 udp 2113937151 127.0.0.1 50001 typ host
"""


def test_request_dtx_adds_an_fmtp_line_for_opus_only():
    out = request_dtx(AIORTC_ANSWER)
    lines = out.splitlines()
    assert lines[lines.index("a=rtpmap:111 opus/48000/2") + 1] == "a=fmtp:111 usedtx=1"
    assert sum(line.startswith("a=fmtp:") for line in lines) == 1
    assert asks_for_dtx(out) and not asks_for_dtx(AIORTC_ANSWER)
    assert out.endswith("\r\n") and request_dtx(out) == out  # idempotent


def test_request_dtx_replaces_an_existing_value_and_keeps_other_parameters():
    out = request_dtx(CHROME_OFFER)
    assert "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1" in out.splitlines()
    assert "a=fmtp:63 111/111" in out.splitlines()  # RED is not Opus: untouched
    assert not asks_for_dtx(CHROME_OFFER) and asks_for_dtx(out)


def test_loopback_candidates_keeps_only_loopback_and_refuses_none():
    out = loopback_candidates(CHROME_OFFER)
    assert "127.0.0.1 50001" in out and "192.168.1.4" not in out
    with pytest.raises(BadRequest, match="no loopback ICE candidate"):
        loopback_candidates(CHROME_OFFER.replace("127.0.0.1 50001", "10.0.0.1 50001"))
