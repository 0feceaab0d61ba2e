"""Whisper on onnxruntime: weight reader, front end, tokenizer, and transcription behaviour on real speech."""

from __future__ import annotations

import time
import json

import numpy as np
import pytest

from omnirt.models import assets
from omnirt.models.whisper import Transcription, WhisperOnnx, WhisperOptions
from omnirt.models.whisper.ct2 import read_ct2
from omnirt.models.whisper.mel import log_mel
from omnirt.models.whisper.tokenizer import WhisperTokenizer
from omnirt.tools.bench.asr import normalise, wer
from omnirt.tools.clips import SENTENCES, make_clips, read_audio

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def ct2():
    return read_ct2(assets.require("whisper-base-ct2") / "model.bin")


@pytest.fixture(scope="module")
def asr() -> WhisperOnnx:  # overrides the shared ear (conftest.py) with two intra-op threads
    return WhisperOnnx.load(WhisperOptions(intra_threads=2))


@pytest.fixture(scope="module")
def piper_clips() -> list[tuple[str, np.ndarray]]:
    return [(c.text, read_audio(c.path)) for c in make_clips(SENTENCES, ("piper",))]


def test_ct2_reader_shapes_and_alias(ct2) -> None:
    assert ct2.spec == "WhisperSpec"
    assert len(ct2.variables) == 212
    emb = ct2["decoder/embeddings/weight"]
    assert emb.shape == (51865, 512) and emb.dtype == np.float16
    assert ct2.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert ct2["decoder/projection/weight"] is emb  # tied output projection, stored once
    assert ct2["encoder/conv1/weight"].shape == (512, 80, 3)
    assert ct2["encoder/position_encodings/encodings"].shape == (1500, 512)
    assert ct2["decoder/layer_5/self_attention/linear_0/weight"].shape == (1536, 512)
    assert ct2["decoder/layer_0/attention/linear_1/weight"].shape == (1024, 512)
    assert int(ct2["decoder/num_heads"]) == 8
    qkv_bias = ct2.as_float32("encoder/layer_0/self_attention/linear_0/bias")
    assert qkv_bias.dtype == np.float32 and not qkv_bias[512:1024].any()  # Whisper's K projection has no bias
    assert qkv_bias[:512].any()


def test_ct2_reader_rejects_truncated_file(tmp_path) -> None:
    src = assets.require("whisper-base-ct2") / "model.bin"
    bad = tmp_path / "model.bin"
    with src.open("rb") as f:
        bad.write_bytes(f.read(100_000))
    with pytest.raises(ValueError, match="truncated"):
        read_ct2(bad)


def test_mel_equals_faster_whisper(piper_clips) -> None:
    from faster_whisper.feature_extractor import FeatureExtractor

    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(16000 * 3 + 77) * 0.1).astype(np.float32)
    for audio in (piper_clips[0][1], noise, np.zeros(400, np.float32)):
        ours, ref = log_mel(audio), FeatureExtractor()(audio)
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_tokenizer_matches_tokenizer_json() -> None:
    import tokenizers

    d = assets.require("whisper-base-ct2")
    ref = tokenizers.Tokenizer.from_file(str(d / "tokenizer.json"))
    tok = WhisperTokenizer.from_file(d / "vocabulary.txt")
    for text in (" Hello, world!", " Ça coûte 20 € — naïve", " 日本語 🎉", " it's 3:45 p.m."):
        ids = ref.encode(text, add_special_tokens=False).ids
        assert tok.decode(ids) == ref.decode(ids) == text
    assert tok.sot_sequence("en", timestamps=False) == [50258, 50259, 50359, 50363]
    assert tok.tokens[tok.timestamp_begin] == "<|0.00|>" and tok.tokens[tok.timestamp_end] == "<|30.00|>"
    assert tok.decode([tok.sot, tok.timestamp_begin + 5, *ref.encode(" ok").ids, tok.eot]) == " ok"
    with pytest.raises(ValueError, match="xx"):
        tok.language_id("xx")
    with pytest.raises(ValueError, match="no tokenizer.json"):
        tok.encode(" Hello")
    with pytest.raises(ValueError, match="cannot encode a context: .*missing"):
        WhisperTokenizer.from_file(d / "vocabulary.txt", d / "no-such-tokenizer.json").encode(" Hello")
    bpe = WhisperTokenizer.from_file(d / "vocabulary.txt", d / "tokenizer.json")
    for text in (" What is the capital of France? Paris.", " it's 3:45 p.m."):
        assert bpe.encode(text) == ref.encode(text, add_special_tokens=False).ids
    context = bpe.encode(" Paris.")
    prompt = bpe.sot_sequence("en", timestamps=False, context=context)
    assert prompt == [tok.sot_prev, *context, 50258, 50259, 50359, 50363] and bpe.head(prompt) == len(context) + 2
    long = bpe.sot_sequence("en", timestamps=True, context=list(range(1000)))
    assert long[1:-3] == list(range(1000 - 223, 1000))  # faster-whisper's cut: the last half of the decoder context


