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

import numpy as np

CONFIGS = {  # name -> (hangover_ms, speculate_ms)
    "hangover 400, speculate 160": (400, 160),
    "hangover 800, speculate 160": (800, 160),
    "hangover 400, no speculation": (400, 0),
    "hangover 250, speculate 160": (250, 160),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--turns", type=int, default=8, help="measured turns per configuration")
    p.add_argument("--sim-turns", type=int, default=5000)
    p.add_argument("--json", default="bench-results/simulator-proof.json")


def _measure(hangover: int, speculate: int, turns: int, out: Path) -> dict[str, Any]:
    from . import latency

    args = argparse.Namespace(turns=turns, client="aiortc", barge_in=0, idle=0, hangover_ms=hangover,
                              speculate_ms=speculate, thinker="0.5b", thinker_threads=1, thinker_batch_threads=2,
                              json=str(out))
    latency.run(args, _Quiet())
    return json.loads(out.read_text())


class _Quiet:
    def print(self, *a: Any, **k: Any) -> None:
        pass


def calibrate(measured: dict[str, Any]) -> Any:
    """A simulator model whose stages and transport are fitted to one measured latency run."""
    from ...runtime.simulator import Empirical, default_embedded
    from ...runtime.simulator.model import MEASURED, Network, Stage

    turns = [t for t in measured["turns"] if t.get("server") and t["voice_to_voice_ms"]]
    seg = lambda name: np.array([t["server"]["segments"][name] for t in turns])  # noqa: E731
    clause = MEASURED["first_clause_tokens"][0] * MEASURED["token_ms"][0]
    transport = np.array([t["voice_to_voice_ms"] - t["server"]["total"] for t in turns])
    base = default_embedded()
    stages = [Stage("asr", Empirical(tuple(seg("ASR done"))), "ASR done"),
              Stage("thinker prefill", Empirical(tuple(seg("Thinker first token"))), "Thinker first token"),
              *[s for s in base.stages if s.name in ("thinker first clause", "reply rest")],
              Stage("tts first chunk", Empirical(tuple(np.maximum(1.0, seg("Talker first audio") - clause))),
                    "Talker first audio")]
    # transport: both directions' buffers together reproduce the measured median, its spread goes to jitter
    half = float(np.median(transport)) / 2
    net = Network(rtt_ms=0.0, jitter_ms=max(1.0, float(np.std(transport)) / 2), uplink_buffer_ms=half,
                  playout_buffer_ms=half)
    net = dataclasses.replace(net, uplink_buffer_ms=max(0.0, half - 0.8 * net.jitter_ms),
                              playout_buffer_ms=max(0.0, half - 0.8 * net.jitter_ms))
    user = dataclasses.replace(base.user, false_pause_prob=0.0, barge_in_prob=0.0)
    vad = dataclasses.replace(base.vad, frame_ms=32.0)  # the VAD decides on 32 ms Silero chunks
    return dataclasses.replace(base, stages=stages, network=net, user=user, vad=vad)


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
