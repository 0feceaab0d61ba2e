"""The ASR stage: SpeechEnded (the utterance) in, Transcript out. The recogniser is injected.

Checking a speculative cut. A speculative utterance (sent at a pause, its post-roll not heard yet and taken as
silence) can end inside a faint last consonant, and then its last word comes out wrong ("spider have" heard as
"spider has"). When the recogniser is unsure of that word (its `end_logprob` below `check_below`), or the VAD cut
where the level had not yet fallen (`cut_in_sound`), the VAD's PostRoll (the same utterance with the post-roll
heard) is decoded too, while the Thinker answers: the same words confirm the turn, other words redo it (Interrupt
"resume", then the new Transcript). Until a turn's words are final the stage holds back its Settled and Commit, so
the TurnGate never releases a reply, nor a tool acts, on words that may still change. Only those turns pay the
second decode and its wait.

Hearing a request whole. A user who goes on a second into the reply to the first part of their request
(SpeechStarted.may_rejoin: the backchannel gate joins it to that turn when its words read as the rest of a request)
said one sentence; heard in two decodes, the second part has lost its start ("octopus have" heard "October 4th").
So when an utterance may go on the turn before and its words read so, the earlier turn's audio, a short gap and this
utterance's audio are decoded once more as one (Transcript.whole), which the gate uses when it joins them. Only those
utterances pay the second decode.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from typing import AsyncIterator, Callable, Protocol

import numpy as np

from .backchannel import is_backchannel
from .continuation import continues
from .frames import (AudioFrame, Commit, EndOfStream, Frame, Interrupt, PartialUtterance, PostRoll, Settled,
                     SpeechEnded, SpeechStarted, Transcript)
from .endpointer import SAMPLE_RATE
from .stage import Stage
from .threads import FOREGROUND, Cancelled, CancelToken


class Recognizer(Protocol):
    """Turns float32 mono 16 kHz audio into text ("" when it hears no speech)."""

    def transcribe(self, audio: np.ndarray) -> object: ...  # returns an object with a `.text` attribute
    # A recogniser may also accept `cancel=CancelToken` and stop early when it is set (raising Cancelled), and
    # `draft=True`: a partial transcript, shown while the user talks, that may be cheaper than a final one.
    # `guess=<an earlier result>`: the result of decoding the start of the same audio (the turn's last partial, or
    # the speculative transcript its check decodes again), which may make this decode quicker.
    # `context="..."`: what was said before (the conversation's last exchange), which may help hear the words.


log = logging.getLogger(__name__)
CHECK_BELOW = -0.75  # the default check_below (a log-probability; chosen on `omnirt bench asr --live --set dev`)
CONTEXT_MIN_S = 1.0  # the default context_min_s (seconds of speech; chosen on DEV question and reply clips)
RECENT_TURNS = 8  # how many of the latest turns the stage keeps per-turn state for
JOIN_GAP_S = 0.3  # the silence put between a request's two parts when they are heard as one
JOIN_MAX_S = 28.0  # no longer than one Whisper window: a longer request is heard in its parts


class ASRStage(Stage):
    """Transcribes each utterance in a worker thread.

