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
