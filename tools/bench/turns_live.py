"""`omnirt bench turns --live`: the held-out half of the turn corpus spoken to the runtime itself, in real time.

Why beside the offline sweep (tools/bench/turns.py): the sweep hears each pause once and models the runtime's waits;
a user meets the runtime: the VAD's own pauses, partial transcripts, the speculative cut and its check, the turn
gate with the classifier on its real inputs, a turn redone when the speaker goes on. Here each utterance goes
through `omnirt reply`'s pipeline (tools/reply.py) with the default options, fed in real time. A request with an
inner pause counts as cut off when more than one turn got an answer (its text, or any of its audio) that stood: the
fragment was answered on its own, which is what a user hears. A turn the speaker went on soon enough is withdrawn
(VADOptions.rejoin_ms) and does not count; such requests are counted apart ("rejoined"), with how much of the
withdrawn reply a listener would have heard. The latency is the standing answers' voice-to-voice (end of speech to
the first reply audio: the turn's wait and the models' work together), per kind.

The conversation each utterance is imagined in is given too (tools/bench/turns_corpus.py after_question): short
answers, and one request in three, follow an assistant's question (ASKED), as in the offline sweep.

Backchannels are left out: the corpus has them said over the assistant's reply, and said to a silent assistant they
are turns like any other.

Slow on purpose (each utterance takes its own length plus the answer): `--limit N` measures the first N of the
held-out half, kinds mixed. Looked at only to measure, as the offline held-out figures are.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .turns_corpus import KINDS, Utterance, after_question, build, plan

ASKED = [("Can you help me with something?", "Of course. What do you need?")]  # the question before, where there is one


@dataclass
class Heard:
    """One utterance as the runtime took it: each answered turn's transcript and answer, and its voice-to-voice."""

    kind: str
    voice: str
    text: str
    pauses_ms: list[int]
    turns: list[dict[str, Any]] = field(default_factory=list)  # {"heard", "answer", "latency_ms"}
    asked: bool = False  # said after the assistant's question (ASKED)
    error: str = ""

    @property
    def cut(self) -> bool:
        """A request with an inner pause answered in more than one turn: the fragment got an answer of its own."""
        return self.kind == "paused" and len(answered(self.turns)) > 1

    @property
    def rejoined(self) -> bool:
        """A turn of it was withdrawn: the speaker went on, and the words before and after were answered together."""
        return any(t.get("rejoined") for t in self.turns)


def said(turn: dict[str, Any]) -> str:
    """A turn as heard, for the reports: its words, marked when the turn was withdrawn."""
    return ("(withdrawn) " if turn.get("rejoined") else "") + repr(turn["heard"])


