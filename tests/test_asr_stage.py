"""The ASR stage with a scripted recogniser: finals, live partials that never delay the final, the gate."""

import asyncio
import time
from types import SimpleNamespace

import numpy as np

from omnirt.runtime.frames import (AudioFrame, Commit, PartialUtterance, SpeechEnded, Transcript)
from omnirt.runtime.asr import ASRStage, sentence_case
from omnirt.runtime.stage import Pipeline
from omnirt.runtime.testing import run_test
from omnirt.runtime.turn import TurnGate


class Recorder:
    """Says how many seconds of audio it got; takes `delay` seconds like a real decode."""

    def __init__(self, delay=0.05):
        self.delay, self.calls, self.busy, self.overlap = delay, 0, False, False

    def transcribe(self, audio):
        self.overlap |= self.busy
        self.busy = True
        self.calls += 1
        time.sleep(self.delay)
        self.busy = False
        return SimpleNamespace(text=f"{audio.size / 16000:.1f} seconds")


def utterance(seconds, turn=1, partial=False):
    audio = np.zeros(int(seconds * 16000), np.float32)
    if partial:
        return PartialUtterance(turn=turn, audio=audio)
    return SpeechEnded(turn=turn, audio=audio, audio_start=0, audio_end=seconds, speech_end_wall=0)


def mic(n=1):
    return [AudioFrame(pcm=np.zeros(320, np.int16), sample_rate=16000) for _ in range(n)]


async def test_final_transcript_and_audio_consumed():
    out = await run_test(ASRStage(Recorder()), [*mic(3), utterance(1.5), *mic(2)], expected=[Transcript])
    assert out[0].text == "1.5 seconds" and out[0].final


async def test_partials_come_out_and_never_run_beside_the_final():
    rec = Recorder(delay=0.08)
    stage = ASRStage(rec)
    got = []
    async with Pipeline([stage]) as p:
        async def consume():
            async for f in p.frames():
                got.append(f)

        task = asyncio.create_task(consume())
        for k in range(1, 4):
            await p.push(utterance(k * 0.7, partial=True))
            for f in mic(6):  # 120 ms of microphone between partials
                await p.push(f)
                await asyncio.sleep(0.02)
        await p.push(utterance(2.5))  # while the last partial may still run
        for f in mic(10):
            await p.push(f)
            await asyncio.sleep(0.02)
        task.cancel()
    partials = [f for f in got if isinstance(f, Transcript) and not f.final]
    finals = [f for f in got if isinstance(f, Transcript) and f.final]
    assert partials and finals[0].text == "2.5 seconds"
    assert got.index(finals[0]) > max(got.index(f) for f in partials)  # no partial after the final
    assert not rec.overlap, "a partial decode ran beside another decode"


async def test_gate_lets_partials_through_and_holds_the_final():
    frames = [Transcript(text="so far", final=False, turn=1), Transcript(text="all", turn=1)]
    gate = TurnGate()
    outs = [[o async for o in gate.process(f)] for f in frames]
    assert [o.text for o in outs[0]] == ["so far"] and outs[1] == []
    released = [o async for o in gate.process(Commit(turn=1, spoken=True))]
    assert [o.kind for o in released] == ["Transcript", "Commit"]


class Cancellable(Recorder):
    """A slow partial decode that stops within a few ms when its cancel token is set."""

    def transcribe(self, audio, cancel=None):
        from omnirt.runtime.threads import Cancelled

        if cancel is None or audio.size >= 2 * 16000:  # the final (2 s of audio here) runs normally
            return super().transcribe(audio)
        self.calls += 1
        for _ in range(100):  # 1 s unless cancelled
            if cancel.is_set():
                self.cancelled = getattr(self, "cancelled", 0) + 1
                raise Cancelled("stop")
            time.sleep(0.01)
        return SimpleNamespace(text="late partial")


async def test_final_cancels_a_running_partial_instead_of_waiting_for_it():
    rec = Cancellable(delay=0.05)
    got = []
    async with Pipeline([ASRStage(rec)]) as p:
        async def consume():
            async for f in p.frames():
                got.append(f)

        task = asyncio.create_task(consume())
        await p.push(utterance(1.0, partial=True))
        await p.push(mic(1)[0])
        await asyncio.sleep(0.05)  # the partial is decoding now
        t0 = time.perf_counter()
        await p.push(utterance(2.0))
        while not any(isinstance(f, Transcript) and f.final for f in got) and time.perf_counter() - t0 < 3:
            await asyncio.sleep(0.005)
        waited = time.perf_counter() - t0
        task.cancel()
    assert getattr(rec, "cancelled", 0) == 1
    assert [f.text for f in got if isinstance(f, Transcript)] == ["2.0 seconds"]  # no late partial
    assert waited < 0.5, waited  # not the partial's remaining ~0.95 s


