"""Exactly one onnxruntime (the GPU build) and the execution providers that really work here."""

import importlib.metadata as md
import json
import subprocess
import sys

import pytest

from omnirt.models import onnx


def test_exactly_one_onnxruntime_distribution():
    names = sorted({d.metadata["Name"].lower() for d in md.distributions()
                    if (d.metadata["Name"] or "").lower().startswith("onnxruntime")})
    assert names == ["onnxruntime-gpu"], f"found {names}: a dependency dragged in another onnxruntime"


def test_providers_probe_says_which_run():
    rt = onnx.ort()
    working = onnx.probe_providers()
    print(f"\nlisted providers: {rt.get_available_providers()}\nworking providers: {list(working)}")
    assert working[-1] == onnx.CPU
    assert set(working) <= set(rt.get_available_providers())


def test_doctor_reports_the_same(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "doctor", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["onnxruntime_distributions"] == ["onnxruntime-gpu"]
    assert info["working_providers"] == list(onnx.probe_providers())
    assert "libcublas" not in proc.stderr  # the probe is quiet on a machine without CUDA


def _gpu_present() -> bool:
    """An NVIDIA GPU with a working driver, judged without onnxruntime."""
    import shutil
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    return subprocess.run([smi, "-L"], capture_output=True, timeout=30).returncode == 0


def test_the_probe_matches_the_machine():
    """CUDA is reported exactly when this machine has a working GPU (the device machine checks the other side)."""
    assert (onnx.CUDA in onnx.probe_providers()) == _gpu_present()


@pytest.mark.parametrize("session_providers, expected", [
    ([onnx.CUDA, onnx.CPU], (onnx.CUDA, onnx.CPU)),  # CUDA ran the probe model
    ([onnx.CPU], (onnx.CPU,)),  # listed, but onnxruntime fell back (no libcublas, no driver)
    (RuntimeError("CUDA failure 100: no CUDA-capable device"), (onnx.CPU,)),
])
def test_the_probe_believes_only_a_session_that_ran_on_cuda(monkeypatch, session_providers, expected):
    rt = onnx.ort()

    class Session:
        def __init__(self, *args, **kwargs):
            if isinstance(session_providers, Exception):
                raise session_providers

        def get_providers(self):
            return session_providers

    monkeypatch.delenv("OMNIRT_ONNX_PROVIDER", raising=False)
    monkeypatch.setattr(rt, "get_available_providers", lambda: [onnx.CUDA, onnx.CPU])
    monkeypatch.setattr(rt, "InferenceSession", Session)
    onnx.probe_providers.cache_clear()
    try:
        assert onnx.probe_providers() == expected
    finally:
        onnx.probe_providers.cache_clear()


def test_forced_cpu_provider(monkeypatch):
    monkeypatch.setenv("OMNIRT_ONNX_PROVIDER", "cpu")
    onnx.probe_providers.cache_clear()
    try:
        assert onnx.probe_providers() == (onnx.CPU,)
    finally:
        onnx.probe_providers.cache_clear()


@pytest.mark.models
def test_piper_plans_no_memory_per_input_shape():
    """onnxruntime's memory pattern keeps buffers for every input shape it has seen: a server synthesizing replies
    of every length grew for good. Piper's session has it off; others keep onnxruntime's default."""
    from omnirt.models import piper

    session = piper.PiperTalker.load().voice.session
    assert not session.get_session_options().enable_mem_pattern
    assert onnx.session(onnx._PROBE_MODEL).get_session_options().enable_mem_pattern
