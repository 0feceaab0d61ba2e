"""A resource shared the way an operating system shares its cores: every job present runs at once, slower.

`Resource` (events.py) serves first come, first served: a job waits whole until a server is free, then runs at full
speed. A core under an OS scheduler does not: the threads of every stage that wants it take turns every few
milliseconds, so each job present progresses at once at its share (processor sharing). With n jobs wanting u_i
units each on c servers, every job progresses at min(1, c / sum(u)) of its full speed. Mean times then follow
M/G/1-PS: a job of service S spends S / (1 - rho) whatever the service distribution, where FIFO makes a short job wait
out a long one. A drop-in for `Resource` (same submit / cancel / busy / servers); a job's `start` is its arrival,
since it runs at once.
"""

from __future__ import annotations

from .events import Job, Sim

_DONE = 1e-6  # remaining ms under which a job counts as finished (float rounding of the shares)


class SharedResource:
    """`servers` servers shared by every job present (processor sharing)."""

    __slots__ = ("name", "servers", "sim", "left", "last", "busy", "version", "background")

    def __init__(self, sim: Sim, name: str, servers: int, background: float = 0.0) -> None:
        if servers < 1:
            raise ValueError(f"resource {name!r} needs at least one server, got {servers}")
        if not 0 <= background < servers:
            raise ValueError(f"resource {name!r}: background demand must be in [0, {servers}), got {background}")
        self.sim, self.name, self.servers = sim, name, int(servers)
        self.background = float(background)  # servers' worth of steady work beside the jobs (see _rate)
        self.left: dict[Job, float] = {}  # job -> its service still to give, at full speed (ms)
        self.last = 0.0
        self.busy = 0.0  # unit-milliseconds of service given
        self.version = 0  # the finish event scheduled last; older ones are stale

    def _demand(self) -> int:
        return sum(j.units for j in self.left)

    def _rate(self, demand: int) -> float:
        """Each job's speed with `demand` units wanted. The background (processes beside the jobs that want a steady
        share, such as clients on the same core) competes as one more thread would under a fair scheduler: it gets
        what it wants, up to an equal share, servers / (demand + 1); the jobs share the rest."""
        taken = min(self.background, self.servers / (demand + 1))
        return min(1.0, (self.servers - taken) / demand)

    def _advance(self, t: float) -> None:
        """Give every job present its share of the time since the last change."""
        dt, demand = t - self.last, self._demand()
        if dt > 0 and demand:
            rate = self._rate(demand)
            for job in self.left:
                self.left[job] -= dt * rate
            self.busy += dt * rate * demand
        self.last = t

    def _schedule(self, t: float) -> None:
        self.version += 1
        if self.left:
            rate = self._rate(self._demand())
            self.sim.at(t + max(0.0, min(self.left.values())) / rate, self._finish, self.version)

    def submit(self, t: float, job: Job) -> Job:
        if job.units > self.servers:
            raise ValueError(f"a job needs {job.units} units of {self.name!r}, which has {self.servers}")
        self._advance(t)
        job.enq = job.start = t
        self.left[job] = float(job.service)
        self._schedule(t)
        return job

    def _finish(self, t: float, version: int) -> None:
        if version != self.version:
            return
        self._advance(t)
        done = [job for job, left in self.left.items() if left <= _DONE]
        for job in done:
            del self.left[job]
            job.finished = True
        self._schedule(t)
        for job in done:
            if job.done is not None:
                job.done(t, job)

    def cancel(self, t: float, job: Job) -> None:
        """Drop a job now; `done` is not called."""
        if job.finished or job.cancelled:
            return
        job.cancelled = job.finished = True
        self._advance(t)
        self.left.pop(job, None)
        self._schedule(t)
