"""The readable parts of `omnirt bench capacity`'s report: the printed table's rows and the HTML plot of
voice-to-voice against sessions, measured beside predicted (tools/bench/capacity.py measures and predicts)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np


def curve_svg(runs: list[dict[str, Any]], width: int = 640, height: int = 300) -> str:
    """p95 (thick) and p50 (thin) against sessions: measured solid, predicted (this run's calibration) dashed."""
    series = []
    for r, colour in zip(runs, ("#246", "#c63", "#393", "#939")):
        pts = r["points"]
        for key, thick in (("p95", 2.5), ("p50", 1)):
            series.append((f"{r['nodes']} node(s) {key}", colour, thick, "",
                           [(p["sessions"], p["voice_to_voice_ms"][key]) for p in pts]))
            series.append((f"predicted {key}", colour, thick, "6,4",
                           [(p["sessions"], (p.get("predicted_host") or p.get("predicted_self") or {}).get(key))
                            for p in pts]))
    values = [v for *_, line in series for _, v in line if v is not None and np.isfinite(v)]
    ns = [n for *_, line in series for n, _ in line]
    if not values:
        return ""
    hi, top = max(values) * 1.1, max(ns)
    x = lambda n: 50 + (width - 70) * n / top  # noqa: E731
    y = lambda v: height - 30 - (height - 50) * v / hi  # noqa: E731
    out = [f'<svg width="{width}" height="{height}" style="background:#fafafa">']
    for label, colour, thick, dash, line in series:
        pts = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in line if v is not None and np.isfinite(v))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="{thick}" stroke-dasharray="{dash}" '
                   f'points="{pts}"><title>{html.escape(label)}</title></polyline>')
    out += [f'<text x="{x(n):.1f}" y="{height - 12}" font-size="10" text-anchor="middle">{n}</text>'
            for n in sorted(set(ns))]
    out += [f'<text x="4" y="{y(v):.1f}" font-size="10">{v:.0f}</text>' for v in np.linspace(0, hi, 6)[1:]]
    return "".join(out) + f'<text x="{width - 10}" y="{height - 12}" font-size="10" text-anchor="end">sessions' \
                          '</text></svg>'


def table_row(p: dict[str, Any], nodes: int) -> str:
    """One measured point as the printed table's line: measured p50/p95, then each model's prediction and its p95
    error (the bench's own calibration, the point's self-calibration, the host model), then answered/asked."""
    v, a, b, c = (p["voice_to_voice_ms"], p.get("predicted") or {}, p.get("predicted_self") or {},
                  p.get("predicted_host") or {})
    if "bench_p95" in c:  # the host model as the bench runs: its sessions' schedule, this many questions each
        c = {"p50": c["bench_p50"], "p95": c["bench_p95"]}
    err = lambda pr: f"{100 * (pr['p95'] / v['p95'] - 1):+5.0f} %" if pr and v["p95"] else "    -"  # noqa: E731
    return (f"  {nodes:5d} {p['sessions']:8d} {v['p50']:7.0f} {v['p95']:7.0f} | {a.get('p50', float('nan')):7.0f} "
            f"{a.get('p95', float('nan')):7.0f} {err(a)} | {b.get('p50', float('nan')):7.0f} "
            f"{b.get('p95', float('nan')):7.0f} {err(b)} | {c.get('p50', float('nan')):7.0f} "
            f"{c.get('p95', float('nan')):7.0f} {err(c)}   {p['answered']}/{p['asked']}")
