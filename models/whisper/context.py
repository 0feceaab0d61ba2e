"""The conversation as Whisper's prompt: what was said before an utterance, read by the decoder ahead of its audio.

Why: Whisper was trained with the text before each window as its prompt (<|startofprev|> ... <|startoftranscript|>),
and a question is heard more surely in the conversation it belongs to: "What is the capital of Spain?" after
France's question and answer, where eSpeak's "of" is heard as "on" alone (docs/measurements.md has the figures).

The risk is the other way round: where the audio says little (a short "Yes.", "Mm-hm.", a noisy line), the decoder
writes the prompt instead ("The answer is triangle.") or loops ("Yes. Yes. Yes. Yes."). So a transcript made with a
context is kept only when it is not an echo of it; an echo is decoded again without the context, which gives what
the recogniser heard before contexts were read. Whether anything was said at all is judged on the audio alone (the
decoder reads the no-speech probability without the context: models/whisper/decoder.py).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .decoder import compression_ratio

ECHO_WORDS = 2  # a transcript of at least this many words, all of them the context's, is an echo of it
LOOP_TIMES = 3  # the same one to four words this many times in a row is a loop
LOOP_RATIO = 2.4  # ... and so is text that compresses this well (faster-whisper's repetition measure)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def echoes(context: str, text: str) -> bool:
    """Is `text`, decoded with `context` as the prompt, the prompt's words or a loop rather than the audio's?"""
    said = words(text)
    if not said:
        return False
    if len(said) >= ECHO_WORDS and set(said) <= set(words(context)):
        return True
    if compression_ratio(text.strip()) > LOOP_RATIO:
        return True
    for n in range(1, 5):
        for i in range(len(said) - LOOP_TIMES * n + 1):
            if all(said[i + k * n: i + (k + 1) * n] == said[i: i + n] for k in range(1, LOOP_TIMES)):
                return True
    return False


@functools.lru_cache(maxsize=64)
def encoded(tok: Any, text: str) -> tuple[int, ...]:
    """A context's text tokens, as the decoder reads them (a leading space, as faster-whisper's initial_prompt);
    none for empty text. (Each partial and final decode of a turn reads the same context: it is encoded once.)"""
    return tuple(tok.encode(" " + text.strip())) if text.strip() else ()
