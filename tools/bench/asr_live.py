"""`omnirt bench asr --live`: is the live path heard as well as an offline decode of the whole file?

Each held-out utterance (tools/bench/asr_corpus.py) is fed in real time, 20 ms blocks at the file's own rate as
`omnirt reply` feeds a file (runtime/transports/file.py wav_frames), through the server's VAD stage (Silero,
speculation, partials), ASR stage and turn gate, with the voice options `omnirt serve` uses (tools/voice.py). What
the gate lets out as final transcripts is what the live path heard. The same files are then decoded whole by our
recogniser (the same loaded model: offline) and by faster-whisper on the same weights with beam 5, all scored by
one normaliser. The Thinker and Talker are left out: they hear nothing, and on 2 cores their work only stretches
the run (omnirt bench reply and bench latency measure them).

Per utterance the JSON keeps every speculative cut (where it fell, in seconds of the input) and what each decode
said, kept or redone, so a word changed by a cut can be traced to the cut that changed it. The machine's speed is
probed before and after (tools/bench/report.py cpu_probe) and printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import html
import json
import time
import zlib
from pathlib import Path
from typing import Any

from ...runtime.stage import PipelineObserver
from .asr_corpus import CONDITIONS, FAMILIES, SENTENCE_SETS, Utterance, build, word_errors, wer_table

ENGINES = ("live", "offline", "faster-whisper")
LABELS = {"live": "live (ours)", "offline": "offline (ours)", "faster-whisper": "faster-whisper offline, beam 5"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ...runtime.vad import VADOptions
    from ..voice import DEFAULT, LIVE_PARTIALS_MS, check_below

    g = parser.add_argument_group("live (--live)")
    g.add_argument("--live", action="store_true", help="WER of the live path beside offline decodes, per voice family "
                                                        "(held-out corpus; the options below apply)")
    g.add_argument("--out-dir", default="bench-results/asr-live", help="where asr-live.json and report.md go")
    g.add_argument("--set", dest="sentence_set", choices=sorted(SENTENCE_SETS), default="held-out",
                   help="the sentences spoken: held-out (to measure) or dev (to try a change on)")
    g.add_argument("--per-voice", type=int, default=4, help="sentences per voice and condition")
    g.add_argument("--families", default=",".join(FAMILIES), help=f"comma list from {', '.join(FAMILIES)}")
    g.add_argument("--conditions", default=",".join(CONDITIONS), help=f"comma list from {', '.join(CONDITIONS)}")
    g.add_argument("--limit", type=int, default=0, help="only the first N utterances (0: all)")
    g.add_argument("--beam", type=int, default=5, help="faster-whisper's beam size")
    g.add_argument("--asr-beam", type=int, default=DEFAULT.asr_beam, help="our recogniser's beam (1: greedy)")
    g.add_argument("--asr-doubt-beam", type=int, default=DEFAULT.asr_doubt_beam,
                   help="our recogniser's beam for doubtful windows (0: never)")
    g.add_argument("--asr-check-below", type=check_below, default=DEFAULT.asr_check_below,
                   help="check an unsure speculative transcript against the audio after the cut (off: never)")
    g.add_argument("--hangover-ms", type=int, default=DEFAULT.hangover_ms)
    g.add_argument("--speculate-ms", type=int, default=DEFAULT.speculate_ms, help="0: no speculative cuts")
    g.add_argument("--partial-every-ms", type=int, default=LIVE_PARTIALS_MS, help="0: no partials")
    g.add_argument("--pre-roll-ms", type=int, default=VADOptions.pre_roll_ms,
                   help="audio the recogniser gets from before the speech onset (VADOptions.pre_roll_ms)")


def live_pipeline(detector: Any, recognizer: Any, options: Any) -> Any:
    """The voice session's listening half (runtime/session.py VoiceSession's first stages, and its gate)."""
    from ...runtime.asr import ASRStage
    from ...runtime.stage import Pipeline
    from ...runtime.turn import TurnGate
    from ...runtime.vad import VADStage

    asr = ASRStage(recognizer, check_below=options.check_below)
    return Pipeline([VADStage(detector.fork(), options.vad), asr, TurnGate(early_on_sentence_end=options.early_commit)],
                    observers=[_Decodes()], maxsize=options.queue_size)


def lead_phase_s(utt: Utterance) -> float:
    """A silence under one VAD chunk (32 ms) to put before the file, fixed per file (from its name) so runs repeat,
    and spread evenly over the chunk across files: the speech then falls at every phase of the VAD's chunks, as a
    live speaker's does (runtime/transports/file.py wav_frames)."""
    return (zlib.crc32(utt.path.name.encode()) % 512) / 16000


