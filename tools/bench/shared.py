"""What batching buys a shared ASR deployment: N utterances decoded one by one against one batched decode.

`omnirt bench shared --sizes 1,2,4,8 --repeats 3` times, for each batch size N, N spoken questions (piper and
espeak voices, 2-4 s each: the 10 s window live turns get) transcribed by N `WhisperOnnx.transcribe` calls and by
one `transcribe_batch` call (models/whisper/batch.py, what the deployment runs for a batch), alternating the two so
a noisy host slows both alike, and checks that each utterance got the same words. JSON plus a table; the CPU probe
before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from .report import cpu_probe


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default="1,2,4,8", help="batch sizes to time (comma-separated)")
    p.add_argument("--repeats", type=int, default=3, help="timings of each way per size (medians are reported)")
    p.add_argument("--precision", default="int8", choices=["int8", "fp32"], help="the Whisper export to run")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: every core)")
    p.add_argument("--through-serve", action="store_true",
                   help="time what sessions wait for instead: N turns sent at once to the shared ASR deployment on a "
                        "local Ray cluster (tools/bench/shared_serve.py), per N p50 / p95 after the end of speech")
    p.add_argument("--gpus", type=float, default=0, help="with --through-serve: GPUs given to the replica")
    p.add_argument("--wait-ms", type=int, default=10, help="with --through-serve: the deployment's batch wait")
    p.add_argument("--json", default="bench-results/shared.json")


def sizes_of(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1 or max(sizes) > 32:
        raise ValueError(f"--sizes takes batch sizes from 1 to 32, e.g. 1,2,4,8, not {text!r}")
    return sizes


def run(args: argparse.Namespace, console: Any) -> int:
    from ...models.whisper import WhisperOnnx, WhisperOptions
    from ...models.whisper.batch import transcribe_batch
    from ..clips import SENTENCES, make_clips, read_audio

    try:
        sizes = sizes_of(args.sizes)
    except ValueError as err:
        console.print(f"omnirt: error: {err}")
        return 2
    if getattr(args, "through_serve", False):
        from ..cluster.ray_cluster import ClusterError
        from . import shared_serve

        probe = cpu_probe()
        console.print(f"CPU probe {probe} ms before (report.py cpu_probe: lower is a quieter host)")
        try:
            body = shared_serve.run(args, sizes, console)
        except ClusterError as err:  # Ray missing, or the deployment did not start: one line
            console.print(f"omnirt: error: {err}")
            return 2
        out = {"settings": vars(args), "cpu_probe_ms": [probe, cpu_probe()], **body}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
        console.print(f"CPU probe after: {out['cpu_probe_ms'][1]} ms; wrote {args.json}")
        return 0
    asr = WhisperOnnx.load(WhisperOptions(precision=args.precision, intra_threads=args.threads))
    need = max(sizes)
    clips = [read_audio(c.path) for c in make_clips(SENTENCES[: (need + 1) // 2], ("piper", "espeak"))][:need]
    asr.transcribe(clips[0])
    transcribe_batch(asr, clips[:2])  # warm both ways' arenas
    probe = cpu_probe()
    rows = []
    for n in sizes:
        audios = clips[:n]
        alone_s, batch_s, same = [], [], True
        for _ in range(args.repeats):
            t = time.perf_counter()
            alone = [asr.transcribe(a).text for a in audios]
            alone_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            batched = [r.text for r in transcribe_batch(asr, audios)]
            batch_s.append(time.perf_counter() - t)
            same = same and alone == batched
        a, b = statistics.median(alone_s) * 1e3, statistics.median(batch_s) * 1e3
        rows.append({"size": n, "one_by_one_ms": round(a), "batched_ms": round(b), "saved": round(1 - b / a, 3),
                     "per_utterance_ms": [round(a / n), round(b / n)], "same_words": same,
                     "runs_ms": [[round(x * 1e3) for x in alone_s], [round(x * 1e3) for x in batch_s]]})
    out = {"settings": vars(args), "cpu_probe_ms": [probe, cpu_probe()], "rows": rows}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str))
    console.print(f"Whisper {args.precision}, {args.repeats} runs each, medians; CPU probe {probe} ms before")
    console.print(f"{'N':>3} {'one by one':>11} {'batched':>9} {'saved':>7} {'per utt.':>13}  same words")
    for r in rows:
        console.print(f"{r['size']:>3} {r['one_by_one_ms']:>8} ms {r['batched_ms']:>6} ms {r['saved']:>6.0%} "
                      f"{r['per_utterance_ms'][0]:>5}/{r['per_utterance_ms'][1]:<4} ms  {r['same_words']}")
    console.print(f"CPU probe after: {out['cpu_probe_ms'][1]} ms; wrote {path}")
    return 0
