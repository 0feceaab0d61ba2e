"""One Chrome DevTools Protocol client for every place that drives Chromium: the MiniWoB++ environment, the headless
WebRTC test client (tools/chromium.py) and the widget renderer (tools/widgets/render.py).

Chromium listens on loopback only (`--remote-debugging-address=127.0.0.1`); a page's websocket is opened without an
Origin header, since Chromium refuses origins it was not told about (`--remote-allow-origins`). `Connection` is the
asynchronous client over one page's websocket; `DevTools` runs one on a private event loop for synchronous callers.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


class DevToolsError(RuntimeError):
    """Chromium did not open its DevTools port, listed no page, refused a command or closed the connection."""


def free_port() -> int:
    """A loopback TCP port nothing listens on now (for a fixed --remote-debugging-port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def active_port(profile: str | Path, proc: subprocess.Popen | None = None, timeout: float = 10.0) -> int:
    """The port Chromium chose for `--remote-debugging-port=0`: it writes it to DevToolsActivePort in its profile."""
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc is not None and proc.poll() is not None:
            raise DevToolsError("chromium exited at start")
        if time.monotonic() > deadline:
            raise DevToolsError(f"chromium did not open its DevTools port within {timeout:g} s")
        await asyncio.sleep(0.05)
    return int(port_file.read_text().split()[0])


async def page_socket(http: Any, port: int, timeout: float = 10.0) -> Any:
    """The websocket of the first page Chromium lists on `port` (polled until one is listed), over the aiohttp
    session `http`."""
    import aiohttp

    deadline = time.monotonic() + timeout
    while True:
        try:
            async with http.get(f"http://127.0.0.1:{port}/json") as r:
                pages = [t for t in await r.json() if t.get("type") == "page"]
            if pages:
                return await http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise DevToolsError(f"DevTools on 127.0.0.1:{port} did not list a page within {timeout:g} s")
        await asyncio.sleep(0.05)


class Connection:
    """Commands over one page's websocket. timeout: seconds to wait for each message (None: no limit)."""

    def __init__(self, ws: Any, timeout: float | None = None) -> None:
        self.ws, self.n, self.timeout = ws, 0, timeout

    async def call(self, method: str, wait_event: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; with `wait_event`, return only once that event has come too
        (e.g. Page.loadEventFired after Page.navigate). Other messages in between are dropped."""
        import aiohttp

        self.n += 1
        mid = self.n
        await self.ws.send_str(json.dumps({"id": mid, "method": method, "params": params}))
        result, seen = None, wait_event is None
        while result is None or not seen:
            msg = await asyncio.wait_for(self.ws.receive(), self.timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise DevToolsError(f"DevTools connection ended ({msg.type})")
            data = json.loads(msg.data)
            if data.get("id") == mid:
                if "error" in data:
                    raise DevToolsError(f"DevTools {method}: {data['error'].get('message')}")
                result = data.get("result", {})
            elif data.get("method") == wait_event:
                seen = True
        return result

    async def evaluate(self, expression: str, await_promise: bool = True, user_gesture: bool = False,
                       strict: bool = True) -> Any:
        """Evaluate JavaScript in the page and return its JSON value. strict: a script that throws raises
        DevToolsError (else its value is None, as while a page is still loading)."""
        res = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                              awaitPromise=await_promise, **({"userGesture": True} if user_gesture else {}))
        if strict and "exceptionDetails" in res:
            raise DevToolsError(f"page script failed: {res['exceptionDetails'].get('text')} in {expression[:60]!r}")
        return res.get("result", {}).get("value")


class DevTools:
    """A synchronous client of one page, on a private event loop. Give the port, or (for --remote-debugging-port=0)
    the browser's profile folder and process. timeout: for the page to be listed, and for each reply."""

    def __init__(self, port: int | None = None, timeout: float = 10.0, profile: str | Path | None = None,
                 proc: subprocess.Popen | None = None) -> None:
        import aiohttp

        self._loop = asyncio.new_event_loop()
        self._http: Any = None
        self._conn: Connection | None = None

        async def connect() -> Connection:
            self._http = aiohttp.ClientSession()
            p = port if port is not None else await active_port(profile or ".", proc, timeout)
            return Connection(await page_socket(self._http, p, timeout), timeout)

        try:
            self._conn = self._loop.run_until_complete(connect())
        except BaseException:
            self.close()
            raise

    def call(self, method: str, wait_event: str | None = None, **params: Any) -> dict[str, Any]:
        assert self._conn is not None
        return self._loop.run_until_complete(self._conn.call(method, wait_event, **params))

    def eval(self, expression: str, await_promise: bool = True) -> Any:
        """The JSON value of a script (DevToolsError if it throws)."""
        assert self._conn is not None
        return self._loop.run_until_complete(self._conn.evaluate(expression, await_promise))

    def close(self) -> None:
        async def go() -> None:
            if self._conn is not None:
                await self._conn.ws.close()
            if self._http is not None:
                await self._http.close()

        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(go())
        finally:
            self._loop.close()