class _Decodes(PipelineObserver):
    """Every speculative or final cut the VAD sends and every transcript the ASR stage makes, redone or kept; the
    turns that a later turn went on."""

    def __init__(self) -> None:
        self.cuts: list[dict[str, Any]] = []
        self.resumes = 0
        self.rejoined: set[int] = set()

    def on_output(self, stage: str, frame: Any, source: Any, started: float, t: float) -> None:
        from ...runtime.frames import Interrupt, SpeechEnded, SpeechStarted, Transcript

        if stage == "vad" and isinstance(frame, SpeechStarted) and frame.rejoins:
            self.rejoined.add(frame.rejoins)
        elif stage == "vad" and isinstance(frame, SpeechEnded):
            self.cuts.append({"turn": frame.turn, "end_s": round(frame.audio_end, 3), "spec": frame.speculative,
                              "text": None, "wall": frame.speech_end_wall})
        elif stage == "vad" and isinstance(frame, Interrupt) and frame.reason == "resume":
            self.resumes += 1
        elif stage == "asr" and isinstance(frame, Transcript) and frame.final:
            cut = next((c for c in reversed(self.cuts) if c["turn"] == frame.turn and c["text"] is None), None)
            if cut is None:  # the post-roll check redid the turn (runtime/asr.py): its cut says what was heard
                cut = next((c for c in reversed(self.cuts) if c["turn"] == frame.turn), None)
                if cut is not None:
                    cut["redone"] = True
            if cut is not None:
                cut["text"] = frame.text


async def hear(utt: Utterance, detector: Any, recognizer: Any, options: Any, realtime: bool = True,
               lead_s: float | None = None) -> dict[str, Any]:
    """Feed one file in real time through the live pipeline; what came out of the gate, and how. realtime=False
    feeds it as fast as it goes: the same cuts and transcripts, for trying settings, never for the figures.
    lead_s: silence before the file; None: the file's own phase (lead_phase_s), as a user starts at no particular
    sample of the VAD's chunks."""
    from ...runtime.clock import now
    from ...runtime.frames import Transcript
    from ...runtime.playout import OutputSink, drive
    from ...runtime.transports.file import wav_frames

    class Heard(OutputSink):
        def __init__(self) -> None:
            self.finals: list[tuple[int, str, float]] = []
            self.partials = 0

        def play(self, frame: Any) -> None: ...
        async def finish(self, turn: int) -> float: return 0.0
        def flush(self) -> None: ...
        def played_s(self, turn: int) -> float: return 0.0

        def show(self, frame: Any) -> None:
            if isinstance(frame, Transcript) and frame.final and frame.text:
                self.finals.append((frame.turn, frame.text, now()))
            elif isinstance(frame, Transcript):
                self.partials += 1

    pipeline, sink = live_pipeline(detector, recognizer, options), Heard()
    async with pipeline:
        await drive(pipeline, wav_frames(utt.path, realtime=realtime, tail_silence_s=0.4,
                                               lead_silence_s=lead_phase_s(utt) if lead_s is None else lead_s), sink)
    obs = pipeline.observers[0]
    last = {c["turn"]: c for c in obs.cuts}
    finals, redone = last_finals(sink.finals, obs.rejoined)
    waits = [round(1e3 * (t - last[turn]["wall"])) for turn, _, t in finals if turn in last]
    for c in obs.cuts:
        c.pop("wall")
    return {"live": " ".join(text for _, text, _ in finals), "cuts": obs.cuts, "resumes": obs.resumes,
            "turns": len(finals), "redone_after_release": redone, "partials": sink.partials, "heard_after_ms": waits}


def last_finals(finals: list[tuple[int, str, float]],
                rejoined: frozenset[int] | set[int] = frozenset()) -> tuple[list[tuple[int, str, float]], int]:
    """Each turn's last final transcript, in turn order, less the turns in `rejoined`, and how many turns changed
    their words after the gate had let out a first final. Why the last: a turn released at a pause whose speaker
    went on is resumed (the VAD's Interrupt "resume"); its reply is stopped and the turn is answered again on the
    whole utterance, so that is what the assistant heard. Those turns are counted (a released reply the user may
    have begun to hear), not joined into one text, which would count the first words twice. A turn that a later
    one went on (SpeechStarted.rejoins) is left out for the same reason: the later turn's utterance holds both
    parts, and its answer replaces the earlier one's."""
    by_turn: dict[int, list[tuple[int, str, float]]] = {}
    for f in finals:
        by_turn.setdefault(f[0], []).append(f)
    redone = sum(1 for fs in by_turn.values() if len({text for _, text, _ in fs}) > 1)
    return [fs[-1] for turn, fs in sorted(by_turn.items()) if turn not in rejoined], redone


