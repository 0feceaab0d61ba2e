"""The report of `omnirt bench turns`: the readable tables, the targets and anchors beside them, and the HTML page
with the operating curves. Pure presentation of `turns.summarise`'s result."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from .turns import ANCHORS, CURVE_BUDGETS_MS, THREE, Point
from .turns_fit import FitOptions

SLOW_MS = FitOptions().slow_ms  # a real end waiting longer than this is what the shipped waits keep rare


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _fmt(p: Point | None) -> str:
    return "-" if p is None else f"{p.latency_ms:.0f} ms / {_pct(p.cutoff)}"


def print_report(s: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    u = s["utterances"]
    t = Table(title=f"end of turn: settings chosen on tuning ({u['tuning']} utterances), read on held-out "
                    f"({u['heldout']}); latency / cutoffs")
    for col in ("query", "tuning", "chosen setting", "HELD-OUT", "held-out best possible"):
        t.add_column(col)
    for name, b in s["best"].items():
        t.add_row(name, _fmt(b["tuning"]), b["tuning"].params() if b["tuning"] else "-", _fmt(b["heldout"]),
                  _fmt(b["heldout_best_possible"]))
    console.print(t)
    c = Table(title="operating curve: fewest cutoffs at mean latency <= budget (held-out: tuning's front)")
    c.add_column("curve")
    for b in CURVE_BUDGETS_MS:
        c.add_column(f"<={b}", justify="right")
    for name, row in s["curve"].items():
        c.add_row(name, *(_pct(p.cutoff) if p else "-" for p in row.values()))
    console.print(c)
    k = Table(title="per kind, at the detector's and the combined classifier's settings chosen on tuning: "
                    "latency at the real end (cutoffs)")
    settings = [n for n in ("det <=600", "det <=300", "det 5 %", "comb <=600", "comb <=300", "comb 5 %",
                            "comb3 <=600", "comb3 <=300", "comb3 5 %")
                if any(n in v for kinds in s["per_kind"].values() for v in kinds.values())]
    for col in ("half", "kind", "n", "median p(end)", *settings):
        k.add_column(col)
    for h, kinds in s["per_kind"].items():
        for kind, v in kinds.items():
            cells = [f"{v[n]['latency_ms']:.0f} ms" + (f" ({_pct(v[n]['cutoff'])})" if kind == "paused" else "")
                     if n in v else "-" for n in settings]
            k.add_row(h, kind, str(v["n"]), f"{v['median_p_end']:.2g}", *cells)
    console.print(k)
    for h, d in s["runtime_default"].items():
        if "combined" in d:
            waits = s["runtime_default_waits"][h]
            slow = sum(w > SLOW_MS for w in waits) / max(1, len(waits))
            console.print(f"the runtime's defaults, {h}: combined classifier ({d['combined'].params()}) "
                          f"{_fmt(d['combined'])}, {_pct(slow)} of real ends waited over {SLOW_MS / 1000:g} s; "
                          "the Thinker's probability alone (before it):")
        console.print(f"the runtime's defaults, {h}: detector ({d['detector'].params()}) {_fmt(d['detector'])}; "
                      f"the punctuation rule it replaced {_fmt(d['punctuation'])}; VAD alone ({d['vad'].params()}) "
                      f"{_fmt(d['vad'])}")
    for policy in ("detector", "combined", THREE):
        if f"{policy}: cutoff at latency <= 600 ms" not in s["best"]:
            continue
        at600 = s["best"][f"{policy}: cutoff at latency <= 600 ms"]["heldout"]
        at300 = s["best"][f"{policy}: cutoff at latency <= 300 ms"]["heldout"]
        for label, p, lat, cut in (("<= 5 % cutoffs at <= 600 ms", at600, 600, 0.05),
                                   ("<= 10 % cutoffs at <= 300 ms", at300, 300, 0.10)):
            met = p is not None and p.latency_ms <= lat + 1e-9 and p.cutoff <= cut + 1e-9
            console.print(f"target {label}, {policy}: held-out {_fmt(p)} -> {'MET' if met else 'missed'}")
    for name, c in s.get("classifiers", {}).items():
        console.print(f"{name}: threshold {c['threshold']:.2f}; weights " +
                      ", ".join(f"{n} {w:+.2f}" for n, w in sorted(zip(c["names"], c["weights"]),
                                                                   key=lambda x: -abs(x[1]))))
    console.print("anchors (eot-bench, real speech; latency at 5 % cutoffs, cutoffs at 300 ms): " +
                  "; ".join(f"{n} {a} ms, {_pct(b)}" for n, (a, b) in ANCHORS.items()))
    console.print(f"fragments the recogniser ended with . ? or !: {s['fragments_punctuated']} of {s['fragments']} "
                  "(models/turn_detector.py removes that punctuation before scoring)")
    console.print("likeliest-looking fragments: " + "; ".join(f"{t!r} {p:.2g}" for t, p in s["likeliest_fragments"][:6]))
    console.print("least likely real ends: " + "; ".join(f"{t!r} {p:.2g}" for _, t, p in s["unlikeliest_ends"][:6]))


def _svg(s: dict[str, Any], width: int = 640, height: int = 380) -> str:
    """Cutoff rate against mean latency: each policy's front on both halves, with eot-bench's anchors."""
    x = lambda ms: 50 + (width - 70) * min(ms, 3000) / 3000  # noqa: E731
    y = lambda c: height - 40 - (height - 60) * c  # noqa: E731
    out = [f'<svg width="{width}" height="{height}" style="background:#fafafa">']
    palette = {"vad": ("#aaa", "#444"), "detector": ("#9bd", "#135"), "combined": ("#e9a", "#a13")}
    colours = {f"{h} {pol}": palette.get(pol, ("#cdb", "#585"))[i] for i, h in enumerate(("tuning", "heldout"))
               for pol in s["fronts"]["tuning"]}
    fronts = {**{f"tuning {k}": v for k, v in s["fronts"]["tuning"].items()},
              **{f"heldout {k}": v for k, v in s["heldout_front_from_tuning"].items()}}
    for i, (name, pts) in enumerate(fronts.items()):
        line = " ".join(f"{x(p.latency_ms):.1f},{y(p.cutoff):.1f}" for p in pts)
        dash = "" if name.startswith("heldout") else ' stroke-dasharray="5"'
        out.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="2"{dash} points="{line}"/>'
                   f'<text x="{width - 190}" y="{20 + 14 * i}" font-size="11" fill="{colours[name]}">{name}</text>')
    for name, (lat5, cut300) in ANCHORS.items():
        for px, py in ((lat5, 0.05), (300, cut300)):
            out.append(f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="4" fill="#c33"><title>{html.escape(name)}'
                       f'</title></circle><text x="{x(px) + 6:.1f}" y="{y(py) - 4:.1f}" font-size="9" fill="#c33">'
                       f'{html.escape(name.split(" (")[0].replace("Turn Detector ", ""))}</text>')
    for ms in range(0, 3001, 500):
        out.append(f'<text x="{x(ms):.1f}" y="{height - 22}" font-size="10" text-anchor="middle">{ms}</text>')
    for c in (0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<text x="44" y="{y(c) + 3:.1f}" font-size="10" text-anchor="end">{100 * c:.0f}%</text>')
    out.append(f'<text x="{width / 2}" y="{height - 6}" font-size="11" text-anchor="middle">mean latency at real '
               f'ends (ms); red: eot-bench anchors</text></svg>')
    return "".join(out)


def write_html(path: Path, s: dict[str, Any], head: str, console_text: str) -> None:
    path.write_text("<!doctype html><meta charset=utf-8><title>omnirt end of turn</title><body style='font-family:"
                    f"sans-serif;max-width:1000px'><h1>omnirt end of turn</h1><p>{html.escape(head)}</p>"
                    f"<h3>operating curves (cutoff rate against mean latency)</h3>{_svg(s)}"
                    f"<pre style='white-space:pre-wrap'>{html.escape(console_text)}</pre></body>")
