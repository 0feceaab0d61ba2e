"""Voice activity detection and endpointing: audio frames in, SpeechStarted / SpeechEnded (with the utterance) out.

Two layers. `Endpointer` is pure logic over per-chunk speech probabilities (hysteresis, minimum speech length,
end-of-speech hangover, pre-roll, a cap on utterance length) and does no I/O, so it is tested on fixtures.
`VADStage` resamples whatever arrives to 16 kHz mono, cuts 32 ms chunks, asks a `SpeechDetector` for each chunk's
probability, feeds the endpointer and keeps a bounded buffer of the current utterance. The detector is injected:
the core knows no model (models/vad.py offers webrtcvad gating Silero).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Protocol

import numpy as np

from .audio import StreamResampler, to_mono_float
from .clock import now
from .frames import (AudioFrame, Commit, EndOfStream, Frame, Interrupt, PartialUtterance, Settled, SpeechEnded,
                     SpeechStarted, UserSound)
from .onset import LevelOnset, LevelOnsetOptions
from .stage import Stage

SAMPLE_RATE = 16000
CHUNK = 512  # 32 ms at 16 kHz: the Silero model's native step
TAIL_FRAME = 160  # 10 ms at 16 kHz: the frames a post-roll tail's loudness is judged in


class SpeechDetector(Protocol):
    """Gives the probability that a 512-sample float32 chunk at 16 kHz holds speech; keeps its own state, so each
    session needs its own: `fork()` returns a fresh detector sharing the loaded model."""

    def prob(self, chunk: np.ndarray) -> float: ...

    def reset(self) -> None: ...

    def fork(self) -> "SpeechDetector": ...


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
    """

    onset: float = 0.5
    offset: float = 0.35
    min_speech_ms: int = 250
    hangover_ms: int = 400
    unfinished_hangover_ms: int = 2100
    await_judgement: bool = False
    pre_roll_ms: int = 200
    post_roll_ms: int = 200
    max_utterance_ms: int = 30000
    interrupt: bool = True
    speculate_ms: int = 32
    partial_every_ms: int = 0
    quiet_ratio: float = 0.05
    level_onset: LevelOnsetOptions | None = LevelOnsetOptions()

    def __post_init__(self) -> None:
        if self.speculate_ms and not 0 < self.speculate_ms < self.hangover_ms:
            raise ValueError(f"speculate_ms must be 0 or below hangover_ms ({self.hangover_ms}), "
                             f"got {self.speculate_ms}")
        if not 0.0 < self.offset <= self.onset < 1.0:
            raise ValueError(f"need 0 < offset <= onset < 1, got offset={self.offset} onset={self.onset}")


@dataclass(frozen=True)
class Endpoint:
    """An endpointer event. Positions are in 16 kHz samples from the stream start."""

    kind: str  # "start", "pause" (silence reached speculate_ms), "resume" (speech again after a pause), "end",
    # "settled" (a pause's silence reached post_roll_ms: the post-roll audio is complete), "onset" (a first
    # speech chunk outside speech), "onset_lost" (that sound ended before min_speech_ms)
    start: int
    end: int = 0


class Endpointer:
    """Hysteresis state machine over chunk probabilities (and, optionally, levels). Feed one per CHUNK samples."""

    def __init__(self, options: VADOptions = VADOptions()) -> None:
        self.o = options
        ms = lambda v: max(1, round(v * SAMPLE_RATE / 1000 / CHUNK))  # noqa: E731 - ms -> chunks
        self._min_speech, self._default_hangover = ms(options.min_speech_ms), ms(options.hangover_ms)
        self._unfinished_hangover = max(self._default_hangover, ms(options.unfinished_hangover_ms))
        self._max = ms(options.max_utterance_ms)
        self._speculate = ms(options.speculate_ms) if options.speculate_ms else 0
        settle = ms(options.post_roll_ms)
        self._settle = settle if self._speculate and self._speculate < settle < self._default_hangover else 0
        self.reset()

    def _awaiting(self) -> int:
        """The hangover while the words since the last pause are not judged yet."""
        return self._unfinished_hangover if self.o.await_judgement and self._speculate else self._default_hangover

    def judged(self, finished: bool) -> None:
        """The words of the utterance in progress were judged: finished keeps the usual hangover (if it has passed,
        the turn ends at the next chunk), unfinished gives it unfinished_hangover_ms."""
        if self.in_speech:
            self._hangover = self._default_hangover if finished else self._unfinished_hangover

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
            last = self._last_loud if self._quiet >= self._speculate else self._last_speech
            self._pause_end = (last + 1) * CHUNK
            events.append(Endpoint("pause", self._start * CHUNK, self._pause_end))
            self.paused = True
        elif self.paused and self._silence == self._settle:
            events.append(Endpoint("settled", self._start * CHUNK, self._pause_end))
        too_long = i + 1 - self._start >= self._max
        if self._silence >= self._hangover or too_long:
            events.append(Endpoint("end", self._start * CHUNK, (self._last_speech + 1) * CHUNK))
            self.in_speech, self._run, self.paused = False, 0, False
        return events

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


