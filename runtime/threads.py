"""Run a blocking iterator (a model generating tokens or audio) in a worker thread as a cancellable async iterator.

The consumer gets each item as soon as the thread makes it. Cancelling the consumer (an interrupt) returns at once;
the worker notices the stop flag after its current item and closes the generator, so the model stops working too.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class Foreground:
    """Work a listener is waiting for right now (a turn's first audio) asks background loops (token generation
    beyond the first clause) to pause between items, so it gets every core. One per process: so are the cores.

    Why: on 2 cores Piper makes a first clause much faster with both cores than beside token generation
    (docs/measurements.md), and the tokens generated meanwhile are not needed until that clause has played."""

    def __init__(self, max_pause_s: float = 0.25) -> None:
        self.max_pause_s = max_pause_s
        self._lock = threading.Lock()
        self._claimed = threading.Condition(self._lock)
        self._claims = 0
        self.entries = 0  # claims ever made: a change tells background work that foreground work has begun
        self._clear = threading.Event()
        self._clear.set()

    def enter(self) -> None:
        with self._lock:
            self._claims += 1
            self.entries += 1
            self._clear.clear()
            self._claimed.notify_all()

    def leave(self) -> None:
        with self._lock:
            self._claims -= 1
            if self._claims <= 0:
                self._claims = 0
                self._clear.set()

    @property
    def busy(self) -> bool:
        return not self._clear.is_set()

    def wait(self) -> None:
        """Background work calls this between items: returns when no foreground work runs (or after
        max_pause_s, so a stuck claim can only slow the background, never stop it)."""
        self._clear.wait(self.max_pause_s)

    def wait_for_claim(self, seen: int, timeout_s: float) -> bool:
        """Wait until a claim is made after `entries` was `seen` (at most timeout_s); whether one was."""
        with self._claimed:
            return self._claimed.wait_for(lambda: self.entries != seen, timeout_s)


FOREGROUND = Foreground()


HAND_OVER_S = 0.05  # longest wait for the claim an item was predicted to start (see iterate_in_thread)


async def iterate_in_thread(factory: Callable[[], Iterator[T]], name: str = "model", *,
                            claim: Foreground | None = None, yield_to: Foreground | None = None,
                            hands_over: Callable[[T], bool] | None = None,
                            hand_over_s: float = HAND_OVER_S) -> AsyncIterator[T]:
    """`claim`: hold that Foreground until the first item is made. `yield_to`: before asking for each item after
    the first, wait while that Foreground is claimed. `hands_over(item)`: True when the consumer will claim
    `yield_to` for this item (the answer's text that completes a turn's first clause, which the Talker then
    speaks); the worker then waits for that claim (at most hand_over_s) before waiting for it to end. Why: the
    consumer claims a moment after it gets the item, and a worker that only looked for a claim at once had by then
    begun its next item, which ran beside the foreground work (a token beside Piper's first clause: both ran at
    half speed; docs/measurements.md)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed while we were finishing
            pass

    held = [claim] if claim is not None else []

    def release() -> None:  # (before the consumer can see the first item, an error or the end)
        while held:
            held.pop().leave()

    def work() -> None:
        it = None
        for c in held:
            c.enter()
        try:
            it = factory()
            for item in it:
                release()
                if stop.is_set():
                    break
                seen = yield_to.entries if yield_to is not None else 0
                put(item)
                if yield_to is not None:
                    if hands_over is not None and hands_over(item):
                        yield_to.wait_for_claim(seen, hand_over_s)
                    yield_to.wait()
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            release()
            put(err)
        finally:
            release()
            close = getattr(it, "close", None)
            if close:
                close()
            put(_DONE)

    thread = threading.Thread(target=work, name=f"omnirt-{name}", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class IdleThreadPool(ThreadPoolExecutor):
    """A thread pool whose threads end after `idle_s` without work. Why: `ThreadPoolExecutor` keeps every thread
    it ever started until shutdown, so a server that answered a few turns at once would never come back to the
    threads it had before its sessions, and a leak of threads could not be told from a pool at its peak.
    (A subclass only because asyncio's `set_default_executor` takes nothing else; none of its machinery runs.)"""

    def __init__(self, max_workers: int | None = None, name: str = "omnirt-pool", idle_s: float = 10.0) -> None:
        super().__init__(max_workers, thread_name_prefix=name)
        self.max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default
        self.name, self.idle_s = name, idle_s
        self._work: deque[tuple[Future, Callable[..., Any], tuple, dict]] = deque()
        self._cond = threading.Condition()
        self._threads = 0
        self._idle = 0
        self._shutdown = False

    @property
    def threads(self) -> int:
        return self._threads

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._cond:
            if self._shutdown:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._work.append((future, fn, args, kwargs))
            if self._idle >= len(self._work) or self._threads >= self.max_workers:
                self._cond.notify()
            else:
                self._threads += 1
                threading.Thread(target=self._serve, name=f"{self.name}-{self._threads}", daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._work:
                    if self._shutdown:
                        self._threads -= 1
                        self._cond.notify_all()
                        return
                    self._idle += 1
                    woken = self._cond.wait(self.idle_s)
                    self._idle -= 1
                    if not woken and not self._work:
                        self._threads -= 1
                        self._cond.notify_all()
                        return
                future, fn, args, kwargs = self._work.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(err)
            del future, fn, args, kwargs  # nothing of a finished job stays alive while the thread waits

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._shutdown = True
            if cancel_futures:
                while self._work:
                    self._work.popleft()[0].cancel()
            self._cond.notify_all()
            if wait:
                while self._threads:
                    self._cond.wait()


def use_idle_threads(loop: asyncio.AbstractEventLoop, idle_s: float = 10.0) -> None:
    """Make `asyncio.to_thread` and `run_in_executor(None, ...)` on `loop` use threads that end when idle."""
    loop.set_default_executor(IdleThreadPool(name="omnirt-worker", idle_s=idle_s))


class CancelToken:
    """Asks blocking work in another thread to stop early. Backends attach a callback that aborts their current
    call (onnxruntime: RunOptions.terminate), so a stale background job (a partial transcript) frees the CPU within
    milliseconds instead of finishing work nobody will read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._callbacks: list[Callable[[], None]] = []

    def attach(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the token is set (at once if it already is)."""
        with self._lock:
            if not self._set:
                self._callbacks.append(callback)
                return
        callback()

    def set(self) -> None:
        with self._lock:
            self._set, callbacks, self._callbacks = True, self._callbacks, []
        for cb in callbacks:
            cb()

    def is_set(self) -> bool:
        return self._set


class Cancelled(RuntimeError):
    """Raised by work that stopped because its CancelToken was set."""
