"""Turn-taking at the output: nothing of a turn's reply reaches the user before the turn is committed.

With speculation (VADOptions.speculate_ms) the reply is computed while the VAD is still waiting out its hangover.
`TurnGate`, the last stage, holds that turn's final transcript, text and audio (live partial transcripts pass) until
the turn is committed, then releases them in order; an `Interrupt` (the user spoke again, or barged in) drops what it
holds. Frames of a committed turn pass straight through. Commit and Settled are control frames: they overtake the
data still being produced.

A turn is committed by the VAD's `Commit` (the hangover passed in silence), or earlier, when `early_on_sentence_end`
is on, by its `Settled` (the post-roll after the pause held no sound) if the user has finished: the Thinker's
`EndOfTurn` judgement from the words (models/turn_detector.py) reaches `threshold`, or, from a Thinker that cannot
judge, the transcript ends a sentence ("...France?", "...today."). Why: the hangover exists to let a speaker pause
mid-sentence without being cut off; when what they said is finished the wait buys little and costs every turn
~150 ms. A turn judged unfinished ("How many legs does a") is the opposite case: the gate tells the VAD (`on_judged`,
the one signal that goes upstream), which then waits longer before it ends the turn, so that the rest of the
sentence joins it. If the speaker does go on after a released turn, the reply stops; soon enough after it
(VADOptions.rejoin_ms), the new turn holds the words before and after the pause and is answered once, whole
(the released turn is withdrawn: SpeechStarted.rejoins); later, the new words are a turn of their own.

With a `TurnClassifier` (runtime/turn_classifier.py) the Thinker's probability is not used alone: it is combined
with how the voice ended (the VAD's `voice`, runtime/prosody.py), the transcript's words and whether the assistant
had just asked a question (its last TextDone to pass the gate). That judgement waits for the turn's final
transcript, which follows the EndOfTurn at once. Where the voice is unknown the Thinker's probability decides, as
without a classifier: the classifier's weights were fitted with the voice present.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, AsyncIterator, Callable

from .frames import (AudioFrame, Commit, EndOfTurn, Frame, Interrupt, Settled, SpeechDone, SpeechStarted, TextDelta,
                     TextDone, Transcript)
from .stage import KEEP_TURNS, Stage, recent_turns
from .turn_classifier import asks

if TYPE_CHECKING:
    from .prosody import Prosody
    from .turn_classifier import TurnClassifier

HELD = (Transcript, TextDelta, TextDone, AudioFrame, SpeechDone)
FINISHED_AT = 0.0035  # the default EndOfTurn threshold (chosen on the tuning half of `omnirt bench turns`)
_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")


def ends_sentence(text: str) -> bool:
    """Does a transcript end with a full stop, question or exclamation mark (not "..." trailing off)?"""
    text = text.strip()
    return bool(_SENTENCE_END.search(text)) and not text.rstrip("\"')]").endswith("..")


class TurnGate(Stage):
    """threshold: an EndOfTurn probability at or above which the turn counts as finished (see `omnirt bench turns`
    for how it was chosen). on_judged(turn, finished, wait_ms): told each judgement (the VAD's `judged`; wait_ms:
    the classifier's middle wait for a doubtful turn, else None). classifier: combine
    the probability with the voice and the words (its own threshold applies); voice(turn): how the voice of the
    turn's utterance ended (the VAD's `voice`), None when unknown."""

    def __init__(self, early_on_sentence_end: bool = True, threshold: float = FINISHED_AT,
                 on_judged: Callable[[int, bool, int | None], None] | None = None, name: str = "gate",
                 classifier: TurnClassifier | None = None,
                 voice: Callable[[int], Prosody | None] | None = None) -> None:
        super().__init__(name)
        self.early_on_sentence_end, self.threshold, self.on_judged = early_on_sentence_end, threshold, on_judged
        self.classifier, self.voice = classifier, voice
        self.committed: set[int] = set()
        self.held: dict[int, list[Frame]] = {}
        self.settled: set[int] = set()  # turns whose post-roll was silent, waiting to be judged finished
        self.judged: dict[int, bool] = {}  # turn -> finished? by its latest judgement
        self.scores: dict[int, float] = {}  # turn -> the probability that judgement went by (for traces and tests)
        self.probs: dict[int, float] = {}  # turn -> the Thinker's EndOfTurn, waiting for the final transcript
        self.asked = False  # the last answer let out asked the user a question
        self._asked_before: dict[int, bool] = {}  # turn -> `asked` before its answer went out
        self.early: set[int] = set()  # turns released at Settled (for tests and traces)

    async def _release(self, turn: int) -> AsyncIterator[Frame]:
        """The turn's held frames in order. The queue stays open while they go out, so frames of the turn that
        arrive meanwhile join it behind them; only then does the turn count as committed (frames pass through)."""
        queue = self.held.setdefault(turn, [])
        while queue:
            yield self._out(queue.pop(0))
        self.held.pop(turn, None)
        self.committed = {t for t in self.committed if t > turn - KEEP_TURNS} | {turn}
        self.settled.discard(turn)
        self.judged, self.scores, self.probs = (recent_turns(d, turn) for d in (self.judged, self.scores, self.probs))
        self._asked_before = recent_turns(self._asked_before, turn)

    def _out(self, frame: Frame) -> Frame:
        """A frame on its way out: an answer that reaches the user sets the context of the next judgement."""
        if isinstance(frame, TextDone):
            self._asked_before.setdefault(frame.turn, self.asked)
            self.asked = asks(frame.text)
        elif isinstance(frame, SpeechStarted) and frame.rejoins in self._asked_before:
            self.asked = self._asked_before[frame.rejoins]  # that answer is withdrawn: the context is the one before
        return frame

    def _judge(self, turn: int) -> None:
        """Judge `turn` once its EndOfTurn is in (and, with a classifier, its final transcript); tell on_judged."""
        if turn not in self.probs:
            return
        prob = self.probs[turn]
        final = next((f for f in self.held.get(turn, []) if isinstance(f, Transcript) and f.final), None)
        if self.classifier is not None and final is None and turn not in self.committed:
            return  # the words come next
        voice = self.voice(turn) if self.voice is not None and self.classifier is not None else None
        wait = None
        if self.classifier is not None and final is not None and voice is not None:
            score = self.classifier.prob(prob, final.text, voice, self.asked, final.end_logprob)
            finished, wait = score >= self.classifier.threshold, self.classifier.wait_ms(score)
        else:
            score, finished = prob, prob >= self.threshold
        del self.probs[turn]
        self.judged[turn], self.scores[turn] = finished, score
        if self.on_judged is not None and turn not in self.committed:
            self.on_judged(turn, finished, wait)

    def _finished(self, turn: int) -> bool:
        if turn in self.judged:
            return self.judged[turn]
        final = next((f for f in self.held.get(turn, []) if isinstance(f, Transcript) and f.final), None)
        return final is not None and ends_sentence(final.text)

    async def _early(self, turn: int) -> AsyncIterator[Frame]:
        """Release a settled turn now if it is finished."""
        if turn in self.settled and turn not in self.committed and self._finished(turn):
            self.early.add(turn)
            async for f in self._release(turn):
                yield f

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, Commit):
            async for f in self._release(frame.turn):
                yield f
            yield frame
        elif isinstance(frame, Settled):
            if self.early_on_sentence_end and frame.turn not in self.committed:
                self.settled.add(frame.turn)
                async for f in self._early(frame.turn):
                    yield f
            yield frame
        elif isinstance(frame, EndOfTurn):
            self.probs[frame.turn] = frame.prob
            self._judge(frame.turn)
            async for f in self._early(frame.turn):
                yield f
            yield frame
        elif isinstance(frame, Interrupt):
            for t in [t for t in {*self.held, *self.settled, *self.judged, *self.probs} if frame.stops_turn(t)]:
                self.held.pop(t, None)
                self.settled.discard(t)  # a redone turn must settle again
                self.judged.pop(t, None)  # and be judged again, on all its words
                self.probs.pop(t, None)
            yield frame
        elif (isinstance(frame, HELD) and frame.turn > 0 and frame.turn not in self.committed
              and not (isinstance(frame, Transcript) and not frame.final)):  # partials are live feedback
            self.held.setdefault(frame.turn, []).append(frame)
            if isinstance(frame, Transcript):
                self._judge(frame.turn)
                async for f in self._early(frame.turn):
                    yield f
        else:
            yield self._out(frame)
