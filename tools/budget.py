"""`omnirt budget check BUDGET.toml [TRACE.jsonl...]`: exit 1 when a run breaks a latency budget (for CI).

With trace files it checks the measured turns they hold; without, it simulates the pipeline (`--config` for a model
of your own) and checks the prediction. The budget is TOML, e.g. `[voice_to_voice] p50_ms = 500` or
`[stages."ASR done"] p95_ms = 200`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["check"])
    p.add_argument("budget", help="budget TOML")
    p.add_argument("traces", nargs="*", help="trace JSONL files of measured sessions (none: simulate)")
    p.add_argument("--config", help="simulate this model TOML instead of the default embedded pipeline")
    p.add_argument("--turns", type=int, default=10_000, help="simulated turns")


def run(args: argparse.Namespace, console: Any) -> int:
    from ..runtime.simulator import check, default_embedded, load_budget, load_model, simulate
    from .profile import TraceError, load_spans, summary

    try:
        budget = load_budget(args.budget)
        if args.traces:
            what, result = f"{len(args.traces)} trace(s)", summary(load_spans(args.traces))
        else:
            model = load_model(args.config) if args.config else default_embedded()
            what, result = f"{args.turns} simulated turns", simulate(model, turns=args.turns).as_dict()
    except (TraceError, ValueError, OSError) as err:
        print(f"omnirt: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    violations = check(budget, result)
    for v in violations:
        console.print(f"[red]over budget:[/] {v}")
    console.print(f"{what}: " + (f"{len(violations)} budget violation(s)" if violations else "within budget"))
    return 1 if violations else 0
