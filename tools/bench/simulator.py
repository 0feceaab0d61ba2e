"""Proof of the simulator: calibrate on one measured configuration, predict others, compare with measurements.

For each configuration the live runtime runs `omnirt bench latency` (aiortc client, real models). The simulator is
calibrated on the first configuration only (stage times from the server's per-turn segments, transport from the
client's voice-to-voice minus the server's total) and then predicts every configuration from its settings alone.
Beside each prediction stands the naive sum that LiveKit documents (end-of-utterance delay + LLM time to first
token + TTS time to first byte). Writes JSON and prints a predicted-vs-measured table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from ...runtime.vad import VADOptions


_DEFAULT = (VADOptions.hangover_ms, VADOptions.speculate_ms)
CONFIGS = {  # name -> (hangover_ms, speculate_ms); the first (the runtime's defaults) calibrates
    f"hangover {_DEFAULT[0]}, speculate {_DEFAULT[1]} (defaults)": _DEFAULT,
    f"hangover 800, speculate {_DEFAULT[1]}": (800, _DEFAULT[1]),
    f"hangover {_DEFAULT[0]}, no speculation": (_DEFAULT[0], 0),
    f"hangover 250, speculate {_DEFAULT[1]}": (250, _DEFAULT[1]),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--turns", type=int, default=8, help="measured turns per configuration")
    p.add_argument("--sim-turns", type=int, default=5000)
    p.add_argument("--json", default="bench-results/simulator-proof.json")


def _measure(hangover: int, speculate: int, turns: int, out: Path) -> dict[str, Any]:
    from . import latency

    p = argparse.ArgumentParser()
    latency.add_arguments(p)  # as `omnirt bench latency` runs by default, but for these knobs
    args = p.parse_args(["--turns", str(turns), "--barge-in", "0", "--hangover-ms", str(hangover),
                         "--speculate-ms", str(speculate), "--json", str(out)])
    latency.run(args, _Quiet())
    return json.loads(out.read_text())


class _Quiet:
    def print(self, *a: Any, **k: Any) -> None:
        pass


def calibrate(measured: dict[str, Any]) -> Any:
    """A simulator model whose stages and transport are fitted to one measured latency run, with the bench's user
    (no false pauses, no barge-in during the timed turns)."""
    from ...runtime.simulator.calibration import trim
    from ...runtime.simulator.model import calibrated

    base = calibrated(trim(measured))
    user = dataclasses.replace(base.user, false_pause_prob=0.0, barge_in_prob=0.0)
    return dataclasses.replace(base, user=user)


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.table import Table

    from ...runtime.simulator import simulate

    out_dir = Path(args.json).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    measured = {}
    for i, (name, (hangover, speculate)) in enumerate(CONFIGS.items()):
        console.print(f"measuring: {name} ({args.turns} turns)")
        measured[name] = _measure(hangover, speculate, args.turns, out_dir / f"proof-{i}.json")
    calibration = next(iter(CONFIGS))
    model = calibrate(measured[calibration])
    rows = []
    for name, (hangover, speculate) in CONFIGS.items():
        m = dataclasses.replace(model, vad=dataclasses.replace(model.vad, hangover_ms=hangover,
                                                               speculate_ms=speculate))
        pred = simulate(m, turns=args.sim_turns, seed=0).as_dict()["voice_to_voice"]
        meas = measured[name]["voice_to_voice_ms"]
        st = measured[name]["stages_ms"]
        naive = hangover + st["Thinker first token"]["p50"] + st["Talker first audio"]["p50"]
        rows.append({"config": name, "calibrated_on": name == calibration,
                     "measured_p50": meas["p50"], "measured_p95": meas["p95"],
                     "predicted_p50": pred["p50_ms"], "predicted_p95": pred["p95_ms"],
                     "error_p50_pct": round(100 * (pred["p50_ms"] - meas["p50"]) / meas["p50"], 1),
                     "error_p95_pct": round(100 * (pred["p95_ms"] - meas["p95"]) / meas["p95"], 1),
                     "naive_sum": round(naive, 1),
                     "naive_error_pct": round(100 * (naive - meas["p50"]) / meas["p50"], 1)})
    Path(args.json).write_text(json.dumps({"rows": rows, "turns": args.turns}, indent=1))
    table = Table(title="simulator: predicted vs measured voice-to-voice at an aiortc client (ms)")
    for col in ("config", "measured p50", "predicted p50", "err", "measured p95", "predicted p95", "err",
                "naive sum", "err"):
        table.add_column(col, justify="left" if col == "config" else "right", no_wrap=col == "config")
    for r in rows:
        table.add_row(r["config"] + (" (calibration)" if r["calibrated_on"] else ""),
                      f"{r['measured_p50']:.0f}", f"{r['predicted_p50']:.0f}", f"{r['error_p50_pct']:+.1f}%",
                      f"{r['measured_p95']:.0f}", f"{r['predicted_p95']:.0f}", f"{r['error_p95_pct']:+.1f}%",
                      f"{r['naive_sum']:.0f}", f"{r['naive_error_pct']:+.1f}%")
    console.print(table)
    console.print(f"results in {args.json}")
    return 0
