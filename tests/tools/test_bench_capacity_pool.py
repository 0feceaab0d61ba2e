"""`bench capacity --pool`: turns of runs at different seeds pooled point by point (tools/bench/capacity_pool.py)."""

import json

import pytest

from omnirt.tools.bench.capacity_pool import load, pool, run, spread

SETTINGS = {"nodes": "1,2", "sessions_per_node": "1,2", "turns": 2, "gap_s": [1.0, 3.0], "thinker": "0.5b",
            "talker": "piper"}


def _point(sessions, v2v, predicted_p95, answered=True):
    return {"sessions": sessions, "records": [{"voice_to_voice_ms": v, "answered": answered} for v in v2v],
            "predicted_host": {"bench_p50": predicted_p95 / 2, "bench_p95": predicted_p95}}


def _run(seed, scale, **settings):
    """Points whose every turn is `scale` x a base value: 1 node with 1 and 2 sessions, 2 nodes with 2 and 4."""
    return {"bench": "capacity", "cpu_probe_ms": [8.0, 8.0], "settings": {**SETTINGS, "seed": seed, **settings},
            "runs": [{"nodes": 1, "points": [_point(1, [500 * scale] * 4, 520), _point(2, [900 * scale] * 8, 1000)]},
                     {"nodes": 2, "points": [_point(2, [500 * scale] * 8, 600), _point(4, [800 * scale] * 16, 700)]}]}


def test_turns_are_pooled_per_point_and_the_model_judged_on_the_mean_of_its_predictions():
    out = pool([_run(0, 1.0), _run(1, 1.2)])
    one = {(r["nodes"], r["sessions"]): r for r in out["points"]}
    assert one[(1, 1)]["turns"] == 8 and one[(1, 1)]["seeds"] == [0, 1]
    assert one[(1, 1)]["p50"] == pytest.approx(550)  # half the turns at 500, half at 600
    assert one[(1, 1)]["p95"] == pytest.approx(600)
    assert one[(2, 4)]["predicted_p95"] == 700 and one[(2, 4)]["p95_error"] == pytest.approx(700 / 960 - 1, abs=1e-3)
    # (1,1) -> 520/600 -13 %, (1,2) -> 1000/1080 -7 %, (2,2) 0 %, (2,4) -27 %: three of four within 15 %
    assert (out["within"], out["judged"]) == (3, 4)


def test_capacity_is_read_on_the_pooled_curves_at_one_limit_for_both_node_counts():
    out = pool([_run(0, 1.0), _run(1, 1.0)])
    assert out["p95_limit_ms"] == 650  # 1.3 x the pooled first point's p95 (500)
    one, _ = out["capacity_at_limit"][1]
    two, _ = out["capacity_at_limit"][2]
    assert one == pytest.approx(1 + 150 / 400, abs=0.01)  # 500 -> 900 between 1 and 2 sessions
    assert two == pytest.approx(2 + 2 * 150 / 300, abs=0.01)  # 500 -> 800 between 2 and 4 sessions
    assert out["two_over_one"] == pytest.approx(two / one, abs=1e-3)
    assert pool([_run(0, 1.0)], p95_limit_ms=900)["capacity_at_limit"][1] == (2.0, "reached")


def test_unanswered_turns_are_not_pooled_as_latencies():
    r = _run(0, 1.0)
    r["runs"][0]["points"][0]["records"].append({"voice_to_voice_ms": 99999, "answered": False})
    assert {(p["nodes"], p["sessions"]): p["turns"] for p in pool([r])["points"]}[(1, 1)] == 4


