"""Vision: camera frames in, a short text description of the latest one out, off the audio's critical path.

Frames are never queued: the stage keeps only the newest one and describes it in a background task when the last
description is done and `interval` has passed; the interval adapts to how long a description takes (a slow machine
samples less often). Results ride out on the next frame passing through, as a `VisionContext`, so the audio behind
never waits for a picture. The describer is injected: OCR text today (models/ocr.py), a vision encoder later;
`omnirt serve` gives one that works in a low-priority process (models/vision.py WorkerDescriber says why).

Descriptions are waited for on a thread of the stage's own, not asyncio's default pool: a description can take
seconds when the machine is busy (by design, for a low-priority worker), and ASR runs on the default pool, which
has only a few threads on a small machine. A describer that raises costs one logged line and a pause, never the
session.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AsyncIterator, Protocol

import numpy as np

from .clock import now
from .frames import EndOfStream, Frame, VideoFrame, VisionContext
from .stage import Stage

log = logging.getLogger("omnirt.vision")
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """One thread for every session's descriptions: a describer serves one frame at a time anyway."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnirt-vision")
    return _POOL


class Describer(Protocol):
    """Turns an RGB image into a short text for the Thinker ("" when there is nothing to say)."""

    def describe(self, image: np.ndarray) -> str: ...


@dataclass(frozen=True)
class VisionOptions:
    """min_interval_s: shortest time between two descriptions.
    busy_factor: the next description waits at least this many times the last one's duration (adaptive rate).
    change_threshold: mean absolute pixel change (0-255, on a 32x32 thumbnail) below which a frame counts as
        unchanged and is not described again.
    retry_s: after a describer failed, the next try waits this long."""

    min_interval_s: float = 1.0
    busy_factor: float = 2.0
    change_threshold: float = 4.0
    retry_s: float = 5.0


def _thumb(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ys, xs = np.linspace(0, h - 1, 32).astype(int), np.linspace(0, w - 1, 32).astype(int)
    return image[np.ix_(ys, xs)].astype(np.float32).mean(axis=-1)


class VisionStage(Stage):
    def __init__(self, describer: Describer, options: VisionOptions = VisionOptions(), name: str = "vision") -> None:
        super().__init__(name)
        self.describer, self.options = describer, options
        self._latest: VideoFrame | None = None
        self._task: asyncio.Task | None = None
        self._next_due = 0.0
        self._last_thumb: np.ndarray | None = None
        self._ready: list[VisionContext] = []
        self.described = 0
        self.dropped = 0
        self.failed = 0
        self._last_error = ""

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, VideoFrame):
            if self._latest is not None:
                self.dropped += 1  # superseded before it was looked at
            self._latest = frame
            self._maybe_start()
        while self._ready:
            yield self._ready.pop(0)
        if isinstance(frame, EndOfStream) and self._task:
            self._task.cancel()
        if not isinstance(frame, VideoFrame):
            yield frame

    def _maybe_start(self) -> None:
        if self._task and not self._task.done():
            return
        if self._latest is None or now() < self._next_due:
            return
        frame, self._latest = self._latest, None
        thumb = _thumb(frame.image)
        if self._last_thumb is not None and np.abs(thumb - self._last_thumb).mean() < self.options.change_threshold:
            return
        self._last_thumb = thumb
        self._task = asyncio.get_running_loop().create_task(self._describe(frame))

    async def _describe(self, frame: VideoFrame) -> None:
        t = now()
        try:
            text = await asyncio.get_running_loop().run_in_executor(_pool(), self.describer.describe, frame.image)
        except Exception as err:  # noqa: BLE001 - vision is a nicety: the session goes on without it
            self.failed += 1
            self._next_due = now() + self.options.retry_s
            self._last_thumb = None  # describe this view again once the describer is back
            message = f"{type(err).__name__}: {err}".splitlines()[0]
            if message != self._last_error:  # one line per new problem, not one per frame
                log.warning("%s: no description (%s)", self.name, message)
            self._last_error = message
            return
        self._last_error = ""
        took = now() - t
        self._next_due = now() + max(self.options.min_interval_s, self.options.busy_factor * took)
        self.described += 1
        self._ready.append(VisionContext(text=text.strip(), image_ts=frame.capture_ts or frame.ts,
                                         turn=frame.turn))
