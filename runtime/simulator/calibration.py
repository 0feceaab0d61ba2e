"""Where the simulator's default numbers come from: one measured run of the live runtime, checked in beside this file.

`omnirt simulate --calibrate-from RUN.json` keeps what the simulator needs from an `omnirt bench latency` run (each
turn's server segments and its voice-to-voice at the client, the barge-in trials, the settings the server ran with
and the CPU probe) in `data/calibration-run.json`. `default_embedded()` fits its stages and transport to that run,
and the endpointing knobs are read from the runtime's own `VADOptions`. So a change of the runtime's defaults is
followed by a fresh run and this file, not by editing numbers here; a test fails when the run's settings and the
runtime's defaults disagree.

Pure data handling, no I/O beyond reading and writing that file.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

RUN = Path(__file__).with_name("data") / "calibration-run.json"

# What a run records about the server it measured (tools/bench/latency.py) and the simulator needs to know.
SETTINGS = ("client", "vision", "camera", "hangover_ms", "speculate_ms", "thinker", "thinker_threads",
            "thinker_batch_threads", "cpu_probe_ms", "idle_sessions")


class CalibrationError(ValueError):
    """A run that cannot calibrate the simulator; the message says what is missing."""


def trim(run: dict[str, Any], source: str = "") -> dict[str, Any]:
    """The parts of a `bench latency` JSON the simulator uses (a single-arm run: no --camera both, no --peer)."""
    if "arms" in run:
        raise CalibrationError("a run with several arms (--camera both or --peer): calibrate on a plain run")
    if run.get("bench") != "latency" or not isinstance(run.get("turns"), list):
        raise CalibrationError("not an `omnirt bench latency` JSON (no 'turns')")
    try:
        turns = [{"segments": {k: float(v) for k, v in t["server"]["segments"].items()},
                  "server_total": float(t["server"]["total"]), "voice_to_voice_ms": float(t["voice_to_voice_ms"])}
                 for t in run["turns"] if t.get("server") and t.get("voice_to_voice_ms")]
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise CalibrationError(f"a turn of the run is malformed ({type(err).__name__}: {err})") from None
    if len(turns) < 3:
        raise CalibrationError(f"need at least 3 turns timed at both ends, the run has {len(turns)} "
                               "(the aiortc client reports the server's segments; Chromium's does not)")
    barge = [{k: c[k] for k in ("onset_to_silence_ms", "vad_onset_to_silence_ms") if k in c}
             for c in run.get("barge_in", []) if c.get("onset_to_silence_ms") is not None]
    return {"source": source, "settings": {k: run.get(k) for k in SETTINGS}, "turns": turns, "barge_in": barge}


def write(run: dict[str, Any], source: str, path: Path = RUN) -> dict[str, Any]:
    kept = trim(run, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept, indent=1) + "\n")
    calibration_run.cache_clear()
    return kept


@functools.lru_cache(maxsize=1)
def calibration_run() -> dict[str, Any]:
    """The checked-in run (see the module docstring)."""
    return json.loads(RUN.read_text())


def segment(run: dict[str, Any], name: str) -> list[float]:
    return [float(t["segments"][name]) for t in run["turns"]]


def transport(run: dict[str, Any]) -> list[float]:
    """Client voice-to-voice minus the server's own time: both network legs and both audio buffers."""
    return [float(t["voice_to_voice_ms"] - t["server_total"]) for t in run["turns"]]
