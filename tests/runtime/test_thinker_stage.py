"""The Thinker stage with scripted backends: streaming, conversation memory, failure and stall recovery,
cancellation, and keeping only what was heard. (Real-model behaviour is in test_reply_e2e and test_llama.)"""

import asyncio
from functools import partial


from omnirt.runtime.clock import now
from omnirt.runtime.frames import ErrorFrame, Interrupt, TextDelta, TextDone, Transcript, VisionContext
from omnirt.runtime.stage import Pipeline
from omnirt.runtime.testing import run_test
from omnirt.runtime.talker import TalkerOptions, first_clause_watch
from omnirt.runtime.thinker import ThinkerOptions, ThinkerStage


class Scripted:
    """Answers from a script; records what it was sent. `fail_on` raises mid-answer; `stall_on` stops answering."""

    def __init__(self, answers, fail_on=None, stall_on=None, delay=0.0):
        self.answers, self.fail_on, self.stall_on, self.delay = list(answers), fail_on, stall_on, delay
        self.seen = []

    async def stream(self, messages):
        self.seen.append(messages)
        n = len(self.seen)
        for i, word in enumerate(self.answers[n - 1].split(" ")):
            if n == self.fail_on and i == 2:
                raise ConnectionError("backend went away")
            if n == self.stall_on and i == 1:
                await asyncio.sleep(3600)
            await asyncio.sleep(self.delay)
            yield word if i == 0 else " " + word


