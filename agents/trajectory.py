"""Record and replay: every run is a folder that survives being killed at any moment.

Layout: steps.jsonl (one JSON line per step, appended with a single write + flush + fsync), step_NNNN_before.png /
step_NNNN_after.png (written to a temp name, fsynced, then renamed), index.html (rebuilt from steps.jsonl after every
step, also temp + rename). A reader never sees a half-written PNG or report; at worst the last JSONL line is cut, and
`load` skips it and says so. `replay` re-executes the recorded actions, in pointer coordinates, through an executor
and therefore through its safety layer again, within the replaying side's own step and time limits.

A run folder to be replayed may come from anyone, so reading one trusts nothing in it: every line must be a JSON
object, a step's action an object, a screenshot a plain file name that (symlinks resolved) lies inside the folder,
and a PNG is measured and its chunks checked before any pixel is decoded (a decompression bomb or a cut file is
refused there). Whatever is wrong is a `TrajectoryError` with a one-line message.
"""

from __future__ import annotations

import html
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from omnirt.agents.executor import Executor, Outcome
from omnirt.agents.screen import Screenshot, Screen, expect_change, tile_diff
from omnirt.agents.steps import AgentStep

STEPS = "steps.jsonl"
REPORT = "index.html"
MAX_STEPS_BYTES = 64 << 20  # a real run writes a few KB a step
MAX_SHOT_BYTES = 64 << 20
MAX_SHOT_PIXELS = 40_000_000  # beyond an 8K screen; a PNG claiming more is refused before it is decoded


class TrajectoryError(ValueError):
    """A run folder that cannot be read back safely; the message is one line."""


