"""Record and replay: every run is a folder that survives being killed at any moment.

Layout: steps.jsonl (one JSON line per step, appended with a single write + flush + fsync), step_NNNN_before.png /
step_NNNN_after.png (written to a temp name, fsynced, then renamed), index.html (rebuilt from steps.jsonl after every
step, also temp + rename). A reader never sees a half-written PNG or report; at worst the last JSONL line is cut, and
`load` skips it and says so. `replay` re-executes the recorded actions, in pointer coordinates, through an executor
and therefore through its safety layer again.
"""

from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from omnirt.agents.executor import Executor, Outcome
from omnirt.agents.screen import Frame, Screen, expect_change, tile_diff

STEPS = "steps.jsonl"
REPORT = "index.html"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp name in the same folder, fsync, rename over `path`."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_png(path: Path, rgb: np.ndarray, compress_level: int = 1) -> None:
    """PNG, atomically (level 1: ~3x faster than PIL's default, a little larger)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=compress_level)
    write_atomic(path, buf.getvalue())


@dataclass
class Trajectory:
    """A loaded run: its steps (dicts, as written) and whether a cut last line was skipped."""

    run_dir: Path
    steps: list[dict[str, Any]]
    truncated: bool = False


class Recorder:
    """Appends steps to a run folder. One recorder per run; steps are numbered from what is already there."""

    def __init__(self, run_dir: str | Path, report: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.report = report
        path = self.run_dir / STEPS
        self._index = 0
        if path.exists():
            self._index = len(load(self.run_dir).steps)
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):  # a line cut by a kill: drop it, or the next one would join it
                with open(path, "r+b") as f:
                    f.truncate(data.rfind(b"\n") + 1)
                    os.fsync(f.fileno())
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _fsync_dir(self.run_dir)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, outcome: Outcome, before: Frame | None = None, after: Frame | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write one step: screenshots first (so a JSONL line never points at a missing PNG), then the line."""
        i = self._index
        t0 = time.perf_counter()
        obs: dict[str, Any] = {}
        for tag, fr in (("before", before), ("after", after)):
            if fr is not None:
                name = f"step_{i:04d}_{tag}.png"
                save_png(self.run_dir / name, fr.rgb)
                obs[tag] = {**fr.summary(), "png": name}
        if before is not None and after is not None and before.rgb.shape == after.rgb.shape:
            obs["changed_regions"] = [list(r) for r in tile_diff(before, after).regions]
        step = {"index": i, "time": outcome.started_at or time.time(), "observation": obs, "action": outcome.action,
                "screen_action": outcome.screen_action, "decision": outcome.decision, "outcome": outcome.status,
                "reason": outcome.reason, "timings": {**outcome.timings,
                                                      "record_ms": round((time.perf_counter() - t0) * 1000, 3)},
                **(extra or {})}
        line = (json.dumps(step, separators=(",", ":")) + "\n").encode()
        os.write(self._fd, line)  # one write on an O_APPEND fd: the line lands whole or (if killed) cut at the end
        os.fsync(self._fd)
        self._index += 1
        if self.report:
            build_report(self.run_dir)
        return step


def load(run_dir: str | Path) -> Trajectory:
    """Read a run folder back. A last line cut by a kill is skipped (truncated=True); a bad line elsewhere raises."""
    run_dir = Path(run_dir)
    path = run_dir / STEPS
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: not a trajectory folder")
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    steps, truncated = [], False
    for n, ln in enumerate(lines):
        if not ln.strip():
            continue
        try:
            steps.append(json.loads(ln))
        except json.JSONDecodeError:
            if n == len(lines) - 1:  # no newline after it: the write was cut
                truncated = True
                break
            raise ValueError(f"{path}:{n + 1}: corrupt line in the middle of the file") from None
    return Trajectory(run_dir, steps, truncated)


