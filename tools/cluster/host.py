"""A session host: one Ray actor per node that loads the voice models once and runs many live sessions.

The front door (front_door.py) keeps signalling; it hands each checked offer's SDP to a host, which negotiates the
peer connection in its own process and returns the answer. The answer carries this process's ICE candidates, so the
client's media flows to the host's node directly and never through the front door.

The actor is async: Ray runs all its methods on one event loop in the worker process, and that loop also runs every
session's tasks between calls (aiortc needs one long-lived loop), exactly as `omnirt serve`'s loop does. The
constructor loads the models (it blocks: the actor is ready when they are); `ready()` then sets the loop up.
Replies are plain dicts, refusals included: an exception would cross Ray as a traceback, and a refused offer is an
answer, not a failure.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from ...runtime.threads import use_idle_threads
from ...runtime.transports.webrtc import (BadRequest, PeerSession, WebRTCOptions, offer_loopback_too,
                                           use_loopback_only)
from ..serve import open_peer
from ..voice import VoiceConfig, load_components, warm

log = logging.getLogger("omnirt.cluster.host")

# The custom Ray resource a node declares to say how many sessions it can hold (`ray start --resources
# '{"omnirt_session_slots": 8}'`); a host reserves all of its node's, so nothing else is placed against them.
SLOTS = "omnirt_session_slots"


@dataclass(frozen=True)
class HostConfig:
    """voice: the models and their settings (as `omnirt serve` takes them). webrtc: the sessions' options (ICE
    servers, loopback_only for tests, session options; host/port/token are the front door's, unused here).
    slots: sessions this host runs at most. vision: read the camera (OCR worker processes on the host's node).
    warm: run the warm-up before reporting ready (the first turn is slower without)."""

    voice: VoiceConfig = field(default_factory=VoiceConfig)
    webrtc: WebRTCOptions = field(default_factory=WebRTCOptions)
    slots: int = 4
    vision: bool = False
    warm: bool = True


class SessionHost:
    """The actor's class (front_door.spawn_hosts wraps it with ray.remote and pins it to a node)."""

    def __init__(self, config: HostConfig) -> None:
        import ray

        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.WARNING)
        logging.getLogger("omnirt").setLevel(logging.INFO)
        self.config = config
        self.node_id = ray.get_runtime_context().get_node_id()  # where Ray really runs it, reported on every reply
        self.sessions: set[PeerSession] = set()
        self.opened = 0
        self.components = load_components(config.voice)
        if config.vision:
            from ...models.vision import camera_describer

            self.components.describer = camera_describer()
        if config.warm:
            warm(self.components, lambda line: log.info("%s", line))

    async def ready(self) -> dict[str, Any]:
        """Set this process's event loop and ICE addresses up as `omnirt serve` does; the host's state."""
        use_idle_threads(asyncio.get_running_loop())
        if self.config.webrtc.loopback_only:
            use_loopback_only()
        else:
            offer_loopback_too()
        return await self.state()

    async def state(self) -> dict[str, Any]:
        """What placement needs: where this host runs, its slots, and the sessions it runs now."""
        return {"node_id": self.node_id, "pid": os.getpid(), "slots": self.config.slots,
                "sessions": len(self.sessions), "opened": self.opened}

    async def open(self, sdp: str) -> dict[str, Any]:
        """Run a session for a checked offer: {"status": 200, "sdp", "type", ...state} or {"status", "error"}."""
        if len(self.sessions) >= self.config.slots:  # filled since the front door asked
            return {"status": 503, "error": "this host is full", **await self.state()}
        try:
            answer = await open_peer(self.components, self.config.webrtc, sdp, self.sessions)
        except BadRequest as err:
            return {"status": 400, "error": str(err)}
        self.opened += 1
        log.info("session opened on node %s (%d of at most %d)", self.node_id[:8], len(self.sessions),
                 self.config.slots)
        return {"status": 200, "sdp": answer.sdp, "type": answer.type, **await self.state()}

    async def close_all(self) -> int:
        """End every session (the front door is stopping); how many there were."""
        peers = list(self.sessions)
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        return len(peers)
