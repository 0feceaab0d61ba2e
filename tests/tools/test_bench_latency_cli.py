"""`omnirt bench latency` refuses arguments it cannot honour with one line, before starting a server."""

import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "bench", "latency", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [(["--turns", "0"], "--turns must be at least 1"),
                                           (["--client", "chromium", "--idle", "2"], "aiortc client only"),
                                           (["--camera", "both", "--block", "0"], "--block must be at least 1"),
                                           (["--client", "chromium", "--no-client-camera"], "needs the aiortc"),
                                           (["--client", "chromium", "--peer", "pipecat"], "aiortc client only"),
                                           (["--voices", "piper,robot"], "--voices takes a comma-separated list")])
def test_bad_arguments_get_one_line(args, message):
    proc = run(*args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1
    assert lines[0].startswith("omnirt: error: ") and message in lines[0]


def test_the_camera_a_b_alternates_blocks_so_both_arms_hear_the_same_questions():
    from omnirt.tools.bench.latency import _blocks

    order = _blocks(["on", "off"], 7, 2)
    assert order == [("on", 0, 2), ("off", 0, 2), ("off", 2, 4), ("on", 2, 4), ("on", 4, 6), ("off", 4, 6),
                     ("off", 6, 7), ("on", 6, 7)]
    assert _blocks(["on"], 7, 2) == [("on", 0, 7)]


def test_a_chromium_turn_keeps_the_servers_waterfall_as_the_page_drew_it():
    from omnirt.tools.bench.latency_chromium import _waterfall

    fall = {"title": "turn 3: 452 ms from the end of your speech to the first reply audio",
            "rows": [["end of speech detected", 38.0], ["ASR done", 110.0], ["Thinker first token", 105.0],
                     ["Talker first audio", 122.0], ["voice-to-voice", 452.0]]}
    w = _waterfall(fall)
    assert w["total"] == 452.0 and w["segments"]["ASR done"] == 110.0 and "voice-to-voice" not in w["segments"]
    assert w["page_title"].startswith("turn 3")
    assert _waterfall({"rows": []}) is None and _waterfall({"rows": [["ASR done", 1.0]]}) is None  # no total drawn
