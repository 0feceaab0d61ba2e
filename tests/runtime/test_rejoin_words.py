"""Speech heard a second into a reply, after a released turn: its words decide whether it goes on that turn
(VADOptions.rejoin_words_ms, runtime/continuation.py, runtime/backchannel.py)."""

import pytest

from omnirt.runtime.backchannel import BackchannelGate
from omnirt.runtime.continuation import continues, starts_request
from omnirt.runtime.frames import Interrupt, Played, Playing, SpeechStarted, Transcript, UserSound
from omnirt.runtime.testing import run_test
from omnirt.runtime.thinker import ThinkerStage
from omnirt.runtime.vad import VADOptions

from test_backchannel import drive
from test_rejoin import OPTS, PAUSED, starts_and_ends, vad, with_reply
from test_endpointer import tone_frames
from test_thinker_stage import Scripted


@pytest.mark.parametrize("text", [
    "the euro?", "Basketball team.", "The top floor.", "octopus have?", "will be like on Saturday?",
    "half past six in the morning.", "has no eggs.", "is open late.", "down a little.", "Japanese?",
    "one hundred and forty four?", "and butter to my shopping list.", "brother on his mobile.", "I will be late.",
    "um, the Rolling Stones.", "", "Manchester.",
])
def test_what_the_pause_cut_off_does_not_start_a_request(text):
    assert not starts_request(text)
    assert continues(text) == bool(text)


@pytest.mark.parametrize("text", ["", "So.", "Um, so", "Oh."])
def test_a_filler_alone_goes_on_nothing(text):
    assert not continues(text) and not starts_request(text)


@pytest.mark.parametrize("text", [
    "What is two plus three?", "What's the time?", "Wait, what?", "No, I meant Spain.", "Stop.", "Sorry?",
    "Can you repeat that?", "Is it going to rain?", "Tell me about the moon.", "And what about Spain?",
    "How far is it?", "Could you speak slower?", "Let me think.", "Do you know any jokes?", "Never mind.",
    "Oh, which one?", "Does the shop open on Sunday?", "Thanks, that's enough.", "In which year was it built?",
])
def test_a_new_request_starts_as_one(text):
    assert starts_request(text)


async def test_speech_heard_a_second_into_the_reply_may_go_on_by_its_words():
    frames = tone_frames(PAUSED)
    began = frames[0].ts  # the fixture's frames all arrive at once: the onset's wall time is about this
    starts, ends = starts_and_ends(await vad(with_reply(frames, [Playing(turn=1, ts=began - 1.0)])))
    assert [(s.rejoins, s.may_rejoin) for s in starts] == [(0, 0), (0, 1)]
    assert 0.5 < starts[1].reply_heard_s <= 1.5
    assert abs(len(ends[-1].audio) / 16000 - 0.8) < 0.06  # its own audio: a new turn unless its words go on
    starts, _ = starts_and_ends(await vad(with_reply(frames, [Playing(turn=1, ts=began - 1.0)]),
                                          VADOptions(**{**OPTS.__dict__, "rejoin_words_ms": 0})))
    assert [(s.rejoins, s.may_rejoin) for s in starts] == [(0, 0), (0, 0)]  # off: a new turn


def later_in_its_reply(text, *then):
    """Turn 1 released ("What is the exchange rate between the dollar and") and its reply heard for a second;
    utterance 2 begins over it and may go on turn 1."""
    return [(0, Transcript(text="What is the exchange rate between the dollar and", turn=1)),
            (0.01, Playing(turn=1)), (0.01, Interrupt(reason="barge-in", turn=1, keeps_later=True)),
            (0.01, SpeechStarted(turn=2, may_rejoin=1, reply_heard_s=1.1)),
            (0.1, Transcript(text=text, turn=2)), *then]


def spoken(out):
    """What came out after turn 1's transcript and Playing, the hold's UserSound left out."""
    return [f for f in out if not isinstance(f, UserSound)][1:]


async def test_a_fragment_goes_on_the_turn_before_with_its_words_first():
    out = spoken(await drive(BackchannelGate(), later_in_its_reply(
        "the euro?", (0.05, Transcript(text="the euro please?", turn=2)))))
    assert [f.kind for f in out[1:]] == ["Interrupt", "SpeechStarted", "Transcript", "Transcript"]
    start = out[2]
    assert (start.turn, start.rejoins, start.may_rejoin, start.reply_heard_s) == (2, 1, 0, 1.1)
    assert [f.text for f in out[3:]] == ["What is the exchange rate between the dollar and the euro?",
                                        "What is the exchange rate between the dollar and the euro please?"]


