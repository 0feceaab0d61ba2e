"""`omnirt bench miniwob`: success rate of a pixel-only agent on MiniWoB++ tasks.

`--suite dev|heldout|all` runs a task suite of tools/bench/miniwob_suites.py (dev: the tasks the agent was developed
on; heldout: tasks it was never tuned on, looked at only to measure); `--tasks a,b` alone runs those tasks, and with
`--suite` a subset of the suite. `--policy instruction` (default) follows direct commands with rules and hands over
to the LLM policy of `--fallback` (default 0.5b; 'none': rules only) when it cannot parse or ground the instruction;
`--policy llm` asks the Thinker (`--thinker 0.5b|1.5b|http://host:port/v1`) to choose among the grounded elements.
Grounding uses the learned widget detector unless `--no-detector`. The median step time is the rules' (screenshot ->
action issued); steps the fallback decided are counted and timed apart (their share and median decision time).
`--compare OTHER/miniwob.json` prints another run's success beside each task (e.g. the instruction policy beside the
LLM policy).

One Xvfb + Chromium (device scale 2) for the whole run; per task, `--seeds` seeded episodes (seeds offset..offset+N-1,
the same problems every run). The agent sees only the task area's pixels (instruction by OCR) and acts with the real
mouse and keyboard behind the safety layer; the page's WOB_* globals give the reward. Success = raw reward 1 (full
credit; "soft" tasks pay partial rewards, which count in the mean reward only).
Prints a line per task (success %, mean reward, median step time) and an overall line; writes JSON and an HTML
report linking to the recorded trajectory (screenshots per step) of each task's first episode.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnirt.tools.bench.miniwob_suites import SUITES
from omnirt.tools.bench.report import cpu_probe, probe_line

if TYPE_CHECKING:
    from omnirt.agents.executor import PyAutoGUIBackend
    from omnirt.agents.grounding import Grounder
    from omnirt.agents.loop import Policy
    from omnirt.agents.miniwob_env import MiniWoBEnv
    from omnirt.agents.screen import Screen

DEFAULT_TASKS = "click-button,click-link,enter-text,focus-text,click-dialog,click-checkboxes"


def _fail(message: str) -> None:
    """A bad command line: one line on stderr, exit status 2."""
    print(f"omnirt: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def select_tasks(suite: str | None, tasks: str | None) -> list[str]:
    """The tasks to run: `tasks` (comma-separated; default DEFAULT_TASKS), or the suite's (all, or the `tasks` of it).
    An unknown suite or task, or a task outside the suite, is a one-line error with exit status 2."""
    from omnirt.agents.miniwob_env import task_names

    if suite is not None and suite not in SUITES:
        _fail(f"unknown --suite {suite!r} (choose from {', '.join(SUITES)})")
    given = tasks if tasks is not None else "" if suite else DEFAULT_TASKS
    names = [t.strip() for t in given.split(",") if t.strip()]
    if suite is not None and not names:
        names = list(SUITES[suite])
    if not names:
        _fail("give at least one task")
    known = set(task_names())
    bad = [t for t in names if t not in known]
    if bad:
        _fail(f"unknown MiniWoB task(s): {', '.join(bad)}")
    outside = [t for t in names if suite is not None and t not in SUITES[suite]]
    if outside:
        _fail(f"not in suite {suite}: {', '.join(outside)}")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", default=None,
                   help=f"comma-separated MiniWoB task names (default {DEFAULT_TASKS}; with --suite: which of "
                        "the suite's to run, default all)")
    p.add_argument("--suite", default=None, help=f"a task suite: {' | '.join(SUITES)} (tools/bench/miniwob_suites.py)")
    p.add_argument("--seeds", type=int, default=5, help="episodes per task")
    p.add_argument("--seed-offset", type=int, default=0, help="first seed")
    p.add_argument("--max-steps", type=int, default=12, help="decisions per episode")
    p.add_argument("--out", default=None,
                   help="folder for miniwob.json, index.html, trajectories (default bench-results/miniwob, or "
                        "bench-results/miniwob-llm-THINKER for --policy llm)")
    p.add_argument("--no-record", action="store_true", help="do not record trajectories (screenshots)")
    p.add_argument("--detector", action=argparse.BooleanOptionalAction, default=True,
                   help="merge the learned widget detector's boxes into grounding (models/data/widgets.onnx; on by "
                        "default, --no-detector: pixel heuristics only)")
    p.add_argument("--policy", choices=("instruction", "llm"), default="instruction",
                   help="instruction: rule-based, no LLM; llm: the Thinker chooses among set-of-marks ids")
    p.add_argument("--thinker", default="0.5b",
                   help="for --policy llm: 0.5b | 1.5b (embedded llama.cpp) | an OpenAI-compatible API root URL")
    p.add_argument("--fallback", default="0.5b",
                   help="for --policy instruction: the LLM policy's thinker it hands over to when it cannot parse or "
                        "ground the instruction (0.5b | 1.5b | URL; 'none': no fallback)")
    p.add_argument("--thinker-threads", type=int, default=1,
                   help="llama.cpp threads for an embedded Thinker (1 holds up best on a shared 2-core CPU)")
    p.add_argument("--episode-time", type=float, default=10.0,
                   help="MiniWoB episode time limit in seconds (MiniWoB's own is 10; at most 30, the safety limit)")
    p.add_argument("--compare", default=None, help="another run's miniwob.json, shown beside this one per task")


def llm_summary(stats: dict[str, Any]) -> dict[str, Any]:
    """The LLM policy's own counters: calls, rejected answers, steps given up, latency and prompt size."""
    ms, toks = sorted(stats.get("llm_ms", [])), sorted(stats.get("prompt_tokens", []))
    pick = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None  # noqa: E731
    return {"calls": stats.get("calls", 0), "invalid": stats.get("invalid", 0), "given_up": stats.get("given_up", 0),
            "corrected": stats.get("corrected", 0), "median_llm_ms": pick(ms, 0.5), "p90_llm_ms": pick(ms, 0.9),
            "median_prompt_tokens": pick(toks, 0.5), "max_prompt_tokens": toks[-1] if toks else None}


