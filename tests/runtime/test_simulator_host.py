"""The session host under load in the simulator: a model that serves one turn at a time (a lock held across stages,
its cache switched between sessions) and steady work beside the stages on a shared core, each on closed forms."""

import pytest

from omnirt.runtime.simulator import PipelineModel, simulate
from omnirt.runtime.simulator.events import Job, Lock, Sim
from omnirt.runtime.simulator.sharing import SharedResource


def test_a_lock_serves_in_arrival_order_tells_who_held_it_last_and_drops_a_cancelled_waiter():
    lock, got = Lock("thinker"), []
    grant = lambda t, owner, previous: got.append((t, owner, previous))  # noqa: E731
    lock.acquire(0.0, "a", 1, grant)
    lock.acquire(1.0, "b", 2, grant)
    lock.acquire(2.0, "c", 3, grant)
    lock.cancel(3.0, "b")  # gave up waiting
    lock.release(5.0, "a")
    lock.release(9.0, "c")
    assert got == [(0.0, "a", None), (5.0, "c", 1)]
    assert lock.busy == 9.0 and lock.holder is None and lock.last == 3


@pytest.mark.parametrize("background, finish", [(0.0, 100.0), (0.2, 125.0), (0.8, 200.0)])
def test_background_work_takes_what_it_wants_up_to_a_fair_share(background, finish):
    """A lone job of 100 ms beside a steady demand b: it runs at 1 - min(b, 1/2) of the core."""
    sim, done = Sim(), []
    core = SharedResource(sim, "cpu", 1, background=background)
    core.submit(0.0, Job(core, 1, 100.0, lambda t, job: done.append(t)))
    sim.run()
    assert done == [pytest.approx(finish)]


def test_a_models_steady_work_is_its_fixed_part_and_a_part_per_session():
    """One session, one 100 ms stage on one shared core beside 0.2 fixed + 0.1 per session: 100 / (1 - 0.3)."""
    model = PipelineModel.from_dict({
        "stages": [{"name": "asr", "service": 100.0, "segment": "ASR done"}], "resources": {"cpu": 1},
        "shared": ["cpu"], "background": {"cpu": 0.1}, "background_fixed": {"cpu": 0.2}})
    assert simulate(model, turns=3, seed=0).records["ASR done"] == pytest.approx([100.0 / 0.7] * 3)


def test_background_demand_must_leave_room_for_the_jobs():
    with pytest.raises(ValueError):
        SharedResource(Sim(), "cpu", 1, background=1.0)


def _two_at_once(switch_ms: float = 0.0, sessions: int = 2, turns: int = 2) -> dict:
    """Sessions that stop speaking at the same instant (no jitter, no chunk phase), one turn each; the Thinker's
    100 ms prefill and its 300 ms rest both hold its lock, on cores enough that nothing else waits."""
    stages = [{"name": "asr", "service": 1.0, "segment": "ASR done"},
              {"name": "prefill", "service": 100.0, "segment": "Thinker first token", "lock": "thinker",
               "switch_ms": switch_ms},
              {"name": "tts", "service": 10.0, "segment": "Talker first audio"},
              {"name": "rest", "service": 300.0, "segment": None, "lock": "thinker"}]
    model = PipelineModel.from_dict({
        "stages": stages, "resources": {"cpu": 4}, "sessions": sessions,
        "network": {"jitter_ms": 0.0}, "vad": {"frame_ms": 1e-9, "speculate_ms": 0.0},
        "user": {"utterance_ms": 1000.0, "barge_in_prob": 0.0, "false_pause_prob": 0.0, "start_spread_ms": 1e-9}})
    return simulate(model, turns=turns, seed=0).records


def test_the_second_turn_waits_for_the_whole_of_the_first_turns_hold_then_pays_for_the_switch():
    first, second = sorted(_two_at_once()["Thinker first token"])
    assert first == pytest.approx(100.0, abs=1e-3)
    assert second == pytest.approx(100.0 + 10.0 + 300.0 + 100.0, abs=1e-3)  # held through tts and the rest
    first, second = sorted(_two_at_once(switch_ms=50.0)["Thinker first token"])
    assert first == pytest.approx(100.0, abs=1e-3)  # nobody else held it before: nothing to switch from
    assert second == pytest.approx(560.0, abs=1e-3)


def test_a_lone_session_never_pays_for_a_switch():
    records = _two_at_once(switch_ms=50.0, sessions=1, turns=3)
    assert list(records["Thinker first token"]) == pytest.approx([100.0] * 3, abs=1e-3)


def test_a_switch_cost_needs_a_lock():
    with pytest.raises(ValueError):
        PipelineModel.from_dict({"stages": [{"name": "x", "service": 1.0, "segment": "ASR done", "switch_ms": 5}]})


def test_a_lock_given_back_between_two_requests_is_queued_for_anew_and_the_switch_paid_again():
    """Two sessions at once; each turn judges (50 ms, lock given back), then answers (100 ms + 40 ms after another
    session's use) and holds the lock through 10 ms of audio and a 300 ms rest. A: judge 0-50; B: judge 50-100;
    A: answer 100-240 (B used it last), rest to 550; B: answer 550-690. Their first tokens: 240 and 690 ms."""
    stages = [{"name": "judge", "service": 50.0, "segment": "Thinker first token", "lock": "thinker",
               "release": True},
              {"name": "answer", "service": 100.0, "segment": "Thinker first token", "lock": "thinker",
               "switch_ms": 40.0},
              {"name": "tts", "service": 10.0, "segment": "Talker first audio"},
              {"name": "rest", "service": 300.0, "segment": None, "lock": "thinker"}]
    model = PipelineModel.from_dict({
        "stages": stages, "resources": {"cpu": 4}, "sessions": 2,
        "network": {"jitter_ms": 0.0}, "vad": {"frame_ms": 1e-9, "speculate_ms": 0.0},
        "user": {"utterance_ms": 1000.0, "barge_in_prob": 0.0, "false_pause_prob": 0.0, "start_spread_ms": 1e-9}})
    first, second = sorted(simulate(model, turns=2, seed=0).records["Thinker first token"])
    assert (first, second) == (pytest.approx(240.0, abs=1e-3), pytest.approx(690.0, abs=1e-3))
