"""Capacity: voice-to-voice as talking sessions grow, on 1 and 2 one-core nodes, beside the simulator's prediction.

For each node count K (`--nodes 1,2`), `omnirt serve --cluster local:K` runs with each node pinned to a core of its
own (tools/bench/cluster_nodes.py: every thread of the node's raylet, workers and agents on that core, and the
Thinker on one thread). For each count of `--sessions-per-node` n, K x n clients talk through the front door as in
`omnirt bench cluster` (each asks `--turns` questions, pausing `--gap-s` after each whole answer), then leave before
the next count. Per point: voice-to-voice p50/p95 at the clients. The clients and the front door run beside the
nodes, unpinned: on a 2-core machine with 2 nodes they share the nodes' cores.

The simulator predicts every point (`omnirt simulate --nodes K --sessions N --cores 1`: runtime/simulator/nodes.py)
with the bench's own user: the questions' lengths, the pauses, the answers' lengths as measured here, no barge-in
and no false pause. Three predictions: with the stage times of the simulator's checked-in calibration
(runtime/simulator/data/calibration-run.json, measured with both cores), with those of this run's first point
(1 node, 1 session: calibrated on one point, predicting the others), and the host model (capacity_model.py: the
first point, the Thinker measured alone, the steady work beside the turns measured at each count before the first
question). Error: (predicted - measured) / measured.

Capacity at a p95 limit (`--p95-limit-ms`; default 1.3 x the p95 of the first point): the sessions at which a
curve's p95 reaches it, interpolated between measured points. The issue's target: 2 nodes serve twice the sessions
of 1 at the same p95 (within 10 %). JSON, an HTML page with the curves, and the CPU probe.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import html
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ...models.registry import thinker_model
from .cluster import Talk, add_common_arguments, cluster_server, until
from .capacity_model import at_point, host_model, measure_thinker_switch, switch_model, thinker_pieces
from .capacity_report import curve_svg, table_row
from .cluster_nodes import cpu_outside_nodes, cpu_seconds
from .report import cpu_probe, percentiles
from .servers import stats

SIM_TURNS = 3000
LIMIT_OVER_FIRST = 1.3  # the default p95 limit, over the first point's p95
JSON = "bench-results/capacity.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nodes", default="1,2", help="node counts to measure, each a local cluster of its own")
    p.add_argument("--sessions-per-node", default="1,2,3",
                   help="the session counts measured, per node (K nodes talk with K times as many)")
    p.add_argument("--turns", type=int, default=3, help="questions each session asks at each count")
    p.add_argument("--p95-limit-ms", type=float, help="the p95 at which capacity is read (default 1.3 x the first "
                                                      "point's)")
    p.add_argument("--idle-s", type=float, default=6.0,
                   help="seconds the connected sessions stay silent before the first question at each count, to "
                        "measure their steady CPU (0: none)")
    p.add_argument("--thinker-switch", default="bench-results/thinker-switch.json", metavar="JSON",
                   help="the Thinker's cost of another session's cache for the host model: read from here, or "
                        "measured (python -m omnirt.tools.bench.capacity_model) and written here when missing")
    p.add_argument("--predict-from", metavar="CAPACITY.json",
                   help="measure nothing: predict again the points of an earlier run (its settings and figures)")
    p.add_argument("--pool", nargs="+", metavar="CAPACITY.json",
                   help="measure nothing: pool the turns of earlier runs (other --seed draws) point by point and judge "
                        "the host model and the 2-over-1 capacity on them (tools/bench/capacity_pool.py)")
    add_common_arguments(p)
    p.set_defaults(pin_cores=True)
    p.add_argument("--no-pin", dest="pin_cores", action="store_false", help="leave the nodes on every core")
    p.add_argument("--clients-apart", dest="share_cores", action="store_false",
                   help="leave the clients and the front door on every core (by default they run on the measured "
                        "nodes' cores: K nodes carry the clients of K x n sessions, one node those of n)")
    p.add_argument("--json", default=JSON, help=f"where the results go (default {JSON}; with --pool, "
                                                "bench-results/capacity-pool.json)")


def _counts(text: str, what: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"omnirt: error: {what} takes counts like 1,2,4, not {text!r}") from None
    if not values or min(values) < 1:
        raise SystemExit(f"omnirt: error: {what} takes counts of at least 1, not {text!r}")
    return sorted(set(values))


# ---------------------------------------------------------------- measuring

async def _point(url: str, server_pid: int, sessions: int, args: argparse.Namespace) -> dict[str, Any]:
    talk = Talk(url, sessions, args.turns, args.gap_s, args.seed + sessions)
    empty = await _idle_cpu(server_pid, args.idle_s)
    await talk.connect()
    idle = await _idle_cpu(server_pid, args.idle_s)
    cpu0, t0 = cpu_seconds(server_pid), time.monotonic()
    door0, clients0, cores0 = cpu_outside_nodes(server_pid), time.process_time(), core_times()
    await talk.run()
    cpu1, seconds = cpu_seconds(server_pid), time.monotonic() - t0
    door1, clients1, cores = cpu_outside_nodes(server_pid), time.process_time(), cores_busy(cores0, core_times())
    used = {node[:8]: round(cpu1[node] - cpu0.get(node, 0.0), 2) for node in cpu1}
    answered = [r for r in talk.records if r["answered"]]
    try:  # the clients left: the next count starts on empty hosts
        await until(lambda: not stats(url).get("sessions"), 60, "the sessions to end")
    except TimeoutError:
        pass
    return {"sessions": sessions, "placed": len(talk.clients), "refused": len(talk.refused),
            "asked": len(talk.records), "answered": len(answered), "seconds": round(seconds, 1),
            "node_cpu_s": used, "node_busy": {k: round(v / seconds, 3) for k, v in used.items()},
            "cpu_per_turn_ms": round(1e3 * sum(used.values()) / max(1, len(answered)), 1),
            "clients_cpu_s": round(clients1 - clients0, 2), "door_cpu_s": round(door1 - door0, 2), "idle": idle,
            "cores_busy": cores,
            "idle_empty": empty,
            "voice_to_voice_ms": percentiles([r["voice_to_voice_ms"] for r in answered]),
            "records": talk.records}


def core_times() -> list[tuple[int, int]]:
    """(busy, all) clock ticks of each core since boot, from /proc/stat (empty where there is none)."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        name, *ticks = line.split()
        if name.startswith("cpu") and name != "cpu":
            t = [int(x) for x in ticks[:8]]
            out.append((t[0] + t[1] + t[2] + t[5] + t[6] + t[7], sum(t)))
    return out


