"""`omnirt profile` on real traces: waterfalls and a stage table, calibration the simulator can load, budget exit
status for CI, and one-line errors for bad trace files."""

import json
import subprocess
import sys

import pytest

from omnirt.tools.clips import make_clip
from omnirt.tools.questions import QUESTIONS


def omnirt(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "omnirt.tools.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("traces")
    code = ("import asyncio, sys; from pathlib import Path; "
            "from omnirt.tools.reply import reply; from omnirt.tools.voice import VoiceConfig, load_components; "
            "c = load_components(VoiceConfig()); "
            "[asyncio.run(reply(Path(q), Path(sys.argv[1]) / f'a{i}.wav', VoiceConfig(realtime=False), c, "
            "Path(sys.argv[1]) / f't{i}')) for i, q in enumerate(sys.argv[2:])]")
    clips = [make_clip(q.text, "piper") for q in QUESTIONS[:4]]
    proc = subprocess.run([sys.executable, "-c", code, str(d), *map(str, clips)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [d / f"t{i}" / "trace.jsonl" for i in range(4)]


@pytest.mark.models
def test_waterfalls_and_stage_table(traces, tmp_path):
    proc = omnirt("profile", *traces, "--out", tmp_path / "p")
    assert proc.returncode == 0, proc.stderr
    assert "ASR done" in proc.stdout and "voice-to-voice" in proc.stdout
    assert (tmp_path / "p" / "waterfall.html").read_text().count("<svg") == 4
    assert (tmp_path / "p" / "turn-001.png").stat().st_size > 1000
    events = json.loads((tmp_path / "p" / "trace.chrome.json").read_text())["traceEvents"]
    assert any(e["ph"] == "X" and e["name"] == "asr" for e in events)


@pytest.mark.models
def test_calibrate_then_simulate(traces, tmp_path):
    model = tmp_path / "m.toml"
    proc = omnirt("profile", "calibrate", *traces, "-o", model)
    assert proc.returncode == 0, proc.stderr
    sim = omnirt("simulate", "--config", model, "--turns", 2000, "--json", tmp_path / "s.json")
    assert sim.returncode == 0, sim.stderr
    assert json.loads((tmp_path / "s.json").read_text())["stages"]["ASR done"]["n"] == 2000


@pytest.mark.models
def test_budget_on_measured_turns(traces, tmp_path):
    tight, loose = tmp_path / "t.toml", tmp_path / "l.toml"
    tight.write_text('[stages."ASR done"]\np95_ms = 1\n')
    loose.write_text('[voice_to_voice]\np50_ms = 60000\n')
    bad = omnirt("profile", "budget", tight, *traces)
    assert bad.returncode == 1 and "over budget" in bad.stdout
    assert omnirt("profile", "budget", loose, *traces).returncode == 0


def test_bad_trace_is_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not json\n")
    for args in (("profile", bad), ("profile", tmp_path / "missing.jsonl"), ("profile", "calibrate", bad)):
        proc = omnirt(*args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
