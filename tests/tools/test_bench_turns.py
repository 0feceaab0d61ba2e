"""`omnirt bench turns`: the policies' cutoffs and latencies on hand-made decision points, the operating curve and
its 'best at' queries, and the corpus plan (size, kinds, pauses, halves that share no sentence and no voice)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from omnirt.tools.bench import turns_corpus as corpus
from omnirt.tools.bench.asr import normalise
from omnirt.tools.bench.turns import (THREE, Evaluator, Point, Row, SweepOptions, best_cutoff_at, best_latency_at,
                                      pareto, point, summarise, sweep, three_waits, transfer, vad_point)


def _row(kind: str, end_p: float, pauses: list[tuple[float, float]] = (), half: str = "tuning") -> Row:
    return Row(half, kind, "v", "t", end_p, "t", [ms for ms, _ in pauses], [p for _, p in pauses],
               ["f"] * len(pauses))


ROWS = [_row("paused", 0.6, [(400, 1e-5)]),            # a fragment, a 400 ms pause
        _row("paused", 0.3, [(250, 0.02), (900, 1e-4)]),  # a fragment the model half believes, then a long pause
        _row("complete", 0.8),
        _row("short", 0.01)]


def test_vad_cuts_every_pause_at_least_d_and_waits_d_at_every_end() -> None:
    assert Evaluator(ROWS)(math.inf, 300, 300) == (300, 1.0)  # both paused rows have a pause >= 300
    p = vad_point(ROWS, 500)
    assert (p.latency_ms, p.cutoff) == (500, 0.5)  # only the 900 ms pause
    assert vad_point(ROWS, 900).cutoff == 0.5 and vad_point(ROWS, 901).cutoff == 0.0  # P >= d is a cutoff


def test_detector_waits_short_only_above_theta() -> None:
    # theta 0.05: ends at 0.6, 0.3, 0.8 wait 200 ms, the short answer (0.01) 1000; no pause is above theta
    lat, cut = Evaluator(ROWS)(0.05, 200, 1000)
    assert lat == pytest.approx((200 * 3 + 1000) / 4) and cut == 0.0
    # theta 0.01: the short answer ends short too, but the 250 ms pause heard at p 0.02 is now cut
    lat, cut = Evaluator(ROWS)(0.01, 200, 1000)
    assert lat == 200 and cut == 0.5
    # a long wait shorter than a pause cuts there as well; one row cut twice counts once
    assert Evaluator(ROWS)(0.01, 200, 400)[1] == 1.0
    assert Evaluator([_row("complete", 0.9)])(0.5, 100, 900) == (100, 0.0)  # no paused row: no cutoffs


def test_a_middle_wait_between_lo_and_theta() -> None:
    ev = Evaluator(ROWS)
    # ends at 0.6 and 0.8 wait 200, at 0.3 and 0.01 the middle 600; every pause is below lo (2100) or short (250)
    assert ev(0.5, 200, 2100, 0.01, 600) == (400, 0.0)
    # lo 1e-5: the 400 ms pause (1e-5) and the 900 ms one (1e-4) are now in doubt; a 300 ms wait cuts both rows,
    # a 500 ms one only the 900 ms pause
    assert ev(0.5, 200, 2100, 1e-5, 300)[1] == 1.0 and ev(0.5, 200, 2100, 1e-5, 500)[1] == 0.5
    p = point(ROWS, THREE, 0.5, 200, 2100, 0.01, 600)
    assert (p.lo, p.d_mid) == (0.01, 600) and "lo=0.01 mid=600" in p.params()
    assert transfer(p, ROWS) == p
    pts = three_waits(ev, SweepOptions(three_thetas=(0.01, 0.5, 0.9), d_short=(200,), d_mid=(600, 900),
                                       three_d_long=(2100,)))
    assert len(pts) == 3 * 2 and all(p.lo < p.theta and p.d_short < p.d_mid < p.d_long for p in pts)


def test_pareto_front_and_best_at_queries() -> None:
    pts = [Point("detector", 0.1, 100, 600, lat, cut) for lat, cut in
           [(200, 0.5), (300, 0.2), (300, 0.3), (450, 0.2), (600, 0.05), (800, 0.0), (900, 0.0)]]
    front = pareto(pts)
    assert [(p.latency_ms, p.cutoff) for p in front] == [(200, 0.5), (300, 0.2), (600, 0.05), (800, 0.0)]
    assert best_cutoff_at(pts, 300).cutoff == 0.2 and best_cutoff_at(pts, 300).latency_ms == 300
    assert best_cutoff_at(pts, 599).cutoff == 0.2 and best_cutoff_at(pts, 599).latency_ms == 300  # ties: faster
    assert best_cutoff_at(pts, 100) is None
    assert best_latency_at(pts, 0.05).latency_ms == 600 and best_latency_at(pts, 0.0).latency_ms == 800
    assert best_latency_at(pts, 0.10).latency_ms == 600


def test_sweep_and_transfer_keep_the_setting() -> None:
    options = SweepOptions(thetas=(1e-3, 0.1), d_short=(100, 300), d_long=(600, 1000), d_vad=(200, 500, 1000))
    swept = sweep(ROWS, options)
    assert len(swept["vad"]) == 3 and len(swept["detector"]) == 8
    assert all(math.isinf(p.theta) and p.d_short == p.d_long for p in swept["vad"])
    chosen = best_latency_at(swept["detector"], 0.0)
    other = [_row("paused", 0.9, [(700, 0.5)], "heldout"), _row("short", 1e-3, half="heldout")]
    moved = transfer(chosen, other)
    assert (moved.theta, moved.d_short, moved.d_long) == (chosen.theta, chosen.d_short, chosen.d_long)
    assert (moved.latency_ms, moved.cutoff) == Evaluator(other)(chosen.theta, chosen.d_short, chosen.d_long)
    assert transfer(None, other) is None
    assert point(other, "vad", math.inf, 700, 700).cutoff == 1.0


def test_summary_reads_tuning_choices_on_held_out() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for half in corpus.HALVES:
        for _ in range(20):
            rows.append(_row("paused", float(rng.uniform(0.2, 0.9)), [(float(rng.uniform(200, 2000)),
                                                                       float(10 ** rng.uniform(-6, -3)))], half))
            rows.append(_row("short", float(10 ** rng.uniform(-2.5, -1)), half=half))
    s = summarise(rows, SweepOptions(thetas=(1e-3, 1e-2), d_short=(100, 200), d_long=(1000, 2000),
                                     d_vad=(300, 600, 2000)))
    b = s["best"]["detector: cutoff at latency <= 600 ms"]
    assert b["tuning"].latency_ms <= 600 and b["heldout"] == transfer(b["tuning"], [r for r in rows
                                                                                    if r.half == "heldout"])
    assert s["utterances"] == {"tuning": 20 * 2, "heldout": 20 * 2}
    assert set(s["per_kind"]["heldout"]) == {"paused", "short"}


def test_corpus_plan() -> None:
    plan = corpus.plan()
    assert len(plan) >= 200
    assert {p.kind for p in plan} == set(corpus.KINDS)
    for half in corpus.HALVES:
        assert {p.kind for p in plan if p.half == half} == set(corpus.KINDS)
        assert len({p.voice for p in plan if p.half == half}) >= 3
    for p in plan:
        assert len(p.pauses_ms) == len(p.parts) - 1
        assert (p.kind == "paused") == bool(p.pauses_ms)
        assert all(corpus.PAUSE_MS[0] <= ms <= corpus.PAUSE_MS[1] for ms in p.pauses_ms)
        assert all(part.strip() for part in p.parts)
    assert {len(p.pauses_ms) for p in plan if p.kind == "paused"} == {1, 2}
    tuning = [p for p in plan if p.half == "tuning"]
    speakers = lambda ps: {corpus.speaker(p.family, p.voice) for p in ps}  # noqa: E731
    texts = lambda ps: {normalise(p.text) for p in ps}  # noqa: E731
    assert corpus.speaker("flite", "kal16") == corpus.speaker("flite", "kal")
    assert corpus.speaker("espeak", "en-us-140") == corpus.speaker("espeak", "en-us-200")
    sets = {name: [p for p in corpus.plan(heldout=name) if p.half == "heldout"] for name in corpus.HELDOUT_SETS}
    for held in sets.values():
        assert not texts(tuning) & texts(held)
        assert not speakers(tuning) & speakers(held)  # kal/kal16 and an eSpeak voice's two speeds are one speaker
    # the fresh set: no speaker any other set has, retired ones included (a set's sentences are checked below)
    fresh = {corpus.speaker(*v) for v in corpus.HALF_VOICES["heldout9"]}
    assert fresh == speakers(sets["heldout9"]) and len(fresh) == 5
    assert not fresh & {corpus.speaker(*v) for name, vs in corpus.HALF_VOICES.items() if name != "heldout9" for v in vs}
    assert not texts(sets["heldout4"]) & texts(sets["heldout2"])
    assert len(sets["heldout9"]) >= 130 and sum(p.kind == "paused" for p in sets["heldout9"]) >= 70
    assert plan == corpus.plan(heldout=corpus.HELDOUT_SETS[0]) and sets["heldout9"] == [p for p in plan
                                                                                       if p.half == "heldout"]
    # the retired held-out sets joined tuning, less their utterances by a speaker a held-out set still has
    for name in ("heldout", "heldout3"):
        retired = {normalise(s.replace("|", " ")) for s in corpus.PAUSED[name]}
        assert retired <= texts(tuning) and name not in corpus.HELDOUT_SETS and name in corpus.TUNING_SETS
    assert {("flite", "awb"), ("flite", "rms"), ("espeak", "en-nyc")} & speakers(tuning) == {("flite", "awb"),
                                                                                           ("espeak", "en-nyc")}
    every = [s for kind in corpus.SENTENCES.values() for name in kind for s in kind[name]]
    assert len({normalise(s.replace("|", " ")) for s in every}) == len(every)  # no set repeats another's sentence
    with pytest.raises(ValueError, match="unknown held-out set"):
        corpus.plan(heldout="tuning")
    assert len({p.key for p in plan}) == len(plan)
    assert plan == corpus.plan()  # deterministic, pauses included; and a prefix mixes kinds and halves
    assert {p.kind for p in plan[:8]} == set(corpus.KINDS) and {p.half for p in plan[:8]} == set(corpus.HALVES)


def test_corpus_sentences_are_new() -> None:
    from omnirt.tools.bench.asr_corpus import DEV, HELD_OUT
    from omnirt.tools.clips import SENTENCES
    from omnirt.tools.questions import QUESTION_SETS, QUESTIONS

    tuned = {normalise(s) for s in (*SENTENCES, *HELD_OUT)} | {normalise(q.text) for q in QUESTIONS}
    ours = {normalise(p.text) for name in corpus.HELDOUT_SETS for p in corpus.plan(heldout=name)}
    assert not tuned & ours
    # the fresh set was written against every question set and bench asr's sentences too (older sets were not)
    every = {normalise(s) for s in DEV} | {normalise(q.text) for qs in QUESTION_SETS.values() for q in qs}
    for name in ("heldout5", "heldout6", "heldout7", "heldout8", "heldout9"):
        assert not every & {normalise(p.text) for p in corpus.plan(("heldout",), heldout=name)}


def test_join_marks_the_pauses_exactly() -> None:
    rate = corpus.RATE
    parts = [np.full(1600, 0.5, np.float32), np.full(800, 0.5, np.float32), np.full(400, 0.5, np.float32)]
    audio, marks = corpus.join(parts, (250, 1000))
    lead = int(corpus.LEAD_S * rate)
    assert marks == [(lead + 1600, 4000), (lead + 1600 + 4000 + 800, 16000)]
    for start, n in marks:
        assert not audio[start:start + n].any() and audio[start - 1] and audio[start + n]
    assert len(audio) == lead + 2800 + 20000 + int(corpus.TAIL_S * rate)
    with pytest.raises(ValueError):
        corpus.join(parts, (250,))


def test_trim_cuts_the_synthesisers_silence() -> None:
    rate = corpus.RATE
    speech = np.sin(np.arange(rate // 2) / 5).astype(np.float32) * 0.3
    padded = np.concatenate([np.zeros(rate // 4, np.float32), speech, np.full(rate // 4, 1e-5, np.float32)])
    out = corpus.trim(padded)
    assert len(speech) <= len(out) <= len(speech) + 2 * 160 + 160


@pytest.mark.models
@pytest.mark.slow
def test_bench_runs_on_a_few_utterances(tmp_path, monkeypatch) -> None:
    import json

    from omnirt.tools.cli import main

    monkeypatch.setenv("OMNIRT_TURNS_DIR", str(tmp_path / "cache"))  # synthesised and heard here, not cached
    out = tmp_path / "turns.json"
    assert main(["bench", "turns", "--limit", "4", "--json", str(out)]) == 0  # the tuning half
    report = json.loads(out.read_text())
    assert sum(report["utterances"].values()) == 4 and len(report["rows"]) == 4
    assert out.with_suffix(".html").is_file()
    paused = [r for r in report["rows"] if r["kind"] == "paused"]
    assert paused and all(len(r["pause_p"]) == len(r["pause_ms"]) >= 1 for r in paused)
    assert all(0.0 <= r["end_p"] <= 1.0 for r in report["rows"])


def _voiced_row(kind: str, end_p: float, end_text: str, end_pitch: float, pauses=(), half: str = "tuning",
                asked: bool = False) -> Row:
    """A row with voices: `pauses` as (ms, p, text, pitch_end)."""
    voice = lambda pitch: {"pitch_end": pitch, "energy_end": -12.0, "speech_s": 1.0}  # noqa: E731
    return Row(half, kind, "v", end_text, end_p, end_text, [x[0] for x in pauses], [x[1] for x in pauses],
               [x[2] for x in pauses], asked, voice(end_pitch), [voice(x[3]) for x in pauses])


def _voiced_rows(half: str, seed: int) -> list[Row]:
    """Fragments the model believes (p 0.3) but whose voice stays up; ends whose voice falls."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(15):
        end = float(rng.normal(-3, 0.5))  # drawn in this order: the end's voice, then the pause's
        pause = (float(rng.uniform(300, 1500)), 0.3, "Book a table for it.", float(rng.normal(2, 0.5)))
        rows.append(_voiced_row("paused", 0.3, "Book a table for four.", end, [pause], half))
        rows.append(_voiced_row("short", 0.005, "Paris.", float(rng.normal(-3, 0.5)), half=half, asked=True))
    return rows


