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

from .distributions import Dist, Fixed, LogNormal, Normal, Uniform, from_spec

# The measured segments of a turn, in order (runtime/observers.py SEGMENTS); "held for commit" is computed.
SEGMENTS = ("end of speech detected", "ASR done", "Thinker first token", "Talker first audio", "held for commit")
SCALES = (None, "clause_tokens", "rest_tokens", "asr_audio_s", "tts_chunk_s")

# Calibration of default_embedded(): medians/p95 measured by `omnirt bench reply` on the 2-core CPU machine
# (12 turns, Thinker 0.5b on 2 threads, Piper voice, speculation at 160 ms): ASR done 124/183 ms,
# Thinker first token 129/143 ms, Talker first audio 280/359 ms, hangover 400 ms; and the WebRTC transport measured
# in /work/shared/HARNESS.md: ~128 ms (sd 11) from the server's reply to the page's audio graph (~65 ms in the
# aiortc receiver, 50-65 ms Chromium jitter buffer). The split of "Talker first audio" into first-clause tokens
# x per-token time + TTS first chunk is an assumption (only their sum was measured), as are the user behaviour
# numbers (utterance, think time, barge-in rate, reply length).
MEASURED = {
    "asr_ms": (124.0, 183.0),  # (median, p95)
    "thinker_first_token_ms": (129.0, 143.0),
    "token_ms": (18.0, 24.0),  # per generated token (assumed split, see above)
    "first_clause_tokens": (7.0, 2.0),  # (mean, sd) tokens before the Talker can start
    "tts_first_chunk_ms": (154.0, 235.0),  # 7 x 18 + 154 ~ 280 ms median "Talker first audio"
    # transport: buffers chosen so rtt 2 + 58 + 55 + 2 x E|N(0, 8)| ~ 128 ms, the measured total
    "uplink_buffer_ms": 58.0,
    "playout_buffer_ms": 55.0,
    "jitter_ms": 8.0,  # per direction
    "hangover_ms": 400.0,
    "speculate_ms": 160.0,
    "min_speech_ms": 250.0,
    "frame_ms": 20.0,
}


@dataclass
class Stage:
    """One step of the reply: `service` ms per unit of `scale` (None: per job) on `units` servers of `resource`.
    `segment` is the measured segment its time (queueing included) counts in; None means it runs after the first
    audio (rest of the reply): it loads the resource but adds no latency to this turn."""

    name: str
    service: Dist
    segment: str | None
    resource: str = "cpu"
    units: int = 1
    scale: str | None = None

    def __post_init__(self) -> None:
        if self.segment is not None and self.segment not in SEGMENTS[1:4]:
            raise ValueError(f"stage {self.name!r}: segment must be one of {SEGMENTS[1:4]} or none, "
                             f"got {self.segment!r}")
        if self.units < 1:
            raise ValueError(f"stage {self.name!r}: units must be >= 1, got {self.units}")
        if self.scale not in SCALES:
            raise ValueError(f"stage {self.name!r}: scale must be one of {SCALES}, got {self.scale!r}")


@dataclass
class Chunking:
    """Granularity of the work. asr_step_ms > 0 models a streaming ASR that has decoded all but the last partial
    step when speech ends (asr_audio_s = utterance mod step); 0 means it decodes the whole utterance at the end."""

    asr_step_ms: float = 0.0
    first_clause_tokens: Dist = field(default_factory=lambda: Normal(*MEASURED["first_clause_tokens"]))
    reply_tokens: Dist = field(default_factory=lambda: LogNormal.from_median_p95(25.0, 60.0))
    tts_chunk_ms: float = 0.0  # audio per TTS chunk, for stages scaled by "tts_chunk_s"
    audio_ms_per_token: float = 250.0  # reply playback length per generated token


@dataclass
class Network:
    """Client <-> server path. Each direction adds rtt/2 + its buffer + |N(0, jitter)|; a lost first reply
    packet costs one frame (the next packet carries the audio) per loss."""

    rtt_ms: float = 2.0  # loopback
    jitter_ms: float = MEASURED["jitter_ms"]
    loss: float = 0.0
    uplink_buffer_ms: float = MEASURED["uplink_buffer_ms"]
    playout_buffer_ms: float = MEASURED["playout_buffer_ms"]

    def __post_init__(self) -> None:
        if not 0 <= self.loss < 1:
            raise ValueError(f"network loss must be in [0, 1), got {self.loss}")
        if min(self.rtt_ms, self.jitter_ms, self.uplink_buffer_ms, self.playout_buffer_ms) < 0:
            raise ValueError("network times must be >= 0")


