"""BackchannelGate on frame fixtures: a barge-in during a reply waits for its words; "mm-hm" lets the reply play on
and goes no further, other words (or none in time) cut the reply with every held frame following in order."""

import asyncio

import pytest

from omnirt.runtime.backchannel import BackchannelGate, BackchannelOptions, is_backchannel
from omnirt.runtime.frames import (Commit, EndOfStream, Interrupt, Played, Playing, SpeechStarted, Transcript,
                                   UserSound)
from omnirt.runtime.stage import Pipeline


@pytest.mark.parametrize("text", ["Mm-hmm.", "Uh-huh.", "Yeah.", "Okay, okay.", "I see.", "Right.", "Mhm", "",
                                  "Yeah, yeah, I see.", "Thank you.", "M-M-H-M.", "M H M.", "Hmm, okay."])
def test_backchannels(text):
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["Wait.", "No.", "Stop!", "What about Spain?", "Yeah, but what about Spain?",
                                  "Hmm, what is the capital of Spain?", "Okay, tell me more about the sun.",
                                  "Sorry?", "10.", "Uh-uh.", "M-M-R."])
def test_not_backchannels(text):
    assert not is_backchannel(text)


async def drive(stage, script):
    """Push (pause_s, frame) pairs in order, each after its pause; everything that came out, in order."""
    out = []
    async with Pipeline([stage]) as pipeline:
        async def read():
            async for frame in pipeline.frames():
                out.append(frame)

        reader = asyncio.get_running_loop().create_task(read())
        for pause, frame in script:
            await asyncio.sleep(pause)
            await pipeline.push(frame)
        await pipeline.push(EndOfStream())
        await asyncio.wait_for(reader, 5)
    return [f for f in out if not isinstance(f, EndOfStream)]


def during_a_reply(*then):
    """Turn 1 asked and its reply being heard, then the user's utterance 2 begins over it."""
    return [(0, Transcript(text="Tell me about the moon.", turn=1)), (0.01, Playing(turn=1)),
            (0.01, Interrupt(reason="barge-in", turn=1)), (0.01, SpeechStarted(turn=2)), *then]


def kinds(frames):
    return [(f.kind, f.turn) + ((f.active,) if isinstance(f, UserSound) else ()) for f in frames]


async def test_mm_hm_during_a_reply_releases_the_hold_and_goes_no_further():
    judged = []
    gate = BackchannelGate(on_judged=lambda turn, finished: judged.append((turn, finished)))
    out = await drive(gate, during_a_reply((0.1, Transcript(text="Mm-hmm.", turn=2)),
                                           (0.05, Commit(turn=2, spoken=True))))
    assert kinds(out) == [("Transcript", 1), ("Playing", 1), ("UserSound", 1, True), ("UserSound", 1, False)]
    assert judged == [(2, True)] and gate.heard == [(2, "Mm-hmm.")]


async def test_words_during_a_reply_cut_it_and_the_held_frames_follow_in_order():
    gate = BackchannelGate()
    out = await drive(gate, during_a_reply((0.1, Transcript(text="Wait, what about Spain?", turn=2)),
                                           (0.05, Commit(turn=2, spoken=True))))
    assert kinds(out) == [("Transcript", 1), ("Playing", 1), ("UserSound", 1, True), ("Interrupt", 1),
                          ("SpeechStarted", 2), ("Transcript", 2), ("Commit", 2)]
    assert gate.heard == []


async def test_a_partial_that_says_more_than_a_backchannel_cuts_at_once():
    out = await drive(BackchannelGate(), during_a_reply((0.05, Transcript(text="Mm-hmm.", turn=2, final=False)),
                                                        (0.05, Transcript(text="Mm-hmm, no wait", turn=2,
                                                                          final=False)),
                                                        (0.3, Transcript(text="Mm-hmm, no wait.", turn=2))))
    cut = next(i for i, f in enumerate(out) if isinstance(f, Interrupt))
    assert [f.text for f in out[cut:] if isinstance(f, Transcript)] == ["Mm-hmm.", "Mm-hmm, no wait",
                                                                        "Mm-hmm, no wait."]


async def test_without_a_reply_being_heard_a_barge_in_passes_at_once():
    out = await drive(BackchannelGate(), [(0, Transcript(text="Tell me about the moon.", turn=1)),
                                          (0.01, Playing(turn=1)), (0.01, Played(turn=1, seconds=3.0)),
                                          (0.01, Interrupt(reason="barge-in", turn=1)),
                                          (0.01, SpeechStarted(turn=2)), (0.05, Transcript(text="Yeah.", turn=2))])
    assert kinds(out) == [("Transcript", 1), ("Playing", 1), ("Played", 1), ("Interrupt", 1), ("SpeechStarted", 2),
                          ("Transcript", 2)]