def test_the_classifier_is_fitted_on_tuning_only_and_swept_beside_the_detector() -> None:
    from omnirt.tools.bench.turns_fit import FitOptions, choose_waits, fit, rescore

    tuning, held = _voiced_rows("tuning", 0), _voiced_rows("heldout", 1)
    with pytest.raises(ValueError, match="tuning half only"):
        fit(tuning + held)
    clf = fit(tuning)
    assert dict(zip(clf.names, clf.weights))["pitch_end"] < 0  # here a falling voice is what marks the end
    scored = rescore(held, clf)
    assert all(r.end_p >= clf.threshold for r in scored)  # every end judged finished, every pause not
    assert all(p < clf.threshold for r in scored for p in r.pause_p)
    assert Evaluator(scored)(clf.threshold, 200, 2100) == (200, 0.0)
    assert Evaluator(held)(0.01, 200, 2100)[1] == 1.0  # the probability alone cuts every fragment
    # the shipped threshold respects the latency budget: at 100 ms none can, so the highest threshold
    assert choose_waits(scored, FitOptions(max_latency_ms=100)) == (FitOptions().thetas[-1], None, None)
    assert clf.doubt_threshold is None  # two waits already cut nothing here: no middle wait
    options = SweepOptions(thetas=(1e-3, 1e-2, 0.1), d_short=(200,), d_long=(2100,), d_vad=(300, 2100),
                           combined_thetas=(0.3, 0.5, 0.7))
    s = summarise(tuning + held, options, classifier=clf)
    assert {"combined", "combined, no context", "combined, no voice", THREE} <= set(s["fronts"]["heldout"])
    b = s["best"]["combined: cutoff at latency <= 300 ms"]
    assert (b["heldout"].latency_ms, b["heldout"].cutoff) == (200, 0.0)
    assert s["runtime_default"]["heldout"]["combined"].cutoff == 0.0
    assert s["runtime_default"]["heldout"]["detector"].cutoff == 1.0
    assert "comb <=300" in s["per_kind"]["heldout"]["paused"]


