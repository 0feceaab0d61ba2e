"""Clause splitting and the Talker stage's streaming and interruption, with a deterministic synthesizer."""

import asyncio

import numpy as np

from omnirt.runtime.frames import AudioFrame, Interrupt, SpeechDone, TextDelta, TextDone
from omnirt.runtime.stage import Pipeline
from omnirt.runtime.talker import ClauseSplitter, TalkerOptions, TalkerStage, first_clause_watch, speakable
from omnirt.runtime.testing import run_test


def split(deltas, **kw):
    s = ClauseSplitter(TalkerOptions(**kw))
    out = []
    for d in deltas:
        out += s.push(d)
    rest = s.flush()
    return out + ([rest] if rest else [])


def test_first_sentence_released_before_the_rest_arrives():
    s = ClauseSplitter(TalkerOptions(first_chunk_words=0))
    assert s.push("The capital") == []
    assert s.push(" of France is Paris.") == []  # no white space after the stop yet: could be "Paris.com"
    assert s.push(" It is") == ["The capital of France is Paris."]


def test_decimal_point_is_not_a_sentence_end():
    assert split(["Pi is about 3.14 and", " that is all."], first_chunk_words=0) == ["Pi is about 3.14 and that is all."]


def test_comma_ends_a_clause_only_after_enough_words():
    out = split(["Yes, ", "the answer to your question, ", "is five."], first_clause_words=2, min_clause_words=4)
    assert out == ["Yes, the answer to your question,", "is five."]


def test_markdown_is_not_spoken():
    assert speakable("**Paris** is the `capital`. # Note") == "Paris is the capital. Note"
    assert speakable("see [the map](http://x)") == "see the map"


class ToneSynth:
    """Makes 100 ms of tone per word, in chunks of 50 ms, slowly, like a real synthesizer."""

    sample_rate = 16000

    def __init__(self):
        self.texts = []

    def stream(self, text):
        self.texts.append(text)
        for _ in text.split():
            for _ in range(2):
                import time
                time.sleep(0.005)
                yield np.full(800, 1000, np.int16)


async def test_talker_starts_on_first_clause_and_ends_with_speech_done():
    synth = ToneSynth()
    frames = [TextDelta(text=t, turn=1) for t in ["Paris is", " the capital.", " It is", " lovely"]]
    frames.append(TextDone(text="Paris is the capital. It is lovely", turn=1))
    out = await run_test(TalkerStage(synth), frames)
    kinds = [f.kind for f in out]
    first_audio = kinds.index("AudioFrame")
    assert kinds.index("TextDelta") < first_audio < kinds.index("TextDone")  # before the whole answer
    assert synth.texts == ["Paris is the capital.", "It is lovely"]
    audio = [f for f in out if isinstance(f, AudioFrame)]
    assert sum(len(f.pcm) for f in audio) == 7 * 1600  # seven words
    assert isinstance(out[-1], SpeechDone) and out[-1].text == "Paris is the capital. It is lovely"


async def test_interrupt_stops_talker_audio():
    synth = ToneSynth()
    long = " ".join(["word"] * 200) + "."
    async with Pipeline([TalkerStage(synth)]) as p:
        await p.push(TextDelta(text=long + " ", turn=1))
        n_audio = 0
        async for f in p.frames():
            if isinstance(f, AudioFrame):
                n_audio += 1
                if n_audio == 3:
                    await p.push(Interrupt())
            if isinstance(f, Interrupt):
                break
        await asyncio.sleep(0.05)
        assert len(p.output) == 0  # nothing more after the interrupt
    assert n_audio < 10


def _trimmed(x: np.ndarray, cuts: list[int], lead: int | None, tail: int | None, rate: int = 1000) -> np.ndarray:
    from omnirt.runtime.talker import SilenceTrim

    trim = SilenceTrim(rate, lead, tail)
    out = [trim.push(part) for part in np.split(x, cuts)]
    return np.concatenate([*out, trim.end()])


