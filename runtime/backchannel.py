"""A listener's "mm-hm", "yeah" or "okay" while the assistant talks: not a turn, and not a barge-in.

Why: the VAD holds the reply at the user's first sound (UserSound) and cancels it once the sound has lasted its
min_speech_ms (Interrupt, "barge-in"). A backchannel lasts longer than that, so it used to cut the assistant off
mid-sentence and then be answered as if it were a question. Only the words tell "mm-hm" from "wait, what?".

`BackchannelGate` sits between the recogniser and the Thinker. A barge-in that comes while a reply is being heard
(between that turn's `Playing` and `Played`, which the output sends back to the pipeline's head) is held back until
the interrupting utterance's words are known; meanwhile the reply stays held, so the user still hears silence
within a chunk of their first sound. Then:
- words that are only a backchannel, or no words at all (a cough, a laugh, a chair), release the hold: the reply
  plays on from where it stopped, and the utterance goes no further (the Thinker never answers it; the VAD is told
  it is finished, so it ends it after the ordinary hangover);
- any other words, or none within `decide_s` (no backchannel lasts that long: the user is talking), let the
  barge-in through, and the frames held meanwhile follow it in their order, as if nothing had waited.
If the user goes on after a backchannel (the VAD or the recogniser resumes that utterance), it is judged again on
all its words. An utterance that goes on an earlier turn (SpeechStarted.rejoins: the user spoke soon after their
request was answered) holds that turn's words too; it is judged on the words after them, so "yeah, right" said
just after a question still lets its answer play on. LiveKit's agents resume a "false interruption" in the same
spirit, on the absence of words alone.

An utterance that began later in the reply but may still go on the turn before (SpeechStarted.may_rejoin,
VADOptions.rejoin_words_ms) is judged a third way: words that do not start a request of their own
(runtime/continuation.py: "the top floor", "in the morning") go on that turn. The barge-in goes through (the reply
stops), the utterance is sent on as joining it (SpeechStarted.rejoins: the earlier exchange is withdrawn) and each
of its transcripts carries the earlier turn's words before its own (both parts heard as one, Transcript.whole, where
the recogniser gave them), so the request is answered once, whole. Words
that start a request ("What is two plus three?") are a barge-in as before. Its partial transcripts decide only when
they start a request; otherwise the words wait for the final transcript, at most `join_decide_s`.

The held barge-in waits in the stage's control lane, so control frames behind it (a Commit of the same utterance,
another Interrupt) wait with it, at most `decide_s` (`join_decide_s`); the data lane goes on, which is how the words
arrive.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from dataclasses import dataclass, replace
from typing import AsyncIterator, Callable, Sequence

from .clock import now
from .continuation import continues, starts_request
from .frames import EndOfStream, Frame, Interrupt, Played, Playing, SpeechStarted, Transcript, UserSound
from .stage import Stage, recent_turns

# Words a listener says to show they are following, and the noises a recogniser writes for a hum or a breath.
# Not here on purpose: "no", "wait", "stop", "but", "what", "sorry": those ask the assistant to stop.
BACKCHANNEL_WORDS = frozenset("""
    mm mmm mhm hm hmm uh um huh ah aha oh ooh wow
    yeah yea yes yep yup ya ok okay right sure alright
    i see got it cool nice great true exactly indeed gotcha interesting
    go on thanks thank you
