"""`omnirt simulate` as a person (or CI) runs it: a table, what-if switches, a budget that fails the exit status."""

import json
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "simulate", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_default_pipeline_and_what_if(tmp_path):
    one = run("--turns", 2000, "--json", tmp_path / "one.json")
    four = run("--turns", 2000, "--sessions", 8, "--json", tmp_path / "eight.json")
    assert one.returncode == 0 and four.returncode == 0, one.stderr + four.stderr
    assert "voice-to-voice" in one.stdout
    # the default model says which host its stage times come from: a prediction is for a host like that one
    from omnirt.runtime.simulator.calibration import calibration_run
    probe = calibration_run()["settings"]["cpu_probe_ms"][0]
    said = " ".join(one.stdout.split())  # the console wraps lines
    assert f"CPU probe read {probe}" in said
    p95 = lambda p: json.loads(p.read_text())["voice_to_voice"]["p95_ms"]  # noqa: E731
    assert p95(tmp_path / "eight.json") > p95(tmp_path / "one.json")  # 8 sessions on 2 cores queue


def test_budget_sets_the_exit_status(tmp_path):
    tight, loose = tmp_path / "tight.toml", tmp_path / "loose.toml"
    tight.write_text("[voice_to_voice]\np50_ms = 300\n")
    loose.write_text("[voice_to_voice]\np50_ms = 5000\n")
    bad = run("--turns", 1000, "--budget", tight)
    assert bad.returncode == 1 and "over budget" in bad.stdout and "voice_to_voice.p50_ms" in bad.stdout
    good = run("--turns", 1000, "--budget", loose)
    assert good.returncode == 0 and "within budget" in good.stdout


def test_malformed_budget_is_one_line(tmp_path):
    bad = tmp_path / "b.toml"
    bad.write_text("[voice_to_voice\np50 = ")
    proc = run("--turns", 100, "--budget", bad)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_what_if_the_other_thinker(tmp_path):
    # relative to the Thinker the default model was fitted with (the calibration run says which)
    from omnirt.runtime.simulator.calibration import calibration_run
    fitted = calibration_run()["settings"]["thinker"]
    other = "0.5b" if fitted == "1.5b" else "1.5b"
    what_if = run("--turns", 1000, "--thinker", other, "--json", tmp_path / "other.json")
    same = run("--turns", 1000, "--thinker", fitted, "--json", tmp_path / "same.json")
    base = run("--turns", 1000, "--json", tmp_path / "base.json")
    assert what_if.returncode == 0 and same.returncode == 0 and base.returncode == 0, what_if.stderr + base.stderr
    ttft = lambda p: json.loads(p.read_text())["stages"]["Thinker first token"]["p50_ms"]  # noqa: E731
    ratio = ttft(tmp_path / "other.json") / ttft(tmp_path / "base.json")
    assert ratio > 1.8 if other == "1.5b" else ratio < 1 / 1.8  # prompt 93 vs 210 tokens/s
    assert abs(ttft(tmp_path / "same.json") - ttft(tmp_path / "base.json")) < 0.05 * ttft(tmp_path / "base.json")
    assert what_if.stdout.count("+") + what_if.stdout.count("-") > base.stdout.count("+") + base.stdout.count("-")


def test_the_thinker_what_if_scales_from_the_fitted_thinker():
    from omnirt.tools.simulate import THINKER_1_5B, thinker_factors
    assert thinker_factors("1.5b", "0.5b") == THINKER_1_5B == thinker_factors("1.5b", None)
    assert all(v == 1.0 for v in thinker_factors("1.5b", "1.5b").values())
    assert all(abs(v * THINKER_1_5B[k] - 1) < 1e-9 for k, v in thinker_factors("0.5b", "1.5b").items())
    import pytest
    with pytest.raises(ValueError, match="cannot scale"):
        thinker_factors("0.5b", "some-model")


def test_budget_check_command_on_a_simulation(tmp_path):
    tight = tmp_path / "b.toml"
    tight.write_text("[voice_to_voice]\np95_ms = 100\n")
    proc = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "budget", "check", str(tight), "--turns", "500"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "over budget" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "budget", "check", str(tight),
                              str(tmp_path / "nope.jsonl")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
