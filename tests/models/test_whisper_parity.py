"""Our ONNX Whisper against its two references: the PyTorch model it was exported from, and faster-whisper.

The PyTorch comparison proves the export (same weights, same graph, within float tolerance); the faster-whisper
comparison proves the whole pipeline (mel, prompt, suppression, timestamp rules, greedy loop, detokenisation) by
transcript equality on real speech, fp32 on both sides and full 30 s windows as faster-whisper uses.
"""

from __future__ import annotations

import numpy as np
import pytest

from omnirt.models import assets
from omnirt.models.whisper import WhisperOnnx, WhisperOptions
from omnirt.models.whisper.mel import log_mel, pad_frames
from omnirt.tools.bench.asr import normalise
from omnirt.tools.clips import SENTENCES, make_clips, read_audio

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def clip_audio() -> list[tuple[str, str, np.ndarray]]:
    clips = make_clips(SENTENCES[:2], ("piper", "flite"))
    return [(c.voice, c.text, read_audio(c.path)) for c in clips]


@pytest.fixture(scope="module")
def torch_whisper():
    pytest.importorskip("torch")
    from omnirt.models.whisper.ct2 import read_ct2
    from omnirt.models.whisper.torch_model import load_whisper

    return load_whisper(read_ct2(assets.require("whisper-base-ct2") / "model.bin"))


@pytest.fixture(scope="module")
def faster_whisper_fp32():
    fw = pytest.importorskip("faster_whisper")
    return fw.WhisperModel(str(assets.require("whisper-base-ct2")), device="cpu", compute_type="float32",
                           cpu_threads=2)


def test_onnx_encoder_matches_pytorch(torch_whisper, clip_audio) -> None:
    import torch

    from omnirt.models.whisper.torch_model import WhisperEncoderCross

    mel = pad_frames(log_mel(clip_audio[0][2]), 3000)[None]
    with torch.no_grad():
        ref_k, ref_v = (t.numpy() for t in WhisperEncoderCross(torch_whisper)(torch.from_numpy(mel)))
    asr = WhisperOnnx.load(WhisperOptions(precision="fp32", intra_threads=2))
    k, v = (o.numpy() for o in asr._decoder.encode(mel[0]))
    assert k.shape == ref_k.shape == (6, 1, 8, 1500, 64)
    assert np.abs(k - ref_k).max() < 1e-3
    assert np.abs(v - ref_v).max() < 1e-3


def test_onnx_decoder_step_matches_pytorch(torch_whisper, clip_audio) -> None:
    """Prompt then one cached step, on a shortened (1000-frame) window: exercises every dynamic axis."""
    import torch

    from omnirt.models.whisper.torch_model import WhisperDecoderStep, WhisperEncoderCross

    mel = pad_frames(log_mel(clip_audio[1][2]), 1000)
    asr = WhisperOnnx.load(WhisperOptions(precision="fp32", intra_threads=2))
    dec = asr._decoder
    cross = dec.encode(mel)
    empty = np.zeros(dec.cache_shape, dtype=np.float32)
    logits1, cache = dec._step([50258, 50259, 50359], (dec._ortvalue(empty), dec._ortvalue(empty)), cross)
    token = int(np.argmax(logits1))
    logits2, cache = dec._step([token], cache, cross)
    with torch.no_grad():
        ck, cv = WhisperEncoderCross(torch_whisper)(torch.from_numpy(mel[None]))
        step = WhisperDecoderStep(torch_whisper)
        e = torch.zeros(dec.cache_shape)
        r1, k, v = step(torch.tensor([[50258, 50259, 50359]]), e, e, ck, cv)
        r2, k, v = step(torch.tensor([[token]]), k, v, ck, cv)
    assert cache[0].shape() == list(k.shape) == [6, 1, 8, 4, 64]
    assert r1.shape == (1, 3, logits1.shape[0])  # every position's logits; the step keeps the last
    assert np.abs(logits1 - r1.numpy()[0, -1]).max() < 1e-3
    assert np.abs(logits2 - r2.numpy()[0, -1]).max() < 1e-3
    assert int(np.argmax(r1.numpy()[0, -1])) == token
    every, _ = dec.step_all(np.array([[50258, 50259, 50359]]), (dec._ortvalue(empty), dec._ortvalue(empty)), cross)
    assert np.abs(every - r1.numpy()).max() < 1e-3


@pytest.mark.parametrize("timestamps", [True, False])
def test_transcripts_equal_faster_whisper(faster_whisper_fp32, clip_audio, timestamps: bool) -> None:
    asr = WhisperOnnx.load(WhisperOptions(precision="fp32", intra_threads=2, timestamps=timestamps,
                                          min_window_s=30.0))
    chosen = clip_audio if timestamps else clip_audio[::2]
    for voice, _, audio in chosen:
        segments, _ = faster_whisper_fp32.transcribe(audio, language="en", beam_size=1, temperature=0.0,
                                                     vad_filter=False, without_timestamps=not timestamps)
        ref = "".join(s.text for s in segments).strip()
        ours = asr.transcribe(audio).text
        assert ref, f"faster-whisper heard nothing in a {voice} clip"
        assert normalise(ours) == normalise(ref), f"{voice}: ours {ours!r} != faster-whisper {ref!r}"


def test_a_context_is_read_as_faster_whisper_reads_an_initial_prompt(faster_whisper_fp32) -> None:
    """The conversation's last exchange ahead of the audio (<|startofprev|> ... <|startoftranscript|>): the same
    transcript as faster-whisper given it as initial_prompt, where alone the voice's "of" is heard as "on"."""
    from omnirt.tools.clips import make_clip, read_audio

    asr = WhisperOnnx.load(WhisperOptions(precision="fp32", intra_threads=2, min_window_s=30.0, doubt_beam=0))
    before = "What is the capital of France? The capital of France is Paris."
    audio = read_audio(make_clip("What is the capital of Spain?", "espeak"))
    segments, _ = faster_whisper_fp32.transcribe(audio, language="en", beam_size=1, temperature=0.0,
                                                 vad_filter=False, initial_prompt=before)
    ref = "".join(s.text for s in segments).strip()
    ours, alone = asr.transcribe(audio, context=before), asr.transcribe(audio)
    assert ours.text == ref, f"ours {ours.text!r} != faster-whisper {ref!r}"
    assert alone.text == "What is the capital on Spain?"  # (the context was read, not dropped)
