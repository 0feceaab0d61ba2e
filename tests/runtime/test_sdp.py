"""SDP edits (runtime/transports/sdp.py) on session descriptions shaped like aiortc's and Chromium's."""

import pytest

from omnirt.runtime.transports.sdp import (MAX_CANDIDATES, BadRequest, asks_for_dtx, check_bundle, request_dtx,
                                         usable_candidates)

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


def test_loopback_only_keeps_only_loopback_and_refuses_none():
    out = usable_candidates(CHROME_OFFER, loopback_only=True)
    assert "127.0.0.1 50001" in out and "192.168.1.4" not in out
    with pytest.raises(BadRequest, match="no loopback ICE candidate"):
        usable_candidates(CHROME_OFFER.replace("127.0.0.1 50001", "10.0.0.1 50001"), loopback_only=True)


STOCK_CHROMIUM = CHROME_OFFER.replace(
    "a=candidate:2 1 udp 2113937151 192.168.1.4 50000 typ host\na=candidate:3 1 udp 2113937151 127.0.0.1 50001 typ host\n",
    "a=candidate:2 1 udp 2113937151 7f2b54c8-34d1-4c59-8e6d-0a1b2c3d4e5f.local 50000 typ host generation 0\n"
    "a=candidate:4 1 tcp 1518280447 192.168.1.4 9 typ host tcptype active\n"
    "a=candidate:5 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 0.0.0.0 rport 0\n"
    "a=candidate:6 1 udp 2113937151 fd00::2 50002 typ host\n")


def test_a_stock_browsers_candidates_are_kept_udp_at_ip_or_mdns_names():
    """A browser without the loopback flag offers interface addresses or mDNS names: those are what it pairs on."""
    out = usable_candidates(STOCK_CHROMIUM).splitlines()
    cands = [line for line in out if line.startswith("a=candidate:")]
    assert [c.split()[4] for c in cands] == ["7f2b54c8-34d1-4c59-8e6d-0a1b2c3d4e5f.local", "203.0.113.7", "fd00::2"]
    assert usable_candidates(CHROME_OFFER).count("a=candidate:") == 2  # loopback too, when a client offers it


def test_candidates_the_server_should_not_chase_are_dropped_and_none_left_is_refused_in_words():
    named = CHROME_OFFER.replace("192.168.1.4", "attacker.example").replace("127.0.0.1 50001", "bad..local 5")
    with pytest.raises(BadRequest, match="no ICE candidate .*never offers loopback"):
        usable_candidates(named)  # DNS names are not resolved for a stranger; malformed mDNS names neither
    with pytest.raises(BadRequest, match="no ICE candidate"):
        usable_candidates(CHROME_OFFER.replace(" 50000 typ", " port typ").replace("127.0.0.1 50001", "x 1"))
    flood = CHROME_OFFER + "".join(f"a=candidate:{i} 1 udp 1 10.1.{i // 250}.{i % 250} 4000 typ host\n"
                                   for i in range(10_000))
    assert usable_candidates(flood).count("a=candidate:") == MAX_CANDIDATES


def test_a_bundle_group_naming_missing_media_is_refused():
    offer = "v=0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
    with pytest.raises(BadRequest, match="BUNDLE group names media '1'"):
        check_bundle(offer)
    assert check_bundle(offer.replace(" 0 1", " 0")) == offer.replace(" 0 1", " 0")
