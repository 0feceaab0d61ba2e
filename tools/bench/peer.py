"""A peer to measure omnirt against: a stock Pipecat bot on the same models, driven by the same WebRTC client.

`omnirt bench latency --peer pipecat` runs omnirt's turns, then these: the same questions (tools/questions.py)
spoken by the same aiortc client (tools/rtc_client.py, loopback ICE, no jitter prefetch), voice-to-voice measured
at the client in the same way, from the end of the sent speech to the first reply sample above the threshold at its
arrival. A figure for omnirt means little alone on a shared 2-core host; its ratio to a well-known framework running
the same models back to back says what omnirt's own design is worth.

Pipecat lives in its own venv (.venv-pipecat, made here on first use) so that its pins of aiortc, onnxruntime and
numpy cannot touch ours; tools/bench/peer_pipecat.py runs there and gets every model path on its command line. The
Thinker is our llama.cpp server (omnirt.tools.llm_server) with omnirt's spoken system prompt, one generation thread
and two prompt threads, as `bench latency` runs omnirt's embedded Thinker.

    python -m omnirt.tools.bench.peer --turns 8          # the peer alone: p50/p95 voice-to-voice
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..llm_server import LlamaServer, LlamaServerOptions
from ..rtc_camera import Webcam
from ..rtc_client import ClientOptions, RTCClient

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-pipecat"
BOT = Path(__file__).with_name("peer_pipecat.py")
PIPECAT_VERSION = "1.14.0"
# faster-whisper (whisper), Silero (silero), SmallWebRTC/aiortc (webrtc) and the OpenAI client (openai). piper-tts
# with --no-deps, as tools/setup.sh installs it (its declared onnxruntime must not come twice); pathvalidate is the
# one dependency of it that Pipecat does not bring.
INSTALL = ([f"pipecat-ai[webrtc,silero,whisper,openai]=={PIPECAT_VERSION}"], ["--no-deps", "piper-tts==1.8.0"],
           ["pathvalidate"])
REPLY_END_S = 1.5  # a reply has ended after this long without a loud sample (Pipecat sends no events we read)


def ensure_venv(say=print) -> Path:
    """The Pipecat venv's python, made first if missing or made from other requirements (idempotent: a stamp of
    INSTALL says it is done). Its pip output goes to .venv-pipecat/setup.log."""
    python = VENV / "bin" / "python"
    stamp = VENV / f".peer-{hashlib.sha256(repr(INSTALL).encode()).hexdigest()[:12]}"
    if stamp.exists() and python.exists():
        return python
    log = VENV / "setup.log"
    say(f"creating {VENV.name} for the Pipecat peer (pipecat-ai {PIPECAT_VERSION}, once, ~2 min; log in {log})")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    with log.open("a") as out:
        for args in INSTALL:
            r = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", *args],
                               stdout=out, stderr=subprocess.STDOUT)
            if r.returncode:
                raise SystemExit(f"omnirt: error: installing {' '.join(args)} into {VENV.name} failed; see {log}")
    for old in VENV.glob(".peer-*"):
        old.unlink()
    stamp.touch()
    return python


def versions(python: Path) -> dict[str, str]:
    """Versions of the packages that shape the peer's figures, as installed in its venv."""
    names = ["pipecat-ai", "aiortc", "faster-whisper", "ctranslate2", "onnxruntime", "piper-tts", "openai"]
    code = ("import importlib.metadata as m, json, sys; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))")
    out = subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else {}


class _Thinker(LlamaServer):
    """The llama.cpp server with omnirt's bench threads: 1 generating, 2 evaluating the prompt."""

    def __init__(self, options: LlamaServerOptions, batch_threads: int) -> None:
        super().__init__(options)
        self.batch_threads = batch_threads

    def command(self) -> list[str]:
        cmd = super().command()
        cmd[cmd.index("--n_threads_batch") + 1] = str(self.batch_threads)
        return cmd


