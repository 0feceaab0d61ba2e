"""Playout: where a session's reply meets its listener, written once for every output.

An `OutputSink` is the far end of a session: a browser over WebRTC, the local speaker, a WAV file, a list in a test.
It knows how to play audio, drop it, and hold it; it does not decide when. `Playout` reads the pipeline's output and
decides, the same way for every sink: which turn is speaking, that an interrupted turn's late audio is stale, that an
`Interrupt` flushes what is queued, that the user's first sound (`UserSound`) holds the reply, that `SpeechDone`
ends a turn. When a turn's first audio goes to the sink it sends a `Playing` control frame back to the pipeline's
head (a stage before the reply then knows the user is listening to one), and when a turn has been played (all of
it, or up to a barge-in) a `Played` with the words the user heard, so the conversation remembers what was said,
not what was written; each frame then comes out of the pipeline like any other and the sink shows it.

`drive(pipeline, source, sink)` is the whole loop: feed the source, play out the output, until the stream ends.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import AsyncIterable

from .frames import (AudioFrame, EndOfStream, ErrorFrame, Frame, Interrupt, Played, Playing, SpeechDone, TextDelta,
                     TextDone, Transcript, UserSound)
from .stage import Pipeline

log = logging.getLogger(__name__)


class OutputFailed(Exception):
    """Raised by a sink that can take no more (a full disk): it ends the playout, where any other error costs the
    frame it happened on."""


class OutputSink(ABC):
    """One output of a session. Playout calls `play`, `finish`, `flush` and `hold`; `show` sees every frame that
    leaves the pipeline (transcripts, text, errors, `Played`) for a sink that displays or records them."""

    @abstractmethod
    def play(self, frame: AudioFrame) -> None:
        """Queue reply audio; it must not block (the pipeline's output waits on it)."""

    @abstractmethod
    async def finish(self, turn: int) -> float:
        """No more audio comes for `turn`: return once its last sample has been heard, with the seconds heard."""

    @abstractmethod
    def flush(self) -> None:
        """Drop every queued sample now (barge-in): the user must hear silence within a frame or two."""

    @abstractmethod
    def played_s(self, turn: int) -> float:
        """Seconds of the turn's reply heard so far."""

    def hold(self, active: bool) -> None:
        """Play silence but keep the queue (active) or play on from where it stopped (the sound was nothing)."""

    def show(self, frame: Frame) -> None:
        """Every frame that leaves the pipeline, in order, after Playout has acted on it."""


class SpokenText:
    """Which words went with which stretch of each turn's reply audio, built from the `clause` the Talker puts on
    the first frame of each clause. Pure bookkeeping: no I/O, tested on fixtures."""

    def __init__(self) -> None:
        self.clauses: dict[int, list[tuple[str, float]]] = {}  # turn -> (clause, seconds of its audio)

    def add(self, frame: AudioFrame) -> None:
        clauses = self.clauses.setdefault(frame.turn, [])
        if frame.clause or not clauses:
            clauses.append((frame.clause, 0.0))
        text, seconds = clauses[-1]
        clauses[-1] = (text, seconds + frame.duration)

    def drop(self, turn: int) -> None:
        self.clauses.pop(turn, None)

    def heard(self, turn: int, seconds: float) -> str:
        """The words of a turn heard within its first `seconds` of audio (a cut clause is cut by its share of the
        words). No mark is added for the cut: the embedded model copies a marked cut ("A honey bee...") into its
        next answers, where the bare words left no stubs."""
        words: list[str] = []
        t = 0.0
        for clause, dur in self.clauses.get(turn, []):
            if seconds >= t + dur - 1e-3:
                words.append(clause)
            elif seconds > t and dur > 0:
                parts = clause.split()
                n = int(len(parts) * (seconds - t) / dur)
                if n:
                    words.append(" ".join(parts[:n]))
                break
            else:
                break
            t += dur
        return " ".join(w for w in words if w)


class Playout:
    """Acts on a pipeline's output for one sink (see the module docstring). `interrupt` is the user's button."""

    def __init__(self, pipeline: Pipeline, sink: OutputSink) -> None:
        self.pipeline, self.sink = pipeline, sink
        self.spoken = SpokenText()
        self.reply_turn = 0  # the latest turn whose reply is under way (transcribed, answered or spoken)
        self.stale_through = 0  # reply audio of turns up to this one is stale: they were interrupted
        self._open: set[int] = set()  # turns with audio handed to the sink and not yet reported as played
        self._finishing: set[asyncio.Task] = set()
        self._ended = False

    async def run(self) -> None:
        """Play out the pipeline's output until EndOfStream; turns still playing are waited for."""
        try:
            async for frame in self.pipeline.frames():
                try:
                    self.on_frame(frame)
                except OutputFailed:
                    raise
                except Exception as err:  # noqa: BLE001 - one frame the sink could not take must not end the session
                    log.exception("output of a %s frame failed", frame.kind)
                    self._tell_sink(ErrorFrame(stage="output", message=f"{type(err).__name__}: {err}".splitlines()[0],
                                               turn=frame.turn))
            if self._finishing:
                await asyncio.gather(*self._finishing, return_exceptions=True)
        finally:
            self._ended = True
            for task in self._finishing:
                task.cancel()

    def on_frame(self, frame: Frame) -> None:
        if isinstance(frame, (TextDelta, TextDone, SpeechDone, AudioFrame)) or (
                isinstance(frame, Transcript) and frame.final):  # not SpeechStarted: that is the user's next turn
            self.reply_turn = max(self.reply_turn, frame.turn)
        if isinstance(frame, AudioFrame):
            if frame.turn > self.stale_through:
                self.spoken.add(frame)
                if frame.turn not in self._open and not self._ended:
                    self.pipeline.send_control(Playing(turn=frame.turn))
                self._open.add(frame.turn)
                self.sink.play(frame)
        elif isinstance(frame, SpeechDone):
            if frame.turn > self.stale_through and frame.turn in self._open:
                task = asyncio.get_running_loop().create_task(self._finish(frame.turn))
                self._finishing.add(task)
                task.add_done_callback(self._finishing.discard)
        elif isinstance(frame, Interrupt):
            if frame.reason == "resume":  # the turn will be redone: nothing of this attempt was heard
                self.spoken.drop(frame.turn)
            self._cut(max(self._open, default=0))
        elif isinstance(frame, UserSound):
            self.sink.hold(frame.active)
        elif isinstance(frame, EndOfStream):
            self._ended = True
        self.sink.show(frame)

    def _tell_sink(self, frame: Frame) -> None:
        try:
            self.sink.show(frame)
        except Exception:  # noqa: BLE001
            log.exception("the output could not show an error")

    def interrupt(self, reason: str = "button") -> None:
        """Silence the reply now and cancel the turn's work in the pipeline (the user asked, not the VAD)."""
        turn = self.reply_turn
        self._cut(turn)
        self.pipeline.send_control(Interrupt(reason=reason, turn=turn, keeps_later=True))

    def _cut(self, through: int) -> None:
        """Drop queued audio; every turn up to `through` is stale, and each one that was heard is reported."""
        self.sink.flush()
        self.stale_through = max(self.stale_through, through)
        for turn in sorted(t for t in self._open if t <= through):
            self._report(turn, self.sink.played_s(turn), cut=True)

    async def _finish(self, turn: int) -> None:
        seconds = await self.sink.finish(turn)
        if turn in self._open:  # else a barge-in reported it first
            self._report(turn, seconds, cut=False)

    def _report(self, turn: int, seconds: float, cut: bool) -> None:
        self._open.discard(turn)
        heard = self.spoken.heard(turn, seconds)
        self.spoken.drop(turn)
        played = Played(turn=turn, seconds=seconds, heard=heard, cut=cut)
        if self._ended:  # the pipeline is done with frames: the sink still hears of it
            self.sink.show(played)
        else:
            self.pipeline.send_control(played)


async def drive(pipeline: Pipeline, source: AsyncIterable[Frame], sink: OutputSink,
                playout: Playout | None = None) -> None:
    """Feed `source` into the pipeline and play its output into `sink`. When the source ends, EndOfStream follows
    it and what was said so far is played out; when the source fails (a microphone that died), its error is raised
    at once, without waiting for the output."""
    playout = playout or Playout(pipeline, sink)

    async def feed() -> None:
        async for frame in source:
            await pipeline.push(frame)
        await pipeline.push(EndOfStream())

    loop = asyncio.get_running_loop()
    feeder = loop.create_task(feed(), name="playout:feed")
    player = loop.create_task(playout.run(), name="playout:run")
    try:
        done, _ = await asyncio.wait({feeder, player}, return_when=asyncio.FIRST_COMPLETED)
        if feeder in done and feeder.exception() is None and player not in done:
            await asyncio.wait({player})
        for task in (feeder, player):
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in (feeder, player):
            task.cancel()
        await asyncio.gather(feeder, player, return_exceptions=True)
