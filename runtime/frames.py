"""Typed frames: the one data type that flows through a pipeline.

Data frames (audio, video, text) queue behind each other and are subject to back-pressure. Control frames
(`Interrupt`) overtake queued data and cancel work in flight. `EndOfStream` is ordered like data: it arrives after
everything sent before it and lets each stage flush.

Every frame carries `turn`, the conversation turn it belongs to (0 before the first user turn), and `ts`, the
monotonic time (seconds, `clock.now()`) at which it was made. Tracing and metrics are derived from these two fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .clock import now


@dataclass(frozen=True, kw_only=True)
class Frame:
    turn: int = 0
    ts: float = field(default_factory=now)

    @property
    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class ControlFrame(Frame):
    """Overtakes queued data frames."""


@dataclass(frozen=True, kw_only=True)
class AudioFrame(Frame):
    """PCM audio. `pcm` is int16 shaped [samples] (mono) or [samples, channels].

    capture_ts: when the first sample was captured (monotonic); for a file, when it was handed to the pipeline.
    clause: on reply audio, the first frame of each spoken clause carries the clause's words, so the output can
    tell which words the user heard when a reply is cut (see runtime/playout.py).
    """

    pcm: np.ndarray
    sample_rate: int
    channels: int = 1
    capture_ts: float | None = None
    clause: str = ""

    @property
    def duration(self) -> float:
        return self.pcm.shape[0] / self.sample_rate

    def __post_init__(self) -> None:
        if self.pcm.dtype != np.int16:
            raise ValueError(f"AudioFrame.pcm must be int16, got {self.pcm.dtype}")
        if self.sample_rate <= 0:
            raise ValueError(f"AudioFrame.sample_rate must be positive, got {self.sample_rate}")


@dataclass(frozen=True, kw_only=True)
class VideoFrame(Frame):
    """One camera or screen image, RGB uint8 [height, width, 3]."""

    image: np.ndarray
    capture_ts: float | None = None


@dataclass(frozen=True, kw_only=True)
class VisionContext(Frame):
    """What the camera shows, as text for the Thinker (OCR today). `image_ts`: when that image was captured."""

    text: str
    image_ts: float = 0.0


@dataclass(frozen=True, kw_only=True)
class SpeechStarted(Frame):
    """The VAD heard the user begin to speak. `audio_ts` is the onset's position in the input stream (s).

    rejoins: the earlier turn this speech goes on (0: none). The user paused, the turn was released, and they went
    on before much of its reply was heard (VADOptions.rejoin_ms): the new turn's utterance holds both parts, and the
    earlier turn's exchange is withdrawn (the Thinker forgets it, a page removes it), so the request is heard and
    answered once, whole. reply_heard_s: how much of the earlier turn's reply the user had heard by then.
    may_rejoin: the earlier turn this speech may go on, heard later in its reply (VADOptions.rejoin_words_ms): a
    new turn with an utterance of its own, unless its words go on that turn (runtime/backchannel.py then sends it
    on with `rejoins` and the earlier turn's words before its own)."""

    audio_ts: float = 0.0
    rejoins: int = 0
    reply_heard_s: float = 0.0
    may_rejoin: int = 0


@dataclass(frozen=True, kw_only=True)
class SpeechEnded(Frame):
    """The VAD decided the user stopped. Carries the utterance as float32 mono 16 kHz for the recogniser.

    audio_start/audio_end: the speech's position in the input stream (s).
    speech_end_wall: the monotonic time at which the last speech sample was delivered; the latency of everything
    after (end-of-speech detection, ASR, Thinker, Talker) is measured from it.
    """

    audio: np.ndarray
    audio_start: float
    audio_end: float
    speech_end_wall: float
    speculative: bool = False  # sent at a pause, before the hangover decides; a Commit or an Interrupt follows
    post_roll_follows: bool = False  # its post-roll was not heard yet (zeros here): a PostRoll with it follows
    cut_in_sound: bool = False  # the speculation was cut where the level had not fallen: the ASR checks it


@dataclass(frozen=True, kw_only=True)
class PartialUtterance(Frame):
    """The user's speech so far (float32 mono 16 kHz), sent every so often while they talk, for live partial
    transcripts. Dropped freely: the final SpeechEnded carries the whole utterance. `speech_s`: seconds of it
    from the speech's onset on (its pre-roll not counted), as a SpeechEnded's audio_end - audio_start; None when
    unknown."""

    audio: np.ndarray
    speech_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Transcript(Frame):
    """What the user said. `final` is False for a streaming partial. `end_logprob`: the recogniser's log-probability
    of the last word given the words before it, where it tells (a word it made up to round off a fragment, "How
    do I get red wine out of a" heard "... out of them?", is often an unlikely one); None where unknown.
    whole: for an utterance that may go on the turn before it (SpeechStarted.may_rejoin) and whose words read as the
    rest of a request, that turn's audio and this one's heard as one ("" otherwise): the request's words if the two
    are joined (runtime/asr.py, runtime/backchannel.py)."""

    text: str
    final: bool = True
    end_logprob: float | None = None
    whole: str = ""


@dataclass(frozen=True, kw_only=True)
class PostRoll(Frame):
    """A speculative turn's utterance again, with the post-roll the speculation took as silence now heard
    (`audio`, float32 mono 16 kHz). Sent when the pause settled (or at the end, if it never did); the ASR stage
    decodes it only when unsure of the last word: a cut inside a faint last consonant can change it ("have" heard
    as "has")."""

    audio: np.ndarray


@dataclass(frozen=True, kw_only=True)
class TextDelta(Frame):
    """A piece of the assistant's answer as the Thinker streams it."""

    text: str


@dataclass(frozen=True, kw_only=True)
class TextDone(Frame):
    """The Thinker finished the turn's answer; `text` is the whole of it."""

    text: str


@dataclass(frozen=True, kw_only=True)
class SpeechDone(Frame):
    """The Talker has produced all audio of the turn; `text` is what it spoke."""

    text: str = ""


@dataclass(frozen=True, kw_only=True)
class ErrorFrame(Frame):
    """A stage failed on one frame. The session goes on; the message is one line for a person."""

    stage: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Interrupt(ControlFrame):
    """Stop the current turn's work now (barge-in, user button). Overtakes queued data.

    keeps_later: the Interrupt stops `turn` and the turns before it, not a later one: frames of a later turn belong
    to the utterance that interrupted (the VAD numbers it after the Interrupt). They can be queued ahead of the
    Interrupt at a stage it reaches late (it waits in a control lane, behind a barge-in held for its words, while
    data goes on), and dropping them there would lose the new turn's start. Without it, everything stops (a
    disconnect, or a caller that does not know the turns)."""

    reason: str = "barge-in"
    keeps_later: bool = False

    def stops_turn(self, turn: int) -> bool:
        return not self.keeps_later or turn <= self.turn

    def stops(self, frame: Frame) -> bool:
        """Is this frame part of the work the Interrupt stops? EndOfStream never is (the stream must end), nor the
        SpeechStarted of this turn or a later one: a "resume" (the user went on after a pause) makes what was made
        of the pause stale, not the start of their speech, which may reach a stage together with the resume when
        both waited behind a barge-in held for its words."""
        if isinstance(frame, EndOfStream) or (isinstance(frame, SpeechStarted) and frame.turn >= self.turn):
            return False
        return self.stops_turn(frame.turn)


@dataclass(frozen=True, kw_only=True)
class Commit(ControlFrame):
    """The user's turn is over for sure (the hangover passed in silence): its reply may now be heard.
    Work on a turn starts at the first pause (speculatively); nothing of it reaches the user before this.
    spoken: sent by the VAD after the turn's utterance, whose words the ASR stage holds it back for."""

    spoken: bool = False


@dataclass(frozen=True, kw_only=True)
class UserSound(ControlFrame):
    """The VAD heard a chunk that may begin speech (active=True), or that sound stopped before it lasted
    min_speech_ms (active=False: a cough, a click, a short "mm"). Output transports hold the reply's audio while it
    is active, so the assistant falls silent within a chunk of the user's first sound and plays on if it was
    nothing; if it was speech, the Interrupt that comes with SpeechStarted drops the reply, unless its words are
    only a backchannel (runtime/backchannel.py), which releases the hold instead."""

    active: bool = True


@dataclass(frozen=True, kw_only=True)
class Playing(ControlFrame):
    """The output has begun to play a turn's reply (its first audio went to the speaker or the client). It enters
    at the pipeline's head, as `Played` does, so a stage before the reply is made knows the assistant is being
    heard: until that turn's `Played`, a barge-in interrupts a reply the user is listening to."""


@dataclass(frozen=True, kw_only=True)
class Played(ControlFrame):
    """The output has played what it will of a turn's reply: all of it, or `seconds` of it before a barge-in
    (`cut`). `heard` is the words within that audio. It enters at the pipeline's head, so the Thinker, which
    comes before the audio is made, learns what the user heard: the conversation keeps those words, not an
    answer the user never heard the end of."""

    seconds: float = 0.0
    heard: str = ""
    cut: bool = False


@dataclass(frozen=True, kw_only=True)
class Settled(ControlFrame):
    """The pause after a speculative end of speech has lasted the post-roll and held no sound: the utterance that
    was sent on is the whole of it so far. A turn whose transcript ends a sentence may be released now instead of
    at the Commit (see TurnGate)."""


@dataclass(frozen=True, kw_only=True)
class EndOfTurn(ControlFrame):
    """How likely the user has finished, judged from the words of the turn's (speculative) transcript: `prob`
    (models/turn_detector.py). Sent by the Thinker before it answers; the TurnGate releases a likely-finished turn
    early and asks the VAD to wait longer for the rest of an unfinished one."""

    prob: float = 0.0


@dataclass(frozen=True, kw_only=True)
class EndOfStream(Frame):
    """No more input. Ordered like data so every stage can flush what it holds."""


def is_control(frame: Frame) -> bool:
    return isinstance(frame, ControlFrame)
