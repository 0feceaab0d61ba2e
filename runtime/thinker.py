"""The Thinker stage: a final Transcript in, the answer streamed out as TextDelta frames, then TextDone.

The language model is injected as a `ChatBackend` (an async stream of text deltas). A backend that only offers a
blocking iterator (llama.cpp in-process) is wrapped with `ThreadedChat`. The stage keeps the conversation; an
interrupted answer is not added to it as if it had been said.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Iterator, Protocol, Sequence

from .clock import now
from .frames import (EndOfTurn, ErrorFrame, Frame, Played, SpeechStarted, TextDelta, TextDone, Transcript,
                     VisionContext)
from .stage import Stage
from .threads import FOREGROUND, iterate_in_thread
from .vision import asks_about_view

Message = dict[str, str]

# How what the camera shows is put before a question about it. Told only "the camera shows this text", the model
# often answers what the text means rather than what it says ("OPEN SESAME": "It's a secret message."); told to
# quote it, it reads it out; asked whether it can read it, it says yes unless told that this is asking it to
# (docs/measurements.md, "A card read out").
CAMERA_NOTE = ('[What the camera shows, read by OCR: "{text}". Answer from it; asked to read it, whether you can read '
               'it, or what it says, say the text itself.]')


class ChatBackend(Protocol):
    def stream(self, messages: list[Message]) -> AsyncIterator[str]: ...


class BlockingChat(Protocol):
    def stream(self, messages: list[Message]) -> Iterator[str]: ...


class ThreadedChat:
    """Adapts a blocking token iterator to ChatBackend; cancelling stops the model after its current token.
    `stream(messages, hands_over)`: see runtime/threads.py iterate_in_thread."""

    def __init__(self, backend: BlockingChat, name: str = "thinker") -> None:
        self.backend, self.name = backend, name
        self._judge_reads_answer = takes_keyword(getattr(backend, "end_of_turn", None), "answer")

    @property
    def judges_turns(self) -> bool:
        """Whether `end_of_turn` can judge (the wrapped model has an end-of-turn model)."""
        return hasattr(self.backend, "end_of_turn")

    @property
    def judge_model(self) -> str | None:
        """The model whose end-of-turn probability `end_of_turn` returns (runtime/turn_classifier.py classifier_path
        picks the classifier fitted to it); None when the backend does not say."""
        return getattr(self.backend, "judge_model", None)

    def stream(self, messages: list[Message], hands_over: Callable[[str], bool] | None = None
               ) -> AsyncIterator[str]:
        return iterate_in_thread(lambda: self.backend.stream(messages), self.name, yield_to=FOREGROUND,
                                 hands_over=hands_over)

    async def prefill(self, messages: list[Message], stop: threading.Event | None = None) -> None:
        """Let the model read a prompt ahead of time, if it can keep what it read (see ThinkerOptions.prefill);
        `stop`: set when what it reads is no longer wanted (the model then gives up at its next check)."""
        prefill = getattr(self.backend, "prefill", None)
        if prefill is not None:
            await asyncio.to_thread(prefill, messages, stop)

    async def end_of_turn(self, history: list[Message], text: str,
                          answer: list[Message] | None = None) -> float | None:
        """How likely the user has finished after `text` (models/turn_detector.py); None if the model cannot say.
        answer: the messages `stream` is asked next, for a model that can read their prompt in the same pass."""
        judge = getattr(self.backend, "end_of_turn", None)
        if judge is None:
            return None
        if answer is not None and self._judge_reads_answer:
            return await asyncio.to_thread(judge, text, history, answer)
        return await asyncio.to_thread(judge, text, history)


@dataclass(frozen=True)
class ThinkerOptions:
    """history_chars: how much earlier conversation (characters of questions and answers) goes with each request.
        Past it the oldest exchanges are dropped down to half of it at once, not one per turn: llama.cpp (and most
        servers) reuse their cache for an unchanged prompt prefix, and a window sliding every turn would make each
        turn re-read the whole history (about a second more to the first token at 6 exchanges).
    stall_timeout_s: longest wait for the backend's next delta (the first included) before the turn is given up.
    vision_max_age_s: camera text older than this is not given to the model (the view has probably changed).
    look_timeout_s: a question about the view waits at most this long for the camera to be read afresh (when the
        background description is out of date; see runtime/vision.py), then is answered with what there is.
    prefill: while the user is still talking, hand each partial transcript to the backend to read ahead (a backend
        with a `prefill(messages)` method: llama.cpp keeps the prompt's KV cache, so when the final transcript
        comes only the words after the common prefix are read, not the whole question). CPU that would sit idle
        during the user's speech buys first-token latency.
    apology: what the assistant says when its backend fails or stalls; the session then goes on listening."""

    history_chars: int = 3000
    stall_timeout_s: float = 20.0
    vision_max_age_s: float = 30.0
    look_timeout_s: float = 3.0
    apology: str = "Sorry, I could not come up with an answer just now."
    prefill: bool = True


@dataclass
class Exchange:
    """One turn of the conversation. `answer` is what the user heard, once playback says so."""

    turn: int
    question: str
    answer: str = ""


def exchanges_from(history: Sequence[Sequence[str]]) -> list[Exchange]:
    """A conversation heard elsewhere, as (question, answer) pairs, for a new session's Thinker: under turn numbers
    below any the session will use (it counts from 0, and the Thinker drops an exchange whose turn is redone); an
    exchange whose answer was not heard is left out."""
    kept = [(str(q), str(a)) for q, a in history if str(a).strip()]
    return [Exchange(i - len(kept), q, a) for i, (q, a) in enumerate(kept)]


class ThinkerStage(Stage):
    """look: asked with the question before it is answered, returns what the camera shows now when the question
    is about it (the session gives VisionStage.look); None leaves the last VisionContext in place.
    first_clause: makes, per answer, the check that tells which delta lets the Talker speak its first clause
    (runtime/talker.py first_clause_watch); handed to a backend whose `stream` takes `hands_over`."""

    def __init__(self, backend: ChatBackend, options: ThinkerOptions = ThinkerOptions(),
                 name: str = "thinker", look: Callable[[str], Awaitable[VisionContext | None]] | None = None,
                 first_clause: Callable[[], Callable[[str], bool]] | None = None) -> None:
        super().__init__(name)
        self.backend, self.options, self.look = backend, options, look
        self.first_clause = first_clause if takes_keyword(getattr(backend, "stream", None), "hands_over") else None
        self.exchanges: list[Exchange] = []
        self.vision: VisionContext | None = None
        self._prefill: asyncio.Task | None = None
        self._prefill_stop = threading.Event()
        self._judge_reads_answer = takes_keyword(getattr(backend, "end_of_turn", None), "answer")

    @property
    def history(self) -> list[Message]:
        """The conversation as chat messages, oldest first."""
        return self._messages(self.exchanges)

    @staticmethod
    def _messages(exchanges: list[Exchange]) -> list[Message]:
        out: list[Message] = []
        for ex in exchanges:
            out += [{"role": "user", "content": ex.question}, {"role": "assistant", "content": ex.answer}]
        return out

    def _trim_history(self) -> None:
        """Drop the oldest exchanges in one block once the history outgrows its budget (see ThinkerOptions)."""
        size = lambda exs: sum(len(e.question) + len(e.answer) for e in exs)  # noqa: E731
        if size(self.exchanges) <= self.options.history_chars:
            return
        while self.exchanges and size(self.exchanges) > self.options.history_chars // 2:
            self.exchanges.pop(0)

    def said_before(self, turn: int) -> str:
        """The last exchange before `turn` whose answer was heard, as one text ("" when there is none): what the
        recogniser reads ahead of the turn's audio (ASRStage's context). The turn's own exchange, when a
        speculative answer to its first words is under way, is never part of it."""
        heard = [ex for ex in self.exchanges if ex.turn < turn and ex.answer.strip()]
        return f"{heard[-1].question} {heard[-1].answer}".strip() if heard else ""

    def set_answer(self, turn: int, text: str) -> None:
        """Replace a turn's answer in the context with what the user heard (runtime/playout.py's `Played`)."""
        for ex in self.exchanges:
            if ex.turn == turn:
                ex.answer = text

    def _start_prefill(self, partial: Transcript) -> None:
        """Read the partial question ahead in the background (one at a time; a busy model just skips it)."""
        prefill = getattr(self.backend, "prefill", None)
        if not (self.options.prefill and prefill and partial.text.strip()):
            return
        if self._prefill is not None and not self._prefill.done():
            return
        history = self._messages([ex for ex in self.exchanges if ex.turn != partial.turn])
        self._prefill_stop = threading.Event()
        self._prefill = asyncio.get_running_loop().create_task(
            _quietly(prefill(history + [self._user_message(partial.text)], self._prefill_stop)))

    def _user_message(self, text: str) -> Message:
        """The user's words, preceded by what the camera shows when that is fresh and the question is about it
        (any backend understands this; a separate system message would displace the backend's own system prompt).
        Other questions go without: camera text in every prompt costs the model its reading for nothing, and a
        changing view would make every prompt differ from the one read ahead while the user spoke."""
        v = self.vision
        if v and v.text and now() - v.ts <= self.options.vision_max_age_s and asks_about_view(text):
            text = f'{CAMERA_NOTE.format(text=v.text)}\n{text}'
        return {"role": "user", "content": text}

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, Played):
            self.set_answer(frame.turn, frame.heard)
        if isinstance(frame, SpeechStarted) and frame.rejoins:  # that request goes on in this turn, answered whole
            self.exchanges = [ex for ex in self.exchanges if ex.turn != frame.rejoins]
        if isinstance(frame, VisionContext):
            self.vision = frame
        if isinstance(frame, Transcript) and not frame.final:
            self._start_prefill(frame)
        if not (isinstance(frame, Transcript) and frame.final):
            yield frame
            return
        self._prefill_stop.set()  # the words are final: a read-ahead of older ones would only hold the model
        if not frame.text.strip():
            yield frame
            return
        self.exchanges = [ex for ex in self.exchanges if ex.turn != frame.turn]  # a redone (speculative) turn
        self._trim_history()
        # A question about the view is asked with what the camera shows, read after the judgement (_look); any
        # other question's messages are known now, and the backend may read them with the judgement.
        about_view = self.look is not None and asks_about_view(frame.text)
        messages = None if about_view else self.history + [self._user_message(frame.text)]
        judged = await self._judge(frame, messages)
        if judged is not None:
            yield judged  # before the transcript: the TurnGate judges the turn by it, not by punctuation
        yield frame
        if self.look is not None:
            await self._look(frame.text)
        if messages is None:
            messages = self.history + [self._user_message(frame.text)]
        exchange = Exchange(frame.turn, frame.text)
        self.exchanges.append(exchange)
        parts: list[str] = []
        stream = self.backend.stream(messages, hands_over=self.first_clause()) if self.first_clause \
            else self.backend.stream(messages)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.options.stall_timeout_s):  # wait_for can swallow a cancel
                        delta = await anext(stream)
                except StopAsyncIteration:
                    break
                if delta:
                    parts.append(delta)
                    exchange.answer = "".join(parts).strip()  # a cancelled turn keeps what was said so far
                    yield TextDelta(text=delta, turn=frame.turn)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a failing backend costs one turn, not the session
            reason = "stalled" if isinstance(err, asyncio.TimeoutError) else f"{type(err).__name__}: {err}"
            yield ErrorFrame(stage=self.name, message=f"Thinker failed: {reason}".splitlines()[0], turn=frame.turn)
            apology = (" " if parts else "") + self.options.apology
            parts.append(apology)
            yield TextDelta(text=apology, turn=frame.turn)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose:
                await aclose()
        exchange.answer = "".join(parts).strip()
        yield TextDone(text=exchange.answer, turn=frame.turn)


    async def _judge(self, final: Transcript, answer: list[Message] | None) -> EndOfTurn | None:
        """The backend's end-of-turn judgement of the transcript, read with the history the answer will be read
        with (so the model's cache keeps it for the answer; `answer`: the answer's messages, when known, which a
        backend may read in the same pass); None when it cannot judge or fails (the gate then goes by
        punctuation)."""
        judge = getattr(self.backend, "end_of_turn", None)
        if judge is None:
            return None
        try:
            takes_answer = answer is not None and self._judge_reads_answer
            prob = await (judge(self.history, final.text, answer=answer) if takes_answer else
                          judge(self.history, final.text))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a judgement is an optimisation; the turn goes on without it
            return None
        return None if prob is None else EndOfTurn(prob=float(prob), turn=final.turn)

    async def _look(self, question: str) -> None:
        try:
            async with asyncio.timeout(self.options.look_timeout_s):
                seen = await self.look(question)  # type: ignore[misc]
        except TimeoutError:
            return  # answered with the description in hand: the turn cannot wait longer
        if seen is not None:
            self.vision = seen


def takes_keyword(fn: Callable[..., object] | None, name: str) -> bool:
    """Whether `fn` accepts the keyword argument `name` (False for None): asked once, when a backend is wrapped."""
    return fn is not None and name in inspect.signature(fn).parameters


async def _quietly(work: Awaitable[object]) -> None:
    """Await best-effort background work; its failure must not touch the turn (the real request will tell)."""
    try:
        await work
    except Exception:  # noqa: BLE001
        pass
