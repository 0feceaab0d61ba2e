"""Stage (one async verb) and Pipeline (bounded queues, control frames overtake data, cancellation).

A stage is an async generator method, `process(frame)`, that yields zero or more frames for each frame it gets.
It yields the frames it does not consume so they travel on (`Stage.process` passes everything through by default).
The pipeline runs every stage in its own task with a bounded inbox, so a slow stage pushes back on the ones before it.
Control frames never wait behind data: a stage gets each one at once, even while it is busy with a data frame
(a commit reaches the end of the pipeline while the Thinker is still generating). An `Interrupt` also cancels the
stage's work in flight and drops its queued data: a cancelled Talker stops producing audio without waiting for the
sentence it was on. Control frames keep their order among themselves. A stage that raises loses only the frame it was on: the pipeline emits
an `ErrorFrame` and the session goes on.

Nothing here measures anything: `PipelineObserver`s see every frame enter and leave every stage and derive spans and
metrics from that (see trace.py and observers.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import AsyncIterable, AsyncIterator, Iterable, TypeVar

from .clock import now
from .frames import EndOfStream, ErrorFrame, Frame, Interrupt, is_control


V = TypeVar("V")
KEEP_TURNS = 8  # a stage's per-turn records older than this many turns are never read again


def recent_turns(by_turn: dict[int, V], turn: int, keep: int = KEEP_TURNS) -> dict[int, V]:
    """`by_turn` less the records of turns older than the last `keep` before and at `turn`: what a stage that
    keeps something per turn holds on to, so that a long session does not grow it by one entry a turn."""
    return {t: v for t, v in by_turn.items() if t > turn - keep}


def _cancelling() -> int:
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


class Stage:
    """One step of a pipeline. Override `process`; keep state on the instance; never block the event loop
    (run blocking model calls with `asyncio.to_thread`)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        yield frame


class PipelineObserver:
    """Sees frames cross stage boundaries; override what you need. `started` is when the stage began the
    process() call that the frame came out of. Observers must be cheap: they run inline."""

    def on_input(self, stage: str, frame: Frame, t: float) -> None:
        pass

    def on_output(self, stage: str, frame: Frame, source: Frame, started: float, t: float) -> None:
        pass

    def on_done(self, stage: str, frame: Frame, started: float, t: float, cancelled: bool) -> None:
        pass

    def on_exit(self, frame: Frame, t: float) -> None:
        """The frame leaves the pipeline for the transport."""


