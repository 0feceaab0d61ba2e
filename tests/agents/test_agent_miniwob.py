"""MiniWoB++ end to end through pixels only: instruction by OCR, elements by grounding, real mouse and keyboard;
the reward comes from the page (over DevTools, which the agent never reads)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

pytestmark = [pytest.mark.models,
              pytest.mark.needs("Xvfb", "chromium")]


@pytest.fixture(scope="module")
def world():
    pytest.importorskip("rapidocr")
    from omnirt.agents.executor import PyAutoGUIBackend
    from omnirt.agents.grounding import Grounder, GroundingOptions
    from omnirt.agents.miniwob_env import MiniWoBEnv, html_root
    from omnirt.agents.policies import InstructionPolicy
    from omnirt.agents.screen import Screen, ScreenOptions

    try:
        html_root()
    except Exception as e:
        pytest.skip(str(e))
    env = MiniWoBEnv()
    screen = Screen(ScreenOptions(display=env.display.name))
    yield (env, screen, PyAutoGUIBackend(env.display.name), Grounder(GroundingOptions(scale=env.options.scale)),
           InstructionPolicy())
    screen.close()
    env.close()


def test_seeded_episode_and_hidden_reward_display(world):
    env, screen, *_ = world
    env.open("click-button")
    env.reset(7)
    q1 = env.devtools.eval("core.getUtterance()")
    env.reset(7)
    assert env.devtools.eval("core.getUtterance()") == q1                   # same seed, same problem
    assert env.status() == {"done": False, "reward": 0, "raw_reward": 0, "reason": None}
    img = screen.capture().rgb
    x0, y0, x1, y1 = env.task_box
    right = img[y0:y1, x1 + 10:x1 + 330]                                    # where the reward display would be
    assert (np.abs(right.astype(int) - right[0, 0].astype(int)).max() < 10)  # plain page background only
    assert (img[5:40, 5:300] == (255, 255, 0)).all(axis=2).mean() > 0.5     # the yellow instruction area


@pytest.mark.parametrize("task, seeds", [
    ("click-button", (0, 1)), ("click-link", (0, 1)), ("enter-text", (0, 1)),
    ("login-user", (1, 2)),          # passwords "3hI" and "l3H": I and l told apart by their height
    ("click-collapsible", (0,)),     # open the section (it animates), then the Submit it pushed down
    ("navigate-tree", (0,)),         # the target is inside a collapsed folder
    ("click-widget", (0, 4)),        # a "textarea" (resize grip) and a "button" widget
])
def test_pixel_agent_solves_task(world, task, seeds):
    from omnirt.agents.miniwob_episode import play_episode

    env, screen, backend, grounder, policy = world
    env.open(task)
    for seed in seeds:
        r = play_episode(env, screen, grounder, policy, backend, seed)
        truth = env.devtools.eval("core.getUtterance()")  # for the assertion message only
        assert r.done and r.raw_reward > 0, (task, seed, [s.brief() for s in r.steps], truth)
        assert r.reward > 0
        read = r.instruction
        quoted = [p for i, p in enumerate(truth.split('"')) if i % 2 == 1]
        assert all(f'"{q}"' in read for q in quoted), (read, truth)  # the agent READ the target, exactly
        acts = [s.action for s in r.steps]
        assert acts and all(s.status == "executed" for s in r.steps)
        if task in ("enter-text", "login-user"):
            assert {"action": "type", "text": quoted[-1]} in acts


def test_bench_cli_writes_json_and_report(world, tmp_path):
    """The bench's own env is separate; run one task, one seed."""
    from rich.console import Console

    from omnirt.tools.bench import miniwob as bench

    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    con = Console(record=True, width=200)
    args = p.parse_args(["--tasks", "focus-text", "--seeds", "1", "--out", str(tmp_path)])
    assert bench.run(args, con) == 0
    res = json.loads((tmp_path / "miniwob.json").read_text())
    assert res["tasks"]["focus-text"]["success"] == 1.0 and res["overall"]["n"] == 1
    assert (tmp_path / "index.html").exists() and (tmp_path / "trajectories" / "focus-text" / "steps.jsonl").exists()
    out = con.export_text()
    assert "focus-text" in out and "overall" in out and "success 100.0%" in out
    with pytest.raises(SystemExit):
        bench.run(p.parse_args(["--tasks", "no-such-task", "--out", str(tmp_path)]), con)
