"""A scripted WebRTC client (aiortc) for tests and latency benchmarks: a WAV file as its microphone, the reply recorded.

The microphone sends 20 ms frames of 48 kHz mono in real time: silence, then each clip given to `say()`, then
silence again, like a person at a live mic. The reply audio is recorded with the arrival time of every frame and the
"events" data channel is collected. Voice-to-voice latency is measured here, at the client: from the end of the
speech in the sent clip (its last sample above a threshold, at the moment the mic delivered it) to the first
non-silent reply sample received (from the arrival of the frame holding it).

    python -m omnirt.tools.rtc_client http://127.0.0.1:8765/ question.wav [--out reply.wav]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from ..runtime.audio import resample, to_int16, to_mono_float
from ..runtime.clock import now
from ..runtime.transports.file import probe_wav
from ..runtime.transports.sdp import asks_for_dtx
from ..runtime.transports.webrtc import PacedAudioTrack, set_jitter_prefetch, to_audio_frame, use_loopback_only
from .rtc_camera import CameraTrack, Webcam

RATE, FRAME = 48000, 960


@dataclass(frozen=True)
class ClientOptions:
    """token: sent as `Authorization: Bearer`. loopback_only: ICE on 127.0.0.1 only (the server must agree).
    jitter_prefetch: reply packets held before decoding (0: none, see runtime/transports/jitter.py); None keeps
        aiortc's buffer (4 packets).
    threshold: |sample| (full scale 1.0) above which audio counts as sound, sent or received.
    audio: send the microphone track (without it the client only listens); video: also send a camera track.
    camera: what that camera shows, and its size and rate (a small Webcam when None).
    follow: when the server names the session (a cluster's front door does), watch it and, told its host was lost
        (or asked to move: a draining host), offer again with its id as the page does; the conversation goes on."""

    token: str | None = None
    loopback_only: bool = True
    jitter_prefetch: int | None = 0
    threshold: float = 0.02
    audio: bool = True
    video: bool = False
    camera: "Webcam | None" = None
    timeout_s: float = 10.0
    follow: bool = True


def load_speech(path: str | Path, threshold: float = 0.02) -> tuple[np.ndarray, int]:
    """A WAV as int16 mono 48 kHz and the index of its last sample above `threshold` (the end of the speech)."""
    import soundfile as sf

    probe_wav(path)  # one-line AudioInputError for a missing or unreadable file
    data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    x = resample(to_mono_float(data), rate, RATE)
    loud = np.flatnonzero(np.abs(x) > threshold)
    if not len(loud):
        raise ValueError(f"{Path(path).name} has no sample above {threshold}")
    return to_int16(x), int(loud[-1])


class MicTrack(PacedAudioTrack):
    """The client's microphone: queued clips, else silence, paced in real time. `onsets`: for each clip, when its
    first sample above `threshold` was delivered."""

    def __init__(self, threshold: float = 0.02) -> None:
        super().__init__()
        self.level = threshold * 32768
        self.onsets: list[float] = []
        self._onset_pending = False
        self._queue: deque[tuple[np.ndarray, int, asyncio.Future]] = deque()
        self._clip: tuple[np.ndarray, int, asyncio.Future] | None = None
        self._pos = 0

    def play(self, pcm: np.ndarray, speech_end: int) -> asyncio.Future:
        """Queue a clip; the future gets the time its speech ended (sample `speech_end` delivered by the mic)."""
        fut = asyncio.get_running_loop().create_future()
        self._queue.append((pcm, speech_end, fut))
        return fut

    def hush(self) -> None:
        """Stop speaking now: drop the clip being played and those queued (their futures cancelled). Why: a
        question cut off by a lost connection is asked again from its start, not finished from where it broke."""
        for _, _, fut in ([self._clip] if self._clip else []) + list(self._queue):
            fut.cancel()
        self._clip, self._onset_pending = None, False
        self._queue.clear()

    def next_samples(self) -> np.ndarray:
        out = np.zeros(FRAME, np.int16)
        if self._clip is None and self._queue:
            self._clip, self._pos, self._onset_pending = self._queue.popleft(), 0, True
        if self._clip is not None:
            pcm, end, fut = self._clip
            chunk = pcm[self._pos:self._pos + FRAME]
            out[:len(chunk)] = chunk
            loud = np.flatnonzero(np.abs(chunk.astype(np.int32)) > self.level)
            if self._onset_pending and len(loud):
                self._onset_pending = False
                self.onsets.append(now() - (FRAME - loud[0]) / RATE)
            if self._pos <= end < self._pos + FRAME and not fut.done():
                # delivered now; sample `end` was spoken (FRAME - 1 - offset) samples before the frame's end
                fut.set_result(now() - (self._pos + FRAME - 1 - end) / RATE)
            self._pos += FRAME
            if self._pos >= len(pcm):
                self._clip = None
        return out


@dataclass
class Received:
    """Reply audio as it arrived: (arrival time, int16 mono 48 kHz chunk) per frame."""

    chunks: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def audio(self) -> np.ndarray:
        return np.concatenate([c for _, c in self.chunks]) if self.chunks else np.zeros(0, np.int16)

    def sounds(self, threshold: float, t0: float = 0.0, t1: float = float("inf")) -> list[float]:
        """Times of the non-silent samples' frames that arrived in [t0, t1): arrival + offset in the frame."""
        level = threshold * 32768
        out = []
        for t, c in self.chunks:
            if t0 <= t < t1:
                loud = np.flatnonzero(np.abs(c.astype(np.int32)) > level)
                if len(loud):
                    out += [t + loud[0] / RATE, t + loud[-1] / RATE]
        return out

    def first_sound(self, threshold: float, after: float) -> float | None:
        s = self.sounds(threshold, after)
        return s[0] if s else None


class RTCClient:
    """Connects to an omnirt server, speaks clips, records the reply and the events. Use `async with`."""

    def __init__(self, url: str, options: ClientOptions = ClientOptions()) -> None:
        self.url, self.options = url.split("?")[0].rstrip("/"), options
        self.mic = MicTrack(options.threshold)
        self.camera = CameraTrack(options.camera) if options.video else None
        self.received = Received()
        self.events: list[dict[str, Any]] = []
        self.pc: RTCPeerConnection | None = None
        self.dtx_asked = False  # the server's answer asks for the microphone with Opus DTX (usedtx=1)
        self.channel: Any = None
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.session: str | None = None  # the cluster's id for this conversation (None from a single server)
        self.reconnects: list[dict[str, Any]] = []  # {"told", "open", "restored", "answering"} per move
        self.earlier_events: list[dict[str, Any]] = []  # events of the connections before the last reconnect
        self.restored, self._moving = 0, False
        self.answering = ""  # the question a moved session's new host answers unasked (its old host heard it)

    async def __aenter__(self) -> "RTCClient":
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        import aiohttp

        if self.options.loopback_only:
            use_loopback_only()
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = pc.createDataChannel("events")
        self.channel.on("message", self._on_message)
        if self.options.audio:
            pc.addTrack(self.mic)
        else:
            pc.addTransceiver("audio", direction="recvonly")
        if self.camera:
            pc.addTrack(self.camera)
        pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._record(track))))
        await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate first
        headers = {"Authorization": f"Bearer {self.options.token}"} if self.options.token else {}
        offer = {"sdp": pc.localDescription.sdp, "type": "offer", **({"session": self.session} if self.session else {})}
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{self.url}/offer", json=offer, headers=headers) as r:
                body = await r.json()
                if r.status != 200:
                    raise ConnectionError(f"offer refused ({r.status}): {body.get('error')}")
        if self.options.jitter_prefetch is not None:
            set_jitter_prefetch(pc, self.options.jitter_prefetch)
        self.dtx_asked = asks_for_dtx(body["sdp"])
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await self.wait_for(lambda: self.channel.readyState == "open", self.options.timeout_s, "data channel open")
        self.restored = body.get("restored", 0)
        self.answering = body.get("answering", "")
        if body.get("session") and self.options.follow and self.session is None:
            self._tasks.append(asyncio.ensure_future(self._follow(headers)))
        self.session = body.get("session")

    async def _follow(self, headers: dict[str, str]) -> None:
        """Long-poll the front door about this session; told its host was lost, connect again with its id."""
        import aiohttp

        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"{self.url}/session", params={"id": self.session}, headers=headers) as r:
                        state = (await r.json()).get("state") if r.status == 200 else "unknown"
                except aiohttp.ClientError:
                    await asyncio.sleep(0.5)
                    continue
                if state == "lost":
                    await self.reconnect()
                elif state != "live":
                    return

    async def reconnect(self) -> None:
        """A new peer connection for the same session (the old one's host is gone); the events so far move to
        `earlier_events` (the new session numbers its turns afresh)."""
        if self._moving:  # told twice (moved and lost at once): one new connection
            return
        told, self._moving = now(), True
        if self.pc is not None:  # its far end is gone: nothing to wait for
            await asyncio.wait_for(self.pc.close(), 2.0)
        if self.mic.readyState != "live":
            self.mic = MicTrack(self.options.threshold)
        self.earlier_events, self.events = self.earlier_events + self.events, []
        try:
            await self.connect()
        finally:
            self._moving = False
        self.reconnects.append({"told": told, "open": now(), "restored": self.restored, "answering": self.answering})

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _record(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            t = now()
            pcm = to_audio_frame(frame).pcm
            mono = pcm if pcm.ndim == 1 else pcm.mean(axis=1).astype(np.int16)
            self.received.chunks.append((t, mono))

    def _on_message(self, message: Any) -> None:
        event = json.loads(message)
        event["t"] = now()
        self.events.append(event)
        self._changed.set()
        if event["type"] == "move" and self.session and self.options.follow:  # its host is draining
            self._tasks.append(asyncio.ensure_future(self.reconnect()))

    async def wait_for(self, pred: Callable[[], Any], timeout: float, what: str) -> Any:
        """Wait until pred() is truthy (re-checked on each event and every 20 ms)."""
        deadline = now() + timeout
        while not (result := pred()):
            if now() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.02)
            except asyncio.TimeoutError:
                pass
        return result

    def event(self, kind: str, **match: Any) -> dict[str, Any] | None:
        return next((e for e in self.events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())),
                    None)

    def send(self, event: dict[str, Any]) -> float:
        """Send an event on the data channel; returns the time it was sent."""
        self.channel.send(json.dumps(event))
        return now()

    async def say(self, path: str | Path) -> float:
        """Speak a clip into the mic; returns when its speech has been sent, with the time the speech ended."""
        pcm, end = load_speech(path, self.options.threshold)
        return await asyncio.wait_for(self.mic.play(pcm, end), len(pcm) / RATE + self.options.timeout_s)

    async def turn(self, path: str | Path, timeout: float = 40.0) -> "Turn":
        """Speak a clip and wait until its whole reply has been received; the turn's events and latency."""
        seen = {e.get("turn") for e in self.events if e["type"] == "user"}
        speech_end = await self.say(path)
        return await self.reply(seen, speech_end, timeout)

    async def reply(self, seen: set, since: float, timeout: float = 40.0) -> "Turn":
        """Wait for the next turn whose number is not in `seen` to be played whole: the words the server heard,
        or, after a move, the question the new host answers unasked (`answering`). Its first sound is looked for
        after `since` (the end of the user's speech)."""
        user = await self.wait_for(lambda: next((e for e in self.events if e["type"] == "user" and e.get("final")
                                                 and e.get("turn") not in seen), None), timeout, "transcript")
        n = user["turn"]
        done = await self.wait_for(lambda: self.event("status", state="listening", turn=n)
                                   or self.event("error", turn=n), timeout, f"turn {n} played")
        await asyncio.sleep(0.3)  # the last frames are still on the way and in the jitter buffer
        first = self.received.first_sound(self.options.threshold, since)
        return Turn(n, user["text"], (self.event("assistant_done", turn=n) or {}).get("text", ""),
                    self.event("latency", turn=n), since, first, done)


