"""Per-stage latency of the spoken turn over the question set (p50, p95), as JSON plus a table.

Each question is spoken into a WAV file (Piper by default; with several voices, each question by the next voice) and
fed in real time (as a microphone would), so the numbers are what a person would feel: from the end of their speech
to the first reply audio, split into end-of-speech detection, ASR, Thinker first token and Talker first audio. Every
answer is also transcribed back and checked for an accepted word, and each miss is put down to its cause (the
question misheard, a wrong answer, or a right answer the check's recogniser misheard), so the count says where the
answers are lost. With --conversation each question follows the one before and the answer it got (the session's
last exchange, which the Thinker and the recogniser read), as in a conversation. A held-out set (`--set held-out-5`,
the newest; tools/questions.py) asks questions the Thinker was never tuned on: the count of right answers there is
the one that says how good the answers are.
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
from .answers import right
from .asr import normalise
from .report import cpu_probe, percentiles, probe_line


MISS_CAUSES = ("question misheard", "wrong answer", "right answer misheard by the check")


def miss_cause(row: dict[str, Any]) -> str | None:
    """Why an answer was not heard right: the question was misheard and the answer's text is wrong; the question
    was heard and the answer is wrong; or the answer's text was right and the check's recogniser heard it otherwise
    (Whisper base on the Talker's voice: "Late" heard "Wait"). None for a right answer."""
    if row["correct"]:
        return None
    if row["answer_right"]:
        return MISS_CAUSES[2]
    return MISS_CAUSES[1] if row["question_heard"] else MISS_CAUSES[0]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..questions import QUESTION_SETS

    p.add_argument("--set", default="tuned", choices=sorted(QUESTION_SETS), dest="question_set",
                   help="the question set of tools/questions.py")
    p.add_argument("--questions", type=int, default=0, help="only the first N questions of the set (0: all)")
    p.add_argument("--voice", default="piper", help="voice, or voices taking the questions in turn: piper,flite,espeak")
    add_voice_arguments(p)
    p.add_argument("--conversation", action="store_true",
                   help="ask each question after the one before it and the answer it got, as one conversation "
                        "(by default each question opens a session of its own)")
    p.add_argument("--fast", action="store_true", help="feed files as fast as possible (not like a microphone)")
    p.add_argument("--json", default="bench-results/reply.json", help="where to write the results")


async def _bench(args: argparse.Namespace, console: Any) -> dict[str, Any]:
    from ...models.whisper import WhisperOnnx
    from ...runtime.audio import resample, to_mono_float
    from ..clips import make_clip
    from ..questions import QUESTION_SETS
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
    questions = QUESTION_SETS[args.question_set]
    questions = questions[: args.questions] if args.questions else questions
    for i, q in enumerate(questions, 1):
        voice = args.voices[(i - 1) % len(args.voices)]
        clip = make_clip(q.text, voice)
        answer = out_dir / f"answer-{i:02d}.wav"
        before = [(rows[-1]["transcript"], rows[-1]["answer"])] if args.conversation and rows else None
        result = await reply(clip, answer, config, components=components, history=before)
        turn = result.turns[0] if result.turns else None
        data, rate = sf.read(str(answer), dtype="int16")
        heard = asr.transcribe(resample(to_mono_float(data), rate, 16000)).text if len(data) else ""
        ok = right(heard, q.accept, q.text)
        transcript, answer_text = (turn.transcript, turn.answer) if turn else ("", "")
        row = {"question": q.text, "voice": voice, "transcript": transcript, "answer": answer_text, "heard": heard,
               "correct": ok, "question_heard": normalise(transcript) == normalise(q.text),
               "answer_right": right(answer_text, q.accept, q.text), "latency_ms": turn.latency if turn else {}}
        rows.append(row)
        total = row["latency_ms"].get("total")
        console.print(f"[{i}/{len(questions)}] {'ok ' if ok else 'BAD'} {total or 0:7.1f} ms  {voice:6s} "
                      f"{q.text} -> {row['transcript']!r} -> {row['answer']}")
    probes.append(cpu_probe())
    stages = {name: percentiles([r["latency_ms"][name] for r in rows if r["latency_ms"].get(name) is not None])
              for name, _, _ in SEGMENTS}
    stages["total"] = percentiles([r["latency_ms"]["total"] for r in rows if r["latency_ms"].get("total") is not None])
    by_voice = {v: [sum(r["correct"] for r in rows if r["voice"] == v), sum(r["voice"] == v for r in rows)]
                for v in args.voices}
    misses = {cause: sum(miss_cause(r) == cause for r in rows) for cause in MISS_CAUSES}
    return {"bench": "reply", "realtime": not args.fast, "set": args.question_set, "voices": args.voices,
            "conversation": args.conversation, "asr_context": args.asr_context,
            "correct_by_voice": by_voice, "misses": misses,
            "questions_heard": sum(r["question_heard"] for r in rows), "thinker": args.thinker,
            "thinker_threads": args.thinker_threads,
            "hangover_ms": args.hangover_ms, "speculate_ms": args.speculate_ms,
            "talker": args.talker, "model_load_s": round(load_s, 2), "machine": platform.machine(),
            "cpus": __import__("os").cpu_count(), "cpu_probe_ms": probes, "correct": sum(r["correct"] for r in rows),
            "questions": len(rows), "stages_ms": stages, "turns": rows}


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.table import Table

    from ..clips import VOICES

    args.voices = [v.strip() for v in args.voice.split(",") if v.strip()]
    if args.questions < 0 or not args.voices or set(args.voices) - set(VOICES):
        raise SystemExit(f"omnirt: error: --questions must be 0 or more, --voice one or more of {', '.join(VOICES)}")
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
    console.print(probe_line(*result["cpu_probe_ms"]))
    share = result["correct"] / max(1, result["questions"])
    per_voice = ", ".join(f"{v} {c}/{n}" for v, (c, n) in result["correct_by_voice"].items())
    console.print(f"answers right (heard back by ASR), {result['set']} questions: {result['correct']}/"
                  f"{result['questions']} ({100 * share:.0f} %; {per_voice}); target >= 95 %: "
                  f"{'met' if share >= 0.95 else 'missed'}; model load {result['model_load_s']} s; results in {path}")
    causes = ", ".join(f"{n} {cause}" for cause, n in result["misses"].items())
    console.print(f"questions heard word for word: {result['questions_heard']}/{result['questions']}; "
                  f"the misses: {causes or 'none'}")
    return 0