@dataclass
class Vad:
    """Endpointing: speculate at the first pause of speculate_ms (0: never), commit after hangover_ms; onset (and
    barge-in) after min_speech_ms; decisions fall on frame_ms boundaries."""

    hangover_ms: float = MEASURED["hangover_ms"]
    speculate_ms: float = MEASURED["speculate_ms"]
    min_speech_ms: float = MEASURED["min_speech_ms"]
    frame_ms: float = MEASURED["frame_ms"]

    def __post_init__(self) -> None:
        if self.frame_ms <= 0 or self.hangover_ms <= 0 or min(self.speculate_ms, self.min_speech_ms) < 0:
            raise ValueError("vad: frame_ms and hangover_ms must be > 0, speculate_ms and min_speech_ms >= 0")


@dataclass
class User:
    """Conversation behaviour. false_pause_prob: chance a turn has a mid-sentence pause longer than speculate_ms
    but shorter than the hangover (speculative work started and thrown away)."""

    utterance_ms: Dist = field(default_factory=lambda: LogNormal.from_median_p95(1800.0, 4000.0))
    think_ms: Dist = field(default_factory=lambda: LogNormal.from_median_p95(700.0, 2000.0))
    barge_in_prob: float = 0.1
    barge_in_at: Dist = field(default_factory=lambda: Uniform(0.1, 0.9))  # fraction of the reply heard
    false_pause_prob: float = 0.1
    start_spread_ms: float = 2000.0  # sessions start uniformly in [0, this)

    def __post_init__(self) -> None:
        for name in ("barge_in_prob", "false_pause_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"user {name} must be in [0, 1], got {getattr(self, name)}")


def default_stages() -> list[Stage]:
    m = MEASURED
    token = LogNormal.from_median_p95(*m["token_ms"])
    return [
        Stage("asr", LogNormal.from_median_p95(*m["asr_ms"]), "ASR done"),
        Stage("thinker prefill", LogNormal.from_median_p95(*m["thinker_first_token_ms"]), "Thinker first token"),
        Stage("thinker first clause", token, "Talker first audio", scale="clause_tokens"),
        Stage("tts first chunk", LogNormal.from_median_p95(*m["tts_first_chunk_ms"]), "Talker first audio"),
        Stage("reply rest", token, None, scale="rest_tokens"),
    ]


@dataclass
class PipelineModel:
    """A whole deployment: `sessions` concurrent conversations over the stages and `resources` (name -> servers)."""

    stages: list[Stage] = field(default_factory=default_stages)
    resources: dict[str, int] = field(default_factory=lambda: {"cpu": 2})
    chunking: Chunking = field(default_factory=Chunking)
    network: Network = field(default_factory=Network)
    vad: Vad = field(default_factory=Vad)
    user: User = field(default_factory=User)
    sessions: int = 1

    def __post_init__(self) -> None:
        if self.sessions < 1:
            raise ValueError(f"sessions must be >= 1, got {self.sessions}")
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
        return replace(base, **kw)


def _stage(d: dict[str, Any]) -> Stage:
    try:
        return Stage(name=str(d["name"]), service=from_spec(d["service"]), segment=d.get("segment"),
                     resource=str(d.get("resource", "cpu")), units=int(d.get("units", 1)), scale=d.get("scale"))
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
    """One session of the embedded pipeline on this 2-core machine (numbers: MEASURED above)."""
    return PipelineModel()


def load_model(path: str | Path) -> PipelineModel:
    """A model from a TOML file whose sections override default_embedded()."""
    with open(path, "rb") as f:
        return PipelineModel.from_dict(tomllib.load(f))


__all__ = ["Chunking", "Fixed", "MEASURED", "Network", "PipelineModel", "SEGMENTS", "Stage", "User", "Vad",
           "default_embedded", "default_stages", "load_model"]