@dataclass
class World:
    """What every episode of a run shares: the environment, the screen, the input devices and the grounder."""

    env: MiniWoBEnv
    screen: Screen
    backend: PyAutoGUIBackend
    grounder: Grounder


def open_world(detector: bool) -> World:
    """One Xvfb + Chromium, its screen and input devices, and the grounder (with the learned widget detector)."""
    from omnirt.agents.executor import PyAutoGUIBackend
    from omnirt.agents.grounding import Grounder, GroundingOptions
    from omnirt.agents.miniwob_env import MiniWoBEnv
    from omnirt.agents.screen import Screen, ScreenOptions

    env = MiniWoBEnv()
    try:
        grounder = Grounder(GroundingOptions(scale=env.options.scale, detector=detector))
        return World(env, Screen(ScreenOptions(display=env.display.name)), PyAutoGUIBackend(env.display.name),
                     grounder)
    except BaseException:
        env.close()
        raise


def play_seed(world: World, policy: Policy, seed: int, max_steps: int, record: Path | None) -> dict[str, Any]:
    """One seeded episode of the open task, as the JSON reports it; recorded into `record` if given. The verdict is
    the seeded episode's first end: an agent that went on clicking may have started a new, unseeded one."""
    from omnirt.agents.llm_policy import LLMPolicy
    from omnirt.agents.miniwob_episode import play_episode
    from omnirt.agents.trajectory import Recorder

    env = world.env
    ends0 = env.record_ends()
    with contextlib.ExitStack() as stack:
        rec = stack.enter_context(Recorder(record)) if record is not None else None
        r = play_episode(env, world.screen, world.grounder, policy, world.backend, seed, max_steps,
                         rec.record_step if rec is not None else None)
    ends = env.ends_since(ends0)
    ep = {"seed": r.seed, "reward": r.reward, "raw_reward": r.raw_reward, "done": r.done, "reason": r.reason,
          "seconds": r.seconds, "instruction": r.instruction, "ended_by": r.ended_by,
          "steps": [s.brief() for s in r.steps]}
    if ends and (len(ends) > 1 or not r.done):  # the agent went on into a new, unseeded episode
        first = ends[0]
        ep.update(reward=float(first["reward"] or 0.0), raw_reward=float(first["raw_reward"] or 0.0), done=True,
                  reason=first["reason"], restarted=True)
    if isinstance(policy, LLMPolicy):
        ep["llm"] = list(policy.log)  # the model's answers this episode (reset by the next one)
    fb = getattr(policy, "fallback", None)
    if isinstance(fb, LLMPolicy) and any(s.get("decider") == "llm" for s in ep["steps"]):
        ep["llm"] = list(fb.log)  # handed over this episode: the model's answers
    return ep


