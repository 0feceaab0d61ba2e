"""The conversation as Whisper's prompt: what was said before an utterance, read by the decoder ahead of its audio.

Why: Whisper was trained with the text before each window as its prompt (<|startofprev|> ... <|startoftranscript|>),
and a question is heard more surely in the conversation it belongs to: "What is the capital of Spain?" after
France's question and answer, where eSpeak's "of" is heard as "on" alone (docs/measurements.md has the figures).

The risk is the other way round: where the audio says little (a short "Yes.", "Mm-hm.", a noisy line), the decoder
writes the prompt instead ("The answer is triangle.") or loops ("Yes. Yes. Yes. Yes."); and a request cut at a pause
is completed with the context's words ("What is the tallest mountain in" heard "... in France?"), which the turn's
judgement then reads as finished. So a transcript made with a context is kept only when it is not an echo of it and
adds none of its topic words that the audio alone does not give: an echo is decoded again without the context, and
a transcript holding a topic word of the context is compared with one made without it (`added`), so the context
may choose among the words the audio allows but never bring its own. Whether anything was said at all is judged
on the audio alone (the decoder reads the no-speech probability without the context: models/whisper/decoder.py).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

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


# Words too common to say what a text is about: a context sharing only these with a transcript did not steer it.
COMMON = frozenset("""a an the of to in on at for by with from and or but is are was were be been am do does did what
which who whom whose when where why how many much it its this that these those there their they them he she his her
you your me my we us our not no yes can could would should will shall may might must has have had than then so as if
about into over under up down out answer""".split())


def topic_words(context: str) -> set[str]:
    """The context's words that say what it is about (not COMMON, three letters or more)."""
    return {w for w in words(context) if w not in COMMON and len(w) > 2}


def added(context: str, with_context: str, alone: str) -> set[str]:
    """The context's topic words that the transcript made with it has and the one made without it lacks: words
    the context put there, not the audio ("What is the tallest mountain in" heard "... in France?" after France's
    exchange)."""
    return (set(words(with_context)) & topic_words(context)) - set(words(alone))


def kept(context: str, result: Any, alone: Callable[[], Any], text: Callable[[Any], str] = lambda r: r.text) -> Any:
    """The transcription to keep of one made with `context` (`result`; `text(result)` its words): itself, or the
    one `alone()` makes without the context when `result` echoes the context or adds a topic word of it. `alone`
    is called only when `result` holds a topic word of the context or echoes it."""
    if not context.strip():
        return result
    heard = text(result)
    echo = echoes(context, heard)
    if not echo and not set(words(heard)) & topic_words(context):
        return result
    other = alone()
    return other if echo or added(context, heard, text(other)) else result


@functools.lru_cache(maxsize=64)
def encoded(tok: Any, text: str) -> tuple[int, ...]:
    """A context's text tokens, as the decoder reads them (a leading space, as faster-whisper's initial_prompt);
    none for empty text. (Each partial and final decode of a turn reads the same context: it is encoded once.)"""
    return tuple(tok.encode(" " + text.strip())) if text.strip() else ()
