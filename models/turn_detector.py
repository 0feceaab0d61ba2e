"""End of turn from the words so far: has the user finished, or only paused?

Silence alone cannot tell "How many legs does a ... spider have?" from "What is the capital of France?": both stop
for a moment. The words can. The Thinker's own language model reads the transcript as the user's message so far,
in the conversation it belongs to, and gives the probability that the message ends here: the mass of its next
token on sentence-final punctuation (. ? !) and on the end-of-message token. LiveKit's turn detector reads the same
end-of-message probability from a small Qwen model fine-tuned for it; the stock instruct model gives that token
almost nothing to unpunctuated text, but puts the same judgement on whether a full stop or question mark comes next.
Whisper's own closing punctuation is removed first: it punctuates fragments too.

The prompt is the one the Thinker will read for its answer (same template, same history, same system prompt) up to
the end of the user's words, so llama.cpp's KV cache keeps it: the answer that follows reads only what comes after.
No new weights: the detector costs one prompt evaluation of the user's words (docs/measurements.md).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_SENTINEL = "\x00omnirt-user-text\x00"
_TRAILING = re.compile(r"[\s.?!,;:…\"')\]-]+$")
ENDINGS = (".", "?", "!")


def bare(text: str) -> str:
    """The words with the recogniser's closing punctuation (and trailing "...") removed."""
    return _TRAILING.sub("", text.strip())


class EndOfTurnModel:
    """P(the user's message is complete) from a `LlamaChat` (models/llama.py); `prob(text, history)`."""

    def __init__(self, chat: Any) -> None:
        self.chat = chat
        llm = chat.llm
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("the Thinker's GGUF has no chat template: end-of-turn needs it")
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos = llm.detokenize([llm.token_eos()], special=True).decode(errors="ignore")
        bos = llm.detokenize([llm.token_bos()], special=True).decode(errors="ignore") if llm.token_bos() >= 0 else ""
        self._format = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
        probe = self._render([{"role": "user", "content": _SENTINEL}])
        after = probe[probe.index(_SENTINEL) + len(_SENTINEL):]
        end_of_message = llm.tokenize(after.encode(), add_bos=False, special=True)[0]
        ends = {end_of_message}
        for mark in ENDINGS:
            ends.update(llm.tokenize(mark.encode(), add_bos=False, special=False)[:1])
            ends.update(llm.tokenize((mark + "\n").encode(), add_bos=False, special=False)[:1])
        self.end_tokens = sorted(ends)

    def render(self, messages: list[dict[str, str]]) -> Any:
        """The chat template's rendering of `messages` (a ChatFormatterResponse: `prompt`, `added_special`), with the
        assistant's header after them, as the Thinker's answer reads it."""
        return self._format(messages=messages)

    def _render(self, messages: list[dict[str, str]]) -> str:
        return self._format(messages=messages).prompt

    def prompt(self, text: str, history: list[dict[str, str]] | None = None) -> str:
        """The Thinker's prompt for `text` as the user's message, cut right after the user's words."""
        messages = self.chat.with_system([*(history or []), {"role": "user", "content": _SENTINEL}])
        rendered = self._render(messages)
        return rendered[:rendered.index(_SENTINEL)] + bare(text)

    def prob(self, text: str, history: list[dict[str, str]] | None = None, then: list[int] | None = None) -> float:
        """Probability that the user has finished speaking after `text` (0 for no words at all). Blocking: it waits
        for the model (a reply in progress holds it); call from a thread.

        then: the tokens of the prompt to be read next (the answer's, which begins with this one): read in the same
        evaluation, so the answer finds them all in the cache and samples its first token at once. Why: every
        evaluation has a fixed cost beside its per-token one, and the judgement and the answer's prompt are read
        one right after the other on the way to the first token (docs/measurements.md)."""
        if not bare(text):
            return 0.0
        tokens = self.chat.llm.tokenize(self.prompt(text, history).encode(), add_bos=False, special=True)
        if then is not None and not (len(then) > len(tokens) and then[:len(tokens)] == tokens):
            then = None  # (the answer's prompt does not go on from this one: read it on its own)
        logits = self.chat.run(lambda llm: _next_token_logits(llm, tokens, then))
        logits = logits - logits.max()
        p = np.exp(logits)
        return float(p[self.end_tokens].sum() / p.sum())


def _next_token_logits(llm: Any, tokens: list[int], then: list[int] | None = None) -> np.ndarray:
    """Evaluate `tokens` after the longest prefix already in llama.cpp's KV cache; the last position's logits.
    With `then` (tokens that begin with `tokens`), evaluate all of it in one batch that also keeps those logits."""
    from .llama import keep_cached_prefix

    keep = keep_cached_prefix(llm, tokens, len(tokens) - 1)  # re-evaluate at least the last token: its logits
    if then is None or len(then) - keep > llm.n_batch:
        llm.eval(tokens[keep:])
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
    import llama_cpp

    rest, at = then[keep:], len(tokens) - 1 - keep  # `at`: the judged position's index in the batch
    llm._ctx.kv_cache_seq_rm(-1, keep, -1)  # as Llama.eval does: nothing cached beyond the kept prefix
    llm._batch.set_batch(batch=rest, n_past=keep, logits_all=False)  # logits for the last position ...
    llm._batch.batch.logits[at] = True  # ... and for the judged one
    llm._ctx.decode(llm._batch)
    llm.input_ids[keep:keep + len(rest)] = rest
    llm.n_tokens = keep + len(rest)
    llm._requires_eval = False  # the last logits are this decode's: a completion of `then` samples from them
    row = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, at)
    return np.ctypeslib.as_array(row, shape=(llm.n_vocab(),)).astype(np.float64)
