"""`omnirt bench latency --client chromium`: the turns of a stock headless Chromium, measured on its own page.

Why a browser beside the aiortc client: a user meets the server through a browser's WebRTC stack (its jitter
buffer, its codec settings, its audio graph), which the aiortc client does not have; a test that passed only with
an aiortc client once hid that no stock browser could connect at all.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


async def chromium_turns(url: str, clips: list[Path], workdir: Path) -> dict[str, Any]:
    """The clips spoken into a stock headless Chromium's page (its fake microphone and camera, no other flags) in
    one session; each turn's voice-to-voice measured by the page's own audio graph, with the server's waterfall as
    the page drew it. The same record shape as the aiortc client's turns."""
    import soundfile as sf

    from ..chromium import PROBE, close_page, open_page
    from ..rtc_camera import Webcam
    from ..rtc_client import load_speech

    gap = np.zeros(48000 * 9, np.int16)  # room for the answer before the next question
    parts = [np.zeros(24000, np.int16)]
    for c in clips:
        pcm, _ = load_speech(c)
        parts += [pcm, gap]
    wav = workdir / "mic.wav"
    sf.write(str(wav), np.concatenate(parts + [np.zeros(48000 * 30, np.int16)]), 48000, subtype="PCM_16")
    camera = workdir / "camera.y4m"
    if not camera.exists():  # 8 s that Chromium loops: four cards, 2 s each
        Webcam(hold_s=2.0).write_y4m(camera, 8.0)
    proc, http, ws, page = await open_page(url, wav, tempfile.mkdtemp(dir=workdir),
                                           (f"--use-file-for-fake-video-capture={camera}",))
    try:
        await page.eval(PROBE)
        await page.eval("document.getElementById('start').click()")
        await page.until(lambda s: len(s["bars"]) >= 6 * len(clips) or False, 12 * len(clips) + 20,
                         "every turn's waterfall")
        await asyncio.sleep(1.5)  # a waterfall comes when the reply's first audio leaves the server, not when heard
        mic, loud = json.loads(await page.eval("JSON.stringify([window.__mic, window.__loud])"))
        falls = json.loads(await page.eval(WATERFALLS) or "[]")
        state = await page.state()
    finally:
        await close_page(proc, http, ws)
    ends = _utterance_ends(mic)
    turns = []
    for i, end in enumerate(ends):
        nxt = ends[i + 1] if i + 1 < len(ends) else float("inf")
        first = next((t for t in loud if end < t < nxt), None)
        turns.append({"turn": i + 1, "heard": state["user"][i] if i < len(state["user"]) else "",
                      "answer": state["assistant"][i] if i < len(state["assistant"]) else "",
                      "voice_to_voice_ms": None if first is None else round(first - end, 1),
                      "server": _waterfall(falls[i]) if i < len(falls) else None})
    return {"turns": turns, "barge_in": [], "idle_max_gap_ms": [], "idle_sent_per_s": [], "dropped_input_frames": [],
            "camera_check": []}


# The server's own split of each turn, as the page draws it (oldest first): its segments, then the total.
WATERFALLS = """JSON.stringify([...document.querySelectorAll('.waterfall')].reverse().map(b => ({
  title: b.querySelector('h2').textContent,
  rows: [...b.querySelectorAll('.row')].map(r => [r.querySelector('.name').textContent,
                                                   parseFloat(r.querySelector('.ms').textContent)])})))"""


def _waterfall(fall: dict[str, Any]) -> dict[str, Any] | None:
    """A waterfall the page drew as the aiortc client's `server` record: the total and each segment (whole ms)."""
    rows = fall.get("rows") or []
    if not rows or rows[-1][0] != "voice-to-voice":
        return None
    return {"total": rows[-1][1], "segments": dict(rows[:-1]), "page_title": fall.get("title", "")}


def _utterance_ends(times: list[float], gap_ms: float = 1500) -> list[float]:
    """Ends of the loud stretches in a list of loud-poll times (ms): a new utterance after `gap_ms` of quiet."""
    ends = []
    for a, b in zip(times, times[1:] + [float("inf")]):
        if b - a > gap_ms:
            ends.append(a)
    return ends
