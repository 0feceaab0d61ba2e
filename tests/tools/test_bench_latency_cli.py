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
                                           (["--client", "chromium", "--peer", "pipecat"], "aiortc client only")])
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