def test_silence_trim_keeps_the_sound_and_cuts_the_waiting():
    x = np.concatenate([np.zeros(100, np.int16), np.full(50, 5000, np.int16), np.zeros(400, np.int16)])
    y = _trimmed(x, [], lead=10, tail=150)
    assert len(y) == 10 + 50 + 150 and (y != 0).sum() == 50
    assert len(_trimmed(x, [], None, None)) == len(x)
    assert len(_trimmed(np.zeros(300, np.int16), [], 10, 10)) == 300  # no sound at all: left as it is


def test_silence_trim_cuts_a_clause_in_stretches_as_it_cuts_it_whole():
    """A synthesizer streaming a sentence in stretches: a stretch may be silent throughout, or end inside a pause
    that the next one carries on; only the clause's own ends are cut, whatever the stretches."""
    rng = np.random.default_rng(7)
    loud, quiet = np.full(30, 4000, np.int16), np.zeros(80, np.int16)
    clause = np.concatenate([quiet, quiet, loud, quiet[:40], loud, quiet, quiet, loud, quiet, quiet, quiet])
    whole = _trimmed(clause, [], 10, 150)
    assert len(whole) == 10 + 30 + 40 + 30 + 160 + 30 + 150
    for _ in range(200):
        cuts = sorted(rng.choice(np.arange(1, len(clause)), size=rng.integers(1, 12), replace=False).tolist())
        for lead, tail in ((10, 150), (None, 150), (10, None), (None, None)):
            assert np.array_equal(_trimmed(clause, cuts, lead, tail), _trimmed(clause, [], lead, tail)), cuts
    assert len(_trimmed(np.zeros(300, np.int16), [100, 200], 10, 10)) == 300


def test_first_chunk_released_after_a_few_words_at_a_phrase_end():
    s = ClauseSplitter(TalkerOptions(first_chunk_words=4))
    assert s.push("The capital of France") == []  # "France" may still be growing ("Frances")
    assert s.push(" is") == ["The capital of France"]
    assert s.push(" Paris. It has") == ["is Paris."]  # later clauses wait for punctuation as before


def test_first_chunk_never_ends_on_a_function_word():
    assert split(["I think that the ", "answer is five."], first_chunk_words=3) == [
        "I think that the answer", "is five."]
    assert split(["The capital of France is Paris."], first_chunk_words=0) == ["The capital of France is Paris."]


async def test_after_a_short_first_clause_the_next_is_released_early_so_playback_does_not_starve():
    """ "1." makes 0.1 s of audio; waiting for the whole next sentence (one word per 30 ms) would leave the
    listener in silence, so with min_ahead_ms the next clause goes at its first phrase-final word."""
    words = "1. The moon circles our planet once in about twenty nine days and shows phases.".split()

    async def texts(options: TalkerOptions) -> list[str]:
        synth = ToneSynth()
        stage = TalkerStage(synth, options)
        for i, w in enumerate(words):
            async for _ in stage.process(TextDelta(text=(" " if i else "") + w, turn=1)):
                pass
            await asyncio.sleep(0.03)
        async for _ in stage.process(TextDone(text=" ".join(words), turn=1)):
            pass
        return synth.texts

    urgent = await texts(TalkerOptions(min_ahead_ms=600))
    assert urgent[0] == "1." and len(urgent[1].split()) <= 4, urgent
    assert " ".join(urgent) == " ".join(words)
    patient = await texts(TalkerOptions(min_ahead_ms=0))
    assert patient == ["1.", " ".join(words[1:])]


def test_the_first_clause_watch_says_yes_on_the_delta_that_releases_the_first_clause_only():
    deltas = ["The", " capital", " of", " France", " is", " Paris", ".", " It", " is", " big", ".", " "]
    watch, splitter = first_clause_watch(TalkerOptions()), ClauseSplitter(TalkerOptions())
    said = [watch(d) for d in deltas]
    released = [bool(splitter.push(d)) for d in deltas]
    assert said.index(True) == released.index(True) == deltas.index(" is")
    assert said.count(True) == 1 and released.count(True) > 1  # later clauses are the Talker's own business
