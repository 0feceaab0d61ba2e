"""The session host under load, as `omnirt bench capacity` predicts it: what one session alone does not show.

A one-core node calibrated on one talking session (capacity.py `self_calibrated`) predicted its own point, and 60-80 %
too little once two or three sessions talked (docs/cluster-bench.md). Three things one session alone never meets:

- **One Thinker per host.** A host's sessions share one llama.cpp context, behind a lock held from an answer's first
  token to its last (models/llama.py), and the end-of-turn judgement waits for it too. A turn whose user stopped
  speaking while another session's answer is being generated waits for that whole answer: a first come, first
  served lock on top of the shared core (`StageModel.lock`).
- **A cache that holds another conversation.** llama.cpp keeps one KV cache. Alone, a session finds its own history
  there and has read its question ahead while the user spoke; after another session's turn only the common system
  prompt is left, and the judgement reads the history and the question again. Its cost is measured here on the
  Thinker alone (`measure_thinker_switch`: the same turn with the session's own cache and with another's, on one
  thread pinned to one core, as each node runs it), as a constant plus a part per earlier exchange
  (`StageModel.switch_ms`, `switch_ms_per_turn`). Since each conversation's cache is kept (models/llama_states.py)
  it is a small constant: a snapshot put back, not the history read again.
- **Work beside the turns on the same core**: the clients and the front door (pinned to the nodes' cores) and the
  steady audio work of each connected session (decoding, the VAD, silence), as CPU seconds per second
  (`PipelineModel.background`, competing as a fair scheduler would let it): at each point, what it measured with its
  sessions connected and silent before its first question (`at_point`), else the first point's per session.

Everything is calibrated on the first point (1 node, 1 session), the silent measurements and the Thinker measured
alone (its time per token, its tokenizer for the first clause's length); the loaded points are only predicted.
Not modelled: the host's one event loop (the Python parts of every session take turns on it; on one core they take
turns anyway, but in its order, not the scheduler's), the Thinker's lock held while its tokens wait for any
session's first audio (runtime/threads.py FOREGROUND) or by a read-ahead, and the partial transcripts and
read-aheads dropped when the ASR or the Thinker is busy (the CPU per turn falls under load).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Callable

import numpy as np


# ---------------------------------------------------------------- the Thinker, alone on one core

def switch_model(switch: dict[str, Any]) -> str:
    """The Thinker a measurement of measure_thinker_switch was made with (one that names none: the 0.5B model, the
    only one measured before the measurement said)."""
    return switch.get("model", "qwen2.5-coder-0.5b-instruct")


def measure_thinker_switch(model: str, turns: int = 6, core: int = 0) -> dict[str, Any]:
    """Per exchange k = 0..turns-1 of one conversation, the two requests a final question makes of the Thinker,
    each taking its lock anew: the end-of-turn judgement, then the answer's prompt to its first token. "own": the
    cache holds this conversation (its last answer, the question read ahead while spoken, then its own
    judgement); "other": it holds another conversation of as many exchanges (its answer before the judgement, its
    judgement before the answer). One llama.cpp thread pinned to `core` (as `bench capacity` runs each node); also
    the time per generated token. Per request the fit: other - own = switch_ms + switch_ms_per_turn x k. model: the
    Thinker's asset name (the hosts' own: a larger model reads and generates slower)."""
    from ...models.llama import LlamaChat, LlamaOptions
    from ..questions import QUESTIONS

    was = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})  # before the model's thread exists: it inherits the core
    try:
        chat = LlamaChat.load(LlamaOptions(model=model, n_threads=1, batch_threads=1, lead_threads=1))
        chat.warmup()
        texts = [q.text for q in QUESTIONS]
        mine = [texts[i % len(texts)] for i in range(turns)]
        theirs = [texts[(i + turns) % len(texts)] for i in range(turns)]
        token_ms: list[float] = []
        own_history = _converse(chat, mine, token_ms)
        other_history = _converse(chat, theirs, token_ms)
        times: dict[str, list[float]] = {"judge own": [], "answer own": [], "judge other": [], "answer other": []}
        for k in range(turns):
            history, question = own_history[:2 * k], mine[k]
            _answer(chat, own_history[:2 * k - 1] if k else [{"role": "user", "content": "Hi"}], [])  # own cache
            chat.prefill(history + [{"role": "user", "content": question}])  # read ahead while it was spoken
            times["judge own"].append(_timed(chat.end_of_turn, question, history))
            times["answer own"].append(_timed(_first_token, chat, history, question))
            _answer(chat, other_history[:2 * k + 1], [])  # another session's turn
            times["judge other"].append(_timed(chat.end_of_turn, question, history))
            chat.end_of_turn(theirs[k], other_history[:2 * k])  # another session's judgement in between
            times["answer other"].append(_timed(_first_token, chat, history, question))
    finally:
        os.sched_setaffinity(0, was)
    out: dict[str, Any] = {"model": model, "turns": turns, "token_ms": round(float(np.median(token_ms)), 2),
                           "core": core}
    for request in ("judge", "answer"):
        own, other = np.array(times[f"{request} own"]), np.array(times[f"{request} other"])
        slope, intercept = np.polyfit(np.arange(turns), other - own, 1) if turns > 1 else (0.0, other[0] - own[0])
        out[request] = {"own_ms": [round(float(x), 1) for x in own], "other_ms": [round(float(x), 1) for x in other],
                        "switch_ms": round(max(0.0, float(intercept)), 1),
                        "switch_ms_per_turn": round(max(0.0, float(slope)), 1)}
    return out


def _converse(chat: Any, questions: list[str], token_ms: list[float]) -> list[dict[str, str]]:
    history: list[dict[str, str]] = []
    for q in questions:
        history += [{"role": "user", "content": q}]
        history += [{"role": "assistant", "content": _answer(chat, history, token_ms)}]
    return history


def _answer(chat: Any, messages: list[dict[str, str]], token_ms: list[float]) -> str:
    """The whole answer (which leaves this conversation in the cache); its time per token after the first."""
    parts, times = [], []
    for delta in chat.stream(messages):
        parts.append(delta)
        times.append(time.perf_counter())
    if len(times) > 2:
        token_ms.append(1e3 * (times[-1] - times[0]) / (len(times) - 1))
    return "".join(parts).strip()


def _timed(fn: Any, *args: Any) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return 1e3 * (time.perf_counter() - t0)


def _first_token(chat: Any, history: list[dict[str, str]], question: str) -> None:
    stream = chat.stream(history + [{"role": "user", "content": question}])
    next(stream, None)
    stream.close()


# ---------------------------------------------------------------- the host model

def steady_load(point: dict[str, Any], nodes: int = 1) -> dict[str, float]:
    """Cores' worth of work beside the turns at a point, per node core: "fixed", what the cluster costs with no
    session (the nodes, the door and Ray's head, the bench's own process), spread over the nodes' cores; per
    session, its clients and the door (over the whole point, less the fixed part: they run on the nodes' cores)
    and the node's own while the sessions were connected and silent. A point measured without an empty cluster
    counts it all per session."""
    sessions, seconds = point["sessions"], point["seconds"]
    idle, empty = point.get("idle") or {}, point.get("idle_empty") or {}
    clients = (point.get("clients_cpu_s", 0.0) + point.get("door_cpu_s", 0.0)) / seconds
    fixed_clients = float(empty.get("clients", 0.0)) + float(empty.get("door", 0.0))
    fixed_nodes = float(empty.get("nodes", 0.0))
    return {"fixed": (fixed_clients + fixed_nodes) / nodes,
            "clients": max(0.0, clients - fixed_clients) / sessions,
            "node": max(0.0, float(idle.get("nodes", 0.0)) - fixed_nodes) / sessions}


def first_clause_tokens(answer: str, pieces: Callable[[str], list[str]]) -> int:
    """Tokens the Thinker generates after its first one before the Talker has its first clause: the answer's
    tokens fed one by one to the runtime's own ClauseSplitter (runtime/talker.py: a sentence or clause end, or
    the first phrase-final word after a few words, released once the next token has begun). An answer whose clause
    never comes before its end is released by the end-of-stream token."""
    from ...runtime.talker import ClauseSplitter

    splitter, parts = ClauseSplitter(), pieces(answer)
    for n, piece in enumerate(parts, start=1):
        if splitter.push(piece):
            return max(1, n - 1)
    return max(1, len(parts))


def thinker_pieces(model: str) -> Callable[[str], list[str]] | None:
    """The Thinker's tokenizer (its vocabulary alone, read in well under a second): a text's token pieces
    as the model streams them. None where llama.cpp or the model is not installed."""
    try:
        from ...models import assets
        from ...models.llama import _llama_cpp

        llm = _llama_cpp().Llama(model_path=str(assets.require(model) / "model.gguf"),
                                 vocab_only=True, verbose=False)
    except Exception:  # noqa: BLE001 - the host model then assumes the clause's length
        return None
    return lambda text: [llm.detokenize([t]).decode(errors="ignore")
                         for t in llm.tokenize(text.encode(), add_bos=False)]


def steady_at(point: dict[str, Any], nodes: int, first: dict[str, Any]) -> float | None:
    """Cores' worth of work beside the turns on each node's core at `point`, from what was measured there before
    its first question (the nodes, the door and the clients with every session connected and silent, spread over
    the nodes' cores: they run on them) plus what talking adds to the clients and the door per session, taken
    from the first point. None when the point has no idle measurement. (Each core's busy share from /proc/stat,
    also recorded, is not used: over 6 silent seconds it disagreed with these processes' own CPU time, 0.06
    against 0.13 of the core at one session.)"""
    idle = point.get("idle") or {}
    if not idle:
        return None
    fidle = first.get("idle") or {}
    talking = (first.get("clients_cpu_s", 0.0) + first.get("door_cpu_s", 0.0)) / first["seconds"] \
        - float(fidle.get("clients", 0.0)) - float(fidle.get("door", 0.0))
    silent = sum(float(idle.get(k, 0.0)) for k in ("nodes", "door", "clients"))
    return (silent + max(0.0, talking) / first["sessions"] * point["sessions"]) / nodes


def at_point(model: Any, point: dict[str, Any], nodes: int, first: dict[str, Any]) -> Any:
    """The host model with the steady work that `point` measured before its questions (steady_at), in place of
    the first point's per session; unchanged where the point has no idle measurement."""
    steady = steady_at(point, nodes, first)
    if steady is None:
        return model
    return dataclasses.replace(model, background={}, background_fixed={"cpu": min(0.95, steady)})


def host_model(point: dict[str, Any], switch: dict[str, Any],
               pieces: Callable[[str], list[str]] | None = None) -> tuple[Any, dict[str, float]]:
    """The one-core session host fitted to one point (1 node, 1 session) and the Thinker measurement: (the model,
    what went into it). The stages before the first audio are the point's measured segments, less the share the
    work beside them took from the core then; the Thinker's stages hold its lock; its remaining tokens hold it
    after the first audio; what the node's CPU per turn leaves over runs after the first audio without it.
    pieces: the Thinker's tokenizer (thinker_pieces): the first clause's tokens are then counted in the point's
    answers (first_clause_tokens), else assumed."""
    from ...runtime.simulator import Empirical, Fixed, StageModel
    from ...runtime.simulator.calibration import segment, trim
    from ...runtime.simulator.model import ASSUMED, SEGMENTS, calibrated

    turns = [r for r in point["records"] if r["answered"] and r.get("server")]
    run = trim({"bench": "latency", "turns": turns})
    load = steady_load(point)
    beside = load["clients"] + load["node"]
    steady = steady_at(point, 1, point)
    alone = 1.0 - (load["fixed"] + beside if steady is None else steady)  # a lone stage ran at this share
    token = float(switch["token_ms"])
    counted = [first_clause_tokens(t["answer"], pieces) for t in turns if pieces and t.get("answer")]
    clause = float(np.mean(counted)) if counted else ASSUMED["first_clause_tokens"][0]
    before = [alone * sum(t["server"]["segments"].get(k, 0.0) for k in SEGMENTS[1:4]) for t in turns]
    replies = [r["reply_ms"] / 250.0 for r in turns if r.get("reply_ms")]  # tokens, at the model's 250 ms each
    thinker_rest = token * max(0.0, float(np.mean(replies)) - clause) if replies else 0.0
    # the node's steady work while nobody speaks, the empty cluster's included: it is in the node's CPU over the
    # point, and the model runs it beside the turns (background), not in them
    steady_per_turn = 1e3 * float((point.get("idle") or {}).get("nodes", 0.0)) * point["seconds"] / max(1, len(turns))
    rest = max(0.0, point["cpu_per_turn_ms"] - steady_per_turn - float(np.mean(before)) - thinker_rest)
    scaled = lambda name: tuple(alone * v for v in segment(run, name))  # noqa: E731
    judge, answer = switch["judge"], switch["answer"]
    judge_ms, answer_ms = float(np.mean(judge["own_ms"])), float(np.mean(answer["own_ms"]))
    # The segment holds more than llama.cpp's own work (measured alone): the rest (the final transcript's way to
    # the Thinker, the gate, the event loop's hops) runs before it, without the lock.
    around = tuple(max(1.0, v - judge_ms - answer_ms) for v in scaled("Thinker first token"))
    stages = [
        StageModel("asr", Empirical(scaled("ASR done")), "ASR done"),
        StageModel("thinker around", Empirical(around), "Thinker first token"),
        StageModel("thinker judge", Fixed(judge_ms), "Thinker first token", lock="thinker", release=True,
                   switch_ms=float(judge["switch_ms"]), switch_ms_per_turn=float(judge["switch_ms_per_turn"])),
        StageModel("thinker prefill", Fixed(answer_ms), "Thinker first token", lock="thinker",
                   switch_ms=float(answer["switch_ms"]), switch_ms_per_turn=float(answer["switch_ms_per_turn"])),
        StageModel("thinker first clause", Fixed(token), "Talker first audio", scale="clause_tokens", lock="thinker"),
        StageModel("tts first chunk", Empirical(tuple(max(1.0, v - clause * token)
                                                      for v in scaled("Talker first audio"))), "Talker first audio"),
        StageModel("thinker rest", Fixed(token), None, scale="rest_tokens", lock="thinker"),
        StageModel("after first audio", Fixed(rest), None),
    ]
    model = dataclasses.replace(calibrated(run), stages=stages, shared=("cpu",), resources={"cpu": 1},
                                background={"cpu": beside}, background_fixed={"cpu": load["fixed"]})
    if counted:
        model = dataclasses.replace(model, chunking=dataclasses.replace(model.chunking,
                                                                        first_clause_tokens=Empirical(counted)))
    return model, {"beside_per_session": round(beside, 4), **{k: round(v, 4) for k, v in load.items()},
                   "token_ms": token, "thinker_rest_ms": round(thinker_rest, 1),
                   "after_first_audio_ms": round(rest, 1), "steady_node_ms_per_turn": round(steady_per_turn, 1),
                   "judge_ms": round(judge_ms, 1), "answer_ms": round(answer_ms, 1),
                   "first_clause_tokens": round(clause, 2), "clause_counted": bool(counted),
                   "switch_ms": {r: switch[r]["switch_ms"] for r in ("judge", "answer")},
                   "switch_ms_per_turn": {r: switch[r]["switch_ms_per_turn"] for r in ("judge", "answer")}}


def main() -> None:
    """`python -m omnirt.tools.bench.capacity_model [TURNS] [OUT.json] [THINKER]`: measure the Thinker's switch
    alone (THINKER: 1.5b, 0.5b or an asset name; default the sessions' own)."""
    import json
    import sys
    from pathlib import Path

    from ...models.registry import thinker_model
    from ..voice import DEFAULT
    from .report import cpu_probe

    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "bench-results/thinker-switch.json")
    probe = cpu_probe()
    model = thinker_model(sys.argv[3] if len(sys.argv) > 3 else DEFAULT.thinker)
    result = {"cpu_probe_ms": [probe], **measure_thinker_switch(model, turns)}
    result["cpu_probe_ms"].append(cpu_probe())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
