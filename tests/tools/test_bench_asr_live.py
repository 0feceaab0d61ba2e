"""`omnirt bench asr --live`: the held-out corpus, the one normaliser and WER count, and a real live run that must
hear no worse than an offline decode of the same files."""

from __future__ import annotations


import numpy as np
import pytest

from omnirt.tools.bench import asr_corpus as corpus
from omnirt.tools.bench.asr import normalise
from omnirt.tools.clips import SENTENCES
from omnirt.tools.questions import QUESTIONS


def test_held_out_sentences_are_not_the_tuned_ones() -> None:
    tuned = {normalise(s) for s in SENTENCES} | {normalise(q.text) for q in QUESTIONS}
    assert not tuned & {normalise(s) for s in corpus.HELD_OUT}
    assert len(set(corpus.HELD_OUT)) == len(corpus.HELD_OUT) >= 12
    dev = {normalise(s) for s in corpus.DEV}
    assert len(dev) == len(corpus.DEV) >= 12 and not dev & ({normalise(s) for s in corpus.HELD_OUT} | tuned)


def test_plan_covers_every_voice_condition_and_sentence() -> None:
    plan = corpus.plan()
    assert len(plan) >= 100
    assert {(f, c) for f, _, c, _ in plan} == {(f, c) for f in corpus.FAMILIES for c in corpus.CONDITIONS}
    assert {t for f, _, _, t in plan if f != "human"} == set(corpus.HELD_OUT)
    voices = {v for f, v, _, _ in plan}
    assert {"kal", "kal16", "awb", "rms", "slt", "en-us-140", "en-gb-200", "en-sc-140", "joe", "Front_Center"} <= voices
    # a filter takes rows out but never changes which sentences a voice speaks (runs stay comparable)
    assert [p for p in plan if p[0] == "flite"] == corpus.plan(families=("flite",))
    assert corpus.pick(16, 3, 4) == [12, 13, 14, 15] and corpus.pick(16, 4, 4) == [0, 1, 2, 3]


def test_normaliser_and_word_errors() -> None:
    assert normalise("Set a timer for 10 minutes.") == "set a timer for ten minutes"
    assert normalise("Front Centre") == normalise("front center")
    assert corpus.word_errors("Which planet do people live on?", "Which plenidoo people live on") == (2, 6)
    assert corpus.word_errors("Rear left", "") == (2, 2)
    assert corpus.word_errors("tea or hot chocolate", "tea or hot chocolate please") == (1, 4)


def test_wer_table_per_family_and_overall() -> None:
    rows = [{"family": "flite", "condition": "clean", "text": "a b c d", "live": "a b c d", "offline": "a x c d"},
            {"family": "espeak", "condition": "tel8k", "text": "e f", "live": "e", "offline": "e f"}]
    t = corpus.wer_table(rows, ["live", "offline"])
    assert list(t) == ["flite", "espeak", "all"]
    assert t["flite"]["live"] == 0 and t["flite"]["offline"] == 0.25 and t["espeak"]["live"] == 0.5
    assert t["all"]["live"] == pytest.approx(1 / 6) and t["all"]["offline"] == pytest.approx(1 / 6)
    assert t["all"]["n"] == 2 and list(corpus.wer_table(rows, ["live"], "condition")) == ["clean", "tel8k", "all"]


def test_degraded_audio_is_what_it_says() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    speech = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    tel, r = corpus.degrade(speech, rate, "tel8k")
    assert r == 8000 and len(tel) == rate // 2
    spec = np.abs(np.fft.rfft(corpus.degrade(np.random.default_rng(0).standard_normal(rate).astype(np.float32) * 0.1,
                                             rate, "tel8k")[0]))
    f = np.fft.rfftfreq(rate // 2, 1 / 8000)
    assert spec[f < 250].mean() < 0.1 * spec[(f > 500) & (f < 3000)].mean()  # the phone line's band
    noisy, r = corpus.degrade(speech, rate, "noise10db", seed=1)
    noise = noisy - speech
    assert r == rate and 10 * np.log10(np.mean(speech ** 2) / np.mean(noise ** 2)) == pytest.approx(10, abs=0.2)
    with pytest.raises(ValueError):
        corpus.degrade(speech, rate, "underwater")


def test_a_resumed_turn_is_scored_on_its_last_transcript_and_counted() -> None:
    from omnirt.tools.bench.asr_live import last_finals

    finals = [(1, "Please close the window.", 1.0), (1, "Please close the window, it is getting cold.", 2.0),
              (1, "Please close the window, it is getting cold.", 2.2), (2, "Thanks.", 3.0)]
    kept, redone = last_finals(finals)
    assert [text for _, text, _ in kept] == ["Please close the window, it is getting cold.", "Thanks."]
    assert kept[0][2] == 2.2 and redone == 1
    assert last_finals([(3, "Yes.", 1.0), (3, "Yes.", 1.5)]) == ([(3, "Yes.", 1.5)], 0)


def test_a_turn_that_a_later_one_went_on_is_scored_once_in_it() -> None:
    """The phone line's "Front | Center": the second turn went on the first (SpeechStarted.rejoins), so its
    transcript holds both words; "Front Front Center" counted the first word twice."""
    from omnirt.tools.bench.asr_live import last_finals

    finals = [(1, "Front", 1.0), (2, "Front Center", 2.0)]
    assert [text for _, text, _ in last_finals(finals, {1})[0]] == ["Front Center"]
    assert [text for _, text, _ in last_finals(finals)[0]] == ["Front", "Front Center"]
