"""Soak: many sessions on one server for minutes, talking, idle and reconnecting; what the server holds over time.

`omnirt serve` runs as users run it (its own process, defaults but for --max-sessions). Beside it: `--talkers`
aiortc clients that ask the questions of tools/questions.py in turn and wait for each whole answer, one client that
connects, listens a second and leaves every `--reconnect-s`, and the rest idle in a process of their own
(tools/bench/idle.py: silent microphones in Opus DTX, as a browser's). Every `--sample-s` the server's /stats gives
its resident memory, descriptors, threads and event-loop tasks. Printed: each counter at the start (after one client
came and went, so thread pools and caches the first session fills count as the start), with
every session connected (after the warm-up) and at the end of the run, after all clients closed; the memory slope
while connected; turns asked and answered; reconnects and errors. JSON plus an HTML page with the counters plotted.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .report import cpu_probe
from .servers import ServerProcess, start_idle, stats, stop_idle

COUNTERS = ("rss_kb", "fds", "threads", "tasks", "sessions")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sessions", type=int, default=32, help="sessions connected at once")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--talkers", type=int, default=4, help="of the sessions, how many ask questions in turn")
    p.add_argument("--reconnect-s", type=float, default=30.0, help="one session leaves and comes back this often")
    p.add_argument("--sample-s", type=float, default=10.0, help="how often the server's counters are read")
    p.add_argument("--warmup-s", type=float, default=120.0,
                   help="memory growth is measured from here on (caches and arenas fill over the first turns)")
    p.add_argument("--json", default="bench-results/soak.json")


async def _sample(url: str, t0: float) -> dict[str, Any]:
    s = await asyncio.to_thread(stats, url)
    return {"t": round(time.monotonic() - t0, 1), **{k: s.get(k) for k in COUNTERS}}


async def _soak(args: argparse.Namespace, url: str) -> dict[str, Any]:
    from ..clips import make_clip
    from ..questions import QUESTIONS
    from ..rtc_client import ClientOptions, RTCClient

    t0 = time.monotonic()
    async with RTCClient(url, ClientOptions(video=False)) as first:  # the start: after one session came and went,
        await first.wait_for(lambda: first.event("status", state="listening"), 10, "listening")  # (thread pools
    for _ in range(60):  # and caches that the first session fills are not a leak)
        if not (await _sample(url, t0))["sessions"]:
            break
        await asyncio.sleep(0.5)
    samples = [await _sample(url, t0)]
    clips = [(q, make_clip(q.text, "piper")) for q in QUESTIONS]
    idle_n = max(0, args.sessions - args.talkers - 1)
    idle = start_idle(url, idle_n, "dtx") if idle_n else None
    talkers = [RTCClient(url, ClientOptions(video=False)) for _ in range(args.talkers)]
    turns: list[dict[str, Any]] = []
    reconnects: dict[str, Any] = {"ok": 0, "failed": 0, "talkers": 0, "errors": []}
    deadline = t0 + args.minutes * 60
    try:
        for c in talkers:
            await c.connect()

        async def talk() -> None:
            i = 0
            while talkers and time.monotonic() < deadline:
                client = talkers[i % len(talkers)]
                q, clip = clips[i % len(clips)]
                i += 1
                try:
                    t = await client.turn(clip)
                    turns.append({"t": round(time.monotonic() - t0, 1), "heard": t.heard, "answer": t.answer,
                                  "answered": bool(t.answer.strip()) and t.first_sound is not None})
                except Exception as err:  # noqa: BLE001 - a lost turn is a result to report
                    turns.append({"t": round(time.monotonic() - t0, 1), "answered": False,
                                  "error": f"{type(err).__name__}: {err}".splitlines()[0] or "TimeoutError"})
                    if client.pc is None or client.pc.connectionState != "connected":  # its session is gone: the
                        await client.close()  # user reloads the page (counted, and the soak goes on)
                        talkers[talkers.index(client)] = client = RTCClient(url, ClientOptions(video=False))
                        await client.connect()
                        reconnects["talkers"] += 1

        async def reconnect() -> None:
            while time.monotonic() + args.reconnect_s < deadline:
                await asyncio.sleep(args.reconnect_s)
                try:
                    async with RTCClient(url, ClientOptions(video=False)) as c:
                        await c.wait_for(lambda: c.event("status", state="listening"), 10, "listening")
                        await asyncio.sleep(1.0)
                    reconnects["ok"] += 1
                except Exception as err:  # noqa: BLE001
                    reconnects["failed"] += 1
                    reconnects["errors"].append(f"{type(err).__name__}: {err}".splitlines()[0])

        async def sample() -> None:
            while time.monotonic() < deadline:
                await asyncio.sleep(args.sample_s)
                samples.append(await _sample(url, t0))
                s = samples[-1]
                print(f"  {s['t']:6.0f} s  sessions {s['sessions']}  rss {s['rss_kb'] / 1024:.1f} MB  fds {s['fds']}"
                      f"  threads {s['threads']}  tasks {s['tasks']}  turns {len(turns)}", flush=True)

        await asyncio.gather(talk(), reconnect(), sample())
    finally:
        for c in talkers:
            await c.close()
        idle_out = await asyncio.to_thread(stop_idle, idle) if idle else {}
    for _ in range(60):  # every client is gone: the server must drop every session
        end = await _sample(url, t0)
        if end["sessions"] == 0:
            break
        await asyncio.sleep(1.0)
    closed_at = time.monotonic()
    await asyncio.sleep(2.0)
    end = await _sample(url, t0)
    while end["threads"] > samples[0]["threads"] and time.monotonic() - closed_at < 30:  # idle worker threads
        await asyncio.sleep(1.0)  # end 10 s after their last job (runtime/threads.py IdleThreadPool)
        end = await _sample(url, t0)
    end["after_close_s"] = round(time.monotonic() - closed_at, 1)
    return {"samples": samples, "end": end, "turns": turns, "reconnects": reconnects,
            "idle_max_gap_ms": idle_out.get("max_gap_ms", [])}


def summarize(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    samples = result["samples"]
    start, end = samples[0], result["end"]
    warm = [s for s in samples[1:] if s["t"] >= args.warmup_s and s["sessions"]] or samples[1:]
    rss = np.array([s["rss_kb"] for s in warm], float) / 1024
    slope = float(np.polyfit([s["t"] / 60 for s in warm], rss, 1)[0]) if len(warm) >= 2 else float("nan")
    answered = sum(t["answered"] for t in result["turns"])
    return {"start": start, "connected_first": warm[0] if warm else None, "connected_last": warm[-1] if warm else None,
            "end": end, "rss_growth_pct": round(100 * (rss[-1] / rss[0] - 1), 2) if len(rss) else None,
            "rss_slope_mb_per_min": round(slope, 3), "turns": len(result["turns"]), "answered": answered,
            "reconnects_ok": result["reconnects"]["ok"], "reconnects_failed": result["reconnects"]["failed"],
            "talkers_reconnected": result["reconnects"]["talkers"], "closed_by_server": result["closed_by_server"],
            "released": {k: (start[k], end[k]) for k in ("fds", "threads", "tasks", "sessions")}}


def _plot(samples: list[dict[str, Any]], key: str, width: int = 560, height: int = 160) -> str:
    pts = [(s["t"], s[key]) for s in samples if s.get(key) is not None]
    if len(pts) < 2:
        return ""
    ts, vs = zip(*pts)
    lo, hi = min(vs), max(vs) or 1
    x = lambda t: 40 + (width - 50) * t / max(ts[-1], 1)  # noqa: E731
    y = lambda v: height - 20 - (height - 40) * ((v - lo) / ((hi - lo) or 1))  # noqa: E731
    line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
    return (f"<h3>{html.escape(key)}: {lo} .. {hi}</h3><svg width={width} height={height}>"
            f"<polyline fill=none stroke=steelblue stroke-width=2 points='{line}'/>"
            f"<text x=40 y={height - 4} font-size=11>0 s</text><text x={width - 60} y={height - 4} font-size=11>"
            f"{ts[-1]:.0f} s</text></svg>")


def run(args: argparse.Namespace, console: Any) -> int:
    if args.talkers < 0 or args.minutes <= 0 or args.reconnect_s <= 0:
        raise SystemExit("omnirt: error: --talkers must be 0 or more, --minutes and --reconnect-s above 0")
    if args.sessions < args.talkers + 1:
        raise SystemExit("omnirt: error: --sessions must exceed --talkers (one session reconnects)")
    probe = cpu_probe()
    console.print(f"machine: CPU probe {probe} ms; {args.sessions} sessions ({args.talkers} talking, 1 reconnecting "
                  f"every {args.reconnect_s:g} s, the rest idle) for {args.minutes:g} min")
    server = ServerProcess(["--max-sessions", str(args.sessions + 4)])
    with server as url:
        result = asyncio.run(_soak(args, url))
    result["closed_by_server"] = server.closed
    summary = summarize(args, result)
    out = {"settings": vars(args), "cpu_probe_ms": [probe, cpu_probe()], "summary": summary, **result}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str))
    page = path.with_suffix(".html")
    plots = "".join(_plot(result["samples"] + [result["end"]], k) for k in COUNTERS)
    page.write_text(f"<!doctype html><meta charset=utf-8><title>omnirt soak</title><body style='font-family:"
                    f"sans-serif;max-width:900px'><h1>omnirt soak</h1><pre>{html.escape(json.dumps(summary, indent=1))}"
                    f"</pre>{plots}</body>")
    s = summary
    console.print(f"turns answered {s['answered']} of {s['turns']}; reconnects {s['reconnects_ok']} ok, "
                  f"{s['reconnects_failed']} failed")
    console.print(f"sessions the server closed, by reason: {s['closed_by_server']}; talkers that had to reconnect: "
                  f"{s['talkers_reconnected']}")
    console.print(f"memory while connected: {s['rss_growth_pct']} % growth, {s['rss_slope_mb_per_min']} MB/min")
    for k, (a, b) in s["released"].items():
        console.print(f"  {k:8s} start {a}  end {b}  (all clients closed, {result['end']['after_close_s']} s before)")
    console.print(f"CPU probe after: {out['cpu_probe_ms'][1]} ms; wrote {path} and {page}")
    ok = s["answered"] == s["turns"] and not s["reconnects_failed"] and s["released"]["sessions"][1] == 0
    return 0 if ok else 1
