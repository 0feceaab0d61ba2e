"""`omnirt bench asr`: word error rate and speed of our ONNX Whisper against faster-whisper on the same clips.

Every engine transcribes the same clips (tools.clips.SENTENCES in each voice) in one run, greedy (beam 1,
temperature 0 only, no fallback) on `--threads` CPU threads, with timestamps on or off alike for all engines.
Models are loaded and warmed on one clip before timing. WER is corpus-level (jiwer) after the same
normalisation of reference and hypothesis: lower case, digits spelt out as words, punctuation dropped.
RTF = processing time / audio duration (below 1 is faster than real time).
`--live` measures the live path against offline decodes instead (tools/bench/asr_live.py).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from omnirt.tools.clips import SENTENCES, VOICES, Clip, make_clips, read_audio

# An "-30s" suffix runs ours with full 30 s encoder windows, as faster-whisper always does (like for like);
# without it ours uses its live default (windows fitted to short speech, >= 10 s: lower latency).
ENGINES = ("onnx-int8", "onnx-fp32", "onnx-int8-30s", "onnx-fp32-30s", "faster-whisper-int8", "faster-whisper-fp32")
DEFAULT_ENGINES = "onnx-int8,onnx-fp32,onnx-fp32-30s,faster-whisper-int8"

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for a non-negative integer (up to the billions), e.g. 245 -> 'two hundred forty five'."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return f"{number_words(n // size)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


# British spellings Whisper sometimes writes, to the references' American ones (a spelling is not a word error).
_SPELLING = {"centre": "center", "colour": "color", "grey": "gray", "favourite": "favorite", "theatre": "theater",
             "neighbour": "neighbor", "okay": "ok"}


def normalise(text: str) -> str:
    """Lower case, numbers as words ('2.5' -> 'two point five'), punctuation removed, spaces collapsed, British
    spellings American. The one normaliser of every engine's output and every reference (bench asr, asr --live)."""
    t = text.lower().replace("%", " percent")
    t = re.sub(r"(\d),(\d{3})", r"\1\2", t)  # 1,000 -> 1000
    t = re.sub(r"(\d+)\.(\d+)", lambda m: f"{m[1]} point {' '.join(m[2])}", t)
    t = re.sub(r"\d+", lambda m: f" {number_words(int(m[0]))} ", t)
    t = re.sub(r"[^a-z' ]+", " ", t.replace("-", " "))
    t = re.sub(r"(^|\s)'|'(\s|$)", " ", t)  # quotes, not apostrophes inside words
    return " ".join(_SPELLING.get(w, w) for w in t.split())


def wer(refs: list[str], hyps: list[str]) -> float:
    """Corpus WER of normalised texts; an empty hypothesis counts every reference word as deleted."""
    import jiwer

    r = [normalise(x) for x in refs]
    h = [normalise(x) for x in hyps]
    return float(jiwer.wer(r, [x if x else "<empty>" for x in h]))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", default="bench-results/asr.json", help="where to write the results (JSON)")
    parser.add_argument("--engines", default=DEFAULT_ENGINES, help=f"comma list from {', '.join(ENGINES)}")
    parser.add_argument("--voices", default=",".join(VOICES), help="comma list of clip voices")
    parser.add_argument("--sentences", type=int, default=len(SENTENCES), help="how many of the sentences to use")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for every engine")
    parser.add_argument("--no-timestamps", action="store_true",
                        help="decode without timestamp tokens (all engines alike); default: with timestamps")
    parser.add_argument("--min-window-s", type=float, default=None,
                        help="our shortest encoder window, seconds (default: WhisperOptions'; 30: as faster-whisper)")
    from .asr_live import add_arguments as add_live_arguments

    add_live_arguments(parser)


@dataclass
class Engine:
    name: str
    transcribe: Callable[[np.ndarray], str]
    detail: str