async def test_disabled_every_barge_in_passes_at_once():
    out = await drive(BackchannelGate(BackchannelOptions(enabled=False)),
                      during_a_reply((0.05, Transcript(text="Mm-hmm.", turn=2))))
    assert kinds(out) == [("Transcript", 1), ("Playing", 1), ("Interrupt", 1), ("SpeechStarted", 2),
                          ("Transcript", 2)]


async def test_no_words_in_time_cut_the_reply_and_the_hold_is_renewed_meanwhile():
    gate = BackchannelGate(BackchannelOptions(decide_s=0.35, hold_every_s=0.1))
    out = await drive(gate, during_a_reply((0.6, Transcript(text="Mm-hmm.", turn=2))))
    holds = [f for f in out if isinstance(f, UserSound)]
    assert len(holds) >= 3 and all(f.active for f in holds)  # renewed while waiting, never released
    assert kinds(out)[-3:] == [("Interrupt", 1), ("SpeechStarted", 2), ("Transcript", 2)]


async def test_going_on_after_a_backchannel_is_judged_again_on_all_the_words():
    gate = BackchannelGate()
    out = await drive(gate, during_a_reply((0.1, Transcript(text="Mm-hmm.", turn=2)),
                                           (0.1, Interrupt(reason="resume", turn=2)),
                                           (0.1, Transcript(text="Mm-hmm. And the sun?", turn=2)),
                                           (0.05, Commit(turn=2, spoken=True))))
    assert kinds(out) == [("Transcript", 1), ("Playing", 1), ("UserSound", 1, True), ("UserSound", 1, False),
                          ("UserSound", 1, True), ("Interrupt", 1), ("Transcript", 2), ("Commit", 2)]
    assert out[-2].text == "Mm-hmm. And the sun?"


async def test_the_end_of_the_stream_lets_a_held_barge_in_through_first():
    out = await drive(BackchannelGate(), during_a_reply())
    assert kinds(out)[-2:] == [("Interrupt", 1), ("SpeechStarted", 2)]


async def test_a_resume_made_before_the_deciding_words_is_stale_and_goes_no_further():
    """The recogniser's "resume" queues behind the held barge-in while the words that follow it go on by the data
    lane: once they decided, it would cancel the very transcript just let through."""
    out = await drive(BackchannelGate(), during_a_reply((0.05, Interrupt(reason="resume", turn=2)),
                                                        (0.05, Transcript(text="What about Spain?", turn=2))))
    assert kinds(out) == [("Transcript", 1), ("Playing", 1), ("UserSound", 1, True), ("Interrupt", 1),
                          ("SpeechStarted", 2), ("Transcript", 2)]
    assert out[3].reason == "barge-in"


async def test_newer_words_of_a_backchannel_that_say_more_cut_the_reply():
    gate = BackchannelGate()
    out = await drive(gate, during_a_reply((0.1, Transcript(text="Mm-hmm.", turn=2)),
                                           (0.1, Transcript(text="Mm-hmm. And the sun?", turn=2))))
    assert kinds(out)[-3:] == [("UserSound", 1, False), ("Interrupt", 1), ("Transcript", 2)]
    assert out[-1].text == "Mm-hmm. And the sun?" and 2 not in gate.dropped


def test_a_barge_in_lets_only_the_newest_final_words_of_the_utterance_through():
    from omnirt.runtime.backchannel import _newest_words

    held = [SpeechStarted(turn=2), Transcript(text="What", turn=2, final=False), Transcript(text="What", turn=2),
            Transcript(text="What about Spain?", turn=2), Transcript(text="Later", turn=3, final=False)]
    assert [(f.kind, getattr(f, "text", "")) for f in _newest_words(held, 2)] == [
        ("SpeechStarted", ""), ("Transcript", "What about Spain?"), ("Transcript", "Later")]


async def test_a_long_session_keeps_records_of_its_last_utterances_only():
    gate, script = BackchannelGate(), []
    for turn in range(1, 41, 2):  # twenty replies, each with an "mm-hmm" over it
        script += [(0, Transcript(text="Tell me more.", turn=turn)), (0.005, Playing(turn=turn)),
                   (0.005, Interrupt(reason="barge-in", turn=turn)), (0.005, SpeechStarted(turn=turn + 1)),
                   (0.005, Transcript(text="Mm-hmm.", turn=turn + 1)), (0.005, Played(turn=turn))]
    await drive(gate, script)
    assert len(gate.heard) == 20 and gate.heard[-1] == (40, "Mm-hmm.")
    assert max(map(len, (gate._words_at, gate._finals))) <= 8 and 40 in gate._words_at
