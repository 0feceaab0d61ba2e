"""Turn-taking at the output: nothing of a turn's reply reaches the user before the turn is committed.

With speculation (VADOptions.speculate_ms) the reply is computed while the VAD is still waiting out its hangover.
`TurnGate`, the last stage, holds that turn's final transcript, text and audio (live partial transcripts pass) until the VAD's `Commit` arrives (a control
frame: it overtakes the data still being produced), then releases them in order; an `Interrupt` (the user spoke
again, or barged in) drops what it holds. Frames of a committed turn pass straight through.
"""

from __future__ import annotations

from typing import AsyncIterator

from .frames import AudioFrame, Commit, Frame, Interrupt, SpeechDone, TextDelta, TextDone, Transcript
from .stage import Stage

HELD = (Transcript, TextDelta, TextDone, AudioFrame, SpeechDone)


class TurnGate(Stage):
    def __init__(self, name: str = "gate") -> None:
        super().__init__(name)
        self.committed: set[int] = set()
        self.held: dict[int, list[Frame]] = {}

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, Commit):
            queue = self.held.setdefault(frame.turn, [])
            while queue:  # frames that arrive while releasing join the queue: order is kept
                yield queue.pop(0)
            self.held.pop(frame.turn, None)
            self.committed = {t for t in self.committed if t > frame.turn - 8} | {frame.turn}
            yield frame
        elif isinstance(frame, Interrupt):
            self.held.clear()
            yield frame
        elif (isinstance(frame, HELD) and frame.turn > 0 and frame.turn not in self.committed
              and not (isinstance(frame, Transcript) and not frame.final)):  # partials are live feedback
            self.held.setdefault(frame.turn, []).append(frame)
        else:
            yield frame
