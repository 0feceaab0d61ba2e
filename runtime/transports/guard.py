"""What a request to the local signalling server must look like before anything is read or created.

A web page the user happens to have open can send requests to 127.0.0.1 too. Three checks keep it out:
- Host: a page that rebinds its own DNS name to 127.0.0.1 sends `Host: evil.example`; only IP literals, loopback
  names and names the user allowed are served (a rebinding attack cannot produce an IP literal).
- Origin: a browser names the page that sent a POST (and any cross-origin request); only the server's own page,
  or origins the user allowed, may talk to it. Clients that are not browsers send no Origin.
- Content-Type: a cross-site form or `fetch` without a CORS preflight can send only "simple" types (text/plain,
  form encodings); JSON is accepted only as application/json, which a foreign page cannot send without a
  preflight this server never grants.
Pure functions over header values; no I/O.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


@dataclass(frozen=True)
class Guard:
    """allowed_origins: extra page origins (`https://app.example:8443`) or bare host names (`myhost.lan`) whose
    pages may use the server; their host names are accepted in Host too. token: required when set."""

    allowed_origins: tuple[str, ...] = ()
    token: str | None = None

    def _allowed_names(self) -> set[str]:
        return {(urlsplit(o).hostname if "://" in o else o.split(":")[0]).lower() for o in self.allowed_origins}

    def host_problem(self, host: str | None) -> str | None:
        """Why the Host header is refused, or None."""
        name = host_name(host or "")
        if name is None:
            return "missing or malformed Host header"
        if name in LOOPBACK_NAMES or _is_ip(name) or name in self._allowed_names():
            return None
        return f"Host {name!r} is not this server (use its address, or --allow-origin)"

    def origin_problem(self, origin: str | None, host: str | None, fetch_site: str | None = None) -> str | None:
        """Why a browser's Origin (or Sec-Fetch-Site) is refused, or None. No Origin: not a browser, allowed."""
        if fetch_site is not None and fetch_site.strip().lower() == "cross-site" and not origin:
            return "cross-site request refused"
        if not origin:
            return None
        origin = origin.strip()
        parts = urlsplit(origin)
        if origin == "null" or parts.scheme not in ("http", "https") or not parts.netloc:
            return f"Origin {origin[:80]!r} refused"
        if parts.netloc.lower() == (host or "").strip().lower():
            return None  # the server's own page
        exact = {o.rstrip("/").lower() for o in self.allowed_origins if "://" in o}
        bare = {o.split(":")[0].lower() for o in self.allowed_origins if "://" not in o}  # any page of that host
        if origin.rstrip("/").lower() in exact or (parts.hostname or "").lower() in bare:
            return None
        return f"Origin {origin[:80]!r} may not use this server (--allow-origin adds one)"

    def authorised(self, authorization: str | None, query_token: str | None) -> bool:
        if self.token is None:
            return True
        header = authorization or ""
        given = header[7:] if header.startswith("Bearer ") else (query_token or "")
        # header bytes that are not UTF-8 arrive as surrogates: compare bytes, never raise
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.token.encode())


def host_name(host: str) -> str | None:
    """The name in a Host header without its port (`[::1]:8765` -> `::1`), lower-cased; None when malformed."""
    host = host.strip().lower()
    if not host or any(c.isspace() or c in "/@?#\\" for c in host):
        return None
    if host.startswith("["):
        name, sep, rest = host[1:].partition("]")
        return name if sep and (not rest or (rest.startswith(":") and rest[1:].isdigit())) and _is_ip(name) else None
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def is_json(content_type: str | None) -> bool:
    """application/json, with parameters (charset) allowed."""
    return (content_type or "").split(";")[0].strip().lower() == "application/json"
