"""`omnirt simulate`: predict how a voice pipeline will feel before building it.

    omnirt simulate                                 the default embedded pipeline on this machine's measured stages
    omnirt simulate --config my.toml --budget b.toml   a model of your own, checked against a latency budget
    omnirt simulate --sessions 4 --hangover-ms 300     what-if switches on top of the model, shown beside the
                                                    unchanged model's prediction
    omnirt simulate --nodes 2 --sessions 8 --cores 1   8 sessions placed by the cluster's front door on 2 nodes of
                                                    1 core each (`omnirt serve --cluster`)
    omnirt simulate --nodes 2 --sessions 6 --host-from bench-results/capacity.json
                                                    the same, each node a one-core session host as `omnirt bench
                                                    capacity` measured it (tools/bench/capacity_model.py)
    omnirt simulate --calibrate-from bench-results/latency.json
                                                    make a fresh `omnirt bench latency` run the default model's
                                                    source (runtime/simulator/data/calibration-run.json)

Exit status 1 when the budget is broken (for CI), 0 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys

import numpy as np
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="a model TOML overriding the default embedded pipeline section by section")
    p.add_argument("--budget", help="a budget TOML; violations are listed and the exit status is 1")
    p.add_argument("--turns", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sessions", type=int, help="what-if: concurrent sessions")
    p.add_argument("--hangover-ms", type=float, help="what-if: VAD hangover")
    p.add_argument("--cores", type=int, help="what-if: CPU cores (per node with --nodes)")
    p.add_argument("--cpu-sharing", action="store_true",
                   help="what-if: the stages share the cores as an OS shares them (every stage present runs at "
                        "once, slower), not first come, first served")
    p.add_argument("--nodes", type=int, help="what-if: a cluster of this many nodes (each with --cores), --sessions "
                                             "in all placed on them as the front door places them")
    p.add_argument("--rtt-ms", type=float, help="what-if: network round trip (the measured loopback is ~2 ms)")
    p.add_argument("--thinker", choices=["0.5b", "1.5b"],
                   help="what-if: another Thinker than the one the model was fitted with (the 1.5B model is slower "
                        "per token)")
    p.add_argument("--gpu-encoders", type=float, metavar="MS",
                   help="what-if: ASR runs on a GPU (its own resource, no CPU queue) taking MS per utterance "
                        "(measure it with `omnirt bench asr` on the GPU machine)")
    p.add_argument("--turns-from", metavar="TURNS.json",
                   help="what-if: the end-of-turn detector as this `omnirt bench turns` run measured the runtime's "
                        "default rule on its held-out half (its wait after each real end, and its cutoff rate), "
                        "instead of a fixed hangover")
    p.add_argument("--host-from", metavar="CAPACITY.json",
                   help="what-if: each node a one-core session host fitted to this `omnirt bench capacity` run's "
                        "first point and Thinker measurement, with its user: one Thinker per host whose cache "
                        "switches between sessions, the clients' and the audio's steady work on the core")
    p.add_argument("--json", help="write the summary here")
    p.add_argument("--calibrate-from", metavar="RUN.json",
                   help="keep what the default model needs from this `omnirt bench latency` run (aiortc client, "
                        "one arm) as its source, then simulate with it")


# The 1.5B Thinker against the 0.5B one on a 2-core machine (llama-cpp-python): generation
# 22-23 vs 38-41 tokens/s, prompt 93 vs ~210 tokens/s.
THINKER_1_5B = {"thinker prefill": 210 / 93, "thinker first clause": 39.5 / 22.5, "reply rest": 39.5 / 22.5}


def thinker_factors(wanted: str, fitted: str | None) -> dict[str, float]:
    """How much slower each Thinker stage is with `wanted` than with the Thinker the model was fitted with
    (`fitted`: the calibration run's, or None for a model that does not say, taken as the 0.5B one)."""
    speed = {"0.5b": dict.fromkeys(THINKER_1_5B, 1.0), "1.5b": THINKER_1_5B}
    base = speed.get(fitted or "0.5b")
    if base is None:
        raise ValueError(f"the model was fitted with the Thinker {fitted!r}: --thinker cannot scale from it")
    return {k: speed[wanted][k] / base[k] for k in THINKER_1_5B}


def _scaled(stage: Any, factor: float) -> Any:
    from ..runtime.simulator import Empirical, Fixed, LogNormal

    s = stage.service
    if isinstance(s, LogNormal):
        service = LogNormal(s.mu + float(np.log(factor)), s.sigma)
    elif isinstance(s, Fixed):
        service = Fixed(s.value * factor)
    elif isinstance(s, Empirical):
        service = Empirical(tuple(v * factor for v in s.samples))
    else:
        raise ValueError(f"cannot scale a {type(s).__name__} stage for --thinker")
    return dataclasses.replace(stage, service=service)


def _what_if(args: argparse.Namespace) -> bool:
    return any(getattr(args, k) is not None
               for k in ("sessions", "hangover_ms", "cores", "rtt_ms", "thinker", "gpu_encoders", "turns_from",
                         "nodes", "host_from")) or args.cpu_sharing


def _model(args: argparse.Namespace, what_if: bool = True) -> Any:
    from ..runtime.simulator import default_embedded, load_model
    from ..runtime.simulator.calibration import calibration_run

    model = load_model(args.config) if args.config else default_embedded()
    if not what_if:
        return model
    if args.host_from is not None:
        model = host_from(args.host_from, args.nodes or 1, args.sessions)
    if args.rtt_ms is not None:
        model = dataclasses.replace(model, network=dataclasses.replace(model.network, rtt_ms=args.rtt_ms))
    if args.gpu_encoders is not None:
        from ..runtime.simulator import LogNormal

        gpu = LogNormal.from_median_p95(args.gpu_encoders, args.gpu_encoders * 1.3)
        model = dataclasses.replace(model, resources={**model.resources, "gpu": 1},
                                    stages=[dataclasses.replace(s, service=gpu, resource="gpu") if s.name == "asr"
                                            else s for s in model.stages])
    if args.thinker is not None:
        fitted = None if args.config or args.host_from else calibration_run()["settings"].get("thinker")
        factors = thinker_factors(args.thinker, fitted)
        model = dataclasses.replace(model, stages=[_scaled(s, factors[s.name]) if s.name in factors
                                                   else s for s in model.stages])
    if args.sessions is not None and args.nodes is None:  # (with --nodes each node gets its share: node_loads)
        model = dataclasses.replace(model, sessions=args.sessions)
    if args.hangover_ms is not None:
        model = dataclasses.replace(model, vad=dataclasses.replace(model.vad, hangover_ms=args.hangover_ms))
    if args.cores is not None:
        model = dataclasses.replace(model, resources={**model.resources, "cpu": args.cores})
    if args.cpu_sharing:
        model = dataclasses.replace(model, shared=("cpu",))
    if args.turns_from is not None:
        waits, cutoff, _ = detector_from(args.turns_from)
        model = dataclasses.replace(model, vad=dataclasses.replace(model.vad, commit_ms=waits, cutoff_prob=cutoff))
    return model


def host_from(path: str, nodes: int = 1, sessions: int | None = None) -> Any:
    """The one-core session host of a `bench capacity` JSON (its first point, its Thinker measurement and
    tokenizer, its user), with the steady work the run measured silent at `nodes` and `sessions` if it has that
    point (capacity_model.at_point), else the first point's per session."""
    from .bench.capacity import bench_user
    from .bench.capacity_model import at_point, host_model, switch_model, thinker_pieces

    try:
        run = json.loads(Path(path).read_text())
        first, switch = run["runs"][0]["points"][0], run["host_model"]["thinker_switch"]
        every = [r for r_ in run["runs"] for p in r_["points"] for r in p["records"] if r["answered"]]
        gap, turns = tuple(run["settings"]["gap_s"]), int(run["settings"]["turns"])
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a `bench capacity` JSON with a host model ({type(err).__name__}: {err})") \
            from None
    pieces = thinker_pieces(switch_model(switch))  # the Thinker the run's hosts were measured with
    model = bench_user(every, gap, host_model(first, switch, pieces)[0], turns)
    same = [p for r in run["runs"] if r.get("nodes") == nodes for p in r["points"] if p.get("sessions") == sessions]
    return at_point(model, same[0], nodes, first) if same else model


def node_loads(nodes: int, sessions: int) -> list[int]:
    """Sessions per node as the front door places them one after another (tools/cluster/placement.py's rule on
    nodes with room for all: the most free slots first, so they spread evenly)."""
    placed = node_placement(nodes, sessions)
    return [placed.count(i) for i in range(nodes)]


def node_placement(nodes: int, sessions: int) -> list[int]:
    """The node of each session, in the order they connect, by the front door's rule (see node_loads)."""
    from .cluster.placement import HostState, placement_order

    hosts = [HostState(f"node{i:03d}", str(i), sessions) for i in range(nodes)]
    placed = []
    for _ in range(sessions):
        best = placement_order(hosts)[0]
        placed.append(int(best.node_id))
        hosts = [dataclasses.replace(h, sessions=h.sessions + 1) if h is best else h for h in hosts]
    return placed


def simulate_what_if(args: argparse.Namespace, model: Any) -> Any:
    """The simulation the options ask for: one machine, or with --nodes the sessions spread over that many."""
    from ..runtime.simulator import simulate, simulate_nodes

    if args.nodes is None:
        return simulate(model, turns=args.turns, seed=args.seed)
    return simulate_nodes(model, node_loads(args.nodes, args.sessions or model.sessions), args.turns, args.seed)


def detector_from(path: str) -> tuple[Any, float, str]:
    """From an `omnirt bench turns` JSON: the runtime's default end-of-turn rule on the held-out half (the combined
    classifier when the session uses it, else the Thinker's probability) as (the wait after each real end, an
    Empirical distribution of its two waits in the measured shares; the cutoff rate; a description)."""
    from ..runtime.session import SessionOptions
    from ..runtime.simulator import Empirical

    run = json.loads(Path(path).read_text())
    if not isinstance(run, dict) or run.get("benchmark") != "turns" or "runtime_default" not in run:
        raise ValueError(f"{path}: not an `omnirt bench turns` JSON")
    held = run["runtime_default"]["heldout"]
    policy = "combined" if SessionOptions().turn_classifier and "combined" in held else "detector"
    p, n = held[policy], int(run["utterances"]["heldout"])
    measured = run.get("runtime_default_waits", {}).get("heldout")
    if measured:  # each end's own wait (three waits need it; older runs hold only the mean)
        counts = sorted(collections.Counter(float(w) for w in measured).items())
        told = ", ".join(f"{k} at {w:.0f} ms" for w, k in counts)
        return (Empirical(tuple(float(w) for w in measured)), float(p["cutoff"]),
                f"{policy}: held-out ends released {told}; {100 * p['cutoff']:.1f} % of paused requests cut")
    short, long = float(p["d_short"]), float(p["d_long"])
    share = (long - float(p["latency_ms"])) / (long - short) if long > short else 0.0
    k = int(round(share * n))
    waits = Empirical(tuple([short] * k + [long] * (n - k)))
    return waits, float(p["cutoff"]), (f"{policy}: {k} of {n} held-out ends released at {short:.0f} ms, the rest "
                                       f"at {long:.0f} ms; {100 * p['cutoff']:.1f} % of paused requests cut")


def _calibrate(path: str, console: Any) -> None:
    from ..runtime.simulator import calibration

    run = json.loads(Path(path).read_text())
    if not isinstance(run, dict):
        raise ValueError(f"{path}: not an `omnirt bench latency` JSON")
    kept = calibration.write(run, source=Path(path).name)
    st = kept["settings"]
    console.print(f"the default model now comes from {path}: {len(kept['turns'])} turns, "
                  f"{len(kept['barge_in'])} barge-ins, {st['client']} client, vision {st['vision']}, "
                  f"CPU probe {st['cpu_probe_ms']} ms (wrote {calibration.RUN})")


def _get(d: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for k in path:
        d = d.get(k, {})
    return d


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.table import Table

    from ..runtime.simulator import check, load_budget, simulate

    try:
        if args.turns < 1:
            raise ValueError("--turns must be at least 1")
        if args.nodes is not None and not 1 <= args.nodes <= args.turns:
            raise ValueError("--nodes must be at least 1 (and no more than --turns)")
        if args.nodes is not None and (args.sessions or 1) < 1:
            raise ValueError("--sessions must be at least 1")
        if args.calibrate_from:
            _calibrate(args.calibrate_from, console)
        model = _model(args)
        budget = load_budget(args.budget) if args.budget else None
    except (ValueError, OSError) as err:  # a malformed model or budget file: one line, exit 2
        print(f"omnirt: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    try:
        summary = simulate_what_if(args, model).as_dict()
    except ValueError as err:
        print(f"omnirt: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    base = simulate(_model(args, what_if=False), turns=args.turns, seed=args.seed).as_dict() if _what_if(args) else None
    where = (f"{summary['sessions']} session(s) on {args.nodes} node(s) of {model.resources.get('cpu', 0)} CPU "
             f"core(s) (per node: {', '.join(map(str, node_loads(args.nodes, summary['sessions'])))})"
             if args.nodes else f"{model.sessions} session(s), {model.resources.get('cpu', 0)} CPU core(s)")
    table = Table(title=f"simulated: {args.turns} turns, {where}, seed {args.seed}")
    cols = ("", "p50", "p95", "p99", "mean") + (("p50 without the what-if", "difference") if base else ())
    for col in cols:
        table.add_column(col, justify="left" if not col else "right", no_wrap=not col)
    keys = [("voice-to-voice", ("voice_to_voice",)), ("time to first audio", ("time_to_first_audio",)),
            ("barge-in", ("barge_in",))] + [(f"  {k}", ("stages", k)) for k in summary["stages"]]
    for name, path in keys:
        s = _get(summary, path)
        if s.get("n"):
            cells = [f"{s[k]:.0f}" for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms")]
            if base:
                b = _get(base, path)
                cells += [f"{b.get('p50_ms', float('nan')):.0f}", f"{s['p50_ms'] - b.get('p50_ms', 0.0):+.0f}"]
            table.add_row(name, *cells)
    console.print(table)
    if not args.config and args.host_from is None:  # else the stage times are the TOML's or the capacity run's
        from ..runtime.simulator.calibration import calibration_run

        calib = calibration_run()
        probe = " / ".join(map(str, calib["settings"]["cpu_probe_ms"]))
        console.print(f"stage times fitted to {calib.get('source') or 'the checked-in run'}, measured on a "
                      f"host whose CPU probe read {probe} ms: a slower host (a higher probe, which every "
                      f"`omnirt bench` prints) answers slower; `--calibrate-from` fits a run of your own")
    if args.turns_from is not None:
        console.print(f"end of turn from {args.turns_from}: {detector_from(args.turns_from)[2]}; simulated cutoffs "
                      f"{100 * summary.get('cutoff_rate', 0.0):.1f} % of turns")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=1))
    if budget is not None:
        violations = check(budget, summary)
        for v in violations:
            console.print(f"[red]over budget:[/] {v}")
        if violations:
            return 1
        console.print("within budget")
    return 0
