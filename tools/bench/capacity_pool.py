"""`omnirt bench capacity --pool A.json B.json ...`: the turns of several capacity runs pooled point by point, and the
host model judged against the pooled turns.

Why: a point of a few sessions asking 6 questions each has a p95 of a few dozen turns, and which of them collide
(two sessions asking within a second of each other on one node's Thinker) decides it; the bench's draws are seeded,
so runs at one seed repeat one schedule. Runs at different `--seed`s are different draws of the same load: pooled,
their turns estimate the point's p95 far better than any one run (docs/cluster-bench.md), and the capacity read
from the pooled curves is what "2 nodes serve twice the sessions of 1" asks about.

The measured side is every answered turn of every run at that point. The predicted side is the mean, over the runs,
of the host model's prediction for the bench as that run played it (`bench_p50` / `bench_p95`: its sessions' start
times, that many questions each). Nothing is measured or simulated again here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .capacity import LIMIT_OVER_FIRST, sessions_at

RESAMPLES = 1000  # run-level bootstrap draws for the intervals (`spread`)
SAME = ("nodes", "sessions_per_node", "turns", "gap_s", "thinker", "talker")  # settings every pooled run must share
WITHIN = 0.15  # the bound on the simulator's p95 error


def load(paths: list[str]) -> list[dict[str, Any]]:
    """The runs, checked to be capacity runs of the same shape (SystemExit with a one-line reason otherwise)."""
    runs = []
    for p in paths:
        try:
            run = json.loads(Path(p).read_text())
            if run.get("bench") != "capacity" or not run.get("runs"):
                raise ValueError("not a finished `bench capacity` JSON")
        except (OSError, ValueError) as err:
            raise SystemExit(f"omnirt: error: {p}: {err}") from None
        runs.append(run)
    for key in SAME:
        seen = {json.dumps(r["settings"].get(key)) for r in runs}
        if len(seen) > 1:
            raise SystemExit(f"omnirt: error: the runs differ in {key} ({', '.join(sorted(seen))}): pool runs of one "
                             "shape, differing only in --seed")
    return runs


def pool(runs: list[dict[str, Any]], p95_limit_ms: float | None = None) -> dict[str, Any]:
    """Per (nodes, sessions) point: pooled measured p50/p95, the mean predicted ones and the p95 error; then the
    capacity at the p95 limit (1.3 x the pooled first point's p95 unless given) per node count, and 2 over 1."""
    points: dict[tuple[int, int], dict[str, Any]] = {}
    for run in runs:
        for r in run["runs"]:
            for p in r["points"]:
                at = points.setdefault((r["nodes"], p["sessions"]),
                                       {"turns": [], "seeds": [], "predicted_p50": [], "predicted_p95": []})
                at["turns"] += [t["voice_to_voice_ms"] for t in p["records"] if t.get("answered")]
                at["seeds"].append(run["settings"].get("seed"))
                host = p.get("predicted_host") or {}
                if "bench_p95" in host:  # the host model for the bench as this run played it
                    at["predicted_p50"].append(host["bench_p50"])
                    at["predicted_p95"].append(host["bench_p95"])
    rows = []
    for (nodes, sessions), at in sorted(points.items()):
        turns = np.asarray(at["turns"], dtype=float)
        row: dict[str, Any] = {"nodes": nodes, "sessions": sessions, "runs": len(at["seeds"]), "seeds": at["seeds"],
                               "turns": int(turns.size)}
        if turns.size:
            row["p50"], row["p95"] = (round(float(np.percentile(turns, q)), 1) for q in (50, 95))
        if at["predicted_p95"] and turns.size:
            row["predicted_p50"] = round(float(np.mean(at["predicted_p50"])), 1)
            row["predicted_p95"] = round(float(np.mean(at["predicted_p95"])), 1)
            row["p95_error"] = round(row["predicted_p95"] / row["p95"] - 1, 3)
        rows.append(row)
    first = next((r for r in rows if "p95" in r), None)
    limit = p95_limit_ms or (round(LIMIT_OVER_FIRST * first["p95"], 1) if first else float("nan"))
    capacity = {}
    for nodes in sorted({r["nodes"] for r in rows}):
        curve = [(r["sessions"], r["p95"]) for r in rows if r["nodes"] == nodes and "p95" in r]
        capacity[nodes] = sessions_at(curve, limit)
    out: dict[str, Any] = {"bench": "capacity-pool", "runs": len(runs), "points": rows, "p95_limit_ms": limit,
                           "capacity_at_limit": capacity,
                           "within": sum(1 for r in rows if abs(r.get("p95_error", np.inf)) <= WITHIN),
                           "judged": sum(1 for r in rows if "p95_error" in r)}
    if 1 in capacity and 2 in capacity and capacity[1][0]:
        out["two_over_one"] = round(capacity[2][0] / capacity[1][0], 3)
    out["load_for_load"] = load_for_load(rows)
    return out


def load_for_load(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """2 nodes at 2n sessions against 1 node at n, for each n measured at both: the p95s and the change. Why: the
    capacity's ratio is read at one limit on interpolated curves; this is the same question ("twice the sessions
    at the same p95") asked at every load the runs measured, with no interpolation."""
    p95 = {(r["nodes"], r["sessions"]): r["p95"] for r in rows if "p95" in r}
    return [{"per_node": n, "one": v, "two": p95[(2, 2 * n)], "change": round(p95[(2, 2 * n)] / v - 1, 3)}
            for (k, n), v in sorted(p95.items()) if k == 1 and (2, 2 * n) in p95]


def spread(runs: list[dict[str, Any]], p95_limit_ms: float | None = None, draws: int = RESAMPLES,
           seed: int = 0) -> dict[str, Any]:
    """How far the pooled answers move with the draws pooled: the runs resampled with replacement `draws` times, each
    resample pooled as `pool` does (the limit read from its own first point unless given), and the 5th and 95th
    percentiles of 2 nodes / 1 and of each load-for-load change. Why whole runs, not turns: within a run the turns
    share one schedule of collisions, so resampling turns would call a few lucky schedules certain."""
    rng = np.random.default_rng(seed)
    ratios: list[float] = []
    changes: dict[int, list[float]] = {}
    for _ in range(draws):
        out = pool([runs[i] for i in rng.integers(0, len(runs), len(runs))], p95_limit_ms)
        if "two_over_one" in out:
            ratios.append(out["two_over_one"])
        for x in out["load_for_load"]:
            changes.setdefault(x["per_node"], []).append(x["change"])
    band = lambda xs: [round(float(np.percentile(xs, q)), 3) for q in (5, 95)]  # noqa: E731
    return {"draws": draws, "two_over_one": band(ratios) if ratios else None,
            "load_for_load": {n: band(xs) for n, xs in sorted(changes.items())}}


def report(out: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    lines = [f"pooled {out['runs']} runs (seeds {sorted({r['settings'].get('seed') for r in runs})}; CPU probes "
             f"{[r['cpu_probe_ms'] for r in runs]} ms)",
             "  nodes sessions  turns     p50     p95 | host p50 host p95  error"]
    for r in out["points"]:
        err = f"{100 * r['p95_error']:+5.0f} %" if "p95_error" in r else "    -"
        lines.append(f"  {r['nodes']:5d} {r['sessions']:8d} {r['turns']:6d} {r.get('p50', np.nan):7.0f} "
                     f"{r.get('p95', np.nan):7.0f} | {r.get('predicted_p50', np.nan):8.0f} "
                     f"{r.get('predicted_p95', np.nan):8.0f} {err}")
    lines.append(f"host model within {100 * WITHIN:.0f} % at p95 on {out['within']} of {out['judged']} pooled points")
    for k, (n, how) in out["capacity_at_limit"].items():
        lines.append(f"capacity at pooled p95 {out['p95_limit_ms']:.0f} ms: {k} node(s) {n:g} sessions ({how})")
    band = out.get("spread") or {}
    within = lambda b: "" if not b else f"; 90 % of resampled pools {100 * b[0]:+.0f} to {100 * b[1]:+.0f} %"  # noqa: E731
    if out.get("load_for_load"):
        lines.append("2 nodes against 1, load for load (p95, 2n sessions on 2 nodes against n on 1): " + ", ".join(
            f"{x['per_node']} a node {x['one']:.0f} -> {x['two']:.0f} ms ({100 * x['change']:+.0f} %"
            f"{within(band.get('load_for_load', {}).get(x['per_node']))})" for x in out["load_for_load"]))
    if "two_over_one" in out:
        ratio = band.get("two_over_one")
        lines.append(f"2 nodes / 1 node at the same p95, pooled: {out['two_over_one']}"
                     + (f" (90 % of resampled pools {ratio[0]:g} to {ratio[1]:g})" if ratio else "")
                     + " (target 2, within 10 %: 1.8-2.2)")
    if band:
        lines.append(f"(resampled pools: the {len(runs)} runs drawn with replacement {band['draws']} times)")
    return "\n".join(lines)


def run(paths: list[str], json_path: str, p95_limit_ms: float | None) -> int:
    runs = load(paths)
    out = pool(runs, p95_limit_ms)
    if len(runs) > 1:
        out["spread"] = spread(runs, p95_limit_ms)
    print(report(out, runs))
    path = Path(json_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**out, "sources": paths}, indent=1))
    print(f"wrote {path}")
    return 0