class PipecatPeer:
    """The llama.cpp server and the Pipecat bot, each its own process on a free loopback port; `with` gives the
    bot's URL and stops both. `events`: the bot's JSON lines (what it heard and said), as they come."""

    def __init__(self, thinker: str = "0.5b", thinker_threads: int = 1, thinker_batch_threads: int = 2,
                 log_level: str = "WARNING", say=print) -> None:
        from ...models.registry import thinker_model

        self.say, self.log_level = say, log_level
        self.python = ensure_venv(say)
        self.llm = _Thinker(LlamaServerOptions(model=thinker_model(thinker), n_threads=thinker_threads),
                            thinker_batch_threads)
        self.proc: subprocess.Popen | None = None
        self.events: list[dict[str, Any]] = []
        self.log = VENV / "peer.log"
        self._tmp = tempfile.TemporaryDirectory(prefix="omnirt-peer-")

    def command(self, port: int) -> list[str]:
        from ...models import assets
        from ...models.llama import SPOKEN_SYSTEM_PROMPT

        prompt = Path(self._tmp.name) / "system-prompt.txt"
        prompt.write_text(SPOKEN_SYSTEM_PROMPT)
        return [str(self.python), str(BOT), "--port", str(port),
                "--whisper-dir", str(assets.require("whisper-base-ct2")),
                "--piper-voice", str(assets.require("piper-joe") / "voice.onnx"),
                "--llm-url", self.llm.base_url, "--llm-model", self.llm.options.model,
                "--system-prompt-file", str(prompt), "--log-level", self.log_level]

    def __enter__(self) -> str:
        from ..llm_server import free_port

        try:
            self.llm.start()
            env = {"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
                   **{k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}}
            with self.log.open("w") as err:
                self.proc = subprocess.Popen(self.command(free_port()), stdout=subprocess.PIPE, stderr=err,
                                             text=True, env=env)
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("ready: "):
                    threading.Thread(target=self._read, daemon=True).start()
                    return line.split()[1]
            tail = collections.deque(self.log.read_text().splitlines(), 3)
            raise SystemExit(f"omnirt: error: the Pipecat peer did not start: {' | '.join(tail)} (log: {self.log})")
        except BaseException:
            self.__exit__()
            raise

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.llm.stop()
        self._tmp.cleanup()


class SoundClient(RTCClient):
    """RTCClient for a server that sends no omnirt events: a turn is timed from the audio alone, as RTCClient.turn
    times it (the speech end as `say` reports it; the first received sample above the threshold after it, at its
    frame's arrival plus its offset, as Received.sounds places it), and has ended after REPLY_END_S without a loud
    sample. Frames are scanned once each as they come: rescanning the whole reply every 20 ms would cost the
    shared host's CPU while the peer is being timed."""

    async def sound_turn(self, path: str | Path, timeout: float = 40.0) -> float | None:
        """Speak a clip; voice-to-voice in ms, or None when nothing came back within `timeout`."""
        from ...runtime.clock import now
        from ..rtc_client import RATE

        level = self.options.threshold * 32768
        seen = {"i": len(self.received.chunks), "first": None, "last": None}
        speech_end = await self.say(path)

        def scan() -> None:
            chunks = self.received.chunks
            while seen["i"] < len(chunks):
                t, c = chunks[seen["i"]]
                seen["i"] += 1
                loud = np.flatnonzero(np.abs(c.astype(np.int32)) > level) if t >= speech_end else ()
                if len(loud):
                    seen["first"] = seen["first"] or t + loud[0] / RATE
                    seen["last"] = t + loud[-1] / RATE

        try:
            first = await self.wait_for(lambda: scan() or seen["first"], timeout, "a reply")
        except TimeoutError:
            return None
        await self.wait_for(lambda: scan() or now() - seen["last"] > REPLY_END_S, timeout, "the reply to end")
        return (first - speech_end) * 1e3


