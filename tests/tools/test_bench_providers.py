"""`omnirt bench providers`: the float16 packing round trip and the CPU column, on this machine (no GPU needed)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")

from omnirt.models import onnx as ort_helpers  # noqa: E402
from omnirt.tools.bench import providers  # noqa: E402

pytestmark = pytest.mark.models  # packs the installed Whisper export


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pack")
    providers.pack(folder)
    return folder, providers._unpacked(folder, folder / "fp32")


def test_pack_halves_whisper_and_keeps_its_outputs(packed):
    folder, files = packed
    original = providers._installed()
    assert set(files) >= {"whisper-encoder", "whisper-decoder", "silero-vad", "ocr-det", "ocr-rec"}
    packed_size = (folder / f"whisper-encoder{providers.F16_SUFFIX}").stat().st_size
    assert packed_size < 0.55 * original["whisper-encoder"].stat().st_size
    mel = np.random.default_rng(1).standard_normal((1, 80, 1000)).astype(np.float32) * 0.5
    so = ort_helpers.SessionOptions(provider="cpu")
    ref = ort_helpers.session(original["whisper-encoder"], so).run(None, {"mel": mel})
    got = ort_helpers.session(files["whisper-encoder"], so).run(None, {"mel": mel})
    # Whisper's weights come from a float16 CTranslate2 model, so storing them as float16 loses nothing.
    assert providers._diff(ref, got) < 1e-4


def test_cpu_rows_and_cuda_status(packed):
    _, files = packed
    cuda, status = providers._cuda_status()
    rows = providers.bench_models({"silero-vad": files["silero-vad"]}, runs=2, threads=1, cuda=cuda, log=print)
    assert [r.shape for r in rows] == ["32 ms chunk"]
    assert rows[0].cpu_ms["p50"] > 0
    assert ("CUDA provider works" in status) == cuda
    if not cuda:
        assert rows[0].cuda_ms == {} and rows[0].max_abs_diff is None
