"""`omnirt bench turns --live`: the held-out half spoken to the runtime in real time (tools/bench/turns_live.py)."""

import json

import pytest

from omnirt.tools.bench.turns_corpus import after_question, plan
from omnirt.tools.bench.turns_live import Heard, summarise


def _heard(kind, *turns, error=""):
    return Heard(kind, "flite/slt", "x", [700] if kind == "paused" else [],
                 [{"heard": h, "answer": a, "latency_ms": ms} for h, a, ms in turns], error=error)


def test_a_paused_request_is_cut_off_only_when_its_fragment_got_an_answer_of_its_own():
    assert not _heard("paused", ("How many legs does a spider have?", "Eight.", 450.0)).cut
    assert _heard("paused", ("How many legs does a", "A spider.", 400.0), ("spider have?", "Eight.", 500.0)).cut
    assert not _heard("paused", ("How many legs does a", "", None), ("spider have?", "Eight.", 500.0)).cut
    assert not _heard("complete", ("Hi.", "Hello.", 300.0), ("Bye.", "Bye.", 300.0)).cut  # only requests that pause


def test_a_fragment_whose_reply_was_withdrawn_is_no_cutoff_but_one_whose_audio_played_is():
    joined = _heard("paused", ("How many legs does a", "A spider.", 400.0), ("How many legs does a spider have?",
                                                                               "Eight.", 500.0))
    joined.turns[0].update(rejoined=True, reply_heard_s=0.4)
    assert not joined.cut and joined.rejoined
    s = summarise([joined, _heard("paused", ("a b c", "ABC.", 700.0))])["paused"]
    assert (s["cut"], s["rejoined"], s["withdrawn_heard_s_mean"], s["latency_p50_ms"]) == (0, 1, 0.4, 600.0)
    voiced = _heard("paused", ("How many legs does a", "", 400.0), ("spider have?", "Eight.", 500.0))
    voiced.turns[0]["played_s"] = 0.8  # its text never finished, but its audio played
    assert voiced.cut


def test_the_summary_counts_cutoffs_over_paused_requests_and_latency_over_answered_turns():
    s = summarise([_heard("paused", ("a b", "A.", 400.0), ("c", "C.", 600.0)),
                   _heard("paused", ("a b c", "ABC.", 500.0)),
                   _heard("paused", ("a b c", "ABC.", 700.0)),
                   _heard("paused", ("a b c", "ABC.", 900.0)),
                   _heard("short", ("Yes.", "Good.", 300.0)),
                   _heard("short", error="no speech found in x.wav")])
    assert s["paused"]["n"] == 4 and s["paused"]["cut"] == 1 and s["paused"]["cutoff_rate"] == 0.25
    assert s["paused"]["latency_p50_ms"] == 600.0 and s["paused"]["latency_mean_ms"] == 620.0
    assert s["short"] == {"n": 2, "unanswered": 1, "errors": 1, "rejoined": 0, "word_error_rate": 1.0,
                          "latency_p50_ms": 300.0, "latency_mean_ms": 300.0}  # ("x" heard as "Yes.", then not at all)
    assert "complete" not in s


@pytest.mark.models
@pytest.mark.slow
def test_the_live_bench_speaks_the_first_utterances_to_the_runtime(tmp_path, monkeypatch, capsys):
    from omnirt.tools.cli import main

    monkeypatch.setenv("OMNIRT_TURNS_DIR", str(tmp_path / "cache"))
    assert main(["bench", "turns", "--live", "--limit", "2", "--json", str(tmp_path / "turns.json")]) == 0
    report = json.loads((tmp_path / "turns-live.json").read_text())
    assert report["benchmark"] == "turns-live" and len(report["utterances"]) == 2
    first = report["utterances"][0]
    assert first["kind"] == "paused" and first["pauses_ms"] and first["turns"]
    assert all(t["latency_ms"] > 0 for u in report["utterances"] for t in u["turns"] if t["answer"])
    assert [u["asked"] for u in report["utterances"]] == [after_question(p) for p in plan() if p.half == "heldout"][:2]
    assert "paused: 1 utterances" in capsys.readouterr().out
    page = (tmp_path / "turns-live.html").read_text()
    assert "voice-to-voice of the answered turns" in page and "<svg" in page


def test_the_report_lists_each_cut_off_request_and_plots_each_kind(tmp_path):
    from omnirt.tools.bench.turns_live import write_html

    heard = [_heard("paused", ("How many legs does a", "A spider.", 400.0), ("spider have?", "Eight.", 500.0)),
             _heard("complete", ("What is two and two?", "Four.", 450.0))]
    write_html(tmp_path / "r.html", summarise(heard), heard, "2 utterances")
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 2 and "&#x27;How many legs does a&#x27; | &#x27;spider have?&#x27;" in page


async def test_with_asr_context_every_utterance_follows_an_exchange_the_recogniser_reads(tmp_path, monkeypatch):
    """--live --asr-context: sessions with the recogniser's context on, and an exchange before every utterance (the
    assistant's question where the corpus says so, else one on another topic), so that each has one to read."""
    from types import SimpleNamespace

    import omnirt.tools.reply as reply_module
    import omnirt.tools.voice as voice_module
    from omnirt.tools.bench import turns_live
    from omnirt.tools.bench.turns_hear import CONTEXT_EXCHANGE, CONTEXT_PAIR

    calls = []

    async def fake_reply(path, out, config, components, history=None):
        calls.append((config.asr_context, history))
        return SimpleNamespace(turns=[], errors=[])

    monkeypatch.setattr(reply_module, "reply", fake_reply)
    monkeypatch.setattr(voice_module, "load_components", lambda config: None)
    utts = [SimpleNamespace(path=str(tmp_path / f"{i}.wav"), plan=p)
            for i, p in enumerate([p for p in plan() if p.half == "heldout"][:6])]
    console = SimpleNamespace(print=lambda *a, **k: None)
    await turns_live.speak_all(utts, console, asr_context=True)
    asked = [after_question(u.plan) for u in utts]
    assert True in asked and False in asked  # (both kinds among the first six)
    assert calls == [(True, turns_live.ASKED if a else [CONTEXT_PAIR]) for a in asked]
    assert CONTEXT_EXCHANGE == " ".join(CONTEXT_PAIR)  # what the offline sweep reads (the cache keys on it)
    calls.clear()
    await turns_live.speak_all(utts, console)
    assert calls == [(False, turns_live.ASKED if a else None) for a in asked]
    calls.clear()  # --history: the same exchanges, the recogniser not reading them
    await turns_live.speak_all(utts, console, history=True)
    assert calls == [(False, turns_live.ASKED if a else [CONTEXT_PAIR]) for a in asked]
