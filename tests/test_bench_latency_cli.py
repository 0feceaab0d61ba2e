"""`omnirt bench latency` refuses arguments it cannot honour with one line, before starting a server."""

import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "bench", "latency", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [(["--turns", "0"], "--turns must be at least 1"),
                                           (["--client", "chromium", "--idle", "2"], "aiortc client only")])
def test_bad_arguments_get_one_line(args, message):
    proc = run(*args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1
    assert lines[0].startswith("omnirt: error: ") and message in lines[0]