""".split())
MAX_WORDS = 4  # "yeah, yeah, I see" still is one; a longer run of them is someone about to speak
NOT_BACKCHANNELS = ("uh uh", "nuh uh")  # said "uh-uh": no
_WORD = re.compile(r"[a-z0-9]+")
_HUM = re.compile(r"[mhn]*m[mhn]*")  # a hum written as letters: "M-M-H-M", "mmhm", "hmm"


def words_of(text: str) -> list[str]:
    """Lower-case words and numbers, hyphenated noises split ("Mm-hmm" -> mm, hmm; "uh-huh" -> uh, huh)."""
    return _WORD.findall(text.lower())


def words_after(before: str, text: str) -> str:
    """The words of `text` after the last of those it shares, in order, with `before`: what a joined utterance's
    transcript adds to the transcript of the turn it went on."""
    old, new = words_of(before), words_of(text)
    shared = [b for b in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_matching_blocks() if b.size]
    return " ".join(new[shared[-1].b + shared[-1].size:] if shared else new)


def is_backchannel(text: str) -> bool:
    """Are these words only a backchannel, a hum, or no words at all?"""
    words = words_of(text)
    if " ".join(words) in NOT_BACKCHANNELS:
        return False
    if all(_HUM.fullmatch(w) or w == "h" for w in words):
        return True
    return len(words) <= MAX_WORDS and all(w in BACKCHANNEL_WORDS or _HUM.fullmatch(w) for w in words)


@dataclass(frozen=True)
class BackchannelOptions:
    """enabled: hold a barge-in during a reply until its words are known (False: every barge-in cuts at once).
    decide_s: the longest a barge-in waits for its words; then it cuts the reply as before. It must cover a
        short backchannel's end, the VAD's speculation and one recognition on a busy host.
    hold_every_s: the hold is renewed this often while the words are awaited: an output ends a hold by itself
        after about a second, so that a lost release cannot mute the assistant.
    join_decide_s: the longest the words of an utterance that may go on the turn before are awaited (its final
        transcript comes after its end: the rest of a request may take a second to say); then it is a barge-in."""

    enabled: bool = True
    decide_s: float = 1.5
    hold_every_s: float = 0.4
    join_decide_s: float = 2.5


class BackchannelGate(Stage):
    """See the module docstring. on_judged(turn, finished): told that a backchannel's utterance is finished (the
    VAD's `backchannel`), since no Thinker will judge it, and that it was no request. `heard`: (turn, words) of
    each backchannel let pass.

    Frames of one utterance can reach this stage out of the order they were made in, because control frames queue
    behind a held barge-in while data goes on: so every judged utterance keeps the creation time of the newest
    words judged (`_words_at`), and an `Interrupt` "resume" made before them is stale (the words that followed it
    are in hand) and goes no further."""

    def __init__(self, options: BackchannelOptions = BackchannelOptions(),
                 on_judged: Callable[[int, bool], None] | None = None, name: str = "backchannel") -> None:
        super().__init__(name)
        self.o, self.on_judged = options, on_judged
        self.playing: set[int] = set()  # turns whose reply is being heard
        self.dropped: set[int] = set()  # utterances judged a backchannel: what else comes of them goes no further
        self.heard: list[tuple[int, str]] = []
        self._deciding: int | None = None  # the interrupting utterance whose words are awaited
        self._held: list[Frame] = []
        self._verdict: str | None = None  # "backchannel" or "barge-in"
        self._words_at: dict[int, float] = {}
        self._joins: dict[int, int] = {}  # utterance -> the earlier turn it goes on (SpeechStarted.rejoins)
        self._finals: dict[int, str] = {}  # turn -> its latest final transcript, for the utterance that joins it
        self._may: dict[int, tuple[int, float]] = {}  # utterance -> (the turn it may go on, reply heard s)
        self._before: dict[int, str] = {}  # utterance gone on a turn by its words -> that turn's words
        self._waiting: dict[int, list[Frame]] = {}  # utterance that may go on, no reply held -> its frames so far
        self._decided = asyncio.Event()
        self._released = asyncio.Event()

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, SpeechStarted) and frame.rejoins:
            self._joins = recent_turns(self._joins, frame.turn) | {frame.turn: frame.rejoins}
            if frame.rejoins in self._before:  # it goes on an utterance that went on a turn by its words
                self._before[frame.turn] = self._before[frame.rejoins]
        elif isinstance(frame, SpeechStarted) and frame.may_rejoin:
            self._may = recent_turns(self._may, frame.turn) | {frame.turn: (frame.may_rejoin, frame.reply_heard_s)}
        elif isinstance(frame, Transcript):
            frame = self._with_words_before(frame)
        if isinstance(frame, (SpeechStarted, EndOfStream)):  # words that never came: a new turn of its own
            for turn in [t for t in self._waiting if isinstance(frame, EndOfStream) or t < frame.turn]:
                for out in self._after_words(turn, "barge-in"):
                    yield out
        if isinstance(frame, Playing):
            self.playing.add(frame.turn)
        elif isinstance(frame, Played):
            self.playing.discard(frame.turn)
        elif isinstance(frame, Interrupt):
            async for out in self._interrupt(frame):
                yield out
            return
        elif isinstance(frame, EndOfStream):
            if self._deciding is not None:  # nothing more will come to decide by: let it all through first
                self._decide("barge-in")
                await self._released.wait()
        elif self._deciding is not None and frame.turn >= self._deciding:
            self._held.append(frame)
            if isinstance(frame, Transcript) and frame.turn == self._deciding:
                self._decide(self._judge(frame))
            return
        elif frame.turn in self.dropped and not isinstance(frame, UserSound):
            async for out in self._after_backchannel(frame):
                yield out
            return
        elif isinstance(frame, (SpeechStarted, Transcript)) and self._may_go_on(frame.turn):
            # No reply was held for it (none playing: a file's reply is written at once): its start and words
            # wait here for the words that decide whether it goes on the turn before.
            self._waiting.setdefault(frame.turn, []).append(frame)
            verdict = self._judge(frame) if isinstance(frame, Transcript) else None
            for out in self._after_words(frame.turn, verdict) if verdict else []:
                yield out
            return
        yield frame

    def _with_words_before(self, transcript: Transcript) -> Transcript:
        """The transcript with the words of the turn it went on, where it went on one by its words; a final one is
        kept as its turn's words."""
        # Words that now start a request of their own keep to themselves: a later decode heard more of the utterance
        # than the one that joined it (its first words, at a pause). Heard whole with the turn where it could be.
        if transcript.turn in self._before and not starts_request(transcript.text):
            text = transcript.whole or f"{self._before[transcript.turn]} {transcript.text}".strip()
            transcript = replace(transcript, text=text)
        if transcript.final:
            self._finals = recent_turns(self._finals, transcript.turn) | {transcript.turn: transcript.text}
        return transcript

    def _judge(self, transcript: Transcript) -> str | None:
        """A verdict on these words: "backchannel", "barge-in", "goes on" (the rest of the turn before), or None
        (a partial that may still be one)."""
        joined = self._joins.get(transcript.turn)
        text = transcript.text if joined is None else words_after(self._finals.get(joined, ""), transcript.text)
        goes_on = self._may_go_on(transcript.turn) and continues(text)
        if transcript.final:
            self._words_at = recent_turns(self._words_at, transcript.turn) | {transcript.turn: transcript.ts}
            return "backchannel" if is_backchannel(text) else "goes on" if goes_on else "barge-in"
        return "barge-in" if text.strip() and not is_backchannel(text) and not goes_on else None

    def _may_go_on(self, utterance: int) -> bool:
        """May this utterance still go on the turn before it by its words (whose words are known)?"""
        return utterance in self._may and self._may[utterance][0] in self._finals and utterance not in self._before

    def _after_words(self, utterance: int, verdict: str, held: Sequence[Frame] = ()) -> list[Frame]:
        """The held frames of an utterance once its words decided (those that waited without a hold first): as
        they were, or, when they go on the turn before, announced as joining it with that turn's words first in
        each transcript."""
        held = [*self._waiting.pop(utterance, []), *held]
        if verdict != "goes on" or not self._may_go_on(utterance):
            self._may.pop(utterance, None)
            return held
        turn, heard = self._may.pop(utterance)
        self._before[utterance] = self._finals[turn]
        self._joins = recent_turns(self._joins, utterance) | {utterance: turn}
        start = SpeechStarted(turn=utterance, rejoins=turn, reply_heard_s=heard)
        out: list[Frame] = [] if any(isinstance(f, SpeechStarted) and f.turn == utterance for f in held) else [start]
        for f in held:
            if isinstance(f, SpeechStarted) and f.turn == utterance:
                f = replace(f, rejoins=turn, may_rejoin=0)
            elif isinstance(f, Transcript) and f.turn == utterance:
                f = self._with_words_before(f)
            out.append(f)
        return out

    def _decide(self, verdict: str | None) -> None:
        if verdict is not None and self._verdict is None:
            self._verdict = verdict
            self._decided.set()

    async def _after_backchannel(self, frame: Frame) -> AsyncIterator[Frame]:
        """More of an utterance judged a backchannel: newer words are judged again (a cut if they say more);
        anything else of it (its Commit, Settled, speech events) goes no further."""
        if not isinstance(frame, Transcript) or frame.ts <= self._words_at.get(frame.turn, 0.0):
            return
        if self._judge(frame) == "barge-in":
            self.dropped.discard(frame.turn)
            self._words_at[frame.turn] = frame.ts
            yield Interrupt(reason="barge-in", turn=frame.turn - 1, keeps_later=True)
            yield frame
        elif frame.final:
            self.heard.append((frame.turn, frame.text))

    async def _interrupt(self, frame: Interrupt) -> AsyncIterator[Frame]:
        if frame.reason == "resume" and frame.ts < self._words_at.get(frame.turn, 0.0):
            return  # made before the words already judged (it waited behind them): nothing new
        if frame.reason == "barge-in" and self.o.enabled and self.playing and self._deciding is None:
            utterance, cut = frame.turn + 1, frame  # the VAD numbers the new utterance after the interrupt
        elif frame.reason == "resume" and frame.turn in self.dropped:  # the user went on after a backchannel
            self.dropped.discard(frame.turn)
            utterance, cut = frame.turn, Interrupt(reason="barge-in", turn=frame.turn - 1, keeps_later=True)
        else:
            yield frame
            return
        self._deciding, self._held, self._verdict = utterance, [], None
        self._decided.clear()
        self._released.clear()
        try:
            async for out in self._await_words(cut.turn):
                yield out
            held, self._held, self._deciding = self._held, [], None
            if self._verdict == "backchannel":
                self.dropped.add(utterance)
                self._may.pop(utterance, None)  # a listener's "mm-hm" goes on no request, whatever follows it
                self.heard.append((utterance, next(f.text for f in reversed(held) if isinstance(f, Transcript))))
                if self.on_judged is not None:
                    self.on_judged(utterance, True)
                yield UserSound(active=False, turn=cut.turn)
            else:
                yield cut
                for out in self._after_words(utterance, self._verdict or "barge-in", _newest_words(held, utterance)):
                    yield out
        finally:
            self._deciding = None
            self._released.set()

    async def _await_words(self, turn: int) -> AsyncIterator[Frame]:
        """Keep the reply held until the words decide, or `decide_s` passes (then: a barge-in); `join_decide_s`
        for an utterance that may go on the turn before (its SpeechStarted follows the barge-in, so this is asked
        again while waiting)."""
        began = now()

        def left() -> float:
            return began + (self.o.join_decide_s if self._may_go_on(turn + 1) else self.o.decide_s) - now()

        yield UserSound(active=True, turn=turn)
        while self._verdict is None and left() > 0:
            try:
                await asyncio.wait_for(self._decided.wait(), min(left(), self.o.hold_every_s))
            except TimeoutError:
                if self._verdict is None and left() > 0:
                    yield UserSound(active=True, turn=turn)
        self._decide("barge-in")


def _newest_words(held: list[Frame], utterance: int) -> list[Frame]:
    """The held frames without the utterance's transcripts that a newer final one replaces: the recogniser's
    "resume" between them is stale by the time they go on, so nothing downstream would cancel the older."""
    finals = [i for i, f in enumerate(held) if isinstance(f, Transcript) and f.final and f.turn == utterance]
    last = finals[-1] if finals else -1
    return [f for i, f in enumerate(held)
            if not (isinstance(f, Transcript) and f.turn == utterance and i < last)]
