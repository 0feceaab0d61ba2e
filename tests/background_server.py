"""An RTCServer on its own event loop in a thread: tests drive real clients beside it in the same process."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from omnirt.runtime.threads import use_idle_threads
from omnirt.runtime.transports.webrtc import WebRTCOptions
from omnirt.tools.serve import RTCServer


class BackgroundServer:
    """An RTCServer on its own event loop in a daemon thread."""

    def __init__(self, components: Any, options: WebRTCOptions = WebRTCOptions(port=0), **server: Any) -> None:
        self.loop = asyncio.new_event_loop()
        use_idle_threads(self.loop)
        self._thread = threading.Thread(target=self.loop.run_forever, name="omnirt-serve", daemon=True)
        self._thread.start()
        self.server = RTCServer(components, options, **server)
        self.url = self.call(self.server.start())
        self._extra: list[RTCServer] = []

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add(self, options: WebRTCOptions, **server: Any) -> RTCServer:
        """Start a second server (other options, same models) on the same loop."""
        server = RTCServer(self.server.components, options, **server)
        self.call(server.start())
        self._extra.append(server)
        return server

    def task_count(self) -> int:
        async def count() -> int:
            return len(asyncio.all_tasks()) - 1  # not counting this one

        return self.call(count())

    def stop(self) -> None:
        for server in [*self._extra, self.server]:
            self.call(server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