def test_default_options_transcribe_piper_speech(asr, piper_clips) -> None:
    refs, hyps = [], []
    for text, audio in piper_clips[:6]:
        result = asr.transcribe(audio)
        assert isinstance(result, Transcription)
        assert result.text == result.text.strip() and result.segments
        assert 0 <= result.segments[0].start < result.segments[-1].end <= result.duration + 0.5
        assert result.no_speech_prob < 0.5 and result.avg_logprob > -1.0
        assert result.encode_ms > 0 and result.decode_ms > 0
        refs.append(text)
        hyps.append(result.text)
    assert wer(refs, hyps) < 0.1, list(zip(refs, hyps))


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_no_speech_gives_empty_text(precision: str) -> None:
    asr = WhisperOnnx.load(WhisperOptions(precision=precision, intra_threads=2))
    rng = np.random.default_rng(0)
    # 2 s of digital silence decoded as " You" (as faster-whisper does) until silence was skipped undecoded.
    for audio in (np.zeros(16000 * 2, np.float32), np.zeros(16000 * 3, np.float32),
                  (rng.standard_normal(16000 * 5) * 0.1).astype(np.float32)):
        for context in ("", "What is the capital of France? The capital of France is Paris."):
            result = asr.transcribe(audio, context=context)  # (a context must not make words out of nothing)
            assert result.text == "" and result.segments == []
            assert result.no_speech_prob > 0.6


@pytest.mark.parametrize("bad", [
    np.zeros((2, 16000), np.float32),  # not mono
    np.zeros(16000, np.int16),  # integer PCM
    np.zeros(0, np.float32),  # empty
    np.array([0.0, np.nan, 0.0], np.float32),  # not finite
    [0.0] * 16000,  # not an array
])
def test_bad_input_raises_value_error(asr, bad) -> None:
    with pytest.raises(ValueError):
        asr.transcribe(bad)


def test_bad_options_raise_value_error() -> None:
    with pytest.raises(ValueError, match="precision"):
        WhisperOptions(precision="fp16")
    with pytest.raises(ValueError, match="language"):
        WhisperOnnx.load(WhisperOptions(language="xx"))


def test_token_cap_stops_decoding(piper_clips) -> None:
    text, audio = piper_clips[0]
    capped = WhisperOnnx.load(WhisperOptions(intra_threads=2, timestamps=False, max_tokens_per_second=0.5,
                                             token_margin=0)).transcribe(audio)
    limit = int(np.ceil(0.5 * len(audio) / 16000))
    assert 0 < len(capped.text.split()) <= limit < len(text.split())


def test_long_input_slides_windows_in_order(asr, piper_clips) -> None:
    """65 s of sentences with pauses: every sentence comes back, in order, with timestamps past 60 s."""
    flite = [(c.text, read_audio(c.path)) for c in make_clips(SENTENCES, ("flite",))]
    gap = np.zeros(12000, np.float32)
    parts, refs = [], []
    for text, audio in piper_clips + flite:
        if sum(len(p) for p in parts) >= 65 * 16000:
            break
        parts += [audio, gap]
        refs.append(text)
    audio = np.concatenate(parts)
    assert len(audio) >= 65 * 16000
    result = asr.transcribe(audio)
    assert wer([" ".join(refs)], [result.text]) < 0.1, result.text
    # Order: the longest word of each sentence appears after the previous sentence's.
    words = normalise(result.text).split()
    pos = -1
    for ref in refs:
        key = max(normalise(ref).split(), key=len)
        hits = [i for i, w in enumerate(words) if w == key and i > pos]
        assert hits, f"{key!r} of {ref!r} missing or out of order in {result.text!r}"
        pos = hits[0]
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts) and result.segments[-1].end > 60.0
    assert result.duration == pytest.approx(len(audio) / 16000)


def test_export_metadata_matches_graphs() -> None:
    from omnirt.models import onnx

    d = assets.require_export("whisper-base-onnx")
    meta = json.loads((d / "whisper.json").read_text())
    for name in ("encoder", "decoder", "encoder.int8", "decoder.int8"):
        sess = onnx.session(d / f"{name}.onnx", onnx.SessionOptions(intra_threads=1))
        part = name.split(".")[0]
        assert [i.name for i in sess.get_inputs()] == meta[part]["inputs"]
        assert [o.name for o in sess.get_outputs()] == meta[part]["outputs"]


