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

from .events import Job, Lock, Resource, Sim
from .model import SEGMENTS, PipelineModel
from .sharing import SharedResource

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
            **({"cutoff_rate": round(float(np.nanmean(r["cut off"])), 4)}
               if "cut off" in r and np.isfinite(r["cut off"]).any() else {}),
        }


class _Turn:
    __slots__ = ("k", "sess", "s_end", "commit", "i", "seg", "cancelled", "wasted", "job", "held", "asked")

    def __init__(self, k: int, sess: int, s_end: float, commit: float, wasted: bool) -> None:
        self.k, self.sess, self.s_end, self.commit, self.wasted = k, sess, s_end, commit, wasted
        self.i = 0
        self.seg = [0.0, 0.0, 0.0]
        self.cancelled = False
        self.job: Job | None = None
        self.held: set[str] = set()  # the locks this turn holds
        self.asked = 0.0  # when its current stage was asked for (a wait for a lock counts in the stage's time)


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
    barge = (net.uplink_buffer_ms, net.playout_buffer_ms) if net.barge_buffer_ms is None else (net.barge_buffer_ms,) * 2
    for key, buf in (("up", net.uplink_buffer_ms), ("down", net.playout_buffer_ms),
                     ("up_b", barge[0]), ("down_b", barge[1])):
        d[key] = half + buf + np.abs(rng.normal(0.0, net.jitter_ms, n))
    if net.loss > 0:
        d["down"] = d["down"] + net.packet_ms * (rng.geometric(1.0 - net.loss, n) - 1)
    audio_s = d["utt"] / 1e3 if c.asr_step_ms <= 0 else np.mod(d["utt"], c.asr_step_ms) / 1e3
    scales = {None: 1.0, "clause_tokens": d["clause"], "rest_tokens": d["reply"] - d["clause"],
              "asr_audio_s": audio_s, "tts_chunk_s": c.tts_chunk_ms / 1e3}
    for j, st in enumerate(model.stages):
        d[f"svc{j}"] = st.service.sample(rng, n) * scales[st.scale]
    if vad.commit_ms is not None:  # drawn last: a model without a detector draws what it always drew
        d["commit"] = np.asarray(vad.commit_ms.sample(rng, n), float)
        d["cut"] = (rng.random(n) < vad.cutoff_prob).astype(float)
    return {k: v.tolist() for k, v in d.items()}


def simulate(model: PipelineModel, turns: int = 1000, seed: int = 0) -> Summary:
    """Simulate `turns` turns in all, spread over model.sessions concurrent sessions."""
    if turns < 1:
        raise ValueError(f"turns must be >= 1, got {turns}")
    return _Run(model, turns, np.random.default_rng(seed)).run(seed)