async def measure_peer(url: str, clips: list[Path], camera: bool = False,
                       events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Speak each clip to the peer at `url` and time its reply at the client; the same shape of result as
    latency.py's `_aiortc_turns` (turns with heard/answer when `events` from PipecatPeer are given)."""
    watch = events is not None
    events = events if watch else []
    started, turns = len(events), []
    async with SoundClient(url, ClientOptions(loopback_only=True, video=camera,
                                              camera=Webcam() if camera else None)) as client:
        # The bot builds its pipeline after answering (Pipecat loads Whisper per connection): a question spoken
        # before it runs would be lost, so wait for the bot to say it is connected (when it can say so).
        await client.wait_for(lambda: not watch or any(e.get("event") == "connected" for e in events[started:]),
                              60, "the Pipecat pipeline to start")
        await asyncio.sleep(0.5)  # as latency.py waits for omnirt's session
        for i, clip in enumerate(clips, 1):
            seen = len(events)
            v2v = await client.sound_turn(clip)
            await asyncio.sleep(0.2)  # the bot's transcript lines come after its audio
            said = [e for e in events[seen:] if e.get("event") in ("user", "assistant")]
            stages: dict[str, float] = {}
            for e in events[seen:]:
                if e.get("event") == "metrics":  # the first of each in the turn (a turn may run the LLM twice)
                    stages.setdefault(e["name"], e["ms"])
            heard = " ".join(e["text"] for e in said if e["event"] == "user").strip()
            answer = " ".join(e["text"] for e in said if e["event"] == "assistant").strip()
            turns.append({"turn": i, "heard": heard, "answer": answer,
                          "voice_to_voice_ms": None if v2v is None else round(v2v, 1), "server": None,
                          "pipecat_metrics_ms": stages})
            print(f"  turn {i}/{len(clips)}: {v2v or float('nan'):7.1f} ms  {heard!r} -> {answer!r}", flush=True)
    return {"turns": turns, "barge_in": [], "idle_max_gap_ms": [], "idle_sent_per_s": [],
            "dropped_input_frames": [], "camera_check": []}


def run_peer(args: argparse.Namespace, clips: list[Path], say=print, log_level: str = "WARNING") -> dict[str, Any]:
    """The peer measured as `bench latency` measures omnirt (its --thinker, thread counts and --no-camera): its
    turns, voice-to-voice percentiles and package versions. Call it after omnirt's server has stopped."""
    from .report import percentiles

    camera = getattr(args, "camera", False)
    say(f"starting the Pipecat peer; the same {len(clips)} turns over aiortc"
        + (", the client sending a camera (Pipecat ignores it)" if camera else ", no camera"))
    peer = PipecatPeer(args.thinker, args.thinker_threads, args.thinker_batch_threads, log_level, say)
    with peer as url:
        result = asyncio.run(measure_peer(url, clips, camera, peer.events))
    stages: dict[str, list[float]] = {}
    for t in result["turns"]:
        for name, ms in t["pipecat_metrics_ms"].items():
            stages.setdefault(name, []).append(ms)
    return {"peer": "pipecat", "versions": versions(peer.python),
            "voice_to_voice_ms": percentiles([t["voice_to_voice_ms"] for t in result["turns"]]),
            "stages_ms": {k: percentiles(v) for k, v in sorted(stages.items())}, **result}


def print_peer(peer: dict[str, Any]) -> None:
    """The peer's voice-to-voice line with its package versions, then Pipecat's own per-service metrics."""
    s, v = peer["voice_to_voice_ms"], peer["versions"]
    names = ", ".join(f"{k} {v[k]}" for k in ("pipecat-ai", "aiortc", "faster-whisper", "onnxruntime", "piper-tts")
                      if k in v)
    print(f"pipecat voice-to-voice p50 {s['p50']:.0f} ms p95 {s['p95']:.0f} ms  ({s['n']} turns, aiortc client; "
          f"{names})")
    for name, st in peer["stages_ms"].items():
        print(f"  {name:<30} p50 {st['p50']:7.1f} ms  p95 {st['p95']:7.1f} ms  (Pipecat's metrics)")


def print_versus(ours: dict[str, float], peer: dict[str, Any]) -> dict[str, float]:
    """Print the peer's figures and their ratio to omnirt's (omnirt / Pipecat: below 1 is omnirt faster)."""
    print_peer(peer)
    s = peer["voice_to_voice_ms"]
    ratio = {k: round(ours[k] / s[k], 3) if s[k] else float("nan") for k in ("p50", "p95")}
    print(f"omnirt / pipecat: p50 {ratio['p50']:.3f}  p95 {ratio['p95']:.3f}  (same models, questions and client)")
    return ratio


def main(argv: list[str] | None = None) -> int:
    from ..clips import make_clip
    from ..questions import QUESTIONS
    from .report import cpu_probe

    p = argparse.ArgumentParser(prog="python -m omnirt.tools.bench.peer", description=__doc__.splitlines()[0])
    p.add_argument("--turns", type=int, default=8)
    p.add_argument("--camera", action="store_true", help="the client also sends a camera (Pipecat ignores it)")
    p.add_argument("--thinker", default="0.5b")
    p.add_argument("--thinker-threads", type=int, default=1)
    p.add_argument("--thinker-batch-threads", type=int, default=2)
    p.add_argument("--log-level", default="WARNING", help=f"Pipecat's log level (the log: {VENV.name}/peer.log)")
    p.add_argument("--json", help="write the turns and the summary here")
    a = p.parse_args(argv)
    clips = [make_clip(QUESTIONS[i % len(QUESTIONS)].text, "piper") for i in range(a.turns)]
    probe = cpu_probe()
    result = run_peer(a, clips, log_level=a.log_level)
    result["cpu_probe_ms"] = [probe, cpu_probe()]
    print(f"machine: CPU probe {result['cpu_probe_ms'][0]:.1f} ms before, {result['cpu_probe_ms'][1]:.1f} ms after")
    print_peer(result)
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
