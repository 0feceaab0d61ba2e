"""The discrete-event kernel: a heapq clock and FIFO multi-server resources (no threads, no wall time).

Kept separate from the pipeline model so the queueing maths (M/M/1, M/D/1) is tested on exactly the code that
serves the pipeline's stages. Times are milliseconds. Ties are broken by scheduling order, so a run is a pure
function of its inputs and seed.
"""

from __future__ import annotations

from collections import deque
from heapq import heappop, heappush
from typing import Any, Callable


class Sim:
    """Event queue: `at(t, fn, arg)` runs `fn(t, arg)` at time t; `run()` drains it in time order."""

    __slots__ = ("heap", "seq", "now")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Callable[[float, Any], None], Any]] = []
        self.seq = 0
        self.now = 0.0

    def at(self, t: float, fn: Callable[[float, Any], None], arg: Any = None) -> None:
        heappush(self.heap, (t, self.seq, fn, arg))
        self.seq += 1

    def run(self) -> None:
        heap = self.heap
        while heap:
            t, _, fn, arg = heappop(heap)
            self.now = t
            fn(t, arg)


class Job:
    """One request for `units` servers of a resource for `service` ms; `done(t, job)` is called when it ends."""

    __slots__ = ("resource", "units", "service", "done", "owner", "enq", "start", "finished", "cancelled")

    def __init__(self, resource: "Resource", units: int, service: float,
                 done: Callable[[float, "Job"], None] | None, owner: Any = None) -> None:
        self.resource, self.units, self.service, self.done, self.owner = resource, units, service, done, owner
        self.enq = self.start = -1.0
        self.finished = self.cancelled = False

    @property
    def wait(self) -> float:
        return self.start - self.enq


class Resource:
    """`servers` identical servers (CPU cores, one GPU) shared first come, first served. A job needing several
    units waits at the head of the queue until they are all free (strict FIFO, no overtaking)."""

    __slots__ = ("name", "servers", "free", "queue", "busy", "sim")

    def __init__(self, sim: Sim, name: str, servers: int) -> None:
        if servers < 1:
            raise ValueError(f"resource {name!r} needs at least one server, got {servers}")
        self.sim, self.name, self.servers, self.free = sim, name, int(servers), int(servers)
        self.queue: deque[Job] = deque()
        self.busy = 0.0  # unit-milliseconds of service given

    def submit(self, t: float, job: Job) -> Job:
        if job.units > self.servers:
            raise ValueError(f"a job needs {job.units} units of {self.name!r}, which has {self.servers}")
        job.enq = t
        if not self.queue and self.free >= job.units:
            self._start(t, job)
        else:
            self.queue.append(job)
        return job

    def _start(self, t: float, job: Job) -> None:
        self.free -= job.units
        job.start = t
        self.sim.at(t + job.service, self._finish, job)

    def _finish(self, t: float, job: Job) -> None:
        if job.finished:  # cancelled while running: its units were already released
            return
        job.finished = True
        self._release(t, job)
        if job.done is not None:
            job.done(t, job)

    def _release(self, t: float, job: Job) -> None:
        self.free += job.units
        self.busy += job.units * (t - job.start)
        self._drain(t)

    def _drain(self, t: float) -> None:
        q = self.queue
        while q and (q[0].cancelled or q[0].units <= self.free):
            nxt = q.popleft()
            if not nxt.cancelled:
                self._start(t, nxt)

    def cancel(self, t: float, job: Job) -> None:
        """Drop a job: a queued one never starts, a running one frees its servers now; `done` is not called."""
        if job.finished or job.cancelled:
            return
        job.cancelled = True
        if job.start >= 0:
            job.finished = True
            self._release(t, job)
        else:
            self._drain(t)  # it may have been the head blocking smaller jobs behind it


class Lock:
    """One holder at a time, first come first served, held across several stages until released: a model object
    that serves one request at a time (llama.cpp's one KV cache behind models/llama.py's lock), whose holder still
    needs the CPU (another resource) to progress. `last`: the session that held it last, so that a stage can pay
    for a cache that holds another session's conversation."""

    __slots__ = ("name", "holder", "queue", "last", "since", "busy")

    def __init__(self, name: str) -> None:
        self.name = name
        self.holder: Any = None
        self.queue: deque[tuple[Any, Any, Callable[[float, Any, Any], None]]] = deque()
        self.last: Any = None
        self.since = 0.0
        self.busy = 0.0  # milliseconds held

    def acquire(self, t: float, owner: Any, session: Any, granted: Callable[[float, Any, Any], None]) -> None:
        """`granted(t, owner, previous session)` once `owner` holds the lock (now, if it is free)."""
        if self.holder is None and not self.queue:
            self._grant(t, owner, session, granted)
        else:
            self.queue.append((owner, session, granted))

    def _grant(self, t: float, owner: Any, session: Any, granted: Callable[[float, Any, Any], None]) -> None:
        previous, self.holder, self.last, self.since = self.last, owner, session, t
        granted(t, owner, previous)

    def release(self, t: float, owner: Any) -> None:
        if self.holder is not owner:
            return
        self.busy += t - self.since
        self.holder = None
        if self.queue:
            self._grant(t, *self.queue.popleft())

    def cancel(self, t: float, owner: Any) -> None:
        """Drop `owner`: released if it holds the lock, taken out of the queue if it waits."""
        if self.holder is owner:
            self.release(t, owner)
        else:
            self.queue = deque(entry for entry in self.queue if entry[0] is not owner)