class FrameQueue:
    """A bounded queue of data frames plus an unbounded lane of control frames that is always served first.

    Waiters park on plain futures (as asyncio.Queue does) rather than behind a lock and a condition: a frame that
    finds room or a waiting reader costs no await at all, and this is paid for every audio frame of every session
    at every stage it crosses."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._data: deque[Frame] = deque()
        self._control: deque[Frame] = deque()
        self._getters: deque[asyncio.Future] = deque()
        self._putters: deque[asyncio.Future] = deque()

    def __len__(self) -> int:
        return len(self._data) + len(self._control)

    @staticmethod
    def _wake(waiters: deque[asyncio.Future]) -> None:
        while waiters:
            w = waiters.popleft()
            if not w.done():
                w.set_result(None)
                return

    async def put(self, frame: Frame) -> None:
        if is_control(frame):
            self._control.append(frame)
        else:
            while len(self._data) >= self.maxsize:
                waiter = asyncio.get_running_loop().create_future()
                self._putters.append(waiter)
                try:
                    await waiter
                except asyncio.CancelledError:
                    if not waiter.cancelled():  # it was woken: pass the turn on
                        self._wake(self._putters)
                    raise
            self._data.append(frame)
        self._wake(self._getters)

    def put_control(self, frame: Frame) -> None:
        """Enqueue a control frame without waiting; an Interrupt drops the queued data it stops."""
        self._control.append(frame)
        if isinstance(frame, Interrupt):
            self.flush(frame)
        self._wake(self._getters)

    def flush(self, interrupt: Interrupt) -> None:
        """Drop the queued data frames this Interrupt stops."""
        self._data = deque(f for f in self._data if not interrupt.stops(f))
        for _ in range(self.maxsize - len(self._data)):
            if not self._putters:
                break
            self._wake(self._putters)

    async def get(self) -> Frame:
        while not (self._data or self._control):
            waiter = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if not waiter.cancelled() and (self._data or self._control):
                    self._wake(self._getters)
                raise
        if self._control:
            return self._control.popleft()
        frame = self._data.popleft()
        self._wake(self._putters)
        return frame


class _Runner:
    """Drives one stage: takes frames from its inbox, runs process() as a cancellable task, emits what it yields."""

    def __init__(self, stage: Stage, inbox: FrameQueue, pipeline: "Pipeline") -> None:
        self.stage = stage
        self.inbox = inbox
        self.pipeline = pipeline
        self.next: _Runner | None = None
        self.outbox: FrameQueue | None = None
        self._busy: asyncio.Task | None = None
        self._busy_frame: Frame | None = None
        self._control_task: asyncio.Task | None = None

    async def loop(self) -> None:
        """The data lane: one data frame at a time, in order (control frames come through `control`)."""
        while True:
            frame = await self.inbox.get()
            self._busy_frame = frame
            task = self._busy = asyncio.get_running_loop().create_task(self._handle(frame))
            try:
                await task
            except asyncio.CancelledError:  # an interrupt cancelled the frame's work: go on with the next frame
                if not task.cancelled() or _cancelling():  # unless this runner itself is being cancelled
                    raise
            self._busy = None
            if isinstance(frame, EndOfStream):
                if task.cancelled() or task.exception() is not None:
                    await self.emit(frame)  # whatever broke, the end of the stream must get through
                return

    async def _handle(self, frame: Frame) -> None:
        name, observers = self.stage.name, self.pipeline.observers
        started = now()
        for o in observers:
            o.on_input(name, frame, started)
        cancelled = False
        try:
            async for out in self.stage.process(frame):
                for o in observers:
                    o.on_output(name, out, frame, started, now())
                await self.emit(out)
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as err:  # noqa: BLE001 - a failing frame must not end the session
            message = f"{type(err).__name__}: {err}".splitlines()[0]
            await self.emit(ErrorFrame(stage=name, message=message, turn=frame.turn))
            if isinstance(frame, EndOfStream) or is_control(frame):
                await self.emit(frame)  # keep the stream's shape: downstream still needs these
        finally:
            for o in observers:
                o.on_done(name, frame, started, now(), cancelled)

    async def emit(self, frame: Frame) -> None:
        if self.next is None:
            assert self.outbox is not None
            for o in self.pipeline.observers:
                o.on_exit(frame, now())
            if is_control(frame):
                self.outbox.put_control(frame)
            else:
                await self.outbox.put(frame)
        elif is_control(frame):
            self.next.control(frame)
        else:
            await self.next.inbox.put(frame)

    def control(self, frame: Frame) -> None:
        """Deliver a control frame now. An Interrupt first cancels the data frame in flight and drops queued data
        (what it stops: see Interrupt.keeps_later). The frame is handled in its own task, after the control frames
        before it."""
        if isinstance(frame, Interrupt):
            busy = self._busy_frame
            if self._busy and not self._busy.done() and (isinstance(busy, EndOfStream) or frame.stops(busy)):
                self._busy.cancel()  # (an EndOfStream in flight is cut short too: the loop passes it on)
            self.inbox.flush(frame)
        previous = self._control_task

        async def handle() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait({previous})
            await self._handle(frame)

        self._control_task = asyncio.get_running_loop().create_task(handle())

    def cancel(self) -> None:
        for t in (self._busy, self._control_task):
            if t and not t.done():
                t.cancel()


class Pipeline:
    """Stages wired in a line. Use as an async context manager; `push` frames in, iterate `frames()` for the output.

    maxsize bounds each stage's inbox (data frames; control frames are never blocked).
    """

    def __init__(self, stages: Iterable[Stage], observers: Iterable[PipelineObserver] = (),
                 maxsize: int = 64) -> None:
        self.stages = list(stages)
        if not self.stages:
            raise ValueError("a pipeline needs at least one stage")
        self.observers = list(observers)
        self.maxsize = maxsize
        self._runners: list[_Runner] = []
        self._tasks: list[asyncio.Task] = []
        self.output = FrameQueue(maxsize)

    async def __aenter__(self) -> "Pipeline":
        self._runners = [_Runner(s, FrameQueue(self.maxsize), self) for s in self.stages]
        for a, b in zip(self._runners, self._runners[1:]):
            a.next = b
        self._runners[-1].outbox = self.output
        self._tasks = [asyncio.get_running_loop().create_task(r.loop(), name=f"stage:{r.stage.name}")
                       for r in self._runners]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        for r in self._runners:
            r.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def push(self, frame: Frame) -> None:
        """Send a frame into the first stage; control frames overtake and cancel its work in flight."""
        first = self._runners[0]
        if is_control(frame):
            first.control(frame)
        else:
            await first.inbox.put(frame)

    def send_control(self, frame: Frame) -> None:
        """Deliver a control frame to the first stage now, from code that cannot await (a control frame never
        waits for room anyway)."""
        if not is_control(frame):
            raise TypeError(f"send_control takes control frames, not {frame.kind}")
        self._runners[0].control(frame)

    async def frames(self) -> AsyncIterator[Frame]:
        """The last stage's output, ending after EndOfStream."""
        while True:
            frame = await self.output.get()
            yield frame
            if isinstance(frame, EndOfStream):
                return

    async def run(self, source: AsyncIterable[Frame] | Iterable[Frame]) -> AsyncIterator[Frame]:
        """Feed `source` (then EndOfStream) and yield the output. Works inside `async with`."""

        async def feed() -> None:
            if hasattr(source, "__aiter__"):
                async for f in source:  # type: ignore[union-attr]
                    await self.push(f)
            else:
                for f in source:  # type: ignore[union-attr]
                    await self.push(f)
            await self.push(EndOfStream())

        feeder = asyncio.get_running_loop().create_task(feed())
        try:
            async for frame in self.frames():
                yield frame
        finally:
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