class VADStage(Stage):
    """Endpointing stage. Passes audio through; adds SpeechStarted/SpeechEnded and numbers the turns.

    A new turn starts at each SpeechStarted; frames the stage emits carry that turn number.
    """

    def __init__(self, detector: SpeechDetector, options: VADOptions = VADOptions(), name: str = "vad") -> None:
        super().__init__(name)
        self.detector, self.options = detector, options
        self.endpointer = Endpointer(options)
        self.turn = 0
        self._resampler: StreamResampler | None = None
        self._pending = np.zeros(0, np.float32)  # samples not yet forming a whole chunk
        keep = (options.max_utterance_ms + options.pre_roll_ms + options.hangover_ms) * SAMPLE_RATE // 1000
        self._history: deque[np.ndarray] = deque(maxlen=keep // CHUNK + 2)  # bounded utterance buffer
        self._consumed = 0  # 16 kHz samples turned into chunks so far
        self._walls: deque[tuple[int, float]] = deque(maxlen=4096)  # (sample index, wall time it arrived)
        self._speculating = False  # a speculative SpeechEnded went out for the current turn
        self._sent_until = 0  # the last 16 kHz sample (exclusive) that the latest SpeechEnded carried
        self._last_partial = 0  # sample index of the last PartialUtterance
        self._level = LevelOnset(options.level_onset) if options.level_onset and options.interrupt else None

    def judged(self, turn: int, finished: bool) -> None:
        """The TurnGate judged `turn`'s words: if it is the utterance still open, its hangover follows (see
        Endpointer.judged). Too late once the turn has ended: the Commit is on its way, the reply will be released."""
        if turn == self.turn:
            self.endpointer.judged(finished)

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, AudioFrame):
            for event in self._consume(frame):
                yield event
            yield frame
        elif isinstance(frame, EndOfStream):
            for ev in self.endpointer.flush():
                for out in self._events(ev):
                    yield out
            yield frame
        elif isinstance(frame, Interrupt):
            yield frame  # upstream of the reply: nothing of ours to cancel
        else:
            yield frame

    def _consume(self, frame: AudioFrame) -> list[Frame]:
        if self._resampler is None or self._resampler.in_rate != frame.sample_rate:
            self._resampler = StreamResampler(frame.sample_rate, SAMPLE_RATE)
        samples = self._resampler.process(to_mono_float(frame.pcm))
        out: list[Frame] = []
        if self._level is not None:
            guess = self._level.feed(samples)
            if guess and not self.endpointer.in_speech:
                out.append(UserSound(active=guess == "onset", turn=self.turn))
        wall = frame.capture_ts if frame.capture_ts is not None else frame.ts
        self._walls.append((self._consumed + len(self._pending) + len(samples), wall + frame.duration))
        buf = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        n = len(buf) // CHUNK
        for k in range(n):
            chunk = buf[k * CHUNK:(k + 1) * CHUNK]
            self._history.append(chunk)
            self._consumed += CHUNK
            rms = float(np.sqrt(np.dot(chunk, chunk) / CHUNK))
            for ev in self.endpointer.feed(self.detector.prob(chunk), rms):
                out += self._events(ev)
            out += self._partial()
        self._pending = buf[n * CHUNK:]
        return out

    def _wall_at(self, sample: int) -> float:
        """The wall time at which a given 16 kHz sample reached the stage: the arrival of the frame holding it,
        less the time the rest of that frame took to capture."""
        for idx, wall in self._walls:
            if idx >= sample:
                return wall - (idx - sample) / SAMPLE_RATE
        return self._walls[-1][1] if self._walls else now()

    def _partial(self) -> list[Frame]:
        """The speech so far, every partial_every_ms of it, while the user is talking (not during a pause)."""
        every = self.options.partial_every_ms * SAMPLE_RATE // 1000
        ep = self.endpointer
        if not every or not ep.in_speech or ep.paused:
            return []
        start = ep.start_sample
        if self._consumed - max(start, self._last_partial) < every:
            return []
        self._last_partial = self._consumed
        hist_start = self._consumed - CHUNK * len(self._history)
        audio = np.concatenate(list(self._history))[max(0, start - hist_start):]
        return [PartialUtterance(turn=self.turn, audio=audio)]

    def _events(self, ev: Endpoint) -> list[Frame]:
        """Frames for an endpointer event (see VADOptions.interrupt and .speculate_ms)."""
        if ev.kind in ("onset", "onset_lost"):
            if not self.options.interrupt:
                return []
            if self._level is not None and ev.kind == "onset_lost":
                self._level.reset(refractory=True)
            elif self._level is not None:
                guessed = self._level.active
                self._level.confirmed()
                if guessed:
                    return []  # the level guess already sent it
            return [UserSound(active=ev.kind == "onset", turn=self.turn)]
        if ev.kind == "start":
            out: list[Frame] = [Interrupt(reason="barge-in", turn=self.turn)] if self.options.interrupt else []
            self.turn += 1
            self._speculating = False
            return out + [SpeechStarted(turn=self.turn, audio_ts=ev.start / SAMPLE_RATE)]
        if ev.kind == "pause":
            self._speculating = True
            return [self._utterance(ev, speculative=True)]
        if ev.kind == "resume":
            self._speculating = False
            return [Interrupt(reason="resume", turn=self.turn)]
        if ev.kind == "settled":
            if self._speculating and self._tail_has_sound(ev):
                return [Interrupt(reason="resume", turn=self.turn), self._utterance(ev, speculative=True)]
            return [Settled(turn=self.turn)] if self._speculating else []
        out = [] if self._speculating else [self._utterance(ev, speculative=False)]
        self._speculating = False
        if self._level is not None:
            self._level.reset()
        return out + [Commit(turn=self.turn)]

    def _utterance(self, ev: Endpoint, speculative: bool) -> SpeechEnded:
        pre = self.options.pre_roll_ms * SAMPLE_RATE // 1000
        first = max(0, ev.start - pre)
        hist_start = self._consumed - CHUNK * len(self._history)
        audio = np.concatenate(list(self._history)) if self._history else np.zeros(0, np.float32)
        last = ev.end + self.options.post_roll_ms * SAMPLE_RATE // 1000
        a, b = max(0, first - hist_start), max(0, last - hist_start)
        self._sent_until = min(last, self._consumed)
        utterance = audio[a:b]
        if last > self._consumed:  # a speculation: the post-roll not heard yet is taken as silence (the "settled"
            # check redoes the turn if it was not). Whisper reads a clip that stops right after the last word worse
            # (espeak's "opposite of hot" -> "opposite on part"): 534 words, WER 7.9 % unpadded, 7.5 % padded.
            utterance = np.concatenate([utterance, np.zeros(last - self._consumed, np.float32)])
        return SpeechEnded(turn=self.turn, audio=utterance.copy(), audio_start=ev.start / SAMPLE_RATE,
                           audio_end=ev.end / SAMPLE_RATE, speech_end_wall=self._wall_at(ev.end),
                           speculative=speculative)

    def _tail_has_sound(self, ev: Endpoint) -> bool:
        """Does the post-roll audio that the speculation did not carry rise above the utterance's background?"""
        hist_start = self._consumed - CHUNK * len(self._history)
        audio = np.concatenate(list(self._history))
        utterance = audio[max(0, ev.start - hist_start):]
        cut = max(0, self._sent_until - hist_start)
        return tail_is_louder(audio[cut:], utterance, lead=audio[max(0, cut - TAIL_FRAME):cut])


