"""A speaker who goes on after a released turn: the words before and after the pause are one turn
(VADOptions.rejoin_ms).

The VAD on tone fixtures (when speech rejoins the last turn and what audio the new turn carries), the Thinker
forgetting the withdrawn exchange, the turn gate restoring the context of its judgement. The whole path with real
models is in tests/e2e/test_pause_e2e.py."""

import pytest

from omnirt.runtime.backchannel import BackchannelGate, words_after
from omnirt.runtime.frames import (AudioFrame, Commit, Interrupt, Played, Playing, SpeechEnded, SpeechStarted, TextDone,
                                   Transcript, UserSound)
from omnirt.runtime.testing import run_test
from omnirt.runtime.thinker import ThinkerStage
from omnirt.runtime.turn import TurnGate
from omnirt.runtime.vad import Endpointer, VADOptions, VADStage

from test_backchannel import drive
from test_endpointer import EnergyDetector, tone_frames
from test_thinker_stage import Scripted

# hangover 400 ms: a 700 ms pause ends the first turn, 1.3 s before the second part begins
OPTS = VADOptions(hangover_ms=400, speculate_ms=160, pre_roll_ms=0, post_roll_ms=0)
PAUSED = [(1, True), (0.7, False), (0.8, True), (1, False)]


def starts_and_ends(out):
    return [f for f in out if isinstance(f, SpeechStarted)], [f for f in out if isinstance(f, SpeechEnded)]


async def vad(frames, options=OPTS):
    return await run_test(VADStage(EnergyDetector(), options), frames, ignore=(AudioFrame, UserSound))


async def test_speech_soon_after_a_turn_goes_on_it_with_both_parts():
    starts, ends = starts_and_ends(await vad(tone_frames(PAUSED)))
    assert [(s.turn, s.rejoins) for s in starts] == [(1, 0), (2, 1)]
    assert starts[1].reply_heard_s == 0.0  # no reply had begun
    assert abs(len(ends[0].audio) / 16000 - 1.0) < 0.06
    whole = ends[-1]
    assert whole.turn == 2 and abs(len(whole.audio) / 16000 - 2.5) < 0.08  # both parts and the pause between
    assert whole.audio_start == ends[0].audio_start


async def test_off_or_too_late_it_is_a_new_turn():
    starts, ends = starts_and_ends(await vad(tone_frames(PAUSED), VADOptions(**{**OPTS.__dict__, "rejoin_ms": 0})))
    assert [s.rejoins for s in starts] == [0, 0] and abs(len(ends[-1].audio) / 16000 - 0.8) < 0.06
    late = [(1, True), (2.5, False), (0.8, True), (1, False)]
    starts, ends = starts_and_ends(await vad(tone_frames(late)))
    assert [s.rejoins for s in starts] == [0, 0] and abs(len(ends[-1].audio) / 16000 - 0.8) < 0.06


def with_reply(frames, reply):
    """`reply` frames put in the input 1.2 s in (after the first turn's end, before the second part)."""
    at = int(1.2 * 50)  # tone_frames are 20 ms each
    return frames[:at] + reply + frames[at:]


async def test_a_reply_heard_for_more_than_rejoin_heard_ms_makes_a_new_turn():
    frames = tone_frames(PAUSED)
    began = frames[0].ts  # the fixture's frames all arrive at once: the onset's wall time is about this
    starts, _ = starts_and_ends(await vad(with_reply(frames, [Playing(turn=1, ts=began - 1.5)])))
    assert [s.rejoins for s in starts] == [0, 0]  # 1.5 s of the reply heard: the user is answering it
    starts, _ = starts_and_ends(await vad(with_reply(frames, [Playing(turn=1, ts=began - 0.4)])))
    assert starts[1].rejoins == 1 and 0.3 < starts[1].reply_heard_s < 0.6
    # a file writes a reply at once (Played at once): what was heard is the time since it began, while it lasts
    played = [Playing(turn=1, ts=began - 0.4), Played(turn=1, seconds=3.0)]
    starts, _ = starts_and_ends(await vad(with_reply(frames, played)))
    assert starts[1].rejoins == 1 and 0.3 < starts[1].reply_heard_s < 0.6


async def test_speech_after_a_whole_reply_was_heard_is_a_new_turn():
    frames = tone_frames(PAUSED)
    began = frames[0].ts
    short = [Playing(turn=1, ts=began - 0.8), Played(turn=1, seconds=0.5)]  # "Five.", heard to its end
    starts, _ = starts_and_ends(await vad(with_reply(frames, short)))
    assert [s.rejoins for s in starts] == [0, 0]
    cut = [Playing(turn=1, ts=began - 0.4), Played(turn=1, seconds=0.3, cut=True)]  # stopped (a button): not whole
    starts, _ = starts_and_ends(await vad(with_reply(frames, cut)))
    assert starts[1].rejoins == 1