def run_task(world: World, policy: Policy, task: str, seeds: int, seed_offset: int, max_steps: int,
             episode_time: float, record: Path | None, log: Any) -> dict[str, Any]:
    """Every seed of one task; the first episode is recorded into `record` if given."""
    env = world.env
    env.open(task)
    env.record_ends()
    if episode_time != 10.0:
        env.set_episode_time(episode_time)
    episodes = []
    for i in range(seeds):
        seed = seed_offset + i
        ep = play_seed(world, policy, seed, max_steps, record if i == 0 else None)
        episodes.append(ep)
        if log:
            log(f"  {task} seed {seed}: reward {ep['reward']:+.3f} in {ep['seconds']:.2f} s, "
                f"{len(ep['steps'])} steps{' (then a new episode)' if ep.get('restarted') else ''}; "
                f"read {ep['instruction']!r}")
    return _summary(episodes)


def _check(tasks: list[str], episode_time: float) -> None:
    from omnirt.agents.miniwob_env import task_names

    known = set(task_names())
    bad = [t for t in tasks if t not in known]
    if bad:
        _fail(f"unknown MiniWoB task(s): {', '.join(bad)}")
    if not 1.0 <= episode_time <= 30.0:
        _fail("--episode-time must be between 1 and 30 seconds")


def _policy(kind: str, thinker: str, threads: int, log: Any, fallback: str | None = None) -> tuple[Policy, str]:
    """(the policy, its name for the report); a missing model or an unreachable server is one line."""
    from omnirt.agents.agent import AgentError, make_policy

    try:
        policy = make_policy(kind, thinker, threads=threads, note=log, fallback=fallback)
    except AgentError as e:
        raise SystemExit(f"omnirt: error: {e}") from None
    return policy, getattr(policy, "name", "instruction")


def bench(tasks: list[str], seeds: int, seed_offset: int = 0, max_steps: int = 12, out: Path | None = None,
          record: bool = True, log: Any = None, policy: str = "instruction", thinker: str = "0.5b",
          thinker_threads: int = 1, episode_time: float = 10.0, detector: bool = True,
          suite: str | None = None, fallback: str | None = None) -> dict[str, Any]:
    """Run the episodes and return the results dict (also what the JSON holds; `suite`: the suite they come from)."""
    from omnirt.agents.fallback import FallbackPolicy
    from omnirt.agents.llm_policy import LLMPolicy

    _check(tasks, episode_time)
    t_load = time.perf_counter()
    result: dict[str, Any] = {"policy": policy, "suite": suite, "detector": detector, "tasks": {}, "seeds": seeds,
                              "seed_offset": seed_offset, "max_steps": max_steps, "episode_time_s": episode_time}
    # The policy first: a missing model or an unreachable server fails before a browser is started.
    agent, result["policy"] = _policy(policy, thinker, thinker_threads, log, fallback)
    llm = agent if isinstance(agent, LLMPolicy) else None
    both = agent if isinstance(agent, FallbackPolicy) else None
    world = None
    try:
        if llm is not None:
            result["warmup_s"] = llm.warmup()  # the prompt's fixed head, once (otherwise in episode 1's time)
        if both is not None:  # the fallback's model loaded and its prompt head evaluated before any episode
            result["fallback_warmup_s"] = both.warmup()
            result["policy"] = both.name
        world = open_world(detector)
        result["startup_s"] = round(time.perf_counter() - t_load, 2)
        for task in tasks:
            record_to = out / "trajectories" / task if record and out is not None else None
            result["tasks"][task] = run_task(world, agent, task, seeds, seed_offset, max_steps, episode_time,
                                             record_to, log)
        all_eps = [e for t in result["tasks"].values() for e in t["episodes"]]
        result["overall"] = {k: v for k, v in _summary(all_eps).items() if k != "episodes"}
        result["ocr"] = {k: round(v, 1) for k, v in world.grounder.stats.items()}
        if llm is not None:
            result["llm"] = llm_summary(llm.stats)
        if both is not None:
            result["fallback"] = both.summary()
            if both.fallback is not None:
                result["llm"] = llm_summary(both.fallback.stats)
    finally:
        if world is not None:
            world.env.close()
        for p in (llm, both and both.fallback):
            if p is not None and hasattr(p.thinker, "close"):
                p.thinker.close()
    return result


