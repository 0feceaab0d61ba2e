"""`omnirt bench miniwob`: success rate of the pixel-only instruction agent on MiniWoB++ tasks.

One Xvfb + Chromium (device scale 2) for the whole run; per task, `--seeds` seeded episodes (seeds offset..offset+N-1,
the same problems every run). The agent sees only the task area's pixels (instruction by OCR) and acts with the real
mouse and keyboard behind the safety layer; the page's WOB_* globals give the reward. Success = raw reward 1 (full
credit; "soft" tasks pay partial rewards, which count in the mean reward only).
Prints a line per task (success %, mean reward, median step time) and an overall line; writes JSON and an HTML
report linking to the recorded trajectory (screenshots per step) of each task's first episode.
"""

from __future__ import annotations

import argparse
import html
import json
import statistics
import time
from pathlib import Path
from typing import Any

DEFAULT_TASKS = "click-button,click-link,enter-text,focus-text,click-dialog,click-checkboxes"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", default=DEFAULT_TASKS, help="comma-separated MiniWoB task names")
    p.add_argument("--seeds", type=int, default=5, help="episodes per task")
    p.add_argument("--seed-offset", type=int, default=0, help="first seed")
    p.add_argument("--max-steps", type=int, default=12, help="decisions per episode")
    p.add_argument("--out", default="bench-results/miniwob", help="folder for miniwob.json, index.html, trajectories")
    p.add_argument("--no-record", action="store_true", help="do not record trajectories (screenshots)")


def bench(tasks: list[str], seeds: int, seed_offset: int = 0, max_steps: int = 12, out: Path | None = None,
          record: bool = True, log: Any = None) -> dict[str, Any]:
    """Run the episodes and return the results dict (also what the JSON holds)."""
    from omnirt.agents.executor import PyAutoGUIBackend
    from omnirt.agents.grounding import Grounder, GroundingOptions
    from omnirt.agents.miniwob import MiniWoBEnv, play_episode, task_names
    from omnirt.agents.policies import InstructionPolicy
    from omnirt.agents.screen import Screen, ScreenOptions
    from omnirt.agents.trajectory import Recorder

    known = set(task_names())
    bad = [t for t in tasks if t not in known]
    if bad:
        raise SystemExit(f"omnirt: error: unknown MiniWoB task(s): {', '.join(bad)}")
    t_load = time.perf_counter()
    env = MiniWoBEnv()
    result: dict[str, Any] = {"tasks": {}, "seeds": seeds, "seed_offset": seed_offset, "max_steps": max_steps}
    try:
        screen = Screen(ScreenOptions(display=env.display.name))
        backend = PyAutoGUIBackend(env.display.name)
        grounder = Grounder(GroundingOptions(scale=env.options.scale))
        policy = InstructionPolicy(encoder=_encoder(log))
        result["startup_s"] = round(time.perf_counter() - t_load, 2)
        for task in tasks:
            env.open(task)
            episodes = []
            for i in range(seeds):
                seed = seed_offset + i
                rec = None
                if record and out is not None and i == 0:
                    rec = Recorder(out / "trajectories" / task)
                try:
                    r = play_episode(env, screen, grounder, policy, backend, seed, max_steps, rec)
                finally:
                    if rec is not None:
                        rec.close()
                ep = {"seed": r.seed, "reward": r.reward, "raw_reward": r.raw_reward, "done": r.done,
                      "reason": r.reason, "seconds": r.seconds, **r.steps[0],
                      "steps": r.steps[1:]}
                episodes.append(ep)
                if log:
                    log(f"  {task} seed {seed}: reward {r.reward:+.3f} in {r.seconds:.2f} s, "
                        f"{len(r.steps) - 1} steps; read {r.steps[0]['instruction']!r}")
            result["tasks"][task] = _summary(episodes)
        all_eps = [e for t in result["tasks"].values() for e in t["episodes"]]
        result["overall"] = {k: v for k, v in _summary(all_eps).items() if k != "episodes"}
        result["ocr"] = {k: round(v, 1) for k, v in grounder.stats.items()}
    finally:
        env.close()
    return result


