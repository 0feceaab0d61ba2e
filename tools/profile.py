"""`omnirt profile`: look at recorded traces, fit the simulator to them, and check them against a budget.

    omnirt profile TRACE.jsonl [--out DIR]           per-turn waterfall (HTML + PNG), a stage table, Chrome trace
    omnirt profile calibrate TRACE.jsonl... -o M.toml  fit the simulator's stage models to measured turns
    omnirt profile budget B.toml TRACE.jsonl...      exit 1 when the measured turns break the budget (for CI)

Traces are the JSONL files sessions write (`omnirt reply --trace-dir`, one span a line, times in ms).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SEGMENT_NAMES = ("end of speech detected", "ASR done", "Thinker first token", "Talker first audio",
                 "held for commit")
TRACKS = ("turns", "latency", "vision", "vad", "asr", "thinker", "talker", "gate")


class TraceError(ValueError):
    """A trace file is missing or malformed; one line."""


def load_spans(paths: list[str]) -> list[dict[str, Any]]:
    spans = []
    for p in paths:
        try:
            lines = Path(p).read_text().splitlines()
        except OSError as err:
            raise TraceError(f"cannot read trace {p}: {err.strerror or err}") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                float(row["start"]), float(row["end"]), str(row["name"])
            except (ValueError, KeyError, TypeError):
                raise TraceError(f"{p}:{n}: not a span (expected JSON with name, start, end)") from None
            row["file"] = str(p)
            spans.append(row)
    if not spans:
        raise TraceError("no spans in " + ", ".join(paths))
    return spans


def turns(spans: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for s in spans:
        if s.get("turn"):
            out.setdefault((s["file"], s["turn"]), []).append(s)
    return out


def measured(spans: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per latency segment (and 'voice-to-voice'), the durations of every complete turn, in ms."""
    out: dict[str, list[float]] = {}
    for s in spans:
        if s.get("track") == "latency":
            out.setdefault(s["name"], []).append(float(s["duration"]))
    return out


