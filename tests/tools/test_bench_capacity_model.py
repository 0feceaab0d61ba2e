"""`bench capacity`'s host model: a one-core session host fitted to one measured point and the Thinker's cost of a
switched cache, checked on a made-up point whose arithmetic is done by hand."""

import pytest

from omnirt.runtime.simulator import Empirical, Fixed
import re

from omnirt.tools.bench.capacity_model import at_point, first_clause_tokens, host_model, steady_at, steady_load

SEGMENTS = {"end of speech detected": 100.0, "ASR done": 200.0, "Thinker first token": 300.0,
            "Talker first audio": 400.0, "held for commit": 0.0}
TURN = {"answered": True, "voice_to_voice_ms": 1200.0, "reply_ms": 5000.0,  # 20 tokens at 250 ms of audio each
        "server": {"total": 1000.0, "segments": SEGMENTS}}
POINT = {"sessions": 1, "seconds": 40.0, "clients_cpu_s": 2.0, "door_cpu_s": 0.4, "idle": {"nodes": 0.05},
         "cpu_per_turn_ms": 2000.0, "records": [TURN] * 4}
SWITCH = {"token_ms": 30.0, "judge": {"own_ms": [20.0, 20.0], "switch_ms": 20.0, "switch_ms_per_turn": 60.0},
          "answer": {"own_ms": [60.0, 60.0], "switch_ms": 120.0, "switch_ms_per_turn": 80.0}}


def test_the_steady_load_per_session_is_the_clients_and_door_over_the_point_and_the_node_while_silent():
    load = steady_load({**POINT, "sessions": 2})
    assert load == {"fixed": 0.0, "clients": pytest.approx(2.4 / 40 / 2), "node": pytest.approx(0.025)}


def test_what_an_empty_cluster_costs_is_fixed_and_spread_over_the_nodes_cores():
    empty = {"nodes": 0.03, "clients": 0.02, "door": 0.01}
    load = steady_load({**POINT, "sessions": 2, "idle_empty": empty}, nodes=2)
    assert load == {"fixed": pytest.approx(0.06 / 2), "clients": pytest.approx((2.4 / 40 - 0.03) / 2),
                    "node": pytest.approx((0.05 - 0.03) / 2)}


def test_the_host_model_takes_the_measured_stages_less_the_load_beside_them_and_leaves_the_rest_after_audio():
    model, parts = host_model(POINT, SWITCH)
    alone = 1 - (0.06 + 0.05)
    stages = {st.name: st for st in model.stages}
    assert model.background == {"cpu": pytest.approx(0.11)} and model.shared == ("cpu",)
    assert model.resources == {"cpu": 1}
    assert isinstance(stages["asr"].service, Empirical)
    assert stages["asr"].service.samples == pytest.approx((alone * 200.0,) * 4)
    assert stages["tts first chunk"].service.samples == pytest.approx((alone * 400.0 - 7 * 30.0,) * 4)
    assert [n for n, st in stages.items() if st.lock == "thinker"] == ["thinker judge", "thinker prefill",
                                                                       "thinker first clause", "thinker rest"]
    judge, prefill = stages["thinker judge"], stages["thinker prefill"]
    assert judge.release and not prefill.release  # two requests: the answer takes the lock anew
    assert (judge.switch_ms, judge.switch_ms_per_turn, prefill.switch_ms, prefill.switch_ms_per_turn) == \
        (20.0, 60.0, 120.0, 80.0)
    assert (judge.service, prefill.service) == (Fixed(20.0), Fixed(60.0))  # llama.cpp's own work, alone
    assert stages["thinker around"].service.samples == pytest.approx((alone * 300.0 - 80.0,) * 4)
    assert stages["thinker around"].lock is None
    thinker_rest = 30.0 * (20 - 7)
    steady = 1e3 * 0.05 * 40 / 4
    assert parts["thinker_rest_ms"] == pytest.approx(thinker_rest)
    assert stages["after first audio"].service == Fixed(pytest.approx(2000.0 - steady - alone * 900.0 - thinker_rest))
    assert stages["after first audio"].segment is None and stages["after first audio"].lock is None


def words(text):
    """A stand-in tokenizer: a word and the space before it per token, as a BPE model streams most words."""
    return re.findall(r"\s*\S+", text)


@pytest.mark.parametrize("answer, tokens", [
    ("The capital of France is Paris.", 4),  # 'The' first; 'France' ends the first chunk once ' is' has begun
    ("2 plus 3 equals 5.", 3),  # '3' is the third word and may end a phrase: released with ' equals'
    ("Well, it depends on the day.", 3),  # one word before the comma is too few: the first chunk rule cuts
    ("Yes.", 1),  # no clause before the end: released by the end of the stream
])
def test_the_first_clause_is_counted_in_tokens_after_the_first_as_the_talkers_splitter_releases_it(answer, tokens):
    assert first_clause_tokens(answer, words) == tokens