@dataclass
class Turn:
    number: int
    heard: str
    answer: str
    latency: dict[str, Any] | None  # the server's latency event
    speech_end: float
    first_sound: float | None
    end_event: dict[str, Any]

    @property
    def voice_to_voice_ms(self) -> float | None:
        return None if self.first_sound is None else (self.first_sound - self.speech_end) * 1e3


async def _main(args: argparse.Namespace) -> int:
    for wav in args.wav:
        load_speech(wav)  # fail before connecting
    async with RTCClient(args.url, ClientOptions(token=args.token, video=args.video)) as client:
        for wav in args.wav:
            t = await client.turn(wav)
            v2v = t.voice_to_voice_ms
            print(f"you: {t.heard}\nassistant: {t.answer}\nvoice-to-voice at the client: "
                  + (f"{v2v:.0f} ms" if v2v is not None else "no reply audio")
                  + (f" (server: {t.latency['total']:.0f} ms)" if t.latency else ""))
        if args.out:
            import soundfile as sf

            sf.write(args.out, client.received.audio(), RATE, subtype="PCM_16")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="rtc_client", description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("wav", nargs="+", help="spoken clips, one turn each")
    p.add_argument("--token")
    p.add_argument("--video", action="store_true", help="also send a camera (printed cards held up in a room)")
    p.add_argument("--out", help="write the received audio here")
    args = p.parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except (ConnectionError, TimeoutError, OSError, ValueError) as err:
        print(f"rtc_client: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
