"""The pipeline simulation: many sessions of many turns sharing resources, driven by the event kernel.

Per turn (times in ms, client clock): the user speaks `utterance_ms`; the server sees the end of speech uplink later;
the VAD speculates after `speculate_ms` of silence (frame-aligned) and the stages before the first audio run in
order, each queueing FIFO for its resource; the reply leaves at max(commit at the hangover, first audio ready) and
reaches the user downlink later. So voice-to-voice = uplink + max(hangover, speculate + chain) + downlink, where
"time to first audio" is the server-side part (the `total` that `omnirt reply` measures). The rest of the reply keeps
the resources busy while it plays; a barge-in cancels it, and the barging utterance is the next turn.

Every random number is drawn up front, vectorised, in a fixed order: a run is a pure function of (model, turns, seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .events import Job, Resource, Sim
from .model import SEGMENTS, PipelineModel

_STATS = (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99))


def stats(x: np.ndarray) -> dict[str, float]:
    """p50/p95/p99/mean/max of the finite values (NaN marks 'did not happen')."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return {"n": 0}
    q = np.percentile(x, [p for _, p in _STATS])
    d = {k: round(float(v), 2) for (k, _), v in zip(_STATS, q)}
    d.update(mean_ms=round(float(x.mean()), 2), max_ms=round(float(x.max()), 2), n=int(len(x)))
    return d