async def test_two_pauses_make_one_turn_and_the_length_cap_holds():
    starts, ends = starts_and_ends(await vad(tone_frames([(1, True), (0.7, False), (0.6, True), (0.7, False),
                                                         (0.6, True), (1, False)])))
    assert [s.rejoins for s in starts] == [0, 1, 2]
    assert abs(len(ends[-1].audio) / 16000 - 3.6) < 0.1
    capped = VADOptions(**{**OPTS.__dict__, "max_utterance_ms": 2000})
    starts, _ = starts_and_ends(await vad(tone_frames([(1.5, True), (0.7, False), (0.8, True), (1, False)]), capped))
    assert [s.rejoins for s in starts] == [0, 0]  # 2.2 s from the first start already: too long to join


def test_endpointer_measures_a_rejoined_utterance_from_its_first_start():
    ep = Endpointer(VADOptions(hangover_ms=320, min_speech_ms=96, max_utterance_ms=3200, rejoin_ms=2000))
    for p in [0.9] * 10:
        ep.feed(p)
    ep.rejoin(0)
    events = [e for p in [0.9] * 100 for e in ep.feed(p)]
    ends = [e for e in events if e.kind == "end"]
    assert ends and ends[0].start == 0 and ends[0].end == 100 * 512  # capped at 3.2 s from sample 0


def test_negative_rejoin_is_refused():
    with pytest.raises(ValueError, match="rejoin_ms"):
        VADOptions(rejoin_ms=-1)


async def test_thinker_forgets_the_withdrawn_exchange():
    backend = Scripted(["Four.", "Eight legs."])
    frames = [Transcript(text="How many legs does a", turn=1), SpeechStarted(turn=2, rejoins=1),
              Transcript(text="How many legs does a spider have?", turn=2)]
    stage = ThinkerStage(backend)
    await run_test(stage, frames)
    assert backend.seen[1] == [{"role": "user", "content": "How many legs does a spider have?"}]
    assert [(e.turn, e.answer) for e in stage.exchanges] == [(2, "Eight legs.")]


async def test_gate_judges_the_joined_turn_in_the_context_before_the_withdrawn_answer():
    gate = TurnGate()
    frames = [TextDone(text="Sure.", turn=1), Commit(turn=1), TextDone(text="Which city do you mean?", turn=2),
              Commit(turn=2)]
    for f in frames:
        [x async for x in gate.process(f)]
    assert gate.asked
    [x async for x in gate.process(SpeechStarted(turn=3, rejoins=2))]
    assert not gate.asked  # the question went with the withdrawn turn
    [x async for x in gate.process(SpeechStarted(turn=4))]
    assert not gate.asked



@pytest.mark.parametrize("before, text, added", [
    ("What is the capital of France?", "What is the capital of France? Yeah, right.", "yeah right"),
    ("How many legs does a", "How many legs does a spider have?", "spider have"),
    ("What's the capital of France?", "What is the capital of France? Mm-hmm.", "mm hmm"),
    ("", "Yeah.", "yeah"),
])
def test_words_a_joined_transcript_adds(before, text, added):
    assert words_after(before, text) == added


def joined_during_its_reply(text):
    """Turn 1 asked and its reply being heard; the user speaks again soon, so utterance 2 goes on turn 1."""
    return [(0, Transcript(text="What is the capital of France?", turn=1)), (0.01, Playing(turn=1)),
            (0.01, Interrupt(reason="barge-in", turn=1)), (0.01, SpeechStarted(turn=2, rejoins=1)),
            (0.1, Transcript(text=text, turn=2)), (0.05, Commit(turn=2, spoken=True))]


async def test_a_backchannel_that_joins_a_turn_is_judged_on_its_own_words():
    judged = []
    gate = BackchannelGate(on_judged=lambda turn, finished: judged.append((turn, finished)))
    out = await drive(gate, joined_during_its_reply("What is the capital of France? Yeah, right."))
    assert not [f for f in out if isinstance(f, (Interrupt, SpeechStarted))]  # the reply plays on
    assert judged == [(2, True)]
    out = await drive(BackchannelGate(), joined_during_its_reply("What is the capital of France? And of Spain?"))
    assert [f.kind for f in out if isinstance(f, (Interrupt, SpeechStarted))] == ["Interrupt", "SpeechStarted"]


async def test_no_speech_goes_on_a_backchannel():
    stage = VADStage(EnergyDetector(), OPTS)
    frames = tone_frames([(1, True), (0.7, False), (0.8, True), (0.7, False), (0.8, True), (1, False)])
    out = []
    for i, f in enumerate(frames):
        out += [x async for x in stage.process(f)]
        if i == int(2.6 * 50):  # the second utterance ended: its words were only "mm-hm"
            stage.backchannel(2)
    starts = [f for f in out if isinstance(f, SpeechStarted)]
    assert [s.rejoins for s in starts] == [0, 1, 0]
