"""The WebRTC transport: a browser (or any WebRTC peer) talks to a VoiceSession over audio tracks and a data channel.

Signalling is one HTTP request: the client POSTs its complete offer (aiortc does no trickle ICE, so candidates are
gathered first) to `/offer` and gets the complete answer back. Every peer connection is an independent session with
its own VoiceSession; the models (`Components`) are loaded once per process and shared. `GET /` serves the page.

Audio in: aiortc's decoded frames (48 kHz s16, usually stereo) become AudioFrames in a bounded buffer in front of the
pipeline; if the pipeline falls behind, the oldest audio is dropped (and counted) rather than memory growing.
Audio out: `ReplyTrack` hands aiortc 20 ms frames of 48 kHz mono in real time from the reply buffer (silence when
empty); an Interrupt drops the buffer at once so barge-in silences the client within a frame or two.
Data channel "events" (opened by the client): JSON events to the client (user/assistant text, status, per-turn
latency with spans, errors); `{"type": "interrupt"}` from the client stops the reply.

Connectivity: the server offers host candidates on every interface of the machine (and on 127.0.0.1), and tries
the client's UDP candidates at IP addresses and at mDNS `.local` names (sdp.usable_candidates); a browser on this
machine or on the LAN pairs over the interfaces' addresses. STUN/TURN servers are used only when given
(`ice_servers`), on both ends. Media is encrypted (DTLS-SRTP) whatever the path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from ..audio import to_int16
from ..clock import now
from ..frames import AudioFrame, EndOfStream, Interrupt, VideoFrame
from ..playout import Playout, drive
from ..session import Components, SessionOptions, VoiceSession
from .browser_output import BrowserOutput
from .inbound import OpusInput, load_libopus
from .jitter import replace_audio_buffers, set_jitter_prefetch
from .ice import offer_loopback_too, parse_ice_server, rtc_configuration, use_loopback_only
from .sdp import BadRequest, check_bundle, is_loopback, request_dtx, usable_candidates
from .tracks import FRAME, RATE, PacedAudioTrack, ReplyTrack

__all__ = ["FRAME", "RATE", "PacedAudioTrack", "ReplyTrack", "WebRTCOptions", "PeerSession", "BadRequest",
           "is_loopback", "offer_loopback_too", "parse_ice_server", "rtc_configuration", "set_jitter_prefetch",
           "usable_candidates", "use_loopback_only"]

log = logging.getLogger("omnirt.webrtc")
WEB_DIR = Path(__file__).parent / "web"  # the page (package data)


@dataclass(frozen=True)
class WebRTCOptions:
    """host/port: where the HTTP signalling server binds (port 0 picks a free one).
    token: required on every offer when set; generated when bound beyond loopback and not given.
    loopback_only: ICE restricted to 127.0.0.1 on both sides: for tests about the server alone (no stock browser
        offers loopback candidates, so none could connect).
    ice_servers: STUN/TURN servers for both ends, as `stun:HOST[:PORT]` or `turn:USER:PASSWORD@HOST[:PORT]`
        (`?transport=tcp` allowed); none by default, so no traffic leaves for a public server.
    ice_relay_only: the server's media goes only through the TURN server in ice_servers (its own addresses are
        never offered: for a server that must not expose them, or to prove the relay works).
    jitter_prefetch: incoming audio packets held before decoding: 0 decodes each on arrival, on the event loop,
        at 16 kHz (transports/inbound.py; jitter.py says why holding nothing is safe on loopback and a LAN), N uses
        aiortc's buffer holding N and its decoder thread; None keeps aiortc's buffer (4).
    input_buffer_ms: incoming audio waiting for the pipeline; beyond it the oldest is dropped.
    reply_buffer_s: reply audio waiting to be sent; beyond it new audio is dropped (a reply is rarely > 30 s).
    max_body / body_timeout_s: an offer's largest size, and how long its body may take to arrive (a slow drip
        otherwise holds a connection open indefinitely).
    connect_timeout_s / media_timeout_s: a session that never connects, or whose microphone track stops delivering
    (browsers send frames even when muted), is closed after this long.
    encode_in_track: the reply track hands aiortc Opus packets it encoded itself, silence as one cached packet
        (runtime/transports/tracks.py says why: idle sessions get cheap); False lets aiortc encode raw frames.
    dtx_s: while the assistant is silent, one silent packet per dtx_s goes out instead of one per 20 ms
        (discontinuous transmission; needs encode_in_track). 0 sends every frame.
    ask_dtx: the answer asks the client to send its microphone with Opus DTX too (usedtx=1, see sdp.py): a
        silent microphone then costs the server a pair of packets per 400 ms (Chromium) instead of fifty a second.
    video_interval_s: how often the newest camera image is offered to the session's vision stage (only when the
    components have a describer; the stage itself drops what it has no time to look at).
    """

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    loopback_only: bool = False
    ice_servers: tuple[str, ...] = ()
    ice_relay_only: bool = False
    max_body: int = 64 * 1024
    body_timeout_s: float = 5.0
    max_sessions: int = 4
    jitter_prefetch: int | None = 0
    input_buffer_ms: int = 1000
    reply_buffer_s: float = 120.0
    connect_timeout_s: float = 20.0
    media_timeout_s: float = 5.0
    video_interval_s: float = 0.2
    encode_in_track: bool = True
    dtx_s: float = 0.4
    ask_dtx: bool = True
    session: SessionOptions = field(default_factory=SessionOptions)


def to_audio_frame(frame: Any) -> AudioFrame:
    """An av.AudioFrame (packed or planar, s16 or float) as an int16 AudioFrame [n] or [n, channels]."""
    channels = len(frame.layout.channels)
    x = frame.to_ndarray()
    x = x.T if frame.format.is_planar else x.reshape(-1, channels)
    if x.dtype != np.int16:
        x = to_int16(x.astype(np.float32))
    pcm = np.ascontiguousarray(x[:, 0] if channels == 1 else x)
    t = now()
    return AudioFrame(pcm=pcm, sample_rate=frame.sample_rate, channels=channels,
                      capture_ts=t - len(pcm) / frame.sample_rate)


class PeerSession:
    """One peer connection and its VoiceSession, tasks and buffers. `latest_video` is the newest camera image."""

    def __init__(self, pc: RTCPeerConnection, components: Components, options: WebRTCOptions,
                 on_closed: Callable[["PeerSession"], None] = lambda peer: None) -> None:
        o = self.options = options
        self.pc, self.on_closed = pc, on_closed
        self.voice = VoiceSession(components, o.session)
        self.output = BrowserOutput(self.voice, self.send, o.reply_buffer_s, encode=o.encode_in_track, dtx_s=o.dtx_s)
        self.reply = self.output.track
        self.playout: Playout | None = None
        self.channel: Any = None
        self.dropped_input_frames = 0
        self.input_frames = 0  # microphone frames received (a client's capture may start after the connection)
        self._input: deque[AudioFrame] = deque(maxlen=max(1, o.input_buffer_ms // 20))
        self._input_ready = asyncio.Event()
        self._inline_audio = o.jitter_prefetch == 0 and load_libopus() is not None  # see inbound.py
        self._last_audio: float | None = None
        self.inputs: list[OpusInput] = []  # the decoders in the receivers' jitter-buffer slots (inline audio)
        self._video: Any = None
        self.video_frames = 0  # camera frames received (each decoded, whether read or not)
        self._video_rgb: tuple[Any, np.ndarray] | None = None
        self._pending_events: deque[str] = deque(maxlen=256)
        self._tasks: set[asyncio.Task] = set()
        self._pipeline: Any = None
        self._closing: asyncio.Task | None = None
        self._main: asyncio.Task | None = None
        pc.on("track", self._on_track)
        pc.on("datachannel", self._on_datachannel)
        pc.on("connectionstatechange", self._on_state)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._main = asyncio.get_running_loop().create_task(self._run(), name="webrtc:session")
        self._main.add_done_callback(lambda _: self.close_soon("pipeline ended"))
        self._spawn(self._connect_deadline())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close_soon(self, why: str) -> None:
        if self._closing is None:
            log.info("closing session (%s)", why)
            self._closing = asyncio.get_running_loop().create_task(self._close())

    async def close(self) -> None:
        self.close_soon("closed by the server")
        assert self._closing is not None
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        """End the pipeline (interrupt, then EndOfStream), stop the tracks, close the pc, cancel every task; the
        owner hears of it (on_closed, which frees the session's slot) even when a step fails."""
        try:
            await self._release()
        except Exception as err:  # noqa: BLE001 - e.g. aiortc's close() on a half-negotiated connection
            log.warning("closing the session failed part-way: %s: %s", type(err).__name__, str(err)[:120])
        finally:
            self.on_closed(self)

    async def _release(self) -> None:
        main = self._main
        if self._pipeline is not None and main is not None and not main.done():
            await self._pipeline.push(Interrupt(reason="disconnect"))
            try:
                await asyncio.wait_for(self._pipeline.push(EndOfStream()), 1.0)
            except asyncio.TimeoutError:
                pass
        if main is not None and not main.done():
            done, _ = await asyncio.wait({main}, timeout=2.0)
            if not done:
                main.cancel()
            await asyncio.gather(main, return_exceptions=True)
        self.reply.stop()
        for opus in self.inputs:
            opus.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:  # closing says goodbye to a TURN server, which may be gone: aioice would retry for half a minute
            await asyncio.wait_for(self.pc.close(), 3.0)
        except asyncio.TimeoutError:
            log.warning("the peer connection did not close within 3 s (an unreachable TURN server?)")

    async def _connect_deadline(self) -> None:
        await asyncio.sleep(self.options.connect_timeout_s)
        if self.pc.connectionState != "connected":
            self.close_soon("never connected")

    async def _run(self) -> None:
        async with self.voice as pipeline:
            self._pipeline = pipeline
            self.playout = Playout(pipeline, self.output)
            if self.voice.components.describer is not None:
                self._spawn(self._feed_video(pipeline))
            await drive(pipeline, self._audio_in(), self.output, self.playout)

    # ------------------------------------------------------------ input

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._watch_audio() if self._inline_audio else self._read_audio(track))
        elif track.kind == "video":
            self._spawn(self._read_video(track))

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        timeout: float | None = None  # until the first frame the connect deadline applies
        while True:
            try:
                frame = await asyncio.wait_for(track.recv(), timeout)
            except MediaStreamError:
                return
            except asyncio.TimeoutError:  # a vanished browser is otherwise noticed only by ICE, after ~30 s
                self.close_soon(f"no audio from the client for {timeout:g} s")
                return
            timeout = self.options.media_timeout_s
            self._accept(to_audio_frame(frame))

    def _on_audio(self, pcm: np.ndarray, rate: int) -> None:
        """Decoded on arrival by inbound.OpusInput (16 kHz mono)."""
        t = self._last_audio = now()
        self._accept(AudioFrame(pcm=pcm, sample_rate=rate, capture_ts=t - len(pcm) / rate))

    def input_health(self) -> dict[str, float]:
        """What reached the pipeline from the microphone and what did not: frames received and dropped (the
        pipeline lagging), and the decoders' late packets and seconds of silence filled and of loss concealed."""
        return {"frames": self.input_frames, "dropped": self.dropped_input_frames,
                "late_packets": sum(o.late for o in self.inputs),
                "filled_s": round(sum(o.filled / o.rate for o in self.inputs), 3),
                "concealed_s": round(sum(o.concealed / o.rate for o in self.inputs), 3)}

    def _opus_input(self) -> OpusInput:
        self.inputs.append(OpusInput(self._on_audio))
        return self.inputs[-1]

    def _accept(self, frame: AudioFrame) -> None:
        self.input_frames += 1
        if len(self._input) == self._input.maxlen:
            self.dropped_input_frames += 1  # the deque drops the oldest
        self._input.append(frame)
        self._input_ready.set()

    async def _watch_audio(self) -> None:
        """With audio decoded on arrival no recv() can time out: notice a microphone that stopped delivering
        (a vanished browser is otherwise noticed only by ICE, after ~30 s)."""
        timeout = self.options.media_timeout_s
        while True:
            await asyncio.sleep(timeout / 4)
            if self._last_audio is not None and now() - self._last_audio > timeout:
                self.close_soon(f"no audio from the client for {timeout:g} s")
                return

    async def _audio_in(self) -> AsyncIterator[AudioFrame]:
        while True:
            while not self._input:
                self._input_ready.clear()
                await self._input_ready.wait()
            yield self._input.popleft()

    async def _feed_video(self, pipeline: Any) -> None:
        """Offer the newest camera image to the vision stage a few times a second (never a queue of frames)."""
        last = None
        while True:
            await asyncio.sleep(self.options.video_interval_s)
            frame = self._video
            if frame is not None and frame is not last:
                last = frame
                image = await asyncio.to_thread(lambda: self.latest_video)  # colour conversion off the loop
                await pipeline.push(VideoFrame(image=image, capture_ts=now()))

    async def _read_video(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                self._video = await track.recv()  # keep only the latest; converted on demand
                self.video_frames += 1
            except MediaStreamError:
                return

    @property
    def latest_video(self) -> np.ndarray | None:
        """The newest camera image as RGB uint8 [h, w, 3], or None before the first frame."""
        frame = self._video
        if frame is None:
            return None
        if self._video_rgb is None or self._video_rgb[0] is not frame:
            self._video_rgb = (frame, frame.to_ndarray(format="rgb24"))
        return self._video_rgb[1]

    # ------------------------------------------------------------ events

    def _on_datachannel(self, channel: Any) -> None:
        if channel.label != "events":
            return
        self.channel = channel
        channel.on("message", self._on_message)
        channel.on("close", lambda: self.close_soon("data channel closed"))
        while self._pending_events:
            channel.send(self._pending_events.popleft())
        self.send({"type": "status", "state": "listening"})

    def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self.close_soon(f"connection {self.pc.connectionState}")

    def _on_message(self, message: Any) -> None:
        try:
            event = json.loads(message)
            kind = event.get("type") if isinstance(event, dict) else None
        except (ValueError, TypeError):
            kind = None
        if kind == "interrupt":
            self.interrupt("button")
        else:
            self.send({"type": "error", "message": f"unknown message: {str(message)[:80]!r}"})

    def send(self, event: dict[str, Any]) -> None:
        text = json.dumps(event)
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)
        elif self.channel is None:
            self._pending_events.append(text)

    def interrupt(self, reason: str) -> None:
        """Silence the reply now and cancel the turn's work in the pipeline."""
        if self.playout is not None:
            self.playout.interrupt(reason)

    async def ask(self, text: str) -> int | None:
        """VoiceSession.ask once the session can be heard: its pipeline running and its data channel open (the page
        shows the question and its answer). None when it did not get there within connect_timeout_s, or closed."""
        deadline = now() + self.options.connect_timeout_s
        while self._pipeline is None or self.channel is None or self.channel.readyState != "open":
            if self._closing is not None or now() > deadline:
                return None
            await asyncio.sleep(0.05)
        return await self.voice.ask(text)

    async def negotiate(self, offer_sdp: str) -> RTCSessionDescription:
        """Apply the client's offer, attach the reply track, and return the complete answer."""
        pc = self.pc
        offer_sdp = usable_candidates(check_bundle(offer_sdp), self.options.loopback_only)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        if self._inline_audio:
            replace_audio_buffers(pc, self._opus_input)
        elif self.options.jitter_prefetch is not None:
            set_jitter_prefetch(pc, self.options.jitter_prefetch)
        if any(t.kind == "audio" for t in pc.getTransceivers()):
            pc.addTrack(self.reply)
        await pc.setLocalDescription(await pc.createAnswer())  # gathers every candidate first
        answer = pc.localDescription
        if self.options.ask_dtx:
            answer = RTCSessionDescription(sdp=request_dtx(answer.sdp), type=answer.type)
        return answer