def _offline(utts: list[Utterance], recognizer: Any, args: argparse.Namespace, progress: Any) -> tuple[list, list]:
    from faster_whisper import WhisperModel

    from ...models import assets
    from ..clips import read_audio

    audio = [read_audio(u.path) for u in utts]
    task = progress.add_task("offline (ours)", total=len(utts))
    ours = []
    for a in audio:
        ours.append(recognizer.transcribe(a).text)
        progress.advance(task)
    fw = WhisperModel(str(assets.require("whisper-base-ct2")), device="cpu", compute_type="int8",
                      cpu_threads=args.threads)
    task = progress.add_task(f"faster-whisper beam {args.beam}", total=len(utts))
    theirs = []
    for a in audio:
        segments, _ = fw.transcribe(a, language="en", beam_size=args.beam, vad_filter=False)
        theirs.append("".join(s.text for s in segments).strip())
        progress.advance(task)
    return ours, theirs


def run(args: argparse.Namespace, console: Any) -> int:
    from rich.progress import Progress

    from ...models import registry
    from ..voice import session_options, voice_config
    from .report import cpu_probe

    families = tuple(f.strip() for f in args.families.split(",") if f.strip())
    conditions = tuple(c.strip() for c in args.conditions.split(",") if c.strip())
    bad = [x for x in families if x not in FAMILIES] + [x for x in conditions if x not in CONDITIONS]
    if bad or not families or not conditions or args.per_voice < 1:
        console.print(f"[red]bad --families/--conditions/--per-voice: {', '.join(bad) or 'empty'}[/red]")
        return 2
    config = voice_config(args)
    options = session_options(config)
    options = dataclasses.replace(options, vad=dataclasses.replace(options.vad, pre_roll_ms=args.pre_roll_ms))
    with console.status("building the held-out corpus"):
        utts = build(args.per_voice, families, conditions, SENTENCE_SETS[args.sentence_set])
    utts = utts[: args.limit] if args.limit else utts
    detector, recognizer = registry.load_vad(), registry.load_asr(beam_size=config.asr_beam,
                                                                     doubt_beam=config.asr_doubt_beam)
    recognizer.transcribe(__import__("numpy").zeros(16000, "float32"))  # warm-up, as a served session is warm
    probes = [cpu_probe()]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("live, real time", total=len(utts))
        for u in utts:
            rows.append({"family": u.family, "voice": u.voice, "condition": u.condition, "text": u.text,
                         "file": u.path.name, **asyncio.run(hear(u, detector, recognizer, options))})
            progress.advance(task)
        ours, theirs = _offline(utts, recognizer, args, progress)
    probes.append(cpu_probe())
    for r, o, t in zip(rows, ours, theirs):
        r["offline"], r["faster-whisper"] = o, t
        r["errors"] = {e: word_errors(r["text"], r[e])[0] for e in ENGINES}
    report = summarise(rows, args, config, probes, time.perf_counter() - started)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "asr-live.json").write_text(json.dumps(report, indent=1))
    (out / "report.md").write_text(markdown(report))
    print_tables(report, console)
    console.print(f"wrote {out / 'asr-live.json'} and {out / 'report.md'}")
    return 0


