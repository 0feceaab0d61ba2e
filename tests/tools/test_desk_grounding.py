"""The agent's grounding and policy on real everyday screens (tools/bench/desk_scenarios.py) in Chromium on a
1280x800 Xvfb: a menu that opens over the page is read (a crop of what appeared, agents/grounding.py). The
scenarios that need it are carried out by the agent in tests/tools/test_bench_desk_scenarios.py (one run of the
command for all)."""

from __future__ import annotations

import time

import pytest

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
