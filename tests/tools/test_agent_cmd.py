"""`omnirt agent` and `omnirt replay` as a user runs them: real commands on a private Xvfb with Chromium showing two
buttons; what was clicked is read back from the screen's window title (Chromium names its window after the page)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from omnirt.agents.trajectory import load

from choice_page import OMNIRT, choice_desk, omnirt, wait_title, window_titles

pytestmark = [pytest.mark.models,
              pytest.mark.needs("Xvfb", "chromium", "xdotool")]


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    pytest.importorskip("rapidocr")
    with choice_desk(tmp_path_factory.mktemp("page")) as d:
        yield d


@pytest.fixture(scope="module")
def recorded(desk, tmp_path_factory):
    """`omnirt agent "click Cancel"` run from a fresh folder (so into runs/<timestamp>/); the window titles after."""
    cwd = tmp_path_factory.mktemp("agent")
    browser = desk.page(desk.page_file)
    try:
        assert window_titles(desk.display.name) == ["choice"]
        result = omnirt(desk.display.name, "agent", "click Cancel", cwd=cwd)
        wait_title(desk.display.name, "clicked Cancel")
        titles = window_titles(desk.display.name)
    finally:
        browser.stop()
    runs = sorted((cwd / "runs").iterdir()) if (cwd / "runs").is_dir() else []
    return result, titles, runs


def test_agent_clicks_the_named_button_and_records_the_run(recorded):
    result, titles, runs = recorded
    assert result.returncode == 0, result.stdout + result.stderr
    assert titles == ["clicked Cancel"], titles  # the right button, read back from the screen
    lines = result.stdout.splitlines()
    assert lines[0].startswith("step 0: click") and "-> executed" in lines[0], result.stdout
    assert lines[-1].startswith("done: all steps taken") and "report.html" in lines[-1], result.stdout
    assert len(runs) == 1
    run = runs[0]
    traj = load(run)
    assert not traj.truncated and traj.steps[0]["outcome"] == "executed"
    assert traj.steps[0]["instruction"] == "click Cancel" and traj.steps[0]["elements"] > 0
    assert {"capture_ms", "ground_ms", "decide_ms", "act_ms", "verify_ms"} <= set(traj.steps[0]["timings_loop"])
    assert traj.steps[-1]["action"]["action"] == "done"
    for s in traj.steps:
        for tag in ("before", "after"):
            assert (run / s["observation"][tag]["png"]).stat().st_size > 1000
    report = (run / "report.html").read_text()
    assert "click Cancel" in report and report.count("<tr class=") == len(traj.steps)
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "done" and meta["ok"] is True and meta["region"] == [0, 0, 640, 400]
    assert not list(run.glob(".*tmp*")), "a temp file was left behind"


def test_replay_dry_run_confirm_and_real(desk, recorded, tmp_path):
    """Replays through the safety layer: a deny-listed ctrl+w (added to the recording, as an LLM policy might have
    pressed it) is denied without --confirm, refused when the person says no, and the window stays open."""
    _, _, runs = recorded
    run = tmp_path / "edited"
    shutil.copytree(runs[0], run)
    n = len(load(run).steps)
    with open(run / "steps.jsonl", "a") as f:
        f.write(json.dumps({"index": n, "action": {"action": "hotkey", "keys": ["ctrl", "w"]},
                            "screen_action": {"action": "hotkey", "keys": ["ctrl", "w"]}, "outcome": "executed",
                            "reason": "hand-added", "observation": {}, "timings": {}}) + "\n")
    browser = desk.page(desk.page_file)
    try:
        dry = omnirt(desk.display.name, "replay", str(run), "--dry-run")
        assert window_titles(desk.display.name) == ["choice"], "a dry run clicked"
        asked = omnirt(desk.display.name, "replay", str(run), "--dry-run", "--confirm", stdin="n\n")
        real = omnirt(desk.display.name, "replay", str(run))
        assert wait_title(desk.display.name, "clicked Cancel"), window_titles(desk.display.name)
        assert window_titles(desk.display.name) == ["clicked Cancel"], "ctrl+w closed the window"
    finally:
        browser.stop()
    first = dry.stdout.splitlines()[0]
    assert dry.returncode == 1 and "-> dry_run" in first and "screen before: matched" in first, dry.stdout
    assert "press ctrl+w -> denied" in dry.stdout and "no confirm callback" in dry.stdout, dry.stdout
    assert "refused by the user" in asked.stdout and "confirm" in asked.stderr, asked.stdout + asked.stderr
    lines = real.stdout.splitlines()
    assert real.returncode == 1 and "-> executed" in lines[0] and "after: matched" in lines[0], real.stdout
    assert "press ctrl+w -> denied" in real.stdout


def test_a_killed_run_leaves_whole_files(desk, tmp_path):
    """SIGKILL in the middle of a run: every file in the run folder is whole (the last JSONL line may be cut)."""
    from PIL import Image

    run = tmp_path / "killed"
    browser = desk.page(desk.page_file)
    try:
        env = {**os.environ, "DISPLAY": desk.display.name, "COLUMNS": "200"}
        proc = subprocess.Popen([*OMNIRT, "agent", "click OK, then click Cancel, then click OK, then click Cancel",
                                 "--record", str(run)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        try:
            first = proc.stdout.readline()  # printed after step 0 was recorded
            proc.kill()
        finally:
            proc.wait()
    finally:
        browser.stop()
    assert first.startswith("step 0:"), first
    traj = load(run)
    assert len(traj.steps) >= 1
    for s in traj.steps:
        for o in s["observation"].values():
            if isinstance(o, dict):
                with Image.open(run / o["png"]) as im:
                    im.verify()  # a cut PNG fails here
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "running" and meta["task"].startswith("click OK")
    for page in ("report.html", "index.html"):
        assert (run / page).read_text().rstrip().endswith("</table>"), page


def test_bad_input_is_one_line(tmp_path, monkeypatch, capsys):
    from omnirt.tools.cli import main

    assert main(["agent", "click OK", "--region", "1,2,3"]) == 2
    assert capsys.readouterr().err.strip() == "omnirt: error: --region wants x,y,w,h in pixels, got '1,2,3'"
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["agent", "click OK"]) == 2
    assert capsys.readouterr().err.strip().startswith("omnirt: error: no display")
    assert main(["replay", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("omnirt: error:") and "not a trajectory folder" in err and "\n" not in err


def test_a_key_chord_in_the_task_reaches_the_safety_layer_as_keys(desk, tmp_path):
    """Issue 17 row 9: "press ctrl+alt+delete" was planned as a click on an element of that name and never reached
    the safety layer as keys; now it is a hotkey, denied (no --confirm) with a one-line reason."""
    r = omnirt(desk.display.name, "agent", "--dry-run", "press ctrl+alt+delete", "--record", str(tmp_path / "run"))
    lines = r.stdout.splitlines()
    assert r.returncode == 1, r.stdout + r.stderr
    assert lines[0].startswith("step 0: press ctrl+alt+delete -> denied (ctrl+alt+delete matches deny-listed"), lines
    assert lines[-1].startswith("denied (dry run): ") and len(lines) == 2, lines
    assert load(tmp_path / "run").steps[0]["screen_action"] == {"action": "hotkey", "keys": ["ctrl", "alt", "delete"]}
