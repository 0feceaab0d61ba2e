"""`omnirt serve --cluster ADDRESS`: a front door that signals and places each session on a Ray session host.

The front door is `omnirt serve`'s RTCServer (the same page, Host/Origin/token checks, offer parsing and one-line
refusals) with one difference: `open_session` does not run the session here. It asks every live host how many
sessions it runs, orders them by placement.py's rule and hands the offer's SDP to the first that takes it; the
host's answer (its own ICE candidates) goes back to the client, so media flows between the client and the host's
node. A host whose actor died is marked lost (one log line) and never asked again; a full cluster answers 503 with
the reason, as the single server answers "too many sessions".
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ...runtime.transports.webrtc import WebRTCOptions
from ..serve import RTCServer, _error, options_from, process_counters, serve_until_stopped
from ..voice import VoiceConfig
from .host import SLOTS, HostConfig, SessionHost
from .placement import HostState, full_reason, placement_order
from .ray_cluster import ClusterError, ClusterOptions, RayCluster

log = logging.getLogger("omnirt.cluster")


@dataclass
class HostHandle:
    """The front door's view of one host: its actor, and its state as last reported."""

    actor: Any
    state: HostState


@dataclass(frozen=True)
class DoorOptions:
    """state_timeout_s: a host that does not report its load within this is passed over for that offer (busy or
    unreachable, not known dead). open_timeout_s: how long a host may take to negotiate (aiortc gathers first)."""

    state_timeout_s: float = 2.0
    open_timeout_s: float = 15.0


class ClusterServer(RTCServer):
    """RTCServer whose sessions run on session hosts. `placements`: (host name, node id) per session opened."""

    def __init__(self, hosts: list[HostHandle], options: WebRTCOptions = WebRTCOptions(),
                 allowed_origins: tuple[str, ...] = (), require_token: bool = False,
                 door: DoorOptions = DoorOptions()) -> None:
        super().__init__(None, options, allowed_origins, require_token)  # type: ignore[arg-type] - no models here
        self.hosts, self.door = hosts, door
        self.placements: list[tuple[str, str]] = []

    async def _refresh(self) -> list[HostState]:
        """Every host's state, asked at once; a dead actor is marked lost for good."""
        from ray.exceptions import GetTimeoutError, RayActorError

        async def ask(h: HostHandle) -> None:
            if not h.state.alive:
                return
            try:
                s = await asyncio.wait_for(_awaitable(h.actor.state.remote()), self.door.state_timeout_s)
                h.state = HostState.reported(h.state.name, s)
            except RayActorError as err:
                self._lost(h, err)
            except (asyncio.TimeoutError, GetTimeoutError):
                log.warning("session host %s did not report within %g s; passed over", h.state.name,
                            self.door.state_timeout_s)

        await asyncio.gather(*(ask(h) for h in self.hosts))
        return [h.state for h in self.hosts]

    def _lost(self, h: HostHandle, err: BaseException) -> None:
        if h.state.alive:
            h.state = HostState(h.state.name, h.state.node_id, h.state.slots, 0, alive=False)
            log.warning("session host %s on node %s is gone (%s); no session will be placed there", h.state.name,
                        h.state.node_id[:8], type(err).__name__)

    async def open_session(self, sdp: str) -> web.Response:
        from ray.exceptions import RayActorError

        by_name = {h.state.name: h for h in self.hosts}
        for state in placement_order(await self._refresh()):
            h = by_name[state.name]
            try:
                reply = await asyncio.wait_for(_awaitable(h.actor.open.remote(sdp)), self.door.open_timeout_s)
            except RayActorError as err:
                self._lost(h, err)
                continue
            except asyncio.TimeoutError:
                log.warning("session host %s did not answer an offer within %g s; trying the next", state.name,
                            self.door.open_timeout_s)
                continue
            if reply["status"] == 503:  # filled since it reported: the next one
                continue
            if reply["status"] != 200:
                return _error(reply["error"], reply["status"])
            h.state = HostState.reported(state.name, reply)
            self.placements.append((state.name, reply["node_id"]))
            log.info("session placed on host %s (node %s, %d of %d slots)", state.name, reply["node_id"][:8],
                     reply["sessions"], reply["slots"])
            return web.json_response({"sdp": reply["sdp"], "type": reply["type"], "node": reply["node_id"]})
        reason = full_reason([h.state for h in self.hosts])
        log.info("offer refused: %s", reason)
        return _error(reason, 503)

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        """The cluster's counters: sessions per host, with where it runs and whether it lives."""
        if not self._authorised(request):
            return _error("missing or wrong token", 401)
        states = await self._refresh()
        return web.json_response({"sessions": sum(s.sessions for s in states if s.alive),
                                  "hosts": [{"name": s.name, "node": s.node_id, "slots": s.slots,
                                             "sessions": s.sessions, "alive": s.alive} for s in states],
                                  **process_counters()})

    async def stop(self) -> None:
        live = [h for h in self.hosts if h.state.alive]
        await asyncio.gather(*(_awaitable(h.actor.close_all.remote()) for h in live), return_exceptions=True)
        await super().stop()