def replay(run_dir: str | Path, executor: Executor, delay: float = 0.0,
           on_step: Callable[[dict[str, Any], Outcome], None] | None = None) -> list[Outcome]:
    """Re-execute the recorded actions (their pointer-coordinate form) through `executor` and its safety layer.
    Steps that were invalid have no action and are skipped; denied ones are submitted again (and judged again)."""
    outcomes = []
    for step in load(run_dir).steps:
        act = step.get("screen_action")
        if act is None:
            continue
        out = executor.execute(act)
        outcomes.append(out)
        if on_step:
            on_step(step, out)
        if delay:
            time.sleep(delay)
    return outcomes


def run_step(executor: Executor, screen: Screen, recorder: Recorder | None, action: Any,
             before: Frame | None = None, settle: float = 0.5, monitor: int = 0,
             quiet: float = 0.03) -> tuple[Outcome, Frame, Frame]:
    """Observe, act, observe again, record. `before` may be the frame the policy already used. After an executed
    action, wait up to `settle` s for the screen to change, then until it holds still for `quiet` s (the first
    changed frame can be half painted: a window erased but not yet redrawn, seen under load)."""
    before = before if before is not None else screen.capture(monitor)
    out = executor.execute(action, before)
    width = before.size[0]  # the same (possibly downscaled) size as the policy's frame, so frames compare
    after = screen.capture(monitor, max_width=width)
    if out.executed and settle > 0:
        deadline = time.monotonic() + settle
        while not expect_change(before, after) and time.monotonic() < deadline:
            time.sleep(0.005)
            after = screen.capture(monitor, max_width=width)
        still_at = time.monotonic() + quiet
        while time.monotonic() < min(still_at, deadline):
            time.sleep(0.005)
            cur = screen.capture(monitor, max_width=width)
            if expect_change(after, cur):
                after, still_at = cur, time.monotonic() + quiet
    if recorder is not None:
        recorder.record(out, before, after)
    return out, before, after


_CSS = ("body{font:14px sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px;vertical-align:top}img{width:240px}.executed{background:#e8f5e9}.denied,.invalid,.error"
        "{background:#ffebee}.dry_run{background:#fff8e1}code{white-space:pre-wrap;font-size:12px}")


def build_report(run_dir: str | Path, summary_html: str = "", name: str | None = None) -> Path:
    """Rebuild index.html (or `name`) from steps.jsonl (thumbnails are the step PNGs, scaled by the browser);
    `summary_html` (the caller's facts about the run, already escaped) goes under the heading."""
    run_dir = Path(run_dir)
    traj = load(run_dir)
    rows = []
    for s in traj.steps:
        obs = s.get("observation") or {}
        imgs = "".join(f'<a href="{html.escape(o["png"])}"><img src="{html.escape(o["png"])}" alt="{tag}"></a>'
                       for tag in ("before", "after") if (o := obs.get(tag)))
        act = html.escape(json.dumps(s.get("action"), separators=(",", ":")))
        scr = html.escape(json.dumps(s.get("screen_action"), separators=(",", ":")))
        t = s.get("timings") or {}
        cls = html.escape(str(s.get("outcome")))
        rows.append(f'<tr class="{cls}"><td>{s.get("index")}</td><td>{imgs}</td><td><code>{act}</code><br>'
                    f'<small>screen: <code>{scr}</code></small></td><td><b>{cls}</b><br>{html.escape(str(s.get("reason")))}'
                    f'</td><td>{html.escape(", ".join(f"{k}={v}" for k, v in t.items()))}<br>changed: '
                    f'{len(obs.get("changed_regions", []))} region(s)</td></tr>')
    note = "<p><b>The last step was cut off (run killed while writing).</b></p>" if traj.truncated else ""
    page = (f"<!doctype html><meta charset=utf-8><title>trajectory {html.escape(run_dir.name)}</title>"
            f"<style>{_CSS}</style><h1>{html.escape(run_dir.name)}: {len(traj.steps)} steps</h1>{summary_html}{note}<table>"
            "<tr><th>#</th><th>before / after</th><th>action</th><th>outcome</th><th>timings (ms)</th></tr>"
            + "".join(rows) + "</table>")
    out = run_dir / (name or REPORT)
    write_atomic(out, page.encode())
    return out
