"""`omnirt reply question.wav answer.wav`: one spoken turn from a file, fully offline, with a latency table.

file -> VAD -> ASR -> Thinker -> Talker -> file. Every utterance found in the input is a turn; the answers are
written one after another to the output file with a short pause between them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtime.frames import ErrorFrame, Frame, Played, SpeechDone, SpeechStarted, TextDone, Transcript
from ..runtime.playout import drive
from ..runtime.session import Components, VoiceSession
from ..runtime.trace import Trace
from ..runtime.transports.file import WavWriter, check_output, probe_wav, wav_frames
from .voice import DEFAULT, VoiceConfig, load_components, session_options


class NoSpeechError(RuntimeError):
    """The input holds no speech the recogniser could read."""


@dataclass
class TurnResult:
    turn: int
    transcript: str = ""
    answer: str = ""
    spoken: str = ""
    latency: dict[str, float | None] = field(default_factory=dict)
    played_s: float = 0.0  # seconds of its reply audio written (a file plays it all at once)
    rejoined_by: int = 0  # the turn that went on this one after a pause (SpeechStarted.rejoins): withdrawn
    reply_heard_s: float = 0.0  # ... by when its reply, played in real time, would have been heard this long


@dataclass
class ReplyResult:
    turns: list[TurnResult]
    errors: list[str]
    trace: Trace
    audio_seconds: float


class _AnswerFile(WavWriter):
    """The answers go to the WAV file; what each turn heard, answered and spoke goes to `turns`."""

    def __init__(self, path: Path, rate: int, turns: dict[int, TurnResult], errors: list[str]) -> None:
        super().__init__(path, rate)
        self.turns, self.errors = turns, errors

    def show(self, frame: Frame) -> None:
        super().show(frame)
        t = self.turns.setdefault(frame.turn, TurnResult(frame.turn)) if frame.turn else None
        if isinstance(frame, Transcript) and t:
            t.transcript = frame.text
        elif isinstance(frame, TextDone) and t:
            t.answer = frame.text
        elif isinstance(frame, SpeechDone) and t:
            t.spoken = frame.text
        elif isinstance(frame, Played) and t:
            t.played_s = frame.seconds
        elif isinstance(frame, SpeechStarted) and frame.rejoins:
            joined = self.turns.setdefault(frame.rejoins, TurnResult(frame.rejoins))
            joined.rejoined_by, joined.reply_heard_s = frame.turn, frame.reply_heard_s
        elif isinstance(frame, ErrorFrame):
            self.errors.append(f"{frame.stage}: {frame.message}")


async def reply(question: Path, answer: Path, config: VoiceConfig = DEFAULT,
                components: Components | None = None, trace_dir: Path | None = None,
                history: list[tuple[str, str]] | None = None) -> ReplyResult:
    """history: (question, answer) pairs the conversation had before the file is heard (VoiceSession.restore)."""
    probe_wav(question)  # bad input, or an output that cannot be written, fails before any model loads
    check_output(answer, question)
    components = components or await asyncio.to_thread(load_components, config)
    session = VoiceSession(components, session_options(config))
    session.restore(history or [])
    turns: dict[int, TurnResult] = {}
    errors: list[str] = []
    rate = components.synthesizer.sample_rate
    with _AnswerFile(answer, rate, turns, errors) as out:
        async with session as pipeline:
            await drive(pipeline, wav_frames(question, realtime=config.realtime), out)
        audio_seconds = out.samples / rate
    trace = session.finish_trace()
    for n, t in turns.items():
        if n in session.latency.turns:
            t.latency = session.latency.turns[n].as_dict()
    if trace_dir:
        session.write_trace(trace_dir)
    spoken = [t for t in turns.values() if t.transcript]
    if not spoken and not errors:
        answer.unlink(missing_ok=True)  # an empty answer file would only mislead
        raise NoSpeechError(f"no speech found in {question.name}")
    return ReplyResult(sorted(spoken, key=lambda t: t.turn), errors, trace, audio_seconds)


def latency_table(rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for col in rows[0]:
        table.add_column(col, justify="left" if col == "stage" else "right")
    for row in rows:
        table.add_row(*[f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()])
    return table