async def test_streams_deltas_and_remembers_the_conversation():
    backend = Scripted(["Hello Ada.", "Your name is Ada."])
    stage = ThinkerStage(backend)
    out = await run_test(stage, [Transcript(text="I am Ada.", turn=1), Transcript(text="Who am I?", turn=2)])
    done = [f.text for f in out if isinstance(f, TextDone)]
    assert done == ["Hello Ada.", "Your name is Ada."]
    assert backend.seen[1] == [{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": "Hello Ada."},
                               {"role": "user", "content": "Who am I?"}]
    assert sum(isinstance(f, TextDelta) for f in out) == 2 + 4


async def test_empty_and_partial_transcripts_are_not_answered():
    backend = Scripted(["x"])
    out = await run_test(ThinkerStage(backend), [Transcript(text="  ", turn=1), Transcript(text="hi", final=False)])
    assert backend.seen == [] and [f.kind for f in out] == ["Transcript", "Transcript"]


async def test_failing_backend_apologises_and_the_session_goes_on():
    backend = Scripted(["one two three four", "fine thanks"], fail_on=1)
    out = await run_test(ThinkerStage(backend), [Transcript(text="a", turn=1), Transcript(text="b", turn=2)])
    errors = [f for f in out if isinstance(f, ErrorFrame)]
    assert len(errors) == 1 and "backend went away" in errors[0].message
    done = [f.text for f in out if isinstance(f, TextDone)]
    assert done[0] == "one two " .strip() + " " + ThinkerOptions().apology
    assert done[1] == "fine thanks"


async def test_stalled_backend_times_out_with_apology():
    backend = Scripted(["never finishes", "ok"], stall_on=1)
    stage = ThinkerStage(backend, ThinkerOptions(stall_timeout_s=0.2))
    out = await asyncio.wait_for(run_test(stage, [Transcript(text="a", turn=1), Transcript(text="b", turn=2)]), 5)
    assert any(isinstance(f, ErrorFrame) and "stalled" in f.message for f in out)
    assert [f.text for f in out if isinstance(f, TextDone)][1] == "ok"


async def test_interrupted_answer_keeps_what_was_generated_then_what_was_heard():
    backend = Scripted(["one two three four five six seven eight", "next"], delay=0.02)
    stage = ThinkerStage(backend)
    async with Pipeline([stage]) as p:
        await p.push(Transcript(text="count", turn=1))
        async for f in p.frames():
            if isinstance(f, TextDelta) and f.text.strip() == "three":
                await p.push(Interrupt())
            if isinstance(f, Interrupt):
                break
    assert stage.exchanges[0].answer == "one two three"
    stage.set_answer(1, "one two...")
    assert stage.history[1] == {"role": "assistant", "content": "one two..."}


async def test_history_is_trimmed_in_blocks_so_the_prompt_prefix_stays_stable():
    answers = [f"answer number {i} " + "x" * 40 for i in range(12)]
    backend = Scripted(answers)
    stage = ThinkerStage(backend, ThinkerOptions(history_chars=400))
    await run_test(stage, [Transcript(text=f"question {i}", turn=i + 1) for i in range(12)])
    prefixes_kept = 0
    for before, after in zip(backend.seen, backend.seen[1:]):
        if after[:len(before) - 1] == before[:-1]:  # the earlier prompt (less its question) starts the next one
            prefixes_kept += 1
    trims = len(backend.seen) - 1 - prefixes_kept
    assert 1 <= trims <= 3, f"history was cut {trims} times in 12 turns"
    assert sum(len(m["content"]) for m in backend.seen[-1][:-1]) <= 400


class Prefilling(Scripted):
    def __init__(self, answers):
        super().__init__(answers)
        self.prefilled = []
        self.stops = []

    async def prefill(self, messages, stop=None):
        self.prefilled.append(messages)
        self.stops.append(stop)


async def test_partial_transcripts_are_prefilled_with_the_history_but_never_answered():
    backend = Prefilling(["Hello Ada.", "Paris."])
    frames = [Transcript(text="I am Ada.", turn=1), Transcript(text="What is the capital", final=False, turn=2),
              Transcript(text="What is the capital of France?", turn=2)]
    out = await run_test(ThinkerStage(backend), frames)
    assert [f.text for f in out if isinstance(f, TextDone)] == ["Hello Ada.", "Paris."]
    assert backend.prefilled == [[{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": "Hello Ada."},
                                  {"role": "user", "content": "What is the capital"}]]
    assert backend.stops[0].is_set()  # the final words came: the read-ahead is told to give up
    off = Prefilling(["x"])
    await run_test(ThinkerStage(off, ThinkerOptions(prefill=False)), [Transcript(text="hi", final=False)])
    assert off.prefilled == []


class Judging(Scripted):
    """A backend that also judges whether the user has finished: finished when the words end in a question."""

    def __init__(self, answers, fail=False):
        super().__init__(answers)
        self.judged, self.fail = [], fail

    async def end_of_turn(self, history, text):
        self.judged.append((list(history), text))
        if self.fail:
            raise RuntimeError("no logits")
        return 0.9 if text.endswith("?") else 0.0001


async def test_a_judging_backend_sends_its_judgement_ahead_of_the_transcript_with_the_answer_s_history():
    from omnirt.runtime.frames import EndOfTurn

    backend = Judging(["Hi.", "Paris."])
    out = await run_test(ThinkerStage(backend), [Transcript(text="Hello", turn=1),
                                                  Transcript(text="What is the capital of France?", turn=2)])
    kinds = [f.kind for f in out]
    assert kinds.count("EndOfTurn") == 2
    assert kinds.index("EndOfTurn") < kinds.index("Transcript")
    assert [round(f.prob, 4) for f in out if isinstance(f, EndOfTurn)] == [0.0001, 0.9]
    # judged with the history the answer is asked with, so the model's cache keeps it for the answer
    assert backend.judged[1][0] == backend.seen[1][:-1]
    backend = Judging(["Hi."], fail=True)  # a failing judgement costs nothing: the turn is answered
    out = await run_test(ThinkerStage(backend), [Transcript(text="Hello", turn=1)])
    assert [f.kind for f in out if f.kind in ("EndOfTurn", "TextDone")] == ["TextDone"]


class JudgingWithAnswer(Judging):
    """A backend that can read the answer's prompt with its judgement (as LlamaChat does)."""

    async def end_of_turn(self, history, text, answer=None):
        self.answers_read = getattr(self, "answers_read", []) + [answer]
        return await super().end_of_turn(history, text)


async def test_the_judgement_is_given_the_answer_s_messages_unless_the_question_is_about_the_view():
    backend = JudgingWithAnswer(["Hi.", "Paris.", "A card."])
    seen = VisionContext(text="EXIT", ts=now())
    look = lambda question: asyncio.sleep(0, result=seen)  # noqa: E731
    await run_test(ThinkerStage(backend, look=look),
                   [Transcript(text="Hello", turn=1), Transcript(text="What is the capital of France?", turn=2),
                    Transcript(text="What does this say?", turn=3)])
    assert backend.answers_read[:2] == backend.seen[:2]  # exactly the messages the answer was then asked with
    assert backend.answers_read[2] is None and "EXIT" in backend.seen[2][-1]["content"]  # read after the look


class HandsOver(Scripted):
    """A backend that takes `hands_over` (as ThreadedChat does) and records which deltas it said True for."""

    def __init__(self, answers):
        super().__init__(answers)
        self.handed: list[list[str]] = []

    async def stream(self, messages, hands_over=None):
        self.handed.append([])
        async for delta in super().stream(messages):
            if hands_over is not None and hands_over(delta):
                self.handed[-1].append(delta)
            yield delta


async def test_the_backend_is_told_which_delta_lets_the_talker_speak_the_first_clause_of_each_answer():
    backend = HandsOver(["The capital of France is Paris. It is big.", "Yes."])
    stage = ThinkerStage(backend, first_clause=partial(first_clause_watch, TalkerOptions()))
    await run_test(stage, [Transcript(text="Capital of France?", turn=1), Transcript(text="Really?", turn=2)])
    assert backend.handed == [[" is"], []]  # "The capital of France" goes once " is" has begun; "Yes." only at the end
    plain = Scripted(["Hello."])  # a backend whose stream takes no `hands_over` is called as before
    out = await run_test(ThinkerStage(plain, first_clause=partial(first_clause_watch, TalkerOptions())),
                         [Transcript(text="Hi", turn=1)])
    assert [f.text for f in out if isinstance(f, TextDone)] == ["Hello."]


def test_what_was_said_before_a_turn_is_its_last_exchange_with_a_heard_answer():
    from omnirt.runtime.thinker import Exchange

    stage = ThinkerStage(None)
    assert stage.said_before(1) == ""
    stage.exchanges = [Exchange(0, "What is the capital of France?", "Paris."), Exchange(1, "And of", ""),
                       Exchange(2, "And of Spain?", "Madrid, which")]
    assert stage.said_before(1) == "What is the capital of France? Paris."
    assert stage.said_before(2) == "What is the capital of France? Paris."  # (turn 1's answer was not heard)
    assert stage.said_before(3) == "And of Spain? Madrid, which"  # a turn's own speculative exchange never counts