def _make_engine(name: str, args: argparse.Namespace) -> Engine:
    timestamps = not args.no_timestamps
    if name.startswith("onnx-"):
        from omnirt.models.whisper import WhisperOnnx, WhisperOptions

        if name not in ENGINES:
            raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
        kw: dict[str, Any] = {"precision": name.split("-")[1], "intra_threads": args.threads, "timestamps": timestamps}
        if name.endswith("-30s"):
            kw["min_window_s"] = 30.0
        elif args.min_window_s is not None:
            kw["min_window_s"] = args.min_window_s
        opts = WhisperOptions(**kw)
        asr = WhisperOnnx.load(opts)
        return Engine(name, lambda a: asr.transcribe(a).text,
                      f"omnirt ONNX Whisper base, {opts.precision}, {asr.provider}, min window {opts.min_window_s:g} s")
    if name.startswith("faster-whisper-"):
        from faster_whisper import WhisperModel

        from omnirt.models import assets

        compute = name.rsplit("-", 1)[1].replace("fp32", "float32")
        model = WhisperModel(str(assets.require("whisper-base-ct2")), device="cpu", compute_type=compute,
                             cpu_threads=args.threads)

        def run(audio: np.ndarray) -> str:
            segments, _ = model.transcribe(audio, language="en", beam_size=1, temperature=0.0, vad_filter=False,
                                           without_timestamps=not timestamps)
            return "".join(s.text for s in segments).strip()

        return Engine(name, run, f"faster-whisper {compute}, cpu, 30 s windows")
    raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")


def _summary(clips: list[Clip], durations: list[float], hyps: list[str], seconds: list[float],
             voices: list[str]) -> dict:
    out: dict[str, Any] = {"wer": {}, "rtf": {}}
    for v in voices + ["all"]:
        idx = [i for i, c in enumerate(clips) if v in ("all", c.voice)]
        out["wer"][v] = wer([clips[i].text for i in idx], [hyps[i] for i in idx])
        out["rtf"][v] = sum(seconds[i] for i in idx) / sum(durations[i] for i in idx)
    out["mean_ms"] = 1e3 * sum(seconds) / len(seconds)
    return out


def run(args: argparse.Namespace, console: Any) -> int:
    if getattr(args, "live", False):
        from .asr_live import run as run_live

        return run_live(args, console)
    from rich.progress import Progress
    from rich.table import Table

    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    bad = [n for n in names if n not in ENGINES] + [v for v in voices if v not in VOICES]
    if bad or not names or not voices or args.sentences < 1:
        console.print(f"[red]bad --engines/--voices/--sentences: {', '.join(bad) or 'empty'}[/red]")
        return 2
    with console.status("synthesising test clips"):
        clips = make_clips(SENTENCES[: args.sentences], voices)
    audio = [read_audio(c.path) for c in clips]
    durations = [len(a) / 16000 for a in audio]
    timestamps = not args.no_timestamps
    results: dict[str, Any] = {}
    with Progress(console=console, transient=True) as progress:
        for name in names:
            task = progress.add_task(f"{name}: loading", total=len(clips))
            engine = _make_engine(name, args)
            engine.transcribe(audio[0])  # warm-up: first-call allocations are not part of the timing
            progress.update(task, description=name)
            hyps, seconds = [], []
            for a in audio:
                t0 = time.perf_counter()
                hyps.append(engine.transcribe(a))
                seconds.append(time.perf_counter() - t0)
                progress.advance(task)
            results[name] = {"detail": engine.detail, **_summary(clips, durations, hyps, seconds, voices),
                             "clips": [{"voice": c.voice, "text": c.text, "hyp": h, "seconds": round(s, 4),
                                        "duration": round(d, 3)}
                                       for c, h, s, d in zip(clips, hyps, seconds, durations)]}
    table = Table(title=f"ASR: {len(clips)} clips ({args.sentences} sentences x {', '.join(voices)}), "
                        f"{args.threads} threads, greedy, timestamps {'on' if timestamps else 'off'} for all")
    table.add_column("engine", no_wrap=True)
    for v in voices:
        table.add_column(f"WER {v}", justify="right")
    table.add_column("WER all", justify="right")
    table.add_column("RTF", justify="right")
    table.add_column("ms/clip", justify="right")
    for name, r in results.items():
        table.add_row(name, *[f"{100 * r['wer'][v]:.1f}%" for v in voices + ["all"]], f"{r['rtf']['all']:.3f}",
                      f"{r['mean_ms']:.0f}")
    console.print(table)
    for name, r in results.items():
        console.print(f"  {name}: {r['detail']}")
    report = {"benchmark": "asr", "clips": len(clips), "voices": voices, "sentences": args.sentences,
              "threads": args.threads, "timestamps": timestamps, "audio_seconds": round(sum(durations), 2),
              "normalisation": "lower case, digits as words, punctuation removed", "engines": results}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    console.print(f"wrote {path}")
    return 0