def test_the_corpus_imagines_a_question_before_short_answers_only_and_some_requests() -> None:
    plan = corpus.plan()
    asked = {kind: [corpus.after_question(p) for p in plan if p.kind == kind] for kind in corpus.KINDS}
    assert all(asked["short"]) and not any(asked["backchannel"])
    for kind in ("paused", "complete"):
        assert 0.15 < np.mean(asked[kind]) < 0.5


def test_a_cache_heard_before_the_last_words_certainty_gets_it_without_the_thinker(tmp_path) -> None:
    """Decision points cached before `lp` was kept get it from the recogniser alone; a decode that no longer gives
    the cached words means the cache is stale, and the utterance is heard again, Thinker and all."""
    import wave
    from types import SimpleNamespace

    from omnirt.tools.bench.turns_hear import hear_last_words

    path = tmp_path / "u.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(np.zeros(16000, np.int16).tobytes())
    u = corpus.Utterance(path=path, plan=corpus.plan()[0], pauses=[(8000, 4000)], end=16000)
    cached = {"points": [{"what": "pause", "at": 8000, "text": "Book a", "p": 0.01},
                         {"what": "end", "at": 16000, "text": "Book a table.", "p": 0.6}]}

    class Asr:
        def __init__(self, texts):
            self.texts = iter(texts)

        def transcribe(self, audio):
            text = next(self.texts)
            return SimpleNamespace(text=text, end_logprob=-0.5 if text == "Book a" else -0.1)

    class Chat:
        asked = 0

        def end_of_turn(self, text):
            self.asked += 1
            return 0.5

    chat = Chat()
    heard = hear_last_words(u, cached, Asr(["Book a", "Book a table."]), chat)
    assert [(x["text"], x["p"], x["lp"]) for x in heard["points"]] == [("Book a", 0.01, -0.5),
                                                                        ("Book a table.", 0.6, -0.1)]
    assert chat.asked == 0
    heard = hear_last_words(u, cached, Asr(["Book a", "Look a table.", "Book a", "Look a table."]), chat)
    assert [x["text"] for x in heard["points"]] == ["Book a", "Look a table."] and chat.asked == 2


