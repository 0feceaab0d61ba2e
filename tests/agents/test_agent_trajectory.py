"""Record and replay: round trip on a real screen, a run killed mid-write stays readable, replay re-executes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from omnirt.agents.display import Desk
from screen_helpers import find_color
from omnirt.agents.executor import Executor
from omnirt.agents.safety import SafetyPolicy
from omnirt.agents.trajectory import Recorder, build_report, load, replay, run_step

PAGES = Path(__file__).parents[1] / "data" / "agent"
GREEN = (0, 160, 0)
FULL = (0, 0, 1280, 800)
needs_x = pytest.mark.needs("Xvfb", "chromium")

SCRIPT = [
    {"action": "click", "x": 300, "y": 200},
    {"action": "type", "text": "ok\n"},                   # control character, no confirm callback: denied
    {"action": "hotkey", "keys": ["alt", "f4"]},          # deny-listed: denied
    {"action": "click", "x": 300},                        # invalid
    {"action": "click", "x": 700, "y": 500},
    {"action": "done", "summary": "clicked twice"},
]


def green_at(img: np.ndarray) -> tuple[float, float] | None:
    hit = find_color(img, GREEN, 40, (0, 0, 1270, 800))
    return None if hit is None else hit[:2]


def wait_green(desk: Desk, where: tuple[float, float], timeout: float = 3.0) -> None:
    t0 = time.monotonic()
    while green_at(desk.grab()) != where:
        assert time.monotonic() - t0 < timeout, f"click at {where} never showed"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A desk with the dot page and a recorded run of SCRIPT."""
    if not (shutil.which("Xvfb") and shutil.which("chromium")):
        pytest.skip("needs Xvfb and chromium")
    desk = Desk(1280, 800)
    try:
        with desk.page(PAGES / "dot.html"):
            run_dir = tmp_path_factory.mktemp("traj") / "run1"
            ex = Executor(SafetyPolicy(allowed_region=FULL), desk.backend)
            with Recorder(run_dir) as rec:
                outs = [run_step(ex, desk.screen, rec, a)[0] for a in SCRIPT]
            yield desk, run_dir, outs
    finally:
        desk.close()


@needs_x
def test_round_trip(recorded) -> None:
    desk, run_dir, outs = recorded
    assert [o.status for o in outs] == ["executed", "denied", "denied", "invalid", "executed", "executed"]
    traj = load(run_dir)
    assert not traj.truncated and [s["index"] for s in traj.steps] == list(range(6))
    for s, o in zip(traj.steps, outs):
        assert s["outcome"] == o.status and s["reason"] == o.reason and s["action"] == o.action
        assert s["decision"] == o.decision
        if o.status != "invalid":
            assert "total_ms" in s["timings"] and "record_ms" in s["timings"]
        for tag in ("before", "after"):
            png = run_dir / s["observation"][tag]["png"]
            with Image.open(png) as im:
                assert im.size == (1280, 800)
            assert s["observation"][tag]["size"] == [1280, 800]
    first, denied = traj.steps[0], traj.steps[2]
    assert first["screen_action"] == {"action": "click", "x": 300, "y": 200}
    assert first["observation"]["changed_regions"], "the executed click changed nothing on record"
    assert denied["observation"]["changed_regions"] == [] and denied["decision"]["needs_confirmation"]
    with Image.open(run_dir / first["observation"]["after"]["png"]) as im:
        assert green_at(np.asarray(im.convert("RGB"))) == (300.0, 200.0)  # the 'after' shot shows the click
    html = (run_dir / "index.html").read_text()
    assert html.count("<tr class=") == 6 and html.count("<img ") == 12 and "alt+f4 matches deny-listed" in html
    assert not [p for p in os.listdir(run_dir) if ".tmp" in p]


@needs_x
def test_replay_re_executes_through_the_safety_layer(recorded) -> None:
    desk, run_dir, _ = recorded
    ex = Executor(SafetyPolicy(allowed_region=FULL), desk.backend)
    assert ex.execute({"action": "click", "x": 1000, "y": 100}).executed
    wait_green(desk, (1000.0, 100.0))
    outs = replay(run_dir, ex)
    assert [o.status for o in outs] == ["executed", "denied", "denied", "executed", "executed"]  # invalid skipped
    wait_green(desk, (700.0, 500.0))  # the last recorded click happened again
    # Replayed under a tighter policy, the same actions are judged again and denied.
    strict = Executor(SafetyPolicy(allowed_region=(0, 0, 100, 100)), desk.backend)
    outs = replay(run_dir, strict)
    assert [o.status for o in outs] == ["denied", "denied", "denied", "denied", "executed"]
    time.sleep(0.1)
    assert green_at(desk.grab()) == (700.0, 500.0)


CHILD = r"""
import sys, time, numpy as np
from omnirt.agents.executor import Executor
from omnirt.agents.safety import SafetyPolicy
from omnirt.agents.screen import Screenshot, Monitor
from omnirt.agents.trajectory import Recorder
ex = Executor(SafetyPolicy(allowed_region=(0, 0, 640, 400), max_steps=None, dry_run=True))  # no display needed
rng = np.random.default_rng(0)
with Recorder(sys.argv[1]) as rec:
    for i in range(10_000):
        img = rng.integers(0, 256, (400, 640, 3), dtype=np.uint8)
        f = Screenshot(img, Monitor(0, 0, 0, 640, 400), 1.0, 1.0, time.time(), 0.0)
        out = ex.execute({"action": "click", "x": i % 640, "y": 7}, f)
        rec.record(out, f, f)
        print(i, flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.004, 0.013])
def test_killed_run_stays_readable(tmp_path: Path, delay: float) -> None:
    run_dir = tmp_path / "killed"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(6):  # let it write a few steps, then kill it in the middle of the next one
            assert proc.stdout.readline(), "child died early"
        time.sleep(delay)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    traj = load(run_dir)
    assert len(traj.steps) >= 6
    assert [s["index"] for s in traj.steps] == list(range(len(traj.steps)))
    for s in traj.steps:
        assert s["outcome"] == "dry_run"
        for tag in ("before", "after"):
            with Image.open(run_dir / s["observation"][tag]["png"]) as im:
                im.load()  # every referenced PNG is complete
    html = (run_dir / "index.html").read_text()
    assert html.endswith("</table>")  # the report is whole (old or new, never half)
    # The report can always be rebuilt from the JSONL.
    assert build_report(run_dir).read_text().count("<tr class=") == len(traj.steps)


def test_cut_last_line_is_skipped_and_a_corrupt_middle_raises(tmp_path: Path) -> None:
    good = {"index": 0, "action": {"action": "done"}, "outcome": "executed"}
    p = tmp_path / "steps.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "index": 1})[:17])
    traj = load(tmp_path)
    assert traj.truncated and len(traj.steps) == 1
    # A recorder resuming after a cut line drops it and numbers on: the cut step is the only loss.
    from omnirt.agents.executor import Outcome

    with Recorder(tmp_path, report=False) as rec:
        step = rec.record(Outcome("executed", "resumed", action={"action": "done"}))
    assert step["index"] == 1
    traj = load(tmp_path)
    assert not traj.truncated and [s["index"] for s in traj.steps] == [0, 1] and traj.steps[1]["reason"] == "resumed"
    p.write_text(json.dumps(good) + "\n" + '{"index": 1, "act' + "\n" + json.dumps({**good, "index": 2}) + "\n")
    with pytest.raises(ValueError, match="corrupt line"):
        load(tmp_path)