def summary(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """Measured turns in the simulator summary's shape (so one budget file checks both)."""
    from ..runtime.simulator.engine import stats

    m = measured(spans)
    v2v = np.asarray(m.get("voice-to-voice", []), dtype=float)
    return {"time_to_first_audio": stats(v2v), "voice_to_voice": stats(v2v),
            "stages": {k: stats(np.asarray(v, dtype=float)) for k, v in m.items() if k != "voice-to-voice"}}


# ---------------------------------------------------------------- waterfall

def _rows(turn_spans: list[dict[str, Any]]) -> tuple[float, list[tuple[str, str, float, float]]]:
    t0 = min(s["start"] for s in turn_spans)
    order = {t: i for i, t in enumerate(TRACKS)}
    rows = sorted(turn_spans, key=lambda s: (order.get(s["track"], 99), s["start"]))
    return t0, [(s["track"], s["name"], s["start"] - t0, s["end"] - t0) for s in rows]


def waterfall_svg(turn: int, turn_spans: list[dict[str, Any]], width: int = 760) -> str:
    t0, rows = _rows(turn_spans)
    span = max(e for *_, e in rows) or 1.0
    x = lambda ms: 210 + (width - 230) * ms / span  # noqa: E731
    out = [f'<h3>turn {turn}</h3><svg width="{width}" height="{20 * len(rows) + 30}" style="background:#fafafa">']
    for i, (track, name, a, b) in enumerate(rows):
        y = 10 + 20 * i
        colour = "#c84" if track == "latency" else "#48a"
        out.append(f'<text x="4" y="{y + 12}" font-size="11">{html.escape(track)}: {html.escape(name)}</text>'
                   f'<rect x="{x(a):.1f}" y="{y}" width="{max(1.0, x(b) - x(a)):.1f}" height="14" fill="{colour}"/>'
                   f'<text x="{x(b) + 3:.1f}" y="{y + 12}" font-size="10">{b - a:.0f} ms</text>')
    return "".join(out) + "</svg>"


def waterfall_png(path: Path, turn: int, turn_spans: list[dict[str, Any]], width: int = 900) -> Path:
    from PIL import Image, ImageDraw

    t0, rows = _rows(turn_spans)
    span = max(e for *_, e in rows) or 1.0
    img = Image.new("RGB", (width, 22 * len(rows) + 40), "white")
    d = ImageDraw.Draw(img)
    d.text((6, 6), f"turn {turn} (ms from its first span)", fill="black")
    x = lambda ms: 260 + (width - 330) * ms / span  # noqa: E731
    for i, (track, name, a, b) in enumerate(rows):
        y = 28 + 22 * i
        d.text((6, y + 2), f"{track}: {name}"[:40], fill="black")
        d.rectangle([x(a), y, max(x(a) + 1, x(b)), y + 14], fill=(200, 130, 60) if track == "latency" else
                    (70, 130, 170))
        d.text((x(b) + 4, y + 2), f"{b - a:.0f}", fill="black")
    img.save(path)
    return path


def cmd_show(args: argparse.Namespace, console: Any) -> int:
    from rich.table import Table

    from ..runtime.trace import Span, Trace

    spans = load_spans(args.traces)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    for (file, n), ts in sorted(turns(spans).items()):
        parts.append(waterfall_svg(n, ts))
        waterfall_png(out / f"turn-{n:03d}.png", n, ts)
    (out / "waterfall.html").write_text("<!doctype html><meta charset=utf-8><title>omnirt profile</title>"
                                        "<body style='font-family:sans-serif'>" + "".join(parts) + "</body>")
    trace = Trace(t0=0.0)  # re-export as Chrome trace JSON (spans are in ms; Trace works in seconds)
    for s in spans:
        trace.add(Span(s["name"], s["track"], s["start"] / 1e3, s["end"] / 1e3, s.get("turn", 0),
                       None if s.get("first") is None else s["first"] / 1e3))
    trace.to_chrome_json(out / "trace.chrome.json")
    table = Table(title=f"stages over {len(turns(spans))} turn(s), ms")
    for col in ("segment", "n", "p50", "p95", "max"):
        table.add_column(col, justify="left" if col == "segment" else "right")
    for name, values in measured(spans).items():
        a = np.asarray(values)
        table.add_row(name, str(a.size), f"{np.percentile(a, 50):.1f}", f"{np.percentile(a, 95):.1f}",
                      f"{a.max():.1f}")
    console.print(table)
    console.print(f"waterfalls in {out / 'waterfall.html'} and {out}/turn-*.png; Perfetto: {out / 'trace.chrome.json'}")
    return 0


# ---------------------------------------------------------------- calibrate

def cmd_calibrate(args: argparse.Namespace, console: Any) -> int:
    """Fit the stage models of the default embedded pipeline to measured segments and write them as TOML."""
    from ..runtime.simulator import fit
    from ..runtime.simulator.model import ASSUMED

    m = measured(load_spans(args.traces))
    need = ("ASR done", "Thinker first token", "Talker first audio")
    missing = [k for k in need if len(m.get(k, [])) < 3]
    if missing:
        raise TraceError(f"need at least 3 complete turns with {', '.join(missing)} to calibrate")
    clause = ASSUMED["first_clause_tokens"][0] * ASSUMED["token_ms"][0]  # the assumed token share of TFA
    tts = [max(1.0, v - clause) for v in m["Talker first audio"]]
    lines = ["# Fitted by `omnirt profile calibrate` from " + ", ".join(args.traces),
             f"# {len(m['ASR done'])} turns. Talker first audio is split as first-clause tokens "
             f"({clause:.0f} ms assumed) + TTS first chunk (fitted).", ""]
    stages = [("asr", m["ASR done"], "ASR done", None), ("thinker prefill", m["Thinker first token"],
                                                         "Thinker first token", None),
              ("tts first chunk", tts, "Talker first audio", None)]
    for name, values, segment, scale in stages:
        dist = fit(np.asarray(values, dtype=float))
        lines += ["[[stages]]", f'name = "{name}"', f'segment = "{segment}"', f"service = {_spec(dist)}", ""]
        console.print(f"  {name:<16} <- {segment:<20} {type(dist).__name__}")
    lines += ["[[stages]]", 'name = "thinker first clause"', 'segment = "Talker first audio"',
              'scale = "clause_tokens"',
              f'service = {{ kind = "lognormal", median = {ASSUMED["token_ms"][0]}, p95 = {ASSUMED["token_ms"][1]} }}',
              "", "[[stages]]", 'name = "reply rest"', 'scale = "rest_tokens"',
              f'service = {{ kind = "lognormal", median = {ASSUMED["token_ms"][0]}, p95 = {ASSUMED["token_ms"][1]} }}',
              ""]
    Path(args.output).write_text("\n".join(lines))
    console.print(f"wrote {args.output}: `omnirt simulate --config {args.output}` predicts with it")
    return 0


def _spec(dist: Any) -> str:
    """A fitted distribution as an inline TOML table the simulator reads back (distributions.from_spec)."""
    from ..runtime.simulator import Empirical, LogNormal, Normal

    if isinstance(dist, LogNormal):
        return f'{{ kind = "lognormal", mu = {dist.mu:.6f}, sigma = {dist.sigma:.6f} }}'
    if isinstance(dist, Normal):
        return f'{{ kind = "normal", mean = {dist.mean:.3f}, sd = {dist.sd:.3f} }}'
    if isinstance(dist, Empirical):
        return '{ kind = "empirical", samples = [' + ", ".join(f"{v:.2f}" for v in dist.samples) + "] }"
    raise TraceError(f"cannot write a {type(dist).__name__} distribution")


# ---------------------------------------------------------------- budget

def cmd_budget(args: argparse.Namespace, console: Any) -> int:
    from ..runtime.simulator import check, load_budget

    violations = check(load_budget(args.budget), summary(load_spans(args.traces)))
    for v in violations:
        console.print(f"[red]over budget:[/] {v}")
    if not violations:
        console.print(f"within budget ({args.budget})")
    return 1 if violations else 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("traces", nargs="+", metavar="TRACE",
                   help="trace JSONL file(s); or `calibrate TRACE...`, or `budget BUDGET.toml TRACE...`")
    p.add_argument("--out", default="profile", help="folder for the waterfalls (default: profile)")
    p.add_argument("-o", "--output", default="calibrated.toml", help="calibrate: the model TOML to write")


def run(args: argparse.Namespace, console: Any) -> int:
    verb = args.traces[0] if args.traces[0] in ("calibrate", "budget") else "show"
    if verb != "show":
        args.traces = args.traces[1:]
    if verb == "budget":
        if len(args.traces) < 2:
            print("omnirt: error: usage: omnirt profile budget BUDGET.toml TRACE...", file=sys.stderr)
            return 2
        args.budget, args.traces = args.traces[0], args.traces[1:]
    if not args.traces:
        print(f"omnirt: error: {verb} needs at least one trace file", file=sys.stderr)
        return 2
    try:
        return {"show": cmd_show, "calibrate": cmd_calibrate, "budget": cmd_budget}[verb](args, console)
    except (TraceError, ValueError) as err:
        print(f"omnirt: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
