"""Hearing the corpus of `omnirt bench turns`: every decision point of every utterance as the live path would hear
it, decoded by the recogniser and judged by the Thinker, cached per utterance so that a sweep never waits on a
model (tools/bench/turns.py sweeps the rows this makes)."""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
from typing import Any

import numpy as np

from ...runtime.asr import CONTEXT_MIN_S
from .turns import TAIL_S, Row
from .turns_corpus import LEAD_S, Utterance, after_question, corpus_dir

# `--asr-context`: the exchange each utterance follows, on another topic, as a conversation's topic change gives it.
CONTEXT_PAIR = ("What is the capital of France?", "The capital of France is Paris.")
CONTEXT_EXCHANGE = " ".join(CONTEXT_PAIR)  # as runtime/thinker.py said_before joins an exchange


def _signature(asr: Any, llama_options: Any, context: str = "") -> str:
    """What a cached decision depends on: the recogniser's options (and context), the Thinker and its prompt, the
    detector."""
    from ...models import turn_detector
    from ...models.whisper import context as whisper_context

    made = f"{TAIL_S}\n{asr!r}\n{llama_options!r}\n{inspect.getsource(turn_detector)}"
    if context:
        made += f"\n{context}\n{CONTEXT_MIN_S}\n{inspect.getsource(whisper_context)}"
    return hashlib.sha256(made.encode()).hexdigest()[:12]


def _heard(asr: Any, audio: np.ndarray, context: str) -> Any:
    """The recogniser's result at a decision point: with the context when the speech so far (after the corpus's
    lead-in) is as long as a live session needs to read one (runtime/asr.py CONTEXT_MIN_S)."""
    if context and len(audio) / 16000 - TAIL_S - LEAD_S >= CONTEXT_MIN_S:
        return asr.transcribe(audio, context=context)
    return asr.transcribe(audio)


def hear(u: Utterance, asr: Any, chat: Any, context: str = "") -> dict[str, Any]:
    """Each decision point of `u` as the live path would hear it: (kind, sample, transcript, p), judged by the
    Thinker's own `end_of_turn`, the call a live session makes. context: what the recogniser reads before it."""
    until = _until(u)
    points = []
    for at, what in [*((s, "pause") for s, _ in u.pauses), (u.end, "end")]:
        result = _heard(asr, until(at), context)
        points.append({"what": what, "at": at, "text": result.text, "p": chat.end_of_turn(result.text),
                       "lp": result.end_logprob})
    return {"points": points}


def hear_last_words(u: Utterance, heard: dict[str, Any], asr: Any, chat: Any, context: str = "") -> dict[str, Any]:
    """`heard` (cached before the last word's log-probability was kept) with it added at each point, without asking
    the Thinker again: the same decode, so the text must come out the same (else the utterance is heard again)."""
    until = _until(u)
    points = []
    for point in heard["points"]:
        result = _heard(asr, until(point["at"]), context)
        if result.text != point["text"]:
            return hear(u, asr, chat, context)
        points.append({**point, "lp": result.end_logprob})
    return {**heard, "points": points}


def decide(utts: list[Utterance], args: argparse.Namespace, console: Any) -> list[Row]:
    """Rows for every utterance, heard on first use and cached (models load only when something is not cached)."""
    from rich.progress import Progress

    from ...models.llama import LlamaOptions
    from ...models.registry import thinker_model
    from ...models.whisper import WhisperOptions
    from ..voice import DEFAULT

    thinker = getattr(args, "thinker", None) or DEFAULT.thinker
    asr_options = WhisperOptions(intra_threads=args.threads)
    llama_options = LlamaOptions(model=thinker_model(thinker), n_threads=args.threads)
    context = CONTEXT_EXCHANGE if getattr(args, "asr_context", False) else ""
    sig = _signature(asr_options, llama_options, context)
    cache = corpus_dir() / "decisions"
    cache.mkdir(parents=True, exist_ok=True)
    models: list[Any] = []

    def loaded() -> list[Any]:  # the recogniser and the Thinker, loaded on first need
        if not models:
            models.extend(_load(asr_options, llama_options))
        return models

    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("hearing the decision points", total=len(utts))
        for u in utts:
            path = cache / f"{u.plan.key}-{sig}.json"
            if path.is_file():
                heard = json.loads(path.read_text())
                if any("lp" not in x for x in heard["points"]):
                    heard = hear_last_words(u, heard, *loaded(), context)
                    path.write_text(json.dumps(heard))
            else:
                heard = hear(u, *loaded(), context)
                path.write_text(json.dumps(heard))
            pauses, end = [p for p in heard["points"] if p["what"] == "pause"], heard["points"][-1]
            p = u.plan
            voices = voice_at(u, [x["at"] for x in heard["points"]])
            rows.append(Row(p.half, p.kind, f"{p.family}/{p.voice}", p.text, end["p"], end["text"],
                            [n / 16 for _, n in u.pauses], [x["p"] for x in pauses], [x["text"] for x in pauses],
                            after_question(p), voices[-1], voices[:-1], end.get("lp"),
                            [x.get("lp") for x in pauses]))
            progress.advance(task)
    return rows


def voice_at(u: Utterance, ats: list[int]) -> list[dict[str, float]]:
    """How the voice ended at each decision point (runtime/prosody.py), over the audio the recogniser heard there
    (up to the point, then TAIL_S of zeros): what the live VAD holds when the judgement is made. Not cached: it
    costs milliseconds and depends on no model."""
    from ...runtime.prosody import prosody

    until = _until(u)
    return [prosody(until(at)).as_dict() for at in ats]


def _until(u: Utterance) -> Any:
    """at -> the utterance's audio up to sample `at`, then TAIL_S of zeros: what the live path holds at a decision
    point (read from disk once per utterance)."""
    from ..clips import read_audio

    audio, tail = read_audio(u.path), np.zeros(int(TAIL_S * 16000), np.float32)
    return lambda at: np.concatenate([audio[:at], tail])


def _load(asr_options: Any, llama_options: Any) -> tuple[Any, Any]:
    from ...models.llama import LlamaChat
    from ...models.whisper import WhisperOnnx

    asr = WhisperOnnx.load(asr_options)
    asr.transcribe(np.zeros(16000, np.float32))  # warm-up
    chat = LlamaChat.load(llama_options)
    chat.warmup()
    return asr, chat