def test_cancel_token_aborts_a_running_transcription(asr, piper_clips) -> None:
    import threading

    from omnirt.runtime.threads import Cancelled, CancelToken

    audio = piper_clips[0][1]
    token = CancelToken()
    threading.Timer(0.02, token.set).start()
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        asr.transcribe(audio, cancel=token)
    assert time.perf_counter() - t0 < 0.25
    assert asr.transcribe(audio, cancel=CancelToken()).text == asr.transcribe(audio).text  # unset: no effect


def test_a_transcript_that_echoes_its_context_is_made_again_without_it(asr) -> None:
    """eSpeak's short "Yes." after a question and its answer: read with them, Whisper writes the answer again
    ("The answer is triangle."); the recogniser hears it alone instead, as it did before contexts were read."""
    from omnirt.models.whisper.context import echoes
    from omnirt.models.whisper.mel import HOP, log_mel
    from omnirt.tools.clips import make_clip, read_audio

    before = "What do you call a shape with three sides? The answer is triangle."
    audio = read_audio(make_clip("Yes.", "espeak"))
    dec, s = asr._decoder, asr.settings()  # the window decoded with the context, before the decoder checks it
    mel, cap = dec.window_input(audio, log_mel(audio), 0, (len(audio) + HOP) // HOP - 1, s)
    prompt = dec.tok.sot_sequence("en", s.timestamps, asr.context_tokens(before))
    raw, _ = dec.window(dec.encode(mel), prompt, cap, s.timestamps, s)
    assert echoes(before, dec.tok.decode(raw.tokens))
    heard = asr.transcribe(audio, context=before)
    assert heard.text == asr.transcribe(audio).text and not echoes(before, heard.text)


@pytest.mark.parametrize("text, echo", [
    ("The answer is triangle.", True), ("What do you call a shape with three sides?", True),  # the context's words
    ("Yes. Yes. Yes. Yes.", True), ("Amen, amen, amen.", True), ("M-A-C-M-A-C-M-A-C", True),  # loops
    ("What do you call a shape with four sides?", False), ("Triangle.", False), ("Yes, yes.", False), ("", False),
])
def test_what_counts_as_an_echo_of_the_context(text, echo) -> None:
    from omnirt.models.whisper.context import echoes

    assert echoes("What do you call a shape with three sides? The answer is triangle.", text) is echo


def test_a_context_may_choose_among_the_words_heard_but_never_add_its_own() -> None:
    """kept(): a transcript holding a topic word of its context is compared with one made without the context; a
    word only the context gave ("in France?" after France's exchange, where the user paused after "in") is dropped
    with it; a word the audio gives alone too ("capital") keeps the context's choice ("of", not "on")."""
    from types import SimpleNamespace as T

    from omnirt.models.whisper.context import kept

    before = "What is the capital of France? The capital of France is Paris."
    calls = []

    def alone(text):
        return lambda: calls.append(text) or T(text=text)

    fragment = T(text="What is the tallest mountain in France?")
    heard = kept(before, fragment, alone("What is the tallest mountain in..."))
    assert heard.text == "What is the tallest mountain in..."
    spain = T(text="What is the capital of Spain?")
    assert kept(before, spain, alone("What is the capital on Spain?")) is spain
    other = T(text="How many legs does a spider have?")  # nothing of the context in it: no second decode
    assert kept(before, other, alone("How many lengths does a spider have?")) is other
    assert kept("", fragment, alone("x")) is fragment
    assert calls == ["What is the tallest mountain in...", "What is the capital on Spain?"]


def test_segment_times_are_held_within_the_input() -> None:
    """A closing timestamp the model put after the audio's end (seen: 4.0 s on a 3.31 s Piper clip, on one CPU and
    not another) is the input's end in the result; times inside it are kept as decoded."""
    from omnirt.models.whisper import transcription
    from omnirt.models.whisper.decoder import Decoded

    samples = int(3.3088125 * 16000)
    d = Decoded(segments=[(0.0, 2.0, " Please turn off the lights"), (2.0, 4.0, " in the kitchen.")])
    result = transcription(d, samples)
    assert [(s.start, s.end) for s in result.segments] == [(0.0, 2.0), (2.0, 3.309)]
    assert result.duration == samples / 16000 and result.text == "Please turn off the lights in the kitchen."
