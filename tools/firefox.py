"""Headless Firefox (Debian's firefox-esr) as a real WebRTC client of `omnirt serve`, driven over WebDriver BiDi.

Firefox cannot take a WAV file as its microphone, so it hears what a person's would: the default PulseAudio source
(tools/pulse.py's virtual microphone, fed with paplay), and it plays the reply to the default sink, where it can be
recorded. The profile only answers permission prompts yes, allows autoplay and turns off Mozilla's background
services (no network here); nothing about how it connects is changed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from pathlib import Path

from .chromium import Page, close_page

__all__ = ["FirefoxPage", "close_page", "firefox_binary", "open_firefox"]

PREFS = {
    "media.navigator.permission.disabled": True,  # the user clicked "Allow"
    "media.autoplay.default": 0, "media.autoplay.blocking_policy": 0,
    "browser.shell.checkDefaultBrowser": False, "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False, "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False, "app.update.enabled": False, "app.normandy.enabled": False,
    "extensions.update.enabled": False, "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False, "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False, "browser.newtabpage.enabled": False,
    "network.dns.disablePrefetch": True, "network.prefetch-next": False, "browser.search.update": False,
    "services.settings.server": "data:,", "browser.region.update.enabled": False,
}


def firefox_binary() -> str | None:
    return shutil.which("firefox-esr") or shutil.which("firefox")


class FirefoxPage(Page):
    """A Firefox browsing context driven over WebDriver BiDi (script.evaluate); same API as the Chromium Page."""

    def __init__(self, ws, context: str) -> None:
        super().__init__(ws)
        self.context = context

    async def command(self, method: str, params: dict):
        self.n += 1
        await self.ws.send_json({"id": self.n, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json()
            if msg.get("id") == self.n:
                if msg.get("type") == "error":
                    raise RuntimeError(f"{method}: {msg.get('error')}: {msg.get('message')}")
                return msg["result"]

    async def eval(self, expr: str):
        result = await self.command("script.evaluate", {
            "expression": expr, "target": {"context": self.context}, "awaitPromise": True,
            "userActivation": True, "resultOwnership": "none"})
        if result.get("type") == "exception":
            return None  # the page is still loading
        return result["result"].get("value")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def open_firefox(url: str, profile: str, env: dict[str, str] | None = None) -> tuple:
    """Launch headless Firefox on the page; returns (process, http, websocket, FirefoxPage) like open_page."""
    import aiohttp

    Path(profile).mkdir(parents=True, exist_ok=True)
    (Path(profile) / "user.js").write_text("".join(
        f"user_pref({name!r}, {str(v).lower() if isinstance(v, bool) else repr(v)});\n".replace("'", '"')
        for name, v in PREFS.items()))
    port = _free_port()
    proc = subprocess.Popen([firefox_binary() or "firefox-esr", "--headless", "--no-remote", "--profile", profile,
                             f"--remote-debugging-port={port}", "--remote-allow-hosts=127.0.0.1", "about:blank"],
                            env={**os.environ, **(env or {}), "MOZ_CRASHREPORTER_DISABLE": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    http = aiohttp.ClientSession()
    ws = None
    try:
        for _ in range(300):  # Firefox's remote agent is up after a few seconds
            try:
                ws = await http.ws_connect(f"ws://127.0.0.1:{port}/session", max_msg_size=0)
                break
            except aiohttp.ClientError:
                if proc.poll() is not None:
                    raise RuntimeError(f"firefox exited at start ({proc.returncode})") from None
                await asyncio.sleep(0.1)
        if ws is None:
            raise RuntimeError("firefox's remote agent did not come up")
        page = FirefoxPage(ws, "")
        await page.command("session.new", {"capabilities": {}})
        tree = await page.command("browsingContext.getTree", {})
        page.context = tree["contexts"][0]["context"]
        await page.command("browsingContext.navigate", {"context": page.context, "url": url, "wait": "complete"})
        await page.until(lambda s: s["status"] == "idle", 15, "the page")
    except BaseException:
        await close_page(proc, http, ws)
        raise
    return proc, http, ws, page
