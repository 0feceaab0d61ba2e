"""Where a new session goes: the live session host with the most free slots.

Pure (no Ray, no I/O) so that the rule is tested on fixtures and the front door only gathers the hosts' states and
tries them in the order given here. A host is dropped from the order when it is dead (its actor died: a session
placed there would never answer), draining (being emptied for maintenance: `--drain`) or full; among the rest,
most free slots first, so load spreads across nodes instead of filling one node before the next (a full node's
sessions share its cores: spreading keeps each turn's latency down). Ties go to the host with fewer sessions, then
to the name, so the order is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HostState:
    """What the front door knows of one session host.

    name: the host's label in logs and /stats (one host per node: its node id, shortened).
    node_id: the Ray node it runs on. slots: sessions it may hold (its node's `omnirt_session_slots`).
    sessions: sessions it runs now (as the host itself counts them). alive: False once its actor died.
    draining: being emptied (no new session goes there; its sessions move at a turn boundary or end)."""

    name: str
    node_id: str
    slots: int
    sessions: int = 0
    alive: bool = True
    draining: bool = False

    @classmethod
    def reported(cls, name: str, report: dict) -> "HostState":
        """The state a live host reports of itself (SessionHost.state, .ready and .open all carry these keys)."""
        return cls(name, report["node_id"], report["slots"], report["sessions"],
                   draining=report.get("draining", False))

    @property
    def free(self) -> int:
        return max(0, self.slots - self.sessions)


def placement_order(hosts: list[HostState]) -> list[HostState]:
    """The live hosts with a free slot, best first (most free slots; then fewest sessions; then by name)."""
    usable = [h for h in hosts if h.alive and not h.draining and h.free > 0]
    return sorted(usable, key=lambda h: (-h.free, h.sessions, h.name))


def full_reason(hosts: list[HostState]) -> str:
    """Why no host can take a session, in one line (the 503's error)."""
    live = [h for h in hosts if h.alive and not h.draining]
    dead = sum(not h.alive for h in hosts)
    draining = len(hosts) - dead - len(live)
    gone = (f"; {dead} host{'s' if dead != 1 else ''} lost" if dead else "") + (
        f"; {draining} host{'s' if draining != 1 else ''} draining" if draining else "")
    if not live:
        return f"no live session host{gone}" if hosts else "no session host in the cluster"
    used, slots = sum(min(h.sessions, h.slots) for h in live), sum(h.slots for h in live)
    return (f"too many sessions: the cluster is full ({used} of {slots} session slots in use on "
            f"{len(live)} live host{'s' if len(live) != 1 else ''}{gone})")
