"""Headless Chromium as a real WebRTC client of `omnirt serve`, driven over the DevTools protocol (agents.devtools).

Only the flags that stand in for a person and a device: a fake microphone from a 48 kHz mono 16-bit WAV (it loops),
Chromium's fake camera (or a y4m file), permission prompts answered yes, autoplay allowed. Nothing that changes how
it connects: it offers the candidates a user's Chromium would (never loopback). `PROBE` watches sound in the page's
own audio graph (the remote reply and the local microphone), so latency is measured where a person would hear it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from omnirt.agents.devtools import Connection, active_port, page_socket

# Watches the page's audio in its own audio graph: times (performance.now(), ms) of every 5 ms poll that saw sound,
# in the remote reply (window.__loud) and in the local microphone (window.__mic).
PROBE = """
window.__loud = []; window.__mic = [];
function watch(stream, out) {
  const ctx = new AudioContext();
  const an = ctx.createAnalyser(); an.fftSize = 256;
  ctx.createMediaStreamSource(stream).connect(an);
  const buf = new Float32Array(an.fftSize);
  setInterval(() => {
    an.getFloatTimeDomainData(buf);
    let peak = 0; for (const v of buf) peak = Math.max(peak, Math.abs(v));
    if (peak > 0.02) out.push(performance.now());
  }, 5);
}
const audio = document.getElementById('remote');
const wait = setInterval(() => {
  const mic = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
  if (!audio.srcObject || !mic) return;
  clearInterval(wait);
  watch(audio.srcObject, window.__loud);
  watch(new MediaStream([mic.track]), window.__mic);
}, 10);
"""
STATE = """JSON.stringify({status: document.getElementById('status').textContent,
  error: document.getElementById('error').textContent,
  user: [...document.querySelectorAll('.line.user:not(.partial)')].map(e => e.textContent),
  assistant: [...document.querySelectorAll('.line.assistant:not(.partial)')].map(e => e.textContent),
  bars: [...document.querySelectorAll('.waterfall .row')].map(r => r.textContent),
  loud: window.__loud ? window.__loud.length : 0, last_loud: window.__loud && window.__loud.length ?
    window.__loud[window.__loud.length - 1] : null, now: performance.now()})"""


class Page(Connection):
    """One Chromium page driven over the DevTools protocol; `state` reads what the omnirt page shows."""

    async def eval(self, expr: str):
        """The value of `expr`, run as if the user had clicked (a throwing script, e.g. while loading: None)."""
        return await self.evaluate(expr, user_gesture=True, strict=False)

    async def state(self) -> dict:
        value = await self.eval(STATE)  # None while the page is still loading
        return json.loads(value) if value else {"status": None, "bars": [], "assistant": [], "loud": 0}

    async def until(self, pred, timeout: float, what: str) -> dict:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            s = await self.state()
            if pred(s):
                return s
            assert loop.time() < end, f"timed out waiting for {what}: {s}"
            await asyncio.sleep(0.05)


async def open_page(url: str, wav: Path, profile: str, extra: tuple[str, ...] = (), allow_media: bool = True) -> tuple:
    """Launch Chromium on the page with `wav` as its microphone; returns (process, http, websocket, Page).
    allow_media=False: the user says no to the microphone and camera prompt (the page then only listens)."""
    import aiohttp

    answer = "--use-fake-ui-for-media-stream" if allow_media else "--deny-permission-prompts"
    proc = subprocess.Popen(
        ["chromium", "--headless=new", "--no-sandbox", "--test-type", "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--disable-gpu", "--password-store=basic", f"--user-data-dir={profile}",
         answer, "--use-fake-device-for-media-stream",
         f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
         *extra, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    http = aiohttp.ClientSession()
    ws = None
    try:
        ws = await page_socket(http, await active_port(profile, proc, 10.0), 5.0)
        page = Page(ws)
        await page.until(lambda s: s["status"] == "idle", 10, "the page")
    except BaseException:
        await close_page(proc, http, ws)
        raise
    return proc, http, ws, page


async def close_page(proc, http, ws) -> None:
    """Close the protocol connection and end the browser (killed if it does not stop within 10 s)."""
    if ws is not None:
        await ws.close()
    await http.close()
    proc.terminate()
    try:
        await asyncio.to_thread(proc.wait, 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        await asyncio.to_thread(proc.wait, 5)
