"""Several nodes in the simulator: each node a machine of its own, the sessions spread over them, turns pooled; and
cores shared as an OS shares them (processor sharing), checked against M/D/1-PS."""

import numpy as np
import pytest

from omnirt.runtime.simulator import PipelineModel, simulate, simulate_nodes
from omnirt.runtime.simulator.calibration import calibration_run
from omnirt.runtime.simulator.events import Job, Sim
from omnirt.runtime.simulator.model import calibrated
from omnirt.runtime.simulator.sharing import SharedResource

ONE_CORE = {"resources": {"cpu": 1}, "user": {"think_ms": 1500.0, "false_pause_prob": 0.0, "barge_in_prob": 0.0}}


def test_two_nodes_of_four_sessions_wait_like_one_node_of_four_not_like_one_of_eight():
    model = PipelineModel.from_dict(ONE_CORE)
    two = simulate_nodes(model, [4, 4], 4000, seed=1).as_dict()
    four = simulate(PipelineModel.from_dict({**ONE_CORE, "sessions": 4}), 2000, seed=1).as_dict()
    eight = simulate(PipelineModel.from_dict({**ONE_CORE, "sessions": 8}), 4000, seed=1).as_dict()
    p95 = lambda s: s["voice_to_voice"]["p95_ms"]  # noqa: E731
    assert two["turns"] == 4000 and two["sessions"] == 8
    assert abs(p95(two) / p95(four) - 1) < 0.1  # the nodes share no core
    assert p95(eight) > 1.3 * p95(two)  # one core for all eight queues
    assert set(two["utilisation"]) == {"cpu@0", "cpu@1"}


def test_pooled_turns_keep_their_sessions_apart_and_an_idle_node_is_skipped():
    run = simulate_nodes(PipelineModel.from_dict(ONE_CORE), [2, 0, 1], 900, seed=3)
    assert sorted(np.unique(run.records["session"]).astype(int)) == [0, 1, 2]
    assert set(run.utilisation) == {"cpu@0", "cpu@2"}
    assert run.turns == 900


@pytest.mark.parametrize("loads, turns", [([], 100), ([0, 0], 100), ([2, -1], 100), ([4, 4], 5)])
def test_impossible_clusters_are_refused(loads, turns):
    with pytest.raises(ValueError):
        simulate_nodes(PipelineModel(), loads, turns)


@pytest.mark.parametrize("rho", [0.3, 0.7])
def test_a_shared_core_gives_the_processor_sharing_mean_time(rho):
    """M/D/1 under processor sharing: a job of S ms spends S / (1 - rho) on average (FIFO: S + rho S / 2(1 - rho))."""
    service, customers = 10.0, 40_000
    rng = np.random.default_rng(1)
    arrivals = np.cumsum(rng.exponential(service / rho, customers))
    sim, spent = Sim(), []
    core = SharedResource(sim, "cpu", 1)
    for t in arrivals:
        sim.at(float(t), lambda now, _: core.submit(now, Job(core, 1, service, lambda end, job: spent.append(
            end - job.enq))))
    sim.run()
    assert len(spent) == customers
    assert np.mean(spent[1000:]) == pytest.approx(service / (1 - rho), rel=0.05)
    assert core.busy == pytest.approx(service * customers)


def test_a_cancelled_job_leaves_the_core_to_the_others():
    sim, ends = Sim(), {}
    core = SharedResource(sim, "cpu", 1)
    a, b = (Job(core, 1, 100.0, lambda t, job: ends.__setitem__(job.owner, t), name) for name in "ab")
    core.submit(0.0, a)
    core.submit(0.0, b)  # both at half speed
    sim.at(50.0, lambda t, _: core.cancel(t, a))
    sim.run()
    assert ends == {"b": pytest.approx(125.0)}  # 25 ms done at half speed, the other 75 alone


def slower(run: dict, k: float) -> dict:
    """The calibration run as a host k times slower would have measured it (the server's time k times as long)."""
    turns = [{"segments": {n: v * k for n, v in t["segments"].items()}, "server_total": t["server_total"] * k,
              "voice_to_voice_ms": t["voice_to_voice_ms"] + (k - 1) * t["server_total"]} for t in run["turns"]]
    return {**run, "turns": turns}


def test_sharing_the_cores_slows_every_stage_where_a_queue_makes_some_wait():
    # on a host three times slower than the calibration's, three sessions' turns on one core overlap: first come,
    # first served, a stage that finds the core busy waits; shared as an OS shares it, no stage waits (each runs at
    # once, slower), and the core does the same work either way. (Which way the median moves depends on how
    # variable the stages are: it moved each way with the two calibration runs of 2026-12-06.)
    slow, base = calibrated(slower(calibration_run(), 3.0)), {**ONE_CORE, "sessions": 3}
    fifo = simulate(PipelineModel.from_dict(base, slow), 3000, seed=5).as_dict()
    shared = simulate(PipelineModel.from_dict({**base, "shared": ["cpu"]}, slow), 3000, seed=5).as_dict()
    assert max(w["p95_ms"] for w in fifo["waits"].values()) > 100
    assert all(w["max_ms"] == 0 for w in shared["waits"].values())
    assert shared["utilisation"]["cpu"] == pytest.approx(fifo["utilisation"]["cpu"], rel=0.03)
    assert shared["voice_to_voice"] != fifo["voice_to_voice"]
    with pytest.raises(ValueError, match="shared resources"):
        PipelineModel.from_dict({"shared": ["gpu"]})


def test_sessions_begin_when_a_bench_began_them_and_each_node_gets_its_own_sessions_starts():
    """Two nodes, sessions 0 and 2 on node 0 and session 1 on node 1: each first question at its given start (an
    utterance of 1 s after it), whatever the seed."""
    model = PipelineModel.from_dict({**ONE_CORE, "user": {**ONE_CORE["user"], "utterance_ms": 1000.0}})
    run = simulate_nodes(model, [2, 1], 3, seed=5, starts=[(0.0, 4000.0), (250.0,)])
    assert sorted(run.records["speech_end"]) == pytest.approx([1000.0, 1250.0, 5000.0])
    with pytest.raises(ValueError):  # a start for every session, or none
        simulate_nodes(model, [2], 2, starts=[(0.0,)])