@dataclass
class Summary:
    """Per-turn records (arrays indexed by turn, NaN where a quantity does not apply) and their statistics."""

    records: dict[str, np.ndarray]
    utilisation: dict[str, float]
    sessions: int
    seed: int
    duration_ms: float = 0.0
    stage_names: list[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return len(self.records["voice_to_voice"])

    def turn(self, i: int) -> dict[str, float]:
        """One turn's record as plain floats."""
        return {k: float(v[i]) for k, v in self.records.items()}

    def as_dict(self) -> dict[str, Any]:
        r = self.records
        v2v_mean = float(np.mean(r["voice_to_voice"]))
        stages = {}
        for name in (*SEGMENTS, "transport"):
            s = stats(r[name])
            s["share"] = round(s.get("mean_ms", 0.0) / v2v_mean, 4) if v2v_mean > 0 else 0.0
            stages[name] = s
        return {
            "turns": self.turns,
            "sessions": self.sessions,
            "seed": self.seed,
            "simulated_s": round(self.duration_ms / 1e3, 3),
            "voice_to_voice": stats(r["voice_to_voice"]),
            "time_to_first_audio": stats(r["time_to_first_audio"]),
            "barge_in": stats(r["barge_in"]),
            "stages": stages,
            "waits": {n: stats(r["wait:" + n]) for n in self.stage_names},
            "utilisation": {k: round(v, 4) for k, v in self.utilisation.items()},
        }


class _Turn:
    __slots__ = ("k", "sess", "s_end", "commit", "i", "seg", "cancelled", "wasted", "job")

    def __init__(self, k: int, sess: int, s_end: float, commit: float, wasted: bool) -> None:
        self.k, self.sess, self.s_end, self.commit, self.wasted = k, sess, s_end, commit, wasted
        self.i = 0
        self.seg = [0.0, 0.0, 0.0]
        self.cancelled = False
        self.job: Job | None = None


def _draws(model: PipelineModel, n: int, rng: np.random.Generator) -> dict[str, list[float]]:
    """Every random quantity of n turns, in a fixed order (determinism), as lists (fast scalar access)."""
    u, c, net, vad = model.user, model.chunking, model.network, model.vad
    d: dict[str, np.ndarray] = {}
    d["utt"] = u.utterance_ms.sample(rng, n)
    d["think"] = u.think_ms.sample(rng, n)
    d["clause"] = np.maximum(1.0, np.round(c.first_clause_tokens.sample(rng, n)))
    d["reply"] = np.maximum(d["clause"], np.round(c.reply_tokens.sample(rng, n)))
    d["barge"] = rng.random(n) < u.barge_in_prob
    d["barge_at"] = np.clip(u.barge_in_at.sample(rng, n), 0.0, 1.0)
    d["fpause"] = rng.random(n) < u.false_pause_prob
    d["fp_pos"] = rng.uniform(0.2, 0.8, n)
    lo = vad.speculate_ms + vad.frame_ms
    d["fp_len"] = rng.uniform(lo, max(lo, vad.hangover_ms), n)
    d["phase"] = rng.uniform(0.0, vad.frame_ms, n)
    d["phase_b"] = rng.uniform(0.0, vad.hold_ms, n)  # where the first sound falls in its block
    half = net.rtt_ms / 2
    for key, buf in (("up", net.uplink_buffer_ms), ("down", net.playout_buffer_ms),
                     ("up_b", net.uplink_buffer_ms), ("down_b", net.playout_buffer_ms)):
        d[key] = half + buf + np.abs(rng.normal(0.0, net.jitter_ms, n))
    if net.loss > 0:
        d["down"] = d["down"] + net.packet_ms * (rng.geometric(1.0 - net.loss, n) - 1)
    audio_s = d["utt"] / 1e3 if c.asr_step_ms <= 0 else np.mod(d["utt"], c.asr_step_ms) / 1e3
    scales = {None: 1.0, "clause_tokens": d["clause"], "rest_tokens": d["reply"] - d["clause"],
              "asr_audio_s": audio_s, "tts_chunk_s": c.tts_chunk_ms / 1e3}
    for j, st in enumerate(model.stages):
        d[f"svc{j}"] = st.service.sample(rng, n) * scales[st.scale]
    return {k: v.tolist() for k, v in d.items()}


def simulate(model: PipelineModel, turns: int = 1000, seed: int = 0) -> Summary:
    """Simulate `turns` turns in all, spread over model.sessions concurrent sessions."""
    if turns < 1:
        raise ValueError(f"turns must be >= 1, got {turns}")
    rng = np.random.default_rng(seed)
    S = model.sessions
    per = [turns // S + (1 if s < turns % S else 0) for s in range(S)]
    first = np.concatenate([[0], np.cumsum(per)]).astype(int).tolist()
    start = rng.uniform(0.0, model.user.start_spread_ms, S).tolist() if S > 1 else [0.0]
    D = _draws(model, turns, rng)
    vad, R = model.vad, model.chunking.audio_ms_per_token
    speculating = 0 < vad.speculate_ms < vad.hangover_ms
    sim = Sim()
    res = {name: Resource(sim, name, n) for name, n in model.resources.items()}
    pre = [(j, st, res[st.resource], SEGMENTS.index(st.segment) - 1) for j, st in enumerate(model.stages)
           if st.segment]
    post = [(j, st, res[st.resource]) for j, st in enumerate(model.stages) if not st.segment]
    rec = {k: np.full(turns, np.nan) for k in ("voice_to_voice", "time_to_first_audio", *SEGMENTS, "transport",
                                              "barge_in", "session", "speech_end")}
    for _, st, _, _ in pre:
        rec["wait:" + st.name] = np.full(turns, np.nan)
    nxt = first[:-1]  # next turn id per session
    svc = [D[f"svc{j}"] for j in range(len(model.stages))]

    def submit_pre(t: float, turn: _Turn) -> None:
        j, st, r, _ = pre[turn.i]
        turn.job = r.submit(t, Job(r, st.units, svc[j][turn.k], pre_done, turn))

    def pre_done(t: float, job: Job) -> None:
        turn: _Turn = job.owner
        if turn.cancelled:
            return
        j, st, _, seg = pre[turn.i]
        turn.seg[seg] += t - job.enq
        if not turn.wasted:
            rec["wait:" + st.name][turn.k] = job.start - job.enq
        turn.i += 1
        if turn.i < len(pre):
            submit_pre(t, turn)
        elif not turn.wasted:
            first_audio(t, turn)

    def cancel(t: float, turn: _Turn) -> None:
        turn.cancelled = True
        if turn.job is not None:
            turn.job.resource.cancel(t, turn.job)

    def submit_post(t: float, turn: _Turn) -> None:
        if turn.i < len(post) and not turn.cancelled:
            j, st, r = post[turn.i]
            turn.i += 1
            turn.job = r.submit(t, Job(r, st.units, svc[j][turn.k], lambda t2, jb: submit_post(t2, jb.owner), turn))

    def first_audio(t: float, turn: _Turn) -> None:
        k = turn.k
        out = max(turn.commit, t)
        heard = out + D["down"][k]
        ttfa = out - turn.s_end
        spec = (vad.speculate_ms if speculating else vad.hangover_ms) + D["phase"][k]
        rec["end of speech detected"][k] = spec
        for i, name in enumerate(SEGMENTS[1:4]):
            rec[name][k] = turn.seg[i]
        rec["held for commit"][k] = out - t
        rec["time_to_first_audio"][k] = ttfa
        rec["transport"][k] = D["up"][k] + D["down"][k]
        rec["voice_to_voice"][k] = ttfa + D["up"][k] + D["down"][k]
        turn.i, turn.job = 0, None
        submit_post(t, turn)
        length = D["reply"][k] * R
        if D["barge"][k]:
            t_b = heard + D["barge_at"][k] * length
            held = D["up_b"][k] + vad.hold_ms + D["phase_b"][k]  # the reply stops at the first sound,
            rec["barge_in"][k] = held + D["down_b"][k]  # its silence reaches the user a downlink later;
            sim.at(t_b + D["up_b"][k] + vad.min_speech_ms, cancel, turn)  # the work stops once it is speech
            sim.at(t_b, start_turn, turn.sess)
        else:
            sim.at(heard + length + D["think"][k], start_turn, turn.sess)

    def start_turn(t0: float, sess: int) -> None:
        k = nxt[sess]
        if k >= first[sess + 1]:
            return
        nxt[sess] = k + 1
        utt, up, phase = D["utt"][k], D["up"][k], D["phase"][k]
        if D["fpause"][k] and speculating:  # a pause that speculates, then speech resumes: work thrown away
            pause = t0 + D["fp_pos"][k] * utt + up
            w = _Turn(k, sess, pause, math.inf, True)
            sim.at(pause + vad.speculate_ms + phase, submit_pre, w)
            sim.at(pause + D["fp_len"][k] + vad.frame_ms, cancel, w)
            utt += D["fp_len"][k]
        s_end = t0 + utt + up
        rec["session"][k], rec["speech_end"][k] = sess, t0 + utt
        turn = _Turn(k, sess, s_end, s_end + vad.hangover_ms + phase, False)
        go = s_end + vad.speculate_ms + phase if speculating else turn.commit
        sim.at(go, submit_pre, turn)

    for s in range(S):
        sim.at(start[s], start_turn, s)
    sim.run()
    horizon = sim.now or 1.0
    util = {n: r.busy / (r.servers * horizon) for n, r in res.items()}
    return Summary(rec, util, S, seed, horizon, [st.name for _, st, _, _ in pre])
