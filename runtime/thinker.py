"""The Thinker stage: a final Transcript in, the answer streamed out as TextDelta frames, then TextDone.

The language model is injected as a `ChatBackend` (an async stream of text deltas). A backend that only offers a
blocking iterator (llama.cpp in-process) is wrapped with `ThreadedChat`. The stage keeps the conversation; an
interrupted answer is not added to it as if it had been said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Iterator, Protocol

from .frames import Frame, TextDelta, TextDone, Transcript
from .stage import Stage
from .threads import iterate_in_thread

Message = dict[str, str]


class ChatBackend(Protocol):
    def stream(self, messages: list[Message]) -> AsyncIterator[str]: ...


class BlockingChat(Protocol):
    def stream(self, messages: list[Message]) -> Iterator[str]: ...


class ThreadedChat:
    """Adapts a blocking token iterator to ChatBackend; cancelling stops the model after its current token."""

    def __init__(self, backend: BlockingChat, name: str = "thinker") -> None:
        self.backend, self.name = backend, name

    def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        return iterate_in_thread(lambda: self.backend.stream(messages), self.name)


@dataclass(frozen=True)
class ThinkerOptions:
    """max_history_turns: earlier user/assistant exchanges sent with each request (older ones are dropped)."""

    max_history_turns: int = 6


class ThinkerStage(Stage):
    def __init__(self, backend: ChatBackend, options: ThinkerOptions = ThinkerOptions(),
                 name: str = "thinker") -> None:
        super().__init__(name)
        self.backend, self.options = backend, options
        self.history: list[Message] = []

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if not (isinstance(frame, Transcript) and frame.final):
            yield frame
            return
        yield frame
        if not frame.text.strip():
            return
        keep = self.options.max_history_turns * 2
        messages = self.history[-keep:] + [{"role": "user", "content": frame.text}] if keep else \
            [{"role": "user", "content": frame.text}]
        parts: list[str] = []
        async for delta in self.backend.stream(messages):
            if delta:
                parts.append(delta)
                yield TextDelta(text=delta, turn=frame.turn)
        answer = "".join(parts).strip()
        self.history += [{"role": "user", "content": frame.text}, {"role": "assistant", "content": answer}]
        yield TextDone(text=answer, turn=frame.turn)