def answered(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turns whose answer stood: text or audio came of them, and they were not withdrawn."""
    return [t for t in turns if (t["answer"] or t.get("played_s")) and not t.get("rejoined")]


def summarise(heard: list[Heard]) -> dict[str, Any]:
    """Per kind: how many, how many cut off (paused requests only), the voice-to-voice of the answered turns, and
    the word error rate of what the runtime heard (each utterance's standing turns joined)."""
    from .asr_corpus import word_errors

    out: dict[str, Any] = {}
    for kind in KINDS:
        sel = [h for h in heard if h.kind == kind]
        if not sel:
            continue
        ms = [t["latency_ms"] for h in sel for t in answered(h.turns) if t["latency_ms"] is not None]
        row: dict[str, Any] = {"n": len(sel), "errors": sum(1 for h in sel if h.error),
                               "unanswered": sum(1 for h in sel if not answered(h.turns))}
        if kind == "paused":
            row["cut"] = sum(h.cut for h in sel)
            row["cutoff_rate"] = round(row["cut"] / len(sel), 3)
        errors = [word_errors(h.text, " ".join(t["heard"] for t in h.turns if not t.get("rejoined"))) for h in sel]
        row["word_error_rate"] = round(sum(e for e, _ in errors) / max(1, sum(n for _, n in errors)), 3)
        withdrawn = [t.get("reply_heard_s", 0.0) for h in sel for t in h.turns if t.get("rejoined")]
        row["rejoined"] = sum(h.rejoined for h in sel)
        if withdrawn:
            row["withdrawn_heard_s_mean"] = round(float(np.mean(withdrawn)), 3)
            row["withdrawn_heard_s_max"] = round(float(np.max(withdrawn)), 3)
        if ms:
            row["latency_p50_ms"] = round(float(np.percentile(ms, 50)), 1)
            row["latency_mean_ms"] = round(float(np.mean(ms)), 1)
        out[kind] = row
    return out


def add_live_arguments(p: Any) -> None:
    """`omnirt bench turns`'s flags for speaking a half to the runtime itself (--live) and what they change."""
    p.add_argument("--live", action="store_true",
                   help="speak the held-out half to the runtime itself in real time instead (tools/bench/"
                        "turns_live.py): paused requests answered in more than one turn, and voice-to-voice per kind")
    p.add_argument("--live-half", choices=["heldout", "tuning"], default="heldout",
                   help="with --live: the half spoken (tuning: to develop on, leaving the held-out set unread)")
    p.add_argument("--rejoin-ms", type=int, help="with --live: the VAD's rejoin_ms (0: never; default: its default)")
    p.add_argument("--live-kinds", default="paused,complete,short",
                   help="with --live: the kinds spoken, comma-separated (paused, complete, short)")
    p.add_argument("--rejoin-words-ms", type=int,
                   help="with --live: the VAD's rejoin_words_ms (0: no join decided by words; default: its default)")
    p.add_argument("--history", action="store_true",
                   help="with --live: each utterance after the exchange --asr-context would give, the recogniser not "
                        "reading it (the baseline to compare --asr-context with: the same history for the Thinker)")



async def speak_all(utts: list[Utterance], console: Any, thinker: str = "", asr_context: bool = False,
                    rejoin_ms: int | None = None, rejoin_words_ms: int | None = None,
                    history: bool = False) -> list[Heard]:
    """Each utterance through the reply pipeline in real time, the models loaded once; `thinker`: another Thinker
    than the default one; `asr_context`: the recogniser reads the exchange before each utterance (`serve
    --asr-context`), and an utterance not said after the assistant's question follows an exchange on another topic
    (turns_hear.CONTEXT_PAIR, as the offline sweep's), so that every one has an exchange before it; `history`: the
    same exchanges before each utterance with the recogniser not reading them (the fair baseline for
    `asr_context`: the Thinker then reads the same history in both); `rejoin_ms`, `rejoin_words_ms`: the VAD's
    (None: the default)."""
    from ..reply import NoSpeechError, reply
    from ..voice import DEFAULT, load_components
    from .turns_hear import CONTEXT_PAIR

    if not utts:
        return []
    overrides = {"thinker": thinker or None, "asr_context": asr_context or None, "rejoin_ms": rejoin_ms,
                 "rejoin_words_ms": rejoin_words_ms}  # (None: the default's)
    config = replace(DEFAULT, **{k: v for k, v in overrides.items() if v is not None})
    before = [CONTEXT_PAIR] if asr_context or history else None
    components = await asyncio.to_thread(load_components, config)
    out = []
    scratch = Path(utts[0].path).parent / ".live-answer.wav"  # each answer is written here, then the next over it
    for i, u in enumerate(utts, 1):
        p = u.plan
        h = Heard(p.kind, f"{p.family}/{p.voice}", p.text, list(p.pauses_ms), asked=after_question(p))
        try:
            result = await reply(Path(u.path), scratch, config, components, history=ASKED if h.asked else before)
            h.turns = [{"heard": t.transcript, "answer": t.answer, "latency_ms": t.latency.get("total"),
                        "played_s": round(t.played_s, 3), "rejoined": bool(t.rejoined_by),
                        "reply_heard_s": t.reply_heard_s} for t in result.turns]
            h.error = "; ".join(result.errors)
        except NoSpeechError as err:
            h.error = str(err)
        out.append(h)
        mark = "CUT " if h.cut else "JOIN" if h.rejoined else "    "
        console.print(f"{i:3d}/{len(utts)} {mark}{p.kind:11s} {h.voice:18s} {p.text!r} -> "
                      + " | ".join(said(t) for t in h.turns),
                      highlight=False, soft_wrap=True)
    scratch.unlink(missing_ok=True)
    return out


def write_html(path: Path, summary: dict[str, Any], heard: list[Heard], head: str) -> None:
    """The readable report: the summary per kind, the voice-to-voice distribution per kind, every cut-off request."""
    from .report import _cdf_svg

    rows = "".join(f"<tr><td>{k}</td><td>{r['n']}</td><td>{r.get('cut', '')}</td><td>{r['rejoined']}</td>"
                   f"<td>{r['unanswered']}</td>"
                   f"<td>{r.get('latency_p50_ms', '')}</td><td>{r.get('latency_mean_ms', '')}</td></tr>"
                   for k, r in summary.items())
    plots = "".join(_cdf_svg([t["latency_ms"] for h in heard if h.kind == k for t in answered(h.turns)
                              if t["latency_ms"] is not None],
                             f"{k}: voice-to-voice of the answered turns") for k in summary)
    cut = "".join(f"<li>{html.escape(h.voice)}: {html.escape(h.text)} &rarr; "
                  + " | ".join(html.escape(said(t)) for t in h.turns) + "</li>" for h in heard if h.cut or h.rejoined)
    path.write_text("<!doctype html><meta charset=utf-8><title>omnirt end of turn, live</title><body style='font-"
                    "family:sans-serif;max-width:1000px'><h1>omnirt end of turn, live</h1>"
                    f"<p>{html.escape(head)}</p><table border=1 cellpadding=4><tr><th>kind</th><th>n</th>"
                    f"<th>cut off</th><th>rejoined</th><th>unanswered</th><th>p50 ms</th><th>mean ms</th></tr>"
                    f"{rows}</table>{plots}<h3>requests answered in more than one turn, or rejoined</h3>"
                    f"<ul>{cut or '<li>none</li>'}</ul></body>")


def run(args: Any, console: Any) -> int:
    from .report import cpu_probe

    probes = [cpu_probe()]
    console.print(f"machine: CPU probe {probes[0]:.1f} ms before (report.py cpu_probe: lower is quieter)")
    half = getattr(args, "live_half", "heldout")
    kinds = set(getattr(args, "live_kinds", "paused,complete,short").split(",")) - {"backchannel"}
    planned = [p for p in plan(heldout=args.heldout) if p.half == half and p.kind in kinds]
    planned = planned[: args.limit] if args.limit else planned
    context, rejoin = getattr(args, "asr_context", False), getattr(args, "rejoin_ms", None)
    by_words, history = getattr(args, "rejoin_words_ms", None), getattr(args, "history", False)
    which = f"the held-out set {args.heldout!r}" if half == "heldout" else "the tuning half"
    console.print(f"live: {len(planned)} utterances of {which}, spoken in real time to the reply pipeline with the "
                  f"default options (Thinker {getattr(args, 'thinker', '') or 'default'})"
                  + ("; the recogniser reads the exchange before each (--asr-context)" if context else
                     "; an exchange before each, not read by the recogniser (--history)" if history else "")
                  + (f"; --rejoin-ms {rejoin}" if rejoin is not None else "")
                  + (f"; --rejoin-words-ms {by_words}" if by_words is not None else ""))
    started = time.perf_counter()
    heard = asyncio.run(speak_all(build(planned), console, getattr(args, "thinker", ""), context, rejoin, by_words,
                                  history))
    summary = summarise(heard)
    probes.append(cpu_probe())
    for kind, row in summary.items():
        cut = f"; cut off {row['cut']}/{row['n']} ({100 * row['cutoff_rate']:.1f} %)" if kind == "paused" else ""
        if row["rejoined"]:
            cut += (f"; rejoined {row['rejoined']} (withdrawn replies heard {row['withdrawn_heard_s_mean']:.2f} s "
                    f"mean, {row['withdrawn_heard_s_max']:.2f} s at most)")
        lat = (f"; voice-to-voice p50 {row['latency_p50_ms']:.0f} ms, mean {row['latency_mean_ms']:.0f} ms"
               if "latency_p50_ms" in row else "")
        console.print(f"{kind}: {row['n']} utterances, {row['unanswered']} unanswered{cut}{lat}; "
                      f"{100 * row['word_error_rate']:.1f} % of the words heard wrong")
    seconds = time.perf_counter() - started
    console.print(f"machine: CPU probe {probes[1]:.1f} ms after; {seconds:.0f} s in all")
    out = Path(args.json).with_name(Path(args.json).stem + "-live.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "turns-live", "cpu_probe_ms": probes, "heldout_set": args.heldout,
                               "thinker": getattr(args, "thinker", ""), "asr_context": context,
                               "history": history or context,
                               "half": half, "rejoin_ms": rejoin, "rejoin_words_ms": by_words,
                               "limit": args.limit, "kinds": sorted(kinds), "summary": summary,
                               "utterances": [{**asdict(h), "cut": h.cut} for h in heard]}, indent=1))
    page = out.with_suffix(".html")
    write_html(page, summary, heard, f"{len(heard)} utterances of {which}; CPU probe "
               f"{probes[0]:.1f} ms before, {probes[1]:.1f} ms after; {seconds:.0f} s")
    console.print(f"wrote {out} and {page}")
    return 0
