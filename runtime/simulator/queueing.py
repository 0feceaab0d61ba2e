"""Single-queue simulation on the event kernel, and the closed forms it is checked against.

`simulate_queue` feeds one `Resource` with arrivals and service times drawn from distributions; with exponential or
fixed service it must reproduce M/M/1, M/D/1 and M/M/c (Erlang C) mean waits, which is how the kernel that schedules
the pipeline's stages is validated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .distributions import Dist
from .events import Job, Resource, Sim


@dataclass
class QueueResult:
    """Waiting times (ms, before service starts) of every customer, in arrival order, and the server utilisation."""

    waits: np.ndarray
    utilisation: float

    @property
    def mean_wait(self) -> float:
        return float(self.waits.mean())


def simulate_queue(arrival: Dist, service: Dist, servers: int = 1, customers: int = 100_000,
                   seed: int = 0, warmup: int = 0) -> QueueResult:
    """Run `customers` through a FIFO queue with `servers` servers; drop the first `warmup` waits (start-up bias)."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(arrival.sample(rng, customers)).tolist()
    services = service.sample(rng, customers).tolist()
    sim = Sim()
    res = Resource(sim, "queue", servers)
    waits = np.empty(customers)

    def served(t: float, job: Job) -> None:
        waits[job.owner] = job.start - job.enq

    def arrive(t: float, i: int) -> None:
        res.submit(t, Job(res, 1, services[i], served, i))
        if i + 1 < customers:
            sim.at(arrivals[i + 1], arrive, i + 1)

    sim.at(arrivals[0], arrive, 0)
    sim.run()
    return QueueResult(waits[warmup:], res.busy / (servers * sim.now) if sim.now > 0 else 0.0)


def mm1_wait(lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/1: rho / (mu - lambda)."""
    rho = lam / mu
    if rho >= 1:
        raise ValueError(f"unstable queue: rho = {rho:.3f}")
    return rho / (mu - lam)


def md1_wait(lam: float, mu: float) -> float:
    """Mean wait in queue of M/D/1 (Pollaczek-Khinchine with zero service variance): rho / (2 mu (1 - rho))."""
    rho = lam / mu
    if rho >= 1:
        raise ValueError(f"unstable queue: rho = {rho:.3f}")
    return rho / (2 * mu * (1 - rho))


def mmc_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c: Erlang C probability of waiting over (c mu - lambda)."""
    a = lam / mu
    rho = a / c
    if rho >= 1:
        raise ValueError(f"unstable queue: rho = {rho:.3f}")
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)
