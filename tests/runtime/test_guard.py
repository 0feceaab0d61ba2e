"""What a web page could send to the local server, refused before anything is read (runtime/transports/guard.py)."""

import pytest

from omnirt.runtime.transports.guard import Guard, host_name, is_json
from omnirt.runtime.transports.ice import parse_ice_server
from omnirt.runtime.transports.sdp import BadRequest


@pytest.mark.parametrize("host,name", [("127.0.0.1:8765", "127.0.0.1"), ("LOCALHOST:8765", "localhost"),
                                       ("[::1]:8765", "::1"), ("192.168.1.5", "192.168.1.5"),
                                       ("evil.example.:80", "evil.example"), ("", None), ("a b", None),
                                       ("[::1", None), ("[evil]:1", None), ("x:port", None), ("u@host", None)])
def test_host_names(host, name):
    assert host_name(host) == name


def test_host_must_be_an_address_a_loopback_name_or_allowed():
    g = Guard()
    for ok in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "192.168.1.5:8765", "10.0.0.2"):
        assert g.host_problem(ok) is None, ok
    for bad in ("evil.example:8765", "127.0.0.1.nip.io:8765", None, "", "localhost.evil.example"):
        assert g.host_problem(bad), bad  # DNS rebinding names this server by the attacker's name
    assert Guard(allowed_origins=("https://myhost.lan:8443",)).host_problem("myhost.lan:8765") is None
    assert Guard(allowed_origins=("myhost.lan",)).host_problem("MYHOST.lan") is None


def test_origin_must_be_the_servers_own_page_or_allowed():
    g = Guard()
    assert g.origin_problem(None, "127.0.0.1:8765") is None  # not a browser (curl, aiortc)
    assert g.origin_problem("http://127.0.0.1:8765", "127.0.0.1:8765") is None
    assert g.origin_problem("http://localhost:8765", "localhost:8765") is None
    for bad in ("http://evil.example", "null", "http://127.0.0.1:9999", "file://", "chrome-extension://abc",
                "http://localhost:8765", "x" * 5000):
        problem = g.origin_problem(bad, "127.0.0.1:8765")
        assert problem and "\n" not in problem and len(problem) < 200, bad
    assert g.origin_problem(None, "127.0.0.1:8765", "cross-site")  # a browser that hid its Origin
    allowed = Guard(allowed_origins=("https://app.example:8443",))
    assert allowed.origin_problem("https://app.example:8443", "127.0.0.1:8765") is None
    assert allowed.origin_problem("https://app.example:9999", "127.0.0.1:8765")


def test_token_comparison_takes_any_header_bytes():
    g = Guard(token="s3cret")
    assert g.authorised("Bearer s3cret", None) and g.authorised(None, "s3cret")
    assert not g.authorised("Bearer wrong", None) and not g.authorised("s3cret", None) and not g.authorised(None, None)
    assert not g.authorised("Bearer \udcff\udcfe", None)  # non-UTF-8 bytes, as aiohttp hands them over
    assert Guard().authorised(None, None)


def test_only_application_json_is_json():
    assert is_json("application/json") and is_json("Application/JSON; charset=utf-8")
    assert not any(map(is_json, (None, "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data")))


def test_ice_servers_parse_or_fail_in_one_line():
    assert parse_ice_server("stun:stun.example:3478").as_json() == {"urls": "stun:stun.example:3478"}
    turn = parse_ice_server("turn:ann:p%40ss@127.0.0.1:3478?transport=tcp")
    assert turn.as_json() == {"urls": "turn:127.0.0.1:3478?transport=tcp", "username": "ann", "credential": "p@ss"}
    for bad in ("http://x", "turn:127.0.0.1:3478", "stun:user:pw@host", "turn:@host", "", "stun:"):
        with pytest.raises(BadRequest) as err:
            parse_ice_server(bad)
        assert "\n" not in str(err.value)


async def test_a_server_that_can_drive_the_desktop_wants_its_token_even_on_loopback():
    """`serve --agent-tool` (require_token): a local process or page without the printed token gets nothing."""
    import aiohttp

    from omnirt.runtime.transports.webrtc import WebRTCOptions
    from background_server import BackgroundServer

    bg = BackgroundServer(None, WebRTCOptions(port=0, ice_servers=("stun:127.0.0.1:3478",)), require_token=True)
    try:
        token = bg.server.token
        assert token and bg.url.endswith(f"?token={token}")
        base = f"http://127.0.0.1:{bg.server.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/config") as r:
                assert r.status == 401 and (await r.json()) == {"error": "missing or wrong token"}
            async with http.post(f"{base}/offer", json={"type": "offer", "sdp": "v=0"}) as r:
                assert r.status == 401
            async with http.get(f"{base}/config", headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200 and (await r.json()) == {"iceServers": [{"urls": "stun:127.0.0.1:3478"}]}
            async with http.get(f"{base}/", headers={"Host": "evil.example"}) as r:  # even the page, rebound
                assert r.status == 403 and "evil.example" in (await r.json())["error"]
    finally:
        bg.stop()
    loopback = BackgroundServer(None, WebRTCOptions(port=0))
    try:
        assert loopback.server.token is None  # without --agent-tool, loopback needs none
    finally:
        loopback.stop()
