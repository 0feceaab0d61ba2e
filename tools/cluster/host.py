"""A session host: one Ray actor per node that loads the voice models once and runs many live sessions.

The front door (front_door.py) keeps signalling; it hands each checked offer's SDP to a host, which negotiates the
peer connection in its own process and returns the answer. The answer carries this process's ICE candidates, so the
client's media flows to the host's node directly and never through the front door.

The actor is async: Ray runs all its methods on one event loop in the worker process, and that loop also runs every
session's tasks between calls (aiortc needs one long-lived loop), exactly as `omnirt serve`'s loop does. The
constructor loads the models (it blocks); `ready()` then warms them up and sets the loop up.
Replies are plain dicts, refusals included: an exception would cross Ray as a traceback, and a refused offer is an
answer, not a failure.

The conversation is not kept here alone. Each session opened with a key (front_door.py gives one) has a TurnRecorder
on its pipeline that snapshots the Thinker's exchanges whenever they change (a question being answered, an answer
finished, what of it the user heard); the front door long-polls `changes()` and keeps them (conversations.py), so
a host that dies takes no conversation with it. The same pending call tells the door of the host's death at once
(Ray fails it), which is how the door learns to move the host's sessions. A session opened with `history` (moved
here from a lost host) starts with those exchanges in its Thinker; if the last question's answer had not been
heard (the host died between hearing the question and playing the whole reply), it is answered once the page is
connected again, as the user's next turn: the user does not have to ask again.

Draining (`drain()`, for maintenance): the host takes no new session, and each of its sessions is asked to move
(a {"type": "move"} event; the page offers again with its session id and the door places it elsewhere) only at a
turn boundary: its reply played out `settle_s` ago and the user not speaking. A turn is never cut by a drain.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from ...runtime.clock import now
from ...runtime.frames import Commit, Played, Transcript
from ...runtime.stage import PipelineObserver
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
    warm: run the warm-up before reporting ready (the first turn is slower without).
    shared: the models served by shared Ray Serve deployments (shared_models.py), not loaded here."""

    voice: VoiceConfig = field(default_factory=VoiceConfig)
    webrtc: WebRTCOptions = field(default_factory=WebRTCOptions)
    slots: int = 4
    vision: bool = False
    warm: bool = True
    shared: Any = None  # shared_models.SharedModels


class TurnRecorder(PipelineObserver):
    """Watches one session's Thinker and reports its exchanges (question, answer as heard) whenever they change.
    A question is reported as soon as the recogniser has passed on its final words and the turn's Commit (the user
    has finished), before the Thinker starts on it: under load the judgement and the answer's first token can take
    a second or more. Its answer is reported once the reply has been played (the Thinker's `Played`: what the user
    heard, all of it or up to a barge-in); until then the question stands unanswered. So a host lost before the
    user heard the answer leaves the question at the door, and the new host answers it unasked (`unanswered`)."""

    def __init__(self, thinker: Any, report: Any, asr: str = "asr") -> None:
        self.thinker, self.report, self.asr = thinker, report, asr
        self.heard: dict[int, str] = {}  # turn -> its final words as the recogniser passed them on
        self.committed: set[int] = set()  # turns whose Commit the recogniser let through (their words are final)
        self.played: set[int] = set()  # turns whose reply has been played (or cut): their answer is as heard
        self.last: list[tuple[str, str]] = self.snapshot()

    def snapshot(self) -> list[tuple[str, str]]:
        exchanges = self.thinker.exchanges
        newest = max((ex.turn for ex in exchanges), default=None)
        waiting = sorted(t for t in self.committed if t in self.heard and (newest is None or t > newest))
        return ([(ex.question, ex.answer if ex.turn < 0 or ex.turn in self.played else "") for ex in exchanges]
                + [(self.heard[t], "") for t in waiting])  # (turns below 0: restored, heard on the lost host)

    def check(self) -> None:
        now = self.snapshot()
        if now != self.last:
            self.last = now
            self.report(now)
        newest = max((ex.turn for ex in self.thinker.exchanges), default=None)
        if newest is not None:  # those turns are the Thinker's now
            self.heard = {t: w for t, w in self.heard.items() if t > newest}
            self.committed = {t for t in self.committed if t > newest}
            self.played = {t for t in self.played if t > newest - 8}

    def on_output(self, stage: str, frame: Any, source: Any, started: float, t: float) -> None:
        if stage == self.asr:
            if isinstance(frame, Transcript) and frame.final and frame.text.strip():
                self.heard[frame.turn] = frame.text
            elif isinstance(frame, Commit) and frame.turn in self.heard:
                self.committed.add(frame.turn)
                self.check()
        elif stage == self.thinker.name and len(self.thinker.exchanges) != len(self.last):
            self.check()

    def on_done(self, stage: str, frame: Any, started: float, t: float, cancelled: bool) -> None:
        if stage == self.thinker.name:
            if isinstance(frame, Played):
                self.played.add(frame.turn)
            self.check()