def cores_busy(before: list[tuple[int, int]], after: list[tuple[int, int]]) -> list[float]:
    """Each core's busy share between two core_times(): everything that ran on it, this bench's processes or not."""
    return [round((b1 - b0) / (a1 - a0), 4) if a1 > a0 else 0.0 for (b0, a0), (b1, a1) in zip(before, after)]


async def _idle_cpu(server_pid: int, seconds: float) -> dict[str, Any]:
    """Cores busy while nobody speaks (summed over the nodes / the clients / the door and Ray's head; and each
    core's whole busy share, whatever ran there): the steady load beside the turns. Measured before the clients
    connect, and again once they are connected."""
    if seconds <= 0:
        return {}
    nodes0, door0, clients0, t0 = cpu_seconds(server_pid), cpu_outside_nodes(server_pid), time.process_time(), \
        time.monotonic()
    cores0 = core_times()
    await asyncio.sleep(seconds)
    nodes1, door1, clients1, dt = cpu_seconds(server_pid), cpu_outside_nodes(server_pid), time.process_time(), \
        time.monotonic() - t0
    return {"seconds": round(dt, 2), "nodes": round(sum(nodes1[n] - nodes0.get(n, 0.0) for n in nodes1) / dt, 4),
            "door": round((door1 - door0) / dt, 4), "clients": round((clients1 - clients0) / dt, 4),
            "cores": cores_busy(cores0, core_times())}


def _measure(args: argparse.Namespace, nodes: int, per_node: list[int], console: Any) -> dict[str, Any]:
    slots = args.slots or max(per_node) + 1
    started = time.monotonic()
    with cluster_server(args, nodes, slots) as (url, server, pinner):
        console.print(f"{nodes} node(s) ready after {time.monotonic() - started:.0f} s"
                      + (f", on cores {sorted(pinner.assigned.values())}" if pinner else ", not pinned"))
        points = []
        for n in per_node:
            assert server.proc is not None
            point = asyncio.run(_point(url, server.proc.pid, nodes * n, args))
            v = point["voice_to_voice_ms"]
            console.print(f"  {nodes} node(s), {nodes * n} sessions: p50 {v['p50']:.0f} ms p95 {v['p95']:.0f} ms "
                          f"({point['answered']}/{point['asked']} answered; nodes busy {point['node_busy']}, "
                          f"{point['cpu_per_turn_ms']:.0f} ms CPU per turn; clients {point['clients_cpu_s']:.1f} s, "
                          f"door {point['door_cpu_s']:.1f} s CPU in {point['seconds']:.0f} s; cores busy "
                          f"{point['cores_busy']}; idle {point['idle']})")
            points.append(point)
    return {"nodes": nodes, "slots": slots, "cores": pinner.assigned if pinner else None, "points": points,
            "closed_by_server": server.closed}