def test_runs_of_another_shape_or_not_capacity_runs_are_refused_in_one_line(tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    a.write_text(json.dumps(_run(0, 1.0)))
    b.write_text(json.dumps(_run(1, 1.0, turns=6)))
    c.write_text(json.dumps({"bench": "latency"}))
    with pytest.raises(SystemExit, match=r"differ in turns .*differing only in --seed"):
        load([str(a), str(b)])
    with pytest.raises(SystemExit, match="not a finished `bench capacity` JSON"):
        load([str(a), str(c)])
    with pytest.raises(SystemExit, match="missing.json"):
        load([str(tmp_path / "missing.json")])


def test_the_command_prints_the_pooled_table_and_writes_its_json(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_run(0, 1.0)))
    b.write_text(json.dumps(_run(1, 1.1)))
    out_path = tmp_path / "pool.json"
    assert run([str(a), str(b)], str(out_path), None) == 0
    printed = capsys.readouterr().out
    assert "pooled 2 runs (seeds [0, 1]" in printed and "2 nodes / 1 node at the same p95, pooled:" in printed
    saved = json.loads(out_path.read_text())
    assert saved["runs"] == 2 and saved["sources"] == [str(a), str(b)] and len(saved["points"]) == 4


def test_two_nodes_are_set_against_one_at_each_load_a_node_measured_at_both():
    r = _run(0, 1.0)
    r["runs"][1]["points"].append(_point(6, [700] * 24, 800))  # 3 a node on 2 nodes, never measured on 1
    rows = pool([r])["load_for_load"]
    assert [(x["per_node"], x["one"], x["two"]) for x in rows] == [(1, 500, 500), (2, 900, 800)]
    assert rows[1]["change"] == pytest.approx(800 / 900 - 1, abs=1e-3)


def test_the_command_line_writes_the_pool_where_json_says_and_leaves_other_names_alone(tmp_path, monkeypatch, capsys):
    from omnirt.tools.cli import main

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_run(0, 1.0)))
    b.write_text(json.dumps(_run(1, 1.0)))
    mine = tmp_path / "my-capacity.json"
    assert main(["bench", "capacity", "--pool", str(a), str(b), "--json", str(mine)]) == 0
    assert json.loads(mine.read_text())["bench"] == "capacity-pool"
    monkeypatch.chdir(tmp_path)  # the default: beside the measured runs' default file, not over it
    assert main(["bench", "capacity", "--pool", str(a), str(b)]) == 0
    assert (tmp_path / "bench-results" / "capacity-pool.json").is_file()
    assert not (tmp_path / "bench-results" / "capacity.json").exists()


def test_the_spread_over_resampled_runs_is_nil_for_alike_runs_and_brackets_the_pool_for_unlike_ones():
    alike = spread([_run(0, 1.0), _run(1, 1.0), _run(2, 1.0)], draws=50)
    assert alike["two_over_one"] == [pytest.approx(alike["two_over_one"][1])] * 2
    assert all(lo == hi for lo, hi in alike["load_for_load"].values())
    unlike = [_run(0, 1.0), _run(1, 1.0), _run(2, 1.0)]
    unlike[2]["runs"][1]["points"][1]["records"] = [{"voice_to_voice_ms": 2000, "answered": True}] * 16  # 2 x 4 slow
    band = spread(unlike, draws=200)
    pooled = pool(unlike)
    lo, hi = band["load_for_load"][2]
    assert lo < hi and lo <= pooled["load_for_load"][1]["change"] <= hi
    assert band["two_over_one"][0] < band["two_over_one"][1]
    assert band == spread(unlike, draws=200)  # seeded: the same intervals every time


def test_the_command_prints_the_intervals_of_resampled_pools(tmp_path, capsys):
    paths = []
    for seed, scale in ((0, 1.0), (1, 1.3)):
        paths.append(tmp_path / f"{seed}.json")
        paths[-1].write_text(json.dumps(_run(seed, scale)))
    assert run([str(p) for p in paths], str(tmp_path / "pool.json"), None) == 0
    printed = capsys.readouterr().out
    assert "90 % of resampled pools" in printed and "drawn with replacement 1000 times" in printed
    assert json.loads((tmp_path / "pool.json").read_text())["spread"]["draws"] == 1000