def member(run_dir: str | Path, name: Any) -> Path:
    """The file `name` of a run folder, symlinks resolved; refused unless `name` is a plain file name (no folder,
    not absolute) and the file it resolves to lies inside the folder: a recording cannot make us read elsewhere."""
    shown = repr(name)[:80]
    if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise TrajectoryError(f"{shown} is not a plain file name in the run folder")
    try:
        root, real = Path(run_dir).resolve(), (Path(run_dir) / name).resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise TrajectoryError(f"{shown}: cannot resolve ({type(e).__name__})") from None
    if real == root or not real.is_relative_to(root):
        raise TrajectoryError(f"{shown} leads outside the run folder")
    return real


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

    def record(self, outcome: Outcome, before: Screenshot | None = None, after: Screenshot | None = None,
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

    def record_step(self, step: AgentStep) -> dict[str, Any]:
        """Write one step of the agent loop: its outcome and frames, with what it read, its timings and what it
        saw."""
        return self.record(step.outcome, step.before, step.after,
                           extra={"instruction": step.instruction, "timings_loop": step.timings.as_dict(),
                                  "elements": len(step.elements), "seen": step.seen(),
                                  **({"decider": step.decider} if step.decider else {})})


def load(run_dir: str | Path) -> Trajectory:
    """Read a run folder back. A last line cut by a kill is skipped (truncated=True); a bad line elsewhere, or a
    line that is no JSON object, raises TrajectoryError (FileNotFoundError: no steps.jsonl)."""
    run_dir = Path(run_dir)
    if not (run_dir / STEPS).exists():
        raise FileNotFoundError(f"{run_dir / STEPS} does not exist: not a trajectory folder")
    path = member(run_dir, STEPS)
    if not path.is_file():
        raise TrajectoryError(f"{run_dir / STEPS} is not a regular file")
    if path.stat().st_size > MAX_STEPS_BYTES:
        raise TrajectoryError(f"{run_dir / STEPS} is larger than {MAX_STEPS_BYTES >> 20} MB")
    lines = path.read_bytes().split(b"\n")
    steps, truncated = [], False
    for n, ln in enumerate(lines):
        if not ln.strip():
            continue
        try:
            step = json.loads(ln)
        except json.JSONDecodeError:
            if n == len(lines) - 1:  # no newline after it: the write was cut
                truncated = True
                break
            raise TrajectoryError(f"{path}:{n + 1}: corrupt line in the middle of the file") from None
        except (ValueError, RecursionError) as e:  # bytes that are no UTF-8, 4300+ digits, nesting too deep
            raise TrajectoryError(f"{path}:{n + 1}: not a JSON line ({type(e).__name__})") from None
        if not isinstance(step, dict):
            raise TrajectoryError(f"{path}:{n + 1}: a step must be a JSON object, not {type(step).__name__}")
        steps.append(step)
    return Trajectory(run_dir, steps, truncated)


def screenshot(run_dir: str | Path, step: dict[str, Any], tag: str) -> Path | None:
    """The checked path (see `member`) of a step's 'before' or 'after' screenshot; None if it names none."""
    obs = step.get("observation")
    shot = obs.get(tag) if isinstance(obs, dict) else None
    if (obs is not None and not isinstance(obs, dict)) or (shot is not None and not isinstance(shot, dict)):
        raise TrajectoryError("observation is not a JSON object")
    return None if shot is None or shot.get("png") is None else member(run_dir, shot["png"])


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a recorded PNG, measured without decoding a pixel: a regular file of at most
    MAX_SHOT_BYTES, a PNG of at most MAX_SHOT_PIXELS whose chunks are all whole (PIL's verify)."""
    from PIL import Image

    if not path.is_file() or path.stat().st_size > MAX_SHOT_BYTES:
        raise TrajectoryError(f"{path.name}: not a regular file of at most {MAX_SHOT_BYTES >> 20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=["PNG"]) as im:
                w, h = im.size
                if w * h > MAX_SHOT_PIXELS:
                    raise TrajectoryError(f"{path.name}: {w}x{h} pixels is larger than any screen")
                im.verify()
    except TrajectoryError:
        raise
    except Exception as e:  # noqa: BLE001 - PIL raises many types for a bad file (SyntaxError, OSError, struct.error)
        raise TrajectoryError(f"{path.name}: not a readable PNG ({type(e).__name__})") from None
    return w, h


def read_png(path: Path, size: tuple[int, int]) -> Any:
    """The RGB pixels of a recorded PNG if it is `size` (w, h), else None: a screenshot is compared only with a
    capture of its size, and nothing larger is ever decoded."""
    from PIL import Image

    if png_size(path) != size:
        return None
    try:
        with Image.open(path, formats=["PNG"]) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001 - a stream that verify() passed but that does not decode
        raise TrajectoryError(f"{path.name}: not a readable PNG ({type(e).__name__})") from None


def check_replayable(traj: Trajectory) -> None:
    """Refuse (TrajectoryError) a recording with a step whose action is no JSON object, or a screenshot outside the
    folder or not a sound PNG; a screenshot that is missing is only not compared."""
    for i, step in enumerate(traj.steps):
        for key in ("action", "screen_action"):
            if step.get(key) is not None and not isinstance(step[key], dict):
                raise TrajectoryError(f"step {i}: {key} is not a JSON object")
        for tag in ("before", "after"):
            try:
                path = screenshot(traj.run_dir, step, tag)
                if path is not None and path.exists():
                    png_size(path)
            except TrajectoryError as e:
                raise TrajectoryError(f"step {i} ({tag} screenshot): {e}") from None


def replay(run_dir: str | Path, executor: Executor, delay: float = 0.0,
           on_step: Callable[[dict[str, Any], Outcome], None] | None = None, *, steps: list[dict] | None = None,
           max_steps: int | None = None, max_seconds: float | None = None) -> list[Outcome]:
    """Re-execute the recorded actions (their pointer-coordinate form) through `executor` and its safety layer.
    Steps that were invalid have no action and are skipped; denied ones are submitted again (and judged again).
    steps: the loaded steps (default: load run_dir). Stops after max_steps actions or once max_seconds have passed
    (the replaying side's limits: a recording is no reason to act for longer)."""
    outcomes: list[Outcome] = []
    t0 = time.monotonic()
    for step in load(run_dir).steps if steps is None else steps:
        act = step.get("screen_action")
        if act is None:
            continue
        if max_steps is not None and len(outcomes) >= max_steps or \
                max_seconds is not None and time.monotonic() - t0 > max_seconds:
            break
        out = executor.execute(act)
        outcomes.append(out)
        if on_step:
            on_step(step, out)
        if delay:
            time.sleep(delay)
    return outcomes


def run_step(executor: Executor, screen: Screen, recorder: Recorder | None, action: Any,
             before: Screenshot | None = None, settle: float = 0.5, monitor: int = 0,
             quiet: float = 0.03) -> tuple[Outcome, Screenshot, Screenshot]:
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
        "{background:#ffebee}.dry_run,.needs_confirmation{background:#fff8e1}"
        "code{white-space:pre-wrap;font-size:12px}")


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
