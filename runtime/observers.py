"""Metrics computed from the frames crossing stage boundaries: never inside the stages themselves.

`LatencyObserver` follows each turn from the end of the user's speech to the first reply audio and splits that
voice-to-voice time into consecutive segments (end-of-speech detection, ASR, Thinker first token, Talker first
audio, the wait for the turn's commit) that sum exactly to the total. It writes them as spans on the trace's
"latency" track, under one "voice-to-voice" span, so the waterfall in Perfetto and the table printed by
`omnirt reply` are the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stage import PipelineObserver
from .frames import AudioFrame, Commit, Frame, SpeechDone, SpeechEnded, SpeechStarted, TextDelta, TextDone, Transcript
from .trace import Span, Trace

SEGMENTS = (
    ("end of speech detected", "speech_end", "eos_detected"),
    ("ASR done", "eos_detected", "asr_done"),
    ("Thinker first token", "asr_done", "first_token"),
    ("Talker first audio", "first_token", "first_audio"),
    ("held for commit", "first_audio", "audio_out"),
)
_ATTEMPT = ("asr_done", "first_token", "first_audio", "thinker_done", "talker_done", "audio_out")
# The milestone each one waits for. A redone attempt (a speculation the user spoke on after) resets them when its
# SpeechEnded leaves the VAD, but the Interrupt that stops the old attempt reaches the later stages a few loop turns
# after that: a token or audio of the old attempt made in between would otherwise be taken as the new one's (and
# come before its transcript). The ASR cannot be late so: the Interrupt cancels its work before the SpeechEnded
# is sent. Waiting for the predecessor keeps each attempt's milestones in order.
_AFTER = {"first_token": "asr_done", "thinker_done": "asr_done", "first_audio": "first_token",
          "talker_done": "asr_done", "audio_out": "first_audio"}


@dataclass
class TurnLatency:
    """Monotonic times (s) of one turn's milestones; None until seen."""

    turn: int
    speech_start: float | None = None
    speech_end: float | None = None  # when the last speech sample reached the pipeline
    eos_detected: float | None = None  # when the VAD sent the utterance on (at a pause when speculating)
    committed: float | None = None  # when the hangover confirmed the end of the turn
    asr_done: float | None = None
    first_token: float | None = None
    first_audio: float | None = None
    thinker_done: float | None = None
    talker_done: float | None = None
    audio_out: float | None = None  # when the first reply audio left the pipeline for the transport

    @property
    def complete(self) -> bool:
        return all(getattr(self, a) is not None for _, a, b in SEGMENTS for a in (a, b))

    def segments_ms(self) -> list[tuple[str, float]]:
        """Consecutive segments, each measured from the previous milestone; they sum to `total_ms`."""
        out = []
        for name, a, b in SEGMENTS:
            ta, tb = getattr(self, a), getattr(self, b)
            if ta is not None and tb is not None:
                out.append((name, (tb - ta) * 1e3))
        return out

    @property
    def total_ms(self) -> float | None:
        if self.speech_end is None or self.audio_out is None:
            return None
        return (self.audio_out - self.speech_end) * 1e3

    def as_dict(self) -> dict[str, float | None]:
        d: dict[str, float | None] = {name: round(ms, 2) for name, ms in self.segments_ms()}
        total = self.total_ms
        d["total"] = None if total is None else round(total, 2)
        return d


class LatencyObserver(PipelineObserver):
    """Pipeline observer collecting per-turn milestones; `finish(trace)` writes them as spans."""

    def __init__(self) -> None:
        self.turns: dict[int, TurnLatency] = {}

    def _turn(self, n: int) -> TurnLatency:
        return self.turns.setdefault(n, TurnLatency(n))

    @staticmethod
    def _first(obj: TurnLatency, attr: str, t: float) -> None:
        after = _AFTER.get(attr)
        if getattr(obj, attr) is None and (after is None or getattr(obj, after) is not None):
            setattr(obj, attr, t)

    def on_output(self, stage: str, frame: Frame, source: Frame, started: float, t: float) -> None:
        if frame is source:
            return  # passed through; milestones are when a frame is produced
        tl = self._turn(frame.turn)
        if isinstance(frame, SpeechStarted):
            self._first(tl, "speech_start", t)
        elif isinstance(frame, SpeechEnded):  # a new attempt at the turn (speculation may redo it)
            tl.speech_end, tl.eos_detected = frame.speech_end_wall, t
            for attr in _ATTEMPT:
                setattr(tl, attr, None)
        elif isinstance(frame, Commit):
            tl.committed = t
        elif isinstance(frame, Transcript) and frame.final:
            self._first(tl, "asr_done", t)
        elif isinstance(frame, TextDelta):
            self._first(tl, "first_token", t)
        elif isinstance(frame, TextDone):
            self._first(tl, "thinker_done", t)
        elif isinstance(frame, AudioFrame) and frame.turn > 0:
            self._first(tl, "first_audio", t)
        elif isinstance(frame, SpeechDone):
            self._first(tl, "talker_done", t)

    def on_exit(self, frame: Frame, t: float) -> None:
        if isinstance(frame, AudioFrame) and frame.turn > 0:
            self._first(self._turn(frame.turn), "audio_out", t)

    def finish(self, trace: Trace) -> None:
        """Add to the trace, per complete turn, a 'voice-to-voice' span with the latency segments nested in it,
        and a 'turn' span enclosing every span of the turn."""
        for n, tl in sorted(self.turns.items()):
            if n == 0:
                continue
            if tl.complete:
                trace.add(Span("voice-to-voice", "latency", tl.speech_end, tl.audio_out, n,
                                        args={"total_ms": round(tl.total_ms or 0.0, 3)}))
                for name, a, b in SEGMENTS:
                    trace.add(Span(name, "latency", getattr(tl, a), getattr(tl, b), n))
            spans = trace.for_turn(n)
            if spans:
                trace.add(Span("turn", "turns", min(s.start for s in spans), max(s.end for s in spans), n))
