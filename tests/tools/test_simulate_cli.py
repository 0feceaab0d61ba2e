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


def test_what_if_the_1_5b_thinker(tmp_path):
    slow = run("--turns", 1000, "--thinker", "1.5b", "--json", tmp_path / "slow.json")
    base = run("--turns", 1000, "--json", tmp_path / "base.json")
    assert slow.returncode == 0 and base.returncode == 0, slow.stderr + base.stderr
    ttft = lambda p: json.loads(p.read_text())["stages"]["Thinker first token"]["p50_ms"]  # noqa: E731
    assert ttft(tmp_path / "slow.json") > 1.8 * ttft(tmp_path / "base.json")  # prompt 93 vs 210 tokens/s
    assert slow.stdout.count("+") > base.stdout.count("+")  # the difference column is shown


def test_budget_check_command_on_a_simulation(tmp_path):
    tight = tmp_path / "b.toml"
    tight.write_text("[voice_to_voice]\np95_ms = 100\n")
    proc = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "budget", "check", str(tight), "--turns", "500"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "over budget" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "budget", "check", str(tight),
                              str(tmp_path / "nope.jsonl")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
