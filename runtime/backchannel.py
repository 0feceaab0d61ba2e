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

The held barge-in waits in the stage's control lane, so control frames behind it (a Commit of the same utterance,
another Interrupt) wait with it, at most `decide_s`; the data lane goes on, which is how the words arrive.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from .clock import now
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
        after about a second, so that a lost release cannot mute the assistant."""

    enabled: bool = True
    decide_s: float = 1.5
    hold_every_s: float = 0.4


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
        self._decided = asyncio.Event()
        self._released = asyncio.Event()

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, SpeechStarted) and frame.rejoins:
            self._joins = recent_turns(self._joins, frame.turn) | {frame.turn: frame.rejoins}
        elif isinstance(frame, Transcript) and frame.final:
            self._finals = recent_turns(self._finals, frame.turn) | {frame.turn: frame.text}
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
        yield frame

    def _judge(self, transcript: Transcript) -> str | None:
        """A verdict on these words: "backchannel", "barge-in", or None (a partial that may still be one)."""
        joined = self._joins.get(transcript.turn)
        text = transcript.text if joined is None else words_after(self._finals.get(joined, ""), transcript.text)
        if transcript.final:
            self._words_at = recent_turns(self._words_at, transcript.turn) | {transcript.turn: transcript.ts}
            return "backchannel" if is_backchannel(text) else "barge-in"
        return "barge-in" if text.strip() and not is_backchannel(text) else None

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
                self.heard.append((utterance, next(f.text for f in reversed(held) if isinstance(f, Transcript))))
                if self.on_judged is not None:
                    self.on_judged(utterance, True)
                yield UserSound(active=False, turn=cut.turn)
            else:
                yield cut
                for out in _newest_words(held, utterance):
                    yield out
        finally:
            self._deciding = None
            self._released.set()

    async def _await_words(self, turn: int) -> AsyncIterator[Frame]:
        """Keep the reply held until the words decide, or `decide_s` passes (then: a barge-in)."""
        deadline = now() + self.o.decide_s
        yield UserSound(active=True, turn=turn)
        while self._verdict is None and (left := deadline - now()) > 0:
            try:
                await asyncio.wait_for(self._decided.wait(), min(left, self.o.hold_every_s))
            except TimeoutError:
                if self._verdict is None and deadline > now():
                    yield UserSound(active=True, turn=turn)
        self._decide("barge-in")


def _newest_words(held: list[Frame], utterance: int) -> list[Frame]:
    """The held frames without the utterance's transcripts that a newer final one replaces: the recogniser's
    "resume" between them is stale by the time they go on, so nothing downstream would cancel the older."""
    finals = [i for i, f in enumerate(held) if isinstance(f, Transcript) and f.final and f.turn == utterance]
    last = finals[-1] if finals else -1
    return [f for i, f in enumerate(held)
            if not (isinstance(f, Transcript) and f.turn == utterance and i < last)]
