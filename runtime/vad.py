"""Voice activity detection and endpointing: audio frames in, SpeechStarted / SpeechEnded (with the utterance) out.

Two layers. `Endpointer` (runtime/endpointer.py, with `VADOptions`) is pure logic over per-chunk speech
probabilities (hysteresis, minimum speech length, end-of-speech hangover, a cap on utterance length), tested on
fixtures. `VADStage` resamples whatever arrives to 16 kHz mono, cuts 32 ms chunks, asks a `SpeechDetector` for
each chunk's probability, feeds the endpointer and keeps a bounded buffer of the current utterance, from which it
hands the recogniser each utterance (its start moved back over sound the detector missed: runtime/levels.py). The
detector is injected: the core knows no model (models/vad.py offers webrtcvad gating Silero).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from itertools import islice
from typing import AsyncIterator, Protocol

import numpy as np

from .audio import StreamResampler, fade_in, to_mono_float
from .clock import now
from .endpointer import CHUNK, SAMPLE_RATE, Endpoint, Endpointer, VADOptions  # noqa: F401 - the VAD's API
from .frames import (AudioFrame, Commit, EndOfStream, Frame, Interrupt, PartialUtterance, Played, Playing, PostRoll,
                     Settled, SpeechEnded, SpeechStarted, UserSound)
from .levels import LOUD_FLOOR, TAIL_FRAME, sound_before, tail_is_louder  # noqa: F401 - tail_is_louder: the VAD's API
from .onset import LevelOnset
from .prosody import Prosody, prosody
from .stage import Stage

ROOM_MS = 1000  # the room's level before an onset is judged over this much audio (VADOptions.lookback_ms)
ROOM_MIN_MS = 250  # less room than this at the start of a stream is no room: the level floor alone judges
CLEAR_ROOM_CHUNKS = 94  # 3 s: the room's level for VADOptions.clear_db is the quietest tenth of this much audio
GAP_MS = 300  # ... and the onset moves back over pauses between words up to this long


class SpeechDetector(Protocol):
    """Gives the probability that a 512-sample float32 chunk at 16 kHz holds speech; keeps its own state, so each
    session needs its own: `fork()` returns a fresh detector sharing the loaded model."""

    def prob(self, chunk: np.ndarray) -> float: ...

    def reset(self) -> None: ...

    def fork(self) -> "SpeechDetector": ...


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
        keep = (options.max_utterance_ms + options.pre_roll_ms + options.lookback_ms + ROOM_MS + options.hangover_ms
                ) * SAMPLE_RATE // 1000
        self._history: deque[np.ndarray] = deque(maxlen=keep // CHUNK + 2)  # bounded utterance buffer
        self._levels: deque[float] = deque(maxlen=self._history.maxlen)  # the RMS of each chunk in _history
        self._consumed = 0  # 16 kHz samples turned into chunks so far
        self._walls: deque[tuple[int, float]] = deque(maxlen=4096)  # (sample index, wall time it arrived)
        self._speculating = False  # a speculative SpeechEnded went out for the current turn
        self._sent_until = 0  # the last 16 kHz sample (exclusive) that the latest SpeechEnded carried
        self._prev_end = 0  # where the last ended utterance's audio ended: the next one never reaches back into it
        self._last_partial = 0  # sample index of the last PartialUtterance
        self._level = LevelOnset(options.level_onset) if options.level_onset and options.interrupt else None
        self._sent: tuple[int, np.ndarray] | None = None  # (turn, the utterance its latest SpeechEnded carried)
        self._unrolled: Endpoint | None = None  # the speculation whose PostRoll has not been sent yet
        self._voice: tuple[int, Prosody] | None = None
        self._ended: tuple[int, int, int, int] | None = None  # the last turn: (turn, start, end, _prev_end before it)
        self._replies: dict[int, tuple[float, float | None]] = {}  # turn -> (Playing's time, seconds played in
        # the end: Played's, None while it plays or when a barge-in cut it)
        self._backchannel = 0  # the last turn whose words were only a backchannel

    def voice(self, turn: int) -> Prosody | None:
        """How the voice ended in the utterance last sent for `turn` (runtime/prosody.py), for the TurnGate's
        judgement; None when that is no longer held (a later turn began). Computed on first request, a few ms."""
        if self._voice is not None and self._voice[0] == turn:
            return self._voice[1]
        if self._sent is None or self._sent[0] != turn:
            return None
        self._voice = (turn, prosody(self._sent[1]))
        return self._voice[1]

    def judged(self, turn: int, finished: bool, wait_ms: int | None = None) -> None:
        """The TurnGate judged `turn`'s words: if it is the utterance still open, its hangover follows (see
        Endpointer.judged). Too late once the turn has ended: the Commit is on its way, the reply will be released."""
        if turn == self.turn:
            self.endpointer.judged(finished, wait_ms)

    def backchannel(self, turn: int, finished: bool = True) -> None:
        """`turn`'s words were only a backchannel (runtime/backchannel.py): it is finished (see `judged`), and it
        was no request, so no later speech goes on it (VADOptions.rejoin_ms)."""
        self.judged(turn, finished)
        self._backchannel = turn

    def typed_turn(self) -> int | None:
        """A turn number for words that did not come through this VAD (a moved session's question, answered for a
        user who already asked it: VoiceSession.ask); None while an utterance is in progress, whose words come
        first. Later utterances are numbered after it."""
        if self.endpointer.in_speech:
            return None
        self.turn += 1
        return self.turn

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
        elif isinstance(frame, (Playing, Played)):
            self._reply_news(frame)
            yield frame
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
            rms = float(np.sqrt(np.dot(chunk, chunk) / CHUNK))
            self._history.append(chunk)
            self._levels.append(rms)
            self._consumed += CHUNK
            for ev in self.endpointer.feed(self._clear(self.detector.prob(chunk), rms), rms):
                out += self._events(ev)
            out += self._partial()
        self._pending = buf[n * CHUNK:]
        return out

    def _clear(self, p: float, rms: float) -> float:
        """The detector's probability, raised to the onset for a likely chunk that stands clear of the room
        (VADOptions.clear_prob, clear_db)."""
        o = self.options
        if not o.clear_db or not o.clear_prob <= p < o.onset:
            return p
        recent = list(islice(self._levels, max(0, len(self._levels) - CLEAR_ROOM_CHUNKS), None))
        room = float(np.percentile(recent, 10))
        return o.onset if rms > max(room * 10 ** (o.clear_db / 20), LOUD_FLOOR) else p

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
        return [PartialUtterance(turn=self.turn, audio=self._from_onset(start, self._consumed),
                                 speech_s=(self._consumed - start) / SAMPLE_RATE)]

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
            joins = self._joins(ev)
            cut = Interrupt(reason="barge-in", turn=self.turn, keeps_later=True)  # (the new utterance is a later turn)
            out: list[Frame] = [cut] if self.options.interrupt else []
            self.turn += 1
            self._speculating = False
            if joins is None:
                return out + [SpeechStarted(turn=self.turn, audio_ts=ev.start / SAMPLE_RATE)]
            turn, start, prev_end, heard = joins
            if heard * 1000 > self.options.rejoin_heard_ms:  # its words decide: an utterance of its own meanwhile
                return out + [SpeechStarted(turn=self.turn, audio_ts=ev.start / SAMPLE_RATE, may_rejoin=turn,
                                            reply_heard_s=round(heard, 3))]
            self._prev_end = prev_end
            self.endpointer.rejoin(start)
            return out + [SpeechStarted(turn=self.turn, audio_ts=ev.start / SAMPLE_RATE, rejoins=turn,
                                        reply_heard_s=round(heard, 3))]
        if ev.kind == "pause":
            self._speculating = True
            return [self._utterance(replace(ev, in_sound=ev.in_sound and self._above_room(ev)), speculative=True)]
        if ev.kind == "resume":
            self._speculating = False
            return [Interrupt(reason="resume", turn=self.turn)]
        if ev.kind == "settled":
            if self._speculating and self._tail_has_sound(ev):
                return [Interrupt(reason="resume", turn=self.turn), self._utterance(ev, speculative=True)]
            if not self._speculating:
                return []
            return [*([self._post_roll()] if self._unrolled is not None else []), Settled(turn=self.turn)]
        out: list[Frame] = [] if self._speculating else [self._utterance(ev, speculative=False)]
        if self._speculating and self._unrolled is not None:  # the turn ended before its pause settled
            out.append(self._post_roll())
        self._ended = (self.turn, ev.start, ev.end, self._prev_end)
        self._prev_end = ev.end + self.options.post_roll_ms * SAMPLE_RATE // 1000
        self._speculating = False
        if self._level is not None:
            self._level.reset()
        return out + [Commit(turn=self.turn, spoken=True)]

    def _reply_news(self, frame: Playing | Played) -> None:
        """Keep when each recent turn's reply began to play, and how much of it played in the end."""
        if isinstance(frame, Playing):
            self._replies[frame.turn] = (frame.ts, None)
        elif frame.turn in self._replies:
            self._replies[frame.turn] = (self._replies[frame.turn][0], None if frame.cut else frame.seconds)
        for old in [t for t in self._replies if t < frame.turn - 4]:
            del self._replies[old]

    def _joins(self, ev: Endpoint) -> tuple[int, int, int, float] | None:
        """Whether speech starting now may go on the last turn (VADOptions.rejoin_ms): that turn, where its
        utterance began, the limit its audio kept before it, and the seconds of its reply heard (beyond
        rejoin_heard_ms: its words decide); None for a new turn."""
        o, last = self.options, self._ended
        if not o.rejoin_ms or last is None or last[0] != self.turn or last[0] == self._backchannel:
            return None  # (a typed turn came between, or the last was only a backchannel)
        turn, start, end, prev_end = last
        if ev.start - end > o.rejoin_ms * SAMPLE_RATE // 1000 or (
                self._consumed - start >= o.max_utterance_ms * SAMPLE_RATE // 1000):
            return None
        heard = 0.0
        if turn in self._replies:  # no more than the time since it began (a file is written at once)
            began, played = self._replies[turn]
            heard = max(0.0, self._wall_at(ev.start) - began)
            if played is not None and heard >= played - CHUNK / SAMPLE_RATE:
                return None  # the whole reply was heard: the user is saying something new
        return None if heard * 1000 > max(o.rejoin_heard_ms, o.rejoin_words_ms) else (turn, start, prev_end, heard)

    def _audio(self, ev: Endpoint) -> tuple[np.ndarray, int]:
        """The utterance from its first sample through the post-roll, as far as it has been heard; and the last
        sample (exclusive) it should reach."""
        last = ev.end + self.options.post_roll_ms * SAMPLE_RATE // 1000
        return self._from_onset(ev.start, last), last

    def _from_onset(self, start: int, last: int) -> np.ndarray:
        """The heard audio from the first sample of an utterance whose onset is `start` up to `last`, its pre-roll
        faded in (VADOptions.fade_in_ms)."""
        first, onset = self._first_sample(start)
        hist_start = self._consumed - CHUNK * len(self._history)
        first = max(first, hist_start)  # (the history kept may begin later)
        audio = np.concatenate(list(self._history)) if self._history else np.zeros(0, np.float32)
        audio = audio[first - hist_start:max(0, last - hist_start)]
        return fade_in(audio, min(self.options.fade_in_ms * SAMPLE_RATE // 1000, onset - first))

    def _utterance(self, ev: Endpoint, speculative: bool) -> SpeechEnded:
        utterance, last = self._audio(ev)
        self._sent_until = min(last, self._consumed)
        if last > self._consumed:  # a speculation: the post-roll not heard yet is taken as silence (the "settled"
            # check redoes the turn if it was not, and the PostRoll lets the ASR check an unsure last word).
            # Whisper reads a clip that stops right after the last word worse
            # (espeak's "opposite of hot" -> "opposite on part"): 534 words, WER 7.9 % unpadded, 7.5 % padded.
            utterance = np.concatenate([utterance, np.zeros(last - self._consumed, np.float32)])
        self._sent, self._voice = (self.turn, utterance), None
        # A speculation whose post-roll was not heard (beyond a chunk's rounding) is heard again in a PostRoll.
        self._unrolled = ev if speculative and last - self._consumed > CHUNK else None
        return SpeechEnded(turn=self.turn, audio=utterance.copy(), audio_start=ev.start / SAMPLE_RATE,
                           audio_end=ev.end / SAMPLE_RATE, speech_end_wall=self._wall_at(ev.end),
                           speculative=speculative, post_roll_follows=self._unrolled is not None,
                           cut_in_sound=ev.in_sound and self._unrolled is not None)

    def _post_roll(self) -> PostRoll:
        """The speculative utterance again, with the post-roll as heard (once per speculation; see PostRoll)."""
        ev, self._unrolled = self._unrolled, None
        assert ev is not None
        return PostRoll(turn=self.turn, audio=self._audio(ev)[0])

    def _first_sample(self, start: int) -> tuple[int, int]:
        """Where the audio handed to the recogniser begins: pre_roll_ms before the onset, once the onset has been
        moved back over the sound just before it (VADOptions.lookback_ms), never into the previous utterance; and
        that moved onset."""
        k = self._chunk_index(start)  # the onset's chunk
        back, room = (ms * SAMPLE_RATE // 1000 // CHUNK for ms in (self.options.lookback_ms, ROOM_MS))
        moved = 0
        if back and 0 < k <= len(self._levels):
            levels = np.array(list(islice(self._levels, max(0, k - back - room), k)))
            heard_room = len(levels) - back
            if heard_room < ROOM_MIN_MS * SAMPLE_RATE // 1000 // CHUNK and self._consumed == CHUNK * len(self._levels):
                # The stream began too shortly before the onset for a room to be heard: what came before may be
                # the user's speech itself (a file or a call that starts mid-word), not a room to measure it by.
                heard_room = 0
            moved = sound_before(levels, heard_room, back, GAP_MS * SAMPLE_RATE // 1000 // CHUNK)
        onset = start - moved * CHUNK
        return max(0, self._prev_end, onset - self.options.pre_roll_ms * SAMPLE_RATE // 1000), onset

    def _chunk_index(self, sample: int) -> int:
        """The index in `_levels` (and `_history`) of the chunk holding a 16 kHz sample."""
        return (sample - (self._consumed - CHUNK * len(self._levels))) // CHUNK

    def _above_room(self, ev: Endpoint) -> bool:
        """Does the latest chunk stand out of the room's level before the utterance (3x its median)? In noise, a
        cut at the noise's level is not inside sound, though the level never fell far below the speech's."""
        k = self._chunk_index(ev.start)  # the onset's
        room = list(islice(self._levels, max(0, k - ROOM_MS * SAMPLE_RATE // 1000 // CHUNK), max(0, k)))
        floor = float(np.median(room)) if room else 0.0
        return self._levels[-1] > max(3 * floor, LOUD_FLOOR)

    def _tail_has_sound(self, ev: Endpoint) -> bool:
        """Does the post-roll audio that the speculation did not carry rise above the utterance's background?"""
        hist_start = self._consumed - CHUNK * len(self._history)
        audio = np.concatenate(list(self._history))
        utterance = audio[max(0, ev.start - hist_start):]
        cut = max(0, self._sent_until - hist_start)
        return tail_is_louder(audio[cut:], utterance, lead=audio[max(0, cut - TAIL_FRAME):cut])
