"""The front door of a real local Ray cluster for the cluster tests: its ClusterServer on its own event loop in a
daemon thread, so real aiortc clients connect from the test's loop. Imported after `pytest.importorskip("ray")`."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Iterator

from omnirt.runtime.threads import use_idle_threads
from omnirt.runtime.transports.webrtc import WebRTCOptions
from omnirt.tools.cluster.front_door import ClusterServer, spawn_hosts
from omnirt.tools.cluster.host import HostConfig
from omnirt.tools.cluster.ray_cluster import ClusterOptions, RayCluster
from omnirt.tools.voice import VoiceConfig


class Door:
    """A ClusterServer on its own event loop in a daemon thread (clients connect from the test's loop)."""

    def __init__(self, hosts, options: WebRTCOptions) -> None:
        self.loop = asyncio.new_event_loop()
        use_idle_threads(self.loop)
        self._thread = threading.Thread(target=self.loop.run_forever, name="omnirt-door", daemon=True)
        self._thread.start()
        self.server = ClusterServer(hosts, options)
        self.url = self.call(self.server.start())

    def call(self, coro, timeout: float = 60.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextmanager
def door_on_cluster(slots: int) -> Iterator[tuple[RayCluster, Door]]:
    """A local 2-node cluster (one CPU and `slots` session slots each, a session host per node with the real
    models) and its front door; both stopped on exit."""
    c = RayCluster(ClusterOptions("local:2", slots_per_node=slots, cpus_per_node=1, object_store_mb=80)).start()
    try:
        options = WebRTCOptions(port=0, loopback_only=True)
        hosts = spawn_hosts(c, HostConfig(VoiceConfig(), options, warm=False), ready_timeout_s=180)
        door = Door(hosts, options)
        try:
            yield c, door
        finally:
            door.stop()
    finally:
        c.close()
