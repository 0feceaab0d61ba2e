"""Vision: camera frames in, a short text description of the latest one out, off the audio's critical path.

Frames are never queued: the stage keeps only the newest one and describes it in a background task when the last
description is done and `interval` has passed; the interval adapts to what a description costs (a slow machine
samples less often). Results ride out on the next frame passing through, as a `VisionContext`, so the audio behind
never waits for a picture. The describer is injected: OCR text today (models/ocr.py), a vision encoder later;
`omnirt serve` gives one that works in worker processes (models/vision.py CameraDescriber says why).

The voice path comes first: while the user speaks (ASR, the Thinker reading ahead) and while a turn is answered,
recognition, the Thinker and the Talker want every core, and even a lowest-priority process on the other core slows
them (it shares caches and memory bandwidth, and on a virtual machine perhaps a physical core). So vision holds
still from the first loud microphone frame until `turn_hold_s` after the speech: no description starts, and a
describer that can `pause()` (the worker process) is stopped where it is. The camera is read in the pauses.

Background reading is best effort: at the lowest priority on a machine kept busy it may fall behind the view. A
question about the view ("what does this say?") must not be answered from an old picture or none, so the Thinker
calls `look(question)` before answering. For a question about the view (`asks_about_view`) it returns at once when
the description in hand is of the view as it still is, and otherwise describes the newest frame now, hold lifted,
while the user waits for exactly that.

Descriptions are waited for on a thread of the stage's own, not asyncio's default pool: a description can take
seconds when the machine is busy (by design, for a low-priority worker), and ASR runs on the default pool, which
has only a few threads on a small machine. A describer that raises costs one logged line and a pause, never the
session.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from typing import AsyncIterator, Callable, Protocol

import numpy as np

from .clock import now
from .frames import AudioFrame, EndOfStream, Frame, VideoFrame, VisionContext
from .stage import Stage
from .threads import IdleThreadPool

log = logging.getLogger("omnirt.vision")
_POOLS: dict[bool, IdleThreadPool] = {}

# Words by which a question points at what the camera shows. A false hit costs one fresh look, and only when the
# view has changed since it was last read; a miss answers from the background description, as before.
_VIEW_WORDS = re.compile(r"\b(see|seeing|seen|look|looks|looking|show|shows|showing|read|reads|written|says?|"
                         r"camera|picture|photo|image|holding|hold|sign|card|label|this|these|here)\b", re.I)


def asks_about_view(text: str) -> bool:
    """Whether a question is about what the camera shows ("what does this say?", "what am I holding?")."""
    return bool(_VIEW_WORDS.search(text))


def _pool(urgent: bool = False) -> IdleThreadPool:
    """One thread for every session's background descriptions (a describer serves one frame at a time anyway),
    and another for the ones a turn waits for, which must not queue behind them."""
    if urgent not in _POOLS:
        _POOLS[urgent] = IdleThreadPool(1, "omnirt-vision-now" if urgent else "omnirt-vision")
    return _POOLS[urgent]


class Describer(Protocol):
    """Turns an RGB image into a short text for the Thinker ("" when there is nothing to say). It may also have
    `pause()` and `resume()` (counted: resumed when every pause is), so that the stage can stop a description in
    progress while a turn is answered; `last_cost_s`, the CPU time of its last description (else the stage
    times it by the clock, which counts waiting for a CPU and start-up too); and `describe_now(image)`, the same
    for a turn that waits on it, at the voice path's priority (models/vision.py CameraDescriber)."""

    def describe(self, image: np.ndarray) -> str: ...


@dataclass(frozen=True)
class VisionOptions:
    """min_interval_s: shortest time between two descriptions.
    busy_factor: the next description waits at least this many times the last one's cost (adaptive rate).
    change_threshold: mean absolute pixel change (0-255, on a 32x32 thumbnail) below which a frame counts as
        unchanged and is not described again.
    retry_s: after a describer failed, the next try waits this long.
    speech_level: RMS level (full scale 1.0) above which a microphone frame counts as the user's voice.
    speech_gap_s: that much quiet after it ends the speech (shorter pauses are inside a sentence).
    turn_hold_s: vision holds still while the user speaks and this long after (the turn is being answered);
        0: never."""

    min_interval_s: float = 1.0
    busy_factor: float = 2.0
    change_threshold: float = 4.0
    retry_s: float = 5.0
    speech_level: float = 0.01
    speech_gap_s: float = 0.25
    turn_hold_s: float = 2.0


