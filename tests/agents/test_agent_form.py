"""Acceptance: `omnirt agent` fills in a multi-step form on a real Xvfb screen in real Chromium, by pixels only.

The page reports what was submitted in its window title (read back with xdotool), so the check reads the screen's
window manager, never the DOM the agent cannot see."""

from __future__ import annotations

import pytest

from choice_page import omnirt, wait_title, window_titles

pytestmark = [pytest.mark.models,
              pytest.mark.needs("Xvfb", "chromium", "xdotool")]

FORM = """<!doctype html><html><head><meta charset="utf-8"><title>choice</title><style>
body{margin:30px;background:#fff;font:20px sans-serif;min-height:440px} label{display:inline-block;width:110px}
input[type=text]{font:20px sans-serif;width:260px;padding:4px;border:1px solid #888} div{margin:18px 0}
button{font:20px sans-serif;padding:6px 22px}
</style></head><body>
<div><label>Name</label><input type="text" id="name"></div>
<div><label>City</label><input type="text" id="city"></div>
<div><input type="checkbox" id="news"> Newsletter</div>
<div><button id="send">Submit</button> <button id="reset">Reset</button></div>
<script>
document.getElementById('send').onclick = () => {
  const v = id => document.getElementById(id);
  document.title = `clicked name=${v('name').value} city=${v('city').value} news=${v('news').checked}`;
};
document.getElementById('reset').onclick = () => { document.title = 'clicked reset'; };
document.body.style.background = '#f0f0f0';  // the harness's "script ran" colour
</script><div id="probe" style="position:fixed;right:0;top:0;margin:0;width:6px;height:6px;background:#f0f0f0;z-index:9"></div>
<script>addEventListener('mousemove', () => {
  document.getElementById('probe').style.background = '#ff00ff'; });</script>
</body></html>"""


def test_agent_completes_a_multi_step_form(tmp_path):
    pytest.importorskip("rapidocr")
    from omnirt.agents.display import Desk

    page = tmp_path / "form.html"
    page.write_text(FORM)
    desk = Desk(800, 500)
    try:
        browser = desk.page(page)
        try:
            task = "type Ada into the Name field, type Paris into the City field, check Newsletter and click Submit"
            result = omnirt(desk.display.name, "agent", task, "--record", str(tmp_path / "run"), cwd=tmp_path)
            want = "clicked name=Ada city=Paris news=true"
            ok = wait_title(desk.display.name, want)
            titles = window_titles(desk.display.name)
        finally:
            browser.stop()
    finally:
        desk.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert ok, (titles, result.stdout)
    steps = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert len(steps) >= 5, result.stdout  # click+type, click+type, check, click: several pixel-grounded actions
    assert (tmp_path / "run" / "steps.jsonl").is_file()