def _summary(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Success, reward and timings of `episodes`. The median step is the rules' (screenshot -> action issued); steps
    the LLM fallback decided are counted and timed apart (median_llm_decide_ms)."""
    all_steps = [s for e in episodes for s in e["steps"] if "step_ms" in s]
    rules = [s for s in all_steps if s.get("decider", "instruction") != "llm"]
    by_llm = [s for s in all_steps if s.get("decider") == "llm"]
    steps = [s["step_ms"] for s in rules]
    decide = [s["decide_ms"] for s in rules if "decide_ms" in s]
    ok = [e for e in episodes if e["raw_reward"] >= 1.0 - 1e-9]  # full credit (soft tasks give partial rewards)
    return {"episodes": episodes, "n": len(episodes),
            "success": round(len(ok) / len(episodes), 3) if episodes else 0.0,
            "mean_reward": round(statistics.fmean(e["reward"] for e in episodes), 3) if episodes else 0.0,
            "median_step_ms": round(statistics.median(steps), 1) if steps else None,
            "median_decide_ms": round(statistics.median(decide), 1) if decide else None,
            "median_episode_s": round(statistics.median(e["seconds"] for e in episodes), 2) if episodes else None,
            "restarted": sum(bool(e.get("restarted")) for e in episodes),
            "llm_steps": len(by_llm), "rule_steps": len(rules),
            "median_llm_decide_ms": round(statistics.median(s["decide_ms"] for s in by_llm), 1) if by_llm else None}


def _compare(path: str | None) -> dict[str, Any] | None:
    """Another run's results (its miniwob.json), to show beside this one."""
    if not path:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"omnirt: error: cannot read --compare {path}: {e}") from None


def _other(other: dict[str, Any] | None, task: str | None) -> str:
    """'instruction 100%' for a task (None: overall) of the compared run, or ''."""
    if not other:
        return ""
    t = other.get("overall") if task is None else other.get("tasks", {}).get(task)
    return f"{other.get('policy', 'instruction')} {t['success'] * 100:.0f}%" if t else "-"


def write_html(result: dict[str, Any], out: Path, other: dict[str, Any] | None = None) -> Path:
    rows = []
    for task, t in result["tasks"].items():
        traj = out / "trajectories" / task / "index.html"
        shot = traj.parent / "step_0000_before.png"
        link = (f'<a href="trajectories/{html.escape(task)}/index.html">'
                + (f'<img src="trajectories/{html.escape(task)}/step_0000_before.png" width=160><br>'
                   if shot.exists() else "") + "steps</a>") if traj.exists() else ""
        eps = "".join(f"<li>seed {e['seed']}: {e['reward']:+.3f} &mdash; {html.escape(e['instruction'])}</li>"
                      for e in t["episodes"])
        beside = f"<td>{html.escape(_other(other, task))}</td>" if other else ""
        rows.append(f"<tr><td>{html.escape(task)}</td><td>{t['success'] * 100:.0f}%</td>{beside}"
                    f"<td>{t['mean_reward']:.3f}</td><td>{t['median_step_ms']}</td><td>{t.get('median_decide_ms')}</td>"
                    f"<td>{link}</td><td><ul>{eps}</ul></td></tr>")
    o = result["overall"]
    name = html.escape(str(result.get("policy", "instruction")))
    llm = result.get("llm")
    llm_p = (f"<p>LLM: {llm['calls']} calls, {llm['invalid']} answers rejected, {llm['given_up']} steps given up; "
             f"median {llm['median_llm_ms']} ms a call (p90 {llm['p90_llm_ms']}), median prompt "
             f"{llm['median_prompt_tokens']} tokens</p>") if llm else ""
    head_other = f"<th>{html.escape(str(other.get('policy', 'instruction')))}</th>" if other else ""
    page = ("<!doctype html><meta charset=utf-8><title>MiniWoB++ bench: " + name + "</title><style>body{font:14px "
            "sans-serif}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}table{border-collapse:collapse}"
            f"</style><h1>MiniWoB++: pixel-only agent, policy <code>{name}</code></h1><p>overall "
            f"{o['success'] * 100:.0f}% success{(' (' + html.escape(_other(other, None)) + ')') if other else ''}, "
            f"mean reward {o['mean_reward']:.3f}, median step {o['median_step_ms']} ms over {o['n']} episodes; "
            f"episode time limit {result.get('episode_time_s', 10.0):g} s</p>{llm_p}<table>"
            f"<tr><th>task</th><th>success</th>{head_other}<th>mean reward</th><th>median step ms</th>"
            "<th>median decide ms</th><th>trajectory</th><th>episodes</th></tr>" + "".join(rows) + "</table>")
    path = out / "index.html"
    path.write_text(page)
    return path