class Stoppable(Recorder):
    """Every decode takes 1 s unless its cancel token is set; records the decodes that were stopped."""

    def __init__(self):
        super().__init__()
        self.stopped = []

    def transcribe(self, audio, cancel=None):
        from omnirt.runtime.threads import Cancelled

        for _ in range(100):
            if cancel is not None and cancel.is_set():
                self.stopped.append(audio.size / 16000)
                raise Cancelled("stop")
            time.sleep(0.01)
        return SimpleNamespace(text=f"{audio.size / 16000:.1f} seconds")


async def test_an_interrupt_stops_the_final_decode_in_its_thread():
    # A speculative end of turn that the user talked on through: the Interrupt must free the core at once.
    from omnirt.runtime.frames import Interrupt

    rec = Stoppable()
    async with Pipeline([ASRStage(rec)]) as p:
        await p.push(utterance(1.2))
        await asyncio.sleep(0.05)  # decoding now
        await p.push(Interrupt(reason="resume", turn=1))
        for _ in range(100):
            if rec.stopped:
                break
            await asyncio.sleep(0.005)
    assert rec.stopped == [1.2]


async def test_the_final_decode_claims_the_foreground_and_a_partial_does_not():
    """Background work (the Thinker's read-ahead) gives way while the final words are decoded, not for partials."""
    from omnirt.runtime.threads import FOREGROUND

    class Watching(Recorder):
        def __init__(self):
            super().__init__(delay=0.02)
            self.claimed = []

        def transcribe(self, audio):
            self.claimed.append(FOREGROUND.busy)
            return super().transcribe(audio)

    rec = Watching()
    stage = ASRStage(rec)
    await run_test(stage, [utterance(1.0, partial=True)])
    await asyncio.sleep(0.1)  # the partial decodes in the background
    await run_test(stage, [utterance(1.0)])
    assert rec.claimed == [False, True] and not FOREGROUND.busy


class Clipped:
    """Hears a word clipped when the audio ends in digital silence (a speculative cut), with low confidence."""

    def __init__(self, heard="how many legs does a spider have", clipped="how many legs does a spider has",
                 clipped_logprob=-1.1):
        self.heard, self.clipped, self.clipped_logprob, self.calls = heard, clipped, clipped_logprob, 0

    def transcribe(self, audio):
        self.calls += 1
        if np.abs(audio[-1600:]).max() == 0:
            return SimpleNamespace(text=self.clipped + "?", end_logprob=self.clipped_logprob)
        return SimpleNamespace(text=self.heard.capitalize() + "?", end_logprob=-0.3)


def speculative(audio, turn=1, post_roll_follows=True):
    return SpeechEnded(turn=turn, audio=audio, audio_start=0, audio_end=1, speech_end_wall=0, speculative=True,
                       post_roll_follows=post_roll_follows)


async def heard_by(stage, frames):
    """What the stage makes of each frame in turn (its logic without a pipeline's overtaking)."""
    return [f for frame in frames async for f in stage.process(frame)]


async def test_an_unsure_last_word_is_checked_against_the_post_roll_and_the_turn_redone_when_it_differs():
    from omnirt.runtime.frames import PostRoll, Settled

    voice = np.full(16000, 0.1, np.float32)
    cut = np.concatenate([voice, np.zeros(3200, np.float32)])  # the post-roll not heard yet: zeros
    heard = PostRoll(turn=1, audio=np.concatenate([voice, np.full(3200, 0.01, np.float32)]))  # it held the /v/
    frames = [speculative(cut), Settled(turn=1), Commit(turn=1, spoken=True), heard]  # (control overtakes data)
    rec = Clipped()
    out = await heard_by(ASRStage(rec), frames)
    assert [f.kind for f in out] == ["Transcript", "Interrupt", "Transcript", "Settled", "Commit"]
    assert out[1].reason == "resume" and out[2].text == "How many legs does a spider have?" and rec.calls == 2
    assert (out[0].end_logprob, out[2].end_logprob) == (-1.1, -0.3)  # each transcript says how sure its end was
    same = Clipped(clipped="how many legs does a spider have")  # the same words, only unsure: confirmed
    out = await heard_by(ASRStage(same), frames)
    assert [f.kind for f in out] == ["Transcript", "Settled", "Commit"] and same.calls == 2
    sure = Clipped(clipped="how many legs does a spider hat", clipped_logprob=-0.45)  # a confident error
    out = await heard_by(ASRStage(sure), frames)
    assert [f.kind for f in out] == ["Transcript", "Settled", "Commit"] and sure.calls == 1  # no check, no wait
    in_sound = SpeechEnded(**{**vars(frames[0]), "cut_in_sound": True})  # ... unless cut where sound went on
    sure = Clipped(clipped="how many legs does a spider hat", clipped_logprob=-0.45)
    out = await heard_by(ASRStage(sure), [in_sound, *frames[1:]])
    assert [f.kind for f in out] == ["Transcript", "Interrupt", "Transcript", "Settled", "Commit"]
    off = ASRStage(Clipped(), check_below=None)
    assert [f.kind for f in await heard_by(off, frames)] == ["Transcript", "Settled", "Commit"]
    assert off.recognizer.calls == 1
    final = ASRStage(Clipped())
    assert [f.kind for f in await heard_by(final, [utterance(1.0), Commit(turn=1, spoken=True), heard])] == [
        "Transcript", "Commit"] and final.recognizer.calls == 1  # not speculative: nothing to check
    heard_all = ASRStage(Clipped())  # a speculation sent with its post-roll heard: no PostRoll comes, none waited for
    assert [f.kind for f in await heard_by(heard_all, [speculative(cut, post_roll_follows=False), *frames[1:3]])] == [
        "Transcript", "Settled", "Commit"]


