"""A request's rest, said a second into the reply to its first part, heard together with that part as one
utterance (runtime/asr.py Transcript.whole) and used so when the backchannel gate joins them."""

from types import SimpleNamespace

import numpy as np

from omnirt.runtime.asr import JOIN_GAP_S, ASRStage
from omnirt.runtime.backchannel import BackchannelGate
from omnirt.runtime.frames import SpeechEnded, SpeechStarted, Transcript
from omnirt.runtime.testing import run_test

from test_backchannel import drive
from test_rejoin_words import later_in_its_reply, spoken

# Each piece of speech is a block of one level; the recogniser names the audio by the levels it holds, so a decode
# of two parts together reads as the sentence and a part alone as a recogniser hears half a sentence.
WORDS = {
    (1,): "How many legs does an", (2,): "October 4th.", (1, 2): "How many legs does an octopus have?",
    (3,): "What is two plus three?", (4,): "Yeah.", (5,): "and an ant?", (1, 2, 5): "How many legs does an octopus "
    "have, and an ant?", (6,): "boom",
}


class ByLevels:
    """A recogniser that hears the pieces in the audio (see WORDS); keeps every call's audio and options."""

    def __init__(self, fail_on=()):
        self.calls, self.fail_on = [], set(fail_on)

    def transcribe(self, audio, guess=None, context=""):
        self.calls.append(SimpleNamespace(audio=audio, guess=guess, context=context))
        levels = tuple(sorted({int(round(v * 10)) for v in np.unique(audio) if v}))
        if levels in self.fail_on:
            raise RuntimeError("decoder failed")
        return SimpleNamespace(text=WORDS.get(levels, ""), levels=levels)


def speech(level, turn, seconds=0.5):
    audio = np.full(int(seconds * 16000), level / 10, np.float32)
    return SpeechEnded(turn=turn, audio=audio, audio_start=0, audio_end=seconds, speech_end_wall=0)


def went_on(*pieces, context=None):
    """Turn 1 said piece 1; utterance 2 may go on it (SpeechStarted.may_rejoin) and said the next pieces."""
    frames = [SpeechStarted(turn=1), speech(1, 1), SpeechStarted(turn=2, may_rejoin=1, reply_heard_s=1.0)]
    return frames + [speech(level, 2) for level in pieces]


async def test_the_rest_of_a_request_is_heard_with_its_start():
    rec = ByLevels()
    out = await run_test(ASRStage(rec, context=lambda turn: f"said before turn {turn}"), went_on(2))
    first, rest = [f for f in out if isinstance(f, Transcript)]
    assert (first.text, first.whole) == ("How many legs does an", "")
    assert (rest.text, rest.whole) == ("October 4th.", "How many legs does an octopus have?")
    joined = rec.calls[-1]
    assert joined.audio.size == (0.5 + JOIN_GAP_S + 0.5) * 16000 and not joined.audio[8000:8000 + 4800].any()
    assert joined.guess.levels == (1,)  # the start's own decode: the same audio's first words
    assert joined.context == "said before turn 1"  # what came before the request, not its withdrawn first part


async def test_only_words_that_read_as_its_rest_pay_a_second_decode():
    for level in (3, 4):  # a request of its own; a backchannel
        rec = ByLevels()
        out = await run_test(ASRStage(rec), went_on(level))
        assert [f.whole for f in out if isinstance(f, Transcript)] == ["", ""] and len(rec.calls) == 2
    rec = ByLevels()  # an ordinary next turn
    out = await run_test(ASRStage(rec), [speech(1, 1), SpeechStarted(turn=2), speech(2, 2)])
    assert [f.whole for f in out if isinstance(f, Transcript)] == ["", ""] and len(rec.calls) == 2


async def test_a_chain_of_rests_is_heard_from_the_first_part():
    frames = went_on(2) + [SpeechStarted(turn=3, may_rejoin=2, reply_heard_s=0.8), speech(5, 3)]
    out = await run_test(ASRStage(ByLevels()), frames)
    assert [f.whole for f in out if isinstance(f, Transcript)][-1] == "How many legs does an octopus have, and an ant?"


async def test_a_failed_whole_decode_leaves_the_parts():
    out = await run_test(ASRStage(ByLevels(fail_on=[(1, 2)])), went_on(2))
    assert [(f.text, f.whole) for f in out if isinstance(f, Transcript)][-1] == ("October 4th.", "")


async def test_the_gate_joins_the_words_heard_whole():
    heard = Transcript(text="October 4th.", whole="How many legs does an octopus have?", turn=2)
    script = later_in_its_reply("x")
    script[-1] = (0.1, heard)
    script[0] = (0, Transcript(text="How many legs does an", turn=1))
    out = spoken(await drive(BackchannelGate(), script))
    assert out[2].rejoins == 1 and out[-1].text == "How many legs does an octopus have?"
    out = spoken(await drive(BackchannelGate(), later_in_its_reply("What is two plus three?")))
    assert out[-1].text == "What is two plus three?"  # (a barge-in keeps its own words)


async def test_later_words_that_start_a_request_keep_to_themselves():
    """Joined on its first words (heard at a pause inside it), the utterance's later decode starts a request."""
    script = later_in_its_reply("the", (0.05, Transcript(text="Hold on.", turn=2)))
    out = spoken(await drive(BackchannelGate(), script))
    assert out[2].rejoins == 1 and [f.text for f in out[3:]] == [
        "What is the exchange rate between the dollar and the", "Hold on."]