# ---------------------------------------------------------------- predicting

def bench_user(records: list[dict[str, Any]], gap_s: tuple[float, float], model: Any, turns: int = 0) -> Any:
    """`model` with the bench's user: its questions' lengths, its pauses (+ the 0.3 s the client waits after an
    answer's end), its answers' lengths as heard (in tokens of the model's audio per token), its conversations of
    `turns` questions (0: endless); one core per node,
    shared by the stages as the OS shares it (`omnirt simulate --cpu-sharing`)."""
    from ...runtime.simulator import Empirical, Uniform
    from ..clips import make_clip
    from ..questions import QUESTIONS
    from ..rtc_client import RATE, load_speech

    spoken = tuple(1e3 * load_speech(make_clip(q.text, "piper"))[1] / RATE for q in QUESTIONS)
    per_token = model.chunking.audio_ms_per_token
    replies = tuple(max(1.0, r["reply_ms"] / per_token) for r in records if r.get("reply_ms"))
    user = dataclasses.replace(model.user, utterance_ms=Empirical(spoken), barge_in_prob=0.0, false_pause_prob=0.0,
                               think_ms=Uniform(1e3 * gap_s[0] + 300, 1e3 * gap_s[1] + 300),
                               start_spread_ms=1e3 * max(gap_s[1], 1.0), conversation_turns=turns)
    chunking = dataclasses.replace(model.chunking, reply_tokens=Empirical(replies)) if replies else model.chunking
    return dataclasses.replace(model, user=user, chunking=chunking, resources={**model.resources, "cpu": 1},
                               shared=("cpu",))


def self_calibrated(point: dict[str, Any]) -> tuple[Any, float]:
    """The default model fitted to one point's turns (their server segments and client voice-to-voice, as `omnirt
    simulate --calibrate-from` fits a `bench latency` run), and its node's CPU per turn: what the turn's stages
    before the first audio did not use (partial transcripts while the user spoke, the rest of the reply's tokens and
    audio, the audio codecs, the VAD) becomes one job after the first audio. (the model, that work in ms);
    ValueError when too few turns were timed at both ends."""
    from ...runtime.simulator import Fixed, StageModel
    from ...runtime.simulator.calibration import trim
    from ...runtime.simulator.model import SEGMENTS, calibrated

    turns = [r for r in point["records"] if r["answered"] and r.get("server")]
    model = calibrated(trim({"bench": "latency", "turns": turns}))
    before = float(np.mean([sum(t["server"]["segments"].get(k, 0.0) for k in SEGMENTS[1:4]) for t in turns]))
    rest = max(0.0, point["cpu_per_turn_ms"] - before)
    stages = [st for st in model.stages if st.segment] + [StageModel("after first audio", Fixed(rest), None)]
    return dataclasses.replace(model, stages=stages), rest


def first_questions(records: list[dict[str, Any]]) -> list[float]:
    """When each session (in the order they connected) asked its first question, in ms from the first of them:
    the bench's schedule, an input like its pauses."""
    first: dict[int, float] = {}
    for r in records:
        first[r["session"]] = min(first.get(r["session"], np.inf), r["t_asked"])
    t0 = min(first.values())
    return [1e3 * (first[s] - t0) for s in sorted(first)]


