"""The event kernel against queueing theory: long runs must match closed-form mean waits within 5 %.

Standard error of the mean wait (Whitt's asymptotic variance) is ~1.1 % for M/M/1 at rho 0.8 over 1M customers and
~1.2 % at rho 0.5 over 200k, so a 5 % tolerance is several standard errors, not a tuned seed.
"""

import pytest

from omnirt.runtime.simulator.distributions import Exponential, Fixed
from omnirt.runtime.simulator.events import Job, Resource, Sim
from omnirt.runtime.simulator.queueing import md1_wait, mm1_wait, mmc_wait, simulate_queue

MU = 1.0 / 10.0  # service rate: 10 ms mean service


@pytest.mark.parametrize("rho,customers", [(0.5, 200_000), (0.8, 1_000_000)])
def test_mm1_mean_wait_matches_closed_form(rho, customers):
    lam = rho * MU
    r = simulate_queue(Exponential(1 / lam), Exponential(1 / MU), 1, customers, seed=11, warmup=1000)
    expected = mm1_wait(lam, MU)
    print(f"M/M/1 rho={rho}: simulated {r.mean_wait:.3f} ms, closed form {expected:.3f} ms")
    assert r.mean_wait == pytest.approx(expected, rel=0.05)
    assert r.utilisation == pytest.approx(rho, rel=0.02)


@pytest.mark.parametrize("rho,customers", [(0.5, 200_000), (0.8, 1_000_000)])
def test_md1_mean_wait_matches_closed_form(rho, customers):
    lam = rho * MU
    r = simulate_queue(Exponential(1 / lam), Fixed(1 / MU), 1, customers, seed=12, warmup=1000)
    expected = md1_wait(lam, MU)
    print(f"M/D/1 rho={rho}: simulated {r.mean_wait:.3f} ms, closed form {expected:.3f} ms")
    assert r.mean_wait == pytest.approx(expected, rel=0.05)
    # and it is not M/M/1: deterministic service halves the wait
    assert r.mean_wait < 0.6 * mm1_wait(lam, MU)


def test_mmc_two_servers_matches_erlang_c():
    lam = 1.6 * MU  # rho = 0.8 on 2 servers
    r = simulate_queue(Exponential(1 / lam), Exponential(1 / MU), 2, 400_000, seed=13, warmup=1000)
    expected = mmc_wait(lam, MU, 2)
    print(f"M/M/2 rho=0.8: simulated {r.mean_wait:.3f} ms, closed form {expected:.3f} ms")
    assert r.mean_wait == pytest.approx(expected, rel=0.05)


def test_unstable_queue_is_refused():
    with pytest.raises(ValueError, match="unstable"):
        mm1_wait(2.0, 1.0)


def _run(jobs, servers):
    """Submit (time, units, service) jobs; return their (start, end) in submission order."""
    sim = Sim()
    r = Resource(sim, "cpu", servers)
    out = {}
    made = []
    for i, (t, units, service) in enumerate(jobs):
        job = Job(r, units, service, lambda t2, jb: out.__setitem__(jb.owner, (jb.start, t2)), i)
        made.append(job)
        sim.at(t, lambda t2, jb: r.submit(t2, jb), job)
    return sim, r, made, out


def test_fifo_multi_unit_job_blocks_the_queue_head():
    sim, r, _, out = _run([(0, 1, 10), (1, 2, 5), (2, 1, 1)], servers=2)
    sim.run()
    assert out[0] == (0, 10)
    assert out[1] == (10, 15)  # needs both cores: waits for job 0
    assert out[2] == (15, 16)  # strict FIFO: no overtaking though one core was free
    assert r.busy == pytest.approx(10 + 2 * 5 + 1)


def test_cancel_frees_servers_and_skips_queued_jobs():
    sim, r, jobs, out = _run([(0, 1, 100), (1, 1, 5), (2, 1, 5)], servers=1)
    sim.at(3, lambda t, j: r.cancel(t, j), jobs[0])  # running: frees the core at t=3
    sim.at(3, lambda t, j: r.cancel(t, j), jobs[1])  # queued: never starts
    sim.run()
    assert 0 not in out and 1 not in out
    assert out[2] == (3, 8)
    assert r.busy == pytest.approx(3 + 5)
