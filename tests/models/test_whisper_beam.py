"""Beam search over the exported decoder: its batch axis, its reduction to greedy, and what it is for."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from omnirt.models.whisper import WhisperOnnx, WhisperOptions
from omnirt.models.whisper.beam import _step, beam_window
from omnirt.models.whisper.decoder import compression_ratio
from omnirt.models.whisper.mel import log_mel, pad_frames
from omnirt.tools.bench.asr import wer
from omnirt.tools.bench.asr_corpus import degrade
from omnirt.tools.clips import SENTENCES, make_clips, read_audio

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def greedy() -> WhisperOnnx:
    return WhisperOnnx.load(WhisperOptions(intra_threads=2, doubt_beam=0))


@pytest.fixture(scope="module")
def clips() -> dict[str, list[tuple[str, np.ndarray]]]:
    return {v: [(c.text, read_audio(c.path)) for c in make_clips(SENTENCES, (v,))] for v in ("piper", "espeak")}


def _window(asr: WhisperOnnx, audio: np.ndarray):
    dec, s = asr._decoder, asr.options.settings()
    mel = log_mel(audio)
    return dec, dec.encode(pad_frames(mel, dec.window_frames(mel.shape[1], s))), dec.tok.sot_sequence("en", True)


def test_the_decoder_runs_hypotheses_as_one_batch(greedy, clips) -> None:
    dec, cross, prompt = _window(greedy, clips["piper"][0][1])
    empty = np.zeros(dec.cache_shape, np.float32)
    single, (k, v) = dec._step(prompt, (dec._ortvalue(empty), dec._ortvalue(empty)), cross)
    k, v = k.numpy(), v.numpy()
    nxt = int(np.argmax(single))
    one, _ = dec._step([nxt], (dec._ortvalue(k), dec._ortvalue(v)), cross)
    two, (k2, _) = _step(dec, np.array([[nxt], [nxt]]), (np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1)), cross, None)
    assert two.shape == (2, one.shape[0]) and k2.shape[1] == 2
    np.testing.assert_allclose(two[0], one, atol=1e-3)
    np.testing.assert_allclose(two[1], one, atol=1e-3)


def test_a_beam_of_one_is_greedy(greedy, clips) -> None:
    for _, audio in clips["piper"][:3] + clips["espeak"][:3]:
        dec, cross, prompt = _window(greedy, audio)
        g = dec.decode_window(cross, prompt, 60, True)
        b = beam_window(dec, cross, prompt, 60, True, beam=1)
        assert b.tokens == g.tokens and abs(b.sum_logprob - g.sum_logprob) < 1e-3


def test_a_beam_of_five_hears_robotic_speech_no_worse(greedy, clips) -> None:
    beam = WhisperOnnx.load(WhisperOptions(intra_threads=2, beam_size=5))
    refs = [t for t, _ in clips["espeak"]]
    by_greedy = [greedy.transcribe(a).text for _, a in clips["espeak"]]
    by_beam = [beam.transcribe(a).text for _, a in clips["espeak"]]
    print(f"\n[beam] espeak WER greedy {wer(refs, by_greedy):.3f}, beam 5 {wer(refs, by_beam):.3f}")
    assert wer(refs, by_beam) <= wer(refs, by_greedy), list(zip(refs, by_greedy, by_beam))
    assert beam.transcribe(np.zeros(16000 * 3, np.float32)).text == ""  # silence stays silence


def test_a_beam_out_of_range_is_refused() -> None:
    for bad in (0, 17):
        with pytest.raises(ValueError, match="beam_size"):
            WhisperOptions(beam_size=bad)
    with pytest.raises(ValueError, match="doubt_beam"):
        WhisperOptions(doubt_beam=1)
    for bad in (0, 31):
        with pytest.raises(ValueError, match="beam_window_s"):
            WhisperOptions(beam_window_s=bad)


def test_a_beam_searches_a_full_window_and_greedy_a_short_one(greedy) -> None:
    """A 3 s question: greedy decoding encodes min_window_s, a beam asked for encodes beam_window_s (30 s)."""
    dec, s = greedy._decoder, WhisperOptions(beam_size=5).settings()
    assert dec.window_frames(300, s) == 1000 and dec.window_frames(300, s, beam=True) == 3000
    mel, _ = dec.window_input(np.zeros(16000 * 3, np.float32), None, 0, 300, s, beam=True)
    assert mel.shape == (80, 3000)


def test_only_doubtful_windows_are_searched_again(greedy, clips) -> None:
    """The default (greedy, a beam of 5 where greedy is unsure): clean speech costs nothing more and is heard as
    greedy hears it; a doubtful window is heard as the beam hears it; a draft (a partial) is never searched."""
    default = WhisperOnnx.load(WhisperOptions(intra_threads=2))
    same_window = default.options.min_window_s  # the doubt beam searches the greedy window's encoder output
    beam = WhisperOnnx.load(WhisperOptions(intra_threads=2, beam_size=5, beam_window_s=same_window))
    threshold = default.options.doubt_logprob
    doubted = 0
    phone = [soxr.resample(degrade(a, 16000, "tel8k")[0], 8000, 16000).astype(np.float32) for _, a in clips["espeak"]]
    for audio in [a for _, a in clips["piper"][:4]] + phone:
        plain, result = greedy.transcribe(audio), default.transcribe(audio)
        assert default.transcribe(audio, draft=True).text == plain.text
        if plain.avg_logprob >= threshold:
            assert result.doubted == 0 and result.text == plain.text
        else:
            doubted += 1
            assert result.doubted == 1 and result.text == beam.transcribe(audio).text
    assert doubted  # the espeak clips hold doubtful windows (if not, this test no longer tests the search)


def test_the_last_word_s_log_probability_is_read_alike_by_greedy_and_beam_decoding(greedy, clips) -> None:
    dec, cross, prompt = _window(greedy, clips["piper"][0][1])
    g = dec.decode_window(cross, prompt, 64, True)
    b = beam_window(dec, cross, prompt, 64, True, 1)
    assert b.tokens == g.tokens and np.allclose(b.token_logprobs, g.token_logprobs, atol=1e-3)
    text = [i for i, t in enumerate(g.tokens) if t < dec.tok.eot]
    first = max(i for i in text if dec.tok.decode([g.tokens[i]])[:1] == " ")  # the last word's first token
    assert dec.end_logprob(g) == pytest.approx(sum(g.token_logprobs[i] for i in text if i >= first))
    assert -0.75 < dec.end_logprob(g) < 0  # a clean clip's last word: sure (no check after a cut)
    unknown = type(g)(g.tokens, g.no_speech_prob, g.sum_logprob, g.avg_logprob)  # no per-token figures
    assert dec.end_logprob(unknown) == float("-inf")


def test_a_confident_repetition_loop_is_searched_again(clips, monkeypatch) -> None:
    """Greedy decoding of garbled speech can loop with confidence (a phone-line "Add tomatoes to my shopping list."
    came out as "Aston Martin,ston Martin, ..." x8); its average log-probability does not flag it, its text does."""
    default = WhisperOnnx.load(WhisperOptions(intra_threads=2))
    dec = default._decoder
    audio = clips["piper"][0][1]
    real = default.transcribe(audio)
    assert real.doubted == 0 and not dec.loops(dec.decode_window(*_window(default, audio)[1:], 60, True),
                                               default.options.settings())
    words = [t for t in real.tokens if t < dec.tok.eot]
    stamps = [t for t in real.tokens if t > dec.tok.eot]
    loop = type(dec.decode_window(*_window(default, audio)[1:], 60, True))(
        stamps[:1] + words * 8 + stamps[-1:], 0.01, -1.0, -0.05)  # confident: above doubt_logprob
    assert loop.avg_logprob > default.options.doubt_logprob and dec.loops(loop, default.options.settings())
    monkeypatch.setattr(dec, "decode_window", lambda *a, **k: loop)
    result = default.transcribe(audio)
    assert result.doubted == 1 and result.text == real.text  # the search hears the clip, not the loop
    draft = default.transcribe(audio, draft=True)  # a draft is never searched: it keeps the loop
    assert draft.doubted == 0 and compression_ratio(draft.text) > default.options.compression_ratio_threshold