def tail_is_louder(tail: np.ndarray, utterance: np.ndarray, frame: int = TAIL_FRAME, margin: float = 3.0,
                   floor: float = 0.003, lead: np.ndarray | None = None, rise: float = 2.0) -> bool:
    """True when some 10 ms frame of `tail` is `margin` times louder (RMS) than the quietest tenth of the
    utterance's frames (its background), above an absolute `floor` (about -50 dBFS), and a new sound: `rise` times
    louder than the quietest frame before it (`lead`, the audio just before the tail, counts). The fading end of
    the last word, which the speculation was cut inside, only falls: redoing the turn for it cost a turn's
    recognition and first token in about half of the Chromium turns (docs/measurements.md). The final /s/ of "France" heard at 8 kHz (-50 dBFS) rises out of the pause before it."""
    def rms(x: np.ndarray) -> np.ndarray:
        n = len(x) // frame
        return np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)) if n else np.zeros(0)

    t, u = rms(tail), rms(utterance)
    if not len(t):
        return False
    background = float(np.percentile(u, 10)) if len(u) else 0.0
    quietest = np.minimum.accumulate(np.concatenate([rms(lead) if lead is not None else np.zeros(0), t]))
    before = np.concatenate([[0.0], quietest])[-len(t) - 1:-1]  # the quietest frame before each tail frame
    return bool(np.any((t > max(margin * background, floor)) & (t > rise * before)))