def test_with_asr_context_each_point_of_a_second_of_speech_is_heard_after_another_topic(capsys) -> None:
    from types import SimpleNamespace

    from omnirt.tools.bench import turns_hear
    from omnirt.tools.bench.turns import TAIL_S
    from omnirt.tools.cli import build_parser

    class Heard:
        def __init__(self):
            self.contexts = []

        def transcribe(self, audio, context=""):
            self.contexts.append(context)
            return SimpleNamespace(text="x")

    asr, lead = Heard(), corpus.LEAD_S
    for speech_s in (0.6, 1.2):  # (the audio at a point: the lead-in, the speech so far, then the tail)
        turns_hear._heard(asr, np.zeros(int((lead + speech_s + TAIL_S) * 16000), np.float32), "Q? A.")
    turns_hear._heard(asr, np.zeros(int((lead + 2 + TAIL_S) * 16000), np.float32), "")
    assert asr.contexts == ["", "Q? A.", ""]
    assert turns_hear._signature("asr", "llama") != turns_hear._signature("asr", "llama", "Q? A.")  # its own cache
    args = build_parser(["bench", "turns"]).parse_args(["bench", "turns", "--live", "--asr-context"])
    assert args.live and args.asr_context  # (--live then runs sessions with the context on: test_bench_turns_live.py)


def test_the_shipped_waits_keep_few_finished_turns_waiting_long() -> None:
    from omnirt.tools.bench.turns_fit import FitOptions, choose_waits

    # ten sure ends, two doubtful ones, and two fragments as doubtful as those, each before a 1.5 s pause: only a
    # wait over 1.5 s for every doubtful score saves the fragments, and then a sixth of the real ends wait that long
    rows = [_row("complete", 0.9)] * 10 + [_row("complete", 0.5)] * 2 + [_row("paused", 0.9, [(1500, 0.5)])] * 2
    o = FitOptions(max_latency_ms=1000, thetas=(0.4, 0.8), d_mid=(600, 1800))
    assert choose_waits(rows, replace(o, max_slow_share=0.5)) == (0.8, 0.4, 1800)
    assert choose_waits(rows, replace(o, max_slow_share=0.1)) == (0.4, None, None)  # the fragments are cut instead
