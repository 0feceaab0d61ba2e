"""The agent's grounding and policy on real everyday screens (tools/bench/desk_scenarios.py) in Chromium on a
1280x800 Xvfb: a menu that opens over the page is read (a crop of what appeared, agents/grounding.py), and the
scenarios that need it pass with the agent: the menu path, the button below the fold (looked for before a word of
like meaning is taken), a date inside a sentence, a sign-up with a split name and a repeated password, and a row
action behind the row's menu and a confirmation."""

from __future__ import annotations

import json
import time

import pytest

from choice_page import omnirt

pytestmark = [pytest.mark.needs("Xvfb", "chromium", "xdotool"), pytest.mark.models]


def test_the_items_of_a_menu_that_opened_over_the_page_are_read(tmp_path):
    pytest.importorskip("rapidocr")
    from omnirt.agents.display import Desk
    from omnirt.agents.grounding import Grounder, GroundingOptions, load_detector
    from omnirt.agents.screen import expect_change
    from omnirt.tools.bench.desk_run import _Window, verdict
    from omnirt.tools.bench.desk_scenarios import scenarios

    grounder = Grounder(GroundingOptions(), detector=load_detector())
    with Desk(1280, 800) as desk:
        window = _Window(scenarios("menu-submenu")[0], desk.display, tmp_path)
        try:
            deadline = time.monotonic() + 20
            while not verdict(desk.display.name).startswith("fail") and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)
            before = desk.grab()
            menu = next(e for e in grounder.ground(before) if e.label == "Image")
            assert not any(e.label == "Rotate" for e in grounder.ground(before))
            desk.backend.pg.click(*menu.center)
            deadline = time.monotonic() + 5
            after = desk.grab()
            while not expect_change(before, after) and time.monotonic() < deadline:
                time.sleep(0.1)
                after = desk.grab()
            time.sleep(0.3)
            labels = [e.label for e in grounder.ground(desk.grab())]
            assert {"Crop", "Resize"} <= set(labels) and any(lab.startswith("Rotate") for lab in labels), labels
            grounder.forget()  # a second look reads the page whole again: the menu's crop still stands
            labels = [e.label for e in grounder.ground(desk.grab())]
            assert {"Crop", "Resize"} <= set(labels), labels
        finally:
            window.stop()


def test_the_agent_carries_out_the_menu_the_fold_the_date_the_sign_up_and_the_row_menu(tmp_path):
    pytest.importorskip("rapidocr")
    names = "menu-submenu,below-fold-terms,meeting-date-sentence,signup-split-name,row-more-menu"
    r = omnirt(":0", "bench", "desk", "--runs", "0", "--scenarios", names, "--out", str(tmp_path))
    summary = json.loads((tmp_path / "desk.json").read_text())
    assert summary["scenario_success"] == "dev 5/5", r.stdout + r.stderr