def _encoder(log: Any) -> Any:
    """The sentence encoder for synonym matching, or None (the policy then matches by spelling only)."""
    try:
        from omnirt.models.text_encoder import TextEncoder

        return TextEncoder.load()
    except Exception as e:  # ModelMissingError, missing tokenizers: run without it, and say so
        if log:
            log(f"  text encoder unavailable ({type(e).__name__}: {e}); matching by spelling only")
        return None


def _summary(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    steps = [s["step_ms"] for e in episodes for s in e["steps"] if "step_ms" in s]
    ok = [e for e in episodes if e["raw_reward"] >= 1.0 - 1e-9]  # full credit (soft tasks give partial rewards)
    return {"episodes": episodes, "n": len(episodes),
            "success": round(len(ok) / len(episodes), 3) if episodes else 0.0,
            "mean_reward": round(statistics.fmean(e["reward"] for e in episodes), 3) if episodes else 0.0,
            "median_step_ms": round(statistics.median(steps), 1) if steps else None,
            "median_episode_s": round(statistics.median(e["seconds"] for e in episodes), 2) if episodes else None}


def write_html(result: dict[str, Any], out: Path) -> Path:
    rows = []
    for task, t in result["tasks"].items():
        traj = out / "trajectories" / task / "index.html"
        shot = traj.parent / "step_0000_before.png"
        link = (f'<a href="trajectories/{html.escape(task)}/index.html">'
                + (f'<img src="trajectories/{html.escape(task)}/step_0000_before.png" width=160><br>'
                   if shot.exists() else "") + "steps</a>") if traj.exists() else ""
        eps = "".join(f"<li>seed {e['seed']}: {e['reward']:+.3f} &mdash; {html.escape(e['instruction'])}</li>"
                      for e in t["episodes"])
        rows.append(f"<tr><td>{html.escape(task)}</td><td>{t['success'] * 100:.0f}%</td><td>{t['mean_reward']:.3f}"
                    f"</td><td>{t['median_step_ms']}</td><td>{link}</td><td><ul>{eps}</ul></td></tr>")
    o = result["overall"]
    page = ("<!doctype html><meta charset=utf-8><title>MiniWoB++ bench</title><style>body{font:14px sans-serif}"
            "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}table{border-collapse:collapse}</style>"
            f"<h1>MiniWoB++: pixel-only instruction agent</h1><p>overall {o['success'] * 100:.0f}% success, mean "
            f"reward {o['mean_reward']:.3f}, median step {o['median_step_ms']} ms over {o['n']} episodes</p><table>"
            "<tr><th>task</th><th>success</th><th>mean reward</th><th>median step ms</th><th>trajectory</th>"
            "<th>episodes</th></tr>" + "".join(rows) + "</table>")
    path = out / "index.html"
    path.write_text(page)
    return path


def run(args: argparse.Namespace, console: Any) -> int:
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if not tasks or args.seeds < 1:
        raise SystemExit("omnirt: error: give at least one task and --seeds >= 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = bench(tasks, args.seeds, args.seed_offset, args.max_steps, out, not args.no_record, console.print)
    (out / "miniwob.json").write_text(json.dumps(result, indent=1))
    report = write_html(result, out)
    for task, t in result["tasks"].items():
        console.print(f"{task:24s} success {t['success'] * 100:5.1f}%  mean reward {t['mean_reward']:+.3f}  "
                      f"median step {t['median_step_ms']} ms")
    o = result["overall"]
    console.print(f"{'overall':24s} success {o['success'] * 100:5.1f}%  mean reward {o['mean_reward']:+.3f}  "
                  f"median step {o['median_step_ms']} ms  ({o['n']} episodes); {out / 'miniwob.json'}, {report}")
    return 0