def predict(model: Any, nodes: int, sessions: int, seed: int, turns_each: int = 0,
            starts: list[float] | None = None) -> dict[str, Any]:
    """p50 and p95 over a long run; with `turns_each`, also 100 runs as short as the bench's (every session asking
    that many questions, its sessions beginning at `starts` as the bench's did, placed as the door places them;
    else at random): the p50 and p95 of all their turns together (what the bench's turns are a sample of:
    "bench_p50", "bench_p95") and the 10-90 % range of each run's own p95 (how far a measured point's p95 of a few
    dozen turns may fall from the model's by chance alone)."""
    from ...runtime.simulator import simulate_nodes
    from ..simulate import node_loads, node_placement

    loads = node_loads(nodes, sessions)
    s = simulate_nodes(model, loads, SIM_TURNS, seed).as_dict()["voice_to_voice"]
    out: dict[str, Any] = {"p50": round(s["p50_ms"], 1), "p95": round(s["p95_ms"], 1)}
    if turns_each:
        per_node = None
        if starts is not None and len(starts) == sessions:
            placed = node_placement(nodes, sessions)
            per_node = [tuple(t for t, n in zip(starts, placed) if n == i) for i in range(nodes)]
        runs = [simulate_nodes(model, loads, sessions * turns_each, seed + 1 + i, per_node).records["voice_to_voice"]
                for i in range(100)]
        pooled = np.concatenate(runs)
        out["bench_p50"], out["bench_p95"] = (round(float(np.percentile(pooled, q)), 1) for q in (50, 95))
        short = [float(np.percentile(r, 95)) for r in runs]
        out["p95_short_runs"] = [round(float(np.percentile(short, q)), 1) for q in (10, 90)]
    return out


def sessions_at(curve: list[tuple[int, float]], limit: float) -> tuple[float, str]:
    """Where a (sessions, p95) curve reaches `limit`, interpolated: (sessions, "reached"), or the last count
    measured and "not reached" (capacity is at least that), or the first and "above" (already over it)."""
    if not curve:
        return float("nan"), "no data"
    if curve[0][1] > limit:
        return float(curve[0][0]), "above"
    for (n0, p0), (n1, p1) in zip(curve, curve[1:]):
        if p1 >= limit:
            return round(n0 + (n1 - n0) * (limit - p0) / (p1 - p0), 2) if p1 > p0 else float(n1), "reached"
    return float(curve[-1][0]), "not reached"


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k != "func"}


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str))
    return path


def _thinker_switch(path: Path, model: str, console: Any) -> dict[str, Any]:
    """The Thinker's cost of another session's cache (capacity_model.py), from `path` when it was measured with this
    Thinker, else measured now and kept there (about a minute, on core 0): a measurement of the 0.5B model says
    nothing of the 1.5B model the hosts run by default."""
    if path.exists():
        kept = json.loads(path.read_text())
        if switch_model(kept) == model:
            return kept
        console.print(f"{path} was measured with {switch_model(kept)}, the hosts run {model}")
    console.print(f"measuring the Thinker ({model}) alone on one core (kept in {path}) ...")
    switch = {"cpu_probe_ms": [cpu_probe()], **measure_thinker_switch(model)}
    _write(path, switch)
    return switch