async def test_a_turn_s_settled_and_commit_wait_for_its_check_and_an_interrupt_lets_the_commit_go():
    from omnirt.runtime.frames import Interrupt, PostRoll, Settled

    stage = ASRStage(Clipped())
    cut = np.concatenate([np.full(16000, 0.1, np.float32), np.zeros(3200, np.float32)])
    assert [f.kind for f in await heard_by(stage, [speculative(cut)])] == ["Transcript"]  # unsure: to be checked
    assert [f.kind for f in await heard_by(stage, [Settled(turn=1), Commit(turn=1, spoken=True)])] == []  # held for it
    out = await heard_by(stage, [Interrupt(reason="barge-in", turn=1), PostRoll(turn=1, audio=cut)])
    assert [f.kind for f in out] == ["Commit", "Interrupt"]  # the turn still ends; its check is dropped
    typed = ASRStage(Clipped())  # no VAD in front (a transcript typed in): its Commit is not held
    assert [f.kind for f in await heard_by(typed, [Commit(turn=5)])] == ["Commit"]
    assert [f.kind for f in await heard_by(ASRStage(Clipped()), [Commit(turn=5, spoken=True)])] == []
    queued = ASRStage(Clipped())  # a Commit that overtook its turn's queued utterance waits for its words
    heard = np.concatenate([cut[:16000], np.full(3200, 0.01, np.float32)])
    frames = [utterance(1.0), Commit(turn=2, spoken=True), speculative(cut, turn=2), PostRoll(turn=2, audio=heard)]
    out = await heard_by(queued, frames)
    assert [f.kind for f in out] == ["Transcript", "Transcript", "Interrupt", "Transcript", "Commit"]


class Lowercase:
    """Whisper's habit: the partial in capitals, the final of the same words not ("how many days ...")."""

    def transcribe(self, audio):
        return SimpleNamespace(text=" how many days are there in a week?" if audio.size > 16000 else "How many days?")


async def test_partials_and_finals_begin_in_capitals_so_the_thinker_s_read_ahead_of_the_partial_is_kept():
    out = await run_test(ASRStage(Lowercase()), [utterance(1.0, partial=True), *mic(2), utterance(2.0)])
    texts = [(f.final, f.text) for f in out if isinstance(f, Transcript)]
    assert texts == [(False, "How many days?"), (True, "How many days are there in a week?")]
    assert sentence_case("42 is it") == "42 is it" and sentence_case("") == ""


async def test_every_decode_of_a_turn_reads_what_was_said_before_it():
    class Listener:
        def __init__(self):
            self.contexts = []

        def transcribe(self, audio, draft=False, context="(none given)"):
            self.contexts.append(context)
            return SimpleNamespace(text="what is the capital of spain")

    rec = Listener()
    stage = ASRStage(rec, context=lambda turn: f"the exchange before turn {turn}" if turn > 1 else "")
    await heard_by(stage, [utterance(1.0, turn=2, partial=True)])
    await stage._partial  # (the partial decodes in the background)
    await heard_by(stage, [utterance(1.5, turn=2), utterance(1.0, turn=1), utterance(0.6, turn=3)])
    assert rec.contexts == ["the exchange before turn 2"] * 2 + ["(none given)"] * 2  # nothing before: no context;
    # a short reply ("Yes.") is heard alone: too little sound to outweigh the context
    alone = Listener()
    await heard_by(ASRStage(alone), [utterance(1.0, turn=2)])  # no context given to the stage: none passed on
    assert alone.contexts == ["(none given)"]
    await heard_by(ASRStage(Recorder(), context=lambda turn: "before"), [utterance(1.0)])  # (a recogniser that
    # takes no context is called as before)
    # a partial is judged by its speech from the onset, as its final is, not by its pre-roll as well
    rec = Listener()
    stage = ASRStage(rec, context=lambda turn: "before")
    for speech_s in (0.9, 1.1):
        await heard_by(stage, [PartialUtterance(turn=2, audio=np.zeros(int((speech_s + 0.2) * 16000), np.float32),
                                                speech_s=speech_s)])
        await stage._partial
    assert rec.contexts == ["(none given)", "before"]