def unanswered(history: list) -> str:
    """The question a moved conversation ended on if no answer to it was heard (its host died between hearing it
    and playing the reply: TurnRecorder): the new host answers it, so the user need not ask again. "" if none."""
    if history and str(history[-1][0]).strip() and not str(history[-1][1]).strip():
        return str(history[-1][0]).strip()
    return ""


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
        self.keys: dict[PeerSession, str] = {}  # sessions opened with a key: the front door keeps their conversation
        self.version = 0  # counts the changes below; the door asks for those after the last version it saw
        self.reported: dict[str, tuple[int, list]] = {}  # key -> (version, exchanges) of its latest change
        self.ended: dict[str, int] = {}  # key -> version at which its session closed
        self._wake = asyncio.Event()
        self.draining = False
        self.idle_since: dict[PeerSession, float | None] = {}  # keyed sessions: since when between turns
        self._mover: asyncio.Task | None = None
        self._asking: set[asyncio.Task] = set()  # moved sessions' questions waiting for their connection
        self.components = load_components(config.voice, **(config.shared.overrides() if config.shared else {}))
        if config.vision:
            from ...models.vision import camera_describer

            self.components.describer = camera_describer()

    async def ready(self) -> dict[str, Any]:
        """Warm the models up (in a worker thread: a shared model's handle may not wait on this event loop), set
        this process's event loop and ICE addresses up as `omnirt serve` does; the host's state."""
        if self.config.warm:
            await asyncio.to_thread(warm, self.components, lambda line: log.info("%s", line))
        use_idle_threads(asyncio.get_running_loop())
        if self.config.webrtc.loopback_only:
            use_loopback_only()
        else:
            offer_loopback_too()
        return await self.state()

    async def state(self) -> dict[str, Any]:
        """What placement needs: where this host runs, its slots, and the sessions it runs now."""
        return {"node_id": self.node_id, "pid": os.getpid(), "slots": self.config.slots,
                "sessions": len(self.sessions), "opened": self.opened, "draining": self.draining,
                "inputs": [peer.input_health() for peer in self.sessions]}

    async def open(self, sdp: str, key: str | None = None, history: list | None = None) -> dict[str, Any]:
        """Run a session for a checked offer: {"status": 200, "sdp", "type", ...state} or {"status", "error"}.
        key: the front door's name for this placement (its changes are reported under it); history: the
        conversation so far, [(question, answer)], for a session moved here."""
        if len(self.sessions) >= self.config.slots or self.draining:  # filled (or drained) since the door asked
            return {"status": 503, "error": f"this host is {'draining' if self.draining else 'full'}",
                    **await self.state()}

        pending = unanswered(history or []) if key is not None else ""
        restored = 0

        def prepare(peer: PeerSession) -> None:
            nonlocal restored
            if key is None:
                return
            if pending:
                task = asyncio.get_running_loop().create_task(self._answer(peer, key, pending))
                self._asking.add(task)
                task.add_done_callback(self._asking.discard)
            restored = peer.voice.restore(history or [])  # (an unanswered last question is asked again: `pending`)
            peer.voice.pipeline.observers.append(TurnRecorder(peer.voice.thinker, lambda ex: self._note(key, ex)))
            self.keys[peer] = key
            self.idle_since[peer] = now()
            closed, send = peer.on_closed, peer.output.send
            peer.on_closed = lambda p: (closed(p), self._closed(p))
            peer.output.send = lambda event: (self._status(peer, event), send(event))

        try:
            answer = await open_peer(self.components, self.config.webrtc, sdp, self.sessions, prepare)
        except BadRequest as err:
            return {"status": 400, "error": str(err)}
        self.opened += 1
        log.info("session opened on node %s (%d of at most %d)", self.node_id[:8], len(self.sessions),
                 self.config.slots)
        return {"status": 200, "sdp": answer.sdp, "type": answer.type, "restored": restored, "answering": pending,
                **await self.state()}

    async def _answer(self, peer: PeerSession, key: str, question: str) -> None:
        turn = await peer.ask(question)
        log.info("session %s: %s", key.rpartition(".")[0][:6], f"answering the question its lost host heard (turn "
                 f"{turn})" if turn is not None else "the question its lost host heard was not asked again (the user "
                 "spoke first, or the session never connected)")

    def _note(self, key: str, exchanges: list) -> None:
        self.version += 1
        self.reported[key] = (self.version, exchanges)
        self._wake.set()

    def _status(self, peer: PeerSession, event: dict) -> None:
        """A turn starts with "thinking" and ends with "listening" (played out, or cut by a barge-in)."""
        if event.get("type") == "status" and peer in self.idle_since:
            if event.get("state") != "listening":
                self.idle_since[peer] = None
            elif self.idle_since[peer] is None:
                self.idle_since[peer] = now()

    def _between_turns(self, peer: PeerSession, settle_s: float) -> bool:
        since = self.idle_since.get(peer)
        return since is not None and now() - since >= settle_s and not peer.voice.vad.endpointer.in_speech

    async def drain(self, move: bool = True, settle_s: float = 1.0) -> dict[str, Any]:
        """Take no new session; with `move`, ask each session to move at its next turn boundary (else they are
        left to end). The host's state."""
        self.draining = True
        if move and self._mover is None:
            self._mover = asyncio.get_running_loop().create_task(self._move_all(settle_s))
        return await self.state()

    async def undrain(self) -> dict[str, Any]:
        """Take sessions again (those already asked to move have gone or are going)."""
        self.draining = False
        if self._mover is not None:
            self._mover.cancel()
            self._mover = None
        return await self.state()

    async def _move_all(self, settle_s: float) -> None:
        told: set[PeerSession] = set()
        while self.draining:
            for peer in [p for p in self.keys if p not in told and self._between_turns(p, settle_s)]:
                told.add(peer)
                log.info("draining: session %s asked to move", self.keys[peer].rpartition(".")[0][:6])
                peer.send({"type": "move"})
            await asyncio.sleep(0.1)

    def _closed(self, peer: PeerSession) -> None:
        self.idle_since.pop(peer, None)
        key = self.keys.pop(peer, None)
        if key is not None:
            self.version += 1
            self.ended[key] = self.version
            self._wake.set()

    async def changes(self, since: int, timeout_s: float = 10.0) -> dict[str, Any]:
        """The conversations changed and the sessions ended after version `since`, once there are any (or after
        timeout_s, empty): {"version", "conversations": {key: [(q, a)]}, "ended": [key]}. One reader, the front
        door, which asks again with the version it got: what it has seen of ended sessions is forgotten here."""
        for k in [k for k, v in self.ended.items() if v <= since]:
            del self.ended[k]
            self.reported.pop(k, None)
        if self.version <= since:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout_s)
            except asyncio.TimeoutError:
                pass
        return {"version": self.version, "ended": [k for k, v in self.ended.items() if v > since],
                "conversations": {k: ex for k, (v, ex) in self.reported.items() if v > since}}

    async def conversation(self, key: str) -> list | None:
        """The exchanges a session holds now, from its Thinker (None: no such session here)."""
        peer = next((p for p, k in self.keys.items() if k == key), None)
        return None if peer is None else [(ex.question, ex.answer) for ex in peer.voice.thinker.exchanges]

    async def close_session(self, key: str) -> bool:
        """End one session (the front door moves it elsewhere); whether it was here."""
        peer = next((p for p, k in self.keys.items() if k == key), None)
        if peer is not None:
            await peer.close()
        return peer is not None

    async def close_all(self) -> int:
        """End every session (the front door is stopping); how many there were."""
        peers = list(self.sessions)
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        return len(peers)
