"""The MiniWoB++ environment: a private Xvfb + Chromium that starts seeded episodes and reads rewards over the
DevTools protocol (agents/devtools.py). agents/miniwob_episode.py plays an episode in it.

The DevTools connection (loopback only) is the ENVIRONMENT's side: it starts episodes (`Math.seedrandom(seed);
core.startEpisodeReal()`), hides the reward display and the click visualiser, and reads `WOB_*` globals. The agent
never sees the DOM: it gets the page as pixels (`page_box`). The task pages come from the `miniwob` PyPI package's
html/ folder, opened over file:// (the package itself is not imported: it needs gymnasium).

Chromium renders at `scale` device pixels per CSS pixel (default 2) so MiniWoB's 10 px text is large enough for OCR;
the 160x210 task area then covers (0, 0, 320, 420) on screen.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnirt.agents.devtools import DevTools, free_port
from omnirt.agents.display import Browser, VirtualDisplay

TASK_W, TASK_H = 160, 210  # CSS pixels of #wrap
QUERY_H = 50               # CSS pixels of #query (44 + 2 * 3 padding)
HIDE_CSS = "#reward-display,#click-canvas{display:none !important}"
# Every episode end, in order. After an end MiniWoB shows its START cover again, and a slow agent's next click on it
# starts a new, unseeded episode; the seeded episode's verdict is its FIRST end, not whatever the page holds when the
# agent stops.
RECORD_ENDS = ("(() => { if (!window.WOB_ENDS) { window.WOB_ENDS = []; const end = core.endEpisode; "
               "core.endEpisode = function () { const live = core.EP_TIMER !== null; const r = end.apply(this, "
               "arguments); if (live) WOB_ENDS.push({reward: WOB_REWARD_GLOBAL, raw_reward: WOB_RAW_REWARD_GLOBAL, "
               "reason: WOB_REWARD_REASON === null ? null : String(WOB_REWARD_REASON)}); return r; }; } "
               "return WOB_ENDS.length; })()")


class MiniWoBError(RuntimeError):
    """The task pages are missing, or a task page did not load (DevToolsError: the browser did not answer)."""


def html_root() -> Path:
    """The miniwob package's html/ folder (found without importing the package)."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise MiniWoBError("the miniwob package is not installed: pip install --no-deps miniwob==1.1.0")
    root = Path(list(spec.submodule_search_locations)[0]) / "html"
    if not (root / "core" / "core.js").is_file():
        raise MiniWoBError(f"miniwob's html folder is incomplete: {root}")
    return root


def task_names() -> list[str]:
    return sorted(p.stem for p in (html_root() / "miniwob").glob("*.html"))


@dataclass
class MiniWoBOptions:
    """scale: device pixels per CSS pixel (2 makes 10 px text OCR-able). load_timeout: page + DevTools readiness.
    overflow: CSS pixels below the 210 px task area that the agent also sees and may click: content taller than
    the area (an opened section pushes its Submit button down) is drawn there, over the page background."""

    scale: int = 2
    load_timeout: float = 15.0
    overflow: int = 80


class MiniWoBEnv:
    """One Xvfb + one Chromium, reused across tasks (`open(task)` navigates) and episodes (`reset(seed)`)."""

    def __init__(self, options: MiniWoBOptions | None = None, display: VirtualDisplay | None = None) -> None:
        self.options = options or MiniWoBOptions()
        self.root = html_root()
        self._own_display = display is None
        self.display = display or VirtualDisplay(1280, 800).start()
        self.port = free_port()
        self.task: str | None = None
        s = self.options.scale
        try:
            # --app= needs a real page (about:blank opens a normal window with tabs): start on a task page.
            first = (self.root / "miniwob" / "click-test.html").resolve().as_uri()
            self.browser = Browser(self.display, first, extra_flags=(
                f"--force-device-scale-factor={s}", f"--remote-debugging-port={self.port}",
                "--remote-debugging-address=127.0.0.1")).start()
            self.devtools = DevTools(self.port, self.options.load_timeout)
        except Exception:
            self.close()
            raise

    @property
    def task_box(self) -> tuple[int, int, int, int]:
        """The task area in screen pixels (the page is at (0, 0) in --app mode)."""
        s = self.options.scale
        return 0, 0, TASK_W * s, TASK_H * s

    @property
    def page_box(self) -> tuple[int, int, int, int]:
        """What the agent sees: the task area and the overflow strip below it, in screen pixels."""
        s = self.options.scale
        return 0, 0, TASK_W * s, (TASK_H + self.options.overflow) * s

    @property
    def query_box(self) -> tuple[int, int, int, int]:
        s = self.options.scale
        return 0, 0, TASK_W * s, QUERY_H * s

    def open(self, task: str) -> None:
        """Load a task page, wait until its script ran, and hide what the agent must not see."""
        page = self.root / "miniwob" / f"{task}.html"
        if not page.is_file():
            raise MiniWoBError(f"unknown MiniWoB task {task!r}")
        self.devtools.call("Page.navigate", url=page.resolve().as_uri())
        deadline = time.monotonic() + self.options.load_timeout
        while not self.devtools.eval("document.readyState === 'complete' && typeof core !== 'undefined' && "
                                     "document.getElementById('reward-display') !== null"):
            if time.monotonic() > deadline:
                raise MiniWoBError(f"task page {task} did not finish loading")
            time.sleep(0.05)
        self.devtools.eval(f"(() => {{ const s = document.createElement('style'); s.textContent = "
                           f"{json.dumps(HIDE_CSS)}; document.head.appendChild(s); return true; }})()")
        self.task = task
        time.sleep(0.3)  # Chromium ignores input for a moment after the first paint of a navigation

    def reset(self, seed: int | str) -> None:
        """Start a new episode of the open task with a fixed seed (same seed, same problem)."""
        self.devtools.eval(f"Math.seedrandom({json.dumps(str(seed))}); core.startEpisodeReal(); true")

    def status(self) -> dict[str, Any]:
        """WOB_* globals: done, reward, raw_reward, reason."""
        return self.devtools.eval("({done: WOB_DONE_GLOBAL, reward: WOB_REWARD_GLOBAL, raw_reward: "
                                  "WOB_RAW_REWARD_GLOBAL, reason: WOB_REWARD_REASON === null ? null : "
                                  "String(WOB_REWARD_REASON)})")

    def record_ends(self) -> int:
        """Start recording every episode end of the open task (if not yet); how many there were so far."""
        return int(self.devtools.eval(RECORD_ENDS))

    def ends_since(self, n: int) -> list[dict[str, Any]]:
        """The episode ends (reward, raw_reward, reason) recorded after the first `n`."""
        return self.devtools.eval(f"WOB_ENDS.slice({int(n)})") or []

    def set_episode_time(self, seconds: float) -> None:
        """The open task's episode time limit (MiniWoB's own is 10 s): read by core.startEpisodeReal (its timer)
        and by the reward's time discount."""
        self.devtools.eval(f"core.EPISODE_MAX_TIME = {int(seconds * 1000)}; true")

    def close(self) -> None:
        dt = getattr(self, "devtools", None)
        if dt is not None:
            try:
                dt.close()
            except Exception:
                pass
        br = getattr(self, "browser", None)
        if br is not None:
            br.stop()
        if self._own_display:
            self.display.stop()

    def __enter__(self) -> "MiniWoBEnv":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
