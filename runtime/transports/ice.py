"""ICE for the server's peer connections: which local addresses it offers, and the STUN/TURN servers it uses.

aioice gathers host candidates on every interface except loopback; a stock browser pairs with those (it never
offers loopback itself), so they are what real clients use. Loopback is offered as well, for clients on this
machine that gather nothing else (test clients). No STUN or TURN server is used unless the user names one: with
none, no packet leaves for a public server (aiortc would add Google's STUN server to a configuration without any).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from .sdp import BadRequest


def _aioice():
    """aioice's ICE module, with its own address lister saved once (each policy below starts from it)."""
    import aioice.ice

    if not hasattr(aioice.ice, "omnirt_host_addresses"):
        aioice.ice.omnirt_host_addresses = aioice.ice.get_host_addresses
    return aioice.ice


def use_loopback_only() -> None:
    """Make aioice offer only 127.0.0.1 as host candidate (process-wide). For tests about the server alone: no
    stock browser offers loopback, so a real client could not connect to a server that offers nothing else."""
    _aioice().get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


def offer_loopback_too() -> None:
    """Make aioice offer 127.0.0.1 beside the machine's interfaces (process-wide)."""
    ice = _aioice()
    base = ice.omnirt_host_addresses

    def addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        found = list(base(use_ipv4, use_ipv6))
        return found + ["127.0.0.1"] if use_ipv4 and "127.0.0.1" not in found else found

    ice.get_host_addresses = addresses


@dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server as a browser's RTCIceServer takes it."""

    urls: str
    username: str | None = None
    credential: str | None = None

    def as_json(self) -> dict[str, str]:
        out = {"urls": self.urls}
        if self.username is not None:
            out.update(username=self.username, credential=self.credential or "")
        return out


def parse_ice_server(text: str) -> IceServer:
    """`stun:HOST[:PORT]`, or `turn:USER:PASSWORD@HOST[:PORT][?transport=udp|tcp]` (also `turns:`); user and
    password may be percent-encoded. Raises BadRequest with a one-line reason."""
    scheme, sep, rest = text.strip().partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in ("stun", "turn", "turns") or not rest:
        raise BadRequest(f"ICE server {text!r}: expected stun:HOST[:PORT] or turn:USER:PASSWORD@HOST[:PORT]")
    if scheme == "stun":
        if "@" in rest:
            raise BadRequest(f"ICE server {text!r}: a STUN server takes no user name")
        return IceServer(urls=f"stun:{rest}")
    creds, at, where = rest.rpartition("@")
    user, colon, password = creds.partition(":")
    if not at or not colon or not user or not where:
        raise BadRequest(f"ICE server {text!r}: a TURN server needs turn:USER:PASSWORD@HOST[:PORT]")
    return IceServer(urls=f"{scheme}:{where}", username=unquote(user), credential=unquote(password))


def rtc_configuration(servers: tuple[str, ...] = (), relay_only: bool = False):
    """aiortc's RTCConfiguration with exactly these servers (an empty list, never aiortc's public default);
    relay_only: media only through a TURN server (the machine's addresses are never offered)."""
    from aiortc import RTCConfiguration, RTCIceServer
    from aiortc.rtcconfiguration import RTCIceTransportPolicy

    if relay_only and not any(s.split(":")[0].lower().startswith("turn") for s in servers):
        raise BadRequest("relaying only needs a TURN server (--ice-server turn:USER:PASSWORD@HOST:PORT)")
    return RTCConfiguration(iceServers=[RTCIceServer(**s.as_json()) for s in map(parse_ice_server, servers)],
                            iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL)
