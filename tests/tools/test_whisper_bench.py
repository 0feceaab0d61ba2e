"""`omnirt bench asr`: the text normalisation behind its WER, and one small real run end to end."""

from __future__ import annotations

import argparse
import json

import pytest
from rich.console import Console

from omnirt.tools.bench import asr as bench


def test_number_words() -> None:
    assert bench.number_words(0) == "zero"
    assert bench.number_words(20) == "twenty"
    assert bench.number_words(45) == "forty five"
    assert bench.number_words(1999) == "one thousand nine hundred ninety nine"
    assert bench.number_words(2_000_005) == "two million five"


def test_normalise_and_wer() -> None:
    assert bench.normalise("The train leaves in 20 minutes.") == "the train leaves in twenty minutes"
    assert bench.normalise("It's 2.5 km - \"quite\" far!") == "it's two point five km quite far"
    assert bench.wer(["The train leaves in twenty minutes."], ["the train leaves in 20 minutes"]) == 0.0
    assert bench.wer(["one two three four"], ["one two four"]) == pytest.approx(0.25)
    assert bench.wer(["one two"], [""]) == 1.0


@pytest.mark.models
def test_bench_runs_and_writes_json(tmp_path) -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    out = tmp_path / "asr.json"
    args = parser.parse_args(["--json", str(out), "--engines", "onnx-int8,faster-whisper-int8",
                              "--voices", "flite", "--sentences", "2"])
    console = Console(record=True, width=160)
    assert bench.run(args, console) == 0
    report = json.loads(out.read_text())
    assert report["clips"] == 2 and report["timestamps"] is True
    for name in ("onnx-int8", "faster-whisper-int8"):
        r = report["engines"][name]
        assert 0.0 <= r["wer"]["all"] <= 0.5 and 0.0 < r["rtf"]["all"] < 2.0
        assert len(r["clips"]) == 2 and all(c["hyp"] for c in r["clips"])
    assert "WER all" in console.export_text()
    bad = parser.parse_args(["--json", str(out), "--engines", "whisper-large"])
    assert bench.run(bad, console) == 2
