"""Per-stage latency of the spoken turn over the question set (p50, p95), as JSON plus a table.

Each question is spoken by Piper into a WAV file and fed in real time (as a microphone would), so the numbers are
what a person would feel: from the end of their speech to the first reply audio, split into end-of-speech
detection, ASR, Thinker first token and Talker first audio. Every answer is also transcribed back and checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from pathlib import Path
from typing import Any


from ...runtime.observers import SEGMENTS
from ..voice import add_voice_arguments
from .report import cpu_probe, percentiles


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--questions", type=int, default=12, help="how many questions of tools/questions.py (>= 10)")
    p.add_argument("--voice", default="piper", choices=["piper", "espeak", "flite"])
    add_voice_arguments(p)
    p.add_argument("--fast", action="store_true", help="feed files as fast as possible (not like a microphone)")
    p.add_argument("--json", default="bench-results/reply.json", help="where to write the results")


async def _bench(args: argparse.Namespace, console: Any) -> dict[str, Any]:
    from ...models.whisper import WhisperOnnx
    from ...runtime.audio import resample, to_mono_float
    from ..clips import make_clip
    from ..questions import QUESTIONS
    from ..reply import reply
    from ..voice import load_components, voice_config
    import soundfile as sf

    config = voice_config(args, realtime=not args.fast)
    probes = [cpu_probe()]
    t = time.perf_counter()
    components = await asyncio.to_thread(load_components, config)
    load_s = time.perf_counter() - t
    asr = WhisperOnnx.load()
    out_dir = Path(args.json).parent / "reply-audio"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    questions = QUESTIONS[: args.questions]
    for i, q in enumerate(questions, 1):
        clip = make_clip(q.text, args.voice)
        answer = out_dir / f"answer-{i:02d}.wav"
        result = await reply(clip, answer, config, components=components)
        turn = result.turns[0] if result.turns else None
        data, rate = sf.read(str(answer), dtype="int16")
        heard = asr.transcribe(resample(to_mono_float(data), rate, 16000)).text if len(data) else ""
        ok = any(w in heard.lower() for w in q.accept)
        row = {"question": q.text, "transcript": turn.transcript if turn else "", "answer": turn.answer if turn else "",
               "heard": heard, "correct": ok, "latency_ms": turn.latency if turn else {}}
        rows.append(row)
        total = row["latency_ms"].get("total")
        console.print(f"[{i}/{len(questions)}] {'ok ' if ok else 'BAD'} {total or 0:7.1f} ms  "
                      f"{q.text} -> {row['answer']}")
    probes.append(cpu_probe())
    stages = {name: percentiles([r["latency_ms"][name] for r in rows if r["latency_ms"].get(name) is not None])
              for name, _, _ in SEGMENTS}
    stages["total"] = percentiles([r["latency_ms"]["total"] for r in rows if r["latency_ms"].get("total") is not None])
    return {"bench": "reply", "realtime": not args.fast, "voice": args.voice, "thinker": args.thinker, "thinker_threads": args.thinker_threads,
            "hangover_ms": args.hangover_ms, "speculate_ms": args.speculate_ms,
            "talker": args.talker, "model_load_s": round(load_s, 2), "machine": platform.machine(),
            "cpus": __import__("os").cpu_count(), "cpu_probe_ms": probes, "correct": sum(r["correct"] for r in rows),
            "questions": len(rows), "stages_ms": stages, "turns": rows}


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.table import Table

    if args.questions < 1:
        raise SystemExit("omnirt: error: --questions must be at least 1")
    result = asyncio.run(_bench(args, console))
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    table = Table(title=f"spoken turn latency over {result['questions']} questions "
                        f"({'real time' if result['realtime'] else 'fast feed'}), ms")
    for col in ("stage", "p50", "p95", "min", "max"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for name, s in result["stages_ms"].items():
        table.add_row(name, *(f"{s[k]:.1f}" for k in ("p50", "p95", "min", "max")))
    console.print(table)
    console.print(f"machine: CPU probe {result['cpu_probe_ms'][0]:.1f} ms before, {result['cpu_probe_ms'][1]:.1f} ms "
                  "after (tools/bench/report.py cpu_probe: lower is a quieter host)")
    console.print(f"answers right (heard back by ASR): {result['correct']}/{result['questions']}; "
                  f"model load {result['model_load_s']} s; results in {path}")
    return 0
