"""`omnirt serve --cluster ... --drain HOST` is a request to the running front door: without one, or without
--cluster, it says so in one line and exits 2 (the draining itself: test_faults.py, through the door's /drain)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("extra, says", [
    (["--cluster", "local:2", "--drain", "abc", "--port", "1"], "omnirt: error: no front door at 127.0.0.1:1 ("),
    (["--drain", "abc"], "omnirt: error: --drain HOST (and --undrain) go with --cluster"),
    (["--cluster", "local:2", "--undrain"], "omnirt: error: --drain HOST (and --undrain) go with --cluster"),
])
def test_drain_without_a_front_door_is_one_line(extra, says):
    r = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "serve", *extra], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().startswith(says) and "\n" not in r.stderr.strip(), r.stderr
    assert "loading models" not in r.stdout and "starting a local Ray cluster" not in r.stdout
