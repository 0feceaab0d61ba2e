"""`omnirt serve --cluster ADDRESS`: a front door that signals and places each session on a Ray session host.

The front door is `omnirt serve`'s RTCServer (the same page, Host/Origin/token checks, offer parsing and one-line
refusals) with one difference: `open_session` does not run the session here. It asks every live host how many
sessions it runs, orders them by placement.py's rule and hands the offer's SDP to the first that takes it; the
host's answer (its own ICE candidates) goes back to the client, so media flows between the client and the host's
node. A host whose actor died is marked lost (one log line) and never asked again; a full cluster answers 503 with
the reason, as the single server answers "too many sessions".

Conversations live here, not only on their hosts (conversations.py): each answer carries the session's id, a task
per host long-polls the host's changes into the book, and that same pending call fails as soon as Ray knows the
host is dead. Its sessions are then marked lost, and each page watching its session (`GET /session?id=ID`, a long
poll) is told at once; the page offers again with `"session": ID` and is placed on a live host with its history.

`POST /drain?host=NAME` (`omnirt serve --cluster ... --drain NAME` sends it) empties a host for maintenance: no
session is placed there any more, and if the other hosts have room its sessions are asked to move at their next
turn boundary (host.py), else left to end; `DELETE /drain?host=NAME` takes it back. /stats shows what is left.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ...runtime.transports.webrtc import WebRTCOptions
from ..serve import RTCServer, _error, options_from, process_counters, serve_until_stopped
from ..voice import VoiceConfig
from . import shared_models
from .conversations import Conversation, ConversationBook
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
    unreachable, not known dead). open_timeout_s: how long a host may take to negotiate (aiortc gathers first).
    watch_s: how long a page's `GET /session` waits for news before answering "live" (it then asks again).
    keep_s: how long a conversation is kept after its session ended or its host was lost (for the page's return)."""

    state_timeout_s: float = 2.0
    open_timeout_s: float = 15.0
    watch_s: float = 20.0
    keep_s: float = 120.0


