"""`omnirt simulate`: predict how a voice pipeline will feel before building it.

    omnirt simulate                                 the default embedded pipeline on this machine's measured stages
    omnirt simulate --config my.toml --budget b.toml   a model of your own, checked against a latency budget
    omnirt simulate --sessions 4 --hangover-ms 300     what-if switches on top of the model

Exit status 1 when the budget is broken (for CI), 0 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="a model TOML overriding the default embedded pipeline section by section")
    p.add_argument("--budget", help="a budget TOML; violations are listed and the exit status is 1")
    p.add_argument("--turns", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sessions", type=int, help="what-if: concurrent sessions")
    p.add_argument("--hangover-ms", type=float, help="what-if: VAD hangover")
    p.add_argument("--cores", type=int, help="what-if: CPU cores")
    p.add_argument("--json", help="write the summary here")


def _model(args: argparse.Namespace) -> Any:
    from ..runtime.simulator import default_embedded, load_model

    model = load_model(args.config) if args.config else default_embedded()
    if args.sessions is not None:
        model = dataclasses.replace(model, sessions=args.sessions)
    if args.hangover_ms is not None:
        model = dataclasses.replace(model, vad=dataclasses.replace(model.vad, hangover_ms=args.hangover_ms))
    if args.cores is not None:
        model = dataclasses.replace(model, resources={**model.resources, "cpu": args.cores})
    return model


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.table import Table

    from ..runtime.simulator import check, load_budget, simulate

    try:
        if args.turns < 1:
            raise ValueError("--turns must be at least 1")
        model = _model(args)
        budget = load_budget(args.budget) if args.budget else None
    except (ValueError, OSError) as err:  # a malformed model or budget file: one line, exit 2
        print(f"omnirt: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    summary = simulate(model, turns=args.turns, seed=args.seed).as_dict()
    table = Table(title=f"simulated: {args.turns} turns, {model.sessions} session(s), "
                        f"{model.resources.get('cpu', 0)} CPU core(s), seed {args.seed}")
    for col in ("", "p50", "p95", "p99", "mean"):
        table.add_column(col, justify="left" if not col else "right")
    rows = [("voice-to-voice", summary["voice_to_voice"]), ("time to first audio", summary["time_to_first_audio"]),
            ("barge-in", summary["barge_in"])] + [(f"  {k}", v) for k, v in summary["stages"].items()]
    for name, s in rows:
        if s.get("n"):
            table.add_row(name, *(f"{s[k]:.0f}" for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms")))
    console.print(table)
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
