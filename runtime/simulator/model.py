"""The pipeline model the simulator runs: stages, shared resources, chunking, network, VAD and user behaviour.

Everything is a dataclass with defaults; `PipelineModel.from_dict` / `load_model(path.toml)` override the embedded
default section by section, so a what-if ("8 sessions", "a GPU for ASR", "hangover 300") is a few TOML lines.
Times are milliseconds. Distributions are given as numbers (fixed) or tables (see distributions.from_spec).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..onset import BLOCK, SAMPLE_RATE
from ..vad import CHUNK, VADOptions
from .calibration import calibration_run, segment, transport
from .distributions import Dist, Empirical, Fixed, LogNormal, Normal, Uniform, from_spec

# The measured segments of a turn, in order (runtime/observers.py SEGMENTS); "held for commit" is computed.
SEGMENTS = ("end of speech detected", "ASR done", "Thinker first token", "Talker first audio", "held for commit")
SCALES = (None, "clause_tokens", "rest_tokens", "asr_audio_s", "tts_chunk_s")

# The defaults are fitted to one measured run of the live runtime (calibration.py; the stages and the transport)
# and read from the runtime's VADOptions (endpointing). Not measured apart, so assumed: how "Talker first audio"
# splits into first-clause tokens x per-token time + the TTS first chunk (only their sum is measured), and the
# user's behaviour (utterance, think time, barge-in rate, reply length).
ASSUMED = {
    "token_ms": (18.0, 24.0),  # (median, p95) per generated token
    "first_clause_tokens": (7.0, 2.0),  # (mean, sd) tokens before the Talker can start
}


_FIT: tuple[dict[str, Any], dict[str, Any]] | None = None  # (the checked-in run, its fit)


def _fitted() -> dict[str, Any]:
    """Stage samples and transport of the checked-in run (see calibration.py), fitted once per run: every default
    Network and stage list reads it, and `calibration.write` replaces the run object."""
    global _FIT
    run = calibration_run()
    if _FIT is None or _FIT[0] is not run:
        _FIT = (run, fit_run(run))
    return _FIT[1]


def fit_run(run: dict[str, Any]) -> dict[str, Any]:
    """Stage samples and transport of a trimmed run (calibration.trim)."""
    clause = ASSUMED["first_clause_tokens"][0] * ASSUMED["token_ms"][0]
    legs = np.array(transport(run))
    jitter = max(1.0, float(np.std(legs)) / 2)  # each leg's spread; E|N(0, s)| = 0.8 s adds to its buffer
    return {"asr": tuple(segment(run, "ASR done")), "first_token": tuple(segment(run, "Thinker first token")),
            "tts_first": tuple(max(1.0, v - clause) for v in segment(run, "Talker first audio")),
            "jitter_ms": jitter, "buffer_ms": max(0.0, float(np.median(legs)) / 2 - 0.8 * jitter),
            "barge_buffer_ms": _barge_buffer(run, jitter)}


def _barge_buffer(run: dict[str, Any], jitter: float) -> float | None:
    """Each leg's buffer for a barge-in, from the run's barge-in trials (None without any: the turn's buffers).
    Why apart from the turn's: a turn's transport holds the client's playout buffer filling before the first reply
    audio sounds, while a barge-in's first sound goes up as soon as its packet is sent and the reply's silence is
    heard once the packets stop; on a quiet loopback the two differ by more than the model's tolerance. Measured
    onset-to-silence is the two legs, the hold block and where the sound fell in it (half a block on average)."""
    cuts = [float(c["onset_to_silence_ms"]) for c in run.get("barge_in", []) if c.get("onset_to_silence_ms")]
    if not cuts:
        return None
    return max(0.0, (float(np.median(cuts)) - 1.5 * Vad.hold_ms) / 2 - 0.8 * jitter)


@dataclass
class StageModel:
    """One step of the reply: `service` ms per unit of `scale` (None: per job) on `units` servers of `resource`.
    `segment` is the measured segment its time (queueing included) counts in; None means it runs after the first
    audio (rest of the reply): it loads the resource but adds no latency to this turn.

    lock: a model that serves one turn at a time on its host (the Thinker: one llama.cpp context, models/llama.py).
    A turn takes it, first come first served, before the first stage naming it and holds it to the end of the last
    one, stages in between included, while the work itself still shares `resource`. switch_ms (+ switch_ms_per_turn
    x the exchanges the session has had): extra work of the stage that takes the lock when another session held it
    last: the model's cache then holds another conversation, so this one's history is read again. release: give
    the lock back after this stage even though a later stage takes it again (the end-of-turn judgement and the
    answer are two requests): that one queues anew, and pays for a switch if another session took it meanwhile."""

    name: str
    service: Dist
    segment: str | None
    resource: str = "cpu"
    units: int = 1
    scale: str | None = None
    lock: str | None = None
    switch_ms: float = 0.0
    switch_ms_per_turn: float = 0.0
    release: bool = False

    def __post_init__(self) -> None:
        if self.segment is not None and self.segment not in SEGMENTS[1:4]:
            raise ValueError(f"stage {self.name!r}: segment must be one of {SEGMENTS[1:4]} or none, "
                             f"got {self.segment!r}")
        if self.units < 1:
            raise ValueError(f"stage {self.name!r}: units must be >= 1, got {self.units}")
        if self.scale not in SCALES:
            raise ValueError(f"stage {self.name!r}: scale must be one of {SCALES}, got {self.scale!r}")
        if min(self.switch_ms, self.switch_ms_per_turn) < 0 or (self.lock is None and
                                                                (self.switch_ms or self.switch_ms_per_turn)):
            raise ValueError(f"stage {self.name!r}: switch_ms and switch_ms_per_turn must be >= 0, and need a lock")


@dataclass
class Chunking:
    """Granularity of the work. asr_step_ms > 0 models a streaming ASR that has decoded all but the last partial
    step when speech ends (asr_audio_s = utterance mod step); 0 means it decodes the whole utterance at the end."""

    asr_step_ms: float = 0.0
    first_clause_tokens: Dist = field(default_factory=lambda: Normal(*ASSUMED["first_clause_tokens"]))
    reply_tokens: Dist = field(default_factory=lambda: LogNormal.from_median_p95(25.0, 60.0))
    tts_chunk_ms: float = 0.0  # audio per TTS chunk, for stages scaled by "tts_chunk_s"
    audio_ms_per_token: float = 250.0  # reply playback length per generated token


@dataclass
class Network:
    """Client <-> server path. Each direction adds rtt/2 + its buffer + |N(0, jitter)|; a lost first reply
    packet costs one packet's time (packet_ms: the next packet carries the audio) per loss."""

    rtt_ms: float = 0.0  # loopback, where the calibration run was measured (its time is in the buffers)
    jitter_ms: float = field(default_factory=lambda: _fitted()["jitter_ms"])
    loss: float = 0.0
    uplink_buffer_ms: float = field(default_factory=lambda: _fitted()["buffer_ms"])
    playout_buffer_ms: float = field(default_factory=lambda: _fitted()["buffer_ms"])
    packet_ms: float = 20.0  # Opus frames as the WebRTC transport sends them
    # each leg's buffer for a barge-in's first sound and the reply's silence (fit_run); None: the turn's buffers
    barge_buffer_ms: float | None = field(default_factory=lambda: _fitted()["barge_buffer_ms"])

    def __post_init__(self) -> None:
        if not 0 <= self.loss < 1:
            raise ValueError(f"network loss must be in [0, 1), got {self.loss}")
        if min(self.rtt_ms, self.jitter_ms, self.uplink_buffer_ms, self.playout_buffer_ms,
               0.0 if self.barge_buffer_ms is None else self.barge_buffer_ms) < 0:
            raise ValueError("network times must be >= 0")


@dataclass
class Vad:
    """Endpointing, as the runtime's VADOptions sets it: speculate at the first pause of speculate_ms (0: never),
    commit after hangover_ms, a new turn (and the work it cancels) after min_speech_ms; decisions fall on frame_ms
    boundaries (the speech detector's chunk). hold_ms: the block in which the user's first sound holds the reply
    (barge-in): the level onset's block when the runtime has one, else a detector chunk. commit_ms: with an
    end-of-turn detector, the wait after each real end before the turn is committed, drawn per turn (as `omnirt
    bench turns` measured it: `omnirt simulate --turns-from`); None: hangover_ms. cutoff_prob: the chance the
    detector cuts a turn off at a pause (counted, not replayed; `--turns-from` gives the bench's rate over requests
    with a pause, as if every turn paused)."""

    hangover_ms: float = float(VADOptions.hangover_ms)
    speculate_ms: float = float(VADOptions.speculate_ms)
    min_speech_ms: float = float(VADOptions.min_speech_ms)
    frame_ms: float = 1000.0 * CHUNK / SAMPLE_RATE
    hold_ms: float = 1000.0 * (BLOCK if VADOptions().level_onset is not None else CHUNK) / SAMPLE_RATE
    commit_ms: Dist | None = None
    cutoff_prob: float = 0.0

    def __post_init__(self) -> None:
        if self.frame_ms <= 0 or self.hangover_ms <= 0 or self.hold_ms <= 0 or \
                min(self.speculate_ms, self.min_speech_ms) < 0:
            raise ValueError("vad: frame_ms, hold_ms and hangover_ms must be > 0, speculate_ms and min_speech_ms "
                             ">= 0")
        if not 0 <= self.cutoff_prob <= 1:
            raise ValueError(f"vad cutoff_prob must be in [0, 1], got {self.cutoff_prob}")


@dataclass
class User:
    """Conversation behaviour. false_pause_prob: chance a turn has a mid-sentence pause longer than speculate_ms
    but shorter than the hangover (speculative work started and thrown away). starts_ms: when the sessions ask
    their first question, as a bench scheduled them (a run of a few turns a session is ruled by how close
    together its sessions began); empty: drawn uniformly in [0, start_spread_ms)."""

    utterance_ms: Dist = field(default_factory=lambda: LogNormal.from_median_p95(1800.0, 4000.0))
    think_ms: Dist = field(default_factory=lambda: LogNormal.from_median_p95(700.0, 2000.0))
    barge_in_prob: float = 0.1
    barge_in_at: Dist = field(default_factory=lambda: Uniform(0.1, 0.9))  # fraction of the reply heard
    false_pause_prob: float = 0.1
    start_spread_ms: float = 2000.0  # sessions start uniformly in [0, this)
    conversation_turns: int = 0  # a session's conversation starts afresh after this many turns (0: never)
    starts_ms: tuple[float, ...] = ()  # session i's first question at starts_ms[i] instead (a bench's schedule)

    def __post_init__(self) -> None:
        if self.conversation_turns < 0:
            raise ValueError(f"user conversation_turns must be >= 0, got {self.conversation_turns}")
        if any(t < 0 for t in self.starts_ms):
            raise ValueError(f"user starts_ms must be >= 0, got {self.starts_ms}")
        for name in ("barge_in_prob", "false_pause_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"user {name} must be in [0, 1], got {getattr(self, name)}")


def default_stages(fitted: dict[str, Any] | None = None) -> list[StageModel]:
    """The measured turns' own times, resampled (no shape assumed), with the assumed token split."""
    f = fitted or _fitted()
    token = LogNormal.from_median_p95(*ASSUMED["token_ms"])
    return [
        StageModel("asr", Empirical(f["asr"]), "ASR done"),
        StageModel("thinker prefill", Empirical(f["first_token"]), "Thinker first token"),
        StageModel("thinker first clause", token, "Talker first audio", scale="clause_tokens"),
        StageModel("tts first chunk", Empirical(f["tts_first"]), "Talker first audio"),
        StageModel("reply rest", token, None, scale="rest_tokens"),
    ]


@dataclass
class PipelineModel:
    """A whole deployment: `sessions` concurrent conversations over the stages and `resources` (name -> servers).
    shared: the resources whose servers every job present shares at once, as an OS shares its cores
    (sharing.py); the others serve first come, first served. background: servers' worth of steady work per session
    on a shared resource beside the stages (the audio of a connected session, its client on the same core);
    background_fixed: the same whatever the sessions (the machine's own services)."""

    stages: list[StageModel] = field(default_factory=default_stages)
    resources: dict[str, int] = field(default_factory=lambda: {"cpu": 2})
    chunking: Chunking = field(default_factory=Chunking)
    network: Network = field(default_factory=Network)
    vad: Vad = field(default_factory=Vad)
    user: User = field(default_factory=User)
    sessions: int = 1
    shared: tuple[str, ...] = ()
    background: dict[str, float] = field(default_factory=dict)
    background_fixed: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sessions < 1:
            raise ValueError(f"sessions must be >= 1, got {self.sessions}")
        if set(self.shared) - set(self.resources):
            raise ValueError(f"shared resources {sorted(set(self.shared) - set(self.resources))} are not among "
                             f"{sorted(self.resources)}")
        for name, steady in [*self.background.items(), *self.background_fixed.items()]:
            if name not in self.shared or steady < 0:
                raise ValueError(f"background {name!r}: must be a shared resource, and >= 0")
        for s in self.stages:
            if s.resource not in self.resources:
                raise ValueError(f"stage {s.name!r} needs resource {s.resource!r}, not in {sorted(self.resources)}")
            if s.units > self.resources[s.resource]:
                raise ValueError(f"stage {s.name!r} needs {s.units} units of {s.resource!r}, "
                                 f"which has {self.resources[s.resource]}")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        if not any(s.segment for s in self.stages):
            raise ValueError("the model needs at least one stage before the first audio")

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: "PipelineModel | None" = None) -> "PipelineModel":
        """Override `base` (default: default_embedded()) with the sections present in d; `stages`, if given,
        replaces the whole list."""
        base = base or default_embedded()
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown model section(s): {', '.join(sorted(unknown))}")
        kw: dict[str, Any] = {}
        if "stages" in d:
            kw["stages"] = [_stage(s) for s in d["stages"]]
        if "resources" in d:
            kw["resources"] = {str(k): _count(k, v) for k, v in dict(d["resources"]).items()}
        for name in ("chunking", "network", "vad", "user"):
            if name in d:
                kw[name] = _override(getattr(base, name), d[name], name)
        if "sessions" in d:
            kw["sessions"] = _count("sessions", d["sessions"])
        if "shared" in d:
            kw["shared"] = tuple(str(name) for name in d["shared"])
        for name in ("background", "background_fixed"):
            if name in d:
                kw[name] = {str(k): float(v) for k, v in dict(d[name]).items()}
        return replace(base, **kw)


def _stage(d: dict[str, Any]) -> StageModel:
    try:
        return StageModel(name=str(d["name"]), service=from_spec(d["service"]), segment=d.get("segment"),
                     resource=str(d.get("resource", "cpu")), units=int(d.get("units", 1)), scale=d.get("scale"),
                     lock=d.get("lock"), switch_ms=float(d.get("switch_ms", 0.0)),
                     switch_ms_per_turn=float(d.get("switch_ms_per_turn", 0.0)),
                     release=bool(d.get("release", False)))
    except KeyError as e:
        raise ValueError(f"a stage needs {e.args[0]!r}: {d!r}") from None


def _override(obj: Any, d: dict[str, Any], section: str) -> Any:
    names = {f.name: f for f in fields(obj)}
    unknown = set(d) - set(names)
    if unknown:
        raise ValueError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    kw = {}
    for k, v in d.items():
        current = getattr(obj, k)
        try:
            kw[k] = from_spec(v) if hasattr(current, "sample") else type(current)(v)
        except (TypeError, ValueError) as e:
            raise ValueError(f"[{section}] {k} = {v!r}: {e}") from None
    return replace(obj, **kw)


def _count(name: Any, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"resource {name!r}: the number of servers must be an integer, got {v!r}")
    return v


def default_embedded() -> PipelineModel:
    """One session of the embedded pipeline as the checked-in run measured it (calibration.py), endpointing as the
    runtime's defaults set it."""
    return PipelineModel()


def calibrated(run: dict[str, Any]) -> PipelineModel:
    """The default model with its stages and transport fitted to another run (calibration.trim of a
    `bench latency` JSON) instead of the checked-in one."""
    f = fit_run(run)
    return PipelineModel(stages=default_stages(f), network=Network(jitter_ms=f["jitter_ms"],
                                                                   uplink_buffer_ms=f["buffer_ms"],
                                                                   playout_buffer_ms=f["buffer_ms"],
                                                                   barge_buffer_ms=f["barge_buffer_ms"]))


def load_model(path: str | Path) -> PipelineModel:
    """A model from a TOML file whose sections override default_embedded()."""
    with open(path, "rb") as f:
        return PipelineModel.from_dict(tomllib.load(f))


__all__ = ["ASSUMED", "Chunking", "Fixed", "Network", "PipelineModel", "SEGMENTS", "StageModel", "User", "Vad",
           "calibrated", "default_embedded", "default_stages", "fit_run", "load_model"]
