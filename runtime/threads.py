"""Run a blocking iterator (a model generating tokens or audio) in a worker thread as a cancellable async iterator.

The consumer gets each item as soon as the thread makes it. Cancelling the consumer (an interrupt) returns at once;
the worker notices the stop flag after its current item and closes the generator, so the model stops working too.
"""

from __future__ import annotations

import asyncio
import threading
from typing import AsyncIterator, Callable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


async def iterate_in_thread(factory: Callable[[], Iterator[T]], name: str = "model") -> AsyncIterator[T]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed while we were finishing
            pass

    def work() -> None:
        it = None
        try:
            it = factory()
            for item in it:
                if stop.is_set():
                    break
                put(item)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            put(err)
        finally:
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
