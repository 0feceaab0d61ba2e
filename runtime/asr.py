"""The ASR stage: SpeechEnded (the utterance) in, Transcript out. The recogniser is injected."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Protocol

import numpy as np

from .frames import AudioFrame, Frame, SpeechEnded, Transcript
from .stage import Stage


class Recognizer(Protocol):
    """Turns float32 mono 16 kHz audio into text ("" when it hears no speech)."""

    def transcribe(self, audio: np.ndarray) -> object: ...  # returns an object with a `.text` attribute


class ASRStage(Stage):
    """Transcribes each utterance in a worker thread.

It consumes the user's audio: the utterance frame (big) and the raw input audio are not passed on, so every
AudioFrame downstream of ASR is reply audio."""

    def __init__(self, recognizer: Recognizer, name: str = "asr") -> None:
        super().__init__(name)
        self.recognizer = recognizer

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, SpeechEnded):
            if frame.audio.size == 0:
                yield Transcript(text="", turn=frame.turn)
                return
            result = await asyncio.to_thread(self.recognizer.transcribe, frame.audio)
            yield Transcript(text=str(getattr(result, "text", result)).strip(), turn=frame.turn)
        elif isinstance(frame, AudioFrame):
            return
        else:
            yield frame