def print_table(result: dict[str, Any], other: dict[str, Any] | None, console: Any, *paths: Path) -> None:
    """The per-task lines (with the compared run's success in parentheses) and the overall line."""
    suite = f"suite {result['suite']}, " if result.get("suite") else ""
    o = result["overall"]
    console.print(f"{suite}policy {result.get('policy', 'instruction')}, episode time limit "
                  f"{result.get('episode_time_s', 10.0):g} s")
    for task, t in [*result["tasks"].items(), ("overall", result["overall"])]:
        beside = f" (vs {_other(other, None if task == 'overall' else task)})" if other else ""
        again = f"  ({t['restarted']} ran into a new episode)" if t.get("restarted") else ""
        console.print(f"{task:22s} success {t['success'] * 100:5.1f}%{beside}  mean reward {t['mean_reward']:+.3f}  "
                      f"median step {t['median_step_ms']} ms, decide {t.get('median_decide_ms')} ms{again}",
                      markup=False)
    if paths:
        console.print(f"{result['overall']['n']} episodes; " + ", ".join(map(str, paths)))
    if result.get("fallback"):
        console.print(f"fallback: {json.dumps(result['fallback'])}; overall: {o['rule_steps']} steps decided by the "
                      f"rules, {o['llm_steps']} by the LLM (median decide {o['median_llm_decide_ms']} ms)",
                      markup=False)
    if result.get("llm"):
        console.print(f"llm: {json.dumps(result['llm'])}", markup=False)
    if result.get("cpu_probe_ms"):
        console.print(probe_line(*result["cpu_probe_ms"]))


def run(args: argparse.Namespace, console: Any) -> int:
    tasks = select_tasks(args.suite, args.tasks)
    if args.seeds < 1:
        _fail("--seeds must be >= 1")
    if args.thinker_threads < 1:
        _fail("--thinker-threads must be >= 1")
    other = _compare(args.compare)
    default_out = "bench-results/miniwob" if args.policy == "instruction" else \
        f"bench-results/miniwob-llm-{re.sub(r'[^A-Za-z0-9._-]+', '_', args.thinker)}"
    out = Path(args.out or default_out)
    out.mkdir(parents=True, exist_ok=True)
    probe = cpu_probe()
    result = bench(tasks, args.seeds, args.seed_offset, args.max_steps, out, not args.no_record, console.print,
                   args.policy, args.thinker, args.thinker_threads, args.episode_time, args.detector, args.suite,
                   None if args.fallback.lower() == "none" else args.fallback)
    result["cpu_probe_ms"] = [round(probe, 2), round(cpu_probe(), 2)]  # step times mean little without the host's speed
    (out / "miniwob.json").write_text(json.dumps(result, indent=1))
    report = write_html(result, out, other)
    print_table(result, other, console, out / "miniwob.json", report)
    return 0
