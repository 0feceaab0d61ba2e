"""Backchannels and interruptions spoken over the reply, at a real WebRTC client: is the reply let be or cut?

`omnirt serve` runs as a user runs it (its defaults, in a process of its own); one aiortc client asks for a long
answer, and once it has sounded for a while speaks one utterance over it: a backchannel ("Okay.", "Yeah, right.")
that should leave the reply playing, or an interruption ("Wait, stop.", "What about Mars?") that should cut it and
be answered. Each utterance in each voice (Piper, eSpeak NG, flite: the synthesizers of `omnirt bench asr`).
Per trial: whether the reply was cut, whether the utterance became a turn, and for a backchannel how long the
reply was held silent (speech onset to the release). Synthesizers read "Mm-hmm" as letters, unlike people; the
phrase lists were written before the detector was run on them, and were not changed after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from .report import cpu_probe, percentiles
from .servers import ServerProcess

BACKCHANNELS = ("Okay.", "Yeah.", "I see.", "Right.", "Uh-huh.", "Sure.", "Yeah, right.", "Got it.", "Mm-hmm.")
INTERRUPTIONS = ("Wait, stop.", "No, that's wrong.", "What about Mars?", "Hold on.", "Tell me about the sun instead.",
                 "Sorry, what?")
LONG_QUESTIONS = ("Tell me a long story about a dragon who lives in a castle.",
                  "Explain how a car engine works, step by step.",
                  "Describe the life of a honey bee through the seasons.",
                  "Tell me the history of the bicycle in detail.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--voices", default="piper,espeak,flite", help="synthesizers that speak the utterances")
    p.add_argument("--limit", type=int, default=0, help="at most this many utterances of each kind (0: all)")
    p.add_argument("--serve-args", default="", help="extra `omnirt serve` flags, e.g. --no-backchannels")
    p.add_argument("--json", default="bench-results/backchannel.json")


async def trial(client: Any, question: Path, utterance: Path, level: float) -> dict[str, Any]:
    """Ask `question`, speak `utterance` over its reply, and wait for the reply's end (and for any answer)."""
    from ...runtime.clock import now

    asked = await client.say(question)
    await client.wait_for(lambda: client.received.first_sound(level, asked), 40, "the long answer to start")
    await asyncio.sleep(0.8)
    with contextlib.suppress(TimeoutError):  # speak over sound, not over a pause between clauses
        await client.wait_for(lambda: client.received.sounds(level, now() - 0.02), 2, "the reply to sound")
    replying = max(e["turn"] for e in client.events if e["type"] == "user" and e.get("final"))
    said = await client.say(utterance)
    onset = client.mic.onsets[-1]
    done = await client.wait_for(lambda: client.event("status", state="listening", turn=replying), 90,
                                 "the reply to end")
    later = lambda: [e for e in client.events if e["type"] == "user" and e.get("final")  # noqa: E731
                     and e["turn"] > replying]
    if done["cut"]:  # an interruption's own answer follows: wait for it to be played
        with contextlib.suppress(TimeoutError):
            await client.wait_for(lambda: later() and client.event("status", state="listening",
                                                                   turn=later()[-1]["turn"]), 40, "its answer")
    else:
        await asyncio.sleep(1.0)  # an answer to the backchannel would have begun
    release = next((e["clock"] for e in client.events if e["type"] == "hold" and not e["active"]
                    and e["clock"] > onset), None)
    turn = later()
    return {"cut": bool(done["cut"]), "turn": bool(turn), "heard": turn[-1]["text"] if turn else "",
            "speech_s": round(said - onset, 2), "reply_played_s": done["played_s"],
            # a reply that ended by itself before the utterance did was not spoken over: no verdict either way
            "over_the_reply": bool(done["cut"]) or done["t"] > said + 0.3,
            "held_ms": round((release - onset) * 1e3) if release is not None and not done["cut"] else None}


async def measure(url: str, plan: list[tuple[str, str, str, Path]]) -> list[dict[str, Any]]:
    """Each trial in a session of its own, so that no conversation so far shortens the answers."""
    from ..clips import make_clip
    from ..rtc_client import ClientOptions, RTCClient

    rows = []
    for k, (kind, voice, text, clip) in enumerate(plan):
        question = make_clip(LONG_QUESTIONS[k % len(LONG_QUESTIONS)], "piper")
        try:
            async with RTCClient(url, ClientOptions(video=False)) as client:
                row = await trial(client, question, clip, client.options.threshold)
        except (TimeoutError, ConnectionError) as err:
            row = {"error": str(err).splitlines()[0]}
        rows.append({"kind": kind, "voice": voice, "text": text, **row})
        if "error" in row or not row["over_the_reply"]:
            verdict = "----"
        else:
            verdict = "ok  " if row["cut"] == (kind == "interruption") and row["turn"] == row["cut"] else "MISS"
        print(f"  {kind:12s} {voice:6s} {text!r:34s} {verdict} "
              + (row.get("error") or f"cut={row['cut']} turn={row['heard']!r} held={row['held_ms']} ms"
                 + ("" if row["over_the_reply"] else f" (the reply ended first, {row['reply_played_s']} s)")),
              flush=True)
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Over the trials spoken over a reply: backchannels that left it playing and made no turn, interruptions that
    cut it and were answered."""
    valid = [r for r in rows if "error" not in r and r["over_the_reply"]]
    back = [r for r in valid if r["kind"] == "backchannel"]
    inter = [r for r in valid if r["kind"] == "interruption"]
    return {"backchannels": len(back), "played_on": sum(not r["cut"] and not r["turn"] for r in back),
            "interruptions": len(inter), "cut_and_answered": sum(r["cut"] and r["turn"] for r in inter),
            "errors": sum("error" in r for r in rows), "not_over_the_reply": len(rows) - len(valid) - sum(
                "error" in r for r in rows),
            "held_ms": percentiles([r["held_ms"] for r in back if r["held_ms"] is not None])}


def run(args: argparse.Namespace, console: Any) -> int:
    from ..clips import make_clip

    voices = [v for v in args.voices.split(",") if v]
    pick = (lambda xs: xs[:args.limit]) if args.limit else (lambda xs: xs)  # noqa: E731
    plan = [(kind, voice, text, make_clip(text, voice)) for voice in voices
            for kind, texts in (("backchannel", pick(BACKCHANNELS)), ("interruption", pick(INTERRUPTIONS)))
            for text in texts]
    before = cpu_probe()
    print(f"machine: CPU probe {before} ms; omnirt serve {args.serve_args or '(defaults)'}; an aiortc client without "
          f"a camera; {len(plan)} trials")
    with ServerProcess(args.serve_args.split()) as url:
        rows = asyncio.run(measure(url, plan))
    s = summarize(rows)
    h = s["held_ms"]
    print(f"backchannel: {s['played_on']}/{s['backchannels']} backchannels left the reply playing (held p50 "
          f"{h['p50']:.0f} p95 {h['p95']:.0f} ms); {s['cut_and_answered']}/{s['interruptions']} interruptions cut "
          f"it and were answered; {s['not_over_the_reply']} trials not over the reply (it ended first), "
          f"{s['errors']} failed")
    print(f"machine: CPU probe {before} ms before, {cpu_probe()} ms after")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": s, "serve_args": args.serve_args, "cpu_probe_ms": before, "trials": rows,
                               "phrases": {"backchannel": BACKCHANNELS, "interruption": INTERRUPTIONS}}, indent=1))
    print(f"wrote {out}")
    return 0 if not s["errors"] else 1
