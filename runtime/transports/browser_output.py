"""The reply as a browser meets it: audio into the peer's ReplyTrack, everything else as data-channel events.

An `OutputSink` (runtime/playout.py decides when to play, flush and hold). Reply audio is resampled to the track's
48 kHz on the way in, one stream per turn so a cut leaves no filter tail behind. The events: the user's words
(`user`), the answer as it streams (`assistant_delta`, `assistant_done`), `status` (speaking, listening with how much
was played and whether it was cut), `hold` (the user's first sound), per-turn `latency` with the turn's spans, `rejoin`
(the user went on after a pause: an earlier turn is withdrawn, its words join this one's), and `error`. Events
that carry "clock" give this host's monotonic time, for benches on the same host.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import numpy as np

from ..audio import StreamResampler, to_int16, to_mono_float
from ..clock import now
from ..frames import AudioFrame, ErrorFrame, Frame, Played, SpeechStarted, TextDelta, TextDone, Transcript
from ..observers import SEGMENTS
from ..playout import OutputSink
from ..session import VoiceSession
from .tracks import RATE, ReplyTrack


class BrowserOutput(OutputSink):
    """`track` goes into the peer connection; `send` delivers one JSON event to the client."""

    def __init__(self, voice: VoiceSession, send: Callable[[dict[str, Any]], None], max_seconds: float = 120.0,
                 encode: bool = False, dtx_s: float = 0.0) -> None:
        self.voice, self.send = voice, send
        self.track = ReplyTrack(self._on_playback, max_seconds, encode=encode, dtx_s=dtx_s)
        self._resampler: StreamResampler | None = None
        self._played: dict[int, float] = {}  # turn -> seconds sent, once the track has reported the turn
        self._waiting: dict[int, asyncio.Future] = {}

    # ------------------------------------------------------------ OutputSink

    def play(self, frame: AudioFrame) -> None:
        if self._resampler is None or self._resampler.in_rate != frame.sample_rate:
            self._resampler = StreamResampler(frame.sample_rate, RATE)
        self.track.write(frame.turn, to_int16(self._resampler.process(to_mono_float(frame.pcm))))

    async def finish(self, turn: int) -> float:
        if self._resampler is not None:
            self.track.write(turn, to_int16(self._resampler.process(np.zeros(0, np.float32), last=True)))
            self._resampler = None
        done = self._waiting[turn] = asyncio.get_running_loop().create_future()
        self.track.finish_turn(turn)  # may report at once, if every sample was already sent
        event = self.latency_event(turn)
        if event:
            self.send(event)
        try:
            await done
        finally:
            self._waiting.pop(turn, None)
        return self.played_s(turn)

    def flush(self) -> None:
        self._resampler = None
        self.track.flush()

    def played_s(self, turn: int) -> float:
        if turn in self._played:
            return self._played[turn]
        return self.track.sent.get(turn, 0) / RATE

    def hold(self, active: bool) -> None:
        self.track.hold(active)  # "clock": same-host benches time the silence from here
        self.send({"type": "hold", "active": active, "clock": now()})

    def show(self, frame: Frame) -> None:
        if isinstance(frame, SpeechStarted) and frame.rejoins:
            self.send({"type": "rejoin", "turn": frame.turn, "joins": frame.rejoins})
        elif isinstance(frame, Transcript):
            self.send({"type": "user", "text": frame.text, "final": frame.final, "turn": frame.turn})
            if frame.final and frame.text.strip():
                self.send({"type": "status", "state": "thinking", "turn": frame.turn})
        elif isinstance(frame, TextDelta):
            self.send({"type": "assistant_delta", "text": frame.text, "turn": frame.turn})
        elif isinstance(frame, TextDone):
            self.send({"type": "assistant_done", "text": frame.text, "turn": frame.turn})
        elif isinstance(frame, Played):
            self._played.pop(frame.turn, None)
            starved = self.track.starved.pop(frame.turn, 0) / RATE  # the reply's underruns (silence mid-turn)
            self.send({"type": "status", "state": "listening", "turn": frame.turn, "played_s": round(frame.seconds, 3),
                       "cut": frame.cut, "starved_s": round(starved, 3)})
        elif isinstance(frame, ErrorFrame):
            self.send({"type": "error", "message": f"{frame.stage}: {frame.message}", "turn": frame.turn})

    # ------------------------------------------------------------ the track's reports

    def _on_playback(self, what: str, turn: int, seconds: float) -> None:
        if what == "speaking":  # "clock": when the first frame went to aiortc (same-host benches compare it)
            self.send({"type": "status", "state": "speaking", "turn": turn, "clock": now()})
            return
        self._played[turn] = seconds  # "played" or "cut": the track forgets the turn's count now
        done = self._waiting.get(turn)
        if done is not None and not done.done():
            done.set_result(None)

    def latency_event(self, turn: int) -> dict[str, Any] | None:
        """The turn's latency segments and its spans (ms from the turn's start: the user's speech onset, or the
        earliest span of the turn if one began before it)."""
        tl = self.voice.latency.turns.get(turn)
        if tl is None or tl.total_ms is None:
            return None
        spans = [(s.name, s.track, s.start, s.end) for s in self.voice.trace.for_turn(turn)]
        spans += [(name, "latency", getattr(tl, a), getattr(tl, b)) for name, a, b in SEGMENTS
                  if getattr(tl, a) is not None and getattr(tl, b) is not None]
        t0 = min([s[2] for s in spans] + ([tl.speech_start] if tl.speech_start is not None else []))
        ms = lambda t: round((t - t0) * 1e3, 1)  # noqa: E731
        return {"type": "latency", "turn": turn, "total": round(tl.total_ms, 1),
                "segments": [[name, round(v, 1)] for name, v in tl.segments_ms()],
                "clock": {"speech_end": tl.speech_end, "audio_out": tl.audio_out},  # this host's monotonic clock
                "spans": [{"name": n, "track": k, "start_ms": ms(a), "end_ms": ms(b)} for n, k, a, b in spans]}
