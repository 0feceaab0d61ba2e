"""`omnirt simulate --turns-from`: the end-of-turn detector as `omnirt bench turns` measured it (its wait after a
real end, its cutoff rate) replaces the fixed hangover in the simulated pipeline."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from omnirt.runtime.simulator.engine import simulate
from omnirt.tools.simulate import detector_from
from test_simulator import fixed_chain


def _bench(tmp_path, **combined):
    point = {"policy": "combined", "theta": 0.7, "d_short": 200.0, "d_long": 2100.0, "latency_ms": 390.0,
             "cutoff": 0.25, **combined}
    run = {"benchmark": "turns", "utterances": {"tuning": 100, "heldout": 100},
           "runtime_default": {"heldout": {"combined": point, "detector": {**point, "policy": "detector",
                                                                          "latency_ms": 2100.0, "cutoff": 0.5}}}}
    path = tmp_path / "turns.json"
    path.write_text(json.dumps(run))
    return str(path)


def test_the_detector_is_read_from_the_bench_and_replaces_the_hangover(tmp_path) -> None:
    waits, cutoff, said = detector_from(_bench(tmp_path))
    assert sorted(set(waits.samples)) == [200.0, 2100.0] and waits.samples.count(200.0) == 90  # 390 ms mean
    assert cutoff == 0.25 and "combined" in said  # the runtime's default rule (the classifier is on)
    base = fixed_chain(10, 10, 2, 10)
    model = dataclasses.replace(base, vad=dataclasses.replace(base.vad, commit_ms=waits, cutoff_prob=cutoff))
    with_detector, plain = simulate(model, turns=400, seed=1), simulate(base, turns=400, seed=1)
    phase = plain.records["end of speech detected"] - 160.0
    ttfa = with_detector.records["time_to_first_audio"] - phase
    assert set(np.round(ttfa, 6)) == {200.0, 2100.0}  # committed at the detector's wait, not the 400 ms hangover
    assert np.allclose(plain.records["time_to_first_audio"] - phase, 400.0)
    assert 0.15 < with_detector.as_dict()["cutoff_rate"] < 0.35 and "cutoff_rate" not in plain.as_dict()


def test_three_waits_are_read_end_by_end(tmp_path) -> None:
    path = _bench(tmp_path, lo=0.4, d_mid=700.0, latency_ms=300.0)
    run = json.loads(open(path).read())
    run["runtime_default_waits"] = {"heldout": [200.0] * 90 + [700.0] * 8 + [2100.0] * 2}
    open(path, "w").write(json.dumps(run))
    waits, cutoff, said = detector_from(path)
    assert sorted(waits.samples) == sorted(run["runtime_default_waits"]["heldout"])
    assert "8 at 700 ms" in said and cutoff == 0.25


def test_a_file_that_is_not_a_turns_bench_is_refused(tmp_path) -> None:
    other = tmp_path / "latency.json"
    other.write_text(json.dumps({"benchmark": "latency"}))
    with pytest.raises(ValueError, match="not an `omnirt bench turns` JSON"):
        detector_from(str(other))