async def test_a_request_of_its_own_is_a_barge_in():
    out = spoken(await drive(BackchannelGate(), later_in_its_reply("What is two plus three?")))
    assert [f.kind for f in out[1:]] == ["Interrupt", "SpeechStarted", "Transcript"]
    assert (out[2].rejoins, out[3].text) == (0, "What is two plus three?")


async def test_a_partial_decides_only_when_it_starts_a_request():
    partial = (0.01, Transcript(text="the", turn=2, final=False))
    gate = BackchannelGate()
    out = spoken(await drive(gate, later_in_its_reply("the euro?")[:4] + [partial] + later_in_its_reply(
        "the euro?")[4:]))
    assert out[-1].text.endswith("dollar and the euro?") and out[2].rejoins == 1
    partial = (0.01, Transcript(text="What is", turn=2, final=False))
    out = spoken(await drive(BackchannelGate(), later_in_its_reply("What is two plus three?")[:4] + [partial]))
    assert [f.kind for f in out[1:]] == ["Interrupt", "SpeechStarted", "Transcript"]  # decided before the final
    assert out[2].rejoins == 0


async def test_a_backchannel_later_in_the_reply_stays_one():
    out = spoken(await drive(BackchannelGate(), later_in_its_reply("Mm-hmm.")))
    assert not [f for f in out if isinstance(f, (Interrupt, SpeechStarted))]
    out = spoken(await drive(BackchannelGate(), later_in_its_reply("So.")))  # ("Sure." misheard): not a fragment
    assert [(f.kind, getattr(f, "rejoins", None)) for f in out[1:3]] == [("Interrupt", None), ("SpeechStarted", 0)]


async def test_speech_that_goes_on_a_joined_utterance_keeps_all_the_words():
    """Utterance 3 goes on utterance 2 by its audio (soon after it); 2 had gone on turn 1 by its words."""
    then = [(0.05, Playing(turn=2)), (0.01, Interrupt(reason="barge-in", turn=2, keeps_later=True)),
            (0.01, SpeechStarted(turn=3, rejoins=2)), (0.1, Transcript(text="the euro? Today.", turn=3))]
    out = spoken(await drive(BackchannelGate(), later_in_its_reply("the euro?", *then)))
    assert out[-1].text == "What is the exchange rate between the dollar and the euro? Today."


async def test_the_thinker_answers_the_whole_request_once():
    backend = Scripted(["One dollar is", "About 0.9 euros."])
    frames = [Transcript(text="What is the exchange rate between the dollar and", turn=1),
              SpeechStarted(turn=2, rejoins=1, reply_heard_s=1.1),
              Transcript(text="What is the exchange rate between the dollar and the euro?", turn=2)]
    stage = ThinkerStage(backend)
    await run_test(stage, frames)
    assert [(e.turn, e.answer) for e in stage.exchanges] == [(2, "About 0.9 euros.")]
    assert backend.seen[1] == [{"role": "user",
                                "content": "What is the exchange rate between the dollar and the euro?"}]


def written_at_once(text, *then):
    """As later_in_its_reply, but the reply was written to a file at once (Played before the user went on): no
    reply is held, the barge-in passes at once, and the utterance's start and words wait for the words alone."""
    script = later_in_its_reply(text, *then)
    return script[:2] + [(0.01, Played(turn=1, seconds=3.0))] + script[2:]


async def test_without_a_held_reply_the_words_still_decide():
    out = spoken(await drive(BackchannelGate(), written_at_once("the euro?")))
    assert [f.kind for f in out[2:]] == ["Interrupt", "SpeechStarted", "Transcript"]
    assert out[3].rejoins == 1 and out[4].text == "What is the exchange rate between the dollar and the euro?"
    out = spoken(await drive(BackchannelGate(), written_at_once("What is two plus three?")))
    assert [(f.kind, getattr(f, "rejoins", None)) for f in out[3:]] == [("SpeechStarted", 0), ("Transcript", None)]
    assert out[4].text == "What is two plus three?"


async def test_words_that_never_come_leave_a_turn_of_its_own():
    then = (0.05, SpeechStarted(turn=3))
    script = written_at_once("x", then)
    script = script[:5] + script[6:]  # utterance 2 never heard as words
    out = spoken(await drive(BackchannelGate(), script))
    assert [(f.kind, f.turn) for f in out[2:]] == [("Interrupt", 1), ("SpeechStarted", 2), ("SpeechStarted", 3)]
    out = spoken(await drive(BackchannelGate(), script[:5]))  # nor anything after it: the end lets it out
    assert [(f.kind, f.turn) for f in out[2:]] == [("Interrupt", 1), ("SpeechStarted", 2)]
