"""A page with OK and Cancel buttons for the agent's command and voice-tool tests: a click shows in the window
title (read with xdotool), so the result is read from the real screen's window manager, not from the DOM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from omnirt.agents.display import window_names

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>choice</title><style>
html,body{margin:0;padding:0;background:#f0f0f0;font:28px sans-serif}
button{position:absolute;top:120px;width:180px;height:64px;font:28px sans-serif;background:#e8e8e8;
border:2px solid #707070;border-radius:0} #ok{left:80px} #cancel{left:340px}
#status{position:absolute;left:0;top:260px;width:100%;height:70px;line-height:70px;padding-left:20px;background:#ddd}
</style></head><body><button id="ok">OK</button><button id="cancel">Cancel</button><div id="status">waiting</div>
<script>
for (const b of document.querySelectorAll('button')) b.addEventListener('click', () => {
  document.title = 'clicked ' + b.textContent;
  document.getElementById('status').textContent = 'You clicked ' + b.textContent;
});
document.body.style.background = '#f0f0f0';
</script><div id="probe" style="position:fixed;right:0;top:0;width:6px;height:6px;background:#f0f0f0;z-index:9"></div>
<script>addEventListener('mousemove', () => {
  document.getElementById('probe').style.background = '#ff00ff'; });</script>
</body></html>"""


@contextmanager
def choice_desk(folder: Path) -> Iterator[Any]:
    """A private 640x400 Xvfb desk with this page written to `folder` (its `page_file`), closed on exit."""
    from omnirt.agents.display import Desk

    page = folder / "choice.html"
    page.write_text(PAGE)
    d = Desk(640, 400)
    d.page_file = page
    try:
        yield d
    finally:
        d.close()


def window_titles(display: str) -> list[str]:
    """Titles of the test page's windows (Chromium names its window after the page title)."""
    return [n for n in window_names(display) if n == "choice" or n.startswith("clicked ")]  # the page's (not Chromium's helpers)


def wait_title(display: str, title: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if title in window_titles(display):
            return True
        time.sleep(0.05)
    return False


OMNIRT = [sys.executable, "-m", "omnirt.tools.cli"]


def omnirt(display: str, *args: str, cwd: Path | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    """`omnirt ARGS` on the X display `display`, its output captured."""
    env = {**os.environ, "DISPLAY": display, "COLUMNS": "200"}
    return subprocess.run([*OMNIRT, *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120)
