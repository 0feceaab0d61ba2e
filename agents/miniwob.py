"""MiniWoB++ on a private Xvfb + Chromium: start seeded episodes and read rewards over the DevTools protocol
(agents/devtools.py).

The DevTools connection (loopback only) is the ENVIRONMENT's side: it starts episodes (`Math.seedrandom(seed);
core.startEpisodeReal()`), hides the reward display and the click visualiser, and reads `WOB_*` globals. The agent
never sees the DOM: it gets the task area as pixels (`task_frame`). The task pages come from the `miniwob` PyPI
package's html/ folder, opened over file:// (the package itself is not imported: it needs gymnasium).

Chromium renders at `scale` device pixels per CSS pixel (default 2) so MiniWoB's 10 px text is large enough for OCR;
the 160x210 task area then covers (0, 0, 320, 420) on screen.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnirt.agents.devtools import DevTools, free_port
from omnirt.agents.display import Browser, VirtualDisplay

TASK_W, TASK_H = 160, 210  # CSS pixels of #wrap
QUERY_H = 50               # CSS pixels of #query (44 + 2 * 3 padding)
HIDE_CSS = "#reward-display,#click-canvas{display:none !important}"


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
class EpisodeResult:
    """The environment's verdict: reward (time-discounted), raw_reward, reason, done (False: step limit hit)."""

    task: str
    seed: str
    reward: float
    raw_reward: float
    done: bool
    reason: str | None
    seconds: float
    steps: list[dict[str, Any]] = field(default_factory=list)


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


def play_episode(env: MiniWoBEnv, screen: Any, grounder: Any, policy: Any, backend: Any, seed: int | str,
                 max_steps: int = 12, recorder: Any = None) -> EpisodeResult:
    """One seeded episode of the open task, played from pixels through the loop; the reward comes from the page."""
    from omnirt.agents.executor import Executor
    from omnirt.agents.loop import LoopOptions, run_episode
    from omnirt.agents.safety import SafetyPolicy
    from omnirt.agents.screen import expect_change

    if env.task is None:
        raise MiniWoBError("open a task first")
    box = env.page_box
    s = env.options.scale
    opts = LoopOptions(region=box, query_box=env.query_box, area_box=(0, env.query_box[3], box[2], box[3]),
                       max_steps=max_steps)
    # The pointer may only touch the task area; Executor maps frame pixels to pointer coordinates (offset 0 here).
    # Enter may submit what was typed: the task page is a sandbox whose forms reach nothing but the reward.
    safety = SafetyPolicy(allowed_region=box, max_steps=max_steps + 1, max_seconds=30.0, confirm_submit=False)
    executor = Executor(safety, backend)
    before = screen.capture(region=box)
    t0 = time.perf_counter()
    env.reset(seed)
    deadline = time.monotonic() + 2.0
    while not expect_change(before, screen.capture(region=box)) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.03 * s)  # let the new problem finish painting
    log = run_episode(screen, grounder, policy, executor, opts, is_done=lambda: bool(env.status()["done"]),
                      recorder=recorder)
    st = env.status()
    if not st["done"]:  # give a last click a moment to land
        time.sleep(0.1)
        st = env.status()
    steps = [{"action": r.action, "status": r.status, "reason": r.reason, "changed": r.changed, **r.timings}
             for r in log.steps]
    return EpisodeResult(env.task, str(seed), float(st["reward"] or 0.0), float(st["raw_reward"] or 0.0),
                         bool(st["done"]), st.get("reason"), round(time.perf_counter() - t0, 3),
                         [{"instruction": log.instruction, "ended_by": log.ended_by}, *steps])