def summarise(rows: list[dict], args: argparse.Namespace, config: Any, probes: list[float], seconds: float) -> dict:
    waits = sorted(w for r in rows for w in r["heard_after_ms"])
    changed = [r for r in rows if r["errors"]["live"] > r["errors"]["offline"]]
    return {"benchmark": "asr-live", "utterances": len(rows), "cpu_probe_ms": probes, "seconds": round(seconds, 1),
            "settings": {"sentences": args.sentence_set, "speculate_ms": config.speculate_ms,
                         "hangover_ms": config.hangover_ms, "pre_roll_ms": args.pre_roll_ms,
                         "partial_every_ms": config.partial_every_ms, "per_voice": args.per_voice,
                         "beam": args.beam, "asr_beam": config.asr_beam,
                         "asr_doubt_beam": config.asr_doubt_beam, "asr_check_below": config.asr_check_below,
                         "threads": args.threads},
            "normalisation": "tools/bench/asr.py normalise for every engine and reference",
            "by_family": wer_table(rows, list(ENGINES), "family"),
            "by_condition": wer_table(rows, list(ENGINES), "condition"),
            "live_worse_than_offline": len(changed),
            "redone_after_release": sum(r.get("redone_after_release", 0) for r in rows),
            "heard_after_speech_end_ms": {"p50": waits[len(waits) // 2] if waits else None,
                                          "p95": waits[int(len(waits) * 0.95)] if waits else None},
            "rows": rows}


def print_tables(report: dict, console: Any) -> None:
    from rich.table import Table

    from .report import probe_line

    s = report["settings"]
    for by in ("by_family", "by_condition"):
        table = Table(title=f"WER {by.replace('_', ' ')}: {report['utterances']} {s.get('sentences', 'held-out')} "
                            f"utterances, speculate {s['speculate_ms']} ms, pre-roll {s['pre_roll_ms']} ms, "
                            f"ours beam {s.get('asr_beam', 1)} (doubt {s.get('asr_doubt_beam', 0)}), "
                            f"faster-whisper beam {s['beam']}")
        for col in (by[3:], "n", *(LABELS[e] for e in ENGINES), "live <= fw"):
            table.add_column(col, justify="left" if col == by[3:] else "right")
        for g, w in report[by].items():
            table.add_row(g, str(w["n"]), *(f"{100 * w[e]:.1f}%" for e in ENGINES),
                          "yes" if w["live"] <= w["faster-whisper"] + 1e-9 else "NO")
        console.print(table)
    h = report["heard_after_speech_end_ms"]
    console.print(f"live heard worse than our offline decode: {report['live_worse_than_offline']} utterances; final "
                  f"transcript after the end of speech p50 {h['p50']} ms, p95 {h['p95']} ms; turns whose words "
                  f"changed after the gate let them out: {report['redone_after_release']}")
    console.print(probe_line(*report["cpu_probe_ms"]))


def markdown(report: dict, rows_too: bool = True) -> str:
    s = report["settings"]
    lines = [f"# ASR, live against offline: {report['utterances']} {s.get('sentences', 'held-out')} utterances", "",
             f"speculate {s['speculate_ms']} ms, hangover {s['hangover_ms']} ms, pre-roll {s['pre_roll_ms']} ms, "
             f"partials every {s['partial_every_ms']} ms; ours int8 beam {s.get('asr_beam', 1)}; faster-whisper int8 "
             f"beam {s['beam']}; CPU probe "
             f"{report['cpu_probe_ms'][0]:.1f} ms before, {report['cpu_probe_ms'][1]:.1f} ms after (lower is a "
             f"quieter host); {report['seconds']:.0f} s", ""]
    for by in ("by_family", "by_condition"):
        lines += [f"| {by[3:]} | n | " + " | ".join(LABELS[e] for e in ENGINES) + " | live <= faster-whisper |",
                  "|---|---:|" + "---:|" * len(ENGINES) + "---|"]
        for g, w in report[by].items():
            ok = "yes" if w["live"] <= w["faster-whisper"] + 1e-9 else "**no**"
            lines.append(f"| {g} | {w['n']} | " + " | ".join(f"{100 * w[e]:.1f} %" for e in ENGINES) + f" | {ok} |")
        lines.append("")
    h = report["heard_after_speech_end_ms"]
    lines += [f"Utterances the live path heard worse than our offline decode: {report['live_worse_than_offline']}; "
              f"final transcript out of the gate after the end of speech: p50 {h['p50']} ms, p95 {h['p95']} ms. Turns "
              f"whose words changed after the gate let them out (a speaker who went on after a pause; each turn "
              f"is scored on its last transcript): {report.get('redone_after_release', 0)}.", ""]
    if rows_too:
        lines += ["| voice | condition | reference | live | offline (ours) | faster-whisper | cuts (s, spec) |",
                  "|---|---|---|---|---|---|---|"]
        for r in report["rows"]:
            if r["errors"]["live"] or r["errors"]["offline"] or r["errors"]["faster-whisper"]:
                cuts = ", ".join(f"{c['end_s']:.2f}{'s' if c['spec'] else ''}: {c['text']!r}" for c in r["cuts"])
                cells = [r["voice"], r["condition"], r["text"], r["live"], r["offline"], r["faster-whisper"], cuts]
                lines.append("| " + " | ".join(html.escape(str(c)).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"
