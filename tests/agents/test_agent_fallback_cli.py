"""`omnirt agent` as a user runs it, on a task the instruction grammar cannot parse: the rules hand over to the LLM
fallback (the real embedded Qwen2.5-Coder-0.5B), which clicks the right button on a real Chromium page on a private
Xvfb; the click is read back from the window title. With `--fallback none` the same task fails as "not understood"
and nothing is clicked."""

from __future__ import annotations

import pytest

from choice_page import choice_desk, omnirt, wait_title, window_titles

pytestmark = [pytest.mark.models,
              pytest.mark.needs("Xvfb", "chromium", "xdotool")]

TASK = "I changed my mind, cancel it"  # no command verb the rules know


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    pytest.importorskip("rapidocr")
    pytest.importorskip("llama_cpp")
    from omnirt.models import assets

    try:
        assets.require("qwen2.5-coder-0.5b-instruct")
    except Exception as e:  # not installed here
        pytest.skip(str(e))
    with choice_desk(tmp_path_factory.mktemp("page")) as d:
        yield d


def test_without_a_fallback_the_task_is_not_understood(desk, tmp_path):
    browser = desk.page(desk.page_file)
    try:
        r = omnirt(desk.display.name, "agent", TASK, "--fallback", "none", "--record", str(tmp_path / "run"))
        titles = window_titles(desk.display.name)
    finally:
        browser.stop()
    assert r.returncode == 1 and "instruction not understood" in r.stdout, r.stdout + r.stderr
    assert titles == ["choice"]  # nothing was clicked


def test_the_llm_fallback_does_what_the_rules_cannot_parse(desk, tmp_path):
    browser = desk.page(desk.page_file)
    try:
        r = omnirt(desk.display.name, "agent", TASK, "--max-steps", "3", "--record", str(tmp_path / "run"))
        clicked = wait_title(desk.display.name, "clicked Cancel")
        titles = window_titles(desk.display.name)
    finally:
        browser.stop()
    out = r.stdout + r.stderr
    assert clicked and titles == ["clicked Cancel"], out
    first = r.stdout.splitlines()[0]
    assert first.startswith("step 0: click") and "[decided by the LLM fallback]" in first, out
