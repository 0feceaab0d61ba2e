"""onnxruntime sessions: one place that imports onnxruntime, picks the execution provider and caches sessions.

onnxruntime-gpu lists CUDAExecutionProvider even on a machine without a GPU and then logs a loud error when asked
for it. So the provider is decided once, by creating a tiny session quietly with CUDA and seeing which provider
actually runs; every later session uses that answer. OMNIRT_ONNX_PROVIDER=cpu|cuda overrides the probe.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class OnnxRuntimeMissingError(RuntimeError):
    pass


def ort() -> Any:
    """Import onnxruntime lazily, with a one-line error that names the fix."""
    try:
        import onnxruntime
    except ImportError:
        raise OnnxRuntimeMissingError("onnxruntime is not installed: run `make setup` (installs onnxruntime-gpu)"
                                      ) from None
    return onnxruntime


@dataclass(frozen=True)
class SessionOptions:
    """Knobs for one inference session.

    intra_threads: threads inside one operator; 0 lets onnxruntime choose (all cores). Stages that run beside
        others (VAD beside ASR) should ask for 1.
    provider: "auto" uses the probed provider (CUDA when it really works, else CPU); "cpu" or "cuda" force one.
    spin: let the intra-op threads busy-wait for more work after each run (onnxruntime's default). Off here: in a
        voice session the next thing to run after an encoder is llama.cpp or Piper on the same few cores, and
        spinning threads take those cores from it. The env var OMNIRT_ONNX_SPIN=1 turns it back on.
    mem_pattern: let onnxruntime plan each run's memory from the runs before it (its default). The plan is kept per
        input shape, each with buffers of its own in the arena that are never given back: off for a model whose
        input length varies without bound and that gains nothing from it (Piper: a server grew with every new reply
        length, at the same speed without it). Whisper keeps it (its shapes are bounded, and it ran faster with it).
    """

    intra_threads: int = 0
    provider: str = "auto"
    spin: bool = os.environ.get("OMNIRT_ONNX_SPIN") == "1"
    mem_pattern: bool = True


_PROBE_MODEL = Path(__file__).with_name("data") / "identity.onnx"  # one Identity node, made by tools/make_probe.py


@functools.lru_cache(maxsize=1)
def probe_providers() -> tuple[str, ...]:
    """The providers that really run here, best first: ('CUDAExecutionProvider', 'CPUExecutionProvider') or CPU."""
    forced = os.environ.get("OMNIRT_ONNX_PROVIDER", "").lower()
    if forced == "cpu":
        return (CPU,)
    rt = ort()
    if CUDA not in rt.get_available_providers():
        return (CPU,)
    so = rt.SessionOptions()
    so.log_severity_level = 4  # silence the "cannot load libcublas" error a GPU-less machine prints
    rt.set_default_logger_severity(4)
    try:
        sess = rt.InferenceSession(str(_PROBE_MODEL), sess_options=so, providers=[CUDA, CPU])
        works = CUDA in sess.get_providers()
    except Exception:  # noqa: BLE001 - any failure means CUDA does not run here
        works = False
    finally:
        rt.set_default_logger_severity(2)
    return (CUDA, CPU) if works else (CPU,)


def providers_for(option: str) -> list[str]:
    if option == "cpu":
        return [CPU]
    if option == "cuda":
        return [CUDA, CPU]
    return list(probe_providers())


@functools.lru_cache(maxsize=32)
def _cached_session(path: str, mtime: float, options: SessionOptions) -> Any:
    rt = ort()
    so = rt.SessionOptions()
    so.intra_op_num_threads = options.intra_threads
    so.inter_op_num_threads = 1
    if not options.spin:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    so.enable_mem_pattern = options.mem_pattern
    so.graph_optimization_level = rt.GraphOptimizationLevel.ORT_ENABLE_ALL
    return rt.InferenceSession(path, sess_options=so, providers=providers_for(options.provider))


def session(path: str | Path, options: SessionOptions = SessionOptions()) -> Any:
    """A cached InferenceSession for an .onnx file (reloaded if the file changes)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"ONNX file not found: {p}")
    return _cached_session(str(p), p.stat().st_mtime, options)


def provider_of(sess: Any) -> str:
    """'cuda' or 'cpu': the provider that runs a session's first node."""
    return "cuda" if sess.get_providers()[0] == CUDA else "cpu"
