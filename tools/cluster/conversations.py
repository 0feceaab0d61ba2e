"""The front door's book of conversations: what each cluster session has said so far, kept outside its host.

A session host can die with its node at any moment; what the user and the assistant said must not die with it. So
the host reports each session's exchanges to the front door as they change (a question heard, an answer finished,
what of it the user really heard: host.py's TurnRecorder), and the door keeps them here, in its own process. When a
host is lost, its sessions' records are marked lost and every page watching one is told at once (`watch`); the page
re-offers with its session id and the door places it on a live host with these exchanges, so the conversation goes
on where it was.

Each placement of a session gets its own key (`<session id>.<n>`): a report or an end from an earlier placement (a
host that was taken over, or that the door already gave up on) must not overwrite or end the session's new life.
A record outlives its session by `keep_s` (a page whose network dropped may come back), then is forgotten; the book
is bounded by `max_records` as well. Pure Python (no Ray, no I/O) so it is tested on its own.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

Exchanges = list[tuple[str, str]]  # (question, answer as heard so far), oldest first


@dataclass
class Conversation:
    """id: the session id the page holds (unguessable: with the token it is what resumes a conversation).
    key: the current placement's key. host: the host running it (None: on none now). ended_at / lost_at: when its
    session ended normally, or when its host was lost (monotonic seconds)."""

    id: str
    exchanges: Exchanges = field(default_factory=list)
    key: str = ""
    host: str | None = None
    placements: int = 0
    ended_at: float | None = None
    lost_at: float | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set on loss or end: a watch answers

    @property
    def state(self) -> str:
        """"live" (running on a host), "lost" (its host died: reconnect), "ended" (closed normally)."""
        return "lost" if self.lost_at is not None else "ended" if self.ended_at is not None else "live"


class ConversationBook:
    def __init__(self, keep_s: float = 120.0, max_records: int = 10000) -> None:
        self.keep_s, self.max_records = keep_s, max_records
        self.records: dict[str, Conversation] = {}

    def new(self) -> Conversation:
        self.expire()
        conv = Conversation(secrets.token_urlsafe(16))
        self.records[conv.id] = conv
        return conv

    def get(self, session_id: object) -> Conversation | None:
        self.expire()
        return self.records.get(session_id) if isinstance(session_id, str) else None

    def placed(self, conv: Conversation, host: str) -> None:
        """The session now runs on `host` under a new key; it is live again."""
        conv.placements += 1
        conv.key, conv.host, conv.ended_at, conv.lost_at = f"{conv.id}.{conv.placements}", host, None, None
        old, conv.changed = conv.changed, asyncio.Event()
        old.set()  # a watch of the earlier placement answers now ("live"), and the next one waits on this

    def next_key(self, conv: Conversation) -> str:
        """The key the next placement of `conv` will have (the host is told it with the offer)."""
        return f"{conv.id}.{conv.placements + 1}"

    def _current(self, key: str) -> Conversation | None:
        conv = self.records.get(key.rpartition(".")[0])
        return conv if conv is not None and conv.key == key else None

    def update(self, key: str, exchanges: Exchanges) -> None:
        """A host's report of a session's exchanges (ignored from a placement that is no longer the session's)."""
        conv = self._current(key)
        if conv is not None:
            conv.exchanges = [(str(q), str(a)) for q, a in exchanges]

    def ended(self, key: str) -> None:
        """The session closed on its host (the page stopped, or went quiet): kept `keep_s` for a return."""
        conv = self._current(key)
        if conv is not None and conv.state == "live":
            conv.ended_at, conv.host = time.monotonic(), None
            conv.changed.set()

    def host_lost(self, host: str) -> list[Conversation]:
        """Every live session on `host` is lost: marked so, and their watches answer now."""
        lost = [c for c in self.records.values() if c.host == host and c.state == "live"]
        for conv in lost:
            conv.lost_at, conv.host = time.monotonic(), None
            conv.changed.set()
        return lost

    async def watch(self, conv: Conversation, timeout_s: float) -> str:
        """The session's state once it is no longer live, or "live" after timeout_s (the page asks again)."""
        if conv.state == "live":
            try:
                await asyncio.wait_for(asyncio.shield(conv.changed.wait()), timeout_s)
            except asyncio.TimeoutError:
                pass
        return conv.state

    def expire(self) -> None:
        """Forget records whose session ended or was lost over keep_s ago; then the oldest, past max_records."""
        cutoff = time.monotonic() - self.keep_s
        for sid in [s for s, c in self.records.items() if (c.ended_at or c.lost_at or cutoff + 1) < cutoff]:
            del self.records[sid]
        while len(self.records) > self.max_records:
            del self.records[next(iter(self.records))]
