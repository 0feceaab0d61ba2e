"""Silero VAD on plain onnxruntime: speech scores high, silence and noise low, state stays per instance."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from omnirt.models import assets
from omnirt.models.vad_silero import SileroVAD

pytestmark = pytest.mark.models
SR = SileroVAD.SAMPLE_RATE


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    """espeak-ng speech resampled to 16 kHz, with 0.5 s of silence on each side."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng CLI not installed")
    import soundfile as sf
    import soxr

    wav = tmp_path_factory.mktemp("vad") / "speech.wav"
    text = "Hello there. Please open the settings page and then click the submit button to finish your order."
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    audio, sr = sf.read(str(wav), dtype="float32")
    audio = soxr.resample(audio, sr, SR).astype(np.float32)
    pad = np.zeros(SR // 2, dtype=np.float32)
    return np.concatenate([pad, audio, pad])


def test_speech_scores_high_in_the_middle(speech):
    p = SileroVAD.load().probs(speech)
    assert p.shape == (-(-speech.size // 512),) and p.dtype == np.float32
    lead = SR // 2 // 512  # chunks of leading silence
    voiced = p[lead:-lead]
    n = voiced.size
    assert voiced[n // 4: 3 * n // 4].mean() > 0.8
    assert (voiced > 0.5).mean() > 0.7
    assert p[: lead - 2].mean() < 0.3 and p[-(lead - 4):].mean() < 0.3  # silence around it (allowing hangover)


def test_silence_and_noise_score_low():
    vad = SileroVAD.load()
    assert vad.probs(np.zeros(2 * SR, np.float32)).mean() < 0.3
    rng = np.random.default_rng(0)
    for level in (0.05, 0.3):
        noise = np.clip(rng.standard_normal(2 * SR) * level, -1, 1).astype(np.float32)
        assert vad.probs(noise).mean() < 0.3


def test_state_is_per_instance(speech):
    chunks = speech[: (speech.size // 512) * 512].reshape(-1, 512)
    alone = SileroVAD.load()
    ref = [alone.prob(c) for c in chunks]
    a, b = SileroVAD.load(), SileroVAD.load()
    rng = np.random.default_rng(1)
    got = []
    for c in chunks:
        got.append(a.prob(c))
        b.prob((rng.standard_normal(512) * 0.2).astype(np.float32))  # another stream in between
    assert got == ref
    a.reset()
    assert [a.prob(c) for c in chunks[:20]] == ref[:20]  # reset gives a fresh stream


def test_matches_upstream_wrapper(speech):
    """Same numbers as silero-vad's own (torch) OnnxWrapper, which is only a test reference."""
    pytest.importorskip("torch")
    utils_vad = pytest.importorskip("silero_vad.utils_vad")
    import torch

    ref_model = utils_vad.OnnxWrapper(str(assets.require("silero-vad") / "silero_vad.onnx"), force_onnx_cpu=True)
    chunks = speech[: 120 * 512].reshape(-1, 512)
    ref = np.array([ref_model(torch.from_numpy(c.copy()), SR).item() for c in chunks])
    vad = SileroVAD.load()
    assert np.abs(np.array([vad.prob(c) for c in chunks]) - ref).max() < 1e-5


def test_bad_input():
    vad = SileroVAD.load()
    for bad in (np.zeros(480, np.float32), np.zeros(1024, np.float32), np.zeros((2, 512), np.float32)):
        with pytest.raises(ValueError):
            vad.prob(bad)
    with pytest.raises(ValueError):
        vad.prob(np.zeros(512, np.int16))
    with pytest.raises(ValueError):
        vad.prob([0.0] * 512)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        vad.probs(np.zeros((2, 512), np.float32))


