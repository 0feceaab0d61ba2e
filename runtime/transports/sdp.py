"""Session-description edits the transport makes: which ICE candidates to try, and asking for Opus DTX.

Pure text functions over SDP (RFC 8866 lines); no I/O, tested on fixtures.

Why ask for DTX: a listening session's microphone is mostly silent, and without discontinuous transmission the
browser still sends fifty Opus packets a second, each one decrypted, parsed and decoded by the server and run
through the voice activity detector. `usedtx=1` in the answer's Opus format parameters (RFC 7587 §6.1: the
receiver's preference for the sender) makes a browser send a few packets a second while its encoder hears
silence (Chromium: a comfort-noise packet and an empty one every 400 ms), and at once again when sound returns.
inbound.OpusInput turns the gaps back into silence for the pipeline.
"""

from __future__ import annotations

import ipaddress
import re


class BadRequest(ValueError):
    """The client's request cannot be served; the message is one line."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bundle(sdp: str) -> str:
    """`sdp` unchanged if every media id its BUNDLE groups name has an m-section; else BadRequest (aiortc fails
    half-way through such an offer and cannot close the connection cleanly afterwards)."""
    lines = sdp.splitlines()
    mids = {line[len("a=mid:"):].strip() for line in lines if line.startswith("a=mid:")}
    for line in lines:
        if line.startswith("a=group:BUNDLE"):
            missing = [m for m in line.split()[1:] if m not in mids]
            if missing:
                raise BadRequest(f"the BUNDLE group names media {missing[0][:40]!r} that the offer does not have")
    return sdp


MAX_CANDIDATES = 32
_MDNS = re.compile(r"^[A-Za-z0-9-]{1,63}\.local$")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def usable_candidates(sdp: str, loopback_only: bool = False) -> str:
    """`sdp` with only the ICE candidates the server will try: UDP, at an IP literal or an mDNS `.local` name
    (browsers hide their host addresses behind such names until the page may use the microphone, RFC 8828), at
    most MAX_CANDIDATES. A DNS name is dropped: the server resolves nothing a stranger names. With loopback_only,
    only loopback IPs are kept (tests about the server alone). An offer left with none is refused in words."""
    lines, kept = [], 0
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            if len(parts) < 8 or parts[2].lower() != "udp" or not parts[5].isdigit() or kept >= MAX_CANDIDATES:
                continue
            ip = _ip(parts[4])
            if loopback_only and not (ip is not None and ip.is_loopback):
                continue
            if ip is None and not _MDNS.match(parts[4]):
                continue
            kept += 1
        lines.append(line)
    if kept == 0:
        raise BadRequest("offer has no loopback ICE candidate (this server was started for loopback clients only)"
                         if loopback_only else "offer has no ICE candidate (the browser found no network interface "
                         "it may use: a stock browser never offers loopback)")
    return "\r\n".join(lines) + "\r\n"


_OPUS = re.compile(r"^a=rtpmap:(\d+) opus/48000", re.IGNORECASE)


def _opus_types(lines: list[str]) -> set[str]:
    return {m.group(1) for line in lines if (m := _OPUS.match(line))}


def _fmtp(line: str) -> tuple[str, list[str]] | None:
    """An `a=fmtp:PT p1=v1;p2=v2` line as (PT, ["p1=v1", "p2=v2"]); None for any other line."""
    if not line.startswith("a=fmtp:"):
        return None
    pt, _, params = line[len("a=fmtp:"):].partition(" ")
    return pt, [p.strip() for p in params.split(";") if p.strip()]


def _name(param: str) -> str:
    return param.split("=")[0].strip().lower()


def request_dtx(sdp: str) -> str:
    """`sdp` with usedtx=1 in the format parameters of every Opus payload type (an fmtp line is added after the
    rtpmap where there is none; an existing usedtx value is replaced)."""
    lines = sdp.splitlines()
    opus = _opus_types(lines)
    with_fmtp = {f[0] for f in map(_fmtp, lines) if f} & opus
    out = []
    for line in lines:
        fmtp = _fmtp(line)
        if fmtp and fmtp[0] in opus:
            line = f"a=fmtp:{fmtp[0]} " + ";".join([p for p in fmtp[1] if _name(p) != "usedtx"] + ["usedtx=1"])
        out.append(line)
        m = _OPUS.match(line)
        if m and m.group(1) not in with_fmtp:
            out.append(f"a=fmtp:{m.group(1)} usedtx=1")
    return "\r\n".join(out) + "\r\n"


def asks_for_dtx(sdp: str) -> bool:
    """Whether the description asks its peer to send Opus with DTX (usedtx=1 on an Opus payload type)."""
    lines = sdp.splitlines()
    opus = _opus_types(lines)
    return any(fmtp[0] in opus and any(_name(p) == "usedtx" and p.partition("=")[2].strip() == "1" for p in fmtp[1])
               for fmtp in map(_fmtp, lines) if fmtp)
