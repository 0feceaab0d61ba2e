"""The served page in a real headless Chromium follows its session as it does behind a cluster's front door: told
its host was lost (`GET /session` answers "lost"), its connection closed, or asked to move (a draining host's
{"type": "move"}), it offers again with its session id from the same microphone; stopped by the user, it does not.

The door is played by the single server with two additions (NamingServer): its answers name the session, as
ClusterServer's do, and its `/session` answers "lost" when the test says. That keeps Ray out of a test about the
page's JavaScript (test_faults.py covers the door and the hosts with real node loss and an aiortc client).
Chromium offers its interfaces' addresses, never loopback, so it runs in a network namespace of its own
(tools/netns.py) as the other page tests do.
"""

from __future__ import annotations

import asyncio
import json
import tempfile

import numpy as np
import pytest
from aiohttp import web

from omnirt.tools import netns
from omnirt.tools.chromium import close_page, open_page
from omnirt.tools.serve import RTCServer

pytestmark = [pytest.mark.models, pytest.mark.needs("chromium")]


class NamingServer(RTCServer):
    """Names every session "s1" in its answer and keeps the `session` each offer carried (`resumed`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.resumed: list[object] = []
        self.lose = asyncio.Event()  # set (on the server's loop): the next or pending /session answers "lost"
        self.app.router.add_get("/session", self._session)

    async def open_session(self, sdp: str, resume: object = None) -> web.Response:
        self.resumed.append(resume)
        answer = await super().open_session(sdp)
        if answer.status != 200:
            return answer
        return web.json_response({**json.loads(answer.body), "session": "s1"})

    async def _session(self, request: web.Request) -> web.StreamResponse:
        assert request.query.get("id") == "s1"
        try:
            await asyncio.wait_for(self.lose.wait(), 2)  # short: the server's stop waits for pending requests
        except asyncio.TimeoutError:
            return web.json_response({"state": "live"})
        self.lose.clear()
        return web.json_response({"state": "lost"})


@pytest.fixture(scope="module")
def server():
    from background_server import BackgroundServer

    from omnirt.tools.voice import VoiceConfig, load_components

    with netns.isolated():
        bg = BackgroundServer(load_components(VoiceConfig()))
        bg.call(bg.server.stop())
        bg.server = NamingServer(bg.server.components, bg.server.options)
        bg.url = bg.call(bg.server.start())
        try:
            yield bg
        finally:
            bg.stop()


def mic_wav(directory) -> str:
    import soundfile as sf

    path = directory / "mic.wav"
    tone = (0.1 * 32767 * np.sin(np.arange(48000) * 2 * np.pi * 440 / 48000)).astype(np.int16)
    sf.write(str(path), np.concatenate([tone, np.zeros(48000 * 5, np.int16)]), 48000, subtype="PCM_16")
    return path


async def test_the_page_offers_again_with_its_session_id_when_told_or_cut_off_and_not_after_stop(server, tmp_path):
    s = server.server
    proc, http, ws, page = await open_page(server.url, mic_wav(tmp_path), tempfile.mkdtemp(dir=tmp_path))

    async def until(pred, what: str, timeout: float = 20.0) -> None:
        for _ in range(int(timeout / 0.05)):
            if pred():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: offers {s.resumed}, page {await page.state()}")

    def sessions():
        return list(s.sessions)

    try:
        await page.eval("document.getElementById('start').click()")
        await page.until(lambda st: st["status"] == "listening", 20, "the first connection")
        assert s.resumed == [None]
        first = sessions()[0]

        server.loop.call_soon_threadsafe(s.lose.set)  # the door says its host is lost (the old peer lives on)
        await until(lambda: s.resumed == [None, "s1"], "an offer naming the session")
        await page.until(lambda st: st["status"] == "listening", 20, "the second connection")
        second = next(p for p in sessions() if p is not first)
        n = second.input_frames
        await until(lambda: second.input_frames > n + 25, "the same microphone on the new connection")
        server.call(first.close())

        server.call(second.close())  # the connection is cut from the far end: the page comes back by itself
        await until(lambda: s.resumed == [None, "s1", "s1"], "a second offer naming the session")
        await page.until(lambda st: st["status"] == "listening", 20, "the third connection")
        third = next(p for p in sessions() if p not in (first, second))
        server.loop.call_soon_threadsafe(third.send, {"type": "move"})  # its host is drained: move between turns
        await until(lambda: s.resumed == [None, "s1", "s1", "s1"], "a third offer naming the session")
        await page.until(lambda st: st["status"] == "listening", 20, "the fourth connection")
        assert not (await page.state())["error"]

        await page.eval("document.getElementById('stop').click()")  # the user stops: no reconnection
        await page.until(lambda st: st["status"] == "idle", 10, "the page to stop")
        await until(lambda: not sessions(), "the server to see the page go")
        await asyncio.sleep(1.5)
        assert s.resumed == [None, "s1", "s1", "s1"] and (await page.state())["status"] == "idle"
    finally:
        await close_page(proc, http, ws)