def _thumb(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ys, xs = np.linspace(0, h - 1, 32).astype(int), np.linspace(0, w - 1, 32).astype(int)
    return image[np.ix_(ys, xs)].astype(np.float32).mean(axis=-1)


class VisionStage(Stage):
    def __init__(self, describer: Describer, options: VisionOptions = VisionOptions(), name: str = "vision") -> None:
        super().__init__(name)
        self.describer, self.options = describer, options
        self._latest: VideoFrame | None = None  # not yet looked at
        self._newest: VideoFrame | None = None  # the camera's last frame, looked at or not
        self._task: asyncio.Task | None = None
        self._next_due = 0.0
        self._last_thumb: np.ndarray | None = None  # of the frame described last (or being described)
        self._seen: tuple[VisionContext, np.ndarray, tuple[int, ...]] | None = None  # the last description
        self._ready: list[VisionContext] = []
        self.described = 0
        self.dropped = 0
        self.failed = 0
        self.looks = 0
        self._last_error = ""
        self._loud_at: float | None = None  # the last frame of the user's voice, while they speak
        self._held_until = 0.0
        self._paused = False
        self._resume: asyncio.TimerHandle | None = None
        self.holds = 0

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, AudioFrame) and self.options.turn_hold_s > 0:
            self._listen(frame)
        if isinstance(frame, VideoFrame):
            if self._latest is not None:
                self.dropped += 1  # superseded before it was looked at
            self._latest = self._newest = frame
            self._maybe_start()
        while self._ready:
            yield self._ready.pop(0)
        if isinstance(frame, EndOfStream):
            self._release()
            if self._task:
                self._task.cancel()
        if not isinstance(frame, VideoFrame):
            yield frame

    async def look(self, question: str) -> VisionContext | None:
        """What the camera shows now, when `question` is about it (else None at once): the last description while
        the view is as it was then, else a description of the newest frame made now (`describe_now` where the
        describer has one), or None without a camera or when it fails. The caller bounds the wait."""
        frame = self._newest
        if frame is None or not asks_about_view(question):
            return None
        if self._current(frame):
            return self._confirmed()
        self.looks += 1
        log.debug("%s: %r is about the view, which has changed since it was read: reading it now", self.name,
                  question[:60])
        self._release()  # the user is waiting for this description: nothing holds it back
        urgent = getattr(self.describer, "describe_now", None)
        if urgent is None and self._task is not None and not self._task.done():
            await asyncio.wait({self._task})  # one describer, one frame at a time
            if self._current(frame):
                return self._confirmed()
        self._latest = None
        context = await self._describe(frame, _thumb(frame.image), urgent)
        if self.options.turn_hold_s > 0:
            self._hold(now() + self.options.turn_hold_s)  # and now the answer is being made
        return context

    def _confirmed(self) -> VisionContext:
        """The last description, stamped now: the view it tells of is still the one in sight. Why: the Thinker
        leaves out camera text older than its vision_max_age_s, and a view that does not change (a card held
        still, a sign) is described once and never again, so its description would age out while still true."""
        return replace(self._seen[0], ts=now())  # type: ignore[index]

    def _current(self, frame: VideoFrame) -> bool:
        """Whether the last description still tells what `frame` shows: a frame no older than it, or an unchanged
        view at the same size (text that was illegible stays so; a sharper frame is larger or changes pixels)."""
        if self._seen is None:
            return False
        context, thumb, shape = self._seen
        if context.image_ts >= _taken(frame):
            return True
        return bool(context.text) and frame.image.shape == shape and \
            np.abs(_thumb(frame.image) - thumb).mean() < self.options.change_threshold

    def _listen(self, frame: AudioFrame) -> None:
        """Follow the user's voice by level (this stage sees the microphone before the VAD does): hold still from
        the first loud frame until turn_hold_s after the speech."""
        pcm = frame.pcm.astype(np.float32)
        loud = pcm.size and float(np.sqrt(np.mean(pcm * pcm))) / 32768 > self.options.speech_level
        t = now()
        if loud:
            if self._loud_at is None:
                self._hold(float("inf"))  # until the speech ends
            self._loud_at = t
        elif self._loud_at is not None and t - self._loud_at > self.options.speech_gap_s:
            self._loud_at = None
            self._hold(t + self.options.turn_hold_s)

    def _hold(self, until: float) -> None:
        self.holds += 1
        self._held_until = until
        pause = getattr(self.describer, "pause", None)
        if pause is not None and not self._paused and self._task is not None and not self._task.done():
            pause()
            self._paused = True
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if until != float("inf"):
            self._resume = asyncio.get_running_loop().call_later(max(0.0, until - now()), self._release)

    def _release(self) -> None:
        self._held_until = 0.0
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._paused:
            self._paused = False
            self.describer.resume()  # type: ignore[attr-defined]
        self._maybe_start()

    def _maybe_start(self) -> None:
        if self._task and not self._task.done():
            return
        if self._latest is None or now() < self._next_due or now() < self._held_until:
            return
        frame, self._latest = self._latest, None
        thumb = _thumb(frame.image)
        if self._last_thumb is not None and np.abs(thumb - self._last_thumb).mean() < self.options.change_threshold:
            return
        self._start(frame, thumb)

    def _start(self, frame: VideoFrame, thumb: np.ndarray) -> None:
        self._last_thumb = thumb
        self._task = asyncio.get_running_loop().create_task(self._describe(frame, thumb))

    async def _describe(self, frame: VideoFrame, thumb: np.ndarray, urgent: Callable[[np.ndarray], str] | None = None
                        ) -> VisionContext | None:
        t = now()
        try:
            text = await asyncio.get_running_loop().run_in_executor(
                _pool(urgent is not None), urgent or self.describer.describe, frame.image)
        except Exception as err:  # noqa: BLE001 - vision is a nicety: the session goes on without it
            self.failed += 1
            self._next_due = now() + self.options.retry_s
            self._last_thumb = None  # describe this view again once the describer is back
            message = f"{type(err).__name__}: {err}".splitlines()[0]
            if message != self._last_error:  # one line per new problem, not one per frame
                log.warning("%s: no description (%s)", self.name, message)
            self._last_error = message
            return None
        self._last_error = ""
        if urgent is None:
            cost = getattr(self.describer, "last_cost_s", None)
            cost = now() - t if cost is None else cost
            self._next_due = now() + max(self.options.min_interval_s, self.options.busy_factor * cost)
        else:
            self._last_thumb = thumb  # the background need not read this view again
        self.described += 1
        context = VisionContext(text=text.strip(), image_ts=_taken(frame), turn=frame.turn)
        log.debug("%s: %r, %.0f ms after it was asked for%s", self.name, context.text[:60], 1000 * (now() - t),
                  " (a turn waited for it)" if urgent else "")
        if self._seen is None or context.image_ts >= self._seen[0].image_ts:
            self._seen = (context, thumb, frame.image.shape)
        self._ready.append(context)
        return context


def _taken(frame: VideoFrame) -> float:
    return frame.capture_ts or frame.ts
