"""Endpointing as pure logic: per-chunk speech probabilities (and levels) in, speech start / pause / end events out.

`Endpointer` is a hysteresis state machine (minimum speech length, end-of-speech hangover, speculation at a pause,
a longer wait for words judged unfinished) that does no I/O, so it is tested on probability fixtures
(tests/runtime/test_endpointer.py). `VADOptions` documents every knob; runtime/vad.py's `VADStage` feeds it audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .onset import LevelOnsetOptions

SAMPLE_RATE = 16000
CHUNK = 512  # 32 ms at 16 kHz: the Silero model's native step


@dataclass(frozen=True)
class VADOptions:
    """Endpointing knobs (times in ms).

    onset: probability at or above which a chunk counts as speech.
    offset: probability below which a chunk counts as silence once speech has started (hysteresis: offset < onset).
    min_speech_ms: speech must last this long before SpeechStarted is emitted; shorter sounds (a cough, a click, a
        backchannel "mm-hm") neither start a turn nor interrupt the assistant.
    interrupt: emit an Interrupt before each SpeechStarted, so a user who starts speaking cancels any reply in
        flight (barge-in). Harmless when nothing is in flight.
    speculate_ms: after this much silence the utterance is sent on (SpeechEnded, speculative) so recognition,
        thinking and synthesis run during the rest of the hangover; the reply is held until the hangover passes
        (Commit), and if the user speaks again first the work is cancelled (Interrupt, reason "resume") and redone.
        0 turns speculation off (the utterance is sent at the end of the hangover). One quiet chunk (32 ms) answers
        sooner than two with the same transcripts, at the price of more false pauses inside words, each costing a
        final decode that the next loud chunk cancels (docs/measurements.md).
    partial_every_ms: while the user talks, send the speech so far this often (PartialUtterance) for live partial
        transcripts; 0 sends none (a file reply needs none; a live page shows them).
    hangover_ms: silence needed after speech before the user is judged to have finished. Lower answers sooner
        but cuts people off at pauses.
    unfinished_hangover_ms: the hangover of an utterance whose words were judged unfinished ("How many legs does
        a"; `VADStage.judged`, told by the TurnGate), so that a speaker's mid-sentence pause does not end the turn
        (never shorter than hangover_ms). A finished one is released sooner than hangover_ms, at the post-roll.
    await_judgement: the session has a Thinker that judges the words (models/turn_detector.py): after a pause the
        utterance stays open up to unfinished_hangover_ms until its judgement comes (finished: hangover_ms
        applies). Why: recognising the words and judging them take about as long as the plain hangover, and a
        judgement that came after the turn had ended could no longer keep it open. Needs speculate_ms.
    pre_roll_ms: audio kept from before the detected onset, so the recogniser hears the first phoneme whole.
    fade_in_ms: the first this many ms of the pre-roll are faded in from silence (never the sound the onset was
        moved back over). Why: cut out of a room's noise or a phone line's hiss, the utterance would start with a
        step, which the recogniser hears as a first consonant ("The weather" as "So whether", "Add" as "and");
        digital silence is unchanged (docs/measurements.md).
    lookback_ms: the onset is moved back over the sound just before it, up to this far (runtime/onset.py
        sound_before: chunks that stand out of the room's level, across short pauses between words). Why: Silero
        can need several words to pass its threshold on narrow-band or noisy speech (a phone line), and a fixed
        pre-roll then dropped the first words ("Please send the report" heard as "and the report").
    post_roll_ms: audio kept after the last speech chunk (a final unvoiced consonant often scores low); it comes
        out of the hangover, so it adds no latency while it is shorter than hangover_ms. A speculation sent
        before post_roll_ms of silence carries only the silence so far; when the post-roll is complete the rest is
        examined, and if it holds sound above the utterance's background (the "t" of "hot") the turn is redone
        with it (Interrupt "resume", then a new speculative SpeechEnded). So speculation can start early without
        losing final consonants; only utterances that end in such a sound pay for the redo.
    max_utterance_ms: an utterance is cut here (bounds memory and ASR time); the rest starts a new one.
    quiet_ratio: a chunk whose RMS is below this fraction of the utterance's speech level (the 75th percentile of
        its chunks' RMS; 0.05 = 26 dB down) counts as quiet, and speculate_ms of quiet chunks also make a pause.
        Why: Silero's probability lags the sound by about two chunks, so a pause judged by it alone comes later
        than one judged by level (docs/measurements.md). A quiet stretch inside a word (a stop closure) then starts
        speculation too, but the next loud chunk resumes it and cancels the work within a chunk or two. The
        hangover (the turn's end) is still judged by Silero alone: counted from the level it would end a turn at a
        speaker's comma pause. In noise louder than the ratio nothing is ever quiet and pauses come from Silero
        alone, as they do with 0 (off).
    level_onset: with `interrupt`, a jump in level (runtime/onset.py) sends UserSound at once, before the speech
        detector has judged the chunk, so the reply is held sooner. Withdrawn (the reply plays on) when the
        detector does not confirm it. None: UserSound waits for the detector.
    rejoin_ms / rejoin_heard_ms: speech that begins within rejoin_ms of the end of the last turn's speech, while
        at most rejoin_heard_ms of that turn's reply has been heard, goes on that turn (SpeechStarted.rejoins): its
        utterance runs from the earlier one's start, and the earlier reply is stopped and withdrawn. Why: a turn
        judged finished at a pause ("How many legs does a") was answered on its own, and the rest ("spider have?")
        was heard without its start; people pause like that, and the judgement of unheard words cannot be right
        every time. A user who speaks again after hearing more of the reply, or all of it ("Five."), is
        answering it or asking something new: a new turn. Half a second is a reply's first word or two; a user
        who cuts in later than that with a question of their own ("What is two plus three?" over a story) was
        answered as if it went on the story. 0: off.
    rejoin_words_ms: speech that begins later in the reply than rejoin_heard_ms but within this much of it (and
        within rejoin_ms of the speech's end) may go on the last turn; its words decide (SpeechStarted.may_rejoin,
        runtime/backchannel.py): words that start a request of their own ("What is two plus three?", "Can you
        stop?") are a new turn, a fragment ("the top floor", "in the morning") goes on the turn before. Why: a
        speaker's second pause is often the longer one, and by the time they go on a second of the reply may have
        played; what they say then tells a question of their own from the rest of the last one. At or below
        rejoin_heard_ms: off.
    clear_prob / clear_db: a chunk the detector scores at least clear_prob (below `onset`) counts as speech when its
        level stands clear_db above the room's (the quietest tenth of the last 3 s). Why: on a phone line Silero can
        stay below 0.5 for a whole word said 60 dB above the line's hiss ("Rear Left": 0.39 at -18 dBFS), and the
        word was lost. In noise the voice never stands that far out, so it changes nothing there. 0 dB: off.
    """

    onset: float = 0.5
    offset: float = 0.35
    min_speech_ms: int = 250
    hangover_ms: int = 400
    unfinished_hangover_ms: int = 2100
    await_judgement: bool = False
    pre_roll_ms: int = 200
    fade_in_ms: int = 100
    lookback_ms: int = 800
    post_roll_ms: int = 200
    max_utterance_ms: int = 30000
    interrupt: bool = True
    speculate_ms: int = 32
    partial_every_ms: int = 0
    quiet_ratio: float = 0.05
    level_onset: LevelOnsetOptions | None = LevelOnsetOptions()
    clear_prob: float = 0.25
    clear_db: float = 30.0
    rejoin_ms: int = 2000
    rejoin_heard_ms: int = 500
    rejoin_words_ms: int = 1500

    def __post_init__(self) -> None:
        if self.speculate_ms and not 0 < self.speculate_ms < self.hangover_ms:
            raise ValueError(f"speculate_ms must be 0 or below hangover_ms ({self.hangover_ms}), "
                             f"got {self.speculate_ms}")
        if not 0.0 < self.offset <= self.onset < 1.0:
            raise ValueError(f"need 0 < offset <= onset < 1, got offset={self.offset} onset={self.onset}")
        if min(self.rejoin_ms, self.rejoin_heard_ms, self.rejoin_words_ms) < 0:
            raise ValueError(f"rejoin_ms, rejoin_heard_ms and rejoin_words_ms must be 0 or more, got "
                             f"{self.rejoin_ms}, {self.rejoin_heard_ms}, {self.rejoin_words_ms}")


@dataclass(frozen=True)
class Endpoint:
    """An endpointer event. Positions are in 16 kHz samples from the stream start."""

    kind: str  # "start", "pause" (silence reached speculate_ms), "resume" (speech again after a pause), "end",
    # "settled" (a pause's silence reached post_roll_ms: the post-roll audio is complete), "onset" (a first
    # speech chunk outside speech), "onset_lost" (that sound ended before min_speech_ms)
    start: int
    end: int = 0
    in_sound: bool = False  # a pause the detector called while the level had not fallen (a faint last consonant?)


def chunks(ms: float) -> int:
    """A duration in whole chunks (at least one)."""
    return max(1, round(ms * SAMPLE_RATE / 1000 / CHUNK))


class Endpointer:
    """Hysteresis state machine over chunk probabilities (and, optionally, levels). Feed one per CHUNK samples."""

    def __init__(self, options: VADOptions = VADOptions()) -> None:
        self.o = options
        self._min_speech, self._default_hangover = chunks(options.min_speech_ms), chunks(options.hangover_ms)
        self._unfinished_hangover = max(self._default_hangover, chunks(options.unfinished_hangover_ms))
        self._max = chunks(options.max_utterance_ms)
        self._speculate = chunks(options.speculate_ms) if options.speculate_ms else 0
        settle = chunks(options.post_roll_ms)
        self._settle = settle if self._speculate and self._speculate < settle < self._default_hangover else 0
        self.reset()

    def _awaiting(self) -> int:
        """The hangover while the words since the last pause are not judged yet."""
        return self._unfinished_hangover if self.o.await_judgement and self._speculate else self._default_hangover

    def judged(self, finished: bool, wait_ms: int | None = None) -> None:
        """The words of the utterance in progress were judged: finished keeps the usual hangover (if it has passed,
        the turn ends at the next chunk), unfinished gives it unfinished_hangover_ms, or `wait_ms` when the judge
        was in doubt (runtime/turn_classifier.py: a middle wait; never shorter than hangover_ms)."""
        if not self.in_speech:
            return
        if finished:
            self._hangover = self._default_hangover
        elif wait_ms is not None:
            self._hangover = max(self._default_hangover, chunks(wait_ms))
        else:
            self._hangover = self._unfinished_hangover

    def reset(self) -> None:
        self.in_speech = False
        self._hangover = self._awaiting()
        self._chunk = 0  # index of the next chunk
        self._run = 0  # consecutive speech chunks before onset is confirmed
        self._run_start = 0
        self._silence = 0
        self._last_speech = 0
        self._start = 0
        self.paused = False
        self._levels: list[float] = []  # RMS of the utterance's chunks (and of the onset run before it)
        self._quiet = 0  # consecutive quiet chunks (see VADOptions.quiet_ratio)
        self._last_loud = 0
        self._pause_end = 0  # where the current pause says the speech ended

    def _is_quiet(self, rms: float | None) -> bool:
        if rms is None or not self.o.quiet_ratio or len(self._levels) < self._min_speech:
            return False
        return rms < self.o.quiet_ratio * float(np.percentile(self._levels, 75))

    def feed(self, p: float, rms: float | None = None) -> list[Endpoint]:
        """One chunk's speech probability, and optionally its RMS level (enables pauses judged by level)."""
        i = self._chunk
        self._chunk += 1
        events: list[Endpoint] = []
        if not self.in_speech:
            if p >= self.o.onset:
                if self._run == 0:
                    self._run_start, self._levels = i, []
                    events.append(Endpoint("onset", i * CHUNK))
                self._run += 1
                if rms is not None:
                    self._levels.append(rms)
                if self._run >= self._min_speech:
                    self.in_speech, self._silence, self._quiet = True, 0, 0
                    self._hangover = self._awaiting()
                    self._start, self._last_speech, self._last_loud = self._run_start, i, i
                    events.append(Endpoint("start", self._run_start * CHUNK))
            else:
                if self._run:
                    events.append(Endpoint("onset_lost", self._run_start * CHUNK))
                self._run = 0
            return events
        quiet = self._is_quiet(rms)
        if rms is not None and not quiet and len(self._levels) < self._max:
            self._levels.append(rms)
        self._quiet = self._quiet + 1 if quiet else 0
        if not quiet:
            self._last_loud = i
        if p >= (self.o.onset if self.paused else self.o.offset):  # resuming after a pause needs clear speech
            if self.paused and not quiet:  # (Silero still high in a quiet chunk is its lag, not speech)
                events.append(Endpoint("resume", self._start * CHUNK))
                self.paused = False
                self._hangover = self._awaiting()  # the words so far were judged; with more, they will be again
            self._silence, self._last_speech = 0, i
        else:
            self._silence += 1
        if self._speculate and not self.paused and self._silence < self._hangover and (
                self._silence >= self._speculate or self._quiet >= self._speculate):
            by_level = self._quiet >= self._speculate
            last = self._last_loud if by_level else self._last_speech
            self._pause_end = (last + 1) * CHUNK
            events.append(Endpoint("pause", self._start * CHUNK, self._pause_end,
                                   in_sound=rms is not None and not quiet and bool(self.o.quiet_ratio)))
            self.paused = True
        elif self.paused and self._silence == self._settle:
            events.append(Endpoint("settled", self._start * CHUNK, self._pause_end))
        too_long = i + 1 - self._start >= self._max
        if self._silence >= self._hangover or too_long:
            events.append(Endpoint("end", self._start * CHUNK, (self._last_speech + 1) * CHUNK))
            self.in_speech, self._run, self.paused = False, 0, False
        return events

    def rejoin(self, start: int) -> None:
        """The utterance that just started goes on an earlier one that began at sample `start`: it is measured
        (its length cap, its start in later events) from there."""
        if self.in_speech:
            self._start = start // CHUNK

    @property
    def start_sample(self) -> int:
        """Where the current (or last) utterance began, in 16 kHz samples."""
        return self._start * CHUNK

    def flush(self) -> list[Endpoint]:
        """End of input: close an utterance in progress."""
        if not self.in_speech:
            return []
        self.in_speech, self.paused = False, False
        return [Endpoint("end", self._start * CHUNK, (self._last_speech + 1) * CHUNK)]
