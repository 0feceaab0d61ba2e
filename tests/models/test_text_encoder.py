"""Text encoder: the ONNX export matches sentence-transformers, and the runtime needs neither torch nor transformers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from omnirt.models import assets
from omnirt.models.text_encoder import DIM, TextEncoder, TextEncoderOptions

pytestmark = pytest.mark.models

SENTENCES = [
    "Hi",
    "click the submit button",
    "Settings",
    "open the settings page and turn on dark mode please",
    "The quick brown fox jumps over the lazy dog near the riverbank on a sunny afternoon while children play.",
    "émoji 🙂 and ünïcödé",
    "",
    "Next page",
    "Cancel the order right now, I changed my mind about the blue shoes.",
    "42",
]
LONG = "the window on the left shows the settings " * 40  # > 256 tokens: exercises truncation


@pytest.fixture(scope="module")
def reference():
    """sentence-transformers with torch: the ground truth the export must reproduce."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(assets.require("all-minilm-l6-v2")), device="cpu")
    return model


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder.load()


def test_batch_parity(encoder, reference):
    ref = reference.encode(SENTENCES, normalize_embeddings=True)
    got = encoder.encode(SENTENCES)
    assert got.shape == (len(SENTENCES), DIM) and got.dtype == np.float32
    assert np.abs(got - ref).max() < 1e-4
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_single_parity(encoder, reference):
    ref = reference.encode(SENTENCES, normalize_embeddings=True)
    for text, r in zip(SENTENCES, ref):
        (got,) = encoder.encode([text])
        assert np.abs(got - r).max() < 1e-4, text


def test_truncation_matches_reference_max_length(reference):
    """sentence-transformers truncates at 256 tokens for this model; the same limit gives the same vector."""
    assert reference.max_seq_length == 256
    ref = reference.encode([LONG], normalize_embeddings=True)
    long_enc = TextEncoder.load(TextEncoderOptions(max_length=256))
    assert np.abs(long_enc.encode([LONG]) - ref).max() < 1e-4
    short = TextEncoder.load().encode([LONG])  # default 128 tokens: a different (truncated) input
    assert np.abs(short - ref).max() > 1e-3


def test_best_match_ui_labels(encoder):
    labels = ["Cancel", "Submit", "Next page", "Settings"]
    idx, score = encoder.best_match("click the submit button", labels)
    assert labels[idx] == "Submit" and 0.5 < score <= 1.0
    for query, want in [("never mind, cancel that", "Cancel"), ("change my preferences", "Settings"),
                        ("continue to the next page", "Next page")]:
        assert labels[encoder.best_match(query, labels)[0]] == want, query
    sims = encoder.similarity("click the submit button", labels)
    assert sims.shape == (4,) and int(np.argmax(sims)) == idx


def test_empty_and_bad_input(encoder):
    out = encoder.encode([])
    assert out.shape == (0, DIM) and out.dtype == np.float32
    with pytest.raises(ValueError):
        encoder.encode("not a list")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        encoder.best_match("x", [])
    assert TextEncoder.load() is encoder  # cached


def test_runtime_imports_no_torch():
    code = (
        "import sys; from omnirt.models.text_encoder import TextEncoder\n"
        "v = TextEncoder.load().encode(['hello world'])\n"
        "assert v.shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
