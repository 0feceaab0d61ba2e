"""The Talker stage: the Thinker's text deltas in, reply audio out, starting at the first clause.

`ClauseSplitter` (pure logic) releases text as soon as it holds a clause worth speaking: a sentence end, or a comma,
semicolon or colon once enough words have gathered for natural prosody. A full stop only counts when followed by
white space, so "3.5" is never cut. Each clause is synthesized in a worker thread and its audio is yielded chunk by
chunk, so an interrupt stops the audio at the next chunk boundary and the synthesizer after its current clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterator, Protocol

import numpy as np

from .clock import now
from .frames import AudioFrame, Frame, Interrupt, SpeechDone, TextDelta, TextDone
from .stage import Stage
from .threads import FOREGROUND, iterate_in_thread


class Synthesizer(Protocol):
    """Streams int16 mono audio for a piece of text, chunk by chunk as it is made."""

    sample_rate: int

    def stream(self, text: str) -> Iterator[np.ndarray]: ...


@dataclass(frozen=True)
class TalkerOptions:
    """min_clause_words: words needed before a comma/semicolon/colon may end a clause (sentence ends always do).
    first_clause_words: the same for the first clause of a turn (lower = earlier first audio).
    first_chunk_words: when the first clause has no punctuation yet, release it after this many complete words
        anyway, at a word that may end a phrase (not "the", "of", "is" ...): the first sound then waits for ~5
        tokens instead of a whole sentence, at the cost of a slight prosodic seam. 0 waits for punctuation.
    frame_ms: the reply audio is cut into frames this long (smaller = finer interrupt granularity).
    lead_in_ms: a turn's first audio starts this long before its first audible sample (the synthesizer's leading
        silence beyond it is dropped: it would only delay the first sound).
    max_pause_ms: silence a synthesizer leaves at the end of a clause is cut to this (None keeps it).
    min_ahead_ms: while less audio than this is made ahead of playback (taken to start when the turn's first audio
        was made), later clauses are also released like the first chunk (first_chunk_words, at a phrase-final
        word) instead of at punctuation. Why: after a short first clause ("1.") a long sentence takes longer to
        generate and synthesize than the clause takes to play, and the listener hears a gap mid-reply
        (docs/measurements.md). 0 turns it off."""

    min_clause_words: int = 4
    first_clause_words: int = 2
    first_chunk_words: int = 3
    frame_ms: int = 40
    lead_in_ms: int = 10
    max_pause_ms: int | None = 150
    min_ahead_ms: int = 600


_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:]\s")
_WORD = re.compile(r"\S+\s")  # a complete word: the next token has begun
# Words a phrase rarely ends on: cutting after them sounds broken ("The capital of | France").
_FUNCTION_WORDS = frozenset(
    "a an the of to in on at for with and or but nor is are was were be been am by from as that this these those "
    "it its his her their my your our than then if so not no do does did can could will would should shall may "
    "might must has have had which who whom whose what when where how there here very".split())
_MARKUP = re.compile(r"[*#`_~>|]+|\[(.*?)\]\(.*?\)")


def speakable(text: str) -> str:
    """Strip markdown a small model may emit despite its prompt, and squeeze white space."""
    text = _MARKUP.sub(lambda m: m.group(1) or "", text)
    return re.sub(r"\s+", " ", text).strip()


class ClauseSplitter:
    """Accumulates streamed text and hands out speakable clauses."""

    def __init__(self, options: TalkerOptions = TalkerOptions()) -> None:
        self.options = options
        self.buffer = ""
        self.emitted = 0
        self.urgent = False  # release the next clause like the first chunk (see TalkerOptions.min_ahead_ms)

    def push(self, text: str) -> list[str]:
        self.buffer += text
        out = []
        while (clause := self._cut()) is not None:
            out.append(clause)
        return out

    def _cut(self) -> str | None:
        need = self.options.first_clause_words if self.emitted == 0 else self.options.min_clause_words
        best = None
        m = _SENTENCE_END.search(self.buffer)
        if m:
            best = m.end()
        for c in _CLAUSE_END.finditer(self.buffer):
            if best is not None and c.end() >= best:
                break
            if len(self.buffer[:c.end()].split()) >= need:
                best = c.end()
                break
        if best is None and (self.emitted == 0 or self.urgent) and self.options.first_chunk_words:
            best = self._early_cut()
        if best is None:
            return None
        clause, self.buffer = self.buffer[:best], self.buffer[best:]
        clause = speakable(clause)
        if not clause:
            return self._cut()
        self.emitted += 1
        return clause

    def _early_cut(self) -> int | None:
        """End of the first phrase-final word at or after `first_chunk_words` complete words (None: not yet)."""
        for n, w in enumerate(_WORD.finditer(self.buffer), start=1):
            if n >= self.options.first_chunk_words and w.group().strip().lower().strip(".,;:!?\"'") \
                    not in _FUNCTION_WORDS:
                return w.end()
        return None

    def flush(self) -> str | None:
        rest, self.buffer = speakable(self.buffer), ""
        if rest:
            self.emitted += 1
            return rest
        return None

    def reset(self) -> None:
        self.buffer, self.emitted = "", 0


def first_clause_watch(options: TalkerOptions) -> Callable[[str], bool]:
    """A check fed an answer's text deltas in order: True for the delta on which the Talker releases the turn's
    first clause (ClauseSplitter's rule with the same options), False before and after it. The Thinker's worker
    waits there for the Talker's first audio (runtime/threads.py `hands_over`)."""
    splitter, released = ClauseSplitter(options), False

    def watch(delta: str) -> bool:
        nonlocal released
        if released:
            return False
        released = bool(splitter.push(delta))
        return released

    return watch


class SilenceTrim:
    """Cuts a clause's silence as its chunks come: the leading silence to `lead_ms` (None leaves it) and the
    trailing silence to `tail_ms` (None leaves it); pure logic. A synthesizer may stream a sentence in stretches,
    so a stretch can be silent throughout, or end in a pause that the next stretch carries on: silence that ends
    what has come so far is held back (`push` returns the audio that can go out now) until sound follows it, and
    only what is left at the clause's `end` is cut. Joined, the outputs equal the whole clause cut at once; a
    clause with no sound at all comes out unchanged."""

    def __init__(self, rate: int, lead_ms: int | None, tail_ms: int | None, level: float = 0.01) -> None:
        self.rate, self.lead_ms, self.tail_ms, self.threshold = rate, lead_ms, tail_ms, level * 32768
        self._held: list[np.ndarray] = []
        self._heard = False

    def push(self, chunk: np.ndarray) -> np.ndarray:
        loud = np.flatnonzero(np.abs(chunk.astype(np.int32)) > self.threshold)
        if not len(loud):
            self._held.append(chunk)
            return chunk[:0]
        held = np.concatenate([*self._held, chunk[:loud[-1] + 1]])
        self._held = [chunk[loud[-1] + 1:]]
        if not self._heard and self.lead_ms is not None:  # the first sound: keep lead_ms of silence before it
            first = len(held) - (loud[-1] + 1) + loud[0]
            held = held[max(0, first - self.rate * self.lead_ms // 1000):]
        self._heard = True
        return held

    def end(self) -> np.ndarray:
        held = np.concatenate(self._held) if self._held else np.zeros(0, dtype=np.int16)
        self._held = []
        if self._heard and self.tail_ms is not None:
            return held[:self.rate * self.tail_ms // 1000]
        return held


class TalkerStage(Stage):
    """Speaks the answer. Passes text frames through (transports show them) and ends each turn with SpeechDone."""

    def __init__(self, synthesizer: Synthesizer, options: TalkerOptions = TalkerOptions(),
                 name: str = "talker") -> None:
        super().__init__(name)
        self.synth, self.options = synthesizer, options
        self.splitter = ClauseSplitter(options)
        self.spoken: list[str] = []
        self._made: dict[int, float] = {}  # turn -> seconds of audio made for it so far
        self._started: dict[int, float] = {}  # turn -> when its first audio was made

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, TextDelta):
            yield frame
            self.splitter.urgent = self._short_ahead(frame.turn)
            for clause in self.splitter.push(frame.text):
                async for audio in self._speak(clause, frame.turn):
                    yield audio
        elif isinstance(frame, TextDone):
            yield frame
            rest = self.splitter.flush()
            if rest:
                async for audio in self._speak(rest, frame.turn):
                    yield audio
            yield SpeechDone(text=" ".join(self.spoken), turn=frame.turn)
            self.splitter.reset()
            self.spoken = []
            self._started.pop(frame.turn, None)
            self._made.pop(frame.turn, None)
        elif isinstance(frame, Interrupt):
            self.splitter.reset()
            self.spoken = []
            self._started.clear()
            self._made.clear()
            yield frame
        else:
            yield frame

    def _short_ahead(self, turn: int) -> bool:
        """Is less than min_ahead_ms of the turn's audio made beyond what has had time to play?"""
        start = self._started.get(turn)
        if start is None or not self.options.min_ahead_ms:
            return False
        made = self._made.get(turn, 0.0)
        return made - (now() - start) < self.options.min_ahead_ms / 1000

    async def _speak(self, text: str, turn: int) -> AsyncIterator[AudioFrame]:
        self.spoken.append(text)
        rate = self.synth.sample_rate
        first_of_turn = turn not in self._made
        self._made.setdefault(turn, 0.0)
        clause = text  # on the clause's first frame: the output tells heard words by it (runtime/playout.py)
        trim = SilenceTrim(rate, self.options.lead_in_ms if first_of_turn else None, self.options.max_pause_ms)
        async for chunk in iterate_in_thread(lambda: self.synth.stream(text), "talker",
                                             claim=FOREGROUND if first_of_turn else None):
            for frame in self._frames(trim.push(chunk), turn, clause):
                clause = ""
                yield frame
        for frame in self._frames(trim.end(), turn, clause):
            yield frame

    def _frames(self, audio: np.ndarray, turn: int, clause: str) -> Iterator[AudioFrame]:
        """Cut audio into frame_ms AudioFrames; `clause` goes on the first of them."""
        if not len(audio):
            return
        rate = self.synth.sample_rate
        step = max(1, rate * self.options.frame_ms // 1000)
        self._started.setdefault(turn, now())
        self._made[turn] += len(audio) / rate
        for k in range(0, len(audio), step):
            yield AudioFrame(pcm=np.ascontiguousarray(audio[k:k + step], dtype=np.int16), sample_rate=rate,
                             turn=turn, clause=clause)
            clause = ""