class ClusterServer(RTCServer):
    """RTCServer whose sessions run on session hosts. `placements`: (host name, node id) per session opened."""

    def __init__(self, hosts: list[HostHandle], options: WebRTCOptions = WebRTCOptions(),
                 allowed_origins: tuple[str, ...] = (), require_token: bool = False,
                 door: DoorOptions = DoorOptions()) -> None:
        super().__init__(None, options, allowed_origins, require_token)  # type: ignore[arg-type] - no models here
        self.hosts, self.door = hosts, door
        self.placements: list[tuple[str, str]] = []
        self.book = ConversationBook(door.keep_s)
        self.moves: list[dict[str, Any]] = []  # sessions placed again after their host was lost: where, how fast
        self._watchers: list[asyncio.Task] = []
        self.app.router.add_get("/session", self._session)
        self.app.router.add_post("/drain", self._drain)
        self.app.router.add_delete("/drain", self._drain)

    async def start(self) -> str:
        url = await super().start()
        self._watchers = [asyncio.get_running_loop().create_task(self._follow(h), name=f"follow:{h.state.name}")
                          for h in self.hosts if h.state.alive]
        return url

    async def _follow(self, h: HostHandle) -> None:
        """Copy the host's conversation changes into the book until the host dies (then it is marked lost)."""
        from ray.exceptions import RayActorError

        version = 0
        while h.state.alive:
            try:
                news = await _awaitable(h.actor.changes.remote(version))
            except RayActorError as err:
                self._lost(h, err)
                return
            except Exception as err:  # noqa: BLE001 - a failed poll must not stop the following; try again soon
                log.warning("session host %s: changes not read (%s)", h.state.name, type(err).__name__)
                await asyncio.sleep(1.0)
                continue
            version = news["version"]
            for key, exchanges in news["conversations"].items():
                self.book.update(key, exchanges)
            for key in news["ended"]:
                self.book.ended(key)

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
        """Mark the host dead for good, make sure it is (a host Ray only lost touch with would run on unseen), and
        tell its sessions' pages to come back."""
        if h.state.alive:
            import ray

            h.state = HostState(h.state.name, h.state.node_id, h.state.slots, 0, alive=False)
            lost = self.book.host_lost(h.state.name)
            log.warning("session host %s on node %s is gone (%s); no session will be placed there; %d of its "
                        "sessions to move", h.state.name, h.state.node_id[:8], type(err).__name__, len(lost))
            try:
                ray.kill(h.actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass

    async def open_session(self, sdp: str, resume: object = None) -> web.Response:
        """Place a session on the best live host; `resume` (a session id this door gave) continues that
        conversation there (an unknown or forgotten id gets a new session: the answer's "session" tells)."""
        from ray.exceptions import RayActorError

        by_name = {h.state.name: h for h in self.hosts}
        conv = self.book.get(resume)
        if conv is not None and conv.state == "live":  # the page lost it, its host may not have: take it over
            await self._take_over(by_name.get(conv.host or ""), conv)
        was_lost = conv.lost_at if conv is not None else None
        conv = conv or self.book.new()
        for state in placement_order(await self._refresh()):
            h = by_name[state.name]
            try:
                key, history = self.book.next_key(conv), conv.exchanges
                reply = await asyncio.wait_for(_awaitable(h.actor.open.remote(sdp, key, history)),
                                               self.door.open_timeout_s)
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
            self.book.placed(conv, state.name)
            restored, answering = reply.get("restored", 0), reply.get("answering", "")  # (host.restore, unanswered)
            if was_lost is not None:
                self.moves.append({"session": conv.id, "to": state.name, "restored": restored,
                                   "answering": answering, "lost_to_placed_s": round(time.monotonic() - was_lost, 3)})
            log.info("session %splaced on host %s (node %s, %d of %d slots)%s%s", "re" if conv.placements > 1 else "",
                     state.name, reply["node_id"][:8], reply["sessions"], reply["slots"],
                     f", {restored} exchanges restored" if history else "",
                     ", answering the question its last host had not answered" if answering else "")
            return web.json_response({"sdp": reply["sdp"], "type": reply["type"], "node": reply["node_id"],
                                      "session": conv.id, "restored": restored, "answering": answering})
        if conv.placements == 0:  # a new session that found no host: nothing to keep
            self.book.records.pop(conv.id, None)
        reason = full_reason([h.state for h in self.hosts])
        log.info("offer refused: %s", reason)
        return _error(reason, 503)

    async def _take_over(self, h: HostHandle | None, conv: Conversation) -> None:
        """End the session's old placement before the new one (a page whose connection failed while its host
        lives): its slot is freed and it cannot speak twice. A host that does not answer is left to notice the
        silent page itself (media_timeout_s)."""
        if h is None or not h.state.alive:
            return
        try:  # what the old host holds is the latest (a report may still be on its way)
            held = await asyncio.wait_for(_awaitable(h.actor.conversation.remote(conv.key)), self.door.state_timeout_s)
            if held is not None:
                self.book.update(conv.key, held)
            await asyncio.wait_for(_awaitable(h.actor.close_session.remote(conv.key)), self.door.state_timeout_s)
        except Exception as err:  # noqa: BLE001 - dead, busy: the new placement goes ahead regardless
            log.info("session host %s did not close a session taken over (%s)", h.state.name, type(err).__name__)

    async def _session(self, request: web.Request) -> web.StreamResponse:
        """`GET /session?id=ID`: answers {"state": "lost"} as soon as the session's host is lost (the page then
        offers again with its id), "ended" once it closed, or "live" after watch_s (the page asks again)."""
        if not self._authorised(request):
            return _error("missing or wrong token", 401)
        conv = self.book.get(request.query.get("id"))
        if conv is None:
            return _error("no such session", 404)
        return web.json_response({"state": await self.book.watch(conv, self.door.watch_s)})

    async def _drain(self, request: web.Request) -> web.StreamResponse:
        """Drain (POST) or take back (DELETE) the host named by `host` (its name, or its node id's start)."""
        if not self._authorised(request):
            return _error("missing or wrong token", 401)
        name = request.query.get("host", "")
        found = [h for h in self.hosts if name and (h.state.name == name or h.state.node_id.startswith(name))]
        if len(found) != 1 or not found[0].state.alive:
            return _error(f"no live session host {name!r} (see /stats)", 404)
        h, states = found[0], await self._refresh()
        try:
            if request.method == "DELETE":
                report = await _awaitable(h.actor.undrain.remote())
                moving = 0
            else:  # move only if the other hosts can take every session, else none (they end where they are)
                room = sum(s.free for s in placement_order(states) if s.name != h.state.name)
                moving = h.state.sessions if room >= h.state.sessions else 0
                report = await _awaitable(h.actor.drain.remote(move=bool(moving)))
        except Exception as err:  # noqa: BLE001 - it died meanwhile
            return _error(f"session host {h.state.name} did not answer ({type(err).__name__})", 503)
        h.state = HostState.reported(h.state.name, report)
        log.info("session host %s %s (%d sessions, %d to move)", h.state.name,
                 "draining" if h.state.draining else "taken back", h.state.sessions, moving)
        return web.json_response({"host": h.state.name, "draining": h.state.draining,
                                  "sessions": h.state.sessions, "moving": moving})

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        """The cluster's counters: sessions per host, with where it runs and whether it lives."""
        if not self._authorised(request):
            return _error("missing or wrong token", 401)
        states = await self._refresh()
        return web.json_response({"sessions": sum(s.sessions for s in states if s.alive),
                                  "hosts": [{"name": s.name, "node": s.node_id, "slots": s.slots,
                                             "sessions": s.sessions, "alive": s.alive, "draining": s.draining}
                                            for s in states],
                                  **process_counters()})

    async def stop(self) -> None:
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        for conv in self.book.records.values():  # pending watches answer now: the server waits for its handlers
            conv.changed.set()
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
    """`omnirt serve --cluster`: join or start the cluster, a host per node, then signal until stopped (with
    --drain: only ask the running front door to drain a host)."""
    if args.drain:
        from .drain import drain_command

        return drain_command(args)
    options = options_from(args, config)
    try:
        shared_options = shared_models.options_from(args)
    except ValueError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    try:
        cluster = RayCluster(ClusterOptions(args.cluster, slots_per_node=args.max_sessions))
        console.print(f"joining the Ray cluster {args.cluster} ..." if cluster.options.local_nodes is None
                      else f"starting a local Ray cluster of {cluster.options.local_nodes} nodes ...")
        cluster.start()
    except ClusterError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    try:
        shared = None
        if shared_options is not None:
            console.print(f"starting the shared models ({', '.join(shared_options.roles)}) on Ray Serve ...")
            shared = shared_models.deploy(config, shared_options)
        console.print("starting a session host per node (each loads the models) ...")
        hosts = spawn_hosts(cluster, HostConfig(config, options, vision=not args.no_vision, shared=shared))
        for h in hosts:
            console.print(f"  host {h.state.name}: {h.state.slots} session slots")
        serve_until_stopped(lambda: ClusterServer(hosts, options, allowed_origins=tuple(args.allow_origin),
                                                  require_token=args.agent_tool), args, console)
    except ClusterError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    finally:
        if shared_options is not None and cluster.local is None:  # (a local cluster goes with all it runs)
            shared_models.shutdown()
        cluster.close()
    return 0
