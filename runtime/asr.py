"""The ASR stage: SpeechEnded (the utterance) in, Transcript out. The recogniser is injected."""

from __future__ import annotations

import asyncio
import inspect
from typing import AsyncIterator, Protocol

import numpy as np

from .frames import AudioFrame, Frame, PartialUtterance, SpeechEnded, Transcript
from .stage import Stage
from .threads import FOREGROUND, Cancelled, CancelToken


class Recognizer(Protocol):
    """Turns float32 mono 16 kHz audio into text ("" when it hears no speech)."""

    def transcribe(self, audio: np.ndarray) -> object: ...  # returns an object with a `.text` attribute
    # A recogniser may also accept `cancel=CancelToken` and stop early when it is set (raising Cancelled), and
    # `draft=True`: a partial transcript, shown while the user talks, that may be cheaper than a final one.


class ASRStage(Stage):
    """Transcribes each utterance in a worker thread.

It consumes the user's audio: the utterance frame (big) and the raw input audio are not passed on, so every
AudioFrame downstream of ASR is reply audio."""

    def __init__(self, recognizer: Recognizer, name: str = "asr") -> None:
        super().__init__(name)
        self.recognizer = recognizer
        self._partial: asyncio.Task | None = None
        self._partial_cancel: CancelToken | None = None
        self._partial_result: Transcript | None = None
        params = inspect.signature(recognizer.transcribe).parameters
        self._cancellable, self._drafts = "cancel" in params, "draft" in params

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if self._partial_result is not None:  # a finished partial rides out on the next frame
            result, self._partial_result = self._partial_result, None
            yield result
        if isinstance(frame, SpeechEnded):
            if self._partial is not None and not self._partial.done():
                if self._partial_cancel is not None:
                    self._partial_cancel.set()  # the final transcript supersedes it: stop it within milliseconds
                await asyncio.wait({self._partial})  # never two decodes at once: the final one would slow down
            self._partial_result = None
            if frame.audio.size == 0:
                yield Transcript(text="", turn=frame.turn)
                return
            FOREGROUND.enter()  # the listener waits for these words: background work (a read-ahead) gives way
            try:
                result = await self._transcribe(frame.audio)  # an Interrupt (the user resumed) cancels it
            finally:
                FOREGROUND.leave()
            yield Transcript(text=_text(result), turn=frame.turn)
        elif isinstance(frame, PartialUtterance):
            if self._partial is None or self._partial.done():  # busy: this one is dropped, a later one comes
                self._partial = asyncio.get_running_loop().create_task(self._transcribe_partial(frame))
        elif isinstance(frame, AudioFrame):
            return
        else:
            yield frame

    async def _transcribe(self, audio: np.ndarray, token: CancelToken | None = None, draft: bool = False) -> object:
        """Run the recogniser in a worker thread. If this task is cancelled (an Interrupt: a speculative end of turn
        that the user talked on through), the decode itself is stopped too, not left to burn a core."""
        kwargs = {"draft": True} if draft and self._drafts else {}
        if not self._cancellable:
            return await asyncio.to_thread(self.recognizer.transcribe, audio, **kwargs)
        token = token or CancelToken()
        try:
            return await asyncio.to_thread(self.recognizer.transcribe, audio, cancel=token, **kwargs)
        except asyncio.CancelledError:
            token.set()
            raise

    async def _transcribe_partial(self, frame: PartialUtterance) -> None:
        self._partial_cancel = token = CancelToken()
        try:
            result = await self._transcribe(frame.audio, token, draft=True)
        except Cancelled:
            return
        if _text(result):
            self._partial_result = Transcript(text=_text(result), final=False, turn=frame.turn)


def _text(result: object) -> str:
    return str(getattr(result, "text", result)).strip()