def _awaitable(ref: Any) -> Any:
    """A Ray ObjectRef as an asyncio future of the running loop (the front door's loop is not Ray's)."""
    return asyncio.wrap_future(ref.future())


def spawn_hosts(cluster: RayCluster, config: HostConfig, ready_timeout_s: float = 600.0) -> list[HostHandle]:
    """One SessionHost per node with session slots, pinned to it and holding all its slots; waits until each has
    loaded the models. A host that fails to start is told in one line and left out; ClusterError if none starts."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = cluster.slot_nodes()
    if not nodes:
        raise ClusterError(f"no node of the cluster offers {SLOTS} (start nodes with "
                           f"ray start --resources '{{\"{SLOTS}\": 4}}')")
    actor_class = ray.remote(SessionHost)
    started = []
    for node_id, slots in nodes:
        actor = actor_class.options(
            name=f"omnirt-host-{node_id[:12]}", num_cpus=0, resources={SLOTS: slots}, max_concurrency=1000,
            max_restarts=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(dataclasses.replace(config, slots=slots))
        started.append((node_id, slots, actor, actor.ready.remote()))
    hosts = []
    for node_id, slots, actor, ready in started:
        try:
            state = ray.get(ready, timeout=ready_timeout_s)
        except Exception as err:  # noqa: BLE001 - a model missing on that node, a dead node, a timeout ...
            first = (str(err).strip().splitlines() or [type(err).__name__])[-1][:200]
            log.warning("session host on node %s did not start: %s", node_id[:8], first)
            ray.kill(actor)
            continue
        hosts.append(HostHandle(actor, HostState.reported(node_id[:8], state)))
    if not hosts:
        raise ClusterError("no session host started (see the lines above)")
    return hosts


def run_front_door(args: argparse.Namespace, config: VoiceConfig, console: Any) -> int:
    """`omnirt serve --cluster`: join or start the cluster, a host per node, then signal until stopped."""
    options = options_from(args, config)
    try:
        cluster = RayCluster(ClusterOptions(args.cluster, slots_per_node=args.max_sessions))
        console.print(f"joining the Ray cluster {args.cluster} ..." if cluster.options.local_nodes is None
                      else f"starting a local Ray cluster of {cluster.options.local_nodes} nodes ...")
        cluster.start()
    except ClusterError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    try:
        console.print("starting a session host per node (each loads the models) ...")
        hosts = spawn_hosts(cluster, HostConfig(config, options, vision=not args.no_vision))
        for h in hosts:
            console.print(f"  host {h.state.name}: {h.state.slots} session slots")
        serve_until_stopped(lambda: ClusterServer(hosts, options, allowed_origins=tuple(args.allow_origin),
                                                  require_token=args.agent_tool), args, console)
    except ClusterError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    finally:
        cluster.close()
    return 0