It consumes the user's audio: the utterance frame (big) and the raw input audio are not passed on, so every
AudioFrame downstream of ASR is reply audio. check_below: a speculative transcript whose last word's log-probability
(the recogniser's `end_logprob`) is below it is checked against the PostRoll (see the module doc); None never checks.
context: gives, for a turn, what was said before it (the session hands the Thinker's last exchange): every decode of
a turn with at least context_min_s of speech reads it ahead of the audio, when the recogniser takes a `context`.
Why: a question is heard more surely in the conversation it belongs to ("What is the capital of Spain?" after
France's); but a reply of a word or two carries too little sound to outweigh it, and Whisper then writes the
context's words instead ("Yes." heard as "The answer is triangle.") (docs/measurements.md)."""

    def __init__(self, recognizer: Recognizer, name: str = "asr", check_below: float | None = CHECK_BELOW,
                 context: Callable[[int], str] | None = None, context_min_s: float = CONTEXT_MIN_S) -> None:
        super().__init__(name)
        self.recognizer = recognizer
        self.check_below = check_below
        self.context, self.context_min_s = context, context_min_s
        self._speech_s: dict[int, float] = {}  # turn -> seconds of speech in its utterance (the VAD's)
        self._final: set[int] = set()  # recent turns whose words are final (no decode or check to come)
        self._unsure: dict[int, str] = {}  # turn -> its speculative transcript, to check against the PostRoll
        self._held: dict[int, list[Frame]] = {}  # the Settled and Commit of turns whose words are not final yet
        self._partial: asyncio.Task | None = None
        self._partial_cancel: CancelToken | None = None
        self._partial_result: Transcript | None = None
        self._guess: tuple[int, object] | None = None  # (turn, its latest result): the next decode's guess
        self._may: dict[int, int] = {}  # utterance -> the turn it may go on (SpeechStarted.may_rejoin)
        self._said: dict[int, tuple[np.ndarray, object]] = {}  # turn -> its audio and words, as last heard whole
        params = inspect.signature(recognizer.transcribe).parameters
        self._cancellable, self._drafts, self._guesses = "cancel" in params, "draft" in params, "guess" in params
        self._contexts = "context" in params and context is not None

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if self._partial_result is not None:  # a finished partial rides out on the next frame
            result, self._partial_result = self._partial_result, None
            yield result
        if isinstance(frame, SpeechEnded):
            if self._partial is not None and not self._partial.done():
                if self._partial_cancel is not None:
                    self._partial_cancel.set()  # the final transcript supersedes it: stop it within milliseconds
                await asyncio.wait({self._partial})  # never two decodes at once: the final one would slow down
            self._partial_result = None
            self._speech_s = {t: s for t, s in self._speech_s.items() if t > frame.turn - RECENT_TURNS}
            self._speech_s[frame.turn] = frame.audio_end - frame.audio_start
            self._final.discard(frame.turn)
            self._unsure.pop(frame.turn, None)
            try:
                result = await self._foreground(frame.audio, frame.turn) if frame.audio.size else ""  # (an
                # Interrupt cancels it)
            except Exception:
                for f in self._words_final(frame.turn):  # a failed decode holds nothing back
                    yield f
                raise
            text = _text(result)
            whole = await self._whole(frame.turn, frame.audio, result)
            yield Transcript(text=text, turn=frame.turn, end_logprob=_end_logprob(result), whole=whole)
            if frame.post_roll_follows and text and self._doubts(frame, result):
                self._unsure[frame.turn] = text
            else:
                for f in self._words_final(frame.turn):
                    yield f
        elif isinstance(frame, PostRoll):
            said = self._unsure.pop(frame.turn, None)
            if said is None:
                return
            try:
                checked = await self._foreground(frame.audio, frame.turn) if frame.audio.size else said
                heard = _text(checked)
            except Exception:
                for f in self._words_final(frame.turn):  # a failed check keeps the words it was to check
                    yield f
                raise
            same = same_words(heard, said)
            log.info("turn %d: speculative cut checked (%s)", frame.turn, "same words" if same else "redone")
            log.debug("turn %d: %r before the check, %r with the audio after the cut", frame.turn, said, heard)
            if not same:  # the cut changed a word: the turn is redone with the words heard
                whole = await self._whole(frame.turn, frame.audio, checked)
                yield Interrupt(reason="resume", turn=frame.turn)
                yield Transcript(text=heard, turn=frame.turn, end_logprob=_end_logprob(checked), whole=whole)
            for f in self._words_final(frame.turn):
                yield f
        elif isinstance(frame, (Settled, Commit)):
            spoken = isinstance(frame, Settled) or frame.spoken  # (a Commit with a typed transcript is not)
            if spoken and frame.turn not in self._final:  # (its utterance may still be queued behind audio)
                self._held.setdefault(frame.turn, []).append(frame)
            else:
                yield frame
        elif isinstance(frame, Interrupt):
            for f in [f for held in self._held.values() for f in held if isinstance(f, Commit)]:
                yield f  # a turn cut short still ends
            self._held.clear()
            self._unsure.clear()
            self._final.discard(frame.turn)  # (a resumed turn's words come again in a new utterance)
            yield frame
        elif isinstance(frame, PartialUtterance):
            if self._partial is None or self._partial.done():  # busy: this one is dropped, a later one comes
                self._partial = asyncio.get_running_loop().create_task(self._transcribe_partial(frame))
        elif isinstance(frame, AudioFrame):
            return
        elif isinstance(frame, SpeechStarted):
            if frame.may_rejoin:
                self._may = {t: m for t, m in self._may.items() if t > frame.turn - RECENT_TURNS}
                self._may[frame.turn] = frame.may_rejoin
            yield frame
        else:
            if isinstance(frame, EndOfStream):  # (nothing is left to check)
                for f in [f for turn in list(self._held) for f in self._words_final(turn)]:
                    yield f
            yield frame

    def _doubts(self, frame: SpeechEnded, result: object) -> bool:
        """Is the speculative cut to be checked: was it made inside sound, or is the last word unsure?"""
        if self.check_below is None:
            return False
        return frame.cut_in_sound or getattr(result, "end_logprob", 0.0) < self.check_below

    async def _whole(self, turn: int, audio: np.ndarray, result: object) -> str:
        """The words of the turn this utterance may go on and its own, heard as one ("" unless it may go on one
        and its words read as its rest: see the module doc). Keeps what the turn said, whole where it was heard
        so, for an utterance that may go on it in turn."""
        text, before = _text(result), self._said.get(self._may.get(turn, 0))
        whole = ""
        if before is not None and continues(text) and not is_backchannel(text):
            joined = np.concatenate([before[0], np.zeros(int(JOIN_GAP_S * SAMPLE_RATE), np.float32), audio])
            if joined.size <= JOIN_MAX_S * SAMPLE_RATE:
                kwargs: dict[str, object] = {"guess": before[1]} if self._guesses else {}
                if self._contexts and (said := self.context(self._may[turn])):  # type: ignore[misc]
                    kwargs["context"] = said  # (what came before the turn it goes on)
                FOREGROUND.enter()
                try:
                    heard: object = await self._run(joined, None, kwargs)
                except Exception as err:  # noqa: BLE001 - the parts are still heard: the request is not lost
                    log.warning("turn %d: the request heard whole failed (%s); its parts stand", turn, err)
                    heard = ""
                finally:
                    FOREGROUND.leave()
                if whole := _text(heard):
                    audio, result = joined, heard
                    log.info("turn %d heard whole with turn %d", turn, self._may[turn])
                    log.debug("turn %d: %r alone, %r whole", turn, text, whole)
        self._said = {t: s for t, s in self._said.items() if t > turn - RECENT_TURNS} | {turn: (audio, result)}
        return whole

    def _words_final(self, turn: int) -> list[Frame]:
        """Mark `turn`'s words final; the control frames held back for them, in order."""
        self._final = {t for t in self._final if t > turn - RECENT_TURNS} | {turn}
        return self._held.pop(turn, [])

    async def _foreground(self, audio: np.ndarray, turn: int) -> object:
        FOREGROUND.enter()  # the listener waits for these words: background work (a read-ahead) gives way
        try:
            return await self._transcribe(audio, turn)
        finally:
            FOREGROUND.leave()

    async def _transcribe(self, audio: np.ndarray, turn: int, token: CancelToken | None = None,
                          draft: bool = False, speech_s: float | None = None) -> object:
        """Run the recogniser in a worker thread, with the turn's latest result as its guess (if it takes one).
        If this task is cancelled (an Interrupt: a speculative end of turn that the user talked on through), the
        decode itself is stopped too, not left to burn a core."""
        kwargs: dict[str, object] = {"draft": True} if draft and self._drafts else {}
        if self._guesses and self._guess is not None and self._guess[0] == turn:
            kwargs["guess"] = self._guess[1]
        if speech_s is None:  # a final's from its SpeechEnded; else the whole audio, its pre-roll counted too
            speech_s = self._speech_s.get(turn, audio.size / SAMPLE_RATE)
        if self._contexts and speech_s >= self.context_min_s and (said := self.context(turn)):  # type: ignore[misc]
            kwargs["context"] = said
        result = await self._run(audio, token, kwargs)
        if _text(result):
            self._guess = (turn, result)
        return result

    async def _run(self, audio: np.ndarray, token: CancelToken | None, kwargs: dict[str, object]) -> object:
        if not self._cancellable:
            return await asyncio.to_thread(self.recognizer.transcribe, audio, **kwargs)
        token = token or CancelToken()
        try:
            return await asyncio.to_thread(self.recognizer.transcribe, audio, cancel=token, **kwargs)
        except asyncio.CancelledError:
            token.set()
            raise

    async def _transcribe_partial(self, frame: PartialUtterance) -> None:
        self._partial_cancel = token = CancelToken()
        try:
            result = await self._transcribe(frame.audio, frame.turn, token, draft=True, speech_s=frame.speech_s)
        except Cancelled:
            return
        if _text(result):
            self._partial_result = Transcript(text=_text(result), final=False, turn=frame.turn)


def _text(result: object) -> str:
    return sentence_case(str(getattr(result, "text", result)).strip())


def _end_logprob(result: object) -> float | None:
    """The last word's log-probability where the recogniser reports one (a plain string result does not)."""
    lp = getattr(result, "end_logprob", None)
    return None if lp is None else float(lp)


def sentence_case(text: str) -> str:
    """The transcript with its first letter in capitals. Why: Whisper starts the same words now in capitals, now
    not ("How many days?" as a partial, "how many days are there in a week?" as the final), and the Thinker's
    read-ahead of the partial is kept only as far as the tokens agree: a first word in another case threw all of it
    away, and the question was read again whole (docs/measurements.md). A page also shows a sentence."""
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def same_words(a: str, b: str) -> bool:
    """The same words, whatever the case and punctuation ("Paris." and "paris")."""
    words = lambda s: re.findall(r"[\w']+", s.lower())  # noqa: E731
    return words(a) == words(b)
