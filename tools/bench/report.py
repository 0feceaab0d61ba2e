"""Shared pieces of the benchmarks: percentile summaries and a small self-contained HTML report with SVG plots."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/mean/min/max (NaN when empty) and n."""
    a = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if a.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan"), "min": float("nan"),
                "max": float("nan"), "n": 0}
    return {"p50": round(float(np.percentile(a, 50)), 1), "p95": round(float(np.percentile(a, 95)), 1),
            "mean": round(float(a.mean()), 1), "min": round(float(a.min()), 1), "max": round(float(a.max()), 1),
            "n": int(a.size)}


def cpu_probe(runs: int = 9) -> float:
    """Median ms of a fixed workload like the models' (a matrix product on every core, then a pass over 64 MB that
    no cache holds). On a shared host the same code runs up to 30 % slower from one hour to the next; benchmarks
    store this beside their figures so that runs can be compared (lower = a quieter host)."""
    import time

    rng = np.random.default_rng(0)
    a = rng.standard_normal((384, 384)).astype(np.float32)
    big = np.ones(16 * 1024 * 1024, np.float32)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(10):
            a = np.tanh(a @ a)
        float(big.sum())
        times.append((time.perf_counter() - t) * 1e3)
    return round(float(np.median(times)), 2)


def cpu_name(cpuinfo: str | None = None) -> str:
    """Which processor ran the bench: its name, family/model, cores and the vector extensions the models' int8
    kernels use. Why: the probe (float32 numpy) tracks how busy a host is, not which CPU it is; two hosts with the
    same probe can run onnxruntime's and llama.cpp's int8 kernels at very different speeds (VNNI or not)."""
    import os

    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return f"{os.cpu_count()} cores"
    first = cpuinfo.split("\n\n", 1)[0]
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    get = {k.strip(): v.strip() for k, v in fields.items()}.get
    flags = set((get("flags") or "").split())
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
    return (f"{get('model name') or 'unknown CPU'} (family {get('cpu family') or '?'} model {get('model') or '?'}), "
            f"{os.cpu_count()} cores, {' '.join(simd) or 'no AVX2'}")


def probe_line(before: float, after: float) -> str:
    """The line every timing bench prints beside its figures: the host's speed as the run began and ended, and
    which CPU it is."""
    return (f"machine: CPU probe {before:.1f} ms before, {after:.1f} ms after "
            f"(tools/bench/report.py cpu_probe: lower is a quieter host); {cpu_name()}")


def _cdf_svg(values: list[float], title: str, width: int = 560, height: int = 220) -> str:
    """A cumulative distribution plot of latencies in ms, with p50 and p95 marked."""
    v = sorted(x for x in values if x is not None and np.isfinite(x))
    if not v:
        return f"<p>{html.escape(title)}: no data</p>"
    hi = max(v) * 1.1 or 1.0
    px = lambda ms: 40 + (width - 60) * ms / hi  # noqa: E731
    py = lambda q: height - 30 - (height - 50) * q  # noqa: E731
    pts = " ".join(f"{px(x):.1f},{py((i + 1) / len(v)):.1f}" for i, x in enumerate(v))
    marks = ""
    for q in (0.5, 0.95):
        x = float(np.percentile(v, q * 100))
        marks += (f'<line x1="{px(x):.1f}" y1="20" x2="{px(x):.1f}" y2="{height - 30}" stroke="#c33" '
                  f'stroke-dasharray="4"/><text x="{px(x) + 3:.1f}" y="30" font-size="11">p{int(q * 100)} '
                  f'{x:.0f} ms</text>')
    ticks = "".join(f'<text x="{px(t):.1f}" y="{height - 12}" font-size="10" text-anchor="middle">{t:.0f}</text>'
                    for t in np.linspace(0, hi, 6))
    return (f'<h3>{html.escape(title)}</h3><svg width="{width}" height="{height}" style="background:#fafafa">'
            f'<polyline fill="none" stroke="#246" stroke-width="2" points="{pts}"/>{marks}{ticks}'
            f'<text x="{width - 20}" y="{height - 12}" font-size="10" text-anchor="end">ms</text></svg>')


def _bars_svg(stages: dict[str, dict[str, float]], width: int = 560) -> str:
    """Horizontal bars of each stage's p50 (and a thin p95 whisker)."""
    rows = [(k, s) for k, s in stages.items() if s.get("n")]
    if not rows:
        return ""
    hi = max(s["p95"] for _, s in rows) * 1.1 or 1.0
    h = 24 * len(rows) + 20
    out = [f'<h3>per stage (server trace), p50 bar and p95 whisker</h3><svg width="{width}" height="{h}">']
    for i, (name, s) in enumerate(rows):
        y, w50, w95 = 10 + 24 * i, 380 * s["p50"] / hi, 380 * s["p95"] / hi
        out.append(f'<text x="0" y="{y + 13}" font-size="11">{html.escape(name)}</text>'
                   f'<rect x="160" y="{y}" width="{w50:.1f}" height="16" fill="#4a7"/>'
                   f'<line x1="{160 + w50:.1f}" y1="{y + 8}" x2="{160 + w95:.1f}" y2="{y + 8}" stroke="#333"/>'
                   f'<text x="{165 + w95:.1f}" y="{y + 13}" font-size="10">{s["p50"]:.0f} / {s["p95"]:.0f}</text>')
    return "".join(out) + "</svg>"


def write_html(path: Path, summary: dict[str, Any]) -> Path:
    v2v = [t["voice_to_voice_ms"] for t in summary.get("turns", [])]
    cuts = [c["onset_to_silence_ms"] for c in summary.get("barge_in", [])]
    rows = "".join(f"<tr><td>{t['turn']}</td><td>{html.escape(t['heard'])}</td><td>{html.escape(t['answer'])}</td>"
                   f"<td>{t['voice_to_voice_ms']}</td></tr>" for t in summary.get("turns", []))
    body = (f"<h1>omnirt latency: {summary['client']} client</h1>"
            f"<pre>{html.escape(json.dumps({k: summary[k] for k in summary if k.endswith('_ms')}, indent=1))}</pre>"
            + _cdf_svg(v2v, "voice-to-voice at the client (CDF)")
            + (_cdf_svg(cuts, "barge-in: speech onset to reply silence (CDF)") if cuts else "")
            + _bars_svg(summary.get("stages_ms", {}))
            + f"<h3>turns</h3><table border=1 cellpadding=3><tr><th>#</th><th>heard</th><th>answer</th>"
              f"<th>voice-to-voice ms</th></tr>{rows}</table>")
    path.write_text(f"<!doctype html><meta charset=utf-8><title>omnirt latency</title>"
                    f"<body style='font-family:sans-serif;max-width:900px'>{body}</body>")
    return path