def run(args: argparse.Namespace, console: Any) -> int:
    from ...runtime.simulator import default_embedded

    if args.pool:
        from .capacity_pool import run as run_pool

        return run_pool(args.pool, "bench-results/capacity-pool.json" if args.json == JSON else args.json,
                        args.p95_limit_ms)
    node_counts, per_node = _counts(args.nodes, "--nodes"), _counts(args.sessions_per_node, "--sessions-per-node")
    if args.turns < 1:
        raise SystemExit("omnirt: error: --turns must be at least 1")
    if args.predict_from:
        try:
            earlier = json.loads(Path(args.predict_from).read_text())
            runs, probes, gap_s = earlier["runs"], earlier["cpu_probe_ms"], tuple(earlier["settings"]["gap_s"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise SystemExit(f"omnirt: error: {args.predict_from}: not a `bench capacity` JSON ({err})") from None
        args.gap_s, args.turns = gap_s, int(earlier["settings"]["turns"])
        args.thinker = earlier["settings"].get("thinker", "0.5b")  # the hosts' Thinker then (0.5B before it was said)
        console.print(f"the points of {args.predict_from} (CPU probe then {probes} ms), predicted again")
    else:
        probe = cpu_probe()
        console.print(f"machine: CPU probe {probe} ms; nodes {node_counts}, sessions per node {per_node}, "
                      f"{args.turns} questions each, pauses {args.gap_s[0]:g}-{args.gap_s[1]:g} s")
        runs = [_measure(args, k, per_node, console) for k in node_counts]
        probes = [probe, cpu_probe()]
        _write(Path(args.json), {"bench": "capacity", "cpu_probe_ms": probes, "settings": _settings(args),
                                 "runs": runs})  # the measurements first: `--predict-from` reads them again
    first = runs[0]["points"][0]
    every = [r for run_ in runs for p in run_["points"] for r in p["records"] if r["answered"]]
    models = {"predicted": bench_user(every, args.gap_s, default_embedded(), args.turns)}
    try:
        model, rest_ms = self_calibrated(first)
        models["predicted_self"] = bench_user(every, args.gap_s, model, args.turns)
        console.print(f"calibrated on 1 node, 1 session: {first['cpu_per_turn_ms']:.0f} ms CPU per turn, of which "
                      f"{rest_ms:.0f} ms after the stages before the first audio")
    except ValueError as err:
        console.print(f"no prediction from this run's first point: {err}")
    try:
        thinker = thinker_model(args.thinker)
        switch = _thinker_switch(Path(args.thinker_switch), thinker, console)
        model, parts = host_model(first, switch, thinker_pieces(thinker))
        models["predicted_host"] = bench_user(every, args.gap_s, model, args.turns)
        out_host = {"calibration": parts, "thinker_switch": switch}
        console.print(f"host model (1st point + the Thinker alone): {parts}")
    except (ValueError, KeyError) as err:
        out_host = {"error": str(err)}
        console.print(f"no host model: {err}")
    for r in runs:
        for p in r["points"]:
            for key, model in models.items():
                host = key == "predicted_host"
                p[key] = predict(at_point(model, p, r["nodes"], first) if host else model, r["nodes"],
                                 p["sessions"], args.seed, args.turns if host else 0,
                                 first_questions(p["records"]) if host else None)
    limit = args.p95_limit_ms or round(LIMIT_OVER_FIRST * first["voice_to_voice_ms"]["p95"], 1)
    capacity = {r["nodes"]: sessions_at([(p["sessions"], p["voice_to_voice_ms"]["p95"]) for p in r["points"]], limit)
                for r in runs}
    out = {"bench": "capacity", "cpu_probe_ms": probes, "settings": _settings(args),
           "p95_limit_ms": limit, "capacity_at_limit": capacity, "host_model": out_host, "runs": runs}
    if 1 in capacity and 2 in capacity:
        out["two_over_one"] = round(capacity[2][0] / capacity[1][0], 3) if capacity[1][0] else None
    print(f"machine: CPU probe {out['cpu_probe_ms'][0]} ms before, {out['cpu_probe_ms'][1]} ms after")
    print("voice-to-voice (ms) by sessions in all; predicted with the checked-in calibration | with this run's first "
          "point | the host model (first point + the Thinker alone, runs as short as this one with its "
          "sessions' first questions when they were asked); error of the p95")
    print("  nodes sessions     p50     p95 |  sim p50 sim p95   error | self p50 self p95  error | host p50 host p95"
          "  error   answered")
    for r in runs:
        for p in r["points"]:
            print(table_row(p, r["nodes"]))
    for r in runs:
        for p in r["points"]:
            host = p.get("predicted_host") or {}
            if host.get("p95_short_runs"):
                band = host["p95_short_runs"]
                print(f"  {r['nodes']} node(s), {p['sessions']} sessions: the host model's p95 over runs as short as "
                      f"this one ({args.turns} questions a session): {band[0]:.0f}-{band[1]:.0f} ms (10-90 %); "
                      f"measured {p['voice_to_voice_ms']['p95']:.0f}; over a long run {host['p95']:.0f}")
    for k, (n, how) in capacity.items():
        print(f"capacity at p95 {limit:.0f} ms: {k} node(s) {n:g} sessions ({how})")
    if "two_over_one" in out:
        print(f"2 nodes / 1 node at the same p95: {out['two_over_one']} (target 2, within 10 %: 1.8-2.2)")
    path = _write(Path(args.json), out)
    page = path.with_suffix(".html")
    page.write_text("<!doctype html><meta charset=utf-8><title>omnirt capacity</title><body style='font-family:"
                    "sans-serif;max-width:900px'><h1>omnirt capacity</h1><p>voice-to-voice against sessions in all; "
                    "measured solid, predicted by the host model dashed; p95 thick, p50 thin</p>"
                    + curve_svg(runs) + "<pre>" + html.escape(json.dumps({k: v for k, v in out.items() if k != "runs"},
                                                                    indent=1, default=str)) + "</pre></body>")
    print(f"wrote {path} and {page}")
    return 0