class _Run:
    """One simulation: the sessions' turns as events on shared resources. Each method is one kind of event; a turn
    goes start_turn -> the stages before first audio (submit_pre / pre_done) -> first_audio -> the stages after it
    (submit_post), and a barge-in or a pause that resumes cancels the work in flight."""

    def __init__(self, model: PipelineModel, turns: int, rng: np.random.Generator) -> None:
        S = self.sessions = model.sessions
        per = [turns // S + (1 if s < turns % S else 0) for s in range(S)]
        self.first = np.concatenate([[0], np.cumsum(per)]).astype(int).tolist()  # first turn id per session
        self.start = rng.uniform(0.0, model.user.start_spread_ms, S).tolist() if S > 1 else [0.0]
        if model.user.starts_ms:  # (drawn all the same: the draws after it stay those of the same seed)
            if len(model.user.starts_ms) < S:
                raise ValueError(f"user starts_ms gives {len(model.user.starts_ms)} starts for {S} sessions")
            self.start = [float(t) for t in model.user.starts_ms[:S]]
        self.D = _draws(model, turns, rng)
        self.vad, self.R = model.vad, model.chunking.audio_ms_per_token
        self.conversation = model.user.conversation_turns
        self.speculating = 0 < self.vad.speculate_ms < self.vad.hangover_ms
        self.sim = Sim()
        self.res = {name: SharedResource(self.sim, name, n, model.background_fixed.get(name, 0.0)
                                         + model.background.get(name, 0.0) * S)
                    if name in model.shared else Resource(self.sim, name, n) for name, n in model.resources.items()}
        self.pre = [(j, st, self.res[st.resource], SEGMENTS.index(st.segment) - 1)
                    for j, st in enumerate(model.stages) if st.segment]
        self.post = [(j, st, self.res[st.resource]) for j, st in enumerate(model.stages) if not st.segment]
        order = [st for _, st, _, _ in self.pre] + [st for _, st, _ in self.post]  # the order a turn runs them in
        self.locks = {st.lock: Lock(st.lock) for st in order if st.lock}
        self.last_use = {name: max(i for i, st in enumerate(order) if st.lock == name) for name in self.locks}
        self.order = order
        self.rec = {k: np.full(turns, np.nan) for k in ("voice_to_voice", "time_to_first_audio", *SEGMENTS,
                                                        "transport", "barge_in", "session", "speech_end")}
        for _, st, _, _ in self.pre:
            self.rec["wait:" + st.name] = np.full(turns, np.nan)
        if "cut" in self.D:
            self.rec["cut off"] = np.full(turns, np.nan)
        self.nxt = self.first[:-1]  # next turn id per session
        self.svc = [self.D[f"svc{j}"] for j in range(len(model.stages))]

    def run(self, seed: int) -> Summary:
        for s in range(self.sessions):
            self.sim.at(self.start[s], self.start_turn, s)
        self.sim.run()
        horizon = self.sim.now or 1.0
        util = {n: r.busy / (r.servers * horizon) for n, r in self.res.items()}
        util.update({f"lock:{n}": lock.busy / horizon for n, lock in self.locks.items()})
        return Summary(self.rec, util, self.sessions, seed, horizon, [st.name for _, st, _, _ in self.pre])

    def _stage(self, t: float, turn: _Turn, st: Any, r: Any, service: float, done: Any) -> None:
        """Submit a stage's work, first taking its lock if it names one the turn does not hold yet."""
        turn.asked = t
        if st.lock is None or st.lock in turn.held:
            turn.job = r.submit(t, Job(r, st.units, service, done, turn))
            return

        def granted(t2: float, _: Any, previous: Any) -> None:
            turn.held.add(st.lock)
            extra = 0.0
            if previous is not None and previous != turn.sess:  # the cache holds another conversation
                extra = st.switch_ms + st.switch_ms_per_turn * self._exchanges(turn)
            turn.job = r.submit(t2, Job(r, st.units, service + extra, done, turn))

        turn.job = None
        self.locks[st.lock].acquire(t, turn, turn.sess, granted)

    def _exchanges(self, turn: _Turn) -> int:
        """How many exchanges the turn's conversation has had before it."""
        before = turn.k - self.first[turn.sess]
        return before % self.conversation if self.conversation else before

    def _release(self, t: float, turn: _Turn, position: int) -> None:
        """Give back the locks whose last stage (in the turn's order) was the one at `position`."""
        stage = self.order[position]
        for name in [n for n in turn.held if self.last_use[n] == position or (stage.release and stage.lock == n)]:
            turn.held.discard(name)
            self.locks[name].release(t, turn)

    def submit_pre(self, t: float, turn: _Turn) -> None:
        j, st, r, _ = self.pre[turn.i]
        self._stage(t, turn, st, r, self.svc[j][turn.k], self.pre_done)

    def pre_done(self, t: float, job: Job) -> None:
        turn: _Turn = job.owner
        if turn.cancelled:
            return
        j, st, _, seg = self.pre[turn.i]
        turn.seg[seg] += t - turn.asked
        if not turn.wasted:
            self.rec["wait:" + st.name][turn.k] = job.start - turn.asked
        self._release(t, turn, turn.i)
        turn.i += 1
        if turn.i < len(self.pre):
            self.submit_pre(t, turn)
        elif not turn.wasted:
            self.first_audio(t, turn)

    def cancel(self, t: float, turn: _Turn) -> None:
        turn.cancelled = True
        if turn.job is not None:
            turn.job.resource.cancel(t, turn.job)
        for lock in self.locks.values():
            lock.cancel(t, turn)
        turn.held.clear()

    def submit_post(self, t: float, turn: _Turn) -> None:
        if turn.i < len(self.post) and not turn.cancelled:
            j, st, r = self.post[turn.i]
            turn.i += 1
            self._stage(t, turn, st, r, self.svc[j][turn.k], self.post_done)

    def post_done(self, t: float, job: Job) -> None:
        turn: _Turn = job.owner
        self._release(t, turn, len(self.pre) + turn.i - 1)
        self.submit_post(t, turn)

    def first_audio(self, t: float, turn: _Turn) -> None:
        D, rec, vad, k = self.D, self.rec, self.vad, turn.k
        out = max(turn.commit, t)
        heard = out + D["down"][k]
        ttfa = out - turn.s_end
        spec = (vad.speculate_ms if self.speculating else self._wait(k)) + D["phase"][k]
        rec["end of speech detected"][k] = spec
        for i, name in enumerate(SEGMENTS[1:4]):
            rec[name][k] = turn.seg[i]
        rec["held for commit"][k] = out - t
        rec["time_to_first_audio"][k] = ttfa
        rec["transport"][k] = D["up"][k] + D["down"][k]
        rec["voice_to_voice"][k] = ttfa + D["up"][k] + D["down"][k]
        turn.i, turn.job = 0, None
        self.submit_post(t, turn)
        length = D["reply"][k] * self.R
        if D["barge"][k]:
            t_b = heard + D["barge_at"][k] * length
            held = D["up_b"][k] + vad.hold_ms + D["phase_b"][k]  # the reply stops at the first sound,
            rec["barge_in"][k] = held + D["down_b"][k]  # its silence reaches the user a downlink later;
            self.sim.at(t_b + D["up_b"][k] + vad.min_speech_ms, self.cancel, turn)  # the work stops once it is speech
            self.sim.at(t_b, self.start_turn, turn.sess)
        else:
            self.sim.at(heard + length + D["think"][k], self.start_turn, turn.sess)

    def _wait(self, k: int) -> float:
        """The silence after turn k's real end before it is committed: the detector's draw, else the hangover."""
        return self.D["commit"][k] if "commit" in self.D else self.vad.hangover_ms

    def start_turn(self, t0: float, sess: int) -> None:
        D, vad, k = self.D, self.vad, self.nxt[sess]
        if k >= self.first[sess + 1]:
            return
        self.nxt[sess] = k + 1
        utt, up, phase = D["utt"][k], D["up"][k], D["phase"][k]
        if D["fpause"][k] and self.speculating:  # a pause that speculates, then speech resumes: work thrown away
            pause = t0 + D["fp_pos"][k] * utt + up
            w = _Turn(k, sess, pause, math.inf, True)
            self.sim.at(pause + vad.speculate_ms + phase, self.submit_pre, w)
            self.sim.at(pause + D["fp_len"][k] + vad.frame_ms, self.cancel, w)
            utt += D["fp_len"][k]
        s_end = t0 + utt + up
        self.rec["session"][k], self.rec["speech_end"][k] = sess, t0 + utt
        turn = _Turn(k, sess, s_end, s_end + self._wait(k) + phase, False)
        if "cut" in D:
            self.rec["cut off"][k] = D["cut"][k]
        go = s_end + vad.speculate_ms + phase if self.speculating else turn.commit
        self.sim.at(go, self.submit_pre, turn)