def test_with_a_tokenizer_the_host_model_takes_the_first_clause_from_the_points_answers():
    turns = [{**TURN, "answer": a} for a in ("The capital of France is Paris.", "2 plus 3 equals 5.")] * 2
    model, parts = host_model({**POINT, "records": turns}, SWITCH, words)
    stages = {st.name: st for st in model.stages}
    assert sorted(model.chunking.first_clause_tokens.samples) == [3.0, 3.0, 4.0, 4.0]
    assert parts["first_clause_tokens"] == 3.5 and parts["clause_counted"]
    alone = 1 - (0.06 + 0.05)
    assert stages["tts first chunk"].service.samples == pytest.approx((alone * 400.0 - 3.5 * 30.0,) * 4)


def test_the_steady_work_at_a_point_is_what_it_measured_silent_plus_what_talking_adds_per_session():
    """First point: clients and door 2.4 s over 40 s (0.06 of a core) against 0.04 silent: talking adds 0.02 a
    session. A 2-node point of 4 sessions measured 0.1 + 0.02 + 0.18 silent: per node core (0.3 + 4 x 0.02) / 2."""
    first = {**POINT, "idle": {"nodes": 0.05, "door": 0.01, "clients": 0.03}}
    point = {**POINT, "sessions": 4, "idle": {"nodes": 0.1, "door": 0.02, "clients": 0.18}}
    assert steady_at(point, 2, first) == pytest.approx((0.3 + 4 * 0.02) / 2)
    model, _ = host_model(first, SWITCH)
    there = at_point(model, point, 2, first)
    assert there.background == {} and there.background_fixed == {"cpu": pytest.approx(0.19)}
    assert at_point(model, {**point, "idle": {}}, 2, first) is model  # nothing measured there: as calibrated


def _simulate(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "simulate", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_simulate_predicts_the_capacity_curve_from_a_capacity_run_and_refuses_a_file_that_is_not_one(tmp_path):
    import json

    run = tmp_path / "capacity.json"
    run.write_text(json.dumps({"settings": {"gap_s": [1.0, 3.0], "turns": 6},
                               "runs": [{"nodes": 1, "points": [POINT]}], "host_model": {"thinker_switch": SWITCH}}))
    p95 = {}
    for sessions in (2, 4):
        out = tmp_path / f"{sessions}.json"
        proc = _simulate("--turns", 1200, "--nodes", 2, "--sessions", sessions, "--host-from", run, "--json", out)
        assert proc.returncode == 0, proc.stderr
        assert "CPU probe read" not in " ".join(proc.stdout.split())  # its stage times are the capacity run's
        p95[sessions] = json.loads(out.read_text())["voice_to_voice"]["p95_ms"]
    assert p95[4] > 1.5 * p95[2]  # two sessions on one host: one waits for the other's Thinker
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"bench": "latency"}))
    proc = _simulate("--nodes", 2, "--sessions", 2, "--host-from", bad)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_the_benchs_schedule_is_each_sessions_first_question_from_the_first_and_the_door_alternates_nodes():
    from omnirt.tools.bench.capacity import first_questions
    from omnirt.tools.simulate import node_loads, node_placement

    records = [{"session": 1, "t_asked": 10.5}, {"session": 0, "t_asked": 10.2}, {"session": 1, "t_asked": 17.0},
               {"session": 2, "t_asked": 12.0}, {"session": 0, "t_asked": 16.0}]
    assert first_questions(records) == pytest.approx([0.0, 300.0, 1800.0])
    assert node_placement(2, 5) == [0, 1, 0, 1, 0] and node_loads(2, 5) == [3, 2]


def test_each_cores_busy_share_is_its_busy_ticks_over_all_its_ticks_between_two_reads():
    from omnirt.tools.bench.capacity import cores_busy

    assert cores_busy([(10, 100), (0, 100), (7, 50)], [(60, 200), (5, 200), (7, 50)]) == [0.5, 0.05, 0.0]


def test_a_kept_thinker_measurement_is_used_only_for_the_thinker_it_was_made_with(tmp_path):
    import io
    import json

    from rich.console import Console

    from omnirt.tools.bench.capacity import _thinker_switch

    kept = tmp_path / "switch.json"
    kept.write_text(json.dumps({**SWITCH, "model": "qwen2.5-coder-1.5b-instruct"}))
    assert _thinker_switch(kept, "qwen2.5-coder-1.5b-instruct", Console(file=io.StringIO()))["model"] == \
        "qwen2.5-coder-1.5b-instruct"
    old = tmp_path / "old.json"  # measured before the file said which model: the 0.5B, the default then
    old.write_text(json.dumps({k: v for k, v in SWITCH.items() if k != "model"}))
    assert _thinker_switch(old, "qwen2.5-coder-0.5b-instruct", Console(file=io.StringIO())) == \
        json.loads(old.read_text())
